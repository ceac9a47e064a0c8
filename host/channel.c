/*
 * upkit channel create: the command. Each --release names a bundle file,
 * which is read and verified as a device would (signature and chain
 * against --keyring, the file's length against its header), and the
 * release takes its compatible, version, size and bundle id from it: a
 * channel cannot name a bundle it does not match. The channel is signed
 * with the signer bundle create takes (host/assemble.h) and written
 * durably. Every exit code comes from agent/exitcode.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/exitcode.h"
#include "agent/keyfiles.h"
#include "common/err.h"
#include "common/io.h"
#include "host/assemble.h"
#include "host/sign.h"
#include "source/source.h"
#include "verify/bundle.h"
#include "verify/channel.h"
#include "verify/digest.h"
#include "verify/reader.h"
#include "verify/trust.h"

enum { O_KEY = 256, O_CERT, O_CHAIN, O_KEYRING, O_CRL, O_NAME, O_VERSION,
    O_EXPIRES, O_EXPIRES_IN, O_NOW, O_RELEASE };

static const struct cli_opt opts[] = {
	{ "key", O_KEY, "KEY", "the signer's private key (PEM; required)" },
	{ "cert", O_CERT, "CERT", "the signer's certificate (PEM; "
	    "required)" },
	{ "chain", O_CHAIN, "PEM", "intermediate certificates to embed" },
	{ "keyring", O_KEYRING, "PEM", "verify each bundle against these "
	    "roots (required)" },
	{ "crl", O_CRL, "CRL", "revoked signer certificates (PEM)" },
	{ "name", O_NAME, "NAME", "the channel's name (required)" },
	{ "version", O_VERSION, "N", "the channel's version, above the "
	    "last published (required)" },
	{ "expires", O_EXPIRES, "TIME", "expiry, YYYY-MM-DDTHH:MM:SSZ "
	    "(UTC); or:" },
	{ "expires-in", O_EXPIRES_IN, "N{d,h,m,s}", "expiry from now "
	    "(30d)" },
	{ "now", O_NOW, "TIME", "the time to count from, "
	    "YYYY-MM-DDTHH:MM:SSZ (default: the clock)" },
	{ "release", O_RELEASE, "SPEC", "COMPATIBLE=BUNDLE.upk, then any of "
	    ",url=URL ,rollout=PERCENT ,window=HH:MM-HH:MM; once or more "
	    "(required)" },
	{ "out", 'o', "FILE", "the channel file to write (required)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_channel_create = {
	"channel create", "[OPTIONS] --key KEY --cert CERT --keyring PEM\n"
	    "    --name NAME --version N {--expires TIME | --expires-in N}\n"
	    "    --release COMPATIBLE=BUNDLE.upk[,...]... --out FILE",
	"Sign a channel of releases",
	0, opts, cmd_channel_create,
};

/* One --release, and the bundle file it names. */
struct rel_arg {
	const char	*arg;		/* as given, for messages */
	char		*compat, *path;	/* point into copy */
	char		*url;		/* default: the file name */
	char		*copy;
};

struct args {
	struct create_signer	 sg;
	const char		*keyring, *crl, *out;
	struct channel		 c;
	int			 have_version, have_expires, have_now;
	int64_t			 now;		/* --now, else the clock */
	int64_t			 expires_in;	/* seconds, or 0: --expires */
	struct rel_arg		 ra[CHANNEL_RELEASES_MAX];
};

/* "25", "12.5", "0.01" (0..100, up to two decimals) to basis points. */
static int
parse_percent(const char *s, uint32_t *bp)
{
	uint32_t v = 0, scale = 100;
	size_t i = 0;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	for (; s[i] >= '0' && s[i] <= '9' && v <= 100; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	v *= 100;
	if (s[i] == '.') {
		if (s[++i] < '0' || s[i] > '9')
			return -1;
		for (; s[i] >= '0' && s[i] <= '9' && scale > 1; i++)
			v += (scale /= 10) * (uint32_t)(s[i] - '0');
	}
	if (s[i] != '\0' || v > CHANNEL_ROLLOUT_MAX)
		return -1;
	*bp = v;
	return 0;
}

/* ",key=value" options of one --release into rel. */
static int
release_option(char *opt, struct rel_arg *ra, struct channel_release *rel,
    struct err *e)
{
	char *eq = strchr(opt, '='), *dash;
	int a, b;

	if (eq == NULL)
		return err_set(e, -EINVAL, "--release %s: %s: expected "
		    "url=, rollout= or window=", ra->arg, opt);
	*eq++ = '\0';
	if (strcmp(opt, "url") == 0) {
		ra->url = eq;
	} else if (strcmp(opt, "rollout") == 0) {
		if (parse_percent(eq, &rel->rollout) < 0)
			return err_set(e, -EINVAL, "--release %s: rollout=%s: "
			    "need a percentage 0..100 with at most two "
			    "decimals", ra->arg, eq);
	} else if (strcmp(opt, "window") == 0) {
		if ((dash = strchr(eq, '-')) != NULL)
			*dash++ = '\0';
		if (dash == NULL || (a = channel_minute_parse(eq)) < 0 ||
		    (b = channel_minute_parse(dash)) < 0 || a == b)
			return err_set(e, -EINVAL, "--release %s: window: need "
			    "HH:MM-HH:MM (UTC), start and end apart", ra->arg);
		rel->has_window = 1;
		rel->win_start = (uint32_t)a;
		rel->win_end = (uint32_t)b;
	} else {
		return err_set(e, -EINVAL, "--release %s: unknown option %s",
		    ra->arg, opt);
	}
	return 0;
}

/* COMPATIBLE=BUNDLE[,url=...][,rollout=P][,window=HH:MM-HH:MM]. */
static int
release_arg(const char *arg, struct args *a, struct err *e)
{
	struct channel_release *rel;
	struct rel_arg *ra;
	char *eq, *opt, *next;
	int r;

	if (a->c.nreleases == CHANNEL_RELEASES_MAX)
		return err_set(e, -EINVAL, "--release %s: more than %d", arg,
		    CHANNEL_RELEASES_MAX);
	ra = &a->ra[a->c.nreleases];
	rel = &a->c.releases[a->c.nreleases++];
	ra->arg = arg;
	rel->rollout = CHANNEL_ROLLOUT_MAX;
	if ((ra->copy = strdup(arg)) == NULL)
		return err_set(e, -ENOMEM, "--release %s", arg);
	if ((eq = strchr(ra->copy, '=')) == NULL || eq == ra->copy ||
	    eq[1] == '\0' || eq[1] == ',')
		return err_set(e, -EINVAL, "--release %s: expected "
		    "COMPATIBLE=BUNDLE[,url=URL][,rollout=P][,window=W]", arg);
	*eq = '\0';
	ra->compat = ra->copy;
	ra->path = eq + 1;
	if ((next = strchr(ra->path, ',')) != NULL)
		*next++ = '\0';
	while ((opt = next) != NULL) {
		if ((next = strchr(opt, ',')) != NULL)
			*next++ = '\0';
		if ((r = release_option(opt, ra, rel, e)) < 0)
			return r;
	}
	if (ra->url == NULL)
		ra->url = strrchr(ra->path, '/') != NULL ?
		    strrchr(ra->path, '/') + 1 : ra->path;
	return 0;
}

/* --expires-in N with a unit: d, h, m or s, into seconds. */
static int
expires_in(const char *s, int64_t *t)
{
	static const char units[] = "dhms";
	static const int64_t secs[] = { 86400, 3600, 60, 1 };
	char *end, *u;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0' ||
	    (u = strchr(units, end[0])) == NULL || v < 1 ||
	    v > 100LL * 366 * 86400 / secs[u - units])
		return -1;
	*t = v * secs[u - units];
	return 0;
}

/* Everything but --release into a. */
static int
option(int c, const char *arg, struct args *a, struct err *e)
{
	char *end;

	switch (c) {
	case O_KEY:
		a->sg.key = arg;
		break;
	case O_CERT:
		a->sg.cert = arg;
		break;
	case O_CHAIN:
		a->sg.chain = arg;
		break;
	case O_KEYRING:
		a->keyring = arg;
		break;
	case O_CRL:
		a->crl = arg;
		break;
	case O_NAME:
		a->c.name = (char *)arg;
		break;
	case 'o':
		a->out = arg;
		break;
	case O_VERSION:
		errno = 0;
		a->c.version = strtoull(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || errno != 0 ||
		    a->c.version < 1 || a->c.version > (1ull << 53) - 1)
			return err_set(e, -EINVAL, "--version %s: need a "
			    "number 1..2^53-1 that only goes up", arg);
		a->have_version = 1;
		break;
	case O_EXPIRES:
	case O_EXPIRES_IN:
		a->expires_in = 0;
		if ((c == O_EXPIRES ? channel_time_parse(arg, &a->c.expires) :
		    expires_in(arg, &a->expires_in)) < 0)
			return err_set(e, -EINVAL, "--%s %s: need %s",
			    c == O_EXPIRES ? "expires" : "expires-in", arg,
			    c == O_EXPIRES ? "YYYY-MM-DDTHH:MM:SSZ (UTC)" :
			    "a number and d, h, m or s (30d)");
		a->have_expires = 1;
		break;
	case O_NOW:
		if (channel_time_parse(arg, &a->now) < 0)
			return err_set(e, -EINVAL, "--now %s: need "
			    "YYYY-MM-DDTHH:MM:SSZ (UTC)", arg);
		a->have_now = 1;
		break;
	default:
		return release_arg(arg, a, e);
	}
	return 0;
}

/* Fills a from argv: -1 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, struct args *a)
{
	struct cli_parse p;
	struct err e;
	int c, r;

	err_clear(&e);
	cli_begin(&p, &cli_channel_create, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		if ((r = option(c, optarg, a, &e)) < 0) {
			cli_error(p.cmd->name, "%s", e.msg);
			return exitcode_for(FAIL_ARGS, r);
		}
	}
	if ((r = cli_end(&p, 0, 0, NULL)) >= 0)
		return r;
	if (a->out == NULL || a->sg.key == NULL || a->sg.cert == NULL ||
	    a->keyring == NULL || a->c.name == NULL || !a->have_version ||
	    !a->have_expires || a->c.nreleases == 0)
		return cli_usage_error(p.cmd, "need --key, --cert, --keyring, "
		    "--name, --version, --expires or --expires-in, --out and "
		    "at least one --release");
	/* The expiry against --now, or the clock: after every option, as
	 * --now may come last. */
	if (!a->have_now)
		a->now = (int64_t)time(NULL);
	if (a->expires_in != 0)
		a->c.expires = a->now + a->expires_in;
	if (a->c.expires <= a->now) {
		cli_error(cli_channel_create.name, "the expiry is already "
		    "past (not after %s)", a->have_now ? "--now" :
		    "the clock");
		return EXIT_USAGE;
	}
	return -1;
}

/* Reads and verifies the bundle ra names into rel; *step says what
 * failed. The size is the file's, and must be the bundle's exactly. */
static int
read_bundle(const struct rel_arg *ra, const struct keyring *k,
    struct channel_release *rel, enum fail_step *step, struct err *e)
{
	const struct manifest *m;
	struct bundle_reader *br = NULL;
	struct source *src = NULL;
	struct stat st;
	uint64_t want;
	size_t i;
	int r;

	/* A file, not a pipe or a URL: its size goes into the channel. */
	*step = FAIL_SOURCE;
	if (stat(ra->path, &st) == -1) {
		r = -errno;
		return err_set(e, r, "%s: %s", ra->path, strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, -EINVAL, "%s: not a regular file", ra->path);
	if ((r = source_open(ra->path, NULL, &src, e)) < 0)
		goto out;
	*step = FAIL_READ;
	if ((r = bundle_reader_open(src, k, &br, e)) < 0)
		goto out;
	m = bundle_reader_manifest(br);
	want = source_offset(src);
	for (i = 0; i < m->npayloads; i++)
		want += m->payloads[i].csize;
	*step = FAIL_BUNDLE;
	if ((uint64_t)st.st_size != want) {
		r = err_set(e, (uint64_t)st.st_size < want ? -EPIPE : -EBADMSG,
		    "%s: %llu bytes, but its header says %llu (%s)", ra->path,
		    (unsigned long long)st.st_size, (unsigned long long)want,
		    (uint64_t)st.st_size < want ? "cut short" :
		    "bytes after the bundle");
		goto out;
	}
	*step = FAIL_ARGS;
	if (strcmp(m->compatible, ra->compat) != 0) {
		r = err_set(e, -EINVAL, "--release %s: %s is for compatible "
		    "\"%s\"", ra->arg, ra->path, m->compatible);
		goto out;
	}
	rel->size = want;
	for (i = 0; i < 32; i++)
		sscanf(bundle_reader_id(br) + 2 * i, "%2hhx",
		    &rel->bundle_id[i]);
	if ((rel->version = strdup(m->version)) == NULL ||
	    (rel->url = strdup(ra->url)) == NULL ||
	    (rel->compatible = strdup(ra->compat)) == NULL) {
		*step = FAIL_OTHER;
		r = err_set(e, -ENOMEM, "%s", ra->path);
	}
out:
	bundle_reader_free(br);
	source_close(src);
	return r;
}

/* The body, as a device's own parser would take it: a bad --release
 * url or a body too large is refused here, before anything is signed. */
static int
encode_body(const struct args *a, char **json, size_t *jlen, struct err *e)
{
	struct channel *check = NULL;
	int r;

	if ((r = channel_encode(&a->c, json, jlen, e)) < 0)
		return r;
	if ((r = channel_parse(*json, *jlen, &check, e)) == 0 &&
	    *jlen > CHANNEL_BODY_MAX)
		r = err_set(e, -EINVAL, "channel: body of %zu bytes, more "
		    "than %u", *jlen, CHANNEL_BODY_MAX);
	channel_free(check);
	return r;
}

/* Header, body and the signature over both into a->out, durably. */
static int
seal(const struct args *a, const char *json, size_t jlen,
    const struct create_pems *pm, struct err *e)
{
	uint8_t hdr[CHANNEL_HEADER_SIZE], digest[32], *sig = NULL, *buf = NULL;
	struct digest *d;
	size_t siglen;
	int r;

	channel_header_encode(jlen, hdr);
	if ((r = digest_open(&d, e)) < 0)
		return r;
	digest_update(d, hdr, sizeof(hdr));
	digest_update(d, json, jlen);
	digest_final(d, digest);
	digest_free(d);
	if ((r = sign_bundle(pm->key, pm->keylen, pm->cert, pm->certlen,
	    pm->chain, pm->chainlen, digest, &sig, &siglen, e)) < 0)
		return err_prefix(e, "sign %s with %s", a->out, a->sg.key);
	if ((buf = malloc(sizeof(hdr) + jlen + siglen)) == NULL) {
		free(sig);
		return err_set(e, -ENOMEM, "%s", a->out);
	}
	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), json, jlen);
	memcpy(buf + sizeof(hdr) + jlen, sig, siglen);
	r = file_write_atomic(a->out, buf, sizeof(hdr) + jlen + siglen, 0644,
	    e);
	free(sig);
	free(buf);
	return r;
}

static void
summary(const struct args *a)
{
	const struct channel_release *rel;
	char when[21], pct[16];
	size_t i;

	channel_time_format(a->c.expires, when);
	printf("wrote %s: channel %s version %llu, expires %s, %zu "
	    "releases\n", a->out, a->c.name,
	    (unsigned long long)a->c.version, when, a->c.nreleases);
	for (i = 0; i < a->c.nreleases; i++) {
		rel = &a->c.releases[i];
		channel_rollout_format(rel->rollout, pct);
		printf("  %s: version %s, rollout %s%%, %s (%llu bytes)",
		    rel->compatible, rel->version, pct, rel->url,
		    (unsigned long long)rel->size);
		if (rel->has_window)
			printf(", window %02u:%02u-%02u:%02u UTC",
			    rel->win_start / 60, rel->win_start % 60,
			    rel->win_end / 60, rel->win_end % 60);
		putchar('\n');
	}
}

/* Whether a and b name one existing file. */
static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Verifies every bundle, then signs and writes the channel. */
static int
build(struct args *a)
{
	struct create_pems pm = { .key = NULL };
	struct keyring *k = NULL;
	enum fail_step step;
	char *json = NULL;
	struct err e;
	size_t i, j, jlen;
	int r;

	err_clear(&e);
	step = FAIL_CONFIG;
	if ((r = keyfiles_load(a->keyring, a->crl, &k, &e)) < 0)
		goto out;
	for (i = 0; i < a->c.nreleases; i++) {
		/* --out over a bundle would replace the bundle. */
		if (same_file(a->out, a->ra[i].path)) {
			step = FAIL_ARGS;
			r = err_set(&e, -EINVAL, "--out %s: is the bundle of "
			    "--release %s", a->out, a->ra[i].arg);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(a->ra[i].compat, a->ra[j].compat) == 0) {
				step = FAIL_ARGS;
				r = err_set(&e, -EINVAL, "--release %s: a second "
				    "release for %s", a->ra[i].arg,
				    a->ra[i].compat);
				goto out;
			}
		if ((r = read_bundle(&a->ra[i], k, &a->c.releases[i], &step,
		    &e)) < 0)
			goto out;
	}
	step = FAIL_ARGS;
	if ((r = encode_body(a, &json, &jlen, &e)) < 0)
		goto out;
	step = FAIL_CREATE;
	if ((r = create_signer_load(&a->sg, &pm, &e)) < 0 ||
	    (r = seal(a, json, jlen, &pm, &e)) < 0)
		goto out;
	summary(a);
out:
	if (r < 0)
		cli_error(cli_channel_create.name, "%s", e.msg);
	free(json);
	create_signer_clear(&pm);
	keyring_free(k);
	return r < 0 ? exitcode_for(step, r) : EXIT_OK;
}

int
cmd_channel_create(int argc, char **argv)
{
	struct channel_release rels[CHANNEL_RELEASES_MAX];
	struct args *a;
	size_t i;
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		cli_error(cli_channel_create.name, "out of memory");
		return EXIT_FAIL;
	}
	memset(rels, 0, sizeof(rels));
	a->c.releases = rels;
	if ((rc = parse_args(argc, argv, a)) < 0)
		rc = build(a);
	for (i = 0; i < a->c.nreleases; i++) {
		free(rels[i].compatible);
		free(rels[i].version);
		free(rels[i].url);
		free(a->ra[i].copy);
	}
	free(a);
	return rc;
}

/*
 * upkit bundle create: the command. It turns the command line into a
 * plan (host/inputs.h), options and a signer, has host/assemble.h write
 * the bundle, and prints a summary. Every exit code comes from
 * agent/exitcode.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/exitcode.h"
#include "common/err.h"
#include "host/create.h"
#include "verify/bundle.h"

enum { O_KEY = 256, O_CERT, O_CHAIN, O_COMPAT, O_VERSION, O_SECVER,
    O_CHUNK, O_LEVEL, O_THREADS, O_LINUXKIT, O_IMAGE, O_FILES, O_UKI };

static const struct cli_opt opts[] = {
	{ "key", O_KEY, "KEY", "the signer's private key (PEM; required)" },
	{ "cert", O_CERT, "CERT", "the signer's certificate (PEM; "
	    "required)" },
	{ "chain", O_CHAIN, "PEM", "intermediate certificates to embed" },
	{ "compatible", O_COMPAT, "STR", "the devices it is for, as their "
	    "[system] compatible (required)" },
	{ "version", O_VERSION, "VER", "the release's version (required)" },
	{ "security-version", O_SECVER, "N", "devices never go below N "
	    "once committed (default 0)" },
	{ "chunk-size", O_CHUNK, "BYTES", "bytes a chunk, a multiple of "
	    "4096 (default 1 MiB)" },
	{ "level", O_LEVEL, "N", "zstd level, 1..22 (default 19)" },
	{ "threads", O_THREADS, "N", "compress on N threads, 1..256 "
	    "(default: the CPUs)" },
	{ "linuxkit", O_LINUXKIT, "PREFIX", "the payloads of a LinuxKit "
	    "build, PREFIX-kernel and the rest" },
	{ "image", O_IMAGE, "CLASS=FILE", "a raw image for slot class "
	    "CLASS" },
	{ "files", O_FILES, "CLASS=DIR", "a folder's regular files for "
	    "slot class CLASS" },
	{ "uki", O_UKI, "FILE", "a UKI for slot class uki: the file, or "
	    "the one in an ESP or GPT disk image" },
	{ "output", 'o', "OUT.upk", "the bundle to write (required)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_bundle_create = {
	"bundle create", "[OPTIONS] --key KEY --cert CERT\n"
	    "    --compatible STR --version VER\n    {--linuxkit PREFIX | --image CLASS=FILE | "
	    "--files CLASS=DIR | --uki FILE}...\n    -o OUT.upk",
	"Build a signed bundle",
	0, opts, cmd_bundle_create,
};

/* What the command line asks for. */
struct args {
	struct create_plan	 plan;
	struct create_signer	 sg;
	struct create_opts	 o;
	struct manifest		 m;
	const char		*out;
};

/* created: SOURCE_DATE_EPOCH when set, for reproducible bundles. */
static int
created_time(char out[32], struct err *e)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	struct tm tm;
	char *end;
	time_t t;
	long long v;

	if (s == NULL || *s == '\0')
		t = time(NULL);
	else {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0 ||
		    v > 253402300799LL)
			return err_set(e, -EINVAL, "SOURCE_DATE_EPOCH=%s: not "
			    "a number of seconds", s);
		t = (time_t)v;
	}
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *vp)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*vp = v;
	return 0;
}

/* CLASS=PATH; splits arg in place. */
static int
split_input(char *arg, char **classp, char **pathp)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || eq[1] == '\0')
		return -1;
	*eq = '\0';
	*classp = arg;
	*pathp = eq + 1;
	return 0;
}

static void
human(uint64_t n, char out[16])
{
	if (n >= (1ull << 30))
		snprintf(out, 16, "%.1f GiB", (double)n / (1ull << 30));
	else if (n >= (1u << 20))
		snprintf(out, 16, "%.1f MiB", (double)n / (1u << 20));
	else if (n >= 1024)
		snprintf(out, 16, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, 16, "%llu B", (unsigned long long)n);
}

static void
summary(const char *out, const struct manifest *m, double secs)
{
	const struct bundle_payload *bp;
	uint64_t us = 0, cs = 0;
	char a[16], b[16];
	size_t i, nch = 0;

	printf("wrote %s: version %s, compatible %s, created %s\n", out,
	    m->version, m->compatible, m->created);
	for (i = 0; i < m->npayloads; i++) {
		bp = &m->payloads[i];
		human(bp->size, a);
		human(bp->csize, b);
		printf("  %-8s %-5s %10s -> %10s (%5.1f%%) %zu chunks\n",
		    bp->name, bp->kind == PAYLOAD_FILES ? "files" : "raw", a, b,
		    100.0 * (double)bp->csize / (double)bp->size, bp->nchunks);
		us += bp->size;
		cs += bp->csize;
		nch += bp->nchunks;
	}
	human(us, a);
	human(cs, b);
	printf("  total    %s -> %s (%.1f%%), %zu chunks, %.2f s\n", a, b,
	    us ? 100.0 * (double)cs / (double)us : 0.0, nch, secs);
}

/* --security-version, --chunk-size, --level and --threads. */
static int
number_option(int c, const char *arg, struct args *a, struct err *e)
{
	uint64_t v;

	switch (c) {
	case O_SECVER:
		if (parse_u64(arg, 0, (1ull << 53) - 1,
		    &a->m.security_version) < 0)
			return err_set(e, -EINVAL, "--security-version %s: "
			    "not a number", arg);
		break;
	case O_CHUNK:
		if (parse_u64(arg, BUNDLE_CHUNK_MIN, BUNDLE_CHUNK_MAX,
		    &v) < 0 || v % 4096 != 0)
			return err_set(e, -EINVAL, "--chunk-size %s: need a "
			    "multiple of 4096 in %u..%u", arg,
			    BUNDLE_CHUNK_MIN, BUNDLE_CHUNK_MAX);
		a->o.chunk_size = (uint32_t)v;
		break;
	case O_LEVEL:
		if (parse_u64(arg, 1, 22, &v) < 0)
			return err_set(e, -EINVAL, "--level %s: need 1..22",
			    arg);
		a->o.level = (int)v;
		break;
	default:	/* O_THREADS */
		if (parse_u64(arg, 1, 256, &v) < 0)
			return err_set(e, -EINVAL, "--threads %s: need "
			    "1..256", arg);
		a->o.threads = (int)v;
		break;
	}
	return 0;
}

/* --linuxkit PREFIX, --image CLASS=FILE, --files CLASS=DIR and --uki
 * FILE. */
static int
input_option(int c, char *arg, struct args *a, struct err *e)
{
	char *class, *path;

	if (c == O_LINUXKIT)
		return create_add_linuxkit(&a->plan, arg, e);
	if (c == O_UKI)
		return create_add_uki(&a->plan, arg, e);
	if (split_input(arg, &class, &path) < 0)
		return err_set(e, -EINVAL, "--%s %s: expected CLASS=%s",
		    c == O_IMAGE ? "image" : "files", arg,
		    c == O_IMAGE ? "FILE" : "DIR");
	return c == O_IMAGE ? create_add_image(&a->plan, class, path, e) :
	    create_add_files(&a->plan, class, path, e);
}

/* Fills a from argv. Returns -1 when the command should go on, else the
 * exit code to return (help, a bad option, a bad input). */
static int
parse_args(int argc, char **argv, struct args *a)
{
	struct cli_parse p;
	struct err e;
	int c, r;

	err_clear(&e);
	cli_begin(&p, &cli_bundle_create, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		r = 0;
		switch (c) {
		case O_KEY:
			a->sg.key = optarg;
			break;
		case O_CERT:
			a->sg.cert = optarg;
			break;
		case O_CHAIN:
			a->sg.chain = optarg;
			break;
		case O_COMPAT:
			a->m.compatible = optarg;
			break;
		case O_VERSION:
			a->m.version = optarg;
			break;
		case O_SECVER:
		case O_CHUNK:
		case O_LEVEL:
		case O_THREADS:
			r = number_option(c, optarg, a, &e);
			break;
		case O_LINUXKIT:
		case O_IMAGE:
		case O_FILES:
		case O_UKI:
			r = input_option(c, optarg, a, &e);
			break;
		case 'o':
			a->out = optarg;
			break;
		}
		if (r < 0) {
			cli_error(p.cmd->name, "%s", e.msg);
			return exitcode_for(FAIL_CREATE_INPUT, r);
		}
	}
	if ((r = cli_end(&p, 0, 0, NULL)) >= 0)
		return r;
	if (a->out == NULL || a->sg.key == NULL || a->sg.cert == NULL ||
	    a->m.compatible == NULL || a->m.version == NULL ||
	    a->plan.nsources == 0)
		return cli_usage_error(p.cmd, "need --key, --cert, "
		    "--compatible, --version, -o and at least one input");
	return -1;
}

int
cmd_bundle_create(int argc, char **argv)
{
	struct args a;
	struct timespec t0, t1;
	char created[32];
	struct err e;
	long ncpu;
	int r, rc;

	memset(&a, 0, sizeof(a));
	err_clear(&e);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	a.o.chunk_size = BUNDLE_CHUNK_DEFAULT;
	a.o.level = 19;
	a.o.threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
	if ((rc = parse_args(argc, argv, &a)) >= 0)
		goto out;
	rc = EXIT_USAGE;
	if (created_time(created, &e) < 0) {
		cli_error(cli_bundle_create.name, "%s", e.msg);
		goto out;
	}
	a.m.created = created;
	if (create_precheck(&a.m, &e) < 0) {
		cli_error(cli_bundle_create.name, "%s", e.msg);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = create_bundle(a.out, &a.plan, &a.o, &a.sg, &a.m, &e)) < 0) {
		cli_error(cli_bundle_create.name, "%s", e.msg);
		rc = exitcode_for(FAIL_CREATE, r);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	summary(a.out, &a.m, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = EXIT_OK;
out:
	create_manifest_clear(&a.m);
	create_plan_clear(&a.plan);
	return rc;
}

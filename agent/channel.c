/*
 * upkit channel info and upkit channel verify: read a channel file the
 * way a device will (verify/channel), then describe it, or check its
 * signature, chain and expiry against a keyring and a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/exitcode.h"
#include "agent/keyfiles.h"
#include "common/err.h"
#include "common/io.h"
#include "verify/channel.h"
#include "verify/trust.h"

/* The whole file into *bufp: a read failure is the source's (4), a file
 * too large to be a channel the channel's (5). */
static int
read_channel(const char *file, char **bufp, size_t *lenp,
    enum fail_step *step, struct err *e)
{
	int r;

	*step = FAIL_SOURCE;
	if ((r = file_read(file, CHANNEL_FILE_MAX, bufp, lenp, e)) == -EFBIG) {
		*step = FAIL_CHANNEL;
		return err_set(e, -EBADMSG, "%s: more than %u bytes: not a "
		    "channel", file, CHANNEL_FILE_MAX);
	}
	return r;
}

static void
print_text(const char *file, const struct channel *c, const char *id,
    const char *signer)
{
	const struct channel_release *rel;
	char when[21], hex[65], pct[16];
	size_t i;

	channel_time_format(c->expires, when);
	printf("channel:    %s\n", file);
	printf("name:       %s\n", c->name);
	printf("version:    %llu\n", (unsigned long long)c->version);
	printf("expires:    %s\n", when);
	printf("channel id: %s\n", id);
	printf("signer:     %s\n", signer);
	printf("signature:  not checked (use channel verify)\n");
	for (i = 0; i < c->nreleases; i++) {
		rel = &c->releases[i];
		bundle_hex(rel->bundle_id, 32, hex);
		channel_rollout_format(rel->rollout, pct);
		printf("release %s:\n", rel->compatible);
		printf("  version   %s\n", rel->version);
		printf("  url       %s\n", rel->url);
		printf("  size      %llu\n", (unsigned long long)rel->size);
		printf("  bundle id %s\n", hex);
		printf("  rollout   %s%%\n", pct);
		if (rel->has_window)
			printf("  window    %02u:%02u-%02u:%02u UTC\n",
			    rel->win_start / 60, rel->win_start % 60,
			    rel->win_end / 60, rel->win_end % 60);
	}
}

enum { O_CRL = 256 };

static const struct cli_opt verify_opts[] = {
	{ "keyring", 'k', "PEM", "trusted root certificates (required)" },
	{ "crl", O_CRL, "CRL", "revoked signer certificates (PEM)" },
	{ "now", 'n', "TIME", "check the expiry at YYYY-MM-DDTHH:MM:SSZ "
	    "(UTC), not the clock" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_channel_info = {
	"channel info", "FILE", "Show a channel's releases, unverified",
	0, NULL, cmd_channel_info,
};

const struct cli_cmd cli_channel_verify = {
	"channel verify", "[OPTIONS] --keyring PEM FILE",
	"Check a channel's signature and expiry",
	0, verify_opts, cmd_channel_verify,
};

int
cmd_channel_info(int argc, char **argv)
{
	struct cli_parse p;
	struct channel *c = NULL;
	enum fail_step step;
	char *buf = NULL, id[65], signer[256];
	const char *file;
	struct err e;
	size_t len;
	int r;

	err_clear(&e);
	cli_begin(&p, &cli_channel_info, argc, argv);
	while (cli_next(&p) != -1)
		;
	if ((r = cli_end(&p, 1, 1, "FILE")) >= 0)
		return r;
	file = argv[optind];
	if ((r = read_channel(file, &buf, &len, &step, &e)) == 0) {
		step = FAIL_CHANNEL;
		if ((r = channel_open((uint8_t *)buf, len, NULL, &c, id,
		    signer, sizeof(signer), &e)) < 0)
			err_prefix(&e, "%s", file);
	}
	free(buf);
	if (r < 0) {
		cli_error(cli_channel_info.name, "%s", e.msg);
		return exitcode_for(step, r);
	}
	print_text(file, c, id, signer);
	channel_free(c);
	return EXIT_OK;
}

/* Reads, verifies against k and checks the expiry at now. */
static int
verify_file(const char *file, const struct keyring *k, int64_t now,
    struct err *e)
{
	struct channel *c = NULL;
	enum fail_step step;
	char *buf = NULL, id[65], signer[256], when[21];
	size_t len;
	int r;

	if ((r = read_channel(file, &buf, &len, &step, e)) < 0)
		return exitcode_for(step, r);
	/* Signature and chain first; the expiry is a signed field. */
	if ((r = channel_open((uint8_t *)buf, len, k, &c, id, signer,
	    sizeof(signer), e)) < 0 ||
	    (r = channel_check_fresh(c, now, e)) < 0) {
		err_prefix(e, "%s", file);
		channel_free(c);
		free(buf);
		return exitcode_for(FAIL_CHANNEL, r);
	}
	channel_time_format(c->expires, when);
	printf("OK: %s signed by %s; channel %s version %llu, %zu releases, "
	    "expires %s\n", file, signer, c->name,
	    (unsigned long long)c->version, c->nreleases, when);
	printf("channel id %s\n", id);
	channel_free(c);
	free(buf);
	return EXIT_OK;
}

int
cmd_channel_verify(int argc, char **argv)
{
	const char *keyring = NULL, *crl = NULL;
	struct keyring *k = NULL;
	int64_t now = (int64_t)time(NULL);
	struct cli_parse p;
	struct err e;
	int c, rc;

	err_clear(&e);
	cli_begin(&p, &cli_channel_verify, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		switch (c) {
		case 'k':
			keyring = optarg;
			break;
		case O_CRL:
			crl = optarg;
			break;
		case 'n':
			if (channel_time_parse(optarg, &now) == 0)
				break;
			return cli_usage_error(p.cmd, "--now %s: need "
			    "YYYY-MM-DDTHH:MM:SSZ (UTC)", optarg);
		}
	}
	if ((rc = cli_end(&p, 1, 1, "FILE")) >= 0)
		return rc;
	if (keyring == NULL)
		return cli_usage_error(p.cmd, "--keyring is required");
	if ((rc = keyfiles_load(keyring, crl, &k, &e)) < 0) {
		cli_error(cli_channel_verify.name, "%s", e.msg);
		return exitcode_for(FAIL_CONFIG, rc);
	}
	if ((rc = verify_file(argv[optind], k, now, &e)) != EXIT_OK)
		cli_error(cli_channel_verify.name, "FAILED: %s", e.msg);
	keyring_free(k);
	return rc;
}

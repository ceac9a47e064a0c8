/*
 * upkit keys create: a root CA and a signer certificate for a new fleet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "common/err.h"
#include "common/io.h"
#include "host/sign.h"

struct keyfile {
	const char	*name;
	mode_t		 mode;
	char		*pem;
};

static const struct cli_opt opts[] = {
	{ "out", 'o', "DIR", "write root.pem, root.key, signer.pem and "
	    "signer.key here (required)" },
	{ "cn", 'n', "NAME", "the certificates' common name (default "
	    "upkit)" },
	{ "force", 'f', NULL, "replace key files that exist" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_keys_create = {
	"keys create", "[OPTIONS] --out DIR",
	"Make a root CA (the keyring) and a signer",
	0, opts, cmd_keys_create,
};

/* Private keys must never exist, even for a moment, with a wider mode:
 * create with the mode (O_EXCL unless forced), never chmod afterwards.
 * A forced overwrite unlinks first so an old 0644 file cannot keep its
 * mode. */
static int
write_key_file(const char *path, const char *pem, mode_t mode, int force,
    struct err *e)
{
	int r;

	if (force && unlink(path) == -1 && errno != ENOENT) {
		r = -errno;
		return err_set(e, r, "remove %s: %s", path, strerror(-r));
	}
	return file_write_new(path, pem, strlen(pem), mode, e);
}

/* Refuses, before anything is generated, so that nothing is half
 * replaced: a key file that exists needs --force. */
static int
refuse_existing(const char *out, const struct keyfile *kf, int force)
{
	char path[4096];
	struct stat st;
	size_t i;

	for (i = 0; i < 4 && !force; i++) {
		snprintf(path, sizeof(path), "%s/%s", out, kf[i].name);
		if (lstat(path, &st) == 0) {
			cli_usage_error(&cli_keys_create, "%s exists; use "
			    "--force to replace it", path);
			return -1;
		}
	}
	return 0;
}

/* Generates the four PEMs into kf and writes them into out. */
static int
write_keys(const char *out, const char *cn, struct keyfile *kf, int force,
    struct err *e)
{
	char path[4096];
	size_t i;
	int r;

	if ((r = mkdir_p(out, 0700, e)) < 0)
		return r;
	if ((r = sign_keys_create(cn, &kf[0].pem, &kf[1].pem, &kf[2].pem,
	    &kf[3].pem, e)) < 0)
		return err_prefix(e, "keys for CN %s", cn);
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", out, kf[i].name);
		if ((r = write_key_file(path, kf[i].pem, kf[i].mode, force,
		    e)) < 0)
			return r;
	}
	return fsync_dir(out, e);
}

int
cmd_keys_create(int argc, char **argv)
{
	struct keyfile kf[4] = {
		{ "root.pem", 0644, NULL },
		{ "root.key", 0600, NULL },
		{ "signer.pem", 0644, NULL },
		{ "signer.key", 0600, NULL },
	};
	const char *out = NULL, *cn = "upkit";
	struct err e;
	size_t i;
	struct cli_parse p;
	int c, force = 0, rc = EXIT_FAIL;

	err_clear(&e);
	cli_begin(&p, &cli_keys_create, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			cn = optarg;
			break;
		case 'f':
			force = 1;
			break;
		}
	}
	if ((c = cli_end(&p, 0, 0, NULL)) >= 0)
		return c;
	if (out == NULL)
		return cli_usage_error(p.cmd, "--out is required");
	if (cn[0] == '\0')
		return cli_usage_error(p.cmd, "--cn: an empty name");
	if (refuse_existing(out, kf, force) < 0)
		return EXIT_USAGE;
	if (write_keys(out, cn, kf, force, &e) < 0) {
		cli_error(p.cmd->name, "%s", e.msg);
		goto out;
	}
	for (i = 0; i < 4; i++)
		printf("wrote %s/%s (%04o)\n", out, kf[i].name,
		    (unsigned)kf[i].mode);
	printf("%s/root.pem is the device keyring (keyring in upkit.conf).\n"
	    "%s/root.key issues signer certificates: keep it offline.\n"
	    "Sign bundles with --key %s/signer.key --cert %s/signer.pem.\n",
	    out, out, out, out);
	rc = EXIT_OK;
out:
	for (i = 0; i < 4; i++) {
		/* Scrub the private keys from the heap. */
		if (kf[i].pem != NULL)
			explicit_bzero(kf[i].pem, strlen(kf[i].pem));
		free(kf[i].pem);
	}
	return rc;
}

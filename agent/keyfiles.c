/*
 * agent/keyfiles: the keyring and its CRL, read from their files by one
 * loader for every command that checks a bundle, so that update and
 * bundle verify take the same files to the same verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/keyfiles.h"
#include "common/err.h"
#include "common/io.h"
#include "verify/trust.h"

#define KEYRING_MAX	(1u << 20)
#define CRL_MAX		(16u << 20)

int
keyfiles_load(const char *path, const char *crlpath,
    struct keyring **kp, struct err *e)
{
	char *pem = NULL, *crl = NULL, when[32];
	size_t pemlen, crllen = 0;
	int r;

	*kp = NULL;
	if ((r = file_read(path, KEYRING_MAX, &pem, &pemlen, e)) < 0)
		return err_prefix(e, "keyring");
	if (crlpath != NULL && (r = file_read(crlpath, CRL_MAX, &crl,
	    &crllen, e)) < 0) {
		err_prefix(e, "keyring CRL");
		goto out;
	}
	if ((r = keyring_load(pem, pemlen, NULL, 0, kp, e)) < 0) {
		err_prefix(e, "keyring %s", path);
		goto out;
	}
	/* An empty CRL file is refused here, not taken for none. */
	if (crlpath != NULL && (r = keyring_load_crl(*kp, crl, crllen,
	    crlpath, e)) < 0) {
		keyring_free(*kp);
		*kp = NULL;
		goto out;
	}
	if (keyring_crl_expired(*kp, when, sizeof(when)))
		fprintf(stderr, "upkit: warning: CRL %s is past its nextUpdate "
		    "(%s): what it revokes stays revoked; install a fresh "
		    "one\n", crlpath, when);
out:
	free(pem);
	free(crl);
	return r;
}

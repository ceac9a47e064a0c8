/*
 * agent/keyfiles: the keyring and its CRL, loaded one way for `upkit
 * update` and `bundle verify`. The bundle's bytes come from source/.
 */
#ifndef AGENT_KEYFILES_H
#define AGENT_KEYFILES_H

struct err;
struct keyring;

/* Loads the keyring at path (PEM, up to 1 MiB) and, unless crlpath is
 * NULL, the CRL there (PEM or DER, up to 16 MiB; an empty file is
 * refused, not taken for none). Warns on stderr when the CRL is past its
 * nextUpdate. On success free *kp with keyring_free(). */
int	keyfiles_load(const char *path, const char *crlpath,
	    struct keyring **kp, struct err *e);

#endif /* AGENT_KEYFILES_H */

/*
 * agent/source: what `upkit update`, `bundle info` and `bundle verify`
 * read a bundle with, loaded one way for all three: the byte source and
 * the keyring with its CRL.
 */
#ifndef AGENT_SOURCE_H
#define AGENT_SOURCE_H

struct err;
struct keyring;

/* Opens the bundle source name for one front-to-back read: "-" is
 * standard input. A folder, a block device or anything else that is not
 * a stream is refused (agent/util's source_check()), named in e.
 * -errno then, with *fdp -1; else close *fdp with source_close(). */
int	source_open(const char *name, int *fdp, struct err *e);
/* Closes fd unless it is standard input or -1. */
void	source_close(int fd);
/* Loads the keyring at path (PEM, up to 1 MiB) and, unless crlpath is
 * NULL, the CRL there (PEM or DER, up to 16 MiB; an empty file is
 * refused, not taken for none). Warns on stderr when the CRL is past its
 * nextUpdate. On success free *kp with keyring_free(). */
int	source_load_keyring(const char *path, const char *crlpath,
	    struct keyring **kp, struct err *e);

#endif /* AGENT_SOURCE_H */

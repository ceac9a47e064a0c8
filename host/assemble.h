/*
 * host/assemble: writes a signed bundle from a plan (host/plan.h),
 * compressing each source with host/compress.h and signing with
 * host/sign.h. Nothing appears under the bundle's name until the whole
 * file is on disk.
 */
#ifndef HOST_ASSEMBLE_H
#define HOST_ASSEMBLE_H

struct err;
struct create_opts;
struct create_plan;
struct manifest;

struct create_signer {
	const char	*key;		/* PEM private key path */
	const char	*cert;		/* PEM signer certificate path */
	const char	*chain;		/* PEM intermediates path or NULL */
};

/* The signer's files, read; the key is wiped by create_signer_clear(). */
struct create_pems {
	char	*key, *cert, *chain;
	size_t	 keylen, certlen, chainlen;
};

/* Reads sg's key, certificate and chain into pm and signs a dummy digest
 * with them, so that a wrong key or certificate fails before any work
 * (bundle create, channel create). Clear pm with create_signer_clear()
 * on success and failure alike. */
int	create_signer_load(const struct create_signer *sg,
	    struct create_pems *pm, struct err *e);
void	create_signer_clear(struct create_pems *pm);

/* Runs m's compatible, version, security_version and created past the
 * manifest parser with a stand-in payload, so that a value a device
 * would refuse fails before minutes of compression. */
int	create_precheck(const struct manifest *m, struct err *e);

/* Writes the whole bundle to out (via out.payload.tmp and out.tmp, both
 * removed on every path; renamed into place after fsync). m supplies
 * compatible, version, security_version and created; create_bundle()
 * fills its payloads (free them with create_manifest_clear()). The key
 * is tried on a dummy digest before any compression. */
int	create_bundle(const char *out, const struct create_plan *p,
	    const struct create_opts *o, const struct create_signer *sg,
	    struct manifest *m, struct err *e);
void	create_manifest_clear(struct manifest *m);

#endif /* HOST_ASSEMBLE_H */

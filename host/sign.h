/*
 * host/sign: what only the build host does with keys. sign_bundle()
 * signs the digest of a bundle's header||manifest (or of a channel
 * file's header||body) and builds the signature block verify/trust.c
 * checks; sign_keys_create() makes a new
 * fleet's root CA and signer. Devices never sign: this lives in host/
 * so no device command can reach it.
 */
#ifndef HOST_SIGN_H
#define HOST_SIGN_H

#include <stddef.h>
#include <stdint.h>

struct err;

/* Signs digest with the PEM private key, and builds a signature block
 * holding the signer certificate (cert PEM) and the intermediates in
 * chain (PEM, may be NULL). The key must match the certificate; an RSA
 * key needs 3072 bits. -EINVAL names what is wrong (key, certificate,
 * chain, mismatch). *out is malloc'd; caller frees. */
int	sign_bundle(const void *key, size_t keylen, const void *cert,
	    size_t certlen, const void *chain, size_t chainlen,
	    const uint8_t digest[32], uint8_t **out, size_t *outlen,
	    struct err *e);

/* Makes a self-signed root CA (ECDSA P-256, CA basic constraint,
 * keyCertSign) and a signer certificate it issues (ECDSA P-256,
 * digitalSignature, codeSigning EKU), valid for years, with no NULL
 * parameter in their ecdsa-with-SHA256 identifiers. Each output is a
 * malloc'd NUL-terminated PEM string; caller frees. The root key is for
 * issuing the next signer and CRLs; it belongs offline. -EINVAL for a
 * common name mbedtls' name parser would misread. */
int	sign_keys_create(const char *cn, char **root_pem, char **root_key_pem,
	    char **signer_pem, char **signer_key_pem, struct err *e);

#endif /* HOST_SIGN_H */

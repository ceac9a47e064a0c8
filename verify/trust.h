/*
 * verify/trust: signatures and certificate chains with mbedtls. The
 * keyring is the device's set of trusted roots (PEM), optionally with a
 * CRL. A bundle is trusted when its signer certificate chains to a root in
 * the keyring (mbedtls_x509_crt_verify), carries the codeSigning extended
 * key usage where the certificate has that extension (anyExtendedKeyUsage
 * does not count), is not revoked (a CRL past its nextUpdate still
 * revokes, but rejects nothing by itself), and
 * its key signed the SHA-256 digest of header||manifest (a channel
 * file's: header||body, under the same rules; docs/channel.md).
 * Buffers in, results out: no files here. Signing and key generation
 * are the build host's (host/sign.h).
 */
#ifndef VERIFY_TRUST_H
#define VERIFY_TRUST_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct sigblock;
struct keyring;			/* opaque */

/* Parses PEM roots (pem need not be NUL-terminated) and an optional CRL
 * (PEM or DER, crl may be NULL or empty for none). -EINVAL
 * names what did not parse. Free with keyring_free(). */
int	keyring_load(const void *pem, size_t pemlen, const void *crl,
	    size_t crllen, struct keyring **kp, struct err *e);
/* Adds the CRL file name (PEM or DER) to k. -EINVAL naming name: the file
 * holds no CRL (empty, whitespace, PEM without a CRL), does not parse,
 * or a CRL issued by a keyring root does not verify with that root. The
 * name also appears in chain errors the CRL causes. */
int	keyring_load_crl(struct keyring *k, const void *crl, size_t crllen,
	    const char *name, struct err *e);
/* 1 if a CRL in k is past its nextUpdate (then *when holds it, RFC 3339),
 * else 0. Such a CRL still revokes what it lists; the agent warns. */
int	keyring_crl_expired(const struct keyring *k, char *when, size_t len);
void	keyring_free(struct keyring *k);		/* accepts NULL */

/* Verifies the chain in s against k and the signature over digest.
 * -EKEYREJECTED: the chain does not verify (untrusted, expired, revoked,
 * an extended key usage without codeSigning itself); -EBADMSG: the
 * signature does not match. The message names the signer's subject, or
 * the CRL when the CRL is at fault. */
int	trust_verify(const struct keyring *k, const struct sigblock *s,
	    const uint8_t digest[32], struct err *e);

/* The signer certificate's subject ("CN=acme signer") into buf, for
 * display. -EBADMSG if the certificate does not parse. */
int	trust_signer_subject(const struct sigblock *s, char *buf, size_t len,
	    struct err *e);

#endif /* VERIFY_TRUST_H */

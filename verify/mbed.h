/*
 * verify/mbed: the little that verify/trust.c (checking signatures) and
 * host/sign.c (making them) share about mbedtls, kept here once rather
 * than in both: the RSA floor a bundle signature must meet, a message
 * for an mbedtls error code, and the NUL-terminated copy its PEM parsers
 * want; and which mbedtls versions the build accepts. Internal: nothing
 * outside those two files (and their unit tests) includes it.
 */
#ifndef VERIFY_MBED_H
#define VERIFY_MBED_H

#include <stdlib.h>
#include <string.h>

#include <mbedtls/version.h>
#include <mbedtls/error.h>

/*
 * The mbedtls versions upkit builds with: the two long-term-support
 * branches, 2.28 (Debian 12) and 3.6 (Debian 13), both built and tested
 * by make check (docs/portability.md). The others stop here, at the API
 * boundary that rules them out, rather than with a confusing error deeper
 * down:
 * - before 2.28: end of life and untested;
 * - 3.0 to 3.3: no mbedtls_x509write_crt_set_serial_raw (3.4), and
 *   mbedtls_x509write_crt_set_serial is deprecated from 3.4 on;
 * - 3.4 and 3.5: mbedtls_pk_sign_ext only with MBEDTLS_PSA_CRYPTO_C (it
 *   is always there from 3.6 on); end of life and untested;
 * - 4.0 and later: ctr_drbg and entropy are gone (PSA random only), and
 *   pk signs through PSA keys; not ported.
 */
#ifndef MBEDTLS_VERSION_NUMBER
#error "upkit needs mbedtls 2.28 or 3.6: no MBEDTLS_VERSION_NUMBER"
#elif MBEDTLS_VERSION_NUMBER < 0x021c0000
#error "upkit needs mbedtls 2.28 or 3.6: this one is older than 2.28"
#elif MBEDTLS_VERSION_NUMBER >= 0x03000000 && \
    MBEDTLS_VERSION_NUMBER < 0x03040000
#error "upkit needs mbedtls 2.28 or 3.6: 3.0-3.3 lack set_serial_raw"
#elif MBEDTLS_VERSION_NUMBER >= 0x03040000 && \
    MBEDTLS_VERSION_NUMBER < 0x03060000
#error "upkit needs mbedtls 2.28 or 3.6: 3.4-3.5 are end of life"
#elif MBEDTLS_VERSION_NUMBER >= 0x04000000
#error "upkit needs mbedtls 2.28 or 3.6: 4.x has no ctr_drbg/entropy"
#endif

/*
 * The fields mbedtls 3 made private (x509_crl's signature, for one) are
 * read through MBEDTLS_PRIVATE(), which names them in 3.x; 2.28 has no
 * such macro and plain fields. 3.x documents no accessor for them.
 */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/private_access.h>
#else
#define MBEDTLS_PRIVATE(member)	member
#endif

/* The smallest RSA key that may sign a bundle (certificates above it in
 * the chain may be smaller; see verify/trust.c's profile). */
#define MBED_RSA_SIGN_MIN_BITS	3072

/* mbedtls_strerror() into buf; returns buf, for use in a message. */
static inline const char *
mbed_error(int r, char *buf, size_t size)
{
	mbedtls_strerror(r, buf, size);
	return buf;
}

/* A malloc'd copy of buf with a NUL after it: mbedtls PEM parsers want
 * the terminating NUL inside the length (len + 1). NULL without memory. */
static inline unsigned char *
mbed_nul_copy(const void *buf, size_t len)
{
	unsigned char *p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, buf, len);
	p[len] = '\0';
	return p;
}

#endif /* VERIFY_MBED_H */

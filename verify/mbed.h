/*
 * verify/mbed: the little that verify/trust.c (checking signatures) and
 * host/sign.c (making them) share about mbedtls, kept here once rather
 * than in both: the RSA floor a bundle signature must meet, a message
 * for an mbedtls error code, and the NUL-terminated copy its PEM parsers
 * want. Internal: nothing outside those two files includes it.
 */
#ifndef VERIFY_MBED_H
#define VERIFY_MBED_H

#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>

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

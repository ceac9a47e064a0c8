/*
 * verify/digest: SHA-256, one call for a buffer and an incremental form
 * for streams. Dispatches to the CPU's SHA instructions (verify/sha256.h)
 * or to mbedtls; callers never choose.
 */
#ifndef VERIFY_DIGEST_H
#define VERIFY_DIGEST_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct digest;			/* opaque */

void	digest_sha256(const void *buf, size_t len, uint8_t out[32]);
int	digest_open(struct digest **dp, struct err *e);
void	digest_update(struct digest *d, const void *buf, size_t len);
void	digest_final(struct digest *d, uint8_t out[32]);
void	digest_free(struct digest *d);		/* accepts NULL */

#endif /* VERIFY_DIGEST_H */

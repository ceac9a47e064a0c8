/*
 * verify/chunk: checks one chunk against its signed hashes. The compressed
 * SHA-256 authenticates a chunk before it is decompressed; XXH3-64 of the
 * uncompressed bytes checks what was read back from the slot.
 */
#ifndef VERIFY_CHUNK_H
#define VERIFY_CHUNK_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct bundle_chunk;

/* 0, or -EBADMSG naming the chunk index. */
int	chunk_check_compressed(const struct bundle_chunk *c, size_t index,
	    const void *buf, size_t len, struct err *e);
int	chunk_check_readback(const struct bundle_chunk *c, size_t index,
	    const void *buf, size_t len, struct err *e);
uint64_t chunk_xxh3(const void *buf, size_t len);

/* The same read-back check, fed in pieces so a chunk can be read back
 * through a buffer smaller than the chunk. */
struct chunk_xxh3;		/* opaque */
int	chunk_xxh3_open(struct chunk_xxh3 **hp, struct err *e);
void	chunk_xxh3_reset(struct chunk_xxh3 *h);
void	chunk_xxh3_update(struct chunk_xxh3 *h, const void *buf, size_t len);
/* Compares the digest of everything fed since the reset; -EIO names the
 * chunk index. */
int	chunk_xxh3_check(struct chunk_xxh3 *h, const struct bundle_chunk *c,
	    size_t index, struct err *e);
void	chunk_xxh3_free(struct chunk_xxh3 *h);		/* accepts NULL */

#endif /* VERIFY_CHUNK_H */

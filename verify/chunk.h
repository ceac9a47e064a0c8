/*
 * verify/chunk: checks chunks against their signed hashes. The compressed
 * SHA-256 authenticates a chunk before it is decompressed (the reader,
 * verify/reader); chunk_decode() decompresses it (verify/frame) and
 * matches its XXH3-64 before the bytes are written, and the read-back
 * matches the XXH3 again on what the slot holds. A payload's sha256 is the hash of its
 * chunks' usha256 digests, so it is checked from the signed manifest
 * alone. usha256 itself is an index for delta reuse (not checked here).
 */
#ifndef VERIFY_CHUNK_H
#define VERIFY_CHUNK_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct bundle_chunk;
struct bundle_payload;
struct frame_decoder;

/* 0, or -EBADMSG naming the chunk index: the bundle is wrong. */
int	chunk_check_compressed(const struct bundle_chunk *c, size_t index,
	    const void *buf, size_t len, struct err *e);
/* The decompressed bytes against the row's size and xxh3, before they
 * are written: -EBADMSG names the chunk index and the hash. */
int	chunk_check_plain(const struct bundle_chunk *c, size_t index,
	    const void *buf, size_t len, struct err *e);
/* The same XXH3 on bytes read back from a slot: -EIO, the storage is
 * wrong (the bytes were proven right before they were written). */
int	chunk_check_readback(const struct bundle_chunk *c, size_t index,
	    const void *buf, size_t len, struct err *e);
uint64_t chunk_xxh3(const void *buf, size_t len);
/* Decodes the chunk's c->csize bytes at src (already authenticated by
 * chunk_check_compressed()) into exactly c->usize bytes of dst with d
 * (verify/frame), then chunk_check_plain(): -EBADMSG naming the chunk
 * index if the frame is corrupt or the bytes do not match the row. One
 * call per chunk, safe on several threads with one decoder each. */
int	chunk_decode(struct frame_decoder *d, const struct bundle_chunk *c,
	    size_t index, const void *src, void *dst, struct err *e);

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

/* SHA-256 over the payload's chunk usha256 digests, in order: the value
 * of its signed sha256 (docs/bundle-format.md). -ENOMEM only. */
int	chunk_payload_sha256(const struct bundle_payload *p, uint8_t out[32],
	    struct err *e);
/* Whether p->sha256 matches its chunk rows: 0, or -EBADMSG naming the
 * payload. Checked once per bundle, before any chunk is read. */
int	chunk_check_payload(const struct bundle_payload *p, struct err *e);

#endif /* VERIFY_CHUNK_H */

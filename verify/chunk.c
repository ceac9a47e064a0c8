/*
 * verify/chunk: one chunk against its signed hashes. The lengths are
 * checked first so that a short read can never match by accident and the
 * message says which of the two went wrong.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/err.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"
#include "verify/frame.h"

int
chunk_check_compressed(const struct bundle_chunk *c, size_t index,
    const void *buf, size_t len, struct err *e)
{
	uint8_t sha[32];

	if (len != c->csize)
		return err_set(e, -EBADMSG, "chunk %zu: %zu compressed bytes, "
		    "expected %u", index, len, c->csize);
	digest_sha256(buf, len, sha);
	if (memcmp(sha, c->csha, sizeof(sha)) != 0)
		return err_set(e, -EBADMSG, "chunk %zu: compressed SHA-256 "
		    "mismatch", index);
	return 0;
}

int
chunk_check_plain(const struct bundle_chunk *c, size_t index,
    const void *buf, size_t len, struct err *e)
{
	if (len != c->usize)
		return err_set(e, -EBADMSG, "chunk %zu: %zu uncompressed "
		    "bytes, expected %u", index, len, c->usize);
	/*
	 * The bytes are already authentic: they decompress from a frame
	 * whose SHA-256 was checked. The row's XXH3 must agree with them,
	 * or the read-back would blame the storage for the manifest's
	 * error. usha256 is not checked here: hashing every decompressed
	 * byte with SHA-256 made an install 1.4x a plain `zstd | dd`
	 * (docs/bundle-format.md); it is an index for delta reuse, checked
	 * where it is used.
	 */
	if (chunk_xxh3(buf, len) != c->xxh3)
		return err_set(e, -EBADMSG, "chunk %zu: uncompressed XXH3 "
		    "mismatch", index);
	return 0;
}

int
chunk_check_readback(const struct bundle_chunk *c, size_t index,
    const void *buf, size_t len, struct err *e)
{
	/* -EIO, not -EBADMSG: the bundle was fine, the storage was not. */
	if (len != c->usize)
		return err_set(e, -EIO, "chunk %zu: read back %zu bytes, "
		    "expected %u", index, len, c->usize);
	if (chunk_xxh3(buf, len) != c->xxh3)
		return err_set(e, -EIO, "chunk %zu: read-back XXH3 mismatch",
		    index);
	return 0;
}

uint64_t
chunk_xxh3(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}

int
chunk_decode(struct frame_decoder *d, const struct bundle_chunk *c,
    size_t index, const void *src, void *dst, struct err *e)
{
	int r;

	if ((r = frame_decode(d, src, c->csize, dst, c->usize, e)) < 0)
		return err_prefix(e, "chunk %zu", index);
	return chunk_check_plain(c, index, dst, c->usize, e);
}

struct chunk_xxh3 {
	XXH3_state_t	*st;
};

int
chunk_xxh3_open(struct chunk_xxh3 **hp, struct err *e)
{
	struct chunk_xxh3 *h;

	*hp = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->st = XXH3_createState()) == NULL) {
		free(h);
		return err_set(e, -ENOMEM, "XXH3 state");
	}
	XXH3_64bits_reset(h->st);
	*hp = h;
	return 0;
}

void
chunk_xxh3_reset(struct chunk_xxh3 *h)
{
	XXH3_64bits_reset(h->st);
}

void
chunk_xxh3_update(struct chunk_xxh3 *h, const void *buf, size_t len)
{
	XXH3_64bits_update(h->st, buf, len);
}

int
chunk_xxh3_check(struct chunk_xxh3 *h, const struct bundle_chunk *c,
    size_t index, struct err *e)
{
	if (XXH3_64bits_digest(h->st) != c->xxh3)
		return err_set(e, -EIO, "chunk %zu: read-back XXH3 mismatch",
		    index);
	return 0;
}

void
chunk_xxh3_free(struct chunk_xxh3 *h)
{
	if (h == NULL)
		return;
	XXH3_freeState(h->st);
	free(h);
}

int
chunk_payload_sha256(const struct bundle_payload *p, uint8_t out[32],
    struct err *e)
{
	struct digest *h;
	size_t i;
	int r;

	if ((r = digest_open(&h, e)) < 0)
		return r;
	for (i = 0; i < p->nchunks; i++)
		digest_update(h, p->chunks[i].usha,
		    sizeof(p->chunks[i].usha));
	digest_final(h, out);
	digest_free(h);
	return 0;
}

int
chunk_check_payload(const struct bundle_payload *p, struct err *e)
{
	uint8_t sha[32];
	int r;

	if ((r = chunk_payload_sha256(p, sha, e)) < 0)
		return r;
	if (memcmp(sha, p->sha256, sizeof(sha)) != 0)
		return err_set(e, -EBADMSG, "payload %s: sha256 does not match "
		    "its chunks' usha256", p->name);
	return 0;
}

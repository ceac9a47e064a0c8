/*
 * verify/chunk: one chunk against its signed hashes. The lengths are
 * checked first so that a short read can never match by accident and the
 * message says which of the two went wrong.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "agent/err.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/trust.h"

int
chunk_check_compressed(const struct bundle_chunk *c, size_t index,
    const void *buf, size_t len, struct err *e)
{
	uint8_t sha[32];

	if (len != c->csize)
		return err_set(e, -EBADMSG, "chunk %zu: %zu compressed bytes, "
		    "expected %u", index, len, c->csize);
	trust_sha256(buf, len, sha);
	if (memcmp(sha, c->csha, sizeof(sha)) != 0)
		return err_set(e, -EBADMSG, "chunk %zu: compressed SHA-256 "
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

/* chunk_test: a chunk is checked against its signed hashes and sizes,
 * and a payload hash against its chunk rows. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "tests/check.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"
#include "verify/trust.h"

int
main(void)
{
	uint8_t comp[100], plain[300];
	struct bundle_chunk c;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(comp); i++)
		comp[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 13);
	memset(&c, 0, sizeof(c));
	c.csize = sizeof(comp);
	c.usize = sizeof(plain);
	digest_sha256(comp, sizeof(comp), c.csha);
	c.xxh3 = chunk_xxh3(plain, sizeof(plain));
	/* XXH3-64 of the empty input, from the xxHash reference. */
	CHECK(chunk_xxh3("", 0) == 0x2d06800538d394c2ull);

	CHECK_OK(chunk_check_compressed(&c, 7, comp, sizeof(comp), &e), &e);
	CHECK_OK(chunk_check_readback(&c, 7, plain, sizeof(plain), &e), &e);

	comp[50] ^= 1;
	CHECK(chunk_check_compressed(&c, 7, comp, sizeof(comp), &e) ==
	    -EBADMSG);
	CHECK(strcmp(e.msg, "chunk 7: compressed SHA-256 mismatch") == 0);
	comp[50] ^= 1;
	CHECK(chunk_check_compressed(&c, 7, comp, sizeof(comp) - 1, &e) ==
	    -EBADMSG);
	CHECK(strstr(e.msg, "chunk 7") != NULL);

	plain[299] ^= 0x80;
	CHECK(chunk_check_readback(&c, 7, plain, sizeof(plain), &e) == -EIO);
	CHECK(strcmp(e.msg, "chunk 7: read-back XXH3 mismatch") == 0);
	plain[299] ^= 0x80;
	CHECK(chunk_check_readback(&c, 3, plain, sizeof(plain) - 1, &e) ==
	    -EIO);
	CHECK(strstr(e.msg, "chunk 3") != NULL);

	/* Fed in pieces, the same digest; a flipped byte is caught. */
	{
		struct chunk_xxh3 *h;

		CHECK_OK(chunk_xxh3_open(&h, &e), &e);
		for (i = 0; i < sizeof(plain); i += 7)
			chunk_xxh3_update(h, plain + i, sizeof(plain) - i < 7 ?
			    sizeof(plain) - i : 7);
		CHECK_OK(chunk_xxh3_check(h, &c, 7, &e), &e);
		chunk_xxh3_reset(h);
		plain[0] ^= 1;
		chunk_xxh3_update(h, plain, sizeof(plain));
		CHECK(chunk_xxh3_check(h, &c, 9, &e) == -EIO);
		CHECK(strcmp(e.msg, "chunk 9: read-back XXH3 mismatch") == 0);
		chunk_xxh3_free(h);
		chunk_xxh3_free(NULL);
	}

	/* Before writing: the decompressed bytes against xxh3; a mismatch
	 * is the bundle's (-EBADMSG), not the storage's. usha256 is not
	 * checked (an index for delta reuse). */
	memset(c.usha, 0xee, sizeof(c.usha));
	c.xxh3 = chunk_xxh3(plain, sizeof(plain));
	CHECK_OK(chunk_check_plain(&c, 4, plain, sizeof(plain), &e), &e);
	plain[10] ^= 2;
	CHECK(chunk_check_plain(&c, 4, plain, sizeof(plain), &e) == -EBADMSG);
	CHECK(strcmp(e.msg, "chunk 4: uncompressed XXH3 mismatch") == 0);
	plain[10] ^= 2;
	c.xxh3 ^= 1;
	CHECK(chunk_check_plain(&c, 4, plain, sizeof(plain), &e) == -EBADMSG);
	CHECK(strcmp(e.msg, "chunk 4: uncompressed XXH3 mismatch") == 0);
	c.xxh3 ^= 1;
	CHECK(chunk_check_plain(&c, 4, plain, sizeof(plain) - 1, &e) ==
	    -EBADMSG);

	/* The payload hash is SHA-256 over the rows' usha256, in order. */
	{
		struct bundle_chunk two[2];
		struct bundle_payload p;
		uint8_t list[64], want[32];

		memset(&p, 0, sizeof(p));
		memset(two, 0, sizeof(two));
		digest_sha256("one", 3, two[0].usha);
		digest_sha256("two", 3, two[1].usha);
		memcpy(list, two[0].usha, 32);
		memcpy(list + 32, two[1].usha, 32);
		digest_sha256(list, sizeof(list), want);
		p.name = (char *)"rootfs";
		p.chunks = two;
		p.nchunks = 2;
		CHECK_OK(chunk_payload_sha256(&p, p.sha256, &e), &e);
		CHECK(memcmp(p.sha256, want, 32) == 0);
		CHECK_OK(chunk_check_payload(&p, &e), &e);
		/* Rows swapped: same digests, other order, refused. */
		memcpy(two[0].usha, list + 32, 32);
		memcpy(two[1].usha, list, 32);
		CHECK(chunk_check_payload(&p, &e) == -EBADMSG);
		CHECK(strcmp(e.msg, "payload rootfs: sha256 does not match "
		    "its chunks' usha256") == 0);
	}
	return 0;
}

/* chunk_test: a chunk is checked against its signed hashes and sizes. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "agent/err.h"
#include "tests/check.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
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
	trust_sha256(comp, sizeof(comp), c.csha);
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
	return 0;
}

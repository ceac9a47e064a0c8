/* sigblock_test: the signature block's framing, against hostile input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tests/check.h"
#include "verify/bundle.h"

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

int
main(void)
{
	static const uint8_t sig[] = { 1, 2, 3, 4, 5 };
	static const uint8_t c0[] = { 0x30, 0x03, 1, 2, 3 };
	static const uint8_t c1[] = { 0x30, 0x01, 9 };
	struct sigblock s, p;
	struct err e;
	uint8_t *blob, *big;
	size_t len, n, i;

	memset(&s, 0, sizeof(s));
	s.alg = SIG_ECDSA_SHA256;
	s.sig = sig;
	s.siglen = sizeof(sig);
	s.ncerts = 2;
	s.cert[0] = c0;
	s.certlen[0] = sizeof(c0);
	s.cert[1] = c1;
	s.certlen[1] = sizeof(c1);
	CHECK_OK(sigblock_encode(&s, &blob, &len, &e), &e);
	CHECK(len == 16 + 5 + 4 + 5 + 4 + 3);
	CHECK(memcmp(blob, "UPKS\0\0\0\x25\0\x01\0\x02\0\0\0\x05", 16) == 0);

	CHECK_OK(sigblock_length(blob, &n, &e), &e);
	CHECK(n == len);
	CHECK_OK(sigblock_parse(blob, len, &p, &e), &e);
	CHECK(p.alg == SIG_ECDSA_SHA256 && p.ncerts == 2);
	CHECK(p.siglen == 5 && memcmp(p.sig, sig, 5) == 0);
	CHECK(p.sig == blob + 16);
	CHECK(p.certlen[0] == 5 && memcmp(p.cert[0], c0, 5) == 0);
	CHECK(p.certlen[1] == 3 && memcmp(p.cert[1], c1, 3) == 0);

	/* Every truncation, with block_len fixed up to match and not. */
	for (i = 0; i < len; i++) {
		CHECK(sigblock_parse(blob, i, &p, &e) == -EBADMSG);
		if (i > 16) {
			uint8_t *t;

			CHECK((t = malloc(i)) != NULL);
			memcpy(t, blob, i);
			put32(t + 4, (uint32_t)i);
			CHECK(sigblock_parse(t, i, &p, &e) == -EBADMSG);
			free(t);
		}
	}
	/* Trailing garbage, declared in block_len or not. */
	CHECK((big = malloc(len + 1)) != NULL);
	memcpy(big, blob, len);
	big[len] = 0;
	CHECK(sigblock_parse(big, len + 1, &p, &e) == -EBADMSG);
	put32(big + 4, (uint32_t)len + 1);
	CHECK(sigblock_parse(big, len + 1, &p, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "trailing") != NULL);
	free(big);

	/* Bad fields, one at a time. */
#define MUTATE(off, val) do {						\
	uint8_t save_ = blob[off];					\
	blob[off] = (val);						\
	CHECK(sigblock_parse(blob, len, &p, &e) == -EBADMSG);		\
	blob[off] = save_;						\
} while (0)
	MUTATE(0, 'X');				/* magic */
	MUTATE(9, 0);				/* alg 0 */
	MUTATE(9, 3);				/* alg 3 */
	MUTATE(11, 0);				/* ncerts 0 */
	MUTATE(11, 3);				/* more certs than present */
	MUTATE(11, SIGBLOCK_CERTS_MAX + 1);
	MUTATE(15, 0);				/* siglen 0 */
	MUTATE(14, 4);				/* siglen 1029 > 1024 */
	MUTATE(15, 6);				/* siglen shifts the certs */
	MUTATE(24, 0);				/* der_len 0 */
	MUTATE(22, 1);				/* der_len huge */
	MUTATE(24, 6);				/* der_len past the end */
	MUTATE(7, 16);				/* block_len 16 */
	CHECK_OK(sigblock_parse(blob, len, &p, &e), &e);

	/* block_len bounds in sigblock_length. */
	put32(blob + 4, BUNDLE_SIGBLOCK_MAX + 1);
	CHECK(sigblock_length(blob, &n, &e) == -EBADMSG);
	put32(blob + 4, BUNDLE_SIGBLOCK_MAX);
	CHECK_OK(sigblock_length(blob, &n, &e), &e);
	CHECK(n == BUNDLE_SIGBLOCK_MAX);
	free(blob);

	/* The encoder refuses what the parser would refuse. */
	s.ncerts = 0;
	CHECK(sigblock_encode(&s, &blob, &len, &e) == -EINVAL);
	s.ncerts = SIGBLOCK_CERTS_MAX + 1;
	CHECK(sigblock_encode(&s, &blob, &len, &e) == -EINVAL);
	s.ncerts = 1;
	s.siglen = 1025;
	CHECK(sigblock_encode(&s, &blob, &len, &e) == -EINVAL);
	s.siglen = 5;
	s.alg = (enum sig_alg)9;
	CHECK(sigblock_encode(&s, &blob, &len, &e) == -EINVAL);
	CHECK(blob == NULL);
	return 0;
}

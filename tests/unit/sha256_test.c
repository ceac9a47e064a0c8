/*
 * tests/sha256_test: the SHA-256 on the CPU's SHA instructions gives the
 * digests of FIPS 180-4's examples and, for every length up to a few
 * blocks and for large buffers fed in odd pieces, the same digest as
 * mbedtls. digest_sha256() gives it too, with the instructions and without.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "common/err.h"
#include "tests/check.h"
#include "verify/bundle.h"
#include "verify/digest.h"
#include "verify/sha256.h"
#include "verify/trust.h"

static void
ref(const void *buf, size_t len, uint8_t out[32])
{
	CHECK(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), buf,
	    len, out) == 0);
}

static void
hw(const void *buf, size_t len, uint8_t out[32])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, buf, len);
	sha256_final(&s, out);
}

/* Hashes buf in pieces whose sizes come from a fixed pseudo-random
 * sequence, so blocks straddle update calls in every way. */
static void
hw_pieces(const uint8_t *buf, size_t len, uint32_t seed, uint8_t out[32])
{
	struct sha256 s;
	size_t done = 0, n;

	sha256_init(&s);
	while (done < len) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % 300;
		if (n > len - done)
			n = len - done;
		sha256_update(&s, buf + done, n);
		done += n;
	}
	sha256_final(&s, out);
}

static void
check_hex(const uint8_t d[32], const char *want)
{
	char hex[65];

	bundle_hex(d, 32, hex);
	if (strcmp(hex, want) != 0) {
		fprintf(stderr, "got  %s\nwant %s\n", hex, want);
		CHECK(0);
	}
}

/* FIPS 180-4 examples (NIST's SHA256.pdf, SHA256_LongMessage). */
static void
test_known(void)
{
	static const char two[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[32], *a;
	struct sha256 s;
	int i;

	hw("", 0, d);
	check_hex(d, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	hw("abc", 3, d);
	check_hex(d, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	hw(two, strlen(two), d);
	check_hex(d, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	/* A million 'a's, in 1000 updates. */
	CHECK((a = malloc(1000)) != NULL);
	memset(a, 'a', 1000);
	sha256_init(&s);
	for (i = 0; i < 1000; i++)
		sha256_update(&s, a, 1000);
	sha256_final(&s, d);
	check_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void
test_against_mbedtls(void)
{
	enum { BIG = 3 * 1024 * 1024 + 17 };
	uint8_t *buf, d1[32], d2[32];
	uint32_t x = 0x9e3779b9u;
	size_t i, len;

	CHECK((buf = malloc(BIG)) != NULL);
	for (i = 0; i < BIG; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	/* Every length across the padding edges of the first few blocks,
	 * at an odd offset so that loads are unaligned. */
	for (len = 0; len <= 4 * 64 + 1; len++) {
		ref(buf + 1, len, d1);
		hw(buf + 1, len, d2);
		CHECK(memcmp(d1, d2, 32) == 0);
		hw_pieces(buf + 1, len, (uint32_t)len, d2);
		CHECK(memcmp(d1, d2, 32) == 0);
	}
	ref(buf, BIG, d1);
	hw(buf, BIG, d2);
	CHECK(memcmp(d1, d2, 32) == 0);
	hw_pieces(buf, BIG, 7, d2);
	CHECK(memcmp(d1, d2, 32) == 0);
	/* A single flipped bit changes the digest. */
	buf[BIG / 2] ^= 0x10;
	hw(buf, BIG, d2);
	CHECK(memcmp(d1, d2, 32) != 0);
	free(buf);
}

/* digest_sha256 and the digest_* stream, on the CPU path and on mbedtls. */
static void
test_trust(int on)
{
	static const uint8_t msg[] = "upkit chunk";
	struct digest *h;
	struct err e;
	uint8_t d1[32], d2[32], d3[32];

	sha256_hw_enable(on);
	if (!on)
		CHECK(sha256_hw() == 0 && strcmp(sha256_engine(), "none") == 0);
	ref(msg, sizeof(msg), d1);
	digest_sha256(msg, sizeof(msg), d2);
	CHECK(memcmp(d1, d2, 32) == 0);
	CHECK_OK(digest_open(&h, &e), &e);
	digest_update(h, msg, 5);
	digest_update(h, msg + 5, sizeof(msg) - 5);
	digest_final(h, d3);
	digest_free(h);
	CHECK(memcmp(d1, d3, 32) == 0);
}

int
main(void)
{
	test_trust(0);
	test_trust(1);
	if (!sha256_hw())
		SKIP("this CPU has no SHA instructions that upkit uses");
	printf("engine: %s\n", sha256_engine());
	test_known();
	test_against_mbedtls();
	return 0;
}

/*
 * verify/sha256: the SHA-256 block function (FIPS 180-4) on the CPU's SHA
 * instructions, with the padding and streaming around it. Each block
 * function is compiled for its instructions alone (a target attribute),
 * so the rest of upkit still runs on CPUs without them; sha256_hw() asks
 * the CPU once.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define SHA256_ENGINE	"x86-sha"
#define SHA256_HW	1
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>
#define SHA256_ENGINE	"armv8-sha2"
#define SHA256_HW	1
#endif

#include "verify/sha256.h"

#ifdef SHA256_HW
/* The round constants: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. Only the instruction paths below use
 * them: elsewhere (32-bit Arm, other CPUs) blocks() is never called and
 * digest.c hashes with mbedtls. */
static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#endif

/* The initial hash value: the first 32 bits of the fractional parts of
 * the square roots of the first 8 primes. */
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#if defined(__x86_64__)

#define X86_TARGET	__attribute__((target("sha,ssse3,sse4.1")))

/*
 * Four rounds. sha256rnds2 does two rounds: it takes the state as two
 * halves, CDGH in its first operand and ABEF in its second, and returns
 * the new ABEF; the old ABEF is then the new CDGH. So the halves trade
 * places after each pair of rounds and are back in place after four.
 */
X86_TARGET static inline void
rounds4(__m128i *abef, __m128i *cdgh, __m128i w, const uint32_t *k)
{
	__m128i wk = _mm_add_epi32(w, _mm_load_si128((const __m128i *)k));

	*cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
	/* The upper two words of wk feed the next two rounds. */
	*abef = _mm_sha256rnds2_epu32(*abef, *cdgh,
	    _mm_shuffle_epi32(wk, 0x0e));
}

/*
 * The next four schedule words from the last sixteen, w0 (oldest) to w3:
 * W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. sha256msg1 adds
 * s0(W[t-15]) to W[t-16]; the W[t-7] words straddle w2 and w3; sha256msg2
 * adds s1(W[t-2]), two of whose inputs are the words it makes.
 */
X86_TARGET static inline __m128i
schedule(__m128i w0, __m128i w1, __m128i w2, __m128i w3)
{
	__m128i t = _mm_sha256msg1_epu32(w0, w1);

	t = _mm_add_epi32(t, _mm_alignr_epi8(w3, w2, 4));
	return _mm_sha256msg2_epu32(t, w3);
}

X86_TARGET static void
blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	/* Big-endian words: reverse the bytes of each 32-bit lane. */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
	    0x0405060700010203LL);
	__m128i abef, cdgh, t, abef0, cdgh0, w0, w1, w2, w3;
	int i;

	/* h[0..3] = a b c d and h[4..7] = e f g h, lowest lane first;
	 * the instructions want f e b a and h g d c. */
	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]),
	    0x1b);
	abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0);

	for (; n > 0; n--, p += 64) {
		abef0 = abef;
		cdgh0 = cdgh;
		w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p),
		    bswap);
		w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)
		    (p + 16)), bswap);
		w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)
		    (p + 32)), bswap);
		w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)
		    (p + 48)), bswap);
		/* Rounds 0-47 in threes of four-round steps, each making a
		 * schedule word four steps ahead; then the last 16 rounds. */
		for (i = 0; i < 48; i += 16) {
			rounds4(&abef, &cdgh, w0, &K[i]);
			w0 = schedule(w0, w1, w2, w3);
			rounds4(&abef, &cdgh, w1, &K[i + 4]);
			w1 = schedule(w1, w2, w3, w0);
			rounds4(&abef, &cdgh, w2, &K[i + 8]);
			w2 = schedule(w2, w3, w0, w1);
			rounds4(&abef, &cdgh, w3, &K[i + 12]);
			w3 = schedule(w3, w0, w1, w2);
		}
		rounds4(&abef, &cdgh, w0, &K[48]);
		rounds4(&abef, &cdgh, w1, &K[52]);
		rounds4(&abef, &cdgh, w2, &K[56]);
		rounds4(&abef, &cdgh, w3, &K[60]);
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}

	/* Back from f e b a and h g d c to a b c d and e f g h. */
	t = _mm_shuffle_epi32(abef, 0x1b);
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, cdgh, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, t, 8));
}

static int
detect(void)
{
	unsigned int a, b, c, d;

	/* SSSE3 (pshufb) and SSE4.1 (pblendw) from leaf 1, SHA from
	 * leaf 7. */
	if (!__get_cpuid(1, &a, &b, &c, &d) ||
	    !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & bit_SHA) != 0;
}

#elif defined(__aarch64__)

#define ARM_TARGET	__attribute__((target("+crypto")))

/* Four rounds: sha256h makes the new abcd and sha256h2 the new efgh,
 * both from the old abcd. */
ARM_TARGET static inline void
rounds4(uint32x4_t *abcd, uint32x4_t *efgh, uint32x4_t w, const uint32_t *k)
{
	uint32x4_t wk = vaddq_u32(w, vld1q_u32(k));
	uint32x4_t abcd0 = *abcd;

	*abcd = vsha256hq_u32(*abcd, *efgh, wk);
	*efgh = vsha256h2q_u32(*efgh, abcd0, wk);
}

/* The next four schedule words from the last sixteen, w0 oldest. */
ARM_TARGET static inline uint32x4_t
schedule(uint32x4_t w0, uint32x4_t w1, uint32x4_t w2, uint32x4_t w3)
{
	return vsha256su1q_u32(vsha256su0q_u32(w0, w1), w2, w3);
}

ARM_TARGET static void
blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	uint32x4_t abcd = vld1q_u32(&h[0]), efgh = vld1q_u32(&h[4]);
	uint32x4_t abcd0, efgh0, w0, w1, w2, w3;
	int i;

	for (; n > 0; n--, p += 64) {
		abcd0 = abcd;
		efgh0 = efgh;
		/* Big-endian words. */
		w0 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p)));
		w1 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16)));
		w2 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 32)));
		w3 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 48)));
		for (i = 0; i < 48; i += 16) {
			rounds4(&abcd, &efgh, w0, &K[i]);
			w0 = schedule(w0, w1, w2, w3);
			rounds4(&abcd, &efgh, w1, &K[i + 4]);
			w1 = schedule(w1, w2, w3, w0);
			rounds4(&abcd, &efgh, w2, &K[i + 8]);
			w2 = schedule(w2, w3, w0, w1);
			rounds4(&abcd, &efgh, w3, &K[i + 12]);
			w3 = schedule(w3, w0, w1, w2);
		}
		rounds4(&abcd, &efgh, w0, &K[48]);
		rounds4(&abcd, &efgh, w1, &K[52]);
		rounds4(&abcd, &efgh, w2, &K[56]);
		rounds4(&abcd, &efgh, w3, &K[60]);
		abcd = vaddq_u32(abcd, abcd0);
		efgh = vaddq_u32(efgh, efgh0);
	}
	vst1q_u32(&h[0], abcd);
	vst1q_u32(&h[4], efgh);
}

static int
detect(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
}

#else

#define SHA256_ENGINE	"none"

static void
blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

static int
detect(void)
{
	return 0;
}

#endif

/* -1 until asked; then whether the CPU path is in use. */
static int hw = -1;

int
sha256_hw(void)
{
	int v = __atomic_load_n(&hw, __ATOMIC_RELAXED);

	if (v < 0) {
		v = detect();
		__atomic_store_n(&hw, v, __ATOMIC_RELAXED);
	}
	return v;
}

void
sha256_hw_enable(int on)
{
	__atomic_store_n(&hw, on ? detect() : 0, __ATOMIC_RELAXED);
}

const char *
sha256_engine(void)
{
	return sha256_hw() ? SHA256_ENGINE : "none";
}

void
sha256_init(struct sha256 *s)
{
	memcpy(s->h, H0, sizeof(s->h));
	s->bytes = 0;
	s->fill = 0;
}

void
sha256_update(struct sha256 *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n;

	s->bytes += len;
	if (s->fill > 0) {
		n = sizeof(s->block) - s->fill;
		if (n > len)
			n = len;
		memcpy(s->block + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill < sizeof(s->block))
			return;
		blocks(s->h, s->block, 1);
		s->fill = 0;
	}
	if (len >= 64) {
		blocks(s->h, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	memcpy(s->block, p, len);
	s->fill = len;
}

void
sha256_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->bytes * 8;
	size_t i;

	/* A 1 bit, zeros up to 56 bytes into a block, then the length in
	 * bits as a big-endian 64-bit number. */
	s->block[s->fill++] = 0x80;
	if (s->fill > 56) {
		memset(s->block + s->fill, 0, sizeof(s->block) - s->fill);
		blocks(s->h, s->block, 1);
		s->fill = 0;
	}
	memset(s->block + s->fill, 0, 56 - s->fill);
	for (i = 0; i < 8; i++)
		s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	blocks(s->h, s->block, 1);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
	memset(s, 0, sizeof(*s));
}

/*
 * verify/sha256: SHA-256 on the CPU's own SHA instructions (the x86 SHA
 * extensions, the Armv8 SHA2 instructions), chosen at run time. mbedtls
 * 2.28 uses neither and hashes at a sixth of their speed, which made the
 * check of each compressed chunk the slowest step of an install. Where the
 * CPU has neither, sha256_hw() is 0 and digest.c hashes with mbedtls; the
 * result is the same either way (tests/unit/sha256_test.c).
 */
#ifndef VERIFY_SHA256_H
#define VERIFY_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t	 h[8];
	uint64_t	 bytes;		/* message length so far */
	uint8_t		 block[64];	/* a partial block */
	size_t		 fill;		/* bytes in block */
};

/* 1 when this CPU has SHA instructions that upkit uses, else 0. */
int	sha256_hw(void);
/* "x86-sha", "armv8-sha2" or "none": for logs and make bench. */
const char *sha256_engine(void);
/* For tests: 0 makes sha256_hw() report 0 from now on, 1 detects again. */
void	sha256_hw_enable(int on);

/* Only when sha256_hw() is 1. */
void	sha256_init(struct sha256 *s);
void	sha256_update(struct sha256 *s, const void *buf, size_t len);
void	sha256_final(struct sha256 *s, uint8_t out[32]);

#endif /* VERIFY_SHA256_H */

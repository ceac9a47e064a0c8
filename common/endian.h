/*
 * common/endian: the bundle's integers are big-endian on disk. Read and
 * write them byte by byte, so alignment and host order never matter.
 * The getle*() read the little-endian fields of GPT and FAT images.
 */
#ifndef COMMON_ENDIAN_H
#define COMMON_ENDIAN_H

#include <stdint.h>

static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Little-endian, for the on-disk formats of others: GPT, FAT, PE. */
static inline uint16_t
getle16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
getle32(const uint8_t *p)
{
	return (uint32_t)getle16(p) | (uint32_t)getle16(p + 2) << 16;
}

static inline uint64_t
getle64(const uint8_t *p)
{
	return (uint64_t)getle32(p) | (uint64_t)getle32(p + 4) << 32;
}

#endif /* COMMON_ENDIAN_H */

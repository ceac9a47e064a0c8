/*
 * host/compress: turns one payload source into compressed chunks. The
 * payload is cut into chunks, each compressed on its own (one zstd
 * frame) by a pool of threads with a bounded window of chunks in flight,
 * so memory depends on the chunk size and the thread count, never the
 * image. Frames are written in order; the chunk table records their
 * sizes, offsets and hashes (SHA-256 of both forms, XXH3 of the bytes).
 */
#ifndef HOST_COMPRESS_H
#define HOST_COMPRESS_H

#include <stdint.h>

struct err;
struct bundle_payload;
struct create_source;

struct create_opts {
	uint32_t	 chunk_size;	/* multiple of 4096 in chunk limits */
	int		 level;		/* zstd level 1..22 */
	int		 threads;	/* compression threads, >= 1 */
};

/* Compresses source s chunk by chunk into fd (at its current position)
 * and fills bp: sizes, chunk table with offsets from base, hashes, files.
 * bp's strings and arrays are malloc'd; free with create_payload_free().
 * On failure bp is already freed. Errors name the source. */
int	create_payload(const struct create_source *s,
	    const struct create_opts *o, int fd, uint64_t base,
	    struct bundle_payload *bp, struct err *e);
void	create_payload_free(struct bundle_payload *bp);	/* accepts NULL */

#endif /* HOST_COMPRESS_H */

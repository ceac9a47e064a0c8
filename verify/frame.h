/*
 * verify/frame: decoding of one chunk, a single zstd frame, into a buffer
 * of the size the signed manifest gives. The last step of the bundle
 * reader before a chunk's XXH3 is checked and it goes to a slot writer.
 */
#ifndef VERIFY_FRAME_H
#define VERIFY_FRAME_H

#include <stddef.h>

struct err;

/* Decodes one zstd frame (src, srclen) into exactly expect bytes of dst.
 * The window is bounded (ZSTD_d_windowLogMax); -EBADMSG if the frame is
 * corrupt or its size is not expect. One decoder per thread. */
struct frame_decoder;		/* opaque */
int	frame_decoder_open(struct frame_decoder **dp, struct err *e);
int	frame_decode(struct frame_decoder *d, const void *src, size_t srclen,
	    void *dst, size_t expect, struct err *e);
void	frame_decoder_free(struct frame_decoder *d);	/* accepts NULL */

#endif /* VERIFY_FRAME_H */

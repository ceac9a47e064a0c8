/*
 * Decoding of one chunk: a single zstd frame into a buffer of a known
 * size. The size comes from the signed manifest, so anything else about
 * the frame (a second frame, trailing bytes, a different content size)
 * is a corrupt or forged bundle.
 */
#include <errno.h>
#include <stdlib.h>

/* ZSTD_getFrameHeader: libzstd exports it, the header hides it. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "common/err.h"
#include "verify/frame.h"

/* Chunks are at most 64 MiB, so no honest frame needs a larger window;
 * the limit bounds the decoder's memory whatever the frame header says. */
#define FRAME_WINDOW_LOG_MAX	26

struct frame_decoder {
	ZSTD_DCtx	*dctx;
};

int
frame_decoder_open(struct frame_decoder **dp, struct err *e)
{
	struct frame_decoder *d;
	size_t zr;
	int r;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(e, -ENOMEM, "zstd decoder: out of memory");
	if ((d->dctx = ZSTD_createDCtx()) == NULL) {
		r = err_set(e, -ENOMEM, "zstd decoder: out of memory");
		goto fail;
	}
	zr = ZSTD_DCtx_setParameter(d->dctx, ZSTD_d_windowLogMax,
	    FRAME_WINDOW_LOG_MAX);
	if (ZSTD_isError(zr)) {
		r = err_set(e, -EINVAL, "zstd decoder: windowLogMax %d: %s",
		    FRAME_WINDOW_LOG_MAX, ZSTD_getErrorName(zr));
		goto fail;
	}
	*dp = d;
	return 0;
fail:
	frame_decoder_free(d);
	return r;
}

int
frame_decode(struct frame_decoder *d, const void *src, size_t srclen,
    void *dst, size_t expect, struct err *e)
{
	unsigned long long csize;
	ZSTD_frameHeader fh;
	size_t zr;

	zr = ZSTD_findFrameCompressedSize(src, srclen);
	if (ZSTD_isError(zr))
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: %s",
		    srclen, ZSTD_getErrorName(zr));
	if (zr != srclen)
		return err_set(e, -EBADMSG,
		    "zstd frame of %zu bytes: frame ends at %zu, "
		    "trailing bytes", srclen, zr);
	/*
	 * The one-shot decoder ignores ZSTD_d_windowLogMax (its window is
	 * dst), so enforce the bound on the header here: a frame needing a
	 * larger window is not one upkit made, and a streaming decoder of
	 * the same bundle would refuse it.
	 */
	if ((zr = ZSTD_getFrameHeader(&fh, src, srclen)) != 0)
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: bad "
		    "frame header%s%s", srclen, ZSTD_isError(zr) ? ": " : "",
		    ZSTD_isError(zr) ? ZSTD_getErrorName(zr) : "");
	if (fh.frameType != ZSTD_frame)
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: a "
		    "skippable frame", srclen);
	if (fh.windowSize > (1ull << FRAME_WINDOW_LOG_MAX))
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: window "
		    "of %llu bytes, more than %llu", srclen,
		    (unsigned long long)fh.windowSize,
		    1ull << FRAME_WINDOW_LOG_MAX);
	csize = fh.frameContentSize;
	if (csize != ZSTD_CONTENTSIZE_UNKNOWN && csize != expect)
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: "
		    "content size %llu, expected %zu", srclen, csize, expect);
	/* The capacity is expect, so a frame without a content size that
	 * decodes to more fails here instead of overrunning dst. */
	zr = ZSTD_decompressDCtx(d->dctx, dst, expect, src, srclen);
	if (ZSTD_isError(zr))
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: %s",
		    srclen, ZSTD_getErrorName(zr));
	if (zr != expect)
		return err_set(e, -EBADMSG, "zstd frame of %zu bytes: "
		    "decoded %zu bytes, expected %zu", srclen, zr, expect);
	return 0;
}

void
frame_decoder_free(struct frame_decoder *d)
{
	if (d == NULL)
		return;
	ZSTD_freeDCtx(d->dctx);
	free(d);
}

/* One zstd frame per chunk: round trips and every way a frame is wrong. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY	/* ZSTD_getFrameHeader */
#include <zstd.h>

#include "common/err.h"
#include "slots/slot.h"
#include "tests/check.h"
#include "verify/frame.h"

#define N	(256 * 1024)

static unsigned char plain[N], out[N + 64];

static size_t
compress(void *dst, size_t cap, const void *src, size_t len)
{
	size_t r = ZSTD_compress(dst, cap, src, len, 3);

	CHECK(!ZSTD_isError(r));
	return r;
}

/* Compresses plain without telling zstd its size, so that the window
 * is not shrunk to fit the content. */
static size_t
stream_compress(ZSTD_CCtx *cctx, void *dst, size_t cap)
{
	ZSTD_inBuffer in = { plain, N, 0 };
	ZSTD_outBuffer o = { dst, cap, 0 };
	size_t r;

	CHECK(!ZSTD_isError(ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only)));
	while (in.pos < in.size) {
		r = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue);
		CHECK(!ZSTD_isError(r));
	}
	in.size = in.pos = 0;
	do {
		r = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
		CHECK(!ZSTD_isError(r));
	} while (r != 0);
	return o.pos;
}

/* Checks frame_decode fails with -EBADMSG and says what. */
static void
bad(struct frame_decoder *d, const void *src, size_t srclen, size_t expect,
    const char *inmsg)
{
	struct err e;

	err_clear(&e);
	if (frame_decode(d, src, srclen, out, expect, &e) != -EBADMSG) {
		fprintf(stderr, "accepted, expecting \"%s\"\n", inmsg);
		exit(1);
	}
	CHECK(e.code == -EBADMSG);
	if (strstr(e.msg, inmsg) == NULL) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e.msg, inmsg);
		exit(1);
	}
}

int
main(void)
{
	struct frame_decoder *d;
	struct err e;
	unsigned char *z, *zz;
	size_t cap, zlen, i;
	ZSTD_CCtx *cctx;

	/* Compressible but not trivial. */
	srand(1);
	for (i = 0; i < N; i++)
		plain[i] = (unsigned char)(i % 251 < 100 ? (size_t)rand() : i);
	cap = ZSTD_compressBound(N);
	CHECK((z = malloc(2 * cap)) != NULL);
	CHECK((zz = malloc(2 * cap)) != NULL);
	CHECK_OK(frame_decoder_open(&d, &e), &e);

	zlen = compress(z, cap, plain, N);
	memset(out, 0, sizeof(out));
	CHECK_OK(frame_decode(d, z, zlen, out, N, &e), &e);
	CHECK(memcmp(out, plain, N) == 0);
	/* The decoder is reusable, also after an error. */
	bad(d, z, zlen, N - 1, "expected");
	CHECK_OK(frame_decode(d, z, zlen, out, N, &e), &e);
	CHECK(memcmp(out, plain, N) == 0);

	/* Wrong sizes, from the header. */
	bad(d, z, zlen, N - 1, "content size 262144, expected 262143");
	bad(d, z, zlen, N + 1, "expected 262145");

	/* Two frames concatenated, and any trailing byte. */
	memcpy(zz, z, zlen);
	memcpy(zz + zlen, z, zlen);
	bad(d, zz, 2 * zlen, N, "trailing");
	zz[zlen] = 0;
	bad(d, zz, zlen + 1, N, "trailing");

	/* Truncated: anywhere in the frame, header included. */
	bad(d, z, zlen - 1, N, "zstd frame");
	bad(d, z, zlen / 2, N, "zstd frame");
	bad(d, z, 3, N, "zstd frame");
	bad(d, z, 0, N, "zstd frame");

	/* Garbage, and a frame with a flipped byte in its blocks. */
	memset(zz, 0x5a, 1000);
	bad(d, zz, 1000, N, "Unknown frame descriptor");
	memcpy(zz, z, zlen);
	zz[zlen / 2] ^= 0xff;
	{
		int r = frame_decode(d, zz, zlen, out, N, &e);

		/* A flip may still decode (no checksum asked for), but then
		 * not to the same bytes. */
		CHECK(r == -EBADMSG || memcmp(out, plain, N) != 0);
	}

	/* No content size in the header: the size is checked after
	 * decoding, and a larger frame cannot overrun dst. */
	CHECK((cctx = ZSTD_createCCtx()) != NULL);
	CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx,
	    ZSTD_c_contentSizeFlag, 0)));
	zlen = ZSTD_compress2(cctx, z, cap, plain, N);
	CHECK(!ZSTD_isError(zlen));
	CHECK(ZSTD_getFrameContentSize(z, zlen) == ZSTD_CONTENTSIZE_UNKNOWN);
	CHECK_OK(frame_decode(d, z, zlen, out, N, &e), &e);
	CHECK(memcmp(out, plain, N) == 0);
	bad(d, z, zlen, N - 4096, "Destination buffer is too small");
	bad(d, z, zlen, N + 1, "decoded 262144 bytes, expected 262145");

	/* A frame that asks for a 128 MiB window is refused, whatever its
	 * content: that is the memory bound. */
	CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog,
	    27)));
	zlen = stream_compress(cctx, z, cap);
	{
		ZSTD_frameHeader fh;

		/* Make sure the frame really declares the big window. */
		CHECK(ZSTD_getFrameHeader(&fh, z, zlen) == 0);
		CHECK(fh.windowSize == (1ull << 27));
	}
	bad(d, z, zlen, N, "window");

	/* A skippable frame holds no data, even for an empty chunk. */
	memcpy(zz, "\x50\x2a\x4d\x18\x04\0\0\0abcd", 12);
	bad(d, zz, 12, 0, "skippable");

	/* An empty chunk is a valid frame too. */
	zlen = compress(z, cap, plain, 0);
	CHECK_OK(frame_decode(d, z, zlen, out, 0, &e), &e);

	ZSTD_freeCCtx(cctx);
	frame_decoder_free(d);
	frame_decoder_free(NULL);
	free(z);
	free(zz);
	return 0;
}

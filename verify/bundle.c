/*
 * verify/bundle: the fixed 64-byte bundle header and the hex helper.
 * The header is signed together with the manifest, so every field it
 * carries is authenticated; parsing still bounds each one because it runs
 * before the signature has been checked.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/endian.h"
#include "common/err.h"
#include "verify/bundle.h"

int
bundle_header_parse(const uint8_t *buf, struct bundle_header *h,
    struct err *e)
{
	uint32_t format, hsize;
	uint64_t mlen;
	size_t i;

	memset(h, 0, sizeof(*h));
	if (memcmp(buf, BUNDLE_MAGIC, 8) != 0)
		return err_set(e, -EBADMSG, "bundle header: bad magic");
	format = get32(buf + 8);
	if (format != BUNDLE_FORMAT)
		return err_set(e, -EBADMSG, "bundle header: format %u not "
		    "supported (this upkit reads %u)", format, BUNDLE_FORMAT);
	hsize = get32(buf + 12);
	if (hsize != BUNDLE_HEADER_SIZE)
		return err_set(e, -EBADMSG, "bundle header: header size %u "
		    "(expected %u)", hsize, BUNDLE_HEADER_SIZE);
	mlen = get64(buf + 16);
	if (mlen < 2 || mlen > BUNDLE_MANIFEST_MAX)
		return err_set(e, -EBADMSG, "bundle header: manifest_len "
		    "%llu out of range 2..%u", (unsigned long long)mlen,
		    BUNDLE_MANIFEST_MAX);
	/* Zero reserved bytes now mean a later format can give them meaning
	 * without old readers silently misreading them. */
	for (i = 32; i < BUNDLE_HEADER_SIZE; i++)
		if (buf[i] != 0)
			return err_set(e, -EBADMSG, "bundle header: reserved "
			    "byte %zu is not zero", i);
	h->format = format;
	h->manifest_len = mlen;
	h->payload_len = get64(buf + 24);
	return 0;
}

void
bundle_header_encode(const struct bundle_header *h,
    uint8_t buf[BUNDLE_HEADER_SIZE])
{
	memset(buf, 0, BUNDLE_HEADER_SIZE);
	memcpy(buf, BUNDLE_MAGIC, 8);
	put32(buf + 8, h->format);
	put32(buf + 12, BUNDLE_HEADER_SIZE);
	put64(buf + 16, h->manifest_len);
	put64(buf + 24, h->payload_len);
}

void
bundle_hex(const uint8_t *bin, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * len] = '\0';
}

/* bundle_test: the fixed header, byte for byte. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "tests/check.h"
#include "verify/bundle.h"

/* The layout from docs/bundle-format.md, written out by hand. */
static const uint8_t golden[BUNDLE_HEADER_SIZE] = {
	0x89, 'U', 'P', 'K', '\r', '\n', 0x1a, '\n',
	0, 0, 0, 1, 0, 0, 0, 64,
	0, 0, 0, 0, 0, 0, 0x12, 0x34,
	0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
};

static int
parse_mod(size_t off, uint8_t val, struct err *e)
{
	struct bundle_header h;
	uint8_t buf[BUNDLE_HEADER_SIZE];

	memcpy(buf, golden, sizeof(buf));
	buf[off] = val;
	return bundle_header_parse(buf, &h, e);
}

int
main(void)
{
	struct bundle_header h, h2;
	uint8_t buf[BUNDLE_HEADER_SIZE];
	struct err e;
	char hex[9];
	size_t i;

	CHECK_OK(bundle_header_parse(golden, &h, &e), &e);
	CHECK(h.format == 1);
	CHECK(h.manifest_len == 0x1234);
	CHECK(h.payload_len == 0x010203040506ull);
	bundle_header_encode(&h, buf);
	CHECK(memcmp(buf, golden, sizeof(buf)) == 0);

	h.manifest_len = BUNDLE_MANIFEST_MAX;
	h.payload_len = UINT64_MAX;
	bundle_header_encode(&h, buf);
	CHECK_OK(bundle_header_parse(buf, &h2, &e), &e);
	CHECK(h2.manifest_len == BUNDLE_MANIFEST_MAX);
	CHECK(h2.payload_len == UINT64_MAX);

	CHECK(parse_mod(0, 0x88, &e) == -EBADMSG);
	CHECK(strcmp(e.msg, "bundle header: bad magic") == 0);
	CHECK(parse_mod(7, 0, &e) == -EBADMSG);
	CHECK(parse_mod(11, 7, &e) == -EBADMSG);
	CHECK(strcmp(e.msg, "bundle header: format 7 not supported (this "
	    "upkit reads 1)") == 0);
	CHECK(parse_mod(8, 1, &e) == -EBADMSG);
	CHECK(parse_mod(15, 63, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "header size") != NULL);
	for (i = 32; i < BUNDLE_HEADER_SIZE; i++) {
		CHECK(parse_mod(i, 1, &e) == -EBADMSG);
		CHECK(strstr(e.msg, "reserved") != NULL);
	}

	/* manifest_len bounds: 2..BUNDLE_MANIFEST_MAX. */
	h.manifest_len = BUNDLE_MANIFEST_MAX + 1ull;
	bundle_header_encode(&h, buf);
	CHECK(bundle_header_parse(buf, &h2, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "manifest_len") != NULL);
	h.manifest_len = 1ull << 40;
	bundle_header_encode(&h, buf);
	CHECK(bundle_header_parse(buf, &h2, &e) == -EBADMSG);
	h.manifest_len = 1;
	bundle_header_encode(&h, buf);
	CHECK(bundle_header_parse(buf, &h2, &e) == -EBADMSG);
	h.manifest_len = 2;
	bundle_header_encode(&h, buf);
	CHECK_OK(bundle_header_parse(buf, &h2, &e), &e);

	bundle_hex((const uint8_t *)"\x00\x9f\xa0\xff", 4, hex);
	CHECK(strcmp(hex, "009fa0ff") == 0);
	return 0;
}

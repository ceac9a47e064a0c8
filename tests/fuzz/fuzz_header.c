/* fuzz_header: the fixed header parser; a parsed header re-encodes to
 * the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "verify/bundle.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_header h;
	uint8_t buf[BUNDLE_HEADER_SIZE], out[BUNDLE_HEADER_SIZE];
	struct err e;

	if (size < BUNDLE_HEADER_SIZE)
		return 0;
	memcpy(buf, data, sizeof(buf));
	if (bundle_header_parse(buf, &h, &e) == 0) {
		bundle_header_encode(&h, out);
		if (memcmp(buf, out, sizeof(buf)) != 0)
			abort();
	}
	return 0;
}

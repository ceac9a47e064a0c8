/* fuzz_sigblock: the signature block parser; whatever parses must stay
 * inside the input and re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "verify/bundle.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigblock s;
	struct err e;
	uint8_t *out;
	size_t len, i;

	if (size >= BUNDLE_SIGBLOCK_HEAD)
		(void)sigblock_length(data, &len, &e);
	if (sigblock_parse(data, size, &s, &e) != 0)
		return 0;
	if (s.sig < data || s.sig + s.siglen > data + size)
		abort();
	for (i = 0; i < s.ncerts; i++)
		if (s.cert[i] < data || s.cert[i] + s.certlen[i] > data + size)
			abort();
	if (sigblock_encode(&s, &out, &len, &e) != 0)
		abort();
	if (len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	return 0;
}

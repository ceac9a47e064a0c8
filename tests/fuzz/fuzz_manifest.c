/* fuzz_manifest: the JSON manifest parser; a parsed manifest must
 * survive encode and parse again with the same encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "verify/bundle.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m, *m2;
	struct err e;
	char *a, *b;
	size_t alen, blen;

	if (manifest_parse(data, size, &m, &e) != 0)
		return 0;
	if (manifest_encode(m, &a, &alen, &e) != 0)
		abort();
	if (manifest_parse(a, alen, &m2, &e) != 0)
		abort();
	if (manifest_encode(m2, &b, &blen, &e) != 0)
		abort();
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();
	free(a);
	free(b);
	manifest_free(m2);
	manifest_free(m);
	return 0;
}

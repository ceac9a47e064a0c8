/* fuzz_channel: the channel file, framing and body. The input is taken
 * whole as a channel file (parsed without a keyring, as channel info
 * does) and as a body alone; a parsed body must survive encode and parse
 * again with the same encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "verify/channel.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct channel *c, *c2;
	char id[65], signer[256], *a, *b;
	struct err e;
	size_t alen, blen;

	if (channel_open(data, size, NULL, &c, id, signer, sizeof(signer),
	    &e) == 0)
		channel_free(c);
	if (channel_parse(data, size, &c, &e) != 0)
		return 0;
	if (channel_encode(c, &a, &alen, &e) != 0)
		abort();
	if (channel_parse(a, alen, &c2, &e) != 0)
		abort();
	if (channel_encode(c2, &b, &blen, &e) != 0)
		abort();
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();
	free(a);
	free(b);
	channel_free(c2);
	channel_free(c);
	return 0;
}

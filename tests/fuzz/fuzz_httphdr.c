/* fuzz_httphdr: the HTTP pieces the source reads from the network (status
 * line, header value, Content-Range, an error page's title). A parsed
 * Content-Range keeps first <= last < total and prints back to a string
 * that parses to the same numbers. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/httphdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
range(const char *s)
{
	uint64_t f, l, t, f2, l2, t2;
	char again[96];

	if (httphdr_content_range(s, &f, &l, &t) != 0)
		return;
	if (f > l || l >= t)
		abort();
	if (t == HTTPHDR_TOTAL_UNKNOWN)
		snprintf(again, sizeof(again), "bytes %" PRIu64 "-%" PRIu64
		    "/*", f, l);
	else
		snprintf(again, sizeof(again), "bytes %" PRIu64 "-%" PRIu64
		    "/%" PRIu64, f, l, t);
	if (httphdr_content_range(again, &f2, &l2, &t2) != 0 || f != f2 ||
	    l != l2 || t != t2)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char reason[64], val[64], title[64], *s;
	int code;

	if (httphdr_status(p, size, &code, reason, sizeof(reason)) == 0 &&
	    (code < 100 || code > 999 || strlen(reason) >= sizeof(reason)))
		abort();
	if (httphdr_value(p, size, "ETag", val, sizeof(val)) == 1 &&
	    strlen(val) >= sizeof(val))
		abort();
	if (httphdr_title(p, size, 400, title, sizeof(title)) == 0 &&
	    (title[0] == '\0' || strlen(title) >= sizeof(title)))
		abort();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	range(s);
	free(s);
	return 0;
}

/* fuzz_reporturl: the [server] report-url template, as the config hands
 * it over. A template the check accepts must expand, to an URL that
 * keeps the template's scheme and holds only what a URL may carry; the
 * values (from a report's device field) are fuzzed too. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/reporturl.h"
#include "common/err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_vars v = { NULL, "20261207T140116Z", "7", "committed" };
	struct err e = { 0, "" };
	char *tmpl, *dev, url[REPORTURL_MAX];
	size_t cut = size / 2, i;
	int r;

	/* First half the template, second half the device id. */
	if ((tmpl = strndup((const char *)data, cut)) == NULL ||
	    (dev = strndup((const char *)data + cut, size - cut)) == NULL) {
		free(tmpl);
		return 0;
	}
	v.device = dev;
	r = report_url_check(tmpl, &e);
	if (r == 0) {
		r = report_url_expand(tmpl, &v, url, sizeof(url), &e);
		if (r != 0 && r != -ENAMETOOLONG)
			abort();
		if (r == 0 && strncasecmp(url, tmpl, 7) != 0)
			abort();
		/* Values are percent-encoded: no byte of a device id can
		 * add a control character or a space. */
		for (i = 0; r == 0 && url[i] != '\0'; i++)
			if ((unsigned char)url[i] <= ' ' &&
			    strchr(tmpl, url[i]) == NULL)
				abort();
	} else if (r != -EINVAL)
		abort();
	free(tmpl);
	free(dev);
	return 0;
}

/*
 * agent/reporturl: [server] report-url expansion (reporturl.h). One
 * function walks the template for both the check and the expansion, so
 * that what the config accepts is exactly what a send can expand.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "agent/reporturl.h"
#include "common/err.h"

static const char *const names[] = { "device", "time", "seq", "result" };

static const char *
value(const struct report_vars *v, size_t i)
{
	const char *const vals[] = { v->device, v->time, v->seq, v->result };

	return vals[i] != NULL ? vals[i] : "";
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Appends len bytes of s, percent-encoded if enc, at *np; counts the
 * bytes needed even when out is too small. */
static void
put(char *out, size_t size, size_t *np, const char *s, size_t len, int enc)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (!enc || unreserved(c)) {
			if (*np + 1 < size)
				out[*np] = (char)c;
			(*np)++;
			continue;
		}
		if (*np + 3 < size) {
			out[*np] = '%';
			out[*np + 1] = hex[c >> 4];
			out[*np + 2] = hex[c & 15];
		}
		*np += 3;
	}
}

/* The walk: v NULL only checks. */
static int
walk(const char *tmpl, const struct report_vars *v, char *out, size_t size,
    struct err *e)
{
	const char *p = tmpl, *end;
	size_t i, n = 0, len;

	if (strncasecmp(tmpl, "http://", 7) != 0 &&
	    strncasecmp(tmpl, "https://", 8) != 0)
		return err_set(e, -EINVAL, "\"%s\" is not an http:// or "
		    "https:// URL", tmpl);
	while (*p != '\0') {
		if (*p == '}')
			return err_set(e, -EINVAL, "'}' at byte %td closes "
			    "nothing", p - tmpl + 1);
		if (*p != '{') {
			len = strcspn(p, "{}");
			put(out, size, &n, p, len, 0);
			p += len;
			continue;
		}
		if ((end = strchr(p, '}')) == NULL)
			return err_set(e, -EINVAL, "'{' at byte %td is not "
			    "closed", p - tmpl + 1);
		len = (size_t)(end - p - 1);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == len &&
			    strncmp(p + 1, names[i], len) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return err_set(e, -EINVAL, "unknown {%.*s} (known: "
			    "{device}, {time}, {seq}, {result})",
			    (int)(len > 32 ? 32 : len), p + 1);
		if (v != NULL)
			put(out, size, &n, value(v, i), strlen(value(v, i)), 1);
		p = end + 1;
	}
	if (v == NULL)
		return 0;
	if (n >= size)
		return err_set(e, -ENAMETOOLONG, "report URL longer than %zu "
		    "bytes", size - 1);
	out[n] = '\0';
	return 0;
}

int
report_url_check(const char *tmpl, struct err *e)
{
	return walk(tmpl, NULL, NULL, 0, e);
}

int
report_url_expand(const char *tmpl, const struct report_vars *v, char *out,
    size_t size, struct err *e)
{
	return walk(tmpl, v, out, size, e);
}

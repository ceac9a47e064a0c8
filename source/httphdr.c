/*
 * source/httphdr: status line, header values, Content-Range and backoff.
 * Every input is a byte range from the network, never NUL-terminated.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "source/httphdr.h"

static size_t
trim_end(const char *p, size_t len)
{
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return len;
}

/* Parses decimal digits at *p (at most end), no sign, no overflow. */
static int
number(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (s == end || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (*v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return 0;
}

int
httphdr_status(const char *line, size_t len, int *code, char *reason,
    size_t reasonsz)
{
	const char *p, *end;
	uint64_t v;
	size_t n;

	len = trim_end(line, len);
	end = line + len;
	if (len < 5 || memcmp(line, "HTTP/", 5) != 0)
		return -EINVAL;
	if ((p = memchr(line, ' ', len)) == NULL)
		return -EINVAL;
	p++;
	if (number(&p, end, &v) < 0 || v < 100 || v > 999 ||
	    (p != end && *p != ' '))
		return -EINVAL;
	*code = (int)v;
	if (p != end)
		p++;
	n = (size_t)(end - p);
	if (n >= reasonsz)
		n = reasonsz - 1;
	memcpy(reason, p, n);
	reason[n] = '\0';
	return 0;
}

int
httphdr_value(const char *line, size_t len, const char *name, char *val,
    size_t valsz)
{
	size_t nl = strlen(name);
	const char *p, *end;
	size_t n;

	len = trim_end(line, len);
	end = line + len;
	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	for (p = line + nl + 1; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	n = (size_t)(end - p);
	if (n >= valsz)
		return -E2BIG;
	memcpy(val, p, n);
	val[n] = '\0';
	return 1;
}

int
httphdr_title(const char *body, size_t len, int code, char *out,
    size_t outsz)
{
	const char *p, *end;
	char num[8];
	size_t n, i;

	if ((p = memmem(body, len, "<title>", 7)) == NULL)
		return -ENOENT;
	p += 7;
	if ((end = memmem(p, len - (size_t)(p - body), "</title>", 8)) ==
	    NULL)
		return -ENOENT;
	n = (size_t)snprintf(num, sizeof(num), "%d ", code);
	if ((size_t)(end - p) > n && memcmp(p, num, n) == 0)
		p += n;
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	if (p == end || outsz == 0)
		return -ENOENT;
	n = (size_t)(end - p) < outsz - 1 ? (size_t)(end - p) : outsz - 1;
	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	out[n] = '\0';
	return 0;
}

int
httphdr_content_range(const char *v, uint64_t *first, uint64_t *last,
    uint64_t *total)
{
	const char *p = v, *end = v + strlen(v);

	if (strncasecmp(p, "bytes ", 6) != 0)
		return -EINVAL;
	for (p += 6; *p == ' '; p++)
		;
	if (number(&p, end, first) < 0 || *p++ != '-' ||
	    number(&p, end, last) < 0 || *p++ != '/')
		return -EINVAL;
	if (strcmp(p, "*") == 0) {
		*total = HTTPHDR_TOTAL_UNKNOWN;
		p++;
	} else if (number(&p, end, total) < 0 ||
	    *total == HTTPHDR_TOTAL_UNKNOWN)
		return -EINVAL;
	if (p != end || *first > *last || *last >= *total)
		return -EINVAL;
	return 0;
}

unsigned
httphdr_backoff_ms(unsigned base, unsigned cap, unsigned tryno,
    uint64_t *rng)
{
	uint64_t d = base, x;

	while (tryno-- > 1 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	/* xorshift64: enough to spread a fleet, not a secret. */
	x = *rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	return (unsigned)(d - d / 2 + x % (d / 2 + 1));
}

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char old[sizeof(e->msg)];
	size_t n;
	va_list ap;

	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	/* Keep the old message's tail if the chain grows past the buffer. */
	if (n + 2 < sizeof(e->msg)) {
		memcpy(e->msg + n, ": ", 3);
		n += 2;
		memcpy(e->msg + n, old, strnlen(old, sizeof(e->msg) - n - 1));
		e->msg[n + strnlen(old, sizeof(e->msg) - n - 1)] = '\0';
	}
	return e->code;
}

void
err_clear(struct err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}

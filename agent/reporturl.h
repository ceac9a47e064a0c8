/*
 * agent/reporturl: the [server] report-url template. A template is an
 * http:// or https:// URL in which {device}, {time}, {seq} and {result}
 * stand for the report's values; each value is percent-encoded (every
 * byte but A-Z a-z 0-9 - . _ ~), so a device id cannot add a path
 * segment or a query. Any other {name}, or a brace that opens no name,
 * is refused when the config is loaded.
 */
#ifndef AGENT_REPORTURL_H
#define AGENT_REPORTURL_H

#include <stddef.h>

struct err;

#define REPORTURL_MAX	2048		/* an expanded URL, NUL included */

struct report_vars {
	const char	*device;
	const char	*time;		/* UTC, YYYYMMDDTHHMMSSZ */
	const char	*seq;
	const char	*result;
};

/* 0 if tmpl is a template the expansion accepts; else -EINVAL with what
 * is wrong ("unknown {name}", ...). */
int	report_url_check(const char *tmpl, struct err *e);
/* Expands tmpl into out (size bytes). -EINVAL as report_url_check(),
 * -ENAMETOOLONG if it does not fit. */
int	report_url_expand(const char *tmpl, const struct report_vars *v,
	    char *out, size_t size, struct err *e);

#endif /* AGENT_REPORTURL_H */

/*
 * source/httphdr: the few pieces of HTTP the source reads itself, as
 * pure functions: a status line, one named header, a Content-Range, and
 * the backoff between tries. No I/O, so the unit tests and a fuzzer can
 * reach them.
 */
#ifndef SOURCE_HTTPHDR_H
#define SOURCE_HTTPHDR_H

#include <stddef.h>
#include <stdint.h>

#define HTTPHDR_TOTAL_UNKNOWN	UINT64_MAX	/* "bytes 0-9/ *" */

/* "HTTP/1.1 404 Not Found\r\n": *code 404, reason "Not Found" (empty
 * for HTTP/2, which has none). Returns 0, or -EINVAL if line is not a
 * status line. reason is cut to reasonsz - 1 bytes. */
int	httphdr_status(const char *line, size_t len, int *code,
	    char *reason, size_t reasonsz);

/* If line is the header name (any case), copies its value without the
 * surrounding blanks and CRLF into val and returns 1; 0 if it is another
 * header; -E2BIG if the value does not fit valsz - 1 bytes. */
int	httphdr_value(const char *line, size_t len, const char *name,
	    char *val, size_t valsz);

/* The text of an HTML error page's <title> in body (its first len
 * bytes), without a leading "CODE ". Returns 0, or -ENOENT if there is
 * none. Bytes outside printable ASCII become '?'. */
int	httphdr_title(const char *body, size_t len, int code, char *out,
	    size_t outsz);

/* "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"). Returns 0 with first <=
 * last < total, or -EINVAL. */
int	httphdr_content_range(const char *v, uint64_t *first, uint64_t *last,
	    uint64_t *total);

/* The wait before try number tryno (1 for the first retry): base ms
 * doubled per try up to cap, then a random point in its upper half, so
 * a fleet cut at once does not come back at once. rng is the caller's
 * xorshift state (nonzero). */
unsigned	httphdr_backoff_ms(unsigned base, unsigned cap, unsigned tryno,
		    uint64_t *rng);

#endif /* SOURCE_HTTPHDR_H */

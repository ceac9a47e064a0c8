/*
 * source: the bytes of a bundle, from a file, a pipe (or standard input)
 * or an HTTP(S) URL, behind one interface. Reads are sequential and fill
 * the caller's buffer; source_skip_to() continues from a later offset
 * (a file seeks, a pipe reads and discards, HTTP sends a Range request).
 *
 * The HTTP source hides cuts: a reset, a cut connection, a stall or a
 * 5xx answer is retried with a Range request from the first byte not yet
 * returned, after an exponential backoff with jitter, up to the retry
 * limit. Every resumed answer is checked before any of its bytes is
 * returned: 206, a Content-Range that starts at the requested offset and
 * has the first answer's total, and the first answer's ETag (or, without
 * one, Last-Modified). Memory is O(1) in the bundle size: there is no
 * copy of the bundle, only one curl write buffer (16 KiB) in flight.
 *
 * libcurl is loaded with dlopen() on the first URL, so commands that
 * never open one do not pay for it. No trust decision is made here: the
 * bytes are the reader's to verify.
 */
#ifndef SOURCE_SOURCE_H
#define SOURCE_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct source;				/* opaque */

enum source_event {
	SOURCE_CUT,		/* the transfer broke at off; detail: why */
	SOURCE_RETRY,		/* a new request for off; detail: "try N
				   after M ms" */
	SOURCE_RESUME,		/* the new answer was checked: bytes flow
				   again from off */
};

/* What the HTTP source may use; files and pipes ignore it. Plain data,
 * all optional: a zeroed struct (or NULL) means system CAs, no pin, no
 * client certificate and the defaults below. Strings are not copied:
 * they must outlive the source. */
struct source_options {
	const char	*ca;		/* CA file; NULL: the system CAs */
	const char	*pin;		/* CURLOPT_PINNEDPUBLICKEY:
					   "sha256//BASE64[;sha256//...]" */
	const char	*cert;		/* client certificate (mutual TLS) */
	const char	*key;		/* its key; NULL: in cert */
	unsigned	 stall_timeout;	/* s without a byte (or below
					   SOURCE_STALL_RATE): a cut; 0: 30 */
	unsigned	 connect_timeout; /* s; 0: 30 */
	unsigned	 retries;	/* tries in a row without a byte of
					   progress before giving up; 0: no
					   limit */
	unsigned	 backoff_ms;	/* first wait between tries; 0: 1000 */
	unsigned	 backoff_max_ms; /* cap of the doubling; 0: 60000 */
	/* Called on a cut, before a retry and on a resume, from the thread
	 * that calls source_read() or source_skip_to(). May be NULL. */
	void		(*event)(void *arg, enum source_event ev,
			    uint64_t off, const char *detail);
	void		*event_arg;
};

#define SOURCE_STALL_RATE	64	/* bytes/s: slower for stall_timeout
					   s is a stall */
#define SOURCE_SKIP_READ	(1024 * 1024)	/* HTTP: a smaller gap is
					   read through, a larger one is
					   a new Range request */

/* Opens from: "-" is standard input, "http://" and "https://" URLs, any
 * other string a path, which must be a regular file, a FIFO, a socket or
 * a character device (-EISDIR "NAME: is a directory", -EINVAL
 * otherwise). A URL loads libcurl (-ENOPKG "URL: libcurl.so.4 not
 * found (apt install libcurl4)") and sets up the transfer; the first
 * request goes out on the first read. Returns 0 or -errno; free *sp
 * with source_close(). o may be NULL. */
int	source_open(const char *from, const struct source_options *o,
	    struct source **sp, struct err *e);

/* One HTTP(S) PUT of len bytes of buf to url, with o's TLS options and
 * connect timeout (o may be NULL); loads libcurl as source_open() does.
 * 0 for a 2xx answer; any other answer is -EIO ("PUT URL: answered
 * 507"; -EACCES for 401 and 403, -ENOENT for 404), a failure to connect
 * -ECONNREFUSED, a stall -ETIMEDOUT. Redirects are not followed. */
int	source_put(const char *url, const void *buf, size_t len,
	    const struct source_options *o, struct err *e);

/* Reads len bytes into buf; fewer only at the end of the bundle (0 at
 * the end). Returns the count or -errno; -ECANCELED as soon as cancelfd
 * (if >= 0) is readable, also while waiting on a stalled network or an
 * idle pipe. After an error only source_close() is defined. */
ssize_t	source_read(struct source *s, void *buf, size_t len, int cancelfd,
	    struct err *e);

/* Continues from off, which must be >= source_offset() (-EINVAL if
 * not); past the end, reads return 0 (-EPIPE when the source must read
 * up to off to find its end: a pipe, a URL of unknown length). cancelfd
 * as for source_read(): discarding a pipe's bytes can take as long as
 * reading them. Returns 0 or -errno. */
int	source_skip_to(struct source *s, uint64_t off, int cancelfd,
	    struct err *e);

/* The offset of the next byte source_read() returns. */
uint64_t	source_offset(const struct source *s);
/* The total size in bytes, or 0 while unknown (a pipe; a URL before its
 * first answer or one without a length). */
uint64_t	source_size(const struct source *s);
/* Bytes taken from the file, pipe or network so far, the bytes a skip
 * reads through included (a seek or a Range request takes none). Of
 * them, source_refetched() counts those at offsets below the mark
 * source_set_seen() set: what an earlier run had fetched already. */
uint64_t	source_fetched(const struct source *s);
uint64_t	source_refetched(const struct source *s);
void		source_set_seen(struct source *s, uint64_t off);
/* The path or URL ("standard input" for "-"), for messages. */
const char	*source_name(const struct source *s);
/* "cut", "retry" or "resume". */
const char	*source_event_name(enum source_event ev);
/* Closes the file, or ends the transfer. Accepts NULL. */
void	source_close(struct source *s);

/* A small resource fetched whole (source_fetch()). */
struct source_fetched {
	int		 status;	/* 200 or 304 */
	unsigned char	*body;		/* 200: malloc'd; NULL for 304 */
	size_t		 len;
	char		 etag[256];	/* the answer's ETag; "" if none */
};

/* One GET of url (http:// or https://, with o's TLS options and
 * timeouts) sending If-None-Match: etag unless etag is NULL or "". A 200
 * with at most max bytes of body, or a 304, returns 0; a larger body
 * -EFBIG, another status -EIO ("GET URL: 404 Not Found"; -EAGAIN for a
 * 5xx), a connection, TLS or timeout failure -errno. No retries. Free
 * with source_fetched_free(). Loads libcurl. */
int	source_fetch(const char *url, const struct source_options *o,
	    const char *etag, size_t max, struct source_fetched *f,
	    struct err *e);
void	source_fetched_free(struct source_fetched *f);	/* keeps status */

#endif /* SOURCE_SOURCE_H */

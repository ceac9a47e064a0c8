/*
 * source/http.h: the HTTP source's state, shared by http.c (the
 * transfer: requests, cuts, stalls, the caller's buffer) and answer.c
 * (vetting each answer's status and headers). Private to source/.
 */
#ifndef SOURCE_HTTP_H
#define SOURCE_HTTP_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "source/impl.h"
#include "source/libcurl.h"
#include "source/source.h"

struct answer {
	int	status;			/* 0: no status line yet */
	char	reason[64];
	char	range[128];		/* Content-Range; "" if none */
	char	etag[256];
	char	lastmod[64];
	int	toolong;		/* a kept header did not fit */
	int	ended;			/* the empty line after the headers
					   came: the answer is whole */
};

struct http_source {
	struct source		 s;
	struct source_options	 o;	/* defaults filled in */
	const struct libcurl	*c;
	CURLM			*multi;
	CURL			*easy;
	int			 active; /* easy is in multi */
	int			 paused; /* write_cb paused it: buffer full */
	int			 checked; /* this answer passed check_answer */
	int			 started; /* a first answer was checked */
	int			 resuming; /* after a cut: report the resume */
	int			 eof;
	int			 cbfail; /* write_cb stopped: -1 error, 1 cut */
	struct err		 cberr;	/* the error, when -1 */
	struct answer		 ans;
	char			 etag[256]; /* of the first answer */
	char			 lastmod[64];
	uint64_t		 pos;	/* next byte from the network */
	unsigned char		*dst;	/* the caller's buffer, in a read */
	size_t			 dstlen, dstfill;
	unsigned char		*spill;	/* bytes [spillon, spilllen) */
	size_t			 spillcap, spillon, spilllen;
	unsigned		 tries;	/* failed tries since the last byte */
	uint64_t		 rng;
	struct timespec		 last_byte; /* stall clocks */
	struct timespec		 window;
	uint64_t		 window_bytes;
	char			 range[32];
	char			 cause[CURL_ERROR_SIZE + 64]; /* last cut */
	int			 cause_r; /* its errno if we give up */
	char			 errbuf[CURL_ERROR_SIZE];
};

/* http.c: reports ev at pos to the options' callback. */
void	http_event(struct http_source *h, enum source_event ev,
	    const char *detail);

/* The options every request shares: url, timeouts, redirects, the TLS
 * options of o ([server] ca, pin, cert, key), errbuf
 * (CURL_ERROR_SIZE). Returns 0 or -errno naming url. */
int	http_setopts(const struct libcurl *lc, CURL *c, const char *url,
	    const struct source_options *o, char *errbuf, struct err *e);
/* Fills the zeros of o with the defaults source.h documents. */
void	http_defaults(struct source_options *o);

/* answer.c */
/* An answer that ends the transfer for good: "GET URL: ..." into
 * h->cberr. Returns r. */
int	http_fatal(struct http_source *h, int r, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A failure worth another try: "WHAT at byte POS" into h->cause, r for
 * the message if the tries run out. Returns 1. */
int	http_retry_later(struct http_source *h, int r, const char *what);
/* Vets the answer before any of its bytes is taken: 0 to take them, 1
 * for a cut (cause set), -errno for an error (cberr set). body (len
 * bytes, may be NULL) is its first bytes: an error page's title goes
 * into the message. */
int	http_check_answer(struct http_source *h, const char *body,
	    size_t len);
/* CURLOPT_HEADERFUNCTION: keeps the last answer's status and headers. */
size_t	http_header_cb(char *b, size_t size, size_t n, void *arg);

#endif /* SOURCE_HTTP_H */

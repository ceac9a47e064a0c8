/*
 * source/fetch: one GET of a small resource, the channel file, with
 * If-None-Match, so that a poll that finds nothing new costs one request
 * and no body (a 304). Shares libcurl and every option, TLS included,
 * with the bundle source (http_setopts()); unlike it, it does not retry:
 * the daemon's backoff decides when to ask again, and a poll is cheap to
 * repeat whole. The body is held in memory, capped by the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "source/http.h"
#include "source/httphdr.h"
#include "source/libcurl.h"
#include "source/source.h"

struct fetch {
	struct source_fetched	*f;
	size_t			 max;
	size_t			 cap;
	int			 toobig;
	int			 status;
	char			 reason[64];
	char			 etag[256];
};

/* Keeps the last answer's status and ETag (a redirect has its own). */
static size_t
header_cb(char *b, size_t size, size_t n, void *arg)
{
	struct fetch *ft = arg;
	size_t len = size * n;

	if (len >= 5 && memcmp(b, "HTTP/", 5) == 0) {
		ft->etag[0] = '\0';
		if (httphdr_status(b, len, &ft->status, ft->reason,
		    sizeof(ft->reason)) < 0)
			ft->status = 0;
		return len;
	}
	if (httphdr_value(b, len, "ETag", ft->etag, sizeof(ft->etag)) < 0)
		ft->etag[0] = '\0';	/* too long to send back: none */
	return len;
}

/* The body of a 200, up to max bytes; an error page is not kept. */
static size_t
body_cb(char *b, size_t size, size_t n, void *arg)
{
	struct fetch *ft = arg;
	struct source_fetched *f = ft->f;
	size_t len = size * n, cap;
	unsigned char *p;

	if (ft->status != 200)
		return len;
	if (len > ft->max - f->len) {
		ft->toobig = 1;
		return CURL_WRITEFUNC_ERROR;
	}
	if (f->len + len > ft->cap) {
		cap = ft->cap == 0 ? 64 * 1024 : ft->cap;
		while (cap < f->len + len)
			cap *= 2;
		if (cap > ft->max)
			cap = ft->max;
		if ((p = realloc(f->body, cap)) == NULL)
			return CURL_WRITEFUNC_ERROR;
		f->body = p;
		ft->cap = cap;
	}
	memcpy(f->body + f->len, b, len);
	f->len += len;
	return len;
}

static int
setup(const struct libcurl *lc, CURL *c, struct fetch *ft,
    struct curl_slist *hdrs, const struct source_options *o,
    const char *url, char *errbuf, struct err *e)
{
	__typeof__(curl_easy_setopt) *set = lc->easy_setopt;
	CURLcode rc = CURLE_OK;
	int r;

	if ((r = http_setopts(lc, c, url, o, errbuf, e)) < 0)
		return r;
#define OPT(opt, v) do { if (rc == CURLE_OK) rc = set(c, opt, v); } while (0)
	OPT(CURLOPT_HEADERFUNCTION, header_cb);
	OPT(CURLOPT_HEADERDATA, ft);
	OPT(CURLOPT_WRITEFUNCTION, body_cb);
	OPT(CURLOPT_WRITEDATA, ft);
	OPT(CURLOPT_HTTPHEADER, hdrs);
	/* A stall as the bundle source defines it ends the poll. */
	OPT(CURLOPT_LOW_SPEED_LIMIT, (long)SOURCE_STALL_RATE);
	OPT(CURLOPT_LOW_SPEED_TIME, (long)o->stall_timeout);
#undef OPT
	if (rc != CURLE_OK)
		return err_set(e, -ENOMEM, "%s: libcurl: %s", url,
		    lc->easy_strerror(rc));
	return 0;
}

/* After the transfer: what the answer means. */
static int
answer(struct fetch *ft, CURLcode cc, const struct libcurl *lc,
    const char *url, const char *errbuf, struct err *e)
{
	if (ft->toobig)
		return err_set(e, -EFBIG, "GET %s: more than %zu bytes", url,
		    ft->max);
	if (cc != CURLE_OK)
		return err_set(e, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM :
		    cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
		    "GET %s: %s", url, errbuf[0] != '\0' ? errbuf :
		    lc->easy_strerror(cc));
	if (ft->status != 200 && ft->status != 304)
		return err_set(e, ft->status >= 500 ? -EAGAIN : -EIO,
		    "GET %s: %d%s%s", url, ft->status,
		    ft->reason[0] != '\0' ? " " : "", ft->reason);
	return 0;
}

int
source_fetch(const char *url, const struct source_options *opts,
    const char *etag, size_t max, struct source_fetched *f, struct err *e)
{
	const struct libcurl *lc;
	struct source_options o;
	struct curl_slist *hdrs = NULL, *h;
	struct fetch ft;
	char errbuf[CURL_ERROR_SIZE], line[300];
	CURL *c = NULL;
	int r;

	memset(f, 0, sizeof(*f));
	memset(&ft, 0, sizeof(ft));
	ft.f = f;
	ft.max = max;
	errbuf[0] = '\0';
	memset(&o, 0, sizeof(o));
	if (opts != NULL)
		o = *opts;
	http_defaults(&o);
	if ((r = libcurl_load(url, &lc, e)) < 0)
		return r;
	if (etag != NULL && etag[0] != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", etag);
		if ((hdrs = lc->slist_append(NULL, line)) == NULL)
			return err_set(e, -ENOMEM, "GET %s", url);
	}
	/* Nothing a channel needs: keep the request small. */
	if ((h = lc->slist_append(hdrs, "Accept:")) == NULL) {
		r = err_set(e, -ENOMEM, "GET %s", url);
		goto out;
	}
	hdrs = h;
	if ((c = lc->easy_init()) == NULL) {
		r = err_set(e, -ENOMEM, "GET %s: libcurl", url);
		goto out;
	}
	if ((r = setup(lc, c, &ft, hdrs, &o, url, errbuf, e)) < 0)
		goto out;
	if ((r = answer(&ft, lc->easy_perform(c), lc, url, errbuf, e)) < 0)
		goto out;
	f->status = ft.status;
	memcpy(f->etag, ft.etag, sizeof(f->etag));
out:
	if (c != NULL)
		lc->easy_cleanup(c);
	lc->slist_free_all(hdrs);
	if (r < 0)
		source_fetched_free(f);
	return r;
}

void
source_fetched_free(struct source_fetched *f)
{
	free(f->body);
	f->body = NULL;
	f->len = 0;
}

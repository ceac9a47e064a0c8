/*
 * source/answer: what the HTTP source checks in each answer before it
 * takes a byte of it. A resumed answer must be 206 for exactly the
 * offset asked, of a file with the first answer's length and ETag (or
 * Last-Modified): that is what keeps bytes of two files out of one
 * stream. Errors name the URL and what was wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "source/http.h"
#include "source/httphdr.h"

static const struct {
	const char	*name;
	size_t		 at, size;
} kept[] = {
	{ "Content-Range", offsetof(struct answer, range),
	    sizeof(((struct answer *)0)->range) },
	{ "ETag", offsetof(struct answer, etag),
	    sizeof(((struct answer *)0)->etag) },
	{ "Last-Modified", offsetof(struct answer, lastmod),
	    sizeof(((struct answer *)0)->lastmod) },
};

int
http_fatal(struct http_source *h, int r, const char *fmt, ...)
{
	char msg[sizeof(h->cberr.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(&h->cberr, r, "GET %s: %s", h->s.name, msg);
}

int
http_retry_later(struct http_source *h, int r, const char *what)
{
	snprintf(h->cause, sizeof(h->cause), "%s at byte %ju", what,
	    (uintmax_t)h->pos);
	h->cause_r = r;
	return 1;
}

/* An error page's title often says more than its status: nginx answers
 * a missing client certificate with "400 Bad Request" and the title "400
 * No required SSL certificate was sent". */
static int
check_status(struct http_source *h, const char *body, size_t len)
{
	const struct answer *a = &h->ans;
	char what[96], title[96];
	int r;

	snprintf(what, sizeof(what), "%d%s%s", a->status,
	    a->reason[0] != '\0' ? " " : "", a->reason);
	if (a->status == 408 || a->status == 429 || a->status >= 500)
		return http_retry_later(h, -EIO, what);
	if (a->status == 404 || a->status == 410)
		r = -ENOENT;
	else if (a->status == 401 || a->status == 403)
		r = -EACCES;
	else
		r = -EIO;
	if (body != NULL && httphdr_title(body, len, a->status, title,
	    sizeof(title)) == 0 && strcmp(title, a->reason) != 0)
		return http_fatal(h, r, "%s (%s)", what, title);
	return http_fatal(h, r, "%s", what);
}

/* The same file as the first answer: its ETag or, without one, its
 * Last-Modified. A server that has neither cannot tell us; the signed
 * chunk hashes still will. */
static int
check_same(struct http_source *h)
{
	const struct answer *a = &h->ans;

	if (h->etag[0] != '\0' && strcmp(a->etag, h->etag) != 0)
		return http_fatal(h, -ESTALE, "bundle changed on the server "
		    "(ETag %s is now %s)", h->etag,
		    a->etag[0] != '\0' ? a->etag : "none");
	if (h->etag[0] == '\0' && h->lastmod[0] != '\0' &&
	    strcmp(a->lastmod, h->lastmod) != 0)
		return http_fatal(h, -ESTALE, "bundle changed on the server "
		    "(Last-Modified %s is now %s)", h->lastmod,
		    a->lastmod[0] != '\0' ? a->lastmod : "none");
	return 0;
}

/* The answer's bytes start at pos and belong to a file of our size. */
static int
check_range(struct http_source *h)
{
	const struct answer *a = &h->ans;
	uint64_t first, last, total;
	curl_off_t len = -1;

	if (a->status == 200 && h->pos == 0) {
		h->c->easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &len);
		total = len >= 0 ? (uint64_t)len : HTTPHDR_TOTAL_UNKNOWN;
	} else if (a->status == 200)
		return http_fatal(h, -EPROTO, "server ignored Range (200 for "
		    "bytes=%ju-)", (uintmax_t)h->pos);
	else if (a->range[0] == '\0')
		return http_fatal(h, -EPROTO, "206 without a Content-Range");
	else if (httphdr_content_range(a->range, &first, &last, &total) < 0)
		return http_fatal(h, -EPROTO, "Content-Range %s does not "
		    "parse", a->range);
	else if (first != h->pos)
		return http_fatal(h, -EPROTO, "Content-Range %s does not "
		    "start at %ju", a->range, (uintmax_t)h->pos);
	if (total == HTTPHDR_TOTAL_UNKNOWN)
		return 0;
	if (h->s.size != 0 && total != h->s.size)
		return http_fatal(h, -ESTALE, "bundle changed on the server "
		    "(length %ju is now %ju)", (uintmax_t)h->s.size,
		    (uintmax_t)total);
	h->s.size = total;
	return 0;
}

int
http_check_answer(struct http_source *h, const char *body, size_t len)
{
	const struct answer *a = &h->ans;
	int r;

	/* A connection cut inside the headers can end the transfer without
	 * an error: what came is not an answer, whatever it lacks (an
	 * ETag, or the status line itself). A cut, then, to be resumed. */
	if (!a->ended)
		return http_retry_later(h, -ECONNRESET, "answer cut in its "
		    "headers");
	if (a->status != 200 && a->status != 206)
		return check_status(h, body, len);
	if (a->toolong)
		return http_fatal(h, -EPROTO, "a Content-Range, ETag or "
		    "Last-Modified header is too long");
	if (h->started && (r = check_same(h)) != 0)
		return r;
	if ((r = check_range(h)) != 0)
		return r;
	if (!h->started) {
		memcpy(h->etag, a->etag, sizeof(h->etag));
		memcpy(h->lastmod, a->lastmod, sizeof(h->lastmod));
		h->started = 1;
	}
	h->checked = 1;
	if (h->resuming) {
		h->resuming = 0;
		http_event(h, SOURCE_RESUME, "");
	}
	return 0;
}

size_t
http_header_cb(char *b, size_t size, size_t n, void *arg)
{
	struct http_source *h = arg;
	struct answer *a = &h->ans;
	size_t len = size * n, i;
	int r;

	/* Each answer (a redirect, then the file) starts with a status
	 * line; only the last one's headers count. */
	if (len >= 5 && memcmp(b, "HTTP/", 5) == 0) {
		memset(a, 0, sizeof(*a));
		if (httphdr_status(b, len, &a->status, a->reason,
		    sizeof(a->reason)) < 0)
			a->status = 0;
		return len;
	}
	if ((len == 2 && b[0] == '\r' && b[1] == '\n') ||
	    (len == 1 && b[0] == '\n')) {
		a->ended = 1;
		return len;
	}
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		r = httphdr_value(b, len, kept[i].name, (char *)a + kept[i].at,
		    kept[i].size);
		if (r < 0)
			a->toolong = 1;
		if (r != 0)
			break;
	}
	return len;
}

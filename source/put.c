/*
 * source/put: one HTTP PUT of a small document (a report), with the
 * options and TLS setup of every upkit request (http_setopts()). No
 * retries here: the caller keeps the document and tries again later.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "source/http.h"
#include "source/libcurl.h"
#include "source/source.h"

struct body {
	const char	*buf;
	size_t		 len, off;
};

static size_t
read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t k = size * n;

	if (k > b->len - b->off)
		k = b->len - b->off;
	memcpy(dst, b->buf + b->off, k);
	b->off += k;
	return k;
}

/* The answer's body is not ours to print. */
static size_t
discard_cb(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
perform(const struct libcurl *lc, CURL *c, const char *url, struct body *b,
    const struct source_options *o, char *errbuf, struct err *e)
{
	__typeof__(curl_easy_setopt) *set = lc->easy_setopt;
	struct source_options oo = *o;
	CURLcode rc = CURLE_OK;
	long status = 0;
	int r;

	http_defaults(&oo);
	if ((r = http_setopts(lc, c, url, &oo, errbuf, e)) < 0)
		return r;
#define OPT(opt, v) do { if (rc == CURLE_OK) rc = set(c, opt, v); } while (0)
	/* A redirect would need the body again: a PUT goes where it is
	 * told, or fails. */
	OPT(CURLOPT_FOLLOWLOCATION, 0L);
	OPT(CURLOPT_UPLOAD, 1L);
	OPT(CURLOPT_READFUNCTION, read_cb);
	OPT(CURLOPT_READDATA, b);
	OPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)b->len);
	OPT(CURLOPT_WRITEFUNCTION, discard_cb);
	OPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
	OPT(CURLOPT_LOW_SPEED_TIME, (long)oo.stall_timeout);
#undef OPT
	if (rc != CURLE_OK)
		return err_set(e, rc == CURLE_OUT_OF_MEMORY ? -ENOMEM :
		    -EINVAL, "PUT %s: libcurl: %s", url, lc->easy_strerror(rc));
	if ((rc = lc->easy_perform(c)) != CURLE_OK)
		return err_set(e, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
		    rc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EIO,
		    "PUT %s: %s", url, errbuf[0] != '\0' ? errbuf :
		    lc->easy_strerror(rc));
	lc->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return err_set(e, status == 401 || status == 403 ? -EACCES :
		    status == 404 ? -ENOENT : -EIO, "PUT %s: answered %ld",
		    url, status);
	return 0;
}

int
source_put(const char *url, const void *buf, size_t len,
    const struct source_options *o, struct err *e)
{
	static const struct source_options none;
	const struct libcurl *lc;
	struct body b = { buf, len, 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	int r;

	if ((r = libcurl_load(url, &lc, e)) < 0)
		return r;
	if ((c = lc->easy_init()) == NULL)
		return err_set(e, -ENOMEM, "PUT %s: libcurl", url);
	r = perform(lc, c, url, &b, o != NULL ? o : &none, errbuf, e);
	lc->easy_cleanup(c);
	return r;
}

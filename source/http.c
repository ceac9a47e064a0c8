/*
 * source/http: a bundle at an http:// or https:// URL, through libcurl's
 * multi interface so that every wait can also watch cancelfd. curl
 * pushes bytes into write_cb(), which copies them straight into the
 * caller's buffer; what does not fit goes to a spill buffer of one curl
 * write (16 KiB), and after that the transfer is paused until the next
 * read. So memory stays O(1) in the bundle size.
 *
 * A cut, a reset, a stall or a 5xx answer is not an error: the transfer
 * is dropped and, after a backoff, a Range request asks for the first
 * byte not yet received. check_answer() vets every answer before the
 * first of its bytes is taken, which is what keeps bytes of two
 * different files out of one stream.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "source/http.h"
#include "source/httphdr.h"
#include "source/impl.h"
#include "source/libcurl.h"
#include "source/source.h"


/* Which curl failures are cuts, and the errno when one is final. A
 * failure to reach the server is a cut only once it has answered: at
 * the first request it is more likely a wrong URL than a bad link. */
enum retry { NEVER, ALWAYS, STARTED };
static const struct {
	CURLcode	c;
	int		err;
	enum retry	retry;
} curl_errs[] = {
	{ CURLE_RECV_ERROR,		ECONNRESET,	ALWAYS },
	{ CURLE_SEND_ERROR,		ECONNRESET,	ALWAYS },
	{ CURLE_PARTIAL_FILE,		ECONNRESET,	ALWAYS },
	{ CURLE_GOT_NOTHING,		ECONNRESET,	ALWAYS },
	{ CURLE_HTTP2,			ECONNRESET,	ALWAYS },
	{ CURLE_HTTP2_STREAM,		ECONNRESET,	ALWAYS },
	{ CURLE_OPERATION_TIMEDOUT,	ETIMEDOUT,	ALWAYS },
	{ CURLE_COULDNT_CONNECT,	ECONNREFUSED,	STARTED },
	{ CURLE_COULDNT_RESOLVE_HOST,	EHOSTUNREACH,	STARTED },
	{ CURLE_COULDNT_RESOLVE_PROXY,	EHOSTUNREACH,	STARTED },
	{ CURLE_SSL_CONNECT_ERROR,	ECONNRESET,	STARTED },
	{ CURLE_PEER_FAILED_VERIFICATION, EACCES,	NEVER },
	{ CURLE_SSL_PINNEDPUBKEYNOTMATCH, EACCES,	NEVER },
	{ CURLE_SSL_CACERT_BADFILE,	EINVAL,		NEVER },
	{ CURLE_SSL_CERTPROBLEM,	EINVAL,		NEVER },
	{ CURLE_URL_MALFORMAT,		EINVAL,		NEVER },
	{ CURLE_UNSUPPORTED_PROTOCOL,	EINVAL,		NEVER },
	{ CURLE_OUT_OF_MEMORY,		ENOMEM,		NEVER },
};


static int64_t
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

void
http_event(struct http_source *h, enum source_event ev, const char *detail)
{
	if (h->o.event != NULL)
		h->o.event(h->o.event_arg, ev, h->pos, detail);
}

static int
spill_put(struct http_source *h, const char *b, size_t len)
{
	unsigned char *p;

	if (len > h->spillcap) {
		if ((p = realloc(h->spill, len)) == NULL)
			return http_fatal(h, -ENOMEM, "spill buffer");
		h->spill = p;
		h->spillcap = len;
	}
	memcpy(h->spill, b, len);
	h->spillon = 0;
	h->spilllen = len;
	return 0;
}

static size_t
write_cb(char *b, size_t size, size_t n, void *arg)
{
	struct http_source *h = arg;
	size_t len = size * n, k;
	int r;

	if (!h->checked && (r = http_check_answer(h, b, len)) != 0) {
		h->cbfail = r < 0 ? -1 : 1;
		return CURL_WRITEFUNC_ERROR;
	}
	/* Invariant: the spill is empty whenever the buffer has room. */
	if (h->dst == NULL || h->dstfill == h->dstlen) {
		h->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	k = len < h->dstlen - h->dstfill ? len : h->dstlen - h->dstfill;
	memcpy(h->dst + h->dstfill, b, k);
	h->dstfill += k;
	if (k < len && spill_put(h, b + k, len - k) < 0) {
		h->cbfail = -1;
		return CURL_WRITEFUNC_ERROR;
	}
	h->pos += len;
	h->tries = 0;
	h->window_bytes += len;
	clock_gettime(CLOCK_MONOTONIC, &h->last_byte);
	return len;
}

static void
stop(struct http_source *h)
{
	if (h->active)
		h->c->multi_remove_handle(h->multi, h->easy);
	h->active = 0;
	h->paused = 0;
}

/* A cut: drop the transfer; the next read asks again from pos, unless
 * the tries ran out. */
static int
cut(struct http_source *h, struct err *e)
{
	stop(h);
	h->tries++;
	http_event(h, SOURCE_CUT, h->cause);
	if (h->o.retries != 0 && h->tries > h->o.retries)
		return err_set(e, h->cause_r, "GET %s: %s, gave up after %u "
		    "tries", h->s.name, h->cause, h->tries);
	h->resuming = 1;
	return 0;
}

static int
cancelled(struct http_source *h, int r, struct err *e)
{
	if (r == -ECANCELED)
		return err_set(e, r, "GET %s: cancelled at byte %ju",
		    h->s.name, (uintmax_t)(h->s.off + h->dstfill));
	return err_set(e, r, "GET %s: poll: %s", h->s.name, strerror(-r));
}

/* The transfer ended with c: the end of the file, a cut, or an error. */
static int
done(struct http_source *h, CURLcode c, struct err *e)
{
	size_t i;
	int r;

	stop(h);
	if (h->cbfail < 0) {
		*e = h->cberr;
		return e->code;
	}
	if (h->cbfail > 0)
		return cut(h, e);
	if (c == CURLE_OK) {
		/* An answer with no body (a 404 without a page) never
		 * reached write_cb. */
		if (!h->checked &&
		    (r = http_check_answer(h, NULL, 0)) != 0) {
			if (r > 0)
				return cut(h, e);
			*e = h->cberr;
			return e->code;
		}
		if (h->s.size != 0 && h->pos < h->s.size) {
			http_retry_later(h, -ECONNRESET,
			    "answer ended early");
			return cut(h, e);
		}
		h->eof = 1;
		return 0;
	}
	for (i = 0; i < sizeof(curl_errs) / sizeof(curl_errs[0]); i++)
		if (curl_errs[i].c == c)
			break;
	if (h->errbuf[0] == '\0')
		snprintf(h->errbuf, sizeof(h->errbuf), "%s",
		    h->c->easy_strerror(c));
	if (i == sizeof(curl_errs) / sizeof(curl_errs[0]))
		return err_set(e, -EIO, "GET %s: %s", h->s.name, h->errbuf);
	if (curl_errs[i].retry == ALWAYS ||
	    (curl_errs[i].retry == STARTED && h->started)) {
		http_retry_later(h, -curl_errs[i].err, h->errbuf);
		return cut(h, e);
	}
	return err_set(e, -curl_errs[i].err, "GET %s: %s", h->s.name,
	    h->errbuf);
}

/* No byte for stall_timeout s, or fewer than SOURCE_STALL_RATE a second
 * over that long, while a reader waits: 1 with cause set. Time when no
 * read was waiting does not count (the clocks restart with each read). */
static int
stalled(struct http_source *h)
{
	int64_t limit = (int64_t)h->o.stall_timeout * 1000;
	char what[64];

	if (ms_since(&h->last_byte) >= limit) {
		snprintf(what, sizeof(what), "stalled %u s",
		    h->o.stall_timeout);
		return http_retry_later(h, -ETIMEDOUT, what);
	}
	if (ms_since(&h->window) < limit)
		return 0;
	if (h->window_bytes < (uint64_t)SOURCE_STALL_RATE *
	    h->o.stall_timeout) {
		snprintf(what, sizeof(what), "below %d bytes/s for %u s",
		    SOURCE_STALL_RATE, h->o.stall_timeout);
		return http_retry_later(h, -ETIMEDOUT, what);
	}
	clock_gettime(CLOCK_MONOTONIC, &h->window);
	h->window_bytes = 0;
	return 0;
}

/* Lets curl move bytes, then waits for the network, cancelfd or the
 * stall deadline. */
static int
pump(struct http_source *h, int cancelfd, struct err *e)
{
	struct curl_waitfd w = { .fd = cancelfd, .events = CURL_WAIT_POLLIN };
	int64_t left;
	CURLMcode mc;
	CURLMsg *m;
	int running, n;

	if ((mc = h->c->multi_perform(h->multi, &running)) != CURLM_OK)
		return err_set(e, -EIO, "GET %s: %s", h->s.name,
		    h->c->multi_strerror(mc));
	while ((m = h->c->multi_info_read(h->multi, &n)) != NULL)
		if (m->msg == CURLMSG_DONE)
			return done(h, m->data.result, e);
	if (h->dstfill == h->dstlen || h->paused)
		return 0;
	if (stalled(h))
		return cut(h, e);
	left = (int64_t)h->o.stall_timeout * 1000 - ms_since(&h->last_byte);
	if (left > 1000)
		left = 1000;
	if (left < 1)
		left = 1;
	mc = h->c->multi_poll(h->multi, cancelfd >= 0 ? &w : NULL,
	    cancelfd >= 0 ? 1 : 0, (int)left, NULL);
	if (mc != CURLM_OK)
		return err_set(e, -EIO, "GET %s: %s", h->s.name,
		    h->c->multi_strerror(mc));
	if (cancelfd >= 0 && w.revents != 0)
		return cancelled(h, -ECANCELED, e);
	return 0;
}

/* A new request from pos: after a cut, once the backoff has passed. */
static int
start(struct http_source *h, int cancelfd, struct err *e)
{
	char detail[64];
	unsigned ms;
	CURLMcode mc;
	int r;

	if (h->tries > 0) {
		ms = httphdr_backoff_ms(h->o.backoff_ms, h->o.backoff_max_ms,
		    h->tries, &h->rng);
		snprintf(detail, sizeof(detail), "try %u after %u ms",
		    h->tries + 1, ms);
		http_event(h, SOURCE_RETRY, detail);
		if ((r = source_wait(-1, cancelfd, (int)ms)) < 0)
			return cancelled(h, r, e);
	}
	snprintf(h->range, sizeof(h->range), "%ju-", (uintmax_t)h->pos);
	if (h->c->easy_setopt(h->easy, CURLOPT_RANGE,
	    h->pos > 0 ? h->range : NULL) != CURLE_OK)
		return err_set(e, -ENOMEM, "GET %s: Range", h->s.name);
	memset(&h->ans, 0, sizeof(h->ans));
	h->checked = 0;
	h->cbfail = 0;
	h->errbuf[0] = '\0';
	err_clear(&h->cberr);
	if ((mc = h->c->multi_add_handle(h->multi, h->easy)) != CURLM_OK)
		return err_set(e, -EIO, "GET %s: %s", h->s.name,
		    h->c->multi_strerror(mc));
	h->active = 1;
	clock_gettime(CLOCK_MONOTONIC, &h->last_byte);
	h->window = h->last_byte;
	h->window_bytes = 0;
	return 0;
}

static size_t
take_spill(struct http_source *h, void *buf, size_t len)
{
	size_t k = h->spilllen - h->spillon;

	if (k > len)
		k = len;
	memcpy(buf, h->spill + h->spillon, k);
	h->spillon += k;
	if (h->spillon == h->spilllen)
		h->spillon = h->spilllen = 0;
	return k;
}

static ssize_t
http_read(struct source *s, void *buf, size_t len, int cancelfd,
    struct err *e)
{
	struct http_source *h = (struct http_source *)s;
	int r = 0;

	h->dstfill = 0;
	if ((r = source_wait(-1, cancelfd, 0)) < 0)
		return cancelled(h, r, e);
	h->dst = buf;
	h->dstlen = len;
	h->dstfill = take_spill(h, buf, len);
	clock_gettime(CLOCK_MONOTONIC, &h->last_byte);
	h->window = h->last_byte;
	h->window_bytes = 0;
	while (h->dstfill < len && !h->eof) {
		if (h->s.size != 0 && h->pos >= h->s.size) {
			h->eof = 1;
			stop(h);
		} else if (!h->active)
			r = start(h, cancelfd, e);
		else if (h->paused) {
			/* curl may hand over what it held right here. */
			h->paused = 0;
			h->c->easy_pause(h->easy, CURLPAUSE_CONT);
		} else
			r = pump(h, cancelfd, e);
		if (r < 0)
			break;
	}
	h->dst = NULL;
	if (r < 0)
		return r;
	s->off += h->dstfill;
	return (ssize_t)h->dstfill;
}

static int
http_skip_to(struct source *s, uint64_t off, int cancelfd, struct err *e)
{
	struct http_source *h = (struct http_source *)s;
	unsigned char buf[16 * 1024];
	uint64_t want;
	ssize_t n;

	/* A small gap costs less to read than a new request. Past the end
	 * of a known length, there is nothing to read. */
	while (h->active && off - s->off < SOURCE_SKIP_READ && s->off < off &&
	    (h->s.size == 0 || off < h->s.size)) {
		want = off - s->off < sizeof(buf) ? off - s->off : sizeof(buf);
		if ((n = http_read(s, buf, (size_t)want, cancelfd, e)) < 0)
			return (int)n;
		if (n == 0)
			return err_set(e, -EPIPE, "GET %s: ends at byte %ju, "
			    "before byte %ju", s->name, (uintmax_t)s->off,
			    (uintmax_t)off);
		source_count(s, s->off - (uint64_t)n, (uint64_t)n);
	}
	if (s->off == off)
		return 0;
	stop(h);
	h->spillon = h->spilllen = 0;
	h->pos = s->off = off;
	h->eof = h->s.size != 0 && off >= h->s.size;
	return 0;
}

static void
http_close(struct source *s)
{
	struct http_source *h = (struct http_source *)s;

	stop(h);
	if (h->easy != NULL)
		h->c->easy_cleanup(h->easy);
	if (h->multi != NULL)
		h->c->multi_cleanup(h->multi);
	free(h->spill);
	free(s->name);
	free(h);
}

static const struct source_ops http_ops = {
	.read = http_read,
	.skip_to = http_skip_to,
	.close = http_close,
};

/* The options every request shares. Proxies come from http_proxy,
 * https_proxy and no_proxy, as libcurl does by default. */
int
http_setopts(const struct libcurl *lc, CURL *c, const char *url,
    const struct source_options *o, char *errbuf, struct err *e)
{
	__typeof__(curl_easy_setopt) *set = lc->easy_setopt;
	CURLcode rc = CURLE_OK;

#define OPT(opt, v) do { if (rc == CURLE_OK) rc = set(c, opt, v); } while (0)
	OPT(CURLOPT_URL, url);
	OPT(CURLOPT_NOSIGNAL, 1L);
	OPT(CURLOPT_PROTOCOLS_STR, "http,https");
	OPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	OPT(CURLOPT_FOLLOWLOCATION, 1L);
	OPT(CURLOPT_MAXREDIRS, 5L);
	OPT(CURLOPT_USERAGENT, "upkit");
	OPT(CURLOPT_CONNECTTIMEOUT, (long)o->connect_timeout);
	OPT(CURLOPT_TCP_KEEPALIVE, 1L);
	OPT(CURLOPT_ERRORBUFFER, errbuf);
	if (o->ca != NULL) {
		/* Only this CA: not also the system's folder of them. */
		OPT(CURLOPT_CAINFO, o->ca);
		OPT(CURLOPT_CAPATH, (char *)NULL);
	}
	if (o->pin != NULL)
		OPT(CURLOPT_PINNEDPUBLICKEY, o->pin);
	if (o->cert != NULL)
		OPT(CURLOPT_SSLCERT, o->cert);
	if (o->key != NULL)
		OPT(CURLOPT_SSLKEY, o->key);
#undef OPT
	if (rc != CURLE_OK)
		return err_set(e, rc == CURLE_OUT_OF_MEMORY ? -ENOMEM :
		    -EINVAL, "%s: libcurl: %s", url, lc->easy_strerror(rc));
	return 0;
}

/* http_setopts(), and the callbacks of a bundle's transfer. */
static int
setup(struct http_source *h, struct err *e)
{
	__typeof__(curl_easy_setopt) *set = h->c->easy_setopt;
	CURL *c = h->easy;
	CURLcode rc = CURLE_OK;
	int r;

	if ((r = http_setopts(h->c, c, h->s.name, &h->o, h->errbuf, e)) < 0)
		return r;
#define OPT(opt, v) do { if (rc == CURLE_OK) rc = set(c, opt, v); } while (0)
	OPT(CURLOPT_HEADERFUNCTION, http_header_cb);
	OPT(CURLOPT_HEADERDATA, h);
	OPT(CURLOPT_WRITEFUNCTION, write_cb);
	OPT(CURLOPT_WRITEDATA, h);
#undef OPT
	if (rc != CURLE_OK)
		return err_set(e, rc == CURLE_OUT_OF_MEMORY ? -ENOMEM :
		    -EINVAL, "%s: libcurl: %s", h->s.name,
		    h->c->easy_strerror(rc));
	return 0;
}

void
http_defaults(struct source_options *o)
{
	if (o->stall_timeout == 0)
		o->stall_timeout = 30;
	if (o->connect_timeout == 0)
		o->connect_timeout = 30;
	if (o->backoff_ms == 0)
		o->backoff_ms = 1000;
	if (o->backoff_max_ms == 0)
		o->backoff_max_ms = 60000;
	if (o->backoff_max_ms < o->backoff_ms)
		o->backoff_max_ms = o->backoff_ms;
}

int
http_source_open(const char *url, const struct source_options *o,
    struct source **sp, struct err *e)
{
	struct http_source *h;
	struct timespec t;
	int r;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return err_set(e, -ENOMEM, "%s", url);
	h->s.ops = &http_ops;
	h->o = *o;
	http_defaults(&h->o);
	clock_gettime(CLOCK_REALTIME, &t);
	h->rng = ((uint64_t)t.tv_nsec << 20) ^ (uint64_t)t.tv_sec ^
	    ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)h;
	if (h->rng == 0)
		h->rng = 1;
	h->spillcap = CURL_MAX_WRITE_SIZE;
	if ((h->s.name = strdup(url)) == NULL ||
	    (h->spill = malloc(h->spillcap)) == NULL) {
		free(h->s.name);
		free(h->spill);
		free(h);
		return err_set(e, -ENOMEM, "%s", url);
	}
	if ((r = libcurl_load(url, &h->c, e)) < 0) {
		free(h->spill);
		free(h->s.name);
		free(h);
		return r;
	}
	if ((h->easy = h->c->easy_init()) == NULL ||
	    (h->multi = h->c->multi_init()) == NULL) {
		r = err_set(e, -ENOMEM, "%s: libcurl", url);
		goto fail;
	}
	if ((r = setup(h, e)) < 0)
		goto fail;
	*sp = &h->s;
	return 0;
fail:
	http_close(&h->s);
	return r;
}

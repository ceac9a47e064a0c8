/*
 * verify/channel: the channel file's framing, its signature, its clock
 * and its install window. The body's JSON is channel_body.c's. The
 * framing is a bundle's on purpose (docs/channel.md): the same signature
 * block and trust code serve both, and only the magic differs, so the
 * signed bytes of a bundle are never read as a channel, nor the reverse.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/endian.h"
#include "common/err.h"
#include "verify/bundle.h"
#include "verify/channel.h"
#include "verify/digest.h"
#include "verify/trust.h"

int
channel_header_parse(const uint8_t *buf, uint64_t *body_len, struct err *e)
{
	uint32_t format, hsize;
	uint64_t blen;
	size_t i;

	*body_len = 0;
	if (memcmp(buf, CHANNEL_MAGIC, 8) != 0)
		return err_set(e, -EBADMSG, "channel header: bad magic%s",
		    memcmp(buf, BUNDLE_MAGIC, 8) == 0 ?
		    " (this is a bundle, not a channel)" : "");
	format = get32(buf + 8);
	if (format != CHANNEL_FORMAT)
		return err_set(e, -EBADMSG, "channel header: format %u not "
		    "supported (this upkit reads %u)", format, CHANNEL_FORMAT);
	hsize = get32(buf + 12);
	if (hsize != CHANNEL_HEADER_SIZE)
		return err_set(e, -EBADMSG, "channel header: header size %u "
		    "(expected %u)", hsize, CHANNEL_HEADER_SIZE);
	blen = get64(buf + 16);
	if (blen < 2 || blen > CHANNEL_BODY_MAX)
		return err_set(e, -EBADMSG, "channel header: body_len %llu "
		    "out of range 2..%u", (unsigned long long)blen,
		    CHANNEL_BODY_MAX);
	/* Zero now, so a later format can give them meaning. */
	for (i = 24; i < CHANNEL_HEADER_SIZE; i++)
		if (buf[i] != 0)
			return err_set(e, -EBADMSG, "channel header: reserved "
			    "byte %zu is not zero", i);
	*body_len = blen;
	return 0;
}

void
channel_header_encode(uint64_t body_len, uint8_t buf[CHANNEL_HEADER_SIZE])
{
	memset(buf, 0, CHANNEL_HEADER_SIZE);
	memcpy(buf, CHANNEL_MAGIC, 8);
	put32(buf + 8, CHANNEL_FORMAT);
	put32(buf + 12, CHANNEL_HEADER_SIZE);
	put64(buf + 16, body_len);
}

int
channel_file_split(const uint8_t *buf, size_t len, struct channel_file *f,
    struct err *e)
{
	uint64_t blen;
	size_t slen, left;
	int r;

	memset(f, 0, sizeof(*f));
	if (len < CHANNEL_HEADER_SIZE)
		return err_set(e, -EBADMSG, "channel: %zu bytes, shorter than "
		    "its %u-byte header", len, CHANNEL_HEADER_SIZE);
	if ((r = channel_header_parse(buf, &blen, e)) < 0)
		return r;
	left = len - CHANNEL_HEADER_SIZE;
	if (blen > left || left - blen < BUNDLE_SIGBLOCK_HEAD)
		return err_set(e, -EBADMSG, "channel: truncated (%zu bytes "
		    "after the header, body_len %llu and a signature block "
		    "need more)", left, (unsigned long long)blen);
	left -= blen;
	if ((r = sigblock_length(buf + CHANNEL_HEADER_SIZE + blen, &slen,
	    e)) < 0)
		return err_prefix(e, "channel");
	if (slen > left)
		return err_set(e, -EBADMSG, "channel: truncated in the "
		    "signature block (%zu of %zu bytes)", left, slen);
	/* Bytes after the block are not signed: a channel ends there. */
	if (slen < left)
		return err_set(e, -EBADMSG, "channel: %zu trailing bytes after "
		    "the signature block", left - slen);
	if ((r = sigblock_parse(buf + CHANNEL_HEADER_SIZE + blen, slen,
	    &f->sig, e)) < 0)
		return err_prefix(e, "channel");
	f->body = buf + CHANNEL_HEADER_SIZE;
	f->body_len = blen;
	digest_sha256(buf, CHANNEL_HEADER_SIZE + blen, f->digest);
	return 0;
}

int
channel_open(const uint8_t *buf, size_t len, const struct keyring *k,
    struct channel **cp, char id[65], char *signer, size_t signerlen,
    struct err *e)
{
	struct channel_file f;
	int r;

	*cp = NULL;
	id[0] = '\0';
	if ((r = channel_file_split(buf, len, &f, e)) < 0)
		return r;
	bundle_hex(f.digest, sizeof(f.digest), id);
	if (signer != NULL && (r = trust_signer_subject(&f.sig, signer,
	    signerlen, e)) < 0)
		return err_prefix(e, "channel");
	/* The signature before the JSON parser sees a byte of the body,
	 * as for a bundle's manifest. */
	if (k != NULL && (r = trust_verify(k, &f.sig, f.digest, e)) < 0)
		return err_prefix(e, "channel");
	return channel_parse(f.body, f.body_len, cp, e);
}

int
channel_check_fresh(const struct channel *c, int64_t now, struct err *e)
{
	char when[21], at[21];

	if (now < c->expires)
		return 0;
	channel_time_format(c->expires, when);
	channel_time_format(now, at);
	return err_set(e, -EKEYEXPIRED, "channel %s version %llu expired at "
	    "%s (now %s)", c->name, (unsigned long long)c->version, when, at);
}

const struct channel_release *
channel_find(const struct channel *c, const char *compatible)
{
	size_t i;

	for (i = 0; i < c->nreleases; i++)
		if (strcmp(c->releases[i].compatible, compatible) == 0)
			return &c->releases[i];
	return NULL;
}

int
channel_window_open(const struct channel_release *r, uint32_t minute)
{
	if (!r->has_window)
		return 1;
	if (r->win_start < r->win_end)
		return minute >= r->win_start && minute < r->win_end;
	/* 22:00-04:00 wraps past midnight. */
	return minute >= r->win_start || minute < r->win_end;
}

int
channel_minute_parse(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' ||
	    s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '5' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	if ((s[0] - '0') * 10 + (s[1] - '0') > 23)
		return -1;
	return ((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
	    (s[3] - '0') * 10 + (s[4] - '0');
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
channel_time_parse(const char *s, int64_t *t)
{
	struct tm tm, back;
	time_t v;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = digits(s, 4)) < 1970 ||
	    (tm.tm_mon = digits(s + 5, 2)) < 1 || tm.tm_mon > 12 ||
	    (tm.tm_mday = digits(s + 8, 2)) < 1 ||
	    (tm.tm_hour = digits(s + 11, 2)) < 0 || tm.tm_hour > 23 ||
	    (tm.tm_min = digits(s + 14, 2)) < 0 || tm.tm_min > 59 ||
	    (tm.tm_sec = digits(s + 17, 2)) < 0 || tm.tm_sec > 59)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	/* timegm() normalises 02-30 into March: a date that does not come
	 * back the same is not a real one. */
	if ((v = timegm(&tm)) == (time_t)-1 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon || tm.tm_year != back.tm_year)
		return -1;
	*t = (int64_t)v;
	return 0;
}

void
channel_time_format(int64_t t, char out[21])
{
	struct tm tm;
	time_t v = (time_t)t;

	if (gmtime_r(&v, &tm) == NULL ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		snprintf(out, 21, "(time %lld)", (long long)t);
}

void
channel_rollout_format(uint32_t bp, char out[16])
{
	if (bp % 100 == 0)
		snprintf(out, 16, "%u", bp / 100);
	else if (bp % 10 == 0)
		snprintf(out, 16, "%u.%u", bp / 100, bp % 100 / 10);
	else
		snprintf(out, 16, "%u.%02u", bp / 100, bp % 100);
}

/*
 * channel_test: the channel file (verify/channel.c, channel_body.c) with
 * real keys and signatures: a good file round-trips; each malformed
 * field, the framing's bounds, a bundle's magic, a changed byte and a
 * foreign signer are refused with a message naming what is wrong.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "host/sign.h"
#include "tests/check.h"
#include "verify/bundle.h"
#include "verify/channel.h"
#include "verify/digest.h"
#include "verify/trust.h"

static char *rk, *rp, *sk, *sp;

/* header || body || signature block over both, malloc'd. */
static uint8_t *
sealed(const char *body, size_t *lenp)
{
	uint8_t hdr[CHANNEL_HEADER_SIZE], digest[32], *sig, *buf;
	size_t blen = strlen(body), siglen;
	struct err e;

	channel_header_encode(blen, hdr);
	CHECK((buf = malloc(sizeof(hdr) + blen)) != NULL);
	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), body, blen);
	digest_sha256(buf, sizeof(hdr) + blen, digest);
	CHECK_OK(sign_bundle(sk, strlen(sk), sp, strlen(sp), NULL, 0, digest,
	    &sig, &siglen, &e), &e);
	CHECK((buf = realloc(buf, sizeof(hdr) + blen + siglen + 8)) != NULL);
	memcpy(buf + sizeof(hdr) + blen, sig, siglen);
	free(sig);
	*lenp = sizeof(hdr) + blen + siglen;
	return buf;
}

/* body must be refused by channel_parse() with a message holding what. */
static void
bad_body(const char *body, const char *what)
{
	struct channel *c = NULL;
	struct err e;
	int r;

	err_clear(&e);
	r = channel_parse(body, strlen(body), &c, &e);
	if (r != -EBADMSG || strstr(e.msg, what) == NULL) {
		fprintf(stderr, "body %s: r %d, message '%s', expected '%s'\n",
		    body, r, e.msg, what);
		exit(1);
	}
	CHECK(c == NULL);
}

#define ID	"\"bundle_id\":\"" \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\""
#define TOP	"{\"format\":1,\"channel\":\"stable\",\"version\":3," \
	"\"expires\":\"2027-01-31T00:00:00Z\",\"releases\":"
#define REL(x)	TOP "{\"b\":{\"version\":\"1.0\",\"url\":\"a.upk\"," \
	"\"size\":10," ID ",\"rollout\":50" x "}}}"
/* A release with one field replaced (written last: the first of two
 * equal keys counts, so the field is spelt out here instead). */
#define RELF(f)	TOP "{\"b\":{" f "}}}"
#define URL(u)	RELF("\"version\":\"1\",\"url\":\"" u "\",\"size\":1," ID \
	",\"rollout\":1")
#define ROLL(p)	RELF("\"version\":\"1\",\"url\":\"a\",\"size\":1," ID \
	",\"rollout\":" p)

static void
malformed_top(void)
{
	bad_body("{", "not valid JSON");
	bad_body("{} x", "not valid JSON (at byte 3)");
	bad_body("[]", "not a JSON object");
	bad_body("{}", "format: missing");
	bad_body("{\"format\":2}", "format 2 not supported");
	bad_body("{\"format\":1}", "channel: missing");
	bad_body("{\"format\":1,\"channel\":\"Stable\"}", "channel: not [a-z0-9]");
	bad_body("{\"format\":1,\"channel\":\"s\"}", "version: missing");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":0}",
	    "version: 0 out of range");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":1.5}",
	    "version: not an integer");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":\"2\"}",
	    "version: not an integer");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":1}",
	    "expires: missing");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":1,\"expires\":"
	    "\"2027-02-29T00:00:00Z\"}", "expires: not an RFC 3339");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":1,\"expires\":"
	    "\"2027-01-31 00:00:00Z\"}", "expires: not an RFC 3339");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":1,\"expires\":"
	    "\"2027-01-31T00:00:00.5Z\"}", "expires: not an RFC 3339");
	bad_body("{\"format\":1,\"channel\":\"s\",\"version\":1,\"expires\":"
	    "\"2027-01-31T00:00:00Z\"}", "releases: missing");
	bad_body(TOP "[]}", "releases: not an object");
	bad_body(TOP "{\"b\":1}}", "releases[\"b\"]: not an object");
}

static void
malformed_releases(void)
{
	struct channel *c;
	struct err e;

	bad_body(RELF(""), "releases[\"b\"]: version: missing");
	bad_body(RELF("\"version\":\"1 0\""), "version: not 1..64");
	bad_body(RELF("\"version\":\"1\""), "releases[\"b\"]: url: missing");
	bad_body(URL("ftp://h/a.upk"), "url: scheme is not http or https");
	bad_body(URL("file:/a.upk"), "url: scheme is not http or https");
	bad_body(URL("http:/a.upk"), "url: an http(s) URL needs //HOST");
	bad_body(URL("https:///a.upk"), "url: an http(s) URL needs //HOST");
	bad_body(URL("//cdn/a.upk"), "url: starts with //");
	bad_body(URL("a b.upk"), "url: holds a space");
	bad_body(URL(""), "url: not 1..2048");
	bad_body(RELF("\"version\":\"1\",\"url\":\"a\""), "size: missing");
	bad_body(RELF("\"version\":\"1\",\"url\":\"a\",\"size\":0"),
	    "size: 0 out of range");
	bad_body(RELF("\"version\":\"1\",\"url\":\"a\",\"size\":1"),
	    "bundle_id: missing");
	bad_body(RELF("\"version\":\"1\",\"url\":\"a\",\"size\":1,"
	    "\"bundle_id\":\"00112233445566778899AABBCCDDEEFF00112233445566778"
	    "899aabbccddeeff\""), "bundle_id: not 64 lowercase hex");
	bad_body(RELF("\"version\":\"1\",\"url\":\"a\",\"size\":1,"
	    "\"bundle_id\":\"0011\""), "bundle_id: not 64 lowercase hex");
	bad_body(RELF("\"version\":\"1\",\"url\":\"a\",\"size\":1," ID),
	    "rollout: missing");
	bad_body(ROLL("101"), "rollout: out of range 0..100");
	bad_body(ROLL("-1"), "rollout: out of range 0..100");
	bad_body(ROLL("12.345"), "rollout: more than two decimals");
	bad_body(ROLL("\"50\""), "rollout: not a number");
	bad_body(REL(",\"window\":1"), "window: not an object");
	bad_body(REL(",\"window\":{\"end\":\"05:00\"}"), "window: start: "
	    "missing");
	bad_body(REL(",\"window\":{\"start\":\"24:00\",\"end\":\"05:00\"}"),
	    "window: start: not HH:MM");
	bad_body(REL(",\"window\":{\"start\":\"02:00\",\"end\":\"5:00\"}"),
	    "window: end: not HH:MM");
	bad_body(REL(",\"window\":{\"start\":\"02:00\",\"end\":\"02:00\"}"),
	    "window: end: equals start");
	bad_body(TOP "{\"b\":{},\"b\":{}}}", "releases[\"b\"]: version");
	bad_body(TOP "{\"\":{}}}", "releases: a compatible: not 1..128");
	bad_body(TOP "{\"b\\u0000x\":{}}}", "\\u0000");
	/* A duplicate compatible that parses fine the first time. */
	bad_body(TOP "{\"b\":{\"version\":\"1\",\"url\":\"a\",\"size\":1," ID
	    ",\"rollout\":1},\"b\":{}}}", "releases[\"b\"]: duplicate");
	/* Unknown keys, anywhere, are ignored. */
	CHECK_OK(channel_parse(REL(",\"new\":[1]"), strlen(REL(",\"new\":[1]")),
	    &c, &e), &e);
	CHECK(c->nreleases == 1 && c->releases[0].rollout == 5000);
	channel_free(c);
	/* Percent with two decimals, and 0 and 100. */
	CHECK_OK(channel_parse(ROLL("33.33"), strlen(ROLL("33.33")), &c, &e),
	    &e);
	CHECK(c->releases[0].rollout == 3333);
	channel_free(c);
	CHECK_OK(channel_parse(ROLL("0"), strlen(ROLL("0")), &c, &e), &e);
	CHECK(c->releases[0].rollout == 0);
	channel_free(c);
	CHECK_OK(channel_parse(ROLL("100"), strlen(ROLL("100")), &c, &e), &e);
	CHECK(c->releases[0].rollout == 10000);
	channel_free(c);
	CHECK_OK(channel_parse(URL("https://cdn.example/x/a.upk?t=1"),
	    strlen(URL("https://cdn.example/x/a.upk?t=1")), &c, &e), &e);
	channel_free(c);
}

/* A channel built as a struct, encoded, sealed, opened and compared. */
static void
good_file(const struct keyring *k)
{
	struct channel_release rel[2] = {
	    { .compatible = (char *)"board-a", .version = (char *)"1.2.0",
	      .url = (char *)"bundles/a.upk", .size = 12345, .rollout = 2550,
	      .has_window = 1, .win_start = 22 * 60, .win_end = 4 * 60 },
	    { .compatible = (char *)"board b", .version = (char *)"2.0",
	      .url = (char *)"https://cdn.example/b.upk", .size = 99,
	      .rollout = 10000 },
	};
	struct channel in = { .name = (char *)"stable", .version = 42,
	    .nreleases = 2, .releases = rel }, *c;
	const struct channel_release *r;
	char *json, id[65], signer[256];
	uint8_t *buf;
	size_t len, i;
	struct err e;

	for (i = 0; i < 32; i++)
		rel[0].bundle_id[i] = rel[1].bundle_id[31 - i] = (uint8_t)i;
	CHECK(channel_time_parse("2027-01-31T00:00:00Z", &in.expires) == 0);
	CHECK(in.expires == 1801353600);
	CHECK_OK(channel_encode(&in, &json, &len, &e), &e);
	CHECK(strstr(json, "\"rollout\":25.5") != NULL);
	CHECK(strstr(json, "\"window\":{\"start\":\"22:00\",\"end\":\"04:00\"}")
	    != NULL);
	buf = sealed(json, &len);
	CHECK_OK(channel_open(buf, len, k, &c, id, signer, sizeof(signer), &e),
	    &e);
	CHECK(strlen(id) == 64 && strstr(signer, "channel test") != NULL);
	CHECK(strcmp(c->name, "stable") == 0 && c->version == 42);
	CHECK(c->expires == in.expires && c->nreleases == 2);
	CHECK((r = channel_find(c, "board b")) != NULL);
	CHECK(strcmp(r->url, rel[1].url) == 0 && r->size == 99);
	CHECK(memcmp(r->bundle_id, rel[1].bundle_id, 32) == 0);
	CHECK(r->rollout == 10000 && !r->has_window);
	CHECK((r = channel_find(c, "board-a")) != NULL);
	CHECK(strcmp(r->version, "1.2.0") == 0 && r->rollout == 2550);
	CHECK(r->has_window && r->win_start == 1320 && r->win_end == 240);
	/* 22:00-04:00 wraps past midnight. */
	CHECK(channel_window_open(r, 23 * 60) && channel_window_open(r, 0));
	CHECK(channel_window_open(r, 239) && !channel_window_open(r, 240));
	CHECK(!channel_window_open(r, 12 * 60));
	CHECK(channel_find(c, "board-c") == NULL);
	/* Fresh until the second it expires. */
	CHECK_OK(channel_check_fresh(c, in.expires - 1, &e), &e);
	CHECK(channel_check_fresh(c, in.expires, &e) == -EKEYEXPIRED);
	CHECK(strstr(e.msg, "expired at 2027-01-31T00:00:00Z") != NULL);
	channel_free(c);
	/* Without a keyring it only parses: for channel info. */
	CHECK_OK(channel_open(buf, len, NULL, &c, id, NULL, 0, &e), &e);
	channel_free(c);
	free(buf);
	free(json);
}

/* buf (a sealed channel) must fail channel_open() with r and what. */
static void
bad_file(const uint8_t *buf, size_t len, const struct keyring *k, int r,
    const char *what)
{
	struct channel *c = NULL;
	char id[65];
	struct err e;
	int got;

	err_clear(&e);
	got = channel_open(buf, len, k, &c, id, NULL, 0, &e);
	if (got != r || strstr(e.msg, what) == NULL) {
		fprintf(stderr, "r %d, message '%s', expected %d '%s'\n", got,
		    e.msg, r, what);
		exit(1);
	}
	CHECK(c == NULL);
}

static void
framing(const struct keyring *k, const struct keyring *other)
{
	uint8_t *buf, *copy;
	struct bundle_header bh = { BUNDLE_FORMAT, 100, 0 };
	size_t len;

	buf = sealed(REL(""), &len);
	CHECK((copy = malloc(len + 1)) != NULL);
	memcpy(copy, buf, len);
	copy[len] = 0;
	bad_file(copy, len + 1, k, -EBADMSG, "1 trailing bytes after the "
	    "signature block");
	bad_file(copy, len - 1, k, -EBADMSG, "truncated in the signature");
	bad_file(copy, 63, k, -EBADMSG, "63 bytes, shorter than its 64-byte");
	bad_file(copy, 80, k, -EBADMSG, "truncated");
	/* body_len out of range, both ways. */
	copy[16 + 7] = 0;
	copy[16 + 6] = 0;
	bad_file(copy, len, k, -EBADMSG, "body_len 0 out of range 2..1048576");
	copy[16 + 5] = 0x10;
	copy[16 + 7] = 1;
	bad_file(copy, len, k, -EBADMSG, "body_len 1048577 out of range");
	memcpy(copy, buf, len);
	copy[40] = 1;
	bad_file(copy, len, k, -EBADMSG, "reserved byte 40 is not zero");
	memcpy(copy, buf, len);
	copy[1] = 'X';
	bad_file(copy, len, k, -EBADMSG, "channel header: bad magic");
	/* A bundle's header where a channel's belongs. */
	bundle_header_encode(&bh, copy);
	bad_file(copy, len, k, -EBADMSG, "this is a bundle, not a channel");
	/* One changed byte of the body: the signature fails. */
	memcpy(copy, buf, len);
	copy[CHANNEL_HEADER_SIZE + 20] ^= 1;
	bad_file(copy, len, k, -EBADMSG, "signature does not match");
	/* A signer from outside the keyring. */
	bad_file(buf, len, other, -EKEYREJECTED, "channel: signer");
	free(copy);
	free(buf);
}

static void
times(void)
{
	char out[21], num[16];
	int64_t t;

	CHECK(channel_time_parse("2028-02-29T23:59:59Z", &t) == 0);
	channel_time_format(t, out);
	CHECK(strcmp(out, "2028-02-29T23:59:59Z") == 0);
	CHECK(channel_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
	CHECK(channel_time_parse("2027-13-01T00:00:00Z", &t) < 0);
	CHECK(channel_time_parse("2027-04-31T00:00:00Z", &t) < 0);
	CHECK(channel_time_parse("2027-01-01T24:00:00Z", &t) < 0);
	CHECK(channel_time_parse("2027-01-01T00:00:00+00:00", &t) < 0);
	CHECK(channel_time_parse("2027-01-01t00:00:00z", &t) < 0);
	channel_rollout_format(2550, num);
	CHECK(strcmp(num, "25.5") == 0);
	channel_rollout_format(1, num);
	CHECK(strcmp(num, "0.01") == 0);
	channel_rollout_format(10000, num);
	CHECK(strcmp(num, "100") == 0);
}

int
main(void)
{
	struct keyring *k, *other;
	char *ork, *orp, *osk, *osp;
	struct err e;

	CHECK_OK(sign_keys_create("channel test", &rp, &rk, &sp, &sk, &e), &e);
	CHECK_OK(sign_keys_create("someone else", &orp, &ork, &osp, &osk, &e),
	    &e);
	CHECK_OK(keyring_load(rp, strlen(rp), NULL, 0, &k, &e), &e);
	CHECK_OK(keyring_load(orp, strlen(orp), NULL, 0, &other, &e), &e);
	malformed_top();
	malformed_releases();
	good_file(k);
	framing(k, other);
	times();
	keyring_free(k);
	keyring_free(other);
	free(rp);
	free(rk);
	free(sp);
	free(sk);
	free(orp);
	free(ork);
	free(osp);
	free(osk);
	return 0;
}

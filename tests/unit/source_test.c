/*
 * tests/unit/source_test.c: source/ without a server: the HTTP header
 * parsers and the backoff (httphdr.c), and the file and pipe sources
 * with their skips and cancels. tests/integration/source_test.sh runs
 * the HTTP source against nginx.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "source/httphdr.h"
#include "source/source.h"
#include "tests/harness.h"

static void
test_content_range(void)
{
	static const char *const bad[] = {
		"", "bytes", "bytes 5-4/10", "bytes 5-10/10", "bytes -1-2/3",
		"bytes 1-2/", "bytes 1-2/3x", "items 1-2/3", "bytes */10",
		"bytes 1-2/18446744073709551615",
		"bytes 1-99999999999999999999/*", "bytes 1 -2/3",
	};
	uint64_t f, l, t;
	size_t i;

	CHECK(httphdr_content_range("bytes 5-9/10", &f, &l, &t) == 0);
	CHECK(f == 5 && l == 9 && t == 10);
	CHECK(httphdr_content_range("BYTES 0-0/1", &f, &l, &t) == 0);
	CHECK(f == 0 && l == 0 && t == 1);
	CHECK(httphdr_content_range("bytes 7-8/*", &f, &l, &t) == 0);
	CHECK(f == 7 && l == 8 && t == HTTPHDR_TOTAL_UNKNOWN);
	CHECK(httphdr_content_range("bytes 0-18446744073709551613/"
	    "18446744073709551614", &f, &l, &t) == 0);
	CHECK(t == UINT64_MAX - 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(httphdr_content_range(bad[i], &f, &l, &t) == -EINVAL);
}

static void
test_headers(void)
{
	static const char s1[] = "HTTP/1.1 404 Not Found\r\n";
	static const char s2[] = "HTTP/2 206\r\n";
	static const char h1[] = "etag:  \"abc\" \r\n";
	static const char page[] = "<html><head><title>400 No required SSL "
	    "certificate was sent</title></head>";
	char v[8], t[16];
	int code;

	CHECK(httphdr_status(s1, strlen(s1), &code, v, sizeof(v)) == 0);
	CHECK(code == 404 && strcmp(v, "Not Fou") == 0);
	CHECK(httphdr_status(s2, strlen(s2), &code, v, sizeof(v)) == 0);
	CHECK(code == 206 && v[0] == '\0');
	CHECK(httphdr_status("HTTP/1.1 2000 x", 15, &code, v, 8) == -EINVAL);
	CHECK(httphdr_status("Content-Type: x", 15, &code, v, 8) == -EINVAL);
	CHECK(httphdr_value(h1, strlen(h1), "ETag", v, sizeof(v)) == 1);
	CHECK(strcmp(v, "\"abc\"") == 0);
	CHECK(httphdr_value(h1, strlen(h1), "ETa", v, sizeof(v)) == 0);
	CHECK(httphdr_value(h1, strlen(h1), "ETag", v, 5) == -E2BIG);
	CHECK(httphdr_title(page, sizeof(page) - 1, 400, t, sizeof(t)) == 0);
	CHECK(strcmp(t, "No required SSL") == 0);
	CHECK(httphdr_title(page, 30, 400, t, sizeof(t)) == -ENOENT);
	CHECK(httphdr_title("<title></title>", 15, 400, t, 16) == -ENOENT);
}

/* Each wait lies in the upper half of base doubled per try, capped. */
static void
test_backoff(void)
{
	uint64_t rng = 42, d;
	unsigned tryno, i, ms, lo = 0, hi = 0;

	for (tryno = 1; tryno < 70; tryno++) {
		d = 100;
		for (i = 1; i < tryno && d < 5000; i++)
			d *= 2;
		if (d > 5000)
			d = 5000;
		for (i = 0; i < 200; i++) {
			ms = httphdr_backoff_ms(100, 5000, tryno, &rng);
			CHECK(ms >= d - d / 2 && ms <= d);
			lo += ms == d - d / 2;
			hi += ms == d;
		}
	}
	CHECK(httphdr_backoff_ms(1, 1, 1, &rng) == 1);
	CHECK(httphdr_backoff_ms(7, 7, 100, &rng) >= 4);
	/* The jitter spreads: not every wait is the same. */
	CHECK(lo < 69 * 200 && hi < 69 * 200);
}

static void
test_file(void)
{
	struct source *s;
	struct err e;
	char buf[64];

	put_str("b", "0123456789");
	CHECK_OK(source_open(at("b"), NULL, &s, &e), &e);
	CHECK(strcmp(source_name(s), at("b")) == 0);
	CHECK(source_size(s) == 10 && source_offset(s) == 0);
	CHECK(source_read(s, buf, 3, -1, &e) == 3);
	CHECK(memcmp(buf, "012", 3) == 0 && source_offset(s) == 3);
	CHECK_OK(source_skip_to(s, 7, -1, &e), &e);
	CHECK(source_skip_to(s, 6, -1, &e) == -EINVAL);
	CHECK(strstr(e.msg, "cannot go back from byte 7 to 6") != NULL);
	CHECK(source_read(s, buf, sizeof(buf), -1, &e) == 3);
	CHECK(memcmp(buf, "789", 3) == 0 && source_offset(s) == 10);
	CHECK(source_read(s, buf, sizeof(buf), -1, &e) == 0);
	source_close(s);
	source_close(NULL);

	CHECK(source_open(dir, NULL, &s, &e) == -EISDIR && s == NULL);
	CHECK(strstr(e.msg, ": is a directory") != NULL);
	CHECK(source_open(at("none"), NULL, &s, &e) == -ENOENT);
	CHECK(strncmp(e.msg, "open ", 5) == 0);
	CHECK(source_open("/dev/null", NULL, &s, &e) == 0);
	CHECK(source_read(s, buf, 1, -1, &e) == 0);
	source_close(s);
}

/* A FIFO: reads wait for the writer, a skip discards, a cancel ends a
 * wait with nothing to read. */
static void
test_pipe(void)
{
	struct source *s;
	struct err e;
	char buf[64];
	int w, c[2];

	CHECK(mkfifo(at("fifo"), 0600) == 0);
	/* Open for writing first, so that the source's open does not
	 * wait for a writer. */
	CHECK((w = open(at("fifo"), O_RDWR)) >= 0);
	CHECK_OK(source_open(at("fifo"), NULL, &s, &e), &e);
	CHECK(source_size(s) == 0);
	CHECK(pipe(c) == 0);
	CHECK(write(c[1], "x", 1) == 1);
	CHECK(source_read(s, buf, 1, c[0], &e) == -ECANCELED);
	CHECK(strstr(e.msg, "cancelled at byte 0") != NULL);
	source_close(s);

	CHECK_OK(source_open(at("fifo"), NULL, &s, &e), &e);
	CHECK(write(w, "abcdefghij", 10) == 10);
	CHECK(close(w) == 0);
	CHECK(source_read(s, buf, 2, -1, &e) == 2);
	CHECK_OK(source_skip_to(s, 6, -1, &e), &e);
	CHECK(source_read(s, buf, sizeof(buf), -1, &e) == 4);
	CHECK(memcmp(buf, "ghij", 4) == 0 && source_offset(s) == 10);
	CHECK(source_skip_to(s, 11, -1, &e) == -EPIPE);
	CHECK(strstr(e.msg, "ends at byte 10, before byte 11") != NULL);
	source_close(s);

	/* "-" is standard input, named so. */
	CHECK(dup2(c[0], STDIN_FILENO) == STDIN_FILENO);
	CHECK_OK(source_open("-", NULL, &s, &e), &e);
	CHECK(strcmp(source_name(s), "standard input") == 0);
	CHECK(source_read(s, buf, 1, -1, &e) == 1 && buf[0] == 'x');
	source_close(s);
	close(c[0]);
	close(c[1]);
}

/* Without a server: a refused first connection is an error at once
 * (not retried), and a cancel before any request wins. */
static void
test_http(void)
{
	struct source_options o = { .retries = 1, .backoff_ms = 1 };
	struct source *s;
	struct err e;
	char buf[16];
	int c[2];

	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (source_open("http://127.0.0.1:1/b.upk", &o, &s, &e) == -ENOPKG)
		SKIP(e.msg);
	CHECK(strcmp(source_name(s), "http://127.0.0.1:1/b.upk") == 0);
	CHECK(source_read(s, buf, sizeof(buf), -1, &e) == -ECONNREFUSED);
	CHECK(strncmp(e.msg, "GET http://127.0.0.1:1/b.upk: ", 30) == 0);
	CHECK(strstr(e.msg, "gave up") == NULL);
	source_close(s);

	CHECK_OK(source_open("HTTPS://127.0.0.1:1/b.upk", &o, &s, &e), &e);
	CHECK(pipe(c) == 0);
	CHECK(write(c[1], "x", 1) == 1);
	CHECK(source_read(s, buf, sizeof(buf), c[0], &e) == -ECANCELED);
	CHECK(strstr(e.msg, "cancelled at byte 0") != NULL);
	CHECK_OK(source_skip_to(s, 5, -1, &e), &e);
	CHECK(source_offset(s) == 5);
	source_close(s);
	close(c[0]);
	close(c[1]);
	CHECK(strcmp(source_event_name(SOURCE_RESUME), "resume") == 0);
}

int
main(void)
{
	tmpdir_make("source_test");
	test_content_range();
	test_headers();
	test_backoff();
	test_file();
	test_pipe();
	test_http();
	tmpdir_remove();
	return 0;
}

/*
 * daemon_test: the daemon's pure parts. A release url resolved against
 * the channel's URL for every form docs/channel.md allows (and refused
 * for the one it does not); the wait before the next poll: interval with
 * its jitter, the backoff doubling from interval / 16 up to the
 * interval, and every wait inside its bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "agent/daemon.h"
#include "tests/check.h"

static void
resolves(const char *base, const char *ref, const char *want)
{
	char out[256];
	int r;

	r = daemon_url_resolve(base, ref, out, sizeof(out));
	if (r != 0 || strcmp(out, want) != 0) {
		fprintf(stderr, "%s + %s: %d \"%s\", want \"%s\"\n", base,
		    ref, r, r == 0 ? out : "", want);
		CHECK(0);
	}
}

static void
test_resolve(void)
{
	char small[24];

	resolves("https://cdn.example/fleet/stable.upc", "b/x.upk",
	    "https://cdn.example/fleet/b/x.upk");
	resolves("https://cdn.example/fleet/stable.upc", "/top/x.upk",
	    "https://cdn.example/top/x.upk");
	resolves("https://cdn.example/fleet/", "x.upk",
	    "https://cdn.example/fleet/x.upk");
	resolves("http://h:8080/c.upc?sig=1#f", "x.upk",
	    "http://h:8080/x.upk");
	resolves("http://h:8080/a/c.upc?p=/q/r", "x.upk",
	    "http://h:8080/a/x.upk");
	resolves("http://h", "x.upk", "http://h/x.upk");
	resolves("http://h?x=/y", "/x.upk", "http://h/x.upk");
	resolves("http://h/c.upc", "https://other/x.upk",
	    "https://other/x.upk");
	resolves("http://h/c.upc", "HTTP://other/x.upk", "HTTP://other/x.upk");
	CHECK(daemon_url_resolve("http://h/c.upc", "//evil/x.upk", small,
	    sizeof(small)) == -EINVAL);
	CHECK(daemon_url_resolve("http:///c.upc", "x.upk", small,
	    sizeof(small)) == -EINVAL);
	CHECK(daemon_url_resolve("http://host.example/c.upc", "long-name.upk",
	    small, sizeof(small)) == -ENAMETOOLONG);
}

static void
test_delay(void)
{
	uint64_t rng = 88172645463325252ULL;
	unsigned i, d, f, lo = 100000, hi = 0, base;

	/* No failure: 3600 s ± 10 %, and the jitter does spread. */
	for (i = 0; i < 1000; i++) {
		d = daemon_delay(3600, 0, &rng);
		CHECK(d >= 3240 && d <= 3960);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	CHECK(hi - lo > 360);
	/* Failures: 225 s, doubled per failure, capped at the interval. */
	for (f = 1; f < 40; f++) {
		base = 225;
		for (i = 1; i < f && base < 3600; i++)
			base *= 2;
		if (base > 3600)
			base = 3600;
		for (i = 0; i < 100; i++) {
			d = daemon_delay(3600, f, &rng);
			CHECK(d >= base - base / 10 && d <= base + base / 10);
		}
	}
	/* A short interval: never below 10 s before the jitter. */
	for (i = 0; i < 100; i++) {
		d = daemon_delay(60, 1, &rng);
		CHECK(d >= 9 && d <= 11);
		d = daemon_delay(10, 0, &rng);
		CHECK(d >= 9 && d <= 11);
	}
}

int
main(void)
{
	test_resolve();
	test_delay();
	return 0;
}

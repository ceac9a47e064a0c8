/*
 * rollout_test: staged rollout over 10,000 simulated device ids. Each
 * percentage selects its share within 2 points, and a device selected at
 * one percentage stays selected at every higher one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/check.h"
#include "verify/digest.h"
#include "verify/rollout.h"

#define NDEV	10000

static const double pcts[] = { 0, 1, 5, 10, 25, 50, 75, 99, 100 };
#define NPCT	(sizeof(pcts) / sizeof(pcts[0]))

static uint8_t sel[NPCT][NDEV];

/* The bucket as docs/channel.md defines it, computed apart from
 * rollout.c: first 8 bytes big-endian, mod 10000. */
static uint32_t
bucket_by_hand(const char *id, const uint8_t bid[32])
{
	uint8_t buf[64], d[32];
	uint64_t v = 0;
	size_t n = strlen(id), i;

	memcpy(buf, id, n);
	buf[n] = 0;
	memcpy(buf + n + 1, bid, 32);
	digest_sha256(buf, n + 33, d);
	for (i = 0; i < 8; i++)
		v = v << 8 | d[i];
	return (uint32_t)(v % 10000);
}

static void
run(const uint8_t bid[32])
{
	char id[16];
	size_t p, i, n;
	uint32_t bp;

	for (p = 0; p < NPCT; p++) {
		bp = (uint32_t)(pcts[p] * 100);
		for (i = 0, n = 0; i < NDEV; i++) {
			snprintf(id, sizeof(id), "dev-%05zu", i);
			sel[p][i] = (uint8_t)rollout_selected(id, bid, bp);
			n += sel[p][i];
			if (p == 0)
				CHECK(rollout_bucket(id, bid) ==
				    bucket_by_hand(id, bid));
		}
		fprintf(stderr, "rollout %5.1f%%: %5zu of %d devices\n",
		    pcts[p], n, NDEV);
		/* Within +-2 points of the percentage. */
		CHECK((double)n >= (pcts[p] - 2) * NDEV / 100);
		CHECK((double)n <= (pcts[p] + 2) * NDEV / 100);
		if (pcts[p] == 0)
			CHECK(n == 0);
		if (pcts[p] == 100)
			CHECK(n == NDEV);
		/* Raising the percentage drops no one. */
		for (i = 0; p > 0 && i < NDEV; i++)
			CHECK(!sel[p - 1][i] || sel[p][i]);
	}
}

int
main(void)
{
	uint8_t bid[32], other[32];
	char id[300];
	size_t i, same = 0;

	for (i = 0; i < 32; i++) {
		bid[i] = (uint8_t)(i * 7 + 1);
		other[i] = (uint8_t)(255 - i);
	}
	run(bid);
	run(other);
	/* Another bundle id draws other buckets: not the same devices
	 * first every time (about 1 in 10000 agree by chance). */
	for (i = 0; i < NDEV; i++) {
		snprintf(id, sizeof(id), "dev-%05zu", i);
		same += rollout_bucket(id, bid) == rollout_bucket(id, other);
	}
	CHECK(same < 20);
	/* Stable: the same pair, the same bucket. */
	CHECK(rollout_bucket("dev-00042", bid) ==
	    rollout_bucket("dev-00042", bid));
	/* Every bucket is below 10000, so 100 % selects all. */
	CHECK(rollout_bucket("", bid) < ROLLOUT_BUCKETS);
	/* An id past the limit is never selected, even at 100 %. */
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	CHECK(rollout_bucket(id, bid) == ROLLOUT_BUCKETS);
	CHECK(!rollout_selected(id, bid, 10000));
	return 0;
}

/*
 * sha256bench [--mbedtls] FILE: hashes FILE with upkit's SHA-256 (the
 * code the agent runs: the CPU's SHA instructions where it has them, or
 * mbedtls, which --mbedtls forces) in 1 MiB reads and prints
 * "SECONDS MIB/S ENGINE DIGEST", so that make bench can set the cost of
 * hashing beside the install.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "verify/bundle.h"
#include "verify/digest.h"
#include "verify/sha256.h"
#include "verify/trust.h"

int
main(int argc, char **argv)
{
	struct digest *h;
	struct timespec a, b;
	struct err e;
	uint8_t d[32];
	char hex[65], *buf;
	ssize_t n;
	double total = 0, secs;
	int fd, generic = argc == 3 && strcmp(argv[1], "--mbedtls") == 0;

	if (argc != 2 + generic ||
	    (fd = open(argv[1 + generic], O_RDONLY)) == -1) {
		fprintf(stderr, "usage: sha256bench [--mbedtls] FILE\n");
		return 2;
	}
	if (generic)
		sha256_hw_enable(0);
	if ((buf = malloc(1 << 20)) == NULL || digest_open(&h, &e) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((n = read_full(fd, buf, 1 << 20)) > 0) {
		digest_update(h, buf, (size_t)n);
		total += (double)n;
	}
	digest_final(h, d);
	clock_gettime(CLOCK_MONOTONIC, &b);
	bundle_hex(d, sizeof(d), hex);
	secs = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.3f %.0f %s %s\n", secs, total / (1 << 20) / secs,
	    sha256_hw() ? sha256_engine() : "mbedtls", hex);
	digest_free(h);
	free(buf);
	close(fd);
	return n < 0;
}

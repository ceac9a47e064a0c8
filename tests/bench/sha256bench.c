/*
 * sha256bench FILE: hashes FILE with upkit's SHA-256 (mbedtls, the code
 * the agent runs) in 1 MiB reads and prints the seconds it took, so
 * make bench can set the cost of hashing an image beside the install.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "agent/err.h"
#include "agent/util.h"
#include "verify/bundle.h"
#include "verify/trust.h"

int
main(int argc, char **argv)
{
	struct trust_sha256 *h;
	struct timespec a, b;
	struct err e;
	uint8_t d[32];
	char hex[65], *buf;
	ssize_t n;
	double total = 0;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) == -1) {
		fprintf(stderr, "usage: sha256bench FILE\n");
		return 2;
	}
	if ((buf = malloc(1 << 20)) == NULL || trust_sha256_open(&h, &e) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((n = read_full(fd, buf, 1 << 20)) > 0) {
		trust_sha256_update(h, buf, (size_t)n);
		total += (double)n;
	}
	trust_sha256_final(h, d);
	clock_gettime(CLOCK_MONOTONIC, &b);
	bundle_hex(d, sizeof(d), hex);
	printf("%.3f s %.0f MiB/s %s\n", (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9, total / (1 << 20) /
	    ((double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9), hex);
	trust_sha256_free(h);
	free(buf);
	close(fd);
	return n < 0;
}

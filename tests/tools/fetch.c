/*
 * tests/tools/fetch: copies a source (source/source.h) to a file, for
 * tests/integration/source_test.sh.
 *
 *	fetch [--ca F] [--pin P] [--cert F] [--key F] [--stall S]
 *	    [--retries N] [--backoff MS] [--backoff-max MS] [--buf N]
 *	    [--skip OFF] [--at N:OFF] FROM OUT
 *
 * --skip continues from OFF before the first read; --at copies N bytes,
 * then continues from OFF. Events go to stderr as "fetch: cut at OFF:
 * DETAIL". SIGUSR1 makes cancelfd readable. On an error the message is
 * the last line on stderr and the exit code is the errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "source/source.h"

static int cancel[2] = { -1, -1 };

static void
on_usr1(int sig)
{
	(void)sig;
	(void)!write(cancel[1], "x", 1);
}

static void
on_event(void *arg, enum source_event ev, uint64_t off, const char *detail)
{
	(void)arg;
	fprintf(stderr, "fetch: %s at %" PRIu64 ": %s\n",
	    source_event_name(ev), off, detail);
}

static int
copy(struct source *s, int out, uint64_t upto, size_t bufsz,
    struct err *e)
{
	static char *buf;
	uint64_t copied = 0;
	size_t want;
	ssize_t n;
	int r;

	if (buf == NULL && (buf = malloc(bufsz)) == NULL)
		return err_set(e, -ENOMEM, "buffer");
	for (;;) {
		want = bufsz;
		if (upto - copied < want)
			want = (size_t)(upto - copied);
		if (want == 0)
			return 0;
		if ((n = source_read(s, buf, want, cancel[0], e)) < 0)
			return (int)n;
		if ((r = write_all(out, buf, (size_t)n)) < 0)
			return err_set(e, r, "write: %s", strerror(-r));
		copied += (uint64_t)n;
		if ((size_t)n < want)
			return 0;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: fetch [options] FROM OUT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ca", 1, NULL, 'a' }, { "pin", 1, NULL, 'p' },
		{ "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' },
		{ "stall", 1, NULL, 's' }, { "retries", 1, NULL, 'r' },
		{ "backoff", 1, NULL, 'b' }, { "backoff-max", 1, NULL, 'B' },
		{ "buf", 1, NULL, 'n' }, { "skip", 1, NULL, 'S' },
		{ "at", 1, NULL, 'A' }, { NULL, 0, NULL, 0 },
	};
	struct source_options o = { .event = on_event };
	uint64_t skip = 0, at_n = UINT64_MAX, at_off = 0;
	size_t bufsz = 65536;
	struct source *s = NULL;
	struct err e = { 0 };
	int c, out, r;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a': o.ca = optarg; break;
		case 'p': o.pin = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 's': o.stall_timeout = (unsigned)atoi(optarg); break;
		case 'r': o.retries = (unsigned)atoi(optarg); break;
		case 'b': o.backoff_ms = (unsigned)atoi(optarg); break;
		case 'B': o.backoff_max_ms = (unsigned)atoi(optarg); break;
		case 'n': bufsz = strtoul(optarg, NULL, 0); break;
		case 'S': skip = strtoull(optarg, NULL, 0); break;
		case 'A':
			if (sscanf(optarg, "%" SCNu64 ":%" SCNu64, &at_n,
			    &at_off) != 2)
				usage();
			break;
		default: usage();
		}
	}
	if (argc - optind != 2 || bufsz == 0)
		usage();
	if (pipe2(cancel, O_CLOEXEC) == -1 ||
	    signal(SIGUSR1, on_usr1) == SIG_ERR)
		return 1;
	if ((out = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1) {
		perror(argv[optind + 1]);
		return 1;
	}
	if ((r = source_open(argv[optind], &o, &s, &e)) == 0 &&
	    (r = source_skip_to(s, skip, cancel[0], &e)) == 0 &&
	    (r = copy(s, out, at_n, bufsz, &e)) == 0 && at_n != UINT64_MAX &&
	    (r = source_skip_to(s, at_off, cancel[0], &e)) == 0)
		r = copy(s, out, UINT64_MAX, bufsz, &e);
	if (r < 0)
		fprintf(stderr, "fetch: %s\n", e.msg);
	else
		printf("%" PRIu64 " %" PRIu64 "\n", source_offset(s),
		    source_size(s));
	source_close(s);
	close(out);
	return r < 0 ? -r : 0;
}

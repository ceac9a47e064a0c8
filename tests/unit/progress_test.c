/*
 * progress_test: agent/progress.c's lines mode, with stderr a file, as a
 * log or a pipe gets it: plain lines, no \r, one each PROGRESS_LINE_STEP
 * percent of the write; one for every percent the write moves once
 * line_every_ms passed without a line (0 here, so that no test waits on
 * a clock); "checked" lines without a read-back for bundle verify; none
 * at all with -q; a payload line with -v; the bar only in bar mode.
 */
#include <string.h>

#include "agent/cli.h"
#include "agent/progress.h"
#include "tests/harness.h"

static char buf[65536];

/* CHECK prints on stderr, which feed() points at a file: say it on
 * stdout too. */
#undef CHECK
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("%s:%d: CHECK(%s) failed; stderr had:\n%s",	\
		    __FILE__, __LINE__, #cond, buf);			\
		exit(1);						\
	}								\
} while (0)

/* Runs a write of 100 units, one at a time, with the read-back behind
 * it, into a fresh stderr file; returns what was printed. */
static const char *
feed(enum progress_mode mode, long every_ms, int check_only)
{
	struct progress p;
	FILE *f;
	size_t n;
	int i;

	CHECK((f = tmpfile()) != NULL);
	fflush(stderr);
	CHECK(dup2(fileno(f), 2) == 2);
	progress_init(&p, mode);
	if (every_ms >= 0)
		p.line_every_ms = (uint64_t)every_ms;
	p.check_only = check_only;
	for (i = 1; i <= 100; i++) {
		progress_update(&p, "write", i <= 50 ? "rootfs" : "boot",
		    (uint64_t)i, 100);
		if (!check_only && i % 4 == 0)
			progress_update(&p, "verify", "rootfs", (uint64_t)i,
			    100);
	}
	if (!check_only)
		progress_update(&p, "verify", "boot", 100, 100);
	progress_end(&p);
	fflush(stderr);
	CHECK(lseek(2, 0, SEEK_SET) == 0);
	n = (size_t)read(2, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

int
main(void)
{
	const char *s;
	int saved = dup(2);

	CHECK(saved >= 0);
	s = feed(PROGRESS_LINES, -1, 0);
	/* 1%, then 10%, 20% ... 100%, and the read-back's end. */
	CHECK(count(s, "\nwritten ") + (strncmp(s, "written ", 8) == 0) == 12);
	CHECK(count(s, "; read back 100%\n") == 1);
	CHECK(strchr(s, '\r') == NULL);
	CHECK(strstr(s, "rootfs") == NULL);

	/* The clock rule: a line for each percent once the interval is
	 * up (a slow download); here it always is. */
	s = feed(PROGRESS_LINES, 0, 0);
	CHECK(count(s, "written ") == 101);
	CHECK(count(s, "written 37% (") == 1);
	CHECK(count(s, "; read back 100%\n") == 1);

	s = feed(PROGRESS_LINES, -1, 1);
	CHECK(count(s, "checked ") == 11);
	CHECK(strstr(s, "read back") == NULL && strstr(s, "written") == NULL);

	s = feed(PROGRESS_BAR, -1, 0);
	CHECK(strchr(s, '\r') != NULL && strstr(s, "written ") == NULL);

	cli.verbosity = -1;
	s = feed(PROGRESS_LINES, 0, 0);
	CHECK(s[0] == '\0');
	s = feed(PROGRESS_BAR, 0, 0);
	CHECK(s[0] == '\0');

	cli.verbosity = 1;
	s = feed(PROGRESS_LINES, -1, 0);
	CHECK(strncmp(s, "payload rootfs\n", 15) == 0);
	CHECK(count(s, "\npayload boot\n") == 1);
	cli.verbosity = 0;

	CHECK(dup2(saved, 2) == 2);
	printf("progress: 12 lines by percent, 101 by the clock, none with "
	    "-q, payloads with -v\n");
	return 0;
}

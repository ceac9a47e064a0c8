/*
 * tests/harness.h: what the unit tests share beyond CHECK. A temp folder
 * and paths in it, small file writes and reads, shell commands, upkit's
 * commands run in this process with their output captured, and the
 * U-Boot env of a device in files. Header-only: each test gets its own
 * copy, and what a test does not use costs it nothing.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"
#include "tests/check.h"

#define HARNESS_UNUSED	__attribute__((unused))

/* The test's temp folder, made by tmpdir_make(): /tmp/NAME.XXXXXX. */
static char dir[40] HARNESS_UNUSED;
/* What the last capture() or cmd() printed, cut to the buffer's size. */
static char out[65536] HARNESS_UNUSED, errout[65536] HARNESS_UNUSED;

static const char *shell(const char *, ...) HARNESS_UNUSED
    __attribute__((format(printf, 1, 2)));
static int cmd(int (*)(int, char **), const char *, ...) HARNESS_UNUSED
    __attribute__((format(printf, 2, 3)));

/* Makes /tmp/NAME.XXXXXX into dir. */
static HARNESS_UNUSED void
tmpdir_make(const char *name)
{
	int n;

	n = snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", name);
	CHECK(n > 0 && (size_t)n < sizeof(dir));
	CHECK(mkdtemp(dir) != NULL);
}

/* Removes dir and all in it. */
static HARNESS_UNUSED void
tmpdir_remove(void)
{
	CHECK(shell("rm -rf '%s'", dir) != NULL);
}

/* dir/NAME, in one of eight buffers that are reused in turn. */
static HARNESS_UNUSED char *
at(const char *name)
{
	static char bufs[8][1024];
	static int i;

	i = (i + 1) % 8;
	snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", dir, name);
	return bufs[i];
}

/* Creates or truncates p and writes buf into it with stdio. */
static HARNESS_UNUSED void
write_file(const char *p, const void *buf, size_t len)
{
	FILE *f;

	CHECK((f = fopen(p, "w")) != NULL);
	CHECK(fwrite(buf, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

static HARNESS_UNUSED void
write_str(const char *p, const char *s)
{
	write_file(p, s, strlen(s));
}

/* Replaces dir/NAME with data through file_write_atomic(), mode 0644. */
static HARNESS_UNUSED void
put(const char *name, const void *data, size_t len)
{
	struct err e;

	CHECK_OK(file_write_atomic(at(name), data, len, 0644, &e), &e);
}

static HARNESS_UNUSED void
put_str(const char *name, const char *s)
{
	put(name, s, strlen(s));
}

/* put_str() of a malloc'd PEM text, which it frees. */
static HARNESS_UNUSED void
put_pem(const char *name, char *pem)
{
	put_str(name, pem);
	free(pem);
}

/* Reads what is left of f into buf, at most size - 1 bytes, and ends it
 * with a NUL. */
static HARNESS_UNUSED void
read_rest(FILE *f, char *buf, size_t size)
{
	size_t n;

	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
}

/* The start of file p as a string, as read_rest(). */
static HARNESS_UNUSED void
slurp(const char *p, char *buf, size_t size)
{
	FILE *f;

	CHECK((f = fopen(p, "r")) != NULL);
	read_rest(f, buf, size);
	fclose(f);
}

/* Runs a shell command and returns the start of its stdout (static, up
 * to 8 KiB), or NULL if it failed. The rest of the output is read and
 * dropped, so the command never blocks on a full pipe. */
static const char *
shell(const char *fmt, ...)
{
	static char res[8192];
	char line[4096], rest[4096];
	va_list ap;
	FILE *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	CHECK(n > 0 && (size_t)n < sizeof(line));
	CHECK((p = popen(line, "r")) != NULL);
	read_rest(p, res, sizeof(res));
	while (fread(rest, 1, sizeof(rest), p) > 0)
		;
	if (pclose(p) != 0)
		return NULL;
	return res;
}

/* A new file for capture(): dir/NAME, which a crash (a sanitizer's
 * report) leaves behind to read, or an unnamed one before tmpdir_make(). */
static HARNESS_UNUSED FILE *
capture_file(const char *name)
{
	FILE *f;

	CHECK((f = dir[0] != '\0' ? fopen(at(name), "w+") : tmpfile()) !=
	    NULL);
	return f;
}

/* Runs fn(argc, argv) in this process, its stdout into out and its
 * stderr into errout, and returns what it returned. */
static HARNESS_UNUSED int
capture(int (*fn)(int, char **), int argc, char **argv)
{
	FILE *fo, *fe;
	int so, se, rc;

	fflush(stdout);
	fflush(stderr);
	fo = capture_file("stdout");
	fe = capture_file("stderr");
	CHECK((so = dup(1)) != -1 && (se = dup(2)) != -1);
	CHECK(dup2(fileno(fo), 1) == 1 && dup2(fileno(fe), 2) == 2);
	rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	CHECK(dup2(so, 1) == 1 && dup2(se, 2) == 2);
	close(so);
	close(se);
	rewind(fo);
	rewind(fe);
	read_rest(fo, out, sizeof(out));
	read_rest(fe, errout, sizeof(errout));
	fclose(fo);
	fclose(fe);
	return rc;
}

/* capture() of fn on its arguments, up to 15, until the first NULL. */
static HARNESS_UNUSED int
capture_args(int (*fn)(int, char **), ...)
{
	char *argv[16];
	va_list ap;
	int argc = 0;

	va_start(ap, fn);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return capture(fn, argc, argv);
}

/*
 * capture() of fn on a command line: the formatted line is split at
 * spaces into argv, and the first "@" in a word stands for dir and a '/'
 * ("info @b.upk" is "info", "DIR/b.upk").
 */
static int
cmd(int (*fn)(int, char **), const char *fmt, ...)
{
	char buf[2048], word[1024], *argv[32], *tok, *save = NULL, *a;
	va_list ap;
	int argc = 0, n, rc;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	CHECK(n > 0 && (size_t)n < sizeof(buf));
	for (tok = strtok_r(buf, " ", &save); tok != NULL && argc < 31;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((a = strchr(tok, '@')) != NULL) {
			*a = '\0';
			snprintf(word, sizeof(word), "%s%s/%s", tok, dir,
			    a + 1);
		} else
			snprintf(word, sizeof(word), "%s", tok);
		CHECK((argv[argc++] = strdup(word)) != NULL);
	}
	argv[argc] = NULL;
	rc = capture(fn, argc, argv);
	while (argc > 0)
		free(argv[--argc]);
	return rc;
}

/* Commits order ("B A") and the tries left of A and B to the U-Boot env
 * that the fw_env.config envcfg names. */
static HARNESS_UNUSED void
set_env(const char *envcfg, const char *order, int a, int b)
{
	const struct bootenv_ops *ops = bootenv_find("uboot");
	struct bootenv *be;
	struct bootstate st = { 0 };
	struct err e = { 0, "" };

	CHECK(ops != NULL);
	CHECK_OK(ops->open(envcfg, &be, &e), &e);
	CHECK_OK(bootstate_order_parse(order, &st, &e), &e);
	st.left[0] = a;
	st.left[1] = b;
	CHECK_OK(ops->commit(be, &st, &e), &e);
	ops->close(be);
}

/* Loads that env into st. */
static HARNESS_UNUSED void
get_env(const char *envcfg, struct bootstate *st)
{
	const struct bootenv_ops *ops = bootenv_find("uboot");
	struct bootenv *be;
	struct err e = { 0, "" };

	CHECK(ops != NULL);
	CHECK_OK(ops->open(envcfg, &be, &e), &e);
	CHECK_OK(ops->load(be, st, &e), &e);
	ops->close(be);
}

#endif /* TESTS_HARNESS_H */

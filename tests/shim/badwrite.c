/*
 * tests/shim/badwrite.so: storage that lies. LD_PRELOADed into upkit, it
 * flips one bit in the data of every pwrite() at or past byte offset
 * $BADWRITE_OFFSET of the file named $BADWRITE_PATH, and reports success:
 * what a worn flash or a bad cable does. Only the read-back can catch it.
 * The last resort STYLE.md allows, for the one fault nothing else fakes
 * (no device-mapper here).
 *
 * Also a power cut between two steps: with $FAILRENAME_PATH set, every
 * rename() onto that path after the first $FAILRENAME_SKIP fails with
 * EIO, as if the machine had stopped before the rename.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static int
is_target(int fd)
{
	const char *want = getenv("BADWRITE_PATH");
	struct stat a, b;

	if (want == NULL || fstat(fd, &a) == -1 || stat(want, &b) == -1)
		return 0;
	if (S_ISBLK(a.st_mode))
		return S_ISBLK(b.st_mode) && a.st_rdev == b.st_rdev;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static ssize_t
bad_pwrite(pwrite_fn real, int fd, const void *buf, size_t len, off_t off)
{
	const char *at = getenv("BADWRITE_OFFSET");
	void *copy;
	ssize_t n;

	if (len == 0 || at == NULL || off + (off_t)len <= atoll(at) ||
	    !is_target(fd))
		return real(fd, buf, len, off);
	/* Aligned, so O_DIRECT writes still work. */
	if (posix_memalign(&copy, 4096, len) != 0)
		return real(fd, buf, len, off);
	memcpy(copy, buf, len);
	((unsigned char *)copy)[len - 1] ^= 0x01;
	n = real(fd, copy, len, off);
	free(copy);
	return n;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static pwrite_fn real;

	if (real == NULL)
		real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
	return bad_pwrite(real, fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	static pwrite_fn real;

	if (real == NULL)
		real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	return bad_pwrite(real, fd, buf, len, off);
}

typedef int (*rename_fn)(const char *, const char *);

int
rename(const char *from, const char *to)
{
	static rename_fn real;
	static int seen;
	const char *want = getenv("FAILRENAME_PATH");
	const char *skip = getenv("FAILRENAME_SKIP");

	if (real == NULL)
		real = (rename_fn)dlsym(RTLD_NEXT, "rename");
	if (want != NULL && strcmp(to, want) == 0 &&
	    seen++ >= (skip != NULL ? atoi(skip) : 0)) {
		errno = EIO;
		return -1;
	}
	return real(from, to);
}

/*
 * tests/shim/nospace.so: a file system that fills up at a chosen moment.
 * LD_PRELOADed into upkit: the first $NOSPACE_SKIP opens (default 0) of
 * the path $NOSPACE_PATH, spelled as upkit spells it, behave; after
 * that, every write() to a descriptor opened under that path fails with
 * ENOSPC, as write(2) does on a full file system. Used to fill the data
 * directory between two state saves of one update, which no real file
 * system does deterministically.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define FDS	1024

static unsigned char full[FDS];		/* fd opened after the skip */
static int seen;

/* Marks fd if path is the one that fills; returns fd. */
static int
opened(const char *path, int fd)
{
	const char *want = getenv("NOSPACE_PATH");
	const char *skip = getenv("NOSPACE_SKIP");

	if (fd < 0 || fd >= FDS)
		return fd;
	full[fd] = 0;
	if (want != NULL && strcmp(path, want) == 0 &&
	    seen++ >= (skip != NULL ? atoi(skip) : 0))
		full[fd] = 1;
	return fd;
}

static mode_t
mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) != 0 ?
	    (mode_t)va_arg(ap, int) : 0;
}

#define WRAP_OPEN(name)							\
int									\
name(const char *path, int flags, ...)					\
{									\
	static int (*real)(const char *, int, ...);			\
	va_list ap;							\
	mode_t mode;							\
									\
	if (real == NULL)						\
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT,\
		    #name);						\
	va_start(ap, flags);						\
	mode = mode_arg(flags, ap);					\
	va_end(ap);							\
	return opened(path, real(path, flags, mode));			\
}

#define WRAP_OPENAT(name)						\
int									\
name(int dirfd, const char *path, int flags, ...)			\
{									\
	static int (*real)(int, const char *, int, ...);		\
	va_list ap;							\
	mode_t mode;							\
									\
	if (real == NULL)						\
		real = (int (*)(int, const char *, int, ...))dlsym(	\
		    RTLD_NEXT, #name);					\
	va_start(ap, flags);						\
	mode = mode_arg(flags, ap);					\
	va_end(ap);							\
	return opened(path, real(dirfd, path, flags, mode));		\
}

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(
		    RTLD_NEXT, "write");
	if (fd >= 0 && fd < FDS && full[fd] && len > 0) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, len);
}

int
close(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "close");
	if (fd >= 0 && fd < FDS)
		full[fd] = 0;
	return real(fd);
}

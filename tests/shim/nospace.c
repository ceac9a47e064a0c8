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

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*close_fn)(int);

/* The next definitions, looked up when the shim is loaded, before upkit
 * starts a thread, so that threads only read them. */
static open_fn real_open, real_open64;
static openat_fn real_openat, real_openat64;
static write_fn real_write;
static close_fn real_close;

__attribute__((constructor)) static void
resolve(void)
{
	real_open = (open_fn)dlsym(RTLD_NEXT, "open");
	real_open64 = (open_fn)dlsym(RTLD_NEXT, "open64");
	real_openat = (openat_fn)dlsym(RTLD_NEXT, "openat");
	real_openat64 = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	real_write = (write_fn)dlsym(RTLD_NEXT, "write");
	real_close = (close_fn)dlsym(RTLD_NEXT, "close");
}

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
	    __atomic_fetch_add(&seen, 1, __ATOMIC_SEQ_CST) >=
	    (skip != NULL ? atoi(skip) : 0))
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
	va_list ap;							\
	mode_t mode;							\
									\
	if (real_##name == NULL)	/* before resolve() ran */	\
		resolve();						\
	va_start(ap, flags);						\
	mode = mode_arg(flags, ap);					\
	va_end(ap);							\
	return opened(path, real_##name(path, flags, mode));		\
}

#define WRAP_OPENAT(name)						\
int									\
name(int dirfd, const char *path, int flags, ...)			\
{									\
	va_list ap;							\
	mode_t mode;							\
									\
	if (real_##name == NULL)	/* before resolve() ran */	\
		resolve();						\
	va_start(ap, flags);						\
	mode = mode_arg(flags, ap);					\
	va_end(ap);							\
	return opened(path, real_##name(dirfd, path, flags, mode));	\
}

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)

ssize_t
write(int fd, const void *buf, size_t len)
{
	if (real_write == NULL)		/* before resolve() ran */
		resolve();
	if (fd >= 0 && fd < FDS && full[fd] && len > 0) {
		errno = ENOSPC;
		return -1;
	}
	return real_write(fd, buf, len);
}

int
close(int fd)
{
	if (real_close == NULL)		/* before resolve() ran */
		resolve();
	if (fd >= 0 && fd < FDS)
		full[fd] = 0;
	return real_close(fd);
}

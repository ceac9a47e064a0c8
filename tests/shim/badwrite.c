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
 *
 * A power cut at a given save: with $KILLRENAME_PATH set, the
 * $KILLRENAME_AT-th rename() onto that path (counting from 1) kills the
 * process (SIGKILL), after the rename, or before it with
 * $KILLRENAME_WHEN=before: the new file was written aside and fsync'd,
 * the rename never happened (a power cut during the save).
 *
 * A power cut at the first write: with $BADWRITE_KILL=1, the first
 * pwrite(), write() or fallocate() that would change $BADWRITE_PATH
 * kills the process (SIGKILL) before the byte lands, so a test sees what
 * the env held before any byte of the target was written.
 *
 * Storage that cannot flush: with $FAILSYNC_PATH set, fsync(),
 * fdatasync() and syncfs() fail with EIO on that file or folder and on
 * anything open under it (a files slot's aside folder and its files).
 * $FAILSYNC_CALLS, a comma-separated list of those names, limits the
 * failure to the calls it names ("syncfs": only syncfs() fails).
 *
 * A power cut after a durable step: with $KILLSYNC_PATH (a folder) set,
 * the $KILLSYNC_AT-th successful syncfs() on anything open under it
 * kills the process right after it returns. The efi backend ends each
 * of its ordered steps with one, so a test can stop after every step.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*rename_fn)(const char *, const char *);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*fallocate_fn)(int, int, off_t, off_t);
typedef int (*sync_fn)(int);

/*
 * The next definitions of the calls wrapped here, looked up once by
 * resolve() when the shim is loaded, before upkit starts a thread: the
 * writer threads only read them (ThreadSanitizer saw two threads race
 * to fill a lazily looked-up pointer).
 */
static pwrite_fn real_pwrite, real_pwrite64;
static rename_fn real_rename;
static write_fn real_write;
static fallocate_fn real_fallocate, real_fallocate64;
static sync_fn real_fsync, real_fdatasync, real_syncfs;

__attribute__((constructor)) static void
resolve(void)
{
	real_pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	real_rename = (rename_fn)dlsym(RTLD_NEXT, "rename");
	real_write = (write_fn)dlsym(RTLD_NEXT, "write");
	real_fallocate = (fallocate_fn)dlsym(RTLD_NEXT, "fallocate");
	real_fallocate64 = (fallocate_fn)dlsym(RTLD_NEXT, "fallocate64");
	real_fsync = (sync_fn)dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (sync_fn)dlsym(RTLD_NEXT, "fdatasync");
	real_syncfs = (sync_fn)dlsym(RTLD_NEXT, "syncfs");
}

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

/* $BADWRITE_KILL: the first write to the target never returns. */
static void
maybe_kill(int fd)
{
	const char *kill = getenv("BADWRITE_KILL");

	if (kill != NULL && strcmp(kill, "1") == 0 && is_target(fd))
		raise(SIGKILL);
}

static ssize_t
bad_pwrite(pwrite_fn real, int fd, const void *buf, size_t len, off_t off)
{
	const char *at = getenv("BADWRITE_OFFSET");
	void *copy;
	ssize_t n;

	if (len > 0)
		maybe_kill(fd);
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
	if (real_pwrite == NULL)	/* before resolve() ran */
		resolve();
	return bad_pwrite(real_pwrite, fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	if (real_pwrite64 == NULL)	/* before resolve() ran */
		resolve();
	return bad_pwrite(real_pwrite64, fd, buf, len, off);
}

/* $KILLRENAME_*: called before (before 1) and after a rename onto to. */
static void
kill_rename(const char *to, int before)
{
	static int count;
	const char *want = getenv("KILLRENAME_PATH");
	const char *at = getenv("KILLRENAME_AT");
	const char *when = getenv("KILLRENAME_WHEN");
	int kill_before = when != NULL && strcmp(when, "before") == 0;

	if (want == NULL || at == NULL || strcmp(to, want) != 0)
		return;
	if (before)
		__atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST);
	if (before == kill_before &&
	    __atomic_load_n(&count, __ATOMIC_SEQ_CST) == atoi(at))
		raise(SIGKILL);
}

int
rename(const char *from, const char *to)
{
	static int seen;
	const char *want = getenv("FAILRENAME_PATH");
	const char *skip = getenv("FAILRENAME_SKIP");
	int r;

	if (real_rename == NULL)	/* before resolve() ran */
		resolve();
	if (want != NULL && strcmp(to, want) == 0 &&
	    __atomic_fetch_add(&seen, 1, __ATOMIC_SEQ_CST) >=
	    (skip != NULL ? atoi(skip) : 0)) {
		errno = EIO;
		return -1;
	}
	kill_rename(to, 1);
	r = real_rename(from, to);
	kill_rename(to, 0);
	return r;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	if (real_write == NULL)	/* before resolve() ran */
		resolve();
	if (len > 0)
		maybe_kill(fd);
	return real_write(fd, buf, len);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	if (real_fallocate == NULL)	/* before resolve() ran */
		resolve();
	maybe_kill(fd);
	return real_fallocate(fd, mode, off, len);
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	if (real_fallocate64 == NULL)	/* before resolve() ran */
		resolve();
	maybe_kill(fd);
	return real_fallocate64(fd, mode, off, len);
}

/* Whether fd is want itself, or open under it. */
static int
fd_under(int fd, const char *want)
{
	char link[64], at[PATH_MAX], *top;
	struct stat a, b;
	ssize_t n;
	size_t k;
	int r;

	if (want == NULL || fstat(fd, &a) == -1)
		return 0;
	if (stat(want, &b) == 0 && (S_ISBLK(a.st_mode) ?
	    S_ISBLK(b.st_mode) && a.st_rdev == b.st_rdev :
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		return 1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, at, sizeof(at) - 1)) <= 0 ||
	    (top = realpath(want, NULL)) == NULL)
		return 0;
	at[n] = '\0';
	k = strlen(top);
	r = strncmp(at, top, k) == 0 && at[k] == '/';
	free(top);
	return r;
}

/* Whether $FAILSYNC_CALLS (unset: all) names the call. */
static int
call_fails(const char *name)
{
	const char *calls = getenv("FAILSYNC_CALLS");
	size_t n = strlen(name);
	const char *p;

	if (calls == NULL)
		return 1;
	for (p = calls; (p = strstr(p, name)) != NULL; p += n)
		if ((p == calls || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

static int
bad_sync(const char *name, sync_fn *real, int fd)
{
	if (call_fails(name) && fd_under(fd, getenv("FAILSYNC_PATH"))) {
		errno = EIO;
		return -1;
	}
	return (*real)(fd);
}

/* $KILLSYNC_*: after the $KILLSYNC_AT-th syncfs() under the path. */
static void
kill_sync(int fd)
{
	static int count;
	const char *want = getenv("KILLSYNC_PATH");
	const char *at = getenv("KILLSYNC_AT");

	if (want == NULL || at == NULL || !fd_under(fd, want))
		return;
	if (__atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST) == atoi(at))
		raise(SIGKILL);
}

int
fsync(int fd)
{
	if (real_fsync == NULL)	/* before resolve() ran */
		resolve();
	return bad_sync("fsync", &real_fsync, fd);
}

int
fdatasync(int fd)
{
	if (real_fdatasync == NULL)	/* before resolve() ran */
		resolve();
	return bad_sync("fdatasync", &real_fdatasync, fd);
}

int
syncfs(int fd)
{
	int r;

	if (real_syncfs == NULL)	/* before resolve() ran */
		resolve();
	r = bad_sync("syncfs", &real_syncfs, fd);
	if (r == 0)
		kill_sync(fd);
	return r;
}

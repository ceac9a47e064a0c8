/*
 * tests/shim/powerlog.so: a record of every change upkit makes to its
 * storage, for the power-cut simulator (tests/tools/powercut.c,
 * docs/powercut.md). LD_PRELOADed into upkit, it appends one record per
 * successful mutating call on anything under $POWERLOG_WATCH (paths
 * separated by ':', each a folder, a file or a block device, given as
 * canonical absolute paths) to $POWERLOG_OUT:
 *
 *	W dev ino off len path	+ len bytes: write, pwrite, pwritev
 *	Z dev ino off len path	fallocate (zero or punch a range)
 *	T dev ino size path	ftruncate, or open with O_TRUNC
 *	S dev ino covers path	fsync, fdatasync (of a file or a folder)
 *	F dev covers		syncfs
 *	C dev ino mode path	open that created a file
 *	D dev ino mode path	mkdir
 *	N from to		rename, renameat
 *	X a b			renameat2(RENAME_EXCHANGE), also via syscall()
 *	U path			unlink, unlinkat
 *	R path			rmdir, unlinkat(AT_REMOVEDIR)
 *
 * Fields are separated by tabs, each header ends with a newline. A file
 * is named by what it is (st_dev, st_ino; a block device by st_rdev, ino
 * 0) and by the path it has at the call. A record is written after its
 * call returned, so a call the program saw complete is always in the log
 * before whatever the program did next. "covers" is the log's length
 * when the sync started: the records before that offset are what the
 * sync makes durable; a write that completes while the sync runs is not
 * counted as covered, which can only make the simulator assume less.
 *
 * With $POWERLOG_NOEXCHANGE=1, renameat2(RENAME_EXCHANGE) fails with
 * EINVAL, as on vfat before Linux 6.0, so slots/files.c swaps a files
 * slot with its two renames instead.
 *
 * Each record is one write() to a file opened with O_APPEND, under one
 * lock, so records of concurrent threads never interleave. The wrapped
 * calls are looked up once, when the shim is loaded (see badwrite.c).
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE	(1 << 1)
#endif

#define MAXWATCH	16

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*fallocate_fn)(int, int, off_t, off_t);
typedef int (*ftruncate_fn)(int, off_t);
typedef int (*sync_fn)(int);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);
typedef int (*renameat2_fn)(int, const char *, int, const char *,
    unsigned int);
typedef int (*unlink_fn)(const char *);
typedef int (*unlinkat_fn)(int, const char *, int);
typedef int (*mkdir_fn)(const char *, mode_t);
typedef long (*syscall_fn)(long, ...);

static open_fn real_open, real_open64;
static openat_fn real_openat, real_openat64;
static write_fn real_write;
static pwrite_fn real_pwrite, real_pwrite64;
static pwritev_fn real_pwritev, real_pwritev64;
static fallocate_fn real_fallocate, real_fallocate64;
static ftruncate_fn real_ftruncate, real_ftruncate64;
static sync_fn real_fsync, real_fdatasync, real_syncfs;
static rename_fn real_rename;
static renameat_fn real_renameat;
static renameat2_fn real_renameat2;
static unlink_fn real_unlink, real_rmdir;
static unlinkat_fn real_unlinkat;
static mkdir_fn real_mkdir;
static syscall_fn real_syscall;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int logfd = -1;
static char *watch[MAXWATCH];		/* canonical folder or file paths */
static dev_t watch_rdev[MAXWATCH];	/* block devices */
static int nwatch, nrdev;

__attribute__((constructor)) static void
resolve(void)
{
	const char *out = getenv("POWERLOG_OUT");
	const char *w = getenv("POWERLOG_WATCH");
	char *copy, *p, *save;
	struct stat st;

	if (real_write != NULL)
		return;
	real_open = (open_fn)dlsym(RTLD_NEXT, "open");
	real_open64 = (open_fn)dlsym(RTLD_NEXT, "open64");
	real_openat = (openat_fn)dlsym(RTLD_NEXT, "openat");
	real_openat64 = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	real_pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	real_pwritev = (pwritev_fn)dlsym(RTLD_NEXT, "pwritev");
	real_pwritev64 = (pwritev_fn)dlsym(RTLD_NEXT, "pwritev64");
	real_fallocate = (fallocate_fn)dlsym(RTLD_NEXT, "fallocate");
	real_fallocate64 = (fallocate_fn)dlsym(RTLD_NEXT, "fallocate64");
	real_ftruncate = (ftruncate_fn)dlsym(RTLD_NEXT, "ftruncate");
	real_ftruncate64 = (ftruncate_fn)dlsym(RTLD_NEXT, "ftruncate64");
	real_fsync = (sync_fn)dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (sync_fn)dlsym(RTLD_NEXT, "fdatasync");
	real_syncfs = (sync_fn)dlsym(RTLD_NEXT, "syncfs");
	real_rename = (rename_fn)dlsym(RTLD_NEXT, "rename");
	real_renameat = (renameat_fn)dlsym(RTLD_NEXT, "renameat");
	real_renameat2 = (renameat2_fn)dlsym(RTLD_NEXT, "renameat2");
	real_unlink = (unlink_fn)dlsym(RTLD_NEXT, "unlink");
	real_rmdir = (unlink_fn)dlsym(RTLD_NEXT, "rmdir");
	real_unlinkat = (unlinkat_fn)dlsym(RTLD_NEXT, "unlinkat");
	real_mkdir = (mkdir_fn)dlsym(RTLD_NEXT, "mkdir");
	real_syscall = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
	/* Last: its being set tells the wrappers that all the rest is. */
	real_write = (write_fn)dlsym(RTLD_NEXT, "write");
	if (out == NULL || w == NULL)
		return;
	logfd = real_open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	if ((copy = strdup(w)) == NULL)
		return;
	for (p = strtok_r(copy, ":", &save); p != NULL && nwatch < MAXWATCH;
	    p = strtok_r(NULL, ":", &save)) {
		if (stat(p, &st) == 0 && S_ISBLK(st.st_mode))
			watch_rdev[nrdev++] = st.st_rdev;
		watch[nwatch++] = strdup(p);
	}
	free(copy);
}

#define READY()	do { if (real_write == NULL) resolve(); } while (0)

static int
under_watch(const char *path)
{
	size_t n;
	int i;

	for (i = 0; i < nwatch; i++) {
		if (watch[i] == NULL)
			continue;
		n = strlen(watch[i]);
		if (strncmp(path, watch[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/* The absolute path of name relative to dirfd (AT_FDCWD: the cwd).
 * Symlinks are not resolved: watched paths and upkit's config name the
 * same canonical paths. */
static int
abs_at(int dirfd, const char *name, char *out, size_t len)
{
	char link[64];
	ssize_t n;

	if (name[0] == '/')
		return snprintf(out, len, "%s", name) < (int)len ? 0 : -1;
	if (dirfd == AT_FDCWD) {
		if (getcwd(out, len) == NULL)
			return -1;
		n = (ssize_t)strlen(out);
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(link, out, len - 1)) <= 0)
			return -1;
	}
	return snprintf(out + n, len - (size_t)n, "/%s", name) <
	    (int)(len - (size_t)n) ? 0 : -1;
}

/*
 * Whether fd is watched; if so its path, and its identity: (st_dev,
 * st_ino), or (st_rdev, 0) for a block device.
 */
static int
fd_watched(int fd, char *path, size_t len, dev_t *devp, ino_t *inop)
{
	char link[64];
	struct stat st;
	ssize_t n;
	int i;

	if (logfd == -1 || fstat(fd, &st) == -1)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, len - 1)) <= 0)
		return 0;
	path[n] = '\0';
	if (S_ISBLK(st.st_mode)) {
		for (i = 0; i < nrdev; i++)
			if (watch_rdev[i] == st.st_rdev) {
				*devp = st.st_rdev;
				*inop = 0;
				return 1;
			}
		return 0;
	}
	*devp = st.st_dev;
	*inop = st.st_ino;
	return under_watch(path);
}

/* Appends one record: the header, then len bytes of data (may be 0). */
static void
emit(const char *hdr, const void *data, size_t len)
{
	size_t hl = strlen(hdr), done = 0;
	char *buf;
	ssize_t n;

	if ((buf = malloc(hl + len)) == NULL)
		abort();	/* a log with a hole would prove nothing */
	memcpy(buf, hdr, hl);
	if (len > 0)
		memcpy(buf + hl, data, len);
	while (done < hl + len) {
		if ((n = real_write(logfd, buf + done, hl + len - done)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			abort();
		}
		done += (size_t)n;
	}
	free(buf);
}

/* The log's length now: what a sync starting now covers. */
static unsigned long long
log_length(void)
{
	struct stat st;

	return fstat(logfd, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

static void
log_write(int fd, const void *data, size_t len, off_t off)
{
	char path[PATH_MAX], hdr[PATH_MAX + 128];
	dev_t dev;
	ino_t ino;
	int e = errno;

	if (len > 0 && fd_watched(fd, path, sizeof(path), &dev, &ino)) {
		snprintf(hdr, sizeof(hdr), "W\t%llu\t%llu\t%lld\t%zu\t%s\n",
		    (unsigned long long)dev, (unsigned long long)ino,
		    (long long)off, len, path);
		pthread_mutex_lock(&lock);
		emit(hdr, data, len);
		pthread_mutex_unlock(&lock);
	}
	errno = e;
}

static void
log_fd(char op, int fd, long long a, long long b)
{
	char path[PATH_MAX], hdr[PATH_MAX + 128];
	dev_t dev;
	ino_t ino;
	int e = errno;

	if (!fd_watched(fd, path, sizeof(path), &dev, &ino)) {
		errno = e;
		return;
	}
	if (op == 'Z')
		snprintf(hdr, sizeof(hdr), "Z\t%llu\t%llu\t%lld\t%lld\t%s\n",
		    (unsigned long long)dev, (unsigned long long)ino, a, b,
		    path);
	else
		snprintf(hdr, sizeof(hdr), "%c\t%llu\t%llu\t%lld\t%s\n", op,
		    (unsigned long long)dev, (unsigned long long)ino, a, path);
	pthread_mutex_lock(&lock);
	emit(hdr, NULL, 0);
	pthread_mutex_unlock(&lock);
	errno = e;
}

/* A path record (N, X, U, R) when either path is watched. */
static void
log_paths(char op, int d1, const char *p1, int d2, const char *p2)
{
	char a[PATH_MAX], b[PATH_MAX], hdr[2 * PATH_MAX + 8];
	int e = errno;

	if (logfd == -1 || abs_at(d1, p1, a, sizeof(a)) < 0 ||
	    (p2 != NULL && abs_at(d2, p2, b, sizeof(b)) < 0))
		goto out;
	if (!under_watch(a) && (p2 == NULL || !under_watch(b)))
		goto out;
	if (p2 != NULL)
		snprintf(hdr, sizeof(hdr), "%c\t%s\t%s\n", op, a, b);
	else
		snprintf(hdr, sizeof(hdr), "%c\t%s\n", op, a);
	pthread_mutex_lock(&lock);
	emit(hdr, NULL, 0);
	pthread_mutex_unlock(&lock);
out:
	errno = e;
}

/* C for a file the open created, T for one it truncated. */
static void
log_open(int fd, int existed, int flags)
{
	struct stat st;
	int e = errno;

	if (fd < 0)
		return;
	if (!existed && (flags & O_CREAT) && fstat(fd, &st) == 0)
		log_fd('C', fd, (long long)(st.st_mode & 07777), 0);
	else if (existed && (flags & O_TRUNC) && (flags & O_ACCMODE) != 0)
		log_fd('T', fd, 0, 0);
	errno = e;
}

static int
exists_at(int dirfd, const char *path)
{
	struct stat st;

	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static mode_t
open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
	    (mode_t)va_arg(ap, int) : 0;
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int existed, fd;

	READY();
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	existed = exists_at(AT_FDCWD, path);
	fd = real_open(path, flags, mode);
	log_open(fd, existed, flags);
	return fd;
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int existed, fd;

	READY();
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	existed = exists_at(AT_FDCWD, path);
	fd = real_open64(path, flags, mode);
	log_open(fd, existed, flags);
	return fd;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int existed, fd;

	READY();
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	existed = exists_at(dirfd, path);
	fd = real_openat(dirfd, path, flags, mode);
	log_open(fd, existed, flags);
	return fd;
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int existed, fd;

	READY();
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	existed = exists_at(dirfd, path);
	fd = real_openat64(dirfd, path, flags, mode);
	log_open(fd, existed, flags);
	return fd;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	off_t off;
	ssize_t n;

	READY();
	/* Where this write lands: the end for O_APPEND, else the offset. */
	if ((fcntl(fd, F_GETFL) & O_APPEND) != 0)
		off = lseek(fd, 0, SEEK_END);
	else
		off = lseek(fd, 0, SEEK_CUR);
	n = real_write(fd, buf, len);
	if (n > 0 && off >= 0)
		log_write(fd, buf, (size_t)n, off);
	return n;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n;

	READY();
	if ((n = real_pwrite(fd, buf, len, off)) > 0)
		log_write(fd, buf, (size_t)n, off);
	return n;
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n;

	READY();
	if ((n = real_pwrite64(fd, buf, len, off)) > 0)
		log_write(fd, buf, (size_t)n, off);
	return n;
}

static ssize_t
logged_pwritev(pwritev_fn real, int fd, const struct iovec *iov, int cnt,
    off_t off)
{
	size_t left, k;
	ssize_t n;
	char *flat;
	int i;

	if ((n = real(fd, iov, cnt, off)) <= 0)
		return n;
	if ((flat = malloc((size_t)n)) == NULL)
		abort();
	for (i = 0, left = (size_t)n; i < cnt && left > 0; i++) {
		k = iov[i].iov_len < left ? iov[i].iov_len : left;
		memcpy(flat + ((size_t)n - left), iov[i].iov_base, k);
		left -= k;
	}
	log_write(fd, flat, (size_t)n, off);
	free(flat);
	return n;
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	READY();
	return logged_pwritev(real_pwritev, fd, iov, cnt, off);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	READY();
	return logged_pwritev(real_pwritev64, fd, iov, cnt, off);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	int r;

	READY();
	if ((r = real_fallocate(fd, mode, off, len)) == 0 &&
	    (mode & (FALLOC_FL_ZERO_RANGE | FALLOC_FL_PUNCH_HOLE)) != 0)
		log_fd('Z', fd, (long long)off, (long long)len);
	return r;
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	int r;

	READY();
	if ((r = real_fallocate64(fd, mode, off, len)) == 0 &&
	    (mode & (FALLOC_FL_ZERO_RANGE | FALLOC_FL_PUNCH_HOLE)) != 0)
		log_fd('Z', fd, (long long)off, (long long)len);
	return r;
}

int
ftruncate(int fd, off_t len)
{
	int r;

	READY();
	if ((r = real_ftruncate(fd, len)) == 0)
		log_fd('T', fd, (long long)len, 0);
	return r;
}

int
ftruncate64(int fd, off_t len)
{
	int r;

	READY();
	if ((r = real_ftruncate64(fd, len)) == 0)
		log_fd('T', fd, (long long)len, 0);
	return r;
}

/* fsync and fdatasync: S with what the log held when the call began. */
static int
logged_sync(sync_fn real, int fd)
{
	unsigned long long covers = 0;
	int r;

	if (logfd != -1) {
		pthread_mutex_lock(&lock);
		covers = log_length();
		pthread_mutex_unlock(&lock);
	}
	if ((r = real(fd)) == 0)
		log_fd('S', fd, (long long)covers, 0);
	return r;
}

int
fsync(int fd)
{
	READY();
	return logged_sync(real_fsync, fd);
}

int
fdatasync(int fd)
{
	READY();
	return logged_sync(real_fdatasync, fd);
}

int
syncfs(int fd)
{
	char path[PATH_MAX], hdr[128];
	unsigned long long covers = 0;
	struct stat st;
	int r, e;

	READY();
	if (logfd != -1) {
		pthread_mutex_lock(&lock);
		covers = log_length();
		pthread_mutex_unlock(&lock);
	}
	if ((r = real_syncfs(fd)) != 0 || logfd == -1)
		return r;
	e = errno;
	/* Any fd on a watched file system counts: syncfs is per file
	 * system. Only the file system's number is recorded. */
	{
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if (fstat(fd, &st) == 0 &&
		    (n = readlink(link, path, sizeof(path) - 1)) > 0) {
			path[n] = '\0';
			if (under_watch(path)) {
				snprintf(hdr, sizeof(hdr), "F\t%llu\t%llu\n",
				    (unsigned long long)st.st_dev, covers);
				pthread_mutex_lock(&lock);
				emit(hdr, NULL, 0);
				pthread_mutex_unlock(&lock);
			}
		}
	}
	errno = e;
	return r;
}

int
rename(const char *from, const char *to)
{
	int r;

	READY();
	if ((r = real_rename(from, to)) == 0)
		log_paths('N', AT_FDCWD, from, AT_FDCWD, to);
	return r;
}

int
renameat(int d1, const char *from, int d2, const char *to)
{
	int r;

	READY();
	if ((r = real_renameat(d1, from, d2, to)) == 0)
		log_paths('N', d1, from, d2, to);
	return r;
}

/* $POWERLOG_NOEXCHANGE: a file system without RENAME_EXCHANGE. */
static int
no_exchange(unsigned long flags)
{
	const char *no = getenv("POWERLOG_NOEXCHANGE");

	if ((flags & RENAME_EXCHANGE) == 0 || no == NULL ||
	    strcmp(no, "1") != 0)
		return 0;
	errno = EINVAL;
	return 1;
}

int
renameat2(int d1, const char *from, int d2, const char *to,
    unsigned int flags)
{
	int r;

	READY();
	if (no_exchange(flags))
		return -1;
	if ((r = real_renameat2(d1, from, d2, to, flags)) == 0)
		log_paths(flags & RENAME_EXCHANGE ? 'X' : 'N', d1, from, d2,
		    to);
	return r;
}

/* slots/files.c calls renameat2 through syscall() (older glibc has no
 * wrapper): the one system call looked at here. */
long
syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	/* Six arguments are read whatever nr takes: the most any system
	 * call has; on x86-64 and arm64 a missing one reads a register's
	 * garbage, passed on and ignored by the kernel. */
	long r;
	int i;

	READY();
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_renameat2 && no_exchange((unsigned long)a[4]))
		return -1;
	r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == SYS_renameat2 && r == 0)
		log_paths(a[4] & RENAME_EXCHANGE ? 'X' : 'N', (int)a[0],
		    (const char *)a[1], (int)a[2], (const char *)a[3]);
	return r;
}

int
unlink(const char *path)
{
	int r;

	READY();
	if ((r = real_unlink(path)) == 0)
		log_paths('U', AT_FDCWD, path, AT_FDCWD, NULL);
	return r;
}

int
rmdir(const char *path)
{
	int r;

	READY();
	if ((r = real_rmdir(path)) == 0)
		log_paths('R', AT_FDCWD, path, AT_FDCWD, NULL);
	return r;
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	char abs[PATH_MAX];
	int r;

	READY();
	/* The path must be taken before the name goes. */
	if (abs_at(dirfd, path, abs, sizeof(abs)) < 0)
		abs[0] = '\0';
	if ((r = real_unlinkat(dirfd, path, flags)) == 0 && abs[0] != '\0')
		log_paths(flags & AT_REMOVEDIR ? 'R' : 'U', AT_FDCWD, abs,
		    AT_FDCWD, NULL);
	return r;
}

int
mkdir(const char *path, mode_t mode)
{
	char abs[PATH_MAX], hdr[PATH_MAX + 96];
	struct stat st;
	int r, e;

	READY();
	if ((r = real_mkdir(path, mode)) != 0 || logfd == -1)
		return r;
	e = errno;
	if (abs_at(AT_FDCWD, path, abs, sizeof(abs)) == 0 &&
	    under_watch(abs) && lstat(path, &st) == 0) {
		snprintf(hdr, sizeof(hdr), "D\t%llu\t%llu\t%llu\t%s\n",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino,
		    (unsigned long long)(st.st_mode & 07777), abs);
		pthread_mutex_lock(&lock);
		emit(hdr, NULL, 0);
		pthread_mutex_unlock(&lock);
	}
	errno = e;
	return r;
}

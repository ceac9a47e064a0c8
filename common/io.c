#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"

/* Slots, bundles and images pass 4 GiB, and (off_t)off below must not
 * wrap: 32-bit targets get a 64-bit off_t from -D_FILE_OFFSET_BITS=64
 * (Makefile, docs/portability.md). */
_Static_assert(sizeof(off_t) == 8, "upkit needs a 64-bit off_t: build "
    "with -D_FILE_OFFSET_BITS=64");

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, p + got, len - got)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* pread or pwrite of all len bytes at off; -EIO when the storage gives
 * or takes no more (a short read: it shrank). */
static int
transfer_at(int fd, char *p, size_t len, uint64_t off, int writing)
{
	ssize_t n;

	while (len > 0) {
		n = writing ? pwrite(fd, p, len, (off_t)off) :
		    pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int
pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	/* Not written through: transfer_at only passes it to pwrite. */
	return transfer_at(fd, (char *)(uintptr_t)buf, len, off, 1);
}

int
pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return transfer_at(fd, buf, len, off, 0);
}

/* Reads up to max bytes of fd into buf, then one more byte to tell
 * whether the file holds more (-EFBIG). */
static int
read_fd_upto(int fd, void *buf, size_t max, size_t *lenp)
{
	unsigned char extra;
	ssize_t n;

	*lenp = 0;
	if ((n = read_full(fd, buf, max)) < 0)
		return (int)n;
	*lenp = (size_t)n;
	if ((size_t)n < max)
		return 0;
	if ((n = read_full(fd, &extra, 1)) < 0)
		return (int)n;
	return n > 0 ? -EFBIG : 0;
}

int
read_upto(const char *path, void *buf, size_t max, size_t *lenp)
{
	int fd, r;

	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	r = read_fd_upto(fd, buf, max, lenp);
	close(fd);
	return r;
}

int
file_read(const char *path, size_t max, char **bufp, size_t *lenp,
    struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t n;
	int fd, r;

	*bufp = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", path, strerror(-r));
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		err_set(e, r, "stat %s: %s", path, strerror(-r));
		goto out;
	}
	/* A regular file is judged by its size before any read; a stream
	 * (a FIFO, /proc) by reading one byte past max. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		r = err_set(e, -EFBIG, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((r = read_fd_upto(fd, buf, max, &n)) == -EFBIG) {
		err_set(e, r, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if (r < 0) {
		err_set(e, r, "read %s: %s", path, strerror(-r));
		goto out;
	}
	buf[n] = '\0';
	*lenp = n;
	*bufp = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int
file_write_new(const char *path, const void *buf, size_t len, mode_t mode,
    struct err *e)
{
	int fd, r;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		r = -errno;
		return err_set(e, r, "create %s: %s", path, strerror(-r));
	}
	if ((r = write_all(fd, buf, len)) < 0) {
		err_set(e, r, "write %s: %s", path, strerror(-r));
		goto fail;
	}
	/* The data must be on disk before a rename makes it visible, or a
	 * power cut can leave an empty file under the real name. */
	if (fsync(fd) == -1) {
		r = -errno;
		err_set(e, r, "fsync %s: %s", path, strerror(-r));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = -errno;
		err_set(e, r, "close %s: %s", path, strerror(-r));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(path);
	return r;
}

int
file_replace(const char *path, const char *tmp, const void *buf, size_t len,
    mode_t mode, struct err *e)
{
	int r;

	/* The link itself goes, not its target; O_EXCL in file_write_new
	 * fails if one reappears before the open. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		r = -errno;
		return err_set(e, r, "remove %s: %s", tmp, strerror(-r));
	}
	if ((r = file_write_new(tmp, buf, len, mode, e)) < 0)
		return r;
	if (rename(tmp, path) == -1) {
		r = -errno;
		unlink(tmp);
		return err_set(e, r, "rename %s to %s: %s", tmp, path,
		    strerror(-r));
	}
	return fsync_parent(path, e);
}

int
file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, struct err *e)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
	return file_replace(path, tmp, buf, len, mode, e);
}

int
fsync_dir(const char *dir, struct err *e)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", dir, strerror(-r));
	}
	if (fsync(fd) == -1 || syncfs(fd) == -1) {
		r = -errno;
		err_set(e, r, "fsync %s: %s", dir, strerror(-r));
	}
	close(fd);
	return r;
}

int
fsync_parent(const char *path, struct err *e)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fsync_dir(dir, e);
}

int
mkdir_p(const char *dir, mode_t mode, struct err *e)
{
	char path[4096];
	size_t i, n;
	int r;

	n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return err_set(e, -ENAMETOOLONG, "mkdir %s: bad path", dir);
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST) {
			r = -errno;
			return err_set(e, r, "mkdir %s: %s", path, strerror(-r));
		}
		path[i] = dir[i];
	}
	return 0;
}

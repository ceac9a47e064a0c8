/*
 * common/io: upkit's one layer for whole reads and writes. Every loop
 * retries EINTR and short transfers; every durable write goes through
 * file_write_new() and, to replace a file, file_replace(); every folder
 * that must survive a power cut is made durable by fsync_dir(), which
 * also syncfs()es, because on vfat (boot partitions, the ESP) an fsync
 * of a folder does not write the FAT. Functions that take a struct err
 * name the path in it; the rest return -errno.
 */
#ifndef COMMON_IO_H
#define COMMON_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* Writes all of buf; -errno. */
int	write_all(int fd, const void *buf, size_t len);
/* Reads up to len bytes, fewer only at end of file. Returns the count
 * or -errno. */
ssize_t	read_full(int fd, void *buf, size_t len);
/* Writes all of buf at off; -EIO if the storage takes no more bytes. */
int	pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Reads exactly len bytes at off; -EIO on a short read (the storage
 * shrank), or -errno. */
int	pread_all(int fd, void *buf, size_t len, uint64_t off);

/* Reads up to max bytes of path into buf; *lenp is the count read.
 * -EFBIG when the file holds more, -errno otherwise (no message: the
 * caller knows what the file is for). */
int	read_upto(const char *path, void *buf, size_t max, size_t *lenp);
/* Reads a whole file of at most max bytes into a malloc'd buffer with a
 * NUL after the last byte (*lenp excludes it). -EFBIG if larger. */
int	file_read(const char *path, size_t max, char **bufp, size_t *lenp,
	    struct err *e);

/* Creates path as a new file (O_EXCL | O_NOFOLLOW: never through a name
 * planted there) with mode, writes buf and fsyncs it. On failure path is
 * removed. The folder is not fsync'd. */
int	file_write_new(const char *path, const void *buf, size_t len,
	    mode_t mode, struct err *e);
/* Replaces path durably: removes tmp (a stale one, or a symlink planted
 * there, never its target), file_write_new(tmp), renames it over path,
 * fsync_dir() of path's folder. A power cut leaves the old file or the
 * new one, whole. */
int	file_replace(const char *path, const char *tmp, const void *buf,
	    size_t len, mode_t mode, struct err *e);
/* file_replace() with tmp = path + ".tmp". */
int	file_write_atomic(const char *path, const void *buf, size_t len,
	    mode_t mode, struct err *e);
/* Makes a folder's entries durable: fsync, then syncfs (see above). */
int	fsync_dir(const char *dir, struct err *e);
/* fsync_dir() of the folder that holds path. */
int	fsync_parent(const char *path, struct err *e);
/* mkdir -p with mode. */
int	mkdir_p(const char *dir, mode_t mode, struct err *e);

#endif /* COMMON_IO_H */

/*
 * The raw slot writer: a block device, partition or existing image file,
 * claimed with O_EXCL and checked against the mounts and the running
 * root on the open fd before the first byte is written. Aligned
 * transfers go through a second, O_DIRECT descriptor reopened from that
 * fd, so read-back sees the storage, not the page cache; all-zero
 * aligned ranges are zeroed by the device (zero_range). Everything else
 * takes the buffered descriptor. See slots/writer.h.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/identity.h"
#include "slots/writer.h"

static int
aligned(const void *buf, size_t len, uint64_t off)
{
	return (uintptr_t)buf % SLOT_ALIGN == 0 && len % SLOT_ALIGN == 0 &&
	    off % SLOT_ALIGN == 0;
}

/* Whether len bytes at p are all zero. */
static int
all_zero(const char *p, size_t len)
{
	/* The first byte is zero and each byte equals the next. */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * Zeroes a range of a raw slot without sending the zeros: the device does
 * it (WRITE ZEROES on NVMe, SCSI, virtio and loop devices; unwritten
 * extents in an image file), which saves the transfer and, on flash, the
 * wear. ZERO_RANGE keeps the blocks allocated, so a file slot never
 * becomes sparse. Where the device has no such command, the kernel writes
 * zero pages itself. When fallocate fails for any reason, the caller
 * writes the zeros instead, for this range and every later one: it cannot
 * zero at all (tmpfs, an old kernel), or it needs room the file system no
 * longer has (an extent split on a full disk), where writing over blocks
 * the slot already owns needs none. A real fault shows up in that write.
 */
static int
zero_range(struct slot_writer *w, size_t len, uint64_t off)
{
	if (__atomic_load_n(&w->nozero, __ATOMIC_RELAXED))
		return -1;
	if (fallocate(w->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len) == 0)
		return 0;
	__atomic_store_n(&w->nozero, 1, __ATOMIC_RELAXED);
	return -1;
}

/* Size of an open block device or regular file. */
static int
fd_size(int fd, const char *path, uint64_t *sizep, struct err *e)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) == -1) {
		r = -errno;
		return err_set(e, r, "stat %s: %s", path, strerror(-r));
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, sizep) == -1) {
			r = -errno;
			return err_set(e, r, "%s: BLKGETSIZE64: %s", path,
			    strerror(-r));
		}
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		*sizep = (uint64_t)st.st_size;
		return 0;
	}
	return err_set(e, -EINVAL, "%s: not a block device or regular file",
	    path);
}

/*
 * Opens the O_DIRECT fd on what w->fd has open, not on w->device: the
 * name could point elsewhere by now (a symlink or a node swapped since
 * the identity check), and only the open fd was checked. Opening
 * /proc/self/fd/N opens that same file or device again, however it is
 * named now; identity_busy() needs /proc anyway.
 */
static int
open_direct(struct slot_writer *w, struct err *e)
{
	char fdpath[64];
	int r;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", w->fd);
	w->dfd = open(fdpath, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (w->dfd == -1 && errno != EINVAL) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): open %s (O_DIRECT): %s",
		    w->name, w->bootname, w->device, strerror(-r));
	}
	/* EINVAL: the filesystem (tmpfs) has no O_DIRECT; buffered it is. */
	return 0;
}

int
raw_open(struct slot_writer *w, struct err *e)
{
	struct identity *id = NULL;
	uint64_t have;
	int r;

	/*
	 * No O_CREAT: a raw slot is storage that exists, never a new file.
	 * O_EXCL claims a block device (Linux ignores it on a file): EBUSY
	 * while a mount, in any namespace, or md, dm or swap holds it, or
	 * the disk it belongs to, or one of its partitions.
	 */
	if ((w->fd = open(w->device, O_RDWR | O_EXCL | O_CLOEXEC)) == -1) {
		r = -errno;
		if (r == -EBUSY)
			return err_set(e, r, "slot %s (%c): %s is in use "
			    "(mounted, or held by another program): refusing "
			    "to write it", w->name, w->bootname, w->device);
		return err_set(e, r, "slot %s (%c): open %s: %s", w->name,
		    w->bootname, w->device, strerror(-r));
	}
	/* Whatever the config says, never a mounted file system or the
	 * running root. Checked on the fd: what was checked is what gets
	 * written. */
	if ((r = identity_open_fd(w->fd, w->device, &id, e)) == 0)
		r = identity_busy(id, NULL, NULL, e);
	identity_free(id);
	if (r < 0)
		return err_prefix(e, "slot %s (%c): refusing to write it",
		    w->name, w->bootname);
	if ((r = fd_size(w->fd, w->device, &have, e)) < 0)
		return err_prefix(e, "slot %s (%c)", w->name, w->bootname);
	if (have < w->size)
		return err_set(e, -ENOSPC, "slot %s (%c): %s holds %llu bytes, "
		    "payload needs %llu", w->name, w->bootname, w->device,
		    (unsigned long long)have, (unsigned long long)w->size);
	return open_direct(w, e);
}

/*
 * Aligned all-zero writes go to zero_range() first. Other aligned
 * transfers try the O_DIRECT fd: EINVAL from it means the device wants a
 * larger alignment than 4096, and the page cache path always works, so
 * that takes this transfer and, through nodirect, tells
 * slot_writer_direct() callers.
 */
int
raw_transfer(struct slot_writer *w, const void *src, void *dst, size_t len,
    uint64_t off, struct err *e)
{
	const void *buf = src != NULL ? src : dst;
	int r = -EINVAL;

	if (src != NULL && aligned(src, len, off) && all_zero(src, len) &&
	    zero_range(w, len, off) == 0)
		return 0;
	if (w->dfd != -1 && aligned(buf, len, off) &&
	    (r = src != NULL ? pwrite_all(w->dfd, src, len, off) :
	    pread_all(w->dfd, dst, len, off)) == -EINVAL)
		__atomic_store_n(&w->nodirect, 1, __ATOMIC_RELAXED);
	if (r == -EINVAL)
		r = writer_buffered(w->fd, src, dst, len, off);
	if (r < 0)
		return err_set(e, r, "slot %s (%c): %s %s at %llu: %s",
		    w->name, w->bootname, src != NULL ? "write" : "read",
		    w->device, (unsigned long long)off, strerror(-r));
	return 0;
}

int
raw_sync(struct slot_writer *w, struct err *e)
{
	/* One fsync covers both fds: they share the inode, and it also
	 * flushes the device's write cache for the O_DIRECT writes.
	 * Any failure means data may be lost: report it as EIO. */
	if (fsync(w->fd) == -1)
		return err_set(e, -EIO, "slot %s (%c): fsync %s: %s", w->name,
		    w->bootname, w->device, strerror(errno));
	return 0;
}

int
raw_direct(struct slot_writer *w)
{
	return w->dfd != -1 && !__atomic_load_n(&w->nodirect,
	    __ATOMIC_RELAXED);
}

int
raw_storage(struct slot_writer *w, char *buf, size_t len)
{
	struct stat st;
	int n;

	if (fstat(w->fd, &st) == -1)
		return -errno;
	if (S_ISBLK(st.st_mode))
		n = snprintf(buf, len, "blk:%u:%u", major(st.st_rdev),
		    minor(st.st_rdev));
	else
		n = snprintf(buf, len, "file:%u:%u:%llu", major(st.st_dev),
		    minor(st.st_dev), (unsigned long long)st.st_ino);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void
raw_close(struct slot_writer *w)
{
	if (w->fd != -1)
		close(w->fd);
	if (w->dfd != -1)
		close(w->dfd);
}

/* The raw writer's own size check, for callers that plan before they
 * open (slot.h). */
int
slot_size(const struct slot *s, uint64_t *sizep, struct err *e)
{
	int fd, r;

	if (s->type != SLOT_RAW)
		return err_set(e, -EINVAL, "slot %s (%c): a files slot has no "
		    "size", s->name, s->bootname);
	if ((fd = open(s->device, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): open %s: %s", s->name,
		    s->bootname, s->device, strerror(-r));
	}
	if ((r = fd_size(fd, s->device, sizep, e)) < 0)
		err_prefix(e, "slot %s (%c)", s->name, s->bootname);
	close(fd);
	return r;
}

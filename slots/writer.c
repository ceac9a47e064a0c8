/*
 * Slot writers: raw (a block device or an existing image file) and files
 * (a folder of plain files written aside and swapped in by commit).
 *
 * Crash analysis of a files slot commit, target T, aside N, old O, all in
 * the same parent folder:
 *
 * - Before commit, only N changes; T is untouched. A stale N is removed by
 *   the next open.
 * - commit fsyncs every file and N itself first, so whatever name N ends up
 *   under holds complete files.
 * - With RENAME_EXCHANGE the swap is a single rename: before it T is the
 *   old folder, after it T is the new one. The parent is fsync'd, then N
 *   (now the old contents) is deleted; a crash in the deletion leaves a
 *   stale N, which the next open removes.
 * - Without RENAME_EXCHANGE (vfat on older kernels) there is a window
 *   between rename(T, O) and rename(N, T) where T does not exist. This is
 *   acceptable because the agent marks the slot bad in the boot env before
 *   writing it, so the bootloader never looks at T until a later arm.
 *   The next open removes a stale O and N; the retry rewrites the slot.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/identity.h"
#include "slots/slot.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE	(1 << 1)
#endif

#define ALIGN		4096u	/* O_DIRECT alignment we promise callers */
#define RMTREE_DEPTH	8	/* folders we delete are shallow */

struct wfile {
	char		*path;
	uint64_t	 off;	/* payload offset of the first byte */
	uint64_t	 size;
	uint32_t	 mode;
	int		 fd;
};

/* What a bundle may set on a file: rwx for all, and setuid, setgid and
 * sticky only where the device's config allows (special_modes). */
#define MODE_PLAIN	0777u
#define MODE_SPECIAL	07777u

struct slot_writer {
	char		*name;		/* slot name, for messages */
	char		 bootname;
	enum slot_type	 type;
	char		*device;
	uint64_t	 size;		/* payload size */
	/* raw */
	int		 fd;		/* buffered */
	int		 dfd;		/* O_DIRECT, or -1 if unsupported */
	int		 nodirect;	/* an O_DIRECT transfer was refused */
	int		 nozero;	/* fallocate failed: write zeros */
	/* files */
	struct wfile	*files;
	size_t		 nfiles;
	char		*parent;
	char		*aside;		/* <parent>/.<base>.upkit-new */
	char		*old;		/* <parent>/.<base>.upkit-old */
	int		 committed;
	uint32_t	 modemask;	/* MODE_PLAIN or MODE_SPECIAL */
};

static int
aligned(const void *buf, size_t len, uint64_t off)
{
	return (uintptr_t)buf % ALIGN == 0 && len % ALIGN == 0 &&
	    off % ALIGN == 0;
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

/* Drops the cached pages of a range so the next read hits the storage.
 * The kernel only drops whole pages, so widen the range to pages. */
static void
drop_cache(int fd, uint64_t off, size_t len)
{
	uint64_t start = off & ~(uint64_t)(ALIGN - 1);
	uint64_t end = (off + len + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);

	(void)posix_fadvise(fd, (off_t)start, (off_t)(end - start),
	    POSIX_FADV_DONTNEED);
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
 * Deletes the folder name in dirfd and everything below it, without
 * following symlinks. Only ever called on our own .upkit-new/.upkit-old
 * folders and on the old contents of a slot folder after a swap.
 * -ENOENT if name does not exist.
 */
static int
rmtree_at(int dirfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	if (depth > RMTREE_DEPTH)
		return -ELOOP;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = -errno;
			goto out;
		}
		/* unlink(2) gives EISDIR (or EPERM, per POSIX) on a folder. */
		if ((r = rmtree_at(fd, de->d_name, depth + 1)) < 0)
			goto out;
	}
	if (errno != 0) {
		r = -errno;
		goto out;
	}
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
		r = -errno;
out:
	closedir(d);
	return r;
}

/* rmtree_at on a full path; a missing path is fine. */
static int
rmtree(const char *path, struct err *e)
{
	int r;

	r = rmtree_at(AT_FDCWD, path, 0);
	if (r < 0 && r != -ENOENT)
		return err_set(e, r, "remove %s: %s", path, strerror(-r));
	return 0;
}

static int
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
	w->dfd = open(w->device, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (w->dfd == -1 && errno != EINVAL) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): open %s (O_DIRECT): %s",
		    w->name, w->bootname, w->device, strerror(-r));
	}
	/* EINVAL: the filesystem (tmpfs) has no O_DIRECT; buffered it is. */
	return 0;
}

static int
valid_file_name(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int
files_open(struct slot_writer *w, const struct slot_file *files,
    size_t nfiles, struct err *e)
{
	struct stat st;
	char *dev = NULL, *par = NULL, *base;
	uint64_t off = 0;
	size_t i;
	int r;

	/* dirname/basename may modify their argument: give each a copy. */
	if ((dev = strdup(w->device)) == NULL ||
	    (par = strdup(w->device)) == NULL) {
		r = err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
		goto out;
	}
	base = basename(dev);
	if (!valid_file_name(base)) {
		r = err_set(e, -EINVAL, "slot %s (%c): %s: not a folder name",
		    w->name, w->bootname, w->device);
		goto out;
	}
	if ((w->parent = strdup(dirname(par))) == NULL ||
	    asprintf(&w->aside, "%s/.%s.upkit-new", w->parent, base) == -1 ||
	    asprintf(&w->old, "%s/.%s.upkit-old", w->parent, base) == -1) {
		w->aside = w->old = NULL;
		r = err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
		goto out;
	}
	r = stat(w->parent, &st) == -1 ? -errno :
	    !S_ISDIR(st.st_mode) ? -ENOTDIR : 0;
	if (r < 0) {
		err_set(e, r, "slot %s (%c): parent folder %s: %s", w->name,
		    w->bootname, w->parent, strerror(-r));
		goto out;
	}
	/* Leftovers of an interrupted write or commit (see top). */
	if ((r = rmtree(w->old, e)) < 0 || (r = rmtree(w->aside, e)) < 0) {
		err_prefix(e, "slot %s (%c)", w->name, w->bootname);
		goto out;
	}
	if (mkdir(w->aside, 0755) == -1) {
		r = -errno;
		err_set(e, r, "slot %s (%c): mkdir %s: %s", w->name,
		    w->bootname, w->aside, strerror(-r));
		goto out;
	}
	if (nfiles > 0 && (w->files = calloc(nfiles, sizeof(*w->files))) ==
	    NULL) {
		r = err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
		goto out;
	}
	for (i = 0; i < nfiles; i++)
		w->files[i].fd = -1;
	w->nfiles = nfiles;
	for (i = 0; i < nfiles; i++) {
		struct wfile *f = &w->files[i];

		if (!valid_file_name(files[i].name)) {
			r = err_set(e, -EINVAL, "slot %s (%c): file %zu: bad "
			    "name \"%s\"", w->name, w->bootname, i,
			    files[i].name);
			goto out;
		}
		if (asprintf(&f->path, "%s/%s", w->aside, files[i].name) ==
		    -1) {
			f->path = NULL;
			r = err_set(e, -ENOMEM, "slot %s: out of memory",
			    w->name);
			goto out;
		}
		f->off = off;
		f->size = files[i].size;
		f->mode = files[i].mode & w->modemask;
		off += f->size;
		/* O_EXCL also catches a name listed twice. */
		f->fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
		if (f->fd == -1) {
			r = -errno;
			err_set(e, r, "slot %s (%c): create %s: %s", w->name,
			    w->bootname, f->path, strerror(-r));
			goto out;
		}
		/* Exact modes, whatever the umask; the size up front so a
		 * read of a file never comes up short. */
		if (fchmod(f->fd, f->mode) == -1 ||
		    ftruncate(f->fd, (off_t)f->size) == -1) {
			r = -errno;
			err_set(e, r, "slot %s (%c): %s: %s", w->name,
			    w->bootname, f->path, strerror(-r));
			goto out;
		}
	}
	if (off != w->size) {
		r = err_set(e, -EINVAL, "slot %s (%c): files add up to %llu "
		    "bytes, payload is %llu", w->name, w->bootname,
		    (unsigned long long)off, (unsigned long long)w->size);
		goto out;
	}
	r = 0;
out:
	free(dev);
	free(par);
	return r;
}

int
slot_writer_open(const struct slot *s, uint64_t size,
    const struct slot_file *files, size_t nfiles, struct slot_writer **wp,
    struct err *e)
{
	struct slot_writer *w;
	int r;

	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return err_set(e, -ENOMEM, "slot %s: out of memory", s->name);
	w->fd = w->dfd = -1;
	w->type = s->type;
	w->bootname = s->bootname;
	w->size = size;
	w->modemask = s->special_modes ? MODE_SPECIAL : MODE_PLAIN;
	if ((w->name = strdup(s->name)) == NULL ||
	    (w->device = strdup(s->device)) == NULL) {
		r = err_set(e, -ENOMEM, "slot %s: out of memory", s->name);
		goto fail;
	}
	switch (s->type) {
	case SLOT_RAW:
		r = raw_open(w, e);
		break;
	case SLOT_FILES:
		r = files_open(w, files, nfiles, e);
		break;
	default:
		r = err_set(e, -EINVAL, "slot %s: unknown type %d", s->name,
		    (int)s->type);
		break;
	}
	if (r < 0)
		goto fail;
	*wp = w;
	return 0;
fail:
	slot_writer_free(w);
	return r;
}

/* Refuses ranges past the payload; written so off + len cannot wrap. */
static int
check_range(struct slot_writer *w, const char *what, size_t len,
    uint64_t off, struct err *e)
{
	if (len > w->size || off > w->size - len)
		return err_set(e, -EINVAL, "slot %s (%c): %s %zu bytes at %llu: "
		    "past the payload size %llu", w->name, w->bootname, what,
		    len, (unsigned long long)off,
		    (unsigned long long)w->size);
	return 0;
}

/* The first file holding payload offset off (files are in order). */
static size_t
file_at(const struct slot_writer *w, uint64_t off)
{
	size_t i;

	for (i = 0; i < w->nfiles; i++)
		if (off < w->files[i].off + w->files[i].size)
			break;
	return i;
}

int
slot_writer_pwrite(struct slot_writer *w, const void *buf, size_t len,
    uint64_t off, struct err *e)
{
	const char *p = buf;
	size_t i, n;
	int r;

	if ((r = check_range(w, "write", len, off, e)) < 0)
		return r;
	if (w->type == SLOT_RAW) {
		if (aligned(buf, len, off) && all_zero(p, len) &&
		    zero_range(w, len, off) == 0)
			return 0;
		r = -EINVAL;
		if (w->dfd != -1 && aligned(buf, len, off) &&
		    (r = pwrite_all(w->dfd, p, len, off)) == -EINVAL)
			__atomic_store_n(&w->nodirect, 1, __ATOMIC_RELAXED);
		/* EINVAL from O_DIRECT: the device wants a larger
		 * alignment than 4096; the page cache path always works. */
		if (r == -EINVAL)
			r = pwrite_all(w->fd, p, len, off);
		if (r < 0)
			return err_set(e, r, "slot %s (%c): write %s at %llu: "
			    "%s", w->name, w->bootname, w->device,
			    (unsigned long long)off, strerror(-r));
		return 0;
	}
	/* A files payload is the files end to end; a range may span
	 * several of them. */
	for (i = file_at(w, off); len > 0 && i < w->nfiles; i++) {
		struct wfile *f = &w->files[i];
		uint64_t in = off - f->off;

		n = f->size - in < len ? (size_t)(f->size - in) : len;
		if ((r = pwrite_all(f->fd, p, n, in)) < 0)
			return err_set(e, r, "slot %s (%c): write %s at %llu: "
			    "%s", w->name, w->bootname, f->path,
			    (unsigned long long)in, strerror(-r));
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int
files_sync(struct slot_writer *w, struct err *e)
{
	size_t i;

	for (i = 0; i < w->nfiles; i++)
		if (fsync(w->files[i].fd) == -1)
			return err_set(e, -EIO, "slot %s (%c): fsync %s: %s",
			    w->name, w->bootname, w->files[i].path,
			    strerror(errno));
	return fsync_dir(w->aside, e);
}

int
slot_writer_finish(struct slot_writer *w, struct err *e)
{
	if (w->type == SLOT_FILES)
		return files_sync(w, e);
	/* One fsync covers both fds: they share the inode, and it also
	 * flushes the device's write cache for the O_DIRECT writes.
	 * Any failure means data may be lost: report it as EIO. */
	if (fsync(w->fd) == -1)
		return err_set(e, -EIO, "slot %s (%c): fsync %s: %s", w->name,
		    w->bootname, w->device, strerror(errno));
	return 0;
}

int
slot_writer_direct(struct slot_writer *w)
{
	return w->type == SLOT_RAW && w->dfd != -1 &&
	    !__atomic_load_n(&w->nodirect, __ATOMIC_RELAXED);
}

int
slot_writer_read(struct slot_writer *w, void *buf, size_t len, uint64_t off,
    struct err *e)
{
	char *p = buf;
	size_t i, n;
	int r;

	if ((r = check_range(w, "read", len, off, e)) < 0)
		return r;
	if (w->type == SLOT_RAW) {
		r = -EINVAL;
		if (w->dfd != -1 && aligned(buf, len, off) &&
		    (r = pread_all(w->dfd, p, len, off)) == -EINVAL)
			__atomic_store_n(&w->nodirect, 1, __ATOMIC_RELAXED);
		if (r == -EINVAL) {
			drop_cache(w->fd, off, len);
			r = pread_all(w->fd, p, len, off);
		}
		if (r < 0)
			return err_set(e, r, "slot %s (%c): read %s at %llu: "
			    "%s", w->name, w->bootname, w->device,
			    (unsigned long long)off, strerror(-r));
		return 0;
	}
	for (i = file_at(w, off); len > 0 && i < w->nfiles; i++) {
		struct wfile *f = &w->files[i];
		uint64_t in = off - f->off;

		n = f->size - in < len ? (size_t)(f->size - in) : len;
		drop_cache(f->fd, in, n);
		if ((r = pread_all(f->fd, p, n, in)) < 0)
			return err_set(e, r, "slot %s (%c): read %s at %llu: "
			    "%s", w->name, w->bootname, f->path,
			    (unsigned long long)in, strerror(-r));
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int
rename_exchange(const char *a, const char *b)
{
#ifdef SYS_renameat2
	return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b,
	    RENAME_EXCHANGE);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Removes the old contents, now at path, after a swap. */
static int
drop_old(struct slot_writer *w, const char *path, struct err *e)
{
	int r;

	/* A crash before this point leaves path for the next open. */
	if ((r = rmtree(path, e)) < 0 ||
	    (r = fsync_dir(w->parent, e)) < 0)
		return err_prefix(e, "slot %s (%c): committed %s, but",
		    w->name, w->bootname, w->device);
	return 0;
}

int
slot_writer_commit(struct slot_writer *w, struct err *e)
{
	struct stat st;
	int r;

	if (w->type == SLOT_RAW)
		return 0;
	if (w->committed)
		return 0;
	/* Cheap after slot_writer_finish(); essential without it. */
	if ((r = files_sync(w, e)) < 0)
		return r;
	if (lstat(w->device, &st) == -1) {
		if (errno != ENOENT) {
			r = -errno;
			return err_set(e, r, "slot %s (%c): stat %s: %s",
			    w->name, w->bootname, w->device, strerror(-r));
		}
		if (rename(w->aside, w->device) == -1) {
			r = -errno;
			return err_set(e, r, "slot %s (%c): rename %s to %s: "
			    "%s", w->name, w->bootname, w->aside, w->device,
			    strerror(-r));
		}
		w->committed = 1;
		return fsync_dir(w->parent, e);
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(e, -ENOTDIR, "slot %s (%c): %s is not a folder",
		    w->name, w->bootname, w->device);
	if (rename_exchange(w->aside, w->device) == 0) {
		w->committed = 1;
		if ((r = fsync_dir(w->parent, e)) < 0)
			return r;
		return drop_old(w, w->aside, e);
	}
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): exchange %s and %s: %s",
		    w->name, w->bootname, w->aside, w->device, strerror(-r));
	}
	/* No RENAME_EXCHANGE here: two renames (see top for why a crash
	 * between them is safe). open() removed any stale old folder. */
	if (rename(w->device, w->old) == -1) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): rename %s to %s: %s",
		    w->name, w->bootname, w->device, w->old, strerror(-r));
	}
	if (rename(w->aside, w->device) == -1) {
		r = -errno;
		err_set(e, r, "slot %s (%c): rename %s to %s: %s", w->name,
		    w->bootname, w->aside, w->device, strerror(-r));
		/* Put the old folder back so the target exists again. */
		(void)rename(w->old, w->device);
		return r;
	}
	w->committed = 1;
	if ((r = fsync_dir(w->parent, e)) < 0)
		return r;
	return drop_old(w, w->old, e);
}

void
slot_writer_free(struct slot_writer *w)
{
	struct err e;
	size_t i;

	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	if (w->dfd != -1)
		close(w->dfd);
	for (i = 0; i < w->nfiles; i++) {
		if (w->files[i].fd != -1)
			close(w->files[i].fd);
		free(w->files[i].path);
	}
	/* An uncommitted aside folder is never boot material; nobody can
	 * report a failure here, and the next open retries the removal. */
	if (w->type == SLOT_FILES && !w->committed && w->aside != NULL)
		(void)rmtree(w->aside, &e);
	free(w->files);
	free(w->parent);
	free(w->aside);
	free(w->old);
	free(w->name);
	free(w->device);
	free(w);
}

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

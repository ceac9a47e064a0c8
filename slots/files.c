/*
 * The files slot writer: a folder of plain files, in subfolders if their
 * names say so ("dtb/broadcom/x.dtb"), written into a folder aside and
 * swapped in by slot_writer_commit(). See slots/writer.h.
 *
 * Crash analysis of a files slot commit, target T, aside N, old O, all in
 * the same parent folder:
 *
 * - Before commit, only N changes; T is untouched. A stale N is removed by
 *   the next open.
 * - commit fsyncs every file, every subfolder made in N and N itself
 *   first, so whatever name N ends up under holds complete files, all of
 *   them reachable. The subfolders exist only inside N: a crash leaves
 *   them in a stale N or in the new T, never half in the old one.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/writer.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE	(1 << 1)
#endif

/* Folders we delete are shallow: a payload's files nest at most
 * SLOT_FILE_DEPTH_MAX - 1 folders below the slot folder. */
#define RMTREE_DEPTH	SLOT_FILE_DEPTH_MAX

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
valid_file_name(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* A payload file's path: names joined by '/', each a valid file name,
 * at most SLOT_FILE_DEPTH_MAX of them; never absolute, never "..". */
static int
valid_file_path(const char *path)
{
	char name[PATH_MAX];
	size_t n, depth = 0;

	for (;;) {
		n = strcspn(path, "/");
		if (n >= sizeof(name) || ++depth > SLOT_FILE_DEPTH_MAX)
			return 0;
		memcpy(name, path, n);
		name[n] = '\0';
		if (!valid_file_name(name))
			return 0;
		if (path[n] == '\0')
			return 1;
		path += n + 1;
	}
}

/* Sets w->parent, w->aside and w->old from the slot folder's path. */
static int
names(struct slot_writer *w, struct err *e)
{
	char *dev = NULL, *par = NULL, *base;
	int r = 0;

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
out:
	free(dev);
	free(par);
	return r;
}

/* Makes an empty aside folder, after clearing what an interrupted write
 * or commit left (see top). */
static int
make_aside(struct slot_writer *w, struct err *e)
{
	struct stat st;
	int r;

	r = stat(w->parent, &st) == -1 ? -errno :
	    !S_ISDIR(st.st_mode) ? -ENOTDIR : 0;
	if (r < 0)
		return err_set(e, r, "slot %s (%c): parent folder %s: %s",
		    w->name, w->bootname, w->parent, strerror(-r));
	if ((r = rmtree(w->old, e)) < 0 || (r = rmtree(w->aside, e)) < 0)
		return err_prefix(e, "slot %s (%c)", w->name, w->bootname);
	if (mkdir(w->aside, 0755) == -1) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): mkdir %s: %s", w->name,
		    w->bootname, w->aside, strerror(-r));
	}
	return 0;
}

/* Remembers a folder made in the aside folder, for files_sync(). */
static int
note_dir(struct slot_writer *w, const char *rel, size_t len, struct err *e)
{
	char **d;

	if ((d = reallocarray(w->dirs, w->ndirs + 1, sizeof(*d))) == NULL)
		return err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
	w->dirs = d;
	if (asprintf(&d[w->ndirs], "%s/%.*s", w->aside, (int)len, rel) == -1)
		return err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
	w->ndirs++;
	return 0;
}

/* Opens the folder in the aside folder that holds the file at rel,
 * making the folders on the way (0755 whatever the umask). Each step is
 * opened with openat(O_NOFOLLOW), so nothing leads out of the aside
 * folder. The folders are made by mkdir() on the full path, which the
 * power-cut log (tests/shim/powerlog.c) records. */
static int
open_parent(struct slot_writer *w, const char *rel, int *fdp, struct err *e)
{
	char name[PATH_MAX], *full;
	const char *p = rel;
	size_t n;
	int fd, nfd, made, r = 0;

	fd = open(w->aside, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		goto fail;
	while (p[n = strcspn(p, "/")] == '/') {
		memcpy(name, p, n);	/* valid_file_path() bounds n */
		name[n] = '\0';
		if (asprintf(&full, "%s/%.*s", w->aside, (int)(p + n - rel),
		    rel) == -1) {
			r = err_set(e, -ENOMEM, "slot %s: out of memory",
			    w->name);
			goto out;
		}
		made = mkdir(full, 0755) == 0;
		free(full);
		if (!made && errno != EEXIST)
			goto fail;
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd == -1)
			goto fail;
		close(fd);
		fd = nfd;
		if (made && fchmod(fd, 0755) == -1)
			goto fail;
		p += n + 1;
		if (made && (r = note_dir(w, rel, (size_t)(p - 1 - rel),
		    e)) < 0)
			goto out;
	}
	*fdp = fd;
	return 0;
fail:
	r = -errno;
	err_set(e, r, "slot %s (%c): folder for %s in %s: %s", w->name,
	    w->bootname, rel, w->aside, strerror(-r));
out:
	if (fd != -1)
		close(fd);
	return r;
}

/* Creates file i of the payload in the aside folder, at its full size
 * and exact mode, with the folders its path names. */
static int
create_file(struct slot_writer *w, struct wfile *f, const struct slot_file *sf,
    size_t i, struct err *e)
{
	int dfd, r;

	if (!valid_file_path(sf->name))
		return err_set(e, -EINVAL, "slot %s (%c): file %zu: bad "
		    "name \"%s\"", w->name, w->bootname, i, sf->name);
	if (asprintf(&f->path, "%s/%s", w->aside, sf->name) == -1) {
		f->path = NULL;
		return err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
	}
	f->size = sf->size;
	f->mode = sf->mode & w->modemask;
	if ((r = open_parent(w, sf->name, &dfd, e)) < 0)
		return r;
	/* O_EXCL also catches a name listed twice, and never follows a
	 * symlink. */
	f->fd = openat(dfd, strrchr(f->path, '/') + 1, O_RDWR | O_CREAT |
	    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	r = f->fd == -1 ? -errno : 0;
	close(dfd);
	if (r < 0)
		return err_set(e, r, "slot %s (%c): create %s: %s", w->name,
		    w->bootname, f->path, strerror(-r));
	/* Exact modes, whatever the umask; the size up front so a read of
	 * a file never comes up short. */
	if (fchmod(f->fd, f->mode) == -1 ||
	    ftruncate(f->fd, (off_t)f->size) == -1) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): %s: %s", w->name,
		    w->bootname, f->path, strerror(-r));
	}
	return 0;
}

int
files_open(struct slot_writer *w, const struct slot_file *files,
    size_t nfiles, struct err *e)
{
	uint64_t off = 0;
	size_t i;
	int r;

	if ((r = names(w, e)) < 0 || (r = make_aside(w, e)) < 0)
		return r;
	if (nfiles > 0 && (w->files = calloc(nfiles, sizeof(*w->files))) ==
	    NULL)
		return err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
	for (i = 0; i < nfiles; i++)
		w->files[i].fd = -1;
	w->nfiles = nfiles;
	for (i = 0; i < nfiles; i++) {
		w->files[i].off = off;
		if ((r = create_file(w, &w->files[i], &files[i], i, e)) < 0)
			return r;
		off += w->files[i].size;
	}
	if (off != w->size)
		return err_set(e, -EINVAL, "slot %s (%c): files add up to %llu "
		    "bytes, payload is %llu", w->name, w->bootname,
		    (unsigned long long)off, (unsigned long long)w->size);
	return 0;
}

/* A files payload is the files end to end; a range may span several of
 * them. */
int
files_transfer(struct slot_writer *w, const void *src, void *dst,
    size_t len, uint64_t off, struct err *e)
{
	const char *s = src;
	char *d = dst;
	struct wfile *f;
	uint64_t in;
	size_t i, n;
	int r;

	for (i = 0; len > 0 && i < w->nfiles; i++) {
		f = &w->files[i];
		if (off >= f->off + f->size)
			continue;
		in = off - f->off;
		n = f->size - in < len ? (size_t)(f->size - in) : len;
		if ((r = writer_buffered(f->fd, s, d, n, in)) < 0)
			return err_set(e, r, "slot %s (%c): %s %s at %llu: "
			    "%s", w->name, w->bootname, s != NULL ?
			    "write" : "read", f->path,
			    (unsigned long long)in, strerror(-r));
		if (s != NULL)
			s += n;
		else
			d += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Every file, then every folder made below the aside folder, each
 * before the folder that holds it, then the aside folder itself: every
 * name is durable in its folder before the rename in files_commit()
 * makes the tree the slot. */
int
files_sync(struct slot_writer *w, struct err *e)
{
	size_t i;
	int r;

	for (i = 0; i < w->nfiles; i++)
		if (fsync(w->files[i].fd) == -1)
			return err_set(e, -EIO, "slot %s (%c): fsync %s: %s",
			    w->name, w->bootname, w->files[i].path,
			    strerror(errno));
	for (i = w->ndirs; i > 0; i--)
		if ((r = fsync_dir(w->dirs[i - 1], e)) < 0)
			return err_prefix(e, "slot %s (%c)", w->name,
			    w->bootname);
	return fsync_dir(w->aside, e);
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

/* The slot folder is now the new one: makes that durable, then removes
 * the old contents, now at path. */
static int
settle(struct slot_writer *w, const char *path, struct err *e)
{
	int r;

	w->committed = 1;
	if ((r = fsync_dir(w->parent, e)) < 0)
		return r;
	/* A crash before this point leaves path for the next open. */
	if ((r = rmtree(path, e)) < 0 ||
	    (r = fsync_dir(w->parent, e)) < 0)
		return err_prefix(e, "slot %s (%c): committed %s, but",
		    w->name, w->bootname, w->device);
	return 0;
}

/* Without RENAME_EXCHANGE: two renames (see top for why a crash between
 * them is safe). open() removed any stale old folder. */
static int
swap_by_two_renames(struct slot_writer *w, struct err *e)
{
	int r;

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
	return settle(w, w->old, e);
}

int
files_commit(struct slot_writer *w, struct err *e)
{
	struct stat st;
	int r;

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
	if (rename_exchange(w->aside, w->device) == 0)
		return settle(w, w->aside, e);
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): exchange %s and %s: %s",
		    w->name, w->bootname, w->aside, w->device, strerror(-r));
	}
	return swap_by_two_renames(w, e);
}

void
files_close(struct slot_writer *w)
{
	struct err e;
	size_t i;

	for (i = 0; i < w->nfiles; i++) {
		if (w->files[i].fd != -1)
			close(w->files[i].fd);
		free(w->files[i].path);
	}
	/* An uncommitted aside folder is never boot material; nobody can
	 * report a failure here, and the next open retries the removal. */
	if (!w->committed && w->aside != NULL)
		(void)rmtree(w->aside, &e);
	for (i = 0; i < w->ndirs; i++)
		free(w->dirs[i]);
	free(w->dirs);
	free(w->files);
	free(w->parent);
	free(w->aside);
	free(w->old);
}

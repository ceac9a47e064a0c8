/*
 * The UKI slot writer (slot.h, SLOT_UKI): the slot is one file in
 * ESP/EFI/Linux, the unified kernel image systemd-boot boots for it,
 * named as the efi backend names it (slots/boot/efi.h). The writer only
 * ever makes the parked name, upkit-X.off, which the loader ignores; the
 * arm (slots/boot/efi.c) renames that live. The order, and why each step
 * is safe on vfat, is docs/efi.md's "The UKI payload":
 *
 * 1. at the first write, not at open (the agent opens writers before it
 *    marks the slot bad): refuse while the slot has a live entry; then
 *    remove a stale aside file A (.upkit-X.new) and the parked file P,
 *    and make that durable (fsync and syncfs of the folder) before A is
 *    made again. So A and a non-empty P coexist only while the rename of
 *    step 3 is half made, when both may name the same clusters: then
 *    removing either would free the other's, and the writer refuses,
 *    as the backend does for two names of one slot (fsck.vfat first);
 * 2. write A, read back by the agent, fsync A and the folder;
 * 3. the commit: rename A to P, a name that is free (step 1), durable.
 *
 * The bytes are the payload's, verified chunk by chunk before each write
 * and read back after; nothing here looks into or changes them but the
 * check that the loader would list the file (a PE with an .osrel).
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/efi.h"
#include "slots/writer.h"

#define LINUX_DIR	"EFI/Linux"

/* "dir/name" in a new buffer, or NULL. */
static char *
join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) == -1 ? NULL : p;
}

int
uki_open(struct slot_writer *w, const struct slot_file *files,
    size_t nfiles, struct err *e)
{
	struct efi_entry parked = { .slot = w->bootname };
	char name[EFI_NAME_MAX], aside[16];
	struct stat st;
	int r;

	if (nfiles != 1 || files[0].size != w->size)
		return err_set(e, -EINVAL, "slot %s (%c): a UKI slot takes a "
		    "files payload of one file, the UKI, not %zu files",
		    w->name, w->bootname, nfiles);
	if ((w->files = calloc(1, sizeof(*w->files))) == NULL)
		return err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
	w->nfiles = 1;
	w->files[0].fd = -1;
	w->files[0].size = w->size;
	w->files[0].mode = 0644;
	efi_name_format(&parked, name);
	/* The aside name: not *.efi and starting with ".", so neither
	 * systemd-boot nor the backend's scan takes it for an entry. */
	snprintf(aside, sizeof(aside), ".upkit-%c.new", w->bootname);
	if ((w->parent = join(w->device, LINUX_DIR)) == NULL ||
	    (w->aside = join(w->parent, aside)) == NULL ||
	    (w->old = join(w->parent, name)) == NULL ||
	    (w->files[0].path = strdup(w->aside)) == NULL)
		return err_set(e, -ENOMEM, "slot %s: out of memory", w->name);
	r = stat(w->parent, &st) == -1 ? -errno :
	    !S_ISDIR(st.st_mode) ? -ENOTDIR : 0;
	if (r < 0)
		return err_set(e, r, "slot %s (%c): %s: %s (the ESP must hold "
		    LINUX_DIR ")", w->name, w->bootname, w->parent,
		    strerror(-r));
	if ((r = pthread_mutex_init(&w->lock, NULL)) != 0)
		return err_set(e, -r, "slot %s: mutex: %s", w->name,
		    strerror(r));
	w->locked = 1;
	return 0;
}

/* A non-empty regular file at path: 1; none or empty: 0 (an empty one
 * has no clusters to share); -errno for anything else there. */
static int
has_bytes(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	return st.st_size > 0;
}

/* -EBUSY if the slot has a live entry: the loader may boot it, so not a
 * byte of it may change (the agent marks the slot bad first). */
static int
live_check(struct slot_writer *w, struct err *e)
{
	struct efi_entry en;
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int r = 0;

	if ((dir = opendir(w->parent)) == NULL) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): %s: %s", w->name,
		    w->bootname, w->parent, strerror(-r));
	}
	while ((d = readdir(dir)) != NULL) {
		if (efi_name_parse(d->d_name, &en) < 0 || !en.live ||
		    en.slot != w->bootname || fstatat(dirfd(dir), d->d_name,
		    &st, AT_SYMLINK_NOFOLLOW) == -1 || st.st_size == 0)
			continue;
		r = err_set(e, -EBUSY, "slot %s (%c): %s/%s is live (systemd-"
		    "boot may boot it): the slot must be parked (marked bad) "
		    "before its UKI is written", w->name, w->bootname,
		    w->parent, d->d_name);
		break;
	}
	closedir(dir);
	return r;
}

/* unlink path; a missing one is fine. 1 if it was there. */
static int
remove_name(struct slot_writer *w, const char *path, struct err *e)
{
	int r;

	if (unlink(path) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	r = -errno;
	return err_set(e, r, "slot %s (%c): remove %s: %s", w->name,
	    w->bootname, path, strerror(-r));
}

/* Step 1 (see top), at the first write. */
static int
prepare(struct slot_writer *w, struct err *e)
{
	struct wfile *f = &w->files[0];
	int a, p, r;

	if ((r = live_check(w, e)) < 0)
		return r;
	if ((a = has_bytes(w->aside)) < 0 || (p = has_bytes(w->old)) < 0)
		return err_set(e, a < 0 ? a : p, "slot %s (%c): %s: %s",
		    w->name, w->bootname, a < 0 ? w->aside : w->old,
		    strerror(a < 0 ? -a : -p));
	if (a && p)
		return err_set(e, -EBADMSG, "slot %s (%c): %s holds both %s "
		    "and %s (a rename cut by a power loss; they may share "
		    "clusters): check the ESP with fsck.vfat, then remove "
		    "%s", w->name, w->bootname, w->parent,
		    strrchr(w->aside, '/') + 1, strrchr(w->old, '/') + 1,
		    strrchr(w->aside, '/') + 1);
	if ((a = remove_name(w, w->aside, e)) < 0 ||
	    (p = remove_name(w, w->old, e)) < 0)
		return a < 0 ? a : p;
	if ((a || p) && (r = fsync_dir(w->parent, e)) < 0)
		return err_prefix(e, "slot %s (%c)", w->name, w->bootname);
	f->fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (f->fd == -1 || ftruncate(f->fd, (off_t)f->size) == -1) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): create %s: %s", w->name,
		    w->bootname, f->path, strerror(-r));
	}
	w->ready = 1;
	return 0;
}

int
uki_transfer(struct slot_writer *w, const void *src, void *dst, size_t len,
    uint64_t off, struct err *e)
{
	int r = 0;

	pthread_mutex_lock(&w->lock);
	if (!w->ready && src == NULL)
		r = err_set(e, -EINVAL, "slot %s (%c): read before any write",
		    w->name, w->bootname);
	else if (w->prep_err != 0)
		/* The install's threads each write: whichever reports the
		 * failure says why, not only the one that prepared. */
		r = err_set(e, w->prep_err, "%s", w->prep_msg);
	else if (!w->ready && (r = prepare(w, e)) < 0) {
		w->prep_err = r;
		snprintf(w->prep_msg, sizeof(w->prep_msg), "%s", e->msg);
	}
	pthread_mutex_unlock(&w->lock);
	if (r < 0)
		return r;
	return files_transfer(w, src, dst, len, off, e);
}

int
uki_sync(struct slot_writer *w, struct err *e)
{
	int r = 0, ready;

	pthread_mutex_lock(&w->lock);
	if ((ready = w->ready) && fsync(w->files[0].fd) == -1) {
		r = -errno;
		err_set(e, r, "slot %s (%c): fsync %s: %s", w->name,
		    w->bootname, w->aside, strerror(-r));
	}
	pthread_mutex_unlock(&w->lock);
	if (r == 0 && ready)
		r = fsync_dir(w->parent, e);
	return r;
}

int
uki_commit(struct slot_writer *w, struct err *e)
{
	struct efi_osrel o;
	int r;

	if (w->committed)
		return 0;
	if (!w->ready)
		return err_set(e, -EINVAL, "slot %s (%c): nothing written",
		    w->name, w->bootname);
	if ((r = uki_sync(w, e)) < 0)
		return r;
	/* The loader skips a file that is no PE with an .osrel naming an
	 * OS: arming one would boot nothing new. */
	if ((r = efi_osrel_read(w->aside, &o)) < 0 || !o.entry)
		return err_set(e, r < 0 ? r : -EINVAL, "slot %s (%c): %s: %s",
		    w->name, w->bootname, w->aside, r < 0 ? strerror(-r) :
		    "not a UKI systemd-boot would list (no PE image with an "
		    ".osrel section naming an OS)");
	/* Step 1 freed the name; only something else could take it. */
	if ((r = has_bytes(w->old)) != 0)
		return err_set(e, r < 0 ? r : -EEXIST, "slot %s (%c): %s "
		    "appeared while the UKI was written", w->name,
		    w->bootname, w->old);
	w->renaming = 1;
	if (rename(w->aside, w->old) == -1) {
		r = -errno;
		return err_set(e, r, "slot %s (%c): rename %s to %s: %s",
		    w->name, w->bootname, w->aside, w->old, strerror(-r));
	}
	w->committed = 1;
	return fsync_dir(w->parent, e);
}

void
uki_close(struct slot_writer *w)
{
	if (w->files != NULL) {
		if (w->files[0].fd != -1)
			close(w->files[0].fd);
		/* An aside file that was never renamed shares clusters
		 * with nothing: removing it is safe. After a failed
		 * rename, the next prepare judges what is there. */
		if (w->ready && !w->renaming)
			(void)unlink(w->aside);
		free(w->files[0].path);
	}
	if (w->locked)
		pthread_mutex_destroy(&w->lock);
	free(w->files);
	free(w->parent);
	free(w->aside);
	free(w->old);
}

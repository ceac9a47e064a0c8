/*
 * slots/identity: what storage a path names, by device and inode numbers,
 * never by its spelling. A regular file or folder is its (st_dev, st_ino);
 * a block device is its device number, with the whole disk a partition
 * belongs to and, for a loop device, its backing file (from
 * LOOP_GET_STATUS64, not from a sysfs path string). A path that does not
 * exist yet (a files slot before its first install) is its deepest
 * existing folder plus the rest of its name. Symlinks, "./", "//" and a
 * trailing "/" resolve first, so every spelling of one place is one
 * identity.
 *
 * No config here: agent/config.c decides what must not overlap, the
 * writer asks identity_busy() before it writes a raw slot.
 */
#ifndef SLOTS_IDENTITY_H
#define SLOTS_IDENTITY_H

struct err;
struct identity;		/* opaque */

/* How a relates to b (identity_compare). */
enum identity_rel {
	IDENTITY_APART,		/* no storage in common */
	IDENTITY_SAME,		/* the same storage: a file and a loop
				 * device backed by it, two names of a
				 * disk, one missing path spelled twice */
	IDENTITY_HOLDS,		/* writing a destroys b: b is a partition
				 * of disk a, or lives on file system a */
	IDENTITY_INSIDE,	/* the reverse: a lies within b */
};

/* Identifies path (relative to the working folder if not absolute).
 * Fails only on a path that cannot be walked (ENOTDIR, ELOOP, EACCES).
 * Free with identity_free(). */
int	identity_open(const char *path, struct identity **idp,
	    struct err *e);
/* Identifies what fd has open; name is for messages. identity_within()
 * does not apply to the result. */
int	identity_open_fd(int fd, const char *name, struct identity **idp,
	    struct err *e);
void	identity_free(struct identity *id);		/* accepts NULL */

/* The resolved path: the deepest existing part, then the missing rest. */
const char *identity_path(const struct identity *id);
/* 1 if the path names a block device. */
int	identity_is_block(const struct identity *id);

/* Storage overlap of a and b, from a's side. Folders are compared as
 * inodes only: what lies inside a folder is identity_within()'s. */
enum identity_rel identity_compare(const struct identity *a,
	    const struct identity *b);

/* 1 if x is dir or lies below it, found by walking x's parent folders up
 * to the root and comparing (st_dev, st_ino); 0 if not (or dir is not a
 * folder); -errno if a parent cannot be opened. */
int	identity_within(const struct identity *x, const struct identity *dir,
	    struct err *e);

/* -EBUSY if writing id would write the file system that holds root
 * (NULL for "/") or a mounted one (any line of mountinfo, NULL for
 * /proc/self/mountinfo): the device itself, a partition of it, its
 * whole disk, or a loop device backed by it. The message names id, the
 * mount point and the device number. -errno if mountinfo cannot be
 * read. */
int	identity_busy(const struct identity *id, const char *root,
	    const char *mountinfo, struct err *e);

#endif /* SLOTS_IDENTITY_H */

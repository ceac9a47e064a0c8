/*
 * host/fat: a read-only FAT12/16/32 reader, enough to take a file out of
 * an EFI system partition image: find a folder by its path, list its
 * files under their long names, and map a file to the byte ranges of the
 * image that hold it. It reads through a callback, so the same code
 * reads a partition at an offset of a disk image and, in the fuzz
 * target, a buffer. Every field, cluster number and chain is checked
 * against the volume before it is used; nothing is written.
 */
#ifndef HOST_FAT_H
#define HOST_FAT_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct fat;			/* opaque */

/* Reads len bytes at off of the image; 0 or -errno (-EIO when short). */
struct fat_io {
	int	(*read)(void *arg, void *buf, size_t len, uint64_t off);
	void	*arg;
};

#define FAT_NAME_MAX	256	/* a long name, ASCII, with its NUL */

struct fat_file {
	char		name[FAT_NAME_MAX];	/* long name, else 8.3 */
	int		dir;		/* a folder */
	uint32_t	cluster;	/* first cluster, 0 if empty */
	uint32_t	size;		/* bytes (files) */
};

/* One stretch of the image holding a file's bytes, in file order. */
struct fat_extent {
	uint64_t	off;		/* in the image */
	uint64_t	len;
};

/*
 * Opens the FAT volume of len bytes at base in the image. -EBADMSG when
 * it is no FAT volume (the message says which field), -EFBIG when the
 * volume says it is larger than len (a truncated image). Free with
 * fat_free().
 */
int	fat_open(const struct fat_io *io, uint64_t base, uint64_t len,
	    struct fat **fp, struct err *e);
void	fat_free(struct fat *f);	/* accepts NULL */
/*
 * The entries of the folder at path ("EFI/Linux", names matched without
 * regard to case as FAT does; "" is the root), but "." and "..", deleted
 * entries and volume labels, into out (at most max); *np is how many
 * there are, even past max. -ENOENT if a part of the path is missing or
 * not a folder.
 */
int	fat_list(struct fat *f, const char *path, struct fat_file *out,
	    size_t max, size_t *np, struct err *e);
/*
 * The extents of file ff, adjacent clusters merged, into x (at most max);
 * *np is how many. -EBADMSG when its cluster chain is broken, loops or
 * is shorter than its size, -E2BIG past max extents.
 */
int	fat_extents(struct fat *f, const struct fat_file *ff,
	    struct fat_extent *x, size_t max, size_t *np, struct err *e);

#endif /* HOST_FAT_H */

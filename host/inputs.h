/*
 * host/inputs: the payload sources of a bundle. A source is a list of
 * byte ranges of host files: a whole image file, the regular files of a
 * folder, or members of LinuxKit's NAME-initrd.tar. Adding a source
 * checks names, types and sizes only; no payload byte is read here.
 */
#ifndef HOST_INPUTS_H
#define HOST_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "verify/bundle.h"

struct err;

/* One stretch of a host file, or bytes made here (data); for kind files
 * it is one file. */
struct create_range {
	char		*name;		/* file path inside the payload */
	char		*path;		/* host file holding the bytes */
	uint8_t		*data;		/* or the bytes themselves (size) */
	uint64_t	 offset;	/* of the bytes in path */
	uint64_t	 size;
	uint32_t	 mode;		/* permission bits */
};

struct create_source {
	char			*class;		/* also the payload name */
	enum payload_kind	 kind;
	char			*origin;	/* what the user named */
	size_t			 nranges;
	struct create_range	*ranges;
};

struct create_plan {
	size_t			 nsources;
	struct create_source	 sources[BUNDLE_PAYLOADS_MAX];
};

/* Each adds one or more sources; a second source for a class is an error
 * naming both. Errors name the input path. */
int	create_add_image(struct create_plan *p, const char *class,
	    const char *path, struct err *e);
/* The folder's regular files, its subfolders' too (names "sub/file"),
 * folder by folder sorted by name; the names follow
 * bundle_file_path_valid() at every level. Symlinks, special files and
 * empty subfolders are refused (-EINVAL); an empty DIR is -ENOENT. */
int	create_add_files(struct create_plan *p, const char *class,
	    const char *dir, struct err *e);
/* PREFIX-kernel/-initrd.img/-cmdline, PREFIX-initrd.tar or the rpi3
 * output PREFIX.tar -> boot (with cmdline.cfg made from the cmdline,
 * host/lkoutputs.h); PREFIX-squashfs.img or -erofs.img -> rootfs; the
 * UKI in PREFIX-efi.img -> uki (host/esp.h); -bios.img or PREFIX.raw ->
 * disk. -ENOENT if none exists; -EINVAL naming an output no slot can
 * take (ISO, qcow2, ...) and what to build instead. */
int	create_add_linuxkit(struct create_plan *p, const char *prefix,
	    struct err *e);
/* One source of one range: a file, or a stretch of one (offset and size
 * in path), named name in the payload. */
int	create_add_range(struct create_plan *p, const char *class,
	    enum payload_kind kind, const char *origin, const char *name,
	    const char *path, uint64_t off, uint64_t size, uint32_t mode,
	    struct err *e);
void	create_plan_clear(struct create_plan *p);	/* frees, re-inits */

/* For the readers of LinuxKit outputs (host/lkoutputs.c): a new source
 * for class (-EEXIST if the class has one, naming both), ranges added to
 * it (the data one takes data, malloc'd, also on failure; origin names
 * it in messages), and the last source dropped after a failure. */
int	create_source_new(struct create_plan *p, const char *class,
	    enum payload_kind kind, const char *origin,
	    struct create_source **sp, struct err *e);
int	create_range_add(struct create_source *s, const char *name,
	    const char *path, uint64_t off, uint64_t size, uint32_t mode,
	    struct err *e);
int	create_range_add_data(struct create_source *s, const char *name,
	    const char *origin, uint8_t *data, size_t size, uint32_t mode,
	    struct err *e);
void	create_plan_drop(struct create_plan *p);

#endif /* HOST_INPUTS_H */

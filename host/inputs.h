/*
 * host/inputs: the payload sources of a bundle. A source is a list of
 * byte ranges of host files: a whole image file, the regular files of a
 * folder, or members of LinuxKit's NAME-initrd.tar. Adding a source
 * checks names, types and sizes only; no payload byte is read here.
 */
#ifndef HOST_INPUTS_H
#define HOST_INPUTS_H

#include "host/plan.h"

struct err;

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

#endif /* HOST_INPUTS_H */

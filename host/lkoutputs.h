/*
 * host/lkoutputs: the LinuxKit outputs beyond kernel+initrd and the disk
 * images, for host/inputs.c's --linuxkit (docs/linuxkit.md): the rpi3
 * output read into a files payload with its subfolders, cmdline.cfg made
 * from a cmdline for GRUB boards, and a refusal for every output no slot
 * can take, saying what to build instead. Names, sizes, tar headers and
 * the cmdline are read here; payload bytes are read by host/compress.c.
 */
#ifndef HOST_LKOUTPUTS_H
#define HOST_LKOUTPUTS_H

#include <stdint.h>

struct create_plan;
struct create_source;
struct err;

/* The longest cmdline cfg is made from; the kernel takes 2048 on x86. */
#define LK_CMDLINE_MAX	4096

/* -EINVAL if PREFIX.iso, PREFIX-efi.iso, PREFIX-efi-initrd.iso,
 * PREFIX.qcow2, PREFIX-efi.qcow2, PREFIX.vhd, PREFIX.vmdk,
 * PREFIX.img.tar.gz or PREFIX.docker exists: the message names the file,
 * the LinuxKit format that makes it and the one to build instead. */
int	lk_refuse_unbundled(const char *prefix, struct err *e);

/* PREFIX.tar, if it exists: the rpi3 output (kernel.uimg at its top)
 * becomes the files payload boot, every regular member under its path
 * in the tar ("./dtb/broadcom/x.dtb" -> "dtb/broadcom/x.dtb"). Returns
 * 1 if added, 0 if there is no PREFIX.tar. -EINVAL for LinuxKit's tar
 * output (the root as a tar), any other tar, a member that is not a
 * regular file or folder, a path bundle_file_path_valid() refuses, two
 * members that clash and an empty folder, each naming the member. */
int	lk_add_rpi3(struct create_plan *p, const char *prefix, struct err *e);

/* Adds "cmdline.cfg" to s: the size bytes at off of path, a LinuxKit
 * cmdline, as the GRUB script line
 *	set upkit_args='...'
 * that the GRUB boards' grub.cfg sources (boards/README.md). Leading and
 * trailing white space goes, a tab, CR or LF inside becomes a space, and
 * a single quote is written '\'' : nothing in the cmdline can end the
 * quotes or run a command. -EINVAL for other control characters or more
 * than LK_CMDLINE_MAX bytes. */
int	lk_add_cmdline_cfg(struct create_source *s, const char *path,
	    uint64_t off, uint64_t size, struct err *e);

#endif /* HOST_LKOUTPUTS_H */

/*
 * slots/slot: the A/B slot model and the slot writers. A slot is a class
 * (rootfs, boot, disk) with a boot name (A or B) and storage: raw (a block
 * device, partition or image file) or files (a folder of plain files on
 * the boot partition, replaced as a whole).
 *
 * A third storage, uki, is one file in the ESP's EFI/Linux: the slot's
 * unified kernel image for systemd-boot (slots/uki.c, docs/efi.md).
 *
 * A writer takes uncompressed bytes at offsets of the payload (pwrite
 * style, so several threads may write disjoint ranges), refuses to go
 * past the slot's size, fsyncs in slot_writer_finish(), then reads back
 * from the storage, not the page cache, with slot_writer_read(). Files
 * slots write into a folder aside and only slot_writer_commit() swaps it
 * in (rename, fsync the parent). No hashes, no zstd (verify/frame.h), no
 * bootloaders (slots/boot/) here.
 */
#ifndef SLOTS_SLOT_H
#define SLOTS_SLOT_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct slot_writer;		/* opaque */

enum slot_type {
	SLOT_RAW,
	SLOT_FILES,
	SLOT_UKI,	/* device: the ESP; takes a files payload of one file */
};

struct slot {
	char		*name;		/* "rootfs.0": class and index */
	char		*class;		/* rootfs, boot, disk */
	char		 bootname;	/* 'A' or 'B' */
	enum slot_type	 type;
	char		*device;	/* raw: device or file; files: folder */
	int		 special_modes;	/* files: keep setuid, setgid, sticky */
};

/* Names in a files slot's path, at most: "a/b/c" is 3. */
#define SLOT_FILE_DEPTH_MAX	8

/* One file of a files slot; the payload is their concatenation. The
 * writer applies mode & 0777, or & 07777 with the slot's special_modes.
 * name is a relative path: names joined by '/', none "", "." or "..",
 * at most SLOT_FILE_DEPTH_MAX of them; the writer makes the folders on
 * the way (mode 0755) and refuses anything else (-EINVAL). */
struct slot_file {
	const char	*name;
	uint64_t	 size;
	uint32_t	 mode;
};

/* Opens s to receive size bytes. For SLOT_FILES, files lists the files
 * in payload order (their sizes add up to size). Fails with -ENOSPC if a
 * raw slot is smaller than size, naming the device and both sizes.
 * Free with slot_writer_free(). */
int	slot_writer_open(const struct slot *s, uint64_t size,
	    const struct slot_file *files, size_t nfiles,
	    struct slot_writer **wp, struct err *e);
/* Writes len bytes at payload offset off. Safe to call from several
 * threads for disjoint ranges. Buffers aligned to 4096 with off a
 * multiple of 4096 take the O_DIRECT path on raw slots. */
int	slot_writer_pwrite(struct slot_writer *w, const void *buf, size_t len,
	    uint64_t off, struct err *e);
/* Flushes everything to stable storage (fsync). */
int	slot_writer_finish(struct slot_writer *w, struct err *e);
/* The same fsync while writes go on, for a checkpoint: every write that
 * returned before the call is on stable storage when it returns 0 (the
 * fsync also flushes the device's cache for the O_DIRECT writes). Safe
 * from any thread, alongside slot_writer_pwrite(). */
int	slot_writer_sync(struct slot_writer *w, struct err *e);
/* A raw slot's storage as text, the same across runs and reboots while
 * it is the same storage: "blk:MAJOR:MINOR" for a block device,
 * "file:MAJOR:MINOR:INODE" for an image file, from the open fd.
 * -ENOTSUP for a files slot (written aside anew every time), -errno if
 * fstat fails; -ENAMETOOLONG if len is too small. No message. */
int	slot_writer_storage(struct slot_writer *w, char *buf, size_t len);
/* Reads len bytes at payload offset off back from the storage, bypassing
 * the page cache where the storage allows it. buf aligned to 4096. */
int	slot_writer_read(struct slot_writer *w, void *buf, size_t len,
	    uint64_t off, struct err *e);
/* 1 while aligned transfers go past the page cache (O_DIRECT on a raw
 * slot, never refused so far): then an aligned read returns what the
 * storage holds even before slot_writer_finish(). Safe from any thread. */
int	slot_writer_direct(struct slot_writer *w);
/* Files slots: atomically replaces the slot folder with what was written
 * (rename, fsync the parent). UKI slots: renames the UKI written aside
 * to the slot's parked name (docs/efi.md). Raw slots: nothing to do. */
int	slot_writer_commit(struct slot_writer *w, struct err *e);
/* Closes; a files slot not committed has its aside folder removed. */
void	slot_writer_free(struct slot_writer *w);	/* accepts NULL */

/* Size in bytes of a raw slot's storage (block device or file). */
int	slot_size(const struct slot *s, uint64_t *sizep, struct err *e);

#endif /* SLOTS_SLOT_H */

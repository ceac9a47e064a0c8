/*
 * slots/writer: private to slots/. The slot writer behind slot.h is one
 * struct with a raw half (slots/raw.c: a block device or image file,
 * O_DIRECT, zero ranges) and a files half (slots/files.c: a folder
 * written aside and swapped in by rename). writer.c checks ranges and
 * dispatches on the slot's type; it never looks inside a half. A third
 * half, slots/uki.c, writes one UKI into the ESP; it moves bytes with
 * files_transfer().
 */
#ifndef SLOTS_WRITER_H
#define SLOTS_WRITER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "slots/slot.h"

#define SLOT_ALIGN	4096u	/* O_DIRECT alignment we promise callers */

/* One file of a files slot, open in the aside folder. */
struct wfile {
	char		*path;
	uint64_t	 off;	/* payload offset of the first byte */
	uint64_t	 size;
	uint32_t	 mode;
	int		 fd;
};

struct slot_writer {
	char		*name;		/* slot name, for messages */
	char		 bootname;
	enum slot_type	 type;
	char		*device;
	uint64_t	 size;		/* payload size */
	uint32_t	 modemask;	/* files: what a mode may keep */
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
	char		**dirs;		/* subfolders made in aside, in order */
	size_t		 ndirs;
	int		 committed;
	/* uki: files[0] is the UKI written aside, in parent (EFI/Linux)
	 * under aside; old is the slot's parked name, its place after the
	 * commit. The first write prepares (slots/uki.c), under lock. */
	pthread_mutex_t	 lock;
	int		 locked;	/* lock initialised */
	int		 ready;		/* prepared: aside is open */
	int		 prep_err;	/* a failed prepare, for every write */
	char		 prep_msg[512];	/* its message, for every write */
	int		 renaming;	/* the commit's rename was tried */
};

/*
 * Each half gets a writer with name, bootname, type, device, size and
 * modemask set and every fd at -1; ranges are already checked against
 * the payload size. A transfer writes len bytes from src at payload
 * offset off, or reads them into dst: exactly one of the two is set.
 * All return 0 or -errno with a message naming the slot, except close,
 * which releases what the half holds and, for an uncommitted files
 * slot, removes the aside folder.
 */
int	raw_open(struct slot_writer *w, struct err *e);
int	raw_transfer(struct slot_writer *w, const void *src, void *dst,
	    size_t len, uint64_t off, struct err *e);
int	raw_sync(struct slot_writer *w, struct err *e);
int	raw_direct(struct slot_writer *w);
int	raw_storage(struct slot_writer *w, char *buf, size_t len);
void	raw_close(struct slot_writer *w);

int	files_open(struct slot_writer *w, const struct slot_file *files,
	    size_t nfiles, struct err *e);
int	files_transfer(struct slot_writer *w, const void *src, void *dst,
	    size_t len, uint64_t off, struct err *e);
int	files_sync(struct slot_writer *w, struct err *e);
int	files_commit(struct slot_writer *w, struct err *e);
void	files_close(struct slot_writer *w);

int	uki_open(struct slot_writer *w, const struct slot_file *files,
	    size_t nfiles, struct err *e);
int	uki_transfer(struct slot_writer *w, const void *src, void *dst,
	    size_t len, uint64_t off, struct err *e);
int	uki_sync(struct slot_writer *w, struct err *e);
int	uki_commit(struct slot_writer *w, struct err *e);
void	uki_close(struct slot_writer *w);

/* One transfer on fd through the page cache, for both halves: writes
 * src, or drops the range's cached pages and reads into dst, so a read
 * sees the storage. 0 or -errno (no message: the caller names the
 * slot). */
int	writer_buffered(int fd, const void *src, void *dst, size_t len,
	    uint64_t off);

#endif /* SLOTS_WRITER_H */

/*
 * Slot writers behind slot.h: this file checks every range against the
 * payload size and hands the call to the slot's type, the raw writer
 * (slots/raw.c), the files writer (slots/files.c) or the UKI writer
 * (slots/uki.c). See slots/writer.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/writer.h"

/* What a bundle may set on a file: rwx for all, and setuid, setgid and
 * sticky only where the device's config allows (special_modes). */
#define MODE_PLAIN	0777u
#define MODE_SPECIAL	07777u

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
	case SLOT_UKI:
		r = uki_open(w, files, nfiles, e);
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

/* Refuses ranges past the payload (written so off + len cannot wrap),
 * then hands the transfer to the slot's type. */
static int
transfer(struct slot_writer *w, const void *src, void *dst, size_t len,
    uint64_t off, struct err *e)
{
	if (len > w->size || off > w->size - len)
		return err_set(e, -EINVAL, "slot %s (%c): %s %zu bytes at %llu: "
		    "past the payload size %llu", w->name, w->bootname,
		    src != NULL ? "write" : "read", len,
		    (unsigned long long)off, (unsigned long long)w->size);
	if (w->type == SLOT_RAW)
		return raw_transfer(w, src, dst, len, off, e);
	if (w->type == SLOT_UKI)
		return uki_transfer(w, src, dst, len, off, e);
	return files_transfer(w, src, dst, len, off, e);
}

int
slot_writer_pwrite(struct slot_writer *w, const void *buf, size_t len,
    uint64_t off, struct err *e)
{
	return transfer(w, buf, NULL, len, off, e);
}

int
slot_writer_read(struct slot_writer *w, void *buf, size_t len, uint64_t off,
    struct err *e)
{
	return transfer(w, NULL, buf, len, off, e);
}

int
slot_writer_finish(struct slot_writer *w, struct err *e)
{
	return slot_writer_sync(w, e);
}

int
slot_writer_sync(struct slot_writer *w, struct err *e)
{
	if (w->type == SLOT_RAW)
		return raw_sync(w, e);
	if (w->type == SLOT_UKI)
		return uki_sync(w, e);
	return files_sync(w, e);
}

int
slot_writer_storage(struct slot_writer *w, char *buf, size_t len)
{
	if (w->type != SLOT_RAW)
		return -ENOTSUP;
	return raw_storage(w, buf, len);
}

int
slot_writer_direct(struct slot_writer *w)
{
	return w->type == SLOT_RAW && raw_direct(w);
}

int
slot_writer_commit(struct slot_writer *w, struct err *e)
{
	if (w->type == SLOT_RAW)
		return 0;
	if (w->type == SLOT_UKI)
		return uki_commit(w, e);
	return files_commit(w, e);
}

void
slot_writer_free(struct slot_writer *w)
{
	if (w == NULL)
		return;
	if (w->type == SLOT_RAW)
		raw_close(w);
	else if (w->type == SLOT_FILES)
		files_close(w);
	else if (w->type == SLOT_UKI)
		uki_close(w);
	free(w->name);
	free(w->device);
	free(w);
}

int
writer_buffered(int fd, const void *src, void *dst, size_t len, uint64_t off)
{
	/* The kernel only drops whole pages, so widen the range to pages. */
	uint64_t start = off & ~(uint64_t)(SLOT_ALIGN - 1);
	uint64_t end = (off + len + SLOT_ALIGN - 1) &
	    ~(uint64_t)(SLOT_ALIGN - 1);

	if (src != NULL)
		return pwrite_all(fd, src, len, off);
	(void)posix_fadvise(fd, (off_t)start, (off_t)(end - start),
	    POSIX_FADV_DONTNEED);
	return pread_all(fd, dst, len, off);
}

/*
 * source/file: a bundle in a file, a FIFO, a socket, a character device
 * or standard input. Regular files seek; everything else is read once,
 * front to back, and a skip reads and discards.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "source/impl.h"
#include "source/source.h"

struct file_source {
	struct source	 s;
	int		 fd;
	int		 own;		/* we opened fd: close it */
	int		 seekable;	/* a regular file */
	off_t		 base;		/* fd's offset of byte 0 */
};

#define DISCARD_BUF	(16 * 1024)

/* What a path may be: a folder opens, but its read fails, so say what it
 * is; a block device is a slot, not a bundle. */
static int
check(int fd, const char *name, struct stat *st, struct err *e)
{
	int r;

	if (fstat(fd, st) == -1) {
		r = -errno;
		return err_set(e, r, "stat %s: %s", name, strerror(-r));
	}
	if (S_ISDIR(st->st_mode))
		return err_set(e, -EISDIR, "%s: is a directory", name);
	if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode) &&
	    !S_ISSOCK(st->st_mode) && !S_ISCHR(st->st_mode))
		return err_set(e, -EINVAL, "%s: not a regular file, pipe or "
		    "character device", name);
	return 0;
}

static ssize_t
file_read(struct source *s, void *buf, size_t len, int cancelfd,
    struct err *e)
{
	struct file_source *f = (struct file_source *)s;
	size_t got = 0;
	ssize_t n;
	int r;

	while (got < len) {
		/* A file never blocks: look at cancelfd without waiting. A
		 * pipe waits for either. */
		r = source_wait(f->seekable ? -1 : f->fd, cancelfd,
		    f->seekable ? 0 : -1);
		if (r == -ECANCELED)
			return err_set(e, r, "%s: cancelled at byte %ju",
			    s->name, (uintmax_t)(s->off + got));
		if (r < 0)
			return err_set(e, r, "poll %s: %s", s->name,
			    strerror(-r));
		n = read(f->fd, (char *)buf + got, len - got);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			r = -errno;
			return err_set(e, r, "read %s at byte %ju: %s",
			    s->name, (uintmax_t)(s->off + got),
			    strerror(-r));
		}
		got += (size_t)n;
	}
	s->off += got;
	return (ssize_t)got;
}

static int
file_skip_to(struct source *s, uint64_t off, int cancelfd, struct err *e)
{
	struct file_source *f = (struct file_source *)s;
	char buf[DISCARD_BUF];
	uint64_t want;
	ssize_t n;
	int r;

	if (f->seekable) {
		if (lseek(f->fd, f->base + (off_t)off, SEEK_SET) == -1) {
			r = -errno;
			return err_set(e, r, "seek %s to byte %ju: %s",
			    s->name, (uintmax_t)off, strerror(-r));
		}
		s->off = off;
		return 0;
	}
	while (s->off < off) {
		want = off - s->off;
		if (want > sizeof(buf))
			want = sizeof(buf);
		if ((n = file_read(s, buf, (size_t)want, cancelfd, e)) < 0)
			return (int)n;
		if (n == 0)
			return err_set(e, -EPIPE, "%s: ends at byte %ju, "
			    "before byte %ju", s->name, (uintmax_t)s->off,
			    (uintmax_t)off);
		source_count(s, s->off - (uint64_t)n, (uint64_t)n);
	}
	return 0;
}

static void
file_close(struct source *s)
{
	struct file_source *f = (struct file_source *)s;

	if (f->own && f->fd != -1)
		close(f->fd);
	free(s->name);
	free(f);
}

static const struct source_ops file_ops = {
	.read = file_read,
	.skip_to = file_skip_to,
	.close = file_close,
};

int
file_source_open(const char *from, struct source **sp, struct err *e)
{
	struct file_source *f;
	struct stat st;
	int r;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return err_set(e, -ENOMEM, "open %s", from);
	f->s.ops = &file_ops;
	f->fd = -1;
	f->s.name = strdup(strcmp(from, "-") == 0 ? "standard input" : from);
	if (f->s.name == NULL) {
		r = err_set(e, -ENOMEM, "open %s", from);
		goto fail;
	}
	if (strcmp(from, "-") == 0)
		f->fd = STDIN_FILENO;
	else if ((f->fd = open(from, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		err_set(e, r, "open %s: %s", from, strerror(-r));
		goto fail;
	} else
		f->own = 1;
	if ((r = check(f->fd, f->s.name, &st, e)) < 0)
		goto fail;
	if (S_ISREG(st.st_mode) &&
	    (f->base = lseek(f->fd, 0, SEEK_CUR)) != -1) {
		f->seekable = 1;
		if (st.st_size > f->base)
			f->s.size = (uint64_t)(st.st_size - f->base);
		/* The bundle is read once, front to back. */
		posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	*sp = &f->s;
	return 0;
fail:
	file_close(&f->s);
	return r;
}

/*
 * host/tar: lists the members of a ustar or GNU tar archive with where
 * their data lies, for host/inputs.c; see tar.h for what it accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "host/tar.h"

#define BLOCK	512

/* Offsets of the ustar header fields. */
#define H_NAME		0
#define H_MODE		100
#define H_SIZE		124
#define H_CHKSUM	148
#define H_TYPE		156
#define H_MAGIC		257
#define H_PREFIX	345

struct reader {
	const char	*path;
	int		 fd;
	uint64_t	 pos;		/* offset of the next block */
	uint64_t	 fsize;
	char		*longname;	/* from L or pax, for the next member */
	struct tar_member *m;		/* the list so far */
	size_t		 n, cap;
};

/* Octal, optionally space or NUL terminated, or GNU base-256 when the
 * high bit of the first byte is set (sizes of 8 GiB and more). */
static int
parse_number(const unsigned char *f, size_t len, uint64_t *vp)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1;	/* negative or too large */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | f[i];
		}
		*vp = v;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	if (i == len || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*vp = v;
	return 0;
}

static int
check_sum(const unsigned char *h, uint64_t want)
{
	uint64_t u = 0;
	int64_t s = 0;
	size_t i;

	/* The checksum field counts as spaces. Some old tars summed signed
	 * chars, so accept either sum as POSIX suggests. */
	for (i = 0; i < BLOCK; i++) {
		unsigned char c = (i >= H_CHKSUM && i < H_CHKSUM + 8) ?
		    ' ' : h[i];
		u += c;
		s += (signed char)c;
	}
	return u == want || (s >= 0 && (uint64_t)s == want) ? 0 : -1;
}

static int
is_zero(const unsigned char *h)
{
	size_t i;

	for (i = 0; i < BLOCK; i++)
		if (h[i] != 0)
			return 0;
	return 1;
}

/* Reads the data of an 'L' or 'x' member into a NUL-terminated buffer. */
static int
read_meta(struct reader *rd, uint64_t size, uint64_t hoff, char **bufp,
    struct err *e)
{
	char *buf;
	uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
	ssize_t n;

	*bufp = NULL;
	if (size == 0 || size > TAR_NAME_MAX * 4)
		return err_set(e, -EBADMSG, "%s: header at %llu: extended "
		    "header of %llu bytes", rd->path, (unsigned long long)hoff,
		    (unsigned long long)size);
	if ((buf = malloc(padded + 1)) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", rd->path);
	if ((n = read_full(rd->fd, buf, padded)) < 0) {
		free(buf);
		return err_set(e, (int)n, "read %s: %s", rd->path,
		    strerror((int)-n));
	}
	if ((uint64_t)n != padded) {
		free(buf);
		return err_set(e, -EBADMSG, "%s: header at %llu: truncated "
		    "extended header", rd->path, (unsigned long long)hoff);
	}
	buf[size] = '\0';
	rd->pos += padded;
	*bufp = buf;
	return 0;
}

/* pax records are "LEN key=value\n" with LEN counting the whole record;
 * only "path" matters here. */
static int
apply_pax(struct reader *rd, const char *buf, uint64_t size, uint64_t hoff,
    struct err *e)
{
	const char *p = buf, *end = buf + size, *kv, *eq;
	unsigned long len;
	char *q;

	while (p < end) {
		/* Digits first: strtoul() would skip a leading "\n" or take
		 * a sign, and a LEN that ends inside its own digits would put
		 * the key past the record. */
		len = 0;
		q = (char *)p;
		if (*p >= '0' && *p <= '9')
			len = strtoul(p, &q, 10);
		if (q == p || *q != ' ' || len > (unsigned long)(end - p) ||
		    len <= (unsigned long)(q + 1 - p) || p[len - 1] != '\n')
			return err_set(e, -EBADMSG, "%s: header at %llu: bad "
			    "pax record", rd->path, (unsigned long long)hoff);
		kv = q + 1;
		eq = memchr(kv, '=', (size_t)(p + len - kv));
		if (eq == NULL)
			return err_set(e, -EBADMSG, "%s: header at %llu: pax "
			    "record without '='", rd->path,
			    (unsigned long long)hoff);
		if (eq - kv == 4 && memcmp(kv, "path", 4) == 0) {
			free(rd->longname);
			rd->longname = strndup(eq + 1,
			    (size_t)(p + len - 1 - (eq + 1)));
			if (rd->longname == NULL)
				return err_set(e, -ENOMEM, "%s: out of memory",
				    rd->path);
		}
		p += len;
	}
	return 0;
}

/* The member name: a pending long name wins; a POSIX ustar header joins
 * prefix and name. */
static char *
member_name(struct reader *rd, const unsigned char *h)
{
	char buf[256 + 2];
	size_t nl, pl = 0;
	char *name;

	if (rd->longname != NULL) {
		name = rd->longname;
		rd->longname = NULL;
		return name;
	}
	nl = strnlen((const char *)h + H_NAME, 100);
	if (memcmp(h + H_MAGIC, "ustar\0", 6) == 0)
		pl = strnlen((const char *)h + H_PREFIX, 155);
	if (pl > 0) {
		memcpy(buf, h + H_PREFIX, pl);
		buf[pl++] = '/';
	}
	memcpy(buf + pl, h + H_NAME, nl);
	buf[pl + nl] = '\0';
	return strdup(buf);
}

static int
add_member(struct tar_member **mp, size_t *np, size_t *capp,
    const struct tar_member *t)
{
	struct tar_member *m;
	size_t cap;

	if (*np == *capp) {
		cap = *capp ? *capp * 2 : 16;
		if ((m = reallocarray(*mp, cap, sizeof(*m))) == NULL)
			return -ENOMEM;
		*mp = m;
		*capp = cap;
	}
	(*mp)[(*np)++] = *t;
	return 0;
}

/* Reads the header block at hoff into h and checks it. Returns 1 for a
 * member's header, 0 at the end-of-archive block, or -errno. */
static int
read_header(struct reader *rd, uint64_t hoff, unsigned char h[BLOCK],
    uint64_t *sizep, uint64_t *modep, struct err *e)
{
	uint64_t sum;
	ssize_t got;

	if ((got = read_full(rd->fd, h, BLOCK)) < 0)
		return err_set(e, (int)got, "read %s: %s", rd->path,
		    strerror((int)-got));
	/* GNU tar ends with two zero blocks; one is enough to stop, but a
	 * missing end block means the file was cut short. */
	if (got != BLOCK)
		return err_set(e, -EBADMSG, "%s: truncated at %llu: no "
		    "end-of-archive block", rd->path, (unsigned long long)hoff);
	rd->pos += BLOCK;
	if (is_zero(h))
		return 0;
	if (parse_number(h + H_CHKSUM, 8, &sum) < 0 || check_sum(h, sum) < 0)
		return err_set(e, -EBADMSG, "%s: header at %llu: bad "
		    "checksum", rd->path, (unsigned long long)hoff);
	if (parse_number(h + H_SIZE, 12, sizep) < 0 ||
	    parse_number(h + H_MODE, 8, modep) < 0)
		return err_set(e, -EBADMSG, "%s: header at %llu: bad size or "
		    "mode field", rd->path, (unsigned long long)hoff);
	return 1;
}

/* An 'L' (GNU long name) or 'x' (pax) member: what it names applies to
 * the member after it. */
static int
read_extended(struct reader *rd, const unsigned char *h, uint64_t size,
    uint64_t hoff, struct err *e)
{
	char *meta;
	int r;

	if ((r = read_meta(rd, size, hoff, &meta, e)) < 0)
		return r;
	if (h[H_TYPE] == 'L') {
		free(rd->longname);
		meta[strnlen(meta, size)] = '\0';
		rd->longname = meta;
		return 0;
	}
	r = apply_pax(rd, meta, size, hoff, e);
	free(meta);
	return r;
}

/* Lists the member whose header is h and skips its data. */
static int
take_member(struct reader *rd, const unsigned char *h, uint64_t size,
    uint64_t mode, uint64_t hoff, struct err *e)
{
	struct tar_member t;
	int r;

	if (size > rd->fsize - rd->pos)
		return err_set(e, -EBADMSG, "%s: header at %llu: %llu bytes "
		    "of data past the end of the file", rd->path,
		    (unsigned long long)hoff, (unsigned long long)size);
	/* Global pax headers, GNU long link names and the like carry
	 * nothing a member list needs. */
	if (h[H_TYPE] != 'g' && h[H_TYPE] != 'K') {
		if (rd->n == TAR_MEMBERS_MAX)
			return err_set(e, -E2BIG, "%s: more than %d members",
			    rd->path, TAR_MEMBERS_MAX);
		t.type = h[H_TYPE] == '\0' ? '0' : (char)h[H_TYPE];
		t.mode = (uint32_t)(mode & 07777);
		t.size = size;
		t.offset = rd->pos;
		if ((t.name = member_name(rd, h)) == NULL ||
		    add_member(&rd->m, &rd->n, &rd->cap, &t) < 0) {
			free(t.name);
			return err_set(e, -ENOMEM, "%s: out of memory",
			    rd->path);
		}
	}
	rd->pos += (size + BLOCK - 1) / BLOCK * BLOCK;
	if (lseek(rd->fd, (off_t)rd->pos, SEEK_SET) == -1) {
		r = -errno;
		return err_set(e, r, "seek %s: %s", rd->path, strerror(-r));
	}
	return 0;
}

int
tar_list(const char *path, struct tar_member **mp, size_t *np,
    struct err *e)
{
	struct reader rd = { .path = path, .fd = -1 };
	unsigned char h[BLOCK];
	struct stat st;
	uint64_t hoff, mode, size;
	int r;

	*mp = NULL;
	*np = 0;
	if ((rd.fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", path, strerror(-r));
	}
	if (fstat(rd.fd, &st) == -1) {
		r = -errno;
		err_set(e, r, "stat %s: %s", path, strerror(-r));
		goto out;
	}
	rd.fsize = (uint64_t)st.st_size;
	for (;;) {
		hoff = rd.pos;
		if ((r = read_header(&rd, hoff, h, &size, &mode, e)) <= 0)
			break;
		if (h[H_TYPE] == 'L' || h[H_TYPE] == 'x')
			r = read_extended(&rd, h, size, hoff, e);
		else
			r = take_member(&rd, h, size, mode, hoff, e);
		if (r < 0)
			break;
	}
out:
	free(rd.longname);
	close(rd.fd);
	if (r < 0) {
		tar_members_free(rd.m, rd.n);
		return r;
	}
	*mp = rd.m;
	*np = rd.n;
	return 0;
}

void
tar_members_free(struct tar_member *m, size_t n)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

const char *
tar_basename(const char *name)
{
	const char *s = strrchr(name, '/');

	return s == NULL ? name : s + 1;
}

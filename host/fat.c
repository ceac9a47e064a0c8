/*
 * host/fat: read-only FAT12/16/32 (host/fat.h), after Microsoft's "FAT:
 * General Overview of On-Disk Format" (the BPB fields, the count of
 * clusters that decides the FAT type, long names in VFAT entries). Each
 * value taken from the image is checked before it is used as a size, an
 * offset or a cluster number, and every walk along a chain is bounded by
 * the volume's count of clusters, so a crafted image ends in an error,
 * never a loop or a read outside the volume.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/endian.h"
#include "common/err.h"
#include "host/fat.h"

#define SECTOR_MIN	512
#define CLUSTER_MAX	(256u * 1024)	/* above any real cluster size */
#define CACHE_SIZE	4096u
#define DIRENT		32
#define ATTR_LFN	0x0f
#define ATTR_VOLUME	0x08
#define ATTR_DIR	0x10
#define LFN_PARTS	20		/* 20 * 13 chars > FAT_NAME_MAX */

struct fat {
	struct fat_io	 io;
	uint64_t	 base;		/* of the volume in the image */
	int		 bits;		/* 12, 16 or 32 */
	uint32_t	 csize;		/* bytes a cluster */
	uint32_t	 nclusters;	/* valid clusters: 2 .. nclusters + 1 */
	uint64_t	 fat_off;	/* the first FAT, from base */
	uint64_t	 fat_len;
	uint64_t	 root_off;	/* FAT12/16 root folder, from base */
	uint32_t	 root_entries;
	uint32_t	 root_cluster;	/* FAT32 */
	uint64_t	 data_off;	/* cluster 2, from base */
	unsigned char	*buf;		/* one cluster */
	unsigned char	 cache[CACHE_SIZE + 4];
	uint64_t	 cache_at;	/* FAT offset of cache, or UINT64_MAX */
};

static int
rd(struct fat *f, void *buf, size_t len, uint64_t off, struct err *e)
{
	int r;

	if ((r = f->io.read(f->io.arg, buf, len, f->base + off)) < 0)
		return err_set(e, r, "read %zu bytes at %llu: %s", len,
		    (unsigned long long)(f->base + off), strerror(-r));
	return 0;
}

static int
bad(struct err *e, const char *what)
{
	return err_set(e, -EBADMSG, "not a FAT file system: %s", what);
}

/* The BPB's geometry into f; -EBADMSG naming the first bad field. */
static int
geometry(struct fat *f, const unsigned char *b, uint64_t len, struct err *e)
{
	uint32_t bps = getle16(b + 11), spc = b[13], res = getle16(b + 14);
	uint32_t nfats = b[16], rootn = getle16(b + 17);
	uint64_t total = getle16(b + 19) ? getle16(b + 19) : getle32(b + 32);
	uint64_t fatsz = getle16(b + 22) ? getle16(b + 22) : getle32(b + 36);
	uint64_t rootsec, meta, n;

	if (b[510] != 0x55 || b[511] != 0xaa || (b[0] != 0xeb && b[0] != 0xe9))
		return bad(e, "no boot sector signature");
	if (bps < SECTOR_MIN || bps > 4096 || (bps & (bps - 1)) != 0)
		return bad(e, "bytes per sector not 512, 1024, 2048 or 4096");
	if (spc == 0 || (spc & (spc - 1)) != 0 || bps * spc > CLUSTER_MAX)
		return bad(e, "bad sectors per cluster");
	if (res == 0 || nfats == 0 || total == 0 || fatsz == 0)
		return bad(e, "no reserved sectors, FATs, sectors or FAT size");
	rootsec = ((uint64_t)rootn * DIRENT + bps - 1) / bps;
	meta = res + nfats * fatsz + rootsec;
	if (meta >= total || (n = (total - meta) / spc) == 0)
		return bad(e, "no data clusters");
	f->bits = n < 4085 ? 12 : n < 65525 ? 16 : 32;
	if (n > 0x0ffffff5)
		return bad(e, "too many clusters");
	if ((f->bits == 32) != (rootn == 0))
		return bad(e, "root folder size does not match the FAT type");
	if (fatsz * bps * 8 / (uint64_t)f->bits < n + 2)
		return bad(e, "the FAT is too small for its clusters");
	if (total * bps > len)
		return err_set(e, -EFBIG, "the FAT file system is %llu bytes, "
		    "only %llu are there (truncated?)",
		    (unsigned long long)(total * bps), (unsigned long long)len);
	f->csize = bps * spc;
	f->nclusters = (uint32_t)n;
	f->fat_off = (uint64_t)res * bps;
	f->fat_len = fatsz * bps;
	f->root_off = (res + nfats * fatsz) * bps;
	f->root_entries = rootn;
	f->data_off = meta * bps;
	f->root_cluster = f->bits == 32 ? getle32(b + 44) : 0;
	if (f->bits == 32 && (f->root_cluster < 2 ||
	    f->root_cluster > f->nclusters + 1))
		return bad(e, "root folder cluster out of range");
	return 0;
}

int
fat_open(const struct fat_io *io, uint64_t base, uint64_t len,
    struct fat **fp, struct err *e)
{
	unsigned char b[SECTOR_MIN];
	struct fat *f;
	int r;

	*fp = NULL;
	if (len < SECTOR_MIN)
		return bad(e, "shorter than a boot sector");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return err_set(e, -ENOMEM, "out of memory");
	f->io = *io;
	f->base = base;
	f->cache_at = UINT64_MAX;
	if ((r = rd(f, b, sizeof(b), 0, e)) < 0 ||
	    (r = geometry(f, b, len, e)) < 0)
		goto fail;
	if ((f->buf = malloc(f->csize)) == NULL) {
		r = err_set(e, -ENOMEM, "out of memory");
		goto fail;
	}
	*fp = f;
	return 0;
fail:
	fat_free(f);
	return r;
}

void
fat_free(struct fat *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	free(f);
}

/*
 * The FAT entry of cluster c: the next cluster, 0 at the end of the
 * chain. A free, bad or out of range entry is -EBADMSG: a chain that
 * should go on cannot end there.
 */
static int
next(struct fat *f, uint32_t c, uint32_t *np, struct err *e)
{
	uint64_t at = (uint64_t)c * (uint64_t)f->bits / 8, blk;
	uint32_t v, eoc;
	size_t n;
	int r;

	blk = at & ~(uint64_t)(CACHE_SIZE - 1);
	if (blk != f->cache_at) {
		n = f->fat_len - blk < sizeof(f->cache) ?
		    (size_t)(f->fat_len - blk) : sizeof(f->cache);
		if ((r = rd(f, f->cache, n, f->fat_off + blk, e)) < 0)
			return r;
		f->cache_at = blk;
	}
	at -= blk;
	if (f->bits == 12) {
		v = getle16(f->cache + at);
		v = (c & 1) ? v >> 4 : v & 0xfff;
		eoc = 0xff8;
	} else if (f->bits == 16) {
		v = getle16(f->cache + at);
		eoc = 0xfff8;
	} else {
		v = getle32(f->cache + at) & 0x0fffffff;
		eoc = 0x0ffffff8;
	}
	if (v >= eoc) {
		*np = 0;
		return 0;
	}
	if (v < 2 || v > f->nclusters + 1)
		return err_set(e, -EBADMSG, "FAT: cluster %u is followed by "
		    "%u, not a cluster of the chain", c, v);
	*np = v;
	return 0;
}

static int
valid_cluster(const struct fat *f, uint32_t c)
{
	return c >= 2 && c <= f->nclusters + 1;
}

static uint64_t
cluster_off(const struct fat *f, uint32_t c)
{
	return f->data_off + (uint64_t)(c - 2) * f->csize;
}

/* The long name being gathered from the VFAT entries before a short
 * one: the parts seen, their checksum, and whether they are whole. */
struct lfn {
	char		name[LFN_PARTS * 13 + 1];
	unsigned	want;		/* next part expected, 0: none */
	unsigned char	sum;
	int		ok;
};

static void
lfn_add(struct lfn *l, const unsigned char *d)
{
	static const unsigned char at[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20,
	    22, 24, 28, 30 };
	unsigned seq = d[0] & 0x1f, k;
	uint32_t ch;

	if (d[0] & 0x40) {
		memset(l->name, 0, sizeof(l->name));
		l->want = seq;
		l->sum = d[13];
		l->ok = 0;
	}
	if (seq == 0 || seq > LFN_PARTS || seq != l->want || d[13] != l->sum) {
		l->want = 0;
		return;
	}
	for (k = 0; k < 13; k++) {
		ch = getle16(d + at[k]);
		if (ch == 0 || ch == 0xffff)
			break;
		l->name[(seq - 1) * 13 + k] = ch < 0x80 ? (char)ch : '?';
	}
	l->want = seq - 1;
	l->ok = l->want == 0;
}

/* One character of an 8.3 name, lower case when the entry says so. */
static char
short_char(unsigned char c, int lower)
{
	return (char)(lower && c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c);
}

/*
 * The 8.3 name of entry d as text, and the checksum VFAT keeps of it.
 * Byte 12 says whether the base (0x08) and extension (0x10) are lower
 * case: Linux and mtools store a lower-case 8.3 name so, without a long
 * name.
 */
static unsigned char
short_name(const unsigned char *d, char *out)
{
	unsigned char sum = 0;
	size_t i, n = 0;

	for (i = 0; i < 11; i++)
		sum = (unsigned char)(((sum & 1) << 7) + (sum >> 1) + d[i]);
	for (i = 0; i < 8 && d[i] != ' '; i++)
		out[n++] = i == 0 && d[i] == 0x05 ? (char)0xe5 :
		    short_char(d[i], d[12] & 0x08);
	if (d[8] != ' ')
		out[n++] = '.';
	for (i = 8; i < 11 && d[i] != ' '; i++)
		out[n++] = short_char(d[i], d[12] & 0x10);
	out[n] = '\0';
	return sum;
}

/* A visitor of folder entries: 1 stops the walk, < 0 fails it. */
typedef int (*visit_fn)(void *arg, const struct fat_file *ff,
    const char *shortname);

/* One entry of a folder: 1 at the end of the folder. */
static int
entry(const struct fat *f, struct lfn *l, const unsigned char *d,
    visit_fn fn, void *arg)
{
	struct fat_file ff;
	char sn[13];
	unsigned char sum;

	if (d[0] == 0)
		return 1;
	if (d[0] == 0xe5) {
		l->want = 0;
		return 0;
	}
	if (d[11] == ATTR_LFN) {
		lfn_add(l, d);
		return 0;
	}
	sum = short_name(d, sn);
	if ((d[11] & ATTR_VOLUME) || strcmp(sn, ".") == 0 ||
	    strcmp(sn, "..") == 0) {
		l->want = 0;
		l->ok = 0;
		return 0;
	}
	memset(&ff, 0, sizeof(ff));
	snprintf(ff.name, sizeof(ff.name), "%.255s", l->ok && l->sum == sum &&
	    l->name[0] != '\0' ? l->name : sn);
	l->ok = 0;
	l->want = 0;
	ff.dir = (d[11] & ATTR_DIR) != 0;
	/* The high half is FAT32's only; FAT12/16 keep other data there. */
	ff.cluster = getle16(d + 26) |
	    (f->bits == 32 ? (uint32_t)getle16(d + 20) << 16 : 0);
	ff.size = getle32(d + 28);
	return fn(arg, &ff, sn);
}

/*
 * Calls fn on each entry of the folder that starts at cluster c (0: the
 * FAT12/16 root folder). The walk stops after as many clusters as the
 * volume has, so a chain that loops is an error, not a hang.
 */
static int
walk(struct fat *f, uint32_t c, visit_fn fn, void *arg, struct err *e)
{
	struct lfn l;
	uint64_t off, len, done = 0;
	uint32_t i;
	int r;

	memset(&l, 0, sizeof(l));
	if (c == 0 && f->bits != 32) {
		/* The root folder of FAT12/16: a fixed region, read in
		 * pieces of a cluster. */
		len = (uint64_t)f->root_entries * DIRENT;
		for (off = 0; off < len; off += f->csize) {
			i = len - off < f->csize ? (uint32_t)(len - off) :
			    f->csize;
			if ((r = rd(f, f->buf, i, f->root_off + off, e)) < 0)
				return r;
			for (done = 0; done + DIRENT <= i; done += DIRENT)
				if ((r = entry(f, &l, f->buf + done, fn,
				    arg)) != 0)
					return r < 0 ? r : 0;
		}
		return 0;
	}
	if (c == 0)
		c = f->root_cluster;
	for (i = 0; c != 0; i++) {
		if (!valid_cluster(f, c) || i > f->nclusters)
			return err_set(e, -EBADMSG, "FAT: a folder's chain "
			    "%s at cluster %u", valid_cluster(f, c) ?
			    "loops" : "leaves the volume", c);
		if ((r = rd(f, f->buf, f->csize, cluster_off(f, c), e)) < 0)
			return r;
		for (done = 0; done + DIRENT <= f->csize; done += DIRENT)
			if ((r = entry(f, &l, f->buf + done, fn, arg)) != 0)
				return r < 0 ? r : 0;
		if ((r = next(f, c, &c, e)) < 0)
			return r;
	}
	return 0;
}

/* Finding one name in a folder. */
struct find {
	const char	*name;
	size_t		 len;
	struct fat_file	 ff;
	int		 found;
};

static int
find_one(void *arg, const struct fat_file *ff, const char *sn)
{
	struct find *fd = arg;

	if ((strlen(ff->name) != fd->len ||
	    strncasecmp(ff->name, fd->name, fd->len) != 0) &&
	    (strlen(sn) != fd->len || strncasecmp(sn, fd->name, fd->len) != 0))
		return 0;
	fd->ff = *ff;
	fd->found = 1;
	return 1;
}

/* Listing a folder. */
struct list {
	struct fat_file	*out;
	size_t		 max;
	size_t		 n;
};

static int
list_one(void *arg, const struct fat_file *ff, const char *sn)
{
	struct list *l = arg;

	(void)sn;
	if (l->n < l->max)
		l->out[l->n] = *ff;
	l->n++;
	return 0;
}

int
fat_list(struct fat *f, const char *path, struct fat_file *out, size_t max,
    size_t *np, struct err *e)
{
	struct list l = { out, max, 0 };
	struct find fd;
	const char *p = path, *slash;
	uint32_t c = 0;
	int r;

	*np = 0;
	while (*p != '\0') {
		if ((slash = strchr(p, '/')) == NULL)
			slash = p + strlen(p);
		memset(&fd, 0, sizeof(fd));
		fd.name = p;
		fd.len = (size_t)(slash - p);
		if ((r = walk(f, c, find_one, &fd, e)) < 0)
			return r;
		if (!fd.found || !fd.ff.dir || fd.ff.cluster == 0)
			return err_set(e, -ENOENT, "no folder %.*s",
			    (int)(slash - path), path);
		c = fd.ff.cluster;
		p = *slash == '/' ? slash + 1 : slash;
	}
	if ((r = walk(f, c, list_one, &l, e)) < 0)
		return r;
	*np = l.n;
	return 0;
}

int
fat_extents(struct fat *f, const struct fat_file *ff, struct fat_extent *x,
    size_t max, size_t *np, struct err *e)
{
	uint64_t need, left = ff->size, i, n;
	uint32_t c = ff->cluster;
	size_t k = 0;
	int r;

	*np = 0;
	if (ff->size == 0)
		return 0;
	need = (ff->size + (uint64_t)f->csize - 1) / f->csize;
	for (i = 0; i < need; i++) {
		if (!valid_cluster(f, c))
			return err_set(e, -EBADMSG, "%s: cluster chain ends "
			    "after %llu of its %llu clusters", ff->name,
			    (unsigned long long)i, (unsigned long long)need);
		n = left < f->csize ? left : f->csize;
		if (k > 0 && x[k - 1].off + x[k - 1].len ==
		    f->base + cluster_off(f, c))
			x[k - 1].len += n;
		else if (k == max)
			return err_set(e, -E2BIG, "%s: more than %zu "
			    "fragments", ff->name, max);
		else {
			x[k].off = f->base + cluster_off(f, c);
			x[k++].len = n;
		}
		left -= n;
		if (i + 1 < need && (r = next(f, c, &c, e)) < 0)
			return err_prefix(e, "%s", ff->name);
	}
	*np = k;
	return 0;
}

/*
 * GRUB env backend on the 1024-byte grubenv file: "# GRUB Environment
 * Block\n", NAME=VALUE lines ('\\' and '\n' in values escaped with a
 * backslash), '#' padding to the end. GRUB's save_env writes the file's
 * sectors in place and cannot create or move it, so a commit rewrites
 * the same blocks with pwrite() and never renames.
 *
 * A power cut in that pwrite() can leave one 512-byte sector new and the
 * other old. Before it, a commit stores "grubenv.upkit" (write aside,
 * fsync, rename, fsync the folder) holding the new block N, the block P
 * that was on disk just before, and an XXH3 over both. A load then knows
 * the only two blocks a torn write can mix: a grubenv that is not N or P
 * but is made of their sectors, or that does not parse, is rewritten
 * from N; anything else valid is what GRUB or grub-editenv saved since,
 * and wins. See docs/boot-selection.md, "GRUB".
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"

#define ENVBLK_SIZE	1024
#define SECTOR		512
#define ENVBLK_SIG	"# GRUB Environment Block\n"
#define BACKUP_SUFFIX	".upkit"
#define BACKUP_TRAILER	"# upkit-grubenv-backup xxh3="
/* N, P, then the trailer with 16 hex digits and a newline. */
#define BACKUP_SIZE	(2 * ENVBLK_SIZE + sizeof(BACKUP_TRAILER) - 1 + 17)
#define REPAIR_VAR	"upkit.repair"

/* One line of the block: a variable, or a comment kept verbatim. */
struct item {
	char	*name;		/* NULL for a comment line */
	char	*value;		/* unescaped value or comment */
};

struct vars {
	struct item	*v;
	size_t		 n, cap;
};

struct bootenv {
	char		*path;		/* grubenv */
	char		*backup;	/* grubenv.upkit */
	char		*tmp;		/* grubenv.upkit.tmp */
	struct vars	 vars;		/* as of the last sync */
	unsigned char	 disk[ENVBLK_SIZE];	/* grubenv as on disk */
	int		 synced;
	char		 repair[400];	/* the last repair, or "" */
};

static const char *const sel_vars[] = {
	"BOOT_ORDER",
	"BOOT_A_LEFT",
	"BOOT_B_LEFT",
};
#define NSEL	(sizeof(sel_vars) / sizeof(sel_vars[0]))

static void
vars_free(struct vars *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		free(vs->v[i].value);
	}
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}

static struct item *
vars_find(const struct vars *vs, const char *name)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (vs->v[i].name != NULL && strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

/* Appends an item; takes name and value (both malloc'd, name may be
 * NULL) and frees them on failure. */
static int
vars_append(struct vars *vs, char *name, char *value)
{
	struct item *nv;
	size_t cap;

	if (vs->n == vs->cap) {
		cap = vs->cap == 0 ? 8 : 2 * vs->cap;
		if ((nv = reallocarray(vs->v, cap, sizeof(*nv))) == NULL) {
			free(name);
			free(value);
			return -ENOMEM;
		}
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->n].name = name;
	vs->v[vs->n].value = value;
	vs->n++;
	return 0;
}

static int
vars_set(struct vars *vs, const char *name, const char *value)
{
	struct item *it;
	char *nn = NULL, *nv;

	if ((nv = strdup(value)) == NULL)
		return -ENOMEM;
	if ((it = vars_find(vs, name)) != NULL) {
		free(it->value);
		it->value = nv;
		return 0;
	}
	if ((nn = strdup(name)) == NULL) {
		free(nv);
		return -ENOMEM;
	}
	return vars_append(vs, nn, nv);
}

/*
 * Names GRUB reads back: grub-editenv writes any name as it is, so only
 * what would break the line format is refused: '=', a newline, a
 * backslash, NUL, and a leading '#' (a comment).
 */
static int
name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '#')
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '=' || s[i] == '\n' || s[i] == '\\' ||
		    s[i] == '\0')
			return 0;
	return 1;
}

/*
 * Parses a block into vs. Stricter than GRUB, which stops quietly at the
 * first broken line: here anything but the header, comment lines,
 * NAME=VALUE lines and a final run of '#' is invalid, which is how most
 * torn or foreign blocks show. why gets the reason and the offset.
 */
static int
block_parse(const unsigned char *buf, size_t len, struct vars *vs,
    char *why, size_t whylen)
{
	const char *p = (const char *)buf, *end = p + len, *q, *nl;
	char *name = NULL, *val = NULL, *d;
	size_t siglen = sizeof(ENVBLK_SIG) - 1;
	int r;

	memset(vs, 0, sizeof(*vs));
	if (len != ENVBLK_SIZE) {
		snprintf(why, whylen, "size %zu, not %d", len, ENVBLK_SIZE);
		return -EBADMSG;
	}
	if (memcmp(p, ENVBLK_SIG, siglen) != 0) {
		snprintf(why, whylen, "no \"# GRUB Environment Block\" "
		    "header");
		return -EBADMSG;
	}
	if (memchr(p, '\0', len) != NULL) {
		snprintf(why, whylen, "NUL byte at offset %td",
		    (const char *)memchr(p, '\0', len) - p);
		return -EBADMSG;
	}
	for (p += siglen; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (*p == '#') {
			if (nl == NULL) {
				/* The padding: must be '#' up to the end. */
				for (q = p; q < end && *q == '#'; q++)
					;
				if (q == end)
					return 0;
				snprintf(why, whylen, "junk in the padding at "
				    "offset %td", q - (const char *)buf);
				r = -EBADMSG;
				goto fail;
			}
			if ((val = strndup(p, (size_t)(nl - p))) == NULL ||
			    (r = vars_append(vs, NULL, val)) < 0) {
				val = NULL;
				r = -ENOMEM;
				goto fail;
			}
			val = NULL;
			continue;
		}
		for (q = p; q < end && *q != '=' && *q != '\n'; q++)
			;
		if (q == end || *q != '=' || !name_valid(p, (size_t)(q - p))) {
			snprintf(why, whylen, "bad line at offset %td",
			    p - (const char *)buf);
			r = -EBADMSG;
			goto fail;
		}
		if ((name = strndup(p, (size_t)(q - p))) == NULL ||
		    (val = malloc((size_t)(end - q))) == NULL) {
			r = -ENOMEM;
			goto fail;
		}
		/* As GRUB reads: a backslash takes the next byte as is. */
		for (q++, d = val; q < end && *q != '\n'; q++) {
			if (*q == '\\' && ++q == end)
				break;
			*d++ = *q;
		}
		*d = '\0';
		if (q == end) {
			snprintf(why, whylen, "%s: value not ended by a "
			    "newline", name);
			r = -EBADMSG;
			goto fail;
		}
		if (vars_find(vs, name) != NULL) {
			snprintf(why, whylen, "%s set twice", name);
			r = -EBADMSG;
			goto fail;
		}
		r = vars_append(vs, name, val);
		name = val = NULL;
		if (r < 0)
			goto fail;
		nl = q;
	}
	/* GRUB's tools always pad; a block without it was not theirs. */
	snprintf(why, whylen, "no '#' padding at the end");
	r = -EBADMSG;
fail:
	free(name);
	free(val);
	vars_free(vs);
	if (r == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	return r;
}

static int
is_sel(const char *name)
{
	size_t i;

	for (i = 0; i < NSEL; i++)
		if (strcmp(name, sel_vars[i]) == 0)
			return 1;
	return 0;
}

/* Appends s (len bytes) at *offp if it fits in out. */
static int
put(unsigned char *out, size_t *offp, const char *s, size_t len)
{
	if (len > ENVBLK_SIZE - *offp)
		return -ENOSPC;
	memcpy(out + *offp, s, len);
	*offp += len;
	return 0;
}

static int
put_var(unsigned char *out, size_t *offp, const struct item *it)
{
	const char *s;
	int r;

	if (!name_valid(it->name, strlen(it->name)))
		return -EINVAL;
	if ((r = put(out, offp, it->name, strlen(it->name))) < 0 ||
	    (r = put(out, offp, "=", 1)) < 0)
		return r;
	for (s = it->value; *s != '\0'; s++) {
		if ((*s == '\\' || *s == '\n') &&
		    (r = put(out, offp, "\\", 1)) < 0)
			return r;
		if ((r = put(out, offp, s, 1)) < 0)
			return r;
	}
	return put(out, offp, "\n", 1);
}

/*
 * Lays out a block: the comments that lead the file (grub-editenv's
 * warning), the selection variables, then every other line in its
 * order. Keeping the selection variables near the top keeps the lines
 * GRUB rewrites at each boot in the first sector. -ENOSPC if it does not
 * fit, -EINVAL for a name GRUB could not read back.
 */
static int
block_build(const struct vars *vs, unsigned char *out)
{
	const struct item *it;
	size_t i, off = 0, lead;
	int r;

	if ((r = put(out, &off, ENVBLK_SIG, sizeof(ENVBLK_SIG) - 1)) < 0)
		return r;
	for (lead = 0; lead < vs->n && vs->v[lead].name == NULL; lead++)
		if ((r = put(out, &off, vs->v[lead].value,
		    strlen(vs->v[lead].value))) < 0 ||
		    (r = put(out, &off, "\n", 1)) < 0)
			return r;
	for (i = 0; i < NSEL; i++)
		if ((it = vars_find(vs, sel_vars[i])) != NULL &&
		    (r = put_var(out, &off, it)) < 0)
			return r;
	for (i = lead; i < vs->n; i++) {
		it = &vs->v[i];
		if (it->name == NULL) {
			if ((r = put(out, &off, it->value,
			    strlen(it->value))) < 0 ||
			    (r = put(out, &off, "\n", 1)) < 0)
				return r;
		} else if (!is_sel(it->name) &&
		    (r = put_var(out, &off, it)) < 0)
			return r;
	}
	/* At least one '#': the padding is how a reader finds the end. */
	if (off == ENVBLK_SIZE)
		return -ENOSPC;
	memset(out + off, '#', ENVBLK_SIZE - off);
	return 0;
}

static void
backup_trailer(const unsigned char *np, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%016llx\n", BACKUP_TRAILER,
	    (unsigned long long)XXH3_64bits(np, 2 * ENVBLK_SIZE));
}

/* Replaces grubenv.upkit with N and P: write aside, fsync, rename, fsync
 * the folder, so it is whole before grubenv is touched. */
static int
backup_write(struct bootenv *b, const unsigned char *n,
    const unsigned char *p, struct err *e)
{
	unsigned char buf[BACKUP_SIZE + 1];

	memcpy(buf, n, ENVBLK_SIZE);
	memcpy(buf + ENVBLK_SIZE, p, ENVBLK_SIZE);
	backup_trailer(buf, (char *)buf + 2 * ENVBLK_SIZE,
	    sizeof(buf) - 2 * ENVBLK_SIZE);
	/* grubenv lives on the ESP: file_replace's folder fsync includes
	 * the syncfs that vfat needs for the rename to be durable. */
	if (file_replace(b->backup, b->tmp, buf, BACKUP_SIZE, 0600, e) < 0)
		return err_prefix(e, "grubenv backup");
	return 0;
}

/*
 * Reads grubenv.upkit into n and p. -ENOENT if there is none, -EBADMSG
 * (why says it) if it is damaged or its N does not parse.
 */
static int
backup_read(struct bootenv *b, unsigned char *n, unsigned char *p,
    char *why, size_t whylen)
{
	unsigned char buf[BACKUP_SIZE];
	char trailer[64];
	struct vars vs;
	size_t len;
	int r;

	if ((r = read_upto(b->backup, buf, sizeof(buf), &len)) < 0 &&
	    r != -EFBIG) {
		snprintf(why, whylen, "%s: %s", b->backup, strerror(-r));
		return r;
	}
	backup_trailer(buf, trailer, sizeof(trailer));
	if (r == -EFBIG || len != BACKUP_SIZE ||
	    memcmp(buf + 2 * ENVBLK_SIZE, trailer, strlen(trailer)) != 0) {
		snprintf(why, whylen, "backup %s is damaged (size or "
		    "checksum)", b->backup);
		return -EBADMSG;
	}
	if (block_parse(buf, ENVBLK_SIZE, &vs, why, whylen) < 0)
		return -EBADMSG;
	vars_free(&vs);
	memcpy(n, buf, ENVBLK_SIZE);
	memcpy(p, buf + ENVBLK_SIZE, ENVBLK_SIZE);
	return 0;
}

/* Writes a block over grubenv's own blocks: no O_TRUNC, no rename, since
 * GRUB's save_env writes the sectors it found at boot. */
static int
inplace_write(struct bootenv *b, const unsigned char *blk, struct err *e)
{
	struct stat sb;
	int fd, r = 0;

	if ((fd = open(b->path, O_WRONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "grubenv %s: open: %s", b->path,
		    strerror(-r));
	}
	if ((r = pwrite_all(fd, blk, ENVBLK_SIZE, 0)) < 0) {
		err_set(e, r, "grubenv %s: write: %s", b->path, strerror(-r));
		goto out;
	}
	/* Cutting an oversized file keeps its first blocks where they are. */
	if (fstat(fd, &sb) == -1 || (sb.st_size > ENVBLK_SIZE &&
	    ftruncate(fd, ENVBLK_SIZE) == -1) || fsync(fd) == -1) {
		r = -errno;
		err_set(e, r, "grubenv %s: truncate or fsync: %s", b->path,
		    strerror(-r));
		goto out;
	}
out:
	close(fd);
	return r;
}

/* Which sectors of g come from n ('n'), from p ('p'); 0 if g is not made
 * of their sectors. */
static int
sector_from(const unsigned char *g, const unsigned char *n,
    const unsigned char *p, int s)
{
	if (memcmp(g + s * SECTOR, n + s * SECTOR, SECTOR) == 0)
		return 'n';
	if (memcmp(g + s * SECTOR, p + s * SECTOR, SECTOR) == 0)
		return 'p';
	return 0;
}

/*
 * Reads grubenv and its backup into b->vars and b->disk, and rewrites
 * grubenv from the backup if a torn write or damage shows (b->repair
 * then says why). fresh: a grubenv that is invalid with no backup loads
 * as an empty env instead of failing (a commit then writes a valid one).
 */
static int
env_sync(struct bootenv *b, int fresh, struct err *e)
{
	unsigned char g[ENVBLK_SIZE], n[ENVBLK_SIZE], p[ENVBLK_SIZE];
	char gwhy[160], kwhy[200];
	struct vars vs;
	size_t glen;
	int r, gr, kr, s0, s1;

	vars_free(&b->vars);
	b->synced = 0;
	memset(g, 0, sizeof(g));
	if ((r = read_upto(b->path, g, sizeof(g), &glen)) < 0 &&
	    r != -EFBIG)
		return err_set(e, r, "grubenv %s: read: %s", b->path,
		    strerror(-r));
	if (r == -EFBIG) {
		snprintf(gwhy, sizeof(gwhy), "larger than %d bytes",
		    ENVBLK_SIZE);
		gr = -EBADMSG;
	} else
		gr = block_parse(g, glen, &vs, gwhy, sizeof(gwhy));
	if (gr == -ENOMEM)
		return err_set(e, gr, "grubenv %s: out of memory", b->path);
	s0 = s1 = 0;
	if ((kr = backup_read(b, n, p, kwhy, sizeof(kwhy))) == 0) {
		s0 = sector_from(g, n, p, 0);
		s1 = sector_from(g, n, p, 1);
	}
	if (kr == 0 && glen == ENVBLK_SIZE && r == 0 &&
	    memcmp(g, n, ENVBLK_SIZE) != 0 && memcmp(g, p, ENVBLK_SIZE) != 0 &&
	    s0 != 0 && s1 != 0) {
		/* Only an interrupted commit mixes N and P sectors. */
		if (gr == 0)
			vars_free(&vs);
		snprintf(b->repair, sizeof(b->repair), "grubenv %s: torn "
		    "write (first sector %s, second %s) repaired from %s",
		    b->path, s0 == 'n' ? "new" : "old",
		    s1 == 'n' ? "new" : "old", b->backup);
		gr = -EBADMSG;
	} else if (gr == 0) {
		/* N, P (the commit never reached the disk), or a save by
		 * GRUB or grub-editenv since: all are states to keep. */
		b->vars = vs;
		memcpy(b->disk, g, ENVBLK_SIZE);
		b->synced = 1;
		return 0;
	} else if (kr == 0)
		snprintf(b->repair, sizeof(b->repair), "grubenv %s: invalid "
		    "block (%s) repaired from %s", b->path, gwhy, b->backup);
	if (kr < 0) {
		if (!fresh)
			return err_set(e, -EBADMSG, "grubenv %s: invalid block "
			    "(%s) and no backup to repair it from (%s)",
			    b->path, gwhy, kwhy);
		memcpy(b->disk, g, ENVBLK_SIZE);
		b->synced = 1;
		return 0;
	}
	if ((r = inplace_write(b, n, e)) < 0) {
		b->repair[0] = '\0';
		return err_prefix(e, "repair from %s", b->backup);
	}
	if ((r = block_parse(n, ENVBLK_SIZE, &b->vars, gwhy,
	    sizeof(gwhy))) < 0)
		return err_set(e, r, "grubenv backup %s: %s", b->backup, gwhy);
	memcpy(b->disk, n, ENVBLK_SIZE);
	b->synced = 1;
	return 0;
}

static void
grub_close(struct bootenv *b)
{
	if (b == NULL)
		return;
	vars_free(&b->vars);
	free(b->path);
	free(b->backup);
	free(b->tmp);
	free(b);
}

static int
grub_open(const char *path, struct bootenv **bp, struct err *e)
{
	struct bootenv *b;
	struct stat sb;
	size_t len;
	int r;

	*bp = NULL;
	len = strlen(path) + sizeof(BACKUP_SUFFIX ".tmp");
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->path = strdup(path)) == NULL ||
	    (b->backup = malloc(len)) == NULL ||
	    (b->tmp = malloc(len)) == NULL) {
		r = err_set(e, -ENOMEM, "grubenv %s: out of memory", path);
		goto fail;
	}
	snprintf(b->backup, len, "%s%s", path, BACKUP_SUFFIX);
	snprintf(b->tmp, len, "%s%s.tmp", path, BACKUP_SUFFIX);
	/* GRUB can only rewrite an existing file, so upkit never makes one. */
	if (stat(path, &sb) == -1) {
		r = -errno;
		err_set(e, r, "grubenv %s: %s (create it with grub-editenv "
		    "%s create)", path, strerror(-r), path);
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = err_set(e, -EINVAL, "grubenv %s: not a regular file",
		    path);
		goto fail;
	}
	*bp = b;
	return 0;
fail:
	grub_close(b);
	return r;
}

static int
grub_load(struct bootenv *b, struct bootstate *st, struct err *e)
{
	const char *val[BOOTENV_VARS];
	struct item *it;
	int i, r;

	b->repair[0] = '\0';
	if ((r = env_sync(b, 0, e)) < 0)
		return r;
	for (i = 0; i < BOOTENV_VARS; i++)
		val[i] = (it = vars_find(&b->vars, bootstate_names[i])) !=
		    NULL ? it->value : NULL;
	if ((r = bootstate_decode(val, st, e)) < 0)
		return err_prefix(e, "grubenv %s", b->path);
	return 0;
}

static int
grub_get(struct bootenv *b, const char *name, char **valp, struct err *e)
{
	struct item *it;
	int r;

	*valp = NULL;
	if (strcmp(name, REPAIR_VAR) == 0) {
		if (b->repair[0] != '\0' &&
		    (*valp = strdup(b->repair)) == NULL)
			return err_set(e, -ENOMEM, "grubenv %s: out of memory",
			    b->path);
		return 0;
	}
	if (!b->synced && (r = env_sync(b, 0, e)) < 0)
		return r;
	if ((it = vars_find(&b->vars, name)) != NULL &&
	    (*valp = strdup(it->value)) == NULL)
		return err_set(e, -ENOMEM, "grubenv %s: out of memory",
		    b->path);
	return 0;
}

static int
grub_commit(struct bootenv *b, const struct bootstate *st, struct err *e)
{
	unsigned char blk[ENVBLK_SIZE];
	struct bootstate_text t;
	int i, r;

	if ((r = bootstate_encode(st, &t, e)) < 0)
		return err_prefix(e, "grubenv %s", b->path);
	/*
	 * Start from the disk, not from open: GRUB's boot-time save_env and
	 * grub-editenv may have changed other variables since, and P must
	 * be exactly what the pwrite below can tear.
	 */
	if ((r = env_sync(b, 1, e)) < 0)
		return r;
	for (i = 0; i < BOOTENV_VARS; i++)
		if ((r = vars_set(&b->vars, bootstate_names[i], t.val[i])) < 0)
			goto nomem;
	if ((r = block_build(&b->vars, blk)) < 0) {
		/* Forget the refused values; the disk still has the old. */
		b->synced = 0;
		return err_set(e, r, "grubenv %s: %s", b->path, r == -ENOSPC ?
		    "variables do not fit in 1024 bytes" :
		    "a variable name GRUB cannot read");
	}
	/* The backup first: from here a torn grubenv can be repaired. */
	if ((r = backup_write(b, blk, b->disk, e)) < 0)
		return err_prefix(e, "grubenv %s", b->path);
	if ((r = inplace_write(b, blk, e)) < 0)
		return r;
	memcpy(b->disk, blk, ENVBLK_SIZE);
	return 0;
nomem:
	b->synced = 0;
	return err_set(e, r, "grubenv %s: out of memory", b->path);
}

const struct bootenv_ops grub_ops = {
	.name = "grub",
	.open = grub_open,
	.load = grub_load,
	.commit = grub_commit,
	.get = grub_get,
	.close = grub_close,
};

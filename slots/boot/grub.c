/*
 * GRUB env backend on the 1024-byte grubenv file. The block format
 * (parse and layout) is slots/boot/grubenv.c's; this file owns the
 * files: grubenv, its backup, and the repair of a torn write. GRUB's
 * save_env writes the file's sectors in place and cannot create or move
 * it, so a commit rewrites the same blocks with pwrite() and never
 * renames.
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
#include "slots/boot/grubenv.h"

#define SECTOR		512
#define BACKUP_SUFFIX	".upkit"
#define BACKUP_TRAILER	"# upkit-grubenv-backup xxh3="
/* N, P, then the trailer with 16 hex digits and a newline. */
#define BACKUP_SIZE	(2 * GRUBENV_SIZE + sizeof(BACKUP_TRAILER) - 1 + 17)
#define REPAIR_VAR	"upkit.repair"

struct bootenv {
	char		*path;		/* grubenv */
	char		*backup;	/* grubenv.upkit */
	char		*tmp;		/* grubenv.upkit.tmp */
	struct grubenv	 vars;		/* as of the last sync */
	unsigned char	 disk[GRUBENV_SIZE];	/* grubenv as on disk */
	int		 synced;
	char		 repair[400];	/* the last repair, or "" */
};

static void
backup_trailer(const unsigned char *np, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%016llx\n", BACKUP_TRAILER,
	    (unsigned long long)XXH3_64bits(np, 2 * GRUBENV_SIZE));
}

/* Replaces grubenv.upkit with N and P: write aside, fsync, rename, fsync
 * the folder, so it is whole before grubenv is touched. */
static int
backup_write(struct bootenv *b, const unsigned char *n,
    const unsigned char *p, struct err *e)
{
	unsigned char buf[BACKUP_SIZE + 1];

	memcpy(buf, n, GRUBENV_SIZE);
	memcpy(buf + GRUBENV_SIZE, p, GRUBENV_SIZE);
	backup_trailer(buf, (char *)buf + 2 * GRUBENV_SIZE,
	    sizeof(buf) - 2 * GRUBENV_SIZE);
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
	struct grubenv vs;
	size_t len;
	int r;

	if ((r = read_upto(b->backup, buf, sizeof(buf), &len)) < 0 &&
	    r != -EFBIG) {
		snprintf(why, whylen, "%s: %s", b->backup, strerror(-r));
		return r;
	}
	backup_trailer(buf, trailer, sizeof(trailer));
	if (r == -EFBIG || len != BACKUP_SIZE ||
	    memcmp(buf + 2 * GRUBENV_SIZE, trailer, strlen(trailer)) != 0) {
		snprintf(why, whylen, "backup %s is damaged (size or "
		    "checksum)", b->backup);
		return -EBADMSG;
	}
	if (grubenv_parse(buf, GRUBENV_SIZE, &vs, why, whylen) < 0)
		return -EBADMSG;
	grubenv_free(&vs);
	memcpy(n, buf, GRUBENV_SIZE);
	memcpy(p, buf + GRUBENV_SIZE, GRUBENV_SIZE);
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
	if ((r = pwrite_all(fd, blk, GRUBENV_SIZE, 0)) < 0) {
		err_set(e, r, "grubenv %s: write: %s", b->path, strerror(-r));
		goto out;
	}
	/* Cutting an oversized file keeps its first blocks where they are. */
	if (fstat(fd, &sb) == -1 || (sb.st_size > GRUBENV_SIZE &&
	    ftruncate(fd, GRUBENV_SIZE) == -1) || fsync(fd) == -1) {
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
	unsigned char g[GRUBENV_SIZE], n[GRUBENV_SIZE], p[GRUBENV_SIZE];
	char gwhy[160], kwhy[200];
	struct grubenv vs;
	size_t glen;
	int r, gr, kr, s0, s1;

	grubenv_free(&b->vars);
	b->synced = 0;
	memset(g, 0, sizeof(g));
	if ((r = read_upto(b->path, g, sizeof(g), &glen)) < 0 &&
	    r != -EFBIG)
		return err_set(e, r, "grubenv %s: read: %s", b->path,
		    strerror(-r));
	if (r == -EFBIG) {
		snprintf(gwhy, sizeof(gwhy), "larger than %d bytes",
		    GRUBENV_SIZE);
		gr = -EBADMSG;
	} else
		gr = grubenv_parse(g, glen, &vs, gwhy, sizeof(gwhy));
	if (gr == -ENOMEM)
		return err_set(e, gr, "grubenv %s: out of memory", b->path);
	s0 = s1 = 0;
	if ((kr = backup_read(b, n, p, kwhy, sizeof(kwhy))) == 0) {
		s0 = sector_from(g, n, p, 0);
		s1 = sector_from(g, n, p, 1);
	}
	if (kr == 0 && glen == GRUBENV_SIZE && r == 0 &&
	    memcmp(g, n, GRUBENV_SIZE) != 0 && memcmp(g, p, GRUBENV_SIZE) != 0 &&
	    s0 != 0 && s1 != 0) {
		/* Only an interrupted commit mixes N and P sectors. */
		if (gr == 0)
			grubenv_free(&vs);
		snprintf(b->repair, sizeof(b->repair), "grubenv %s: torn "
		    "write (first sector %s, second %s) repaired from %s",
		    b->path, s0 == 'n' ? "new" : "old",
		    s1 == 'n' ? "new" : "old", b->backup);
		gr = -EBADMSG;
	} else if (gr == 0) {
		/* N, P (the commit never reached the disk), or a save by
		 * GRUB or grub-editenv since: all are states to keep. */
		b->vars = vs;
		memcpy(b->disk, g, GRUBENV_SIZE);
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
		memcpy(b->disk, g, GRUBENV_SIZE);
		b->synced = 1;
		return 0;
	}
	if ((r = inplace_write(b, n, e)) < 0) {
		b->repair[0] = '\0';
		return err_prefix(e, "repair from %s", b->backup);
	}
	if ((r = grubenv_parse(n, GRUBENV_SIZE, &b->vars, gwhy,
	    sizeof(gwhy))) < 0)
		return err_set(e, r, "grubenv backup %s: %s", b->backup, gwhy);
	memcpy(b->disk, n, GRUBENV_SIZE);
	b->synced = 1;
	return 0;
}

static void
grub_close(struct bootenv *b)
{
	if (b == NULL)
		return;
	grubenv_free(&b->vars);
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
	struct grubenv_line *it;
	int i, r;

	b->repair[0] = '\0';
	if ((r = env_sync(b, 0, e)) < 0)
		return r;
	for (i = 0; i < BOOTENV_VARS; i++)
		val[i] = (it = grubenv_find(&b->vars, bootstate_names[i])) !=
		    NULL ? it->value : NULL;
	if ((r = bootstate_decode(val, st, e)) < 0)
		return err_prefix(e, "grubenv %s", b->path);
	return 0;
}

static int
grub_get(struct bootenv *b, const char *name, char **valp, struct err *e)
{
	struct grubenv_line *it;
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
	if ((it = grubenv_find(&b->vars, name)) != NULL &&
	    (*valp = strdup(it->value)) == NULL)
		return err_set(e, -ENOMEM, "grubenv %s: out of memory",
		    b->path);
	return 0;
}

static int
grub_commit(struct bootenv *b, const struct bootstate *st, struct err *e)
{
	unsigned char blk[GRUBENV_SIZE];
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
		if ((r = grubenv_set(&b->vars, bootstate_names[i], t.val[i])) < 0)
			goto nomem;
	if ((r = grubenv_build(&b->vars, blk)) < 0) {
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
	memcpy(b->disk, blk, GRUBENV_SIZE);
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

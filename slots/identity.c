/*
 * Storage identity. An identity is two small sets of "atoms", each an
 * inode (st_dev, st_ino), a block device number or a char device number:
 *
 * - self: the storage the path is. A file or folder is its inode; a
 *   block device its number; a whole loop device also its backing file.
 * - host: the storage it lies within. A file's file system device and
 *   that device's whole disk; a partition's whole disk; a loop
 *   partition's backing file.
 *
 * Two identities are the same storage when their selves meet; one holds
 * the other when its self meets the other's host. Hosts never meet hosts:
 * two files on one file system are apart.
 *
 * Which device is a partition of which disk, and which file backs a
 * loop device, is slots/blockdev.c's (sysfs, checked on the nodes); the
 * mounts and the running root are read here, in identity_busy().
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/blockdev.h"
#include "slots/identity.h"

#define LINKS_MAX	40	/* symlinks in one path, as the kernel's */
#define SELF_MAX	2
#define HOST_MAX	6
#define DEPTH_MAX	4096	/* folders walked up by identity_within */

enum atom_kind {
	ATOM_INODE = 1,
	ATOM_BLOCK,
	ATOM_CHAR,
};

struct atom {
	enum atom_kind	 kind;
	dev_t		 dev;		/* st_dev, or the device's number */
	ino_t		 ino;		/* ATOM_INODE only */
};

struct identity {
	char		*path;		/* deepest existing part, resolved */
	char		*rest;		/* missing tail, "" if none */
	char		*name;		/* path and rest, for messages */
	mode_t		 type;		/* S_IFMT of path; 0 if rest */
	dev_t		 dev;		/* of path */
	ino_t		 ino;
	dev_t		 disk;		/* a partition's whole disk, or 0 */
	int		 fd_only;	/* from identity_open_fd() */
	struct atom	 self[SELF_MAX];
	size_t		 nself;
	struct atom	 host[HOST_MAX];
	size_t		 nhost;
};

static char empty[1];

static void
add(struct atom *v, size_t *n, size_t max, enum atom_kind kind, dev_t dev,
    ino_t ino)
{
	if (*n == max)
		return;
	v[*n].kind = kind;
	v[*n].dev = dev;
	v[*n].ino = kind == ATOM_INODE ? ino : 0;
	(*n)++;
}

/* Appends "/c" (or "c" to an empty s) within PATH_MAX. */
static int
append(char *s, const char *c)
{
	size_t n = strlen(s);

	if (n + 1 + strlen(c) >= PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(s + n, PATH_MAX - n, "%s%s",
	    n == 0 || strcmp(s, "/") == 0 ? "" : "/", c);
	return 0;
}

/*
 * realpath(3) that allows a missing tail: canon gets the deepest existing
 * ancestor, symlinks resolved; rest the missing components, "." and ".."
 * applied by name (they name nothing yet). Both hold PATH_MAX bytes.
 */
static int
resolve(const char *path, char *canon, char *rest)
{
	char *todo, *next, *c, *t, *link = NULL;
	struct stat st;
	ssize_t ln;
	int links = 0, r;

	rest[0] = '\0';
	if (path[0] == '/')
		strcpy(canon, "/");
	else if (getcwd(canon, PATH_MAX) == NULL)
		return -errno;
	if ((todo = strdup(path)) == NULL ||
	    (link = malloc(PATH_MAX)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (next = todo; next != NULL; ) {
		c = next;
		if ((next = strchr(c, '/')) != NULL)
			*next++ = '\0';
		if (c[0] == '\0' || strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			t = strrchr(rest[0] != '\0' ? rest : canon, '/');
			if (rest[0] != '\0')
				*(t != NULL ? t : rest) = '\0';
			else if (t != NULL)
				t[t == canon ? 1 : 0] = '\0';
			continue;
		}
		if (rest[0] != '\0') {
			if ((r = append(rest, c)) < 0)
				goto out;
			continue;
		}
		if ((r = append(canon, c)) < 0)
			goto out;
		if (lstat(canon, &st) == -1) {
			r = -errno;
			if (r != -ENOENT)
				goto out;
			/* canon was an existing folder before the append. */
			*strrchr(canon, '/') = '\0';
			if (canon[0] == '\0')
				strcpy(canon, "/");
			strcpy(rest, c);
			continue;
		}
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++links > LINKS_MAX) {
			r = -ELOOP;
			goto out;
		}
		if ((ln = readlink(canon, link, PATH_MAX - 1)) == -1) {
			r = -errno;
			goto out;
		}
		link[ln] = '\0';
		/* The link's text replaces its name in what is left. */
		*strrchr(canon, '/') = '\0';
		if (canon[0] == '\0' || link[0] == '/')
			strcpy(canon, "/");
		if (asprintf(&t, "%s/%s", link, next != NULL ? next : "") ==
		    -1) {
			r = -ENOMEM;
			goto out;
		}
		free(todo);
		next = todo = t;
	}
	r = 0;
out:
	free(todo);
	free(link);
	return r;
}

/* Hosts of what lies on file system device dev: dev, its whole disk
 * and, for a loop disk, the backing file and its own hosts. */
static void
fs_hosts(struct identity *id, dev_t dev, int depth)
{
	struct atom back;
	dev_t disk;

	/* tmpfs, overlayfs and btrfs have no block device of their own. */
	if (!blockdev_is_block(dev))
		return;
	add(id->host, &id->nhost, HOST_MAX, ATOM_BLOCK, dev, 0);
	if ((disk = blockdev_whole_disk(dev)) != dev)
		add(id->host, &id->nhost, HOST_MAX, ATOM_BLOCK, disk, 0);
	if (depth == 0 && blockdev_loop_backing(disk, -1, &back.dev,
	    &back.ino)) {
		add(id->host, &id->nhost, HOST_MAX, ATOM_INODE, back.dev,
		    back.ino);
		fs_hosts(id, back.dev, depth + 1);
	}
}

static void
block_atoms(struct identity *id, dev_t rdev, int fd)
{
	struct atom back;
	dev_t disk = blockdev_whole_disk(rdev);

	add(id->self, &id->nself, SELF_MAX, ATOM_BLOCK, rdev, 0);
	if (disk != rdev) {
		id->disk = disk;
		add(id->host, &id->nhost, HOST_MAX, ATOM_BLOCK, disk, 0);
	}
	if (!blockdev_loop_backing(disk, disk == rdev ? fd : -1,
	    &back.dev, &back.ino))
		return;
	/* A loop device is its file; a loop partition lies within it. */
	if (disk == rdev)
		add(id->self, &id->nself, SELF_MAX, ATOM_INODE, back.dev,
		    back.ino);
	else
		add(id->host, &id->nhost, HOST_MAX, ATOM_INODE, back.dev,
		    back.ino);
	fs_hosts(id, back.dev, 1);
}

static void
stat_atoms(struct identity *id, const struct stat *st, int fd)
{
	id->type = st->st_mode & S_IFMT;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	if (S_ISBLK(st->st_mode))
		block_atoms(id, st->st_rdev, fd);
	else if (S_ISCHR(st->st_mode))
		add(id->self, &id->nself, SELF_MAX, ATOM_CHAR, st->st_rdev, 0);
	else {
		add(id->self, &id->nself, SELF_MAX, ATOM_INODE, st->st_dev,
		    st->st_ino);
		fs_hosts(id, st->st_dev, 0);
	}
}

int
identity_open(const char *path, struct identity **idp, struct err *e)
{
	struct identity *id;
	struct stat st;
	char *canon = NULL, *rest = NULL;
	int fd, r;

	*idp = NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL ||
	    (canon = malloc(PATH_MAX)) == NULL ||
	    (rest = malloc(PATH_MAX)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if ((r = resolve(path, canon, rest)) < 0) {
		err_set(e, r, "%s: %s", path, strerror(-r));
		goto fail;
	}
	if (stat(canon, &st) == -1) {
		r = -errno;
		err_set(e, r, "%s: stat %s: %s", path, canon, strerror(-r));
		goto fail;
	}
	if ((id->path = strdup(canon)) == NULL ||
	    (id->rest = strdup(rest)) == NULL ||
	    asprintf(&id->name, "%s%s%s", canon, rest[0] == '\0' ||
	    strcmp(canon, "/") == 0 ? "" : "/", rest) == -1) {
		id->name = NULL;
		r = err_set(e, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if (rest[0] != '\0') {
		/* Not there yet: it will be made on the anchor's file
		 * system, and is nothing else so far. */
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		fs_hosts(id, st.st_dev, 0);
	} else {
		fd = S_ISBLK(st.st_mode) ? open(canon, O_RDONLY | O_NONBLOCK |
		    O_CLOEXEC) : -1;
		stat_atoms(id, &st, fd);
		if (fd != -1)
			close(fd);
	}
	free(canon);
	free(rest);
	*idp = id;
	return 0;
fail:
	free(canon);
	free(rest);
	identity_free(id);
	return r;
}

int
identity_open_fd(int fd, const char *name, struct identity **idp,
    struct err *e)
{
	struct identity *id;
	struct stat st;
	int r;

	*idp = NULL;
	if (fstat(fd, &st) == -1) {
		r = -errno;
		return err_set(e, r, "stat %s: %s", name, strerror(-r));
	}
	if ((id = calloc(1, sizeof(*id))) == NULL ||
	    (id->path = strdup(name)) == NULL ||
	    (id->rest = strdup("")) == NULL ||
	    (id->name = strdup(name)) == NULL) {
		identity_free(id);
		return err_set(e, -ENOMEM, "%s: out of memory", name);
	}
	id->fd_only = 1;
	stat_atoms(id, &st, fd);
	*idp = id;
	return 0;
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	free(id->path);
	if (id->rest != empty)
		free(id->rest);
	free(id->name);
	free(id);
}

const char *
identity_path(const struct identity *id)
{
	return id->name;
}

int
identity_is_block(const struct identity *id)
{
	return S_ISBLK(id->type);
}

static int
meet(const struct atom *a, size_t na, const struct atom *b, size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i].kind == b[j].kind && a[i].dev == b[j].dev &&
			    a[i].ino == b[j].ino)
				return 1;
	return 0;
}

enum identity_rel
identity_compare(const struct identity *a, const struct identity *b)
{
	/* Two places not made yet are one if they will be made as one. */
	if (a->rest[0] != '\0' && b->rest[0] != '\0' && a->dev == b->dev &&
	    a->ino == b->ino && strcmp(a->rest, b->rest) == 0)
		return IDENTITY_SAME;
	if (meet(a->self, a->nself, b->self, b->nself))
		return IDENTITY_SAME;
	if (meet(a->self, a->nself, b->host, b->nhost))
		return IDENTITY_HOLDS;
	if (meet(b->self, b->nself, a->host, a->nhost))
		return IDENTITY_INSIDE;
	return IDENTITY_APART;
}

int
identity_within(const struct identity *x, const struct identity *dir,
    struct err *e)
{
	struct stat st, pst;
	char *start = NULL, *t;
	size_t n;
	int fd, pfd, depth, r;

	if (dir->rest[0] != '\0') {
		/* Nothing exists below a folder that does not exist. */
		n = strlen(dir->rest);
		return x->rest[0] != '\0' && x->dev == dir->dev &&
		    x->ino == dir->ino && strncmp(x->rest, dir->rest, n) == 0 &&
		    (x->rest[n] == '\0' || x->rest[n] == '/');
	}
	if (!S_ISDIR(dir->type) || x->fd_only)
		return 0;
	if ((start = strdup(x->path)) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", x->name);
	/* A file's walk starts at its folder; a missing tail's at its
	 * deepest existing folder, which path is. */
	if (x->rest[0] == '\0' && !S_ISDIR(x->type) &&
	    (t = strrchr(start, '/')) != NULL)
		t[t == start ? 1 : 0] = '\0';
	if ((fd = open(start, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = -errno;
		err_set(e, r, "%s: open %s: %s", x->name, start,
		    strerror(-r));
		free(start);
		return r;
	}
	/* ".." crosses mount points as the kernel resolves it; at the
	 * root it is the root itself. */
	for (depth = 0, r = 0; depth < DEPTH_MAX; depth++) {
		if (fstat(fd, &st) == -1) {
			r = -errno;
			break;
		}
		if (st.st_dev == dir->dev && st.st_ino == dir->ino) {
			r = 1;
			break;
		}
		if ((pfd = openat(fd, "..", O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1) {
			r = -errno;
			break;
		}
		close(fd);
		fd = pfd;
		if (fstat(fd, &pst) == -1) {
			r = -errno;
			break;
		}
		if (pst.st_dev == st.st_dev && pst.st_ino == st.st_ino)
			break;
	}
	close(fd);
	if (r < 0)
		err_set(e, r, "%s: walk up from %s: %s", x->name, start,
		    strerror(-r));
	free(start);
	return r;
}

/*
 * Whether writing t would write what a mount of m holds: t is m's
 * storage (m itself, another name of it, the file behind loop device m),
 * or holds it (m is a partition of disk t, or of a loop device on file
 * t), or t is a partition of the mounted whole disk m. Not a file, or a
 * loop device's file, that merely lies on m.
 */
static int
refuses(const struct identity *t, dev_t m)
{
	struct identity mi;
	enum identity_rel rel;

	if (!blockdev_is_block(m))
		return 0;
	memset(&mi, 0, sizeof(mi));
	mi.rest = empty;
	mi.type = S_IFBLK;
	block_atoms(&mi, m, -1);
	rel = identity_compare(t, &mi);
	return rel == IDENTITY_SAME || rel == IDENTITY_HOLDS ||
	    (rel == IDENTITY_INSIDE && t->disk == m);
}

int
identity_busy(const struct identity *id, const char *root,
    const char *mountinfo, struct err *e)
{
	struct stat st;
	char *line = NULL, mnt[1024];
	unsigned int ma, mi;
	size_t cap = 0;
	FILE *f;
	int r = 0;

	/* The running root first: mountinfo may not show it (a chroot,
	 * or no /proc at all). */
	if (stat(root != NULL ? root : "/", &st) == 0 &&
	    refuses(id, st.st_dev))
		return err_set(e, -EBUSY, "%s holds the running root file "
		    "system (device %u:%u)", id->name, major(st.st_dev),
		    minor(st.st_dev));
	if (mountinfo == NULL)
		mountinfo = "/proc/self/mountinfo";
	if ((f = fopen(mountinfo, "re")) == NULL) {
		r = -errno;
		return err_set(e, r, "%s: cannot check that it is not "
		    "mounted: %s: %s", id->name, mountinfo, strerror(-r));
	}
	while (getline(&line, &cap, f) != -1) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
		if (sscanf(line, "%*s %*s %u:%u %*s %1023s", &ma, &mi,
		    mnt) != 3)
			continue;
		if (refuses(id, makedev(ma, mi))) {
			r = err_set(e, -EBUSY, "%s is mounted (device %u:%u "
			    "on %s)", id->name, ma, mi, mnt);
			break;
		}
	}
	if (r == 0 && ferror(f))
		r = err_set(e, -EIO, "%s: cannot check that it is not "
		    "mounted: read %s", id->name, mountinfo);
	free(line);
	fclose(f);
	return r;
}

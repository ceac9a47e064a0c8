/*
 * tests/tools/powercut: the folder a cut leaves, built in memory from
 * the snapshot and the records that land, hashed and written out.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "tests/tools/powercut.h"

/* The model being built. */
struct node *nodes;
static struct entry *ents;
static int nents, capents;

/* ---- the model ---- */

int split_done;			/* build() split a rename */

static void
model_reset(void)
{
	int i;

	for (i = 0; i <= nnodes && nodes != NULL; i++)
		free(nodes[i].data);
	free(nodes);
	for (i = 0; i < nents; i++)
		free(ents[i].path);
	free(ents);
	/* One spare node: the empty new name of a split rename. */
	nodes = xalloc((size_t)(nnodes + 1) * sizeof(*nodes));
	for (i = 0; i < nsnap; i++) {
		nodes[i] = snapnodes[i];
		nodes[i].data = xalloc(snapnodes[i].size);
		if (snapnodes[i].size > 0)	/* a folder has no data */
			memcpy(nodes[i].data, snapnodes[i].data,
			    snapnodes[i].size);
		nodes[i].cap = snapnodes[i].size;
	}
	capents = nsnapents + (int)nrec + 16;
	ents = xalloc((size_t)capents * sizeof(*ents));
	for (i = 0; i < nsnapents; i++) {
		ents[i].path = xstrdup(snapents[i].path);
		ents[i].node = snapents[i].node;
	}
	nents = nsnapents;
}

static int
find(const char *path)
{
	int i;

	for (i = 0; i < nents; i++)
		if (strcmp(ents[i].path, path) == 0)
			return i;
	return -1;
}

static void
ent_remove(int i)
{
	free(ents[i].path);
	ents[i] = ents[--nents];
}

/* Removes path and everything below it. */
static void
remove_tree(const char *path)
{
	size_t n = strlen(path);
	int i;

	for (i = 0; i < nents; i++)
		if (strncmp(ents[i].path, path, n) == 0 &&
		    (ents[i].path[n] == '\0' || ents[i].path[n] == '/'))
			ent_remove(i--);
}

static void
ent_add(const char *path, int node)
{
	if (nents == capents) {
		capents *= 2;
		if ((ents = realloc(ents, (size_t)capents * sizeof(*ents))) ==
		    NULL)
			die("%s", "out of memory");
	}
	ents[nents].path = xstrdup(path);
	ents[nents++].node = node;
}

/* Moves the entries at and below from to below to (mark: a tag). */
static void
move_tree(const char *from, const char *to, int tag, int *moved)
{
	size_t n = strlen(from);
	char buf[MAXPATH];
	int i;

	for (i = 0; i < nents; i++) {
		if (moved[i] || strncmp(ents[i].path, from, n) != 0 ||
		    (ents[i].path[n] != '\0' && ents[i].path[n] != '/'))
			continue;
		snprintf(buf, sizeof(buf), "%s%s", to, ents[i].path + n);
		free(ents[i].path);
		ents[i].path = xstrdup(buf);
		moved[i] = tag;
	}
}

static void
node_resize(struct node *nd, size_t size)
{
	if (size > nd->cap) {
		size_t cap = size + size / 2 + 4096;

		if ((nd->data = realloc(nd->data, cap)) == NULL)
			die("%s", "out of memory");
		nd->cap = cap;
	}
	if (size > nd->size)
		memset(nd->data + nd->size, 0, size - nd->size);
	nd->size = size;
}

/* Puts len bytes (NULL: zeros) at off; grows the file unless keep. */
static void
node_put(struct node *nd, const unsigned char *data, uint64_t off,
    uint64_t len, int keep)
{
	if (keep) {
		if (off >= nd->size)
			return;
		if (off + len > nd->size)
			len = nd->size - off;
	} else if (off + len > nd->size)
		node_resize(nd, (size_t)(off + len));
	if (data != NULL)
		memcpy(nd->data + off, data, (size_t)len);
	else
		memset(nd->data + off, 0, (size_t)len);
}

/* Whether the folder that would hold path exists in the model. */
static int
has_parent(const char *path)
{
	char dir[MAXPATH];
	int i;

	parent_of(path, dir);
	return (i = find(dir)) != -1 && nodes[ents[i].node].type == 'd';
}

static void
apply_rec(const struct rec *r, const struct variant *v)
{
	uint64_t off = (uint64_t)r->a, len = (uint64_t)r->b, cut;
	int *moved, i, j, keep;

	/* Zeroing keeps the size; so does a device. */
	keep = r->op == 'Z' || (r->node >= 0 && nodes[r->node].type == 'b');

	switch (r->op) {
	case 'W': case 'Z':
		if (v->torn == r - recs) {
			/* Absolute sector boundaries: the first boundary
			 * after off is the end of its first sector. */
			cut = (off / SECTOR + (uint64_t)(v->tail ?
			    nsectors(r) - v->sectors : v->sectors)) * SECTOR;
			if (!v->tail) {
				node_put(&nodes[r->node], r->data, off,
				    cut - off, keep);
			} else {
				node_put(&nodes[r->node], r->data != NULL ?
				    r->data + (cut - off) : NULL, cut,
				    off + len - cut, keep);
			}
			return;
		}
		node_put(&nodes[r->node], r->data, off, len, keep);
		return;
	case 'T':
		node_resize(&nodes[r->node], (size_t)r->a);
		return;
	case 'C': case 'D':
		if (!has_parent(r->p1))
			return;	/* unreachable: its folder did not land */
		nodes[r->node].type = r->op == 'C' ? 'f' : 'd';
		nodes[r->node].mode = (unsigned)r->a;
		remove_tree(r->p1);
		ent_add(r->p1, r->node);
		return;
	case 'U': case 'R':
		remove_tree(r->p1);
		return;
	case 'N':
		if (find(r->p1) == -1 || !has_parent(r->p2))
			return;		/* its creation did not land (vfat) */
		if (strcmp(r->p1, r->p2) == 0)
			return;
		if (v->split == r - recs) {
			/* vfat_rename(): the new entry first (no clusters,
			 * then the file's), the old name still there. Only
			 * a file's rename to a free name goes so. */
			i = ents[find(r->p1)].node;
			if (nodes[i].type != 'f' || find(r->p2) != -1)
				return;		/* plan leaves it out */
			split_done = 1;
			if (!v->both) {
				nodes[nnodes].type = 'f';
				nodes[nnodes].mode = nodes[i].mode;
				i = nnodes;
			}
			ent_add(r->p2, i);
			return;
		}
		remove_tree(r->p2);
		moved = xalloc((size_t)nents * sizeof(int));
		move_tree(r->p1, r->p2, 1, moved);
		free(moved);
		return;
	case 'X':
		if ((i = find(r->p1)) == -1 || (j = find(r->p2)) == -1)
			return;
		moved = xalloc((size_t)nents * sizeof(int));
		move_tree(r->p1, r->p2, 1, moved);
		move_tree(r->p2, r->p1, 2, moved);
		free(moved);
		return;
	default:
		return;
	}
}

/* Builds the model of cut k, variant v. */
void
build(long k, const struct variant *v)
{
	long i, s = 0;

	model_reset();
	split_done = 0;
	for (i = 1; i <= k; i++) {
		int on = recs[i].durable <= k;

		if (!is_data(&recs[i]) && !is_name(&recs[i]))
			continue;
		while (!on && s < v->nsel && v->sel[s] < i)
			s++;
		if (!on && s < v->nsel && v->sel[s] == i)
			on = 1;
		if (on)
			apply_rec(&recs[i], v);
	}
}

/* ---- output ---- */

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
	    ((const struct entry *)b)->path);
}

uint64_t
model_hash(void)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h;
	int i;

	qsort(ents, (size_t)nents, sizeof(*ents), by_path);
	XXH3_64bits_reset(st);
	for (i = 0; i < nents; i++) {
		struct node *nd = &nodes[ents[i].node];

		XXH3_64bits_update(st, ents[i].path, strlen(ents[i].path) + 1);
		XXH3_64bits_update(st, &nd->type, 1);
		if (nd->type != 'd') {
			XXH3_64bits_update(st, &nd->size, sizeof(nd->size));
			if (nd->size > 0)
				XXH3_64bits_update(st, nd->data, nd->size);
		}
	}
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

static void
dest_path(const char *dest, const char *path, char *out)
{
	snprintf(out, MAXPATH, "%s%s", dest, path + strlen(root));
}

/* Removes what DEST holds that the model does not (depth first). */
static void
prune(const char *dest, const char *dpath, const char *mpath)
{
	char sub[MAXPATH], msub[MAXPATH];
	struct dirent *de;
	struct stat st;
	int i;
	DIR *d;

	if ((d = opendir(dpath)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dpath, de->d_name);
		snprintf(msub, sizeof(msub), "%s/%s", mpath, de->d_name);
		if (lstat(sub, &st) == -1)
			continue;
		i = find(msub);
		if (S_ISDIR(st.st_mode)) {
			prune(dest, sub, msub);
			if (i == -1 || nodes[ents[i].node].type != 'd')
				if (rmdir(sub) == -1)
					die("rmdir %s", sub);
		} else if (i == -1 || nodes[ents[i].node].type != 'f' ||
		    !S_ISREG(st.st_mode)) {
			if (unlink(sub) == -1)
				die("unlink %s", sub);
		}
	}
	closedir(d);
}

static void
spill_dev(const char *path, const unsigned char *data, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		die("cannot write %s", path);
	while (done < len) {
		if ((n = pwrite(fd, data + done, len - done, (off_t)done)) <= 0)
			die("write %s", path);
		done += (size_t)n;
	}
	if (fsync(fd) == -1)
		die("fsync %s", path);
	close(fd);
}

void
write_out(const char *dest)
{
	char out[MAXPATH];
	unsigned char *have;
	size_t len;
	struct stat st;
	int i;

	prune(dest, dest, root);
	/* Sorted by path: a folder comes before what it holds. */
	for (i = 0; i < nents; i++) {
		struct node *nd = &nodes[ents[i].node];

		if (nd->type == 'b') {
			/* A device is written where it is, never resized. */
			have = slurp(ents[i].path, &len);
			if (len != nd->size || (len > 0 &&
			    memcmp(have, nd->data, len) != 0))
				spill_dev(ents[i].path, nd->data, nd->size);
			free(have);
			continue;
		}
		dest_path(dest, ents[i].path, out);
		if (nd->type == 'd') {
			if (mkdir(out, nd->mode) == -1 && errno != EEXIST)
				die("mkdir %s", out);
			chmod(out, nd->mode);
			continue;
		}
		if (stat(out, &st) == 0 && (size_t)st.st_size == nd->size) {
			have = slurp(out, &len);
			/* An empty file may have no buffer at all. */
			if (len == nd->size && (len == 0 ||
			    memcmp(have, nd->data, len) == 0)) {
				free(have);
				chmod(out, nd->mode);
				continue;
			}
			free(have);
		}
		spill(out, nd->data, nd->size, nd->mode);
	}
}

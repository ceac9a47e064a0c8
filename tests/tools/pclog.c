/*
 * tests/tools/powercut: the snapshot and the log read back, and for
 * each change the record that makes it durable (docs/powercut.md, "Cut
 * points").
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

/* The snapshot. */
char root[MAXPATH];
struct node *snapnodes;
int nsnap;
struct entry *snapents;
int nsnapents;
static struct { unsigned long long dev, ino; int node; } *snapids;

/* The log. */
struct rec *recs;		/* recs[1..nrec] */
long nrec;
int nnodes;			/* snapshot nodes + created ones */
int vfat;			/* every name change on vfat */
const char *vfat_under;		/* or those under this folder */

/* ---- loading ---- */

void
snap_load(const char *dir)
{
	char idx[MAXPATH + 8], line[MAXPATH + 128], rel[MAXPATH], f[MAXPATH];
	char type;
	unsigned mode;
	unsigned long long dev, ino;
	int nfile = 0, cap = 64;
	FILE *fp;

	snprintf(idx, sizeof(idx), "%s/index", dir);
	if ((fp = fopen(idx, "r")) == NULL)
		die("cannot read %s", idx);
	if (fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "root\t%4095[^\n]", root) != 1)
		die("%s: no root line", idx);
	snapnodes = xalloc(cap * sizeof(*snapnodes));
	snapents = xalloc(cap * sizeof(*snapents));
	snapids = xalloc(cap * sizeof(*snapids));
	while (fgets(line, sizeof(line), fp) != NULL) {
		rel[0] = '\0';
		if (sscanf(line, "%c\t%o\t%llu\t%llu\t%4095[^\n]", &type, &mode,
		    &dev, &ino, rel) < 4)
			die("%s: bad line", idx);
		if (nsnap == cap) {
			cap *= 2;
			snapnodes = realloc(snapnodes,
			    cap * sizeof(*snapnodes));
			snapents = realloc(snapents, cap * sizeof(*snapents));
			snapids = realloc(snapids, cap * sizeof(*snapids));
			if (!snapnodes || !snapents || !snapids)
				die("%s", "out of memory");
		}
		memset(&snapnodes[nsnap], 0, sizeof(snapnodes[nsnap]));
		snapnodes[nsnap].type = type;
		snapnodes[nsnap].mode = mode;
		if (type == 'f' || type == 'b') {
			snprintf(f, sizeof(f), "%s/%d", dir, nfile++);
			snapnodes[nsnap].data = slurp(f,
			    &snapnodes[nsnap].size);
			snapnodes[nsnap].cap = snapnodes[nsnap].size;
		}
		if (snprintf(f, sizeof(f), "%s%s", type == 'b' ? "" : root,
		    rel) >= (int)sizeof(f))
			die("%s: path too long", rel);
		snapents[nsnap].path = xstrdup(f);
		snapents[nsnap].node = nsnap;
		snapids[nsnap].dev = dev;
		snapids[nsnap].ino = ino;
		snapids[nsnap].node = nsnap;
		nsnap++;
	}
	nsnapents = nsnap;
	fclose(fp);
}

static char *
field(char **p, int last)
{
	char *s = *p, *e;

	if ((e = strchr(s, last ? '\n' : '\t')) == NULL)
		die("%s", "log: truncated record");
	*e = '\0';
	*p = e + 1;
	return s;
}

/* Parses the log; records point into buf, which is never freed. */
void
log_load(const char *path)
{
	unsigned char *buf;
	size_t len, cap = 256;
	char *p, *end;
	struct rec *r;

	buf = slurp(path, &len);
	p = (char *)buf;
	end = p + len;
	recs = xalloc(cap * sizeof(*recs));
	while (p < end) {
		if ((size_t)nrec + 2 >= cap) {
			cap *= 2;
			if ((recs = realloc(recs, cap * sizeof(*recs))) == NULL)
				die("%s", "out of memory");
		}
		r = &recs[++nrec];
		memset(r, 0, sizeof(*r));
		r->at = (uint64_t)(p - (char *)buf);
		r->op = *p;
		r->durable = -1;
		p += 2;
		switch (r->op) {
		case 'W': case 'Z':
			r->dev = strtoull(field(&p, 0), NULL, 10);
			r->ino = strtoull(field(&p, 0), NULL, 10);
			r->a = strtoll(field(&p, 0), NULL, 10);
			r->b = strtoll(field(&p, 0), NULL, 10);
			r->p1 = field(&p, 1);
			if (r->op == 'W') {
				r->data = (unsigned char *)p;
				r->len = (size_t)r->b;
				p += r->len;
			}
			break;
		case 'T': case 'S': case 'C': case 'D':
			r->dev = strtoull(field(&p, 0), NULL, 10);
			r->ino = strtoull(field(&p, 0), NULL, 10);
			r->a = strtoll(field(&p, 0), NULL, 10);
			r->p1 = field(&p, 1);
			break;
		case 'F':
			r->dev = strtoull(field(&p, 0), NULL, 10);
			r->a = strtoll(field(&p, 1), NULL, 10);
			break;
		case 'N': case 'X':
			r->p1 = field(&p, 0);
			r->p2 = field(&p, 1);
			break;
		case 'U': case 'R':
			r->p1 = field(&p, 1);
			break;
		default:
			die("log: unknown record '%s'", (char[]){ r->op, 0 });
		}
		if (p > end)
			die("%s", "log: truncated data");
	}
}

int
is_data(const struct rec *r)
{
	return r->op == 'W' || r->op == 'Z' || r->op == 'T';
}

int
is_name(const struct rec *r)
{
	return strchr("CDNXUR", r->op) != NULL;
}

/* Whether name change r happens on vfat (MODEL). */
int
on_vfat(const struct rec *r)
{
	size_t n;

	if (vfat)
		return 1;
	if (vfat_under == NULL || r->p1 == NULL)
		return 0;
	n = strlen(vfat_under);
	return strncmp(r->p1, vfat_under, n) == 0 &&
	    (r->p1[n] == '/' || r->p1[n] == '\0');
}

void
parent_of(const char *path, char *out)
{
	char *s;

	snprintf(out, MAXPATH, "%s", path);
	if ((s = strrchr(out, '/')) != NULL && s != out)
		*s = '\0';
}

/* The first record after i that makes name change i durable in folder
 * dir: an fsync of dir or a syncfs, begun after i. */
static long
dir_synced(long i, const char *dir)
{
	long j;

	for (j = i + 1; j <= nrec; j++)
		if (recs[j].at > recs[i].at &&
		    (uint64_t)recs[j].a > recs[i].at &&
		    ((recs[j].op == 'S' && strcmp(recs[j].p1, dir) == 0) ||
		    recs[j].op == 'F'))
			return j;
	return nrec + 1;
}

/*
 * Gives every record its node (creations make new ones, since inode
 * numbers are reused), and every change the record that makes it
 * durable (nrec + 1: none does).
 */
void
analyse(void)
{
	struct { unsigned long long dev, ino; int node; } *ids;
	int nids = nsnap, i, cap;
	char dir[MAXPATH];
	long k, j, d;

	cap = nsnap + (int)nrec + 1;
	ids = xalloc((size_t)cap * sizeof(*ids));
	memcpy(ids, snapids, (size_t)nsnap * sizeof(*ids));
	nnodes = nsnap;
	for (k = 1; k <= nrec; k++) {
		struct rec *r = &recs[k];

		r->node = -1;
		if (r->op == 'C' || r->op == 'D') {
			r->node = nnodes++;
			for (i = 0; i < nids; i++)
				if (ids[i].dev == r->dev &&
				    ids[i].ino == r->ino)
					break;
			ids[i].dev = r->dev;
			ids[i].ino = r->ino;
			ids[i].node = r->node;
			if (i == nids)
				nids++;
		} else if (is_data(r) || r->op == 'S') {
			for (i = 0; i < nids; i++)
				if (ids[i].dev == r->dev &&
				    ids[i].ino == r->ino)
					r->node = ids[i].node;
			if (r->node == -1)
				die("log: %s was not in the snapshot", r->p1);
		}
	}
	for (k = 1; k <= nrec; k++) {
		struct rec *r = &recs[k];

		r->durable = nrec + 1;
		if (is_data(r)) {
			for (j = k + 1; j <= nrec; j++)
				if ((uint64_t)recs[j].a > r->at &&
				    ((recs[j].op == 'S' &&
				    recs[j].node == r->node) ||
				    (recs[j].op == 'F' &&
				    recs[j].dev == r->dev)))
					break;
			r->durable = j;
		} else if (is_name(r)) {
			parent_of(r->p1, dir);
			r->durable = dir_synced(k, dir);
			if (r->p2 != NULL) {
				parent_of(r->p2, dir);
				if ((d = dir_synced(k, dir)) > r->durable)
					r->durable = d;
			}
		}
	}
	/* ext4: the journal commits name changes in their order. */
	d = nrec + 1;
	for (k = nrec; k >= 1; k--)
		if (is_name(&recs[k]) && !on_vfat(&recs[k])) {
			if (recs[k].durable > d)
				recs[k].durable = d;
			d = recs[k].durable;
		}
	free(ids);
}

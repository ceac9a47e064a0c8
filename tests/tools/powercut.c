/*
 * tests/tools/powercut: the replay half of the power-cut simulator
 * (docs/powercut.md). Given a snapshot of a folder taken before a run and
 * the log tests/shim/powerlog.so wrote during it, it builds the states a
 * power cut could leave:
 *
 *	powercut snap ROOT SNAPDIR [BLOCKDEVICE...]
 *					snapshot ROOT (files, folders, modes,
 *					and each file's st_dev/st_ino), and
 *					block devices outside it (st_rdev)
 *	powercut plan [-m MODEL] SNAPDIR LOG
 *					one line "K V what" per distinct cut:
 *					after record K, variant V
 *	powercut apply [-m MODEL] SNAPDIR LOG K V DEST
 *					the state of cut K V, written over DEST
 *					(ROOT's files rewritten in place, so a
 *					file keeps its inode); prints its hash
 *	powercut dump LOG		the records, one line each
 *
 * K counts records from 1; K 0 is the state before the run. A plan line
 * ends with the path of record K. What is
 * durable at cut K: a write, zeroing or truncation of a file covered by
 * a later fsync/fdatasync of that file or a syncfs, begun before record
 * K ended; a name change (create, mkdir, rename, exchange, unlink, rmdir)
 * covered by an fsync of every folder it changed, or a syncfs. The rest
 * is pending, and variant V picks which of it reached the storage:
 *
 *	0 all		every pending change landed
 *	1 none		none landed
 *	prefix J	the first J pending changes landed, in order
 *	drop-first	all but the oldest pending data write (reordering)
 *	only-last	only the newest pending change landed (reordering)
 *	tear-head S	the newest pending write landed only in its first S
 *			512-byte sectors, the rest of it did not
 *	tear-tail S	only its last S sectors landed
 *
 *	drop-name J	(vfat) all but the J-th pending change, a name
 *			change, landed
 *	rename-empty, rename-both
 *			(vfat) the cut came inside rename K, a file's
 *			rename to a free name: vfat_rename() had added the
 *			new name without clusters (empty), or also given it
 *			the file's clusters (both names, one file), but not
 *			yet deleted the old name; every other pending
 *			change landed
 *
 * MODEL says how names are made durable. ext4 (the default): the journal
 * commits name changes in order, so a pending name change lands only if
 * every earlier one did, and a durable one makes every earlier one
 * durable. vfat: no journal; each name change is atomic (one directory
 * sector) but the pending ones may land in any order, and a folder's
 * changes are durable only after that folder's fsync or a syncfs.
 * vfat:FOLDER: vfat below FOLDER (a FAT boot partition), ext4 elsewhere.
 *
 * plan prints each state once: two (K, V) that apply the same records
 * with the same tear are the same state.
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

#define SECTOR		512
#define MAXPATH		4096

struct node {
	char		 type;		/* 'f' or 'd' */
	unsigned	 mode;
	unsigned char	*data;
	size_t		 size, cap;
};

struct entry {
	char		*path;
	int		 node;
};

struct rec {
	char		 op;		/* W Z T S F C D N X U R */
	uint64_t	 at;		/* offset of the record in the log */
	unsigned long long dev, ino;
	long long	 a, b;
	char		*p1, *p2;
	const unsigned char *data;
	size_t		 len;
	int		 node;		/* the node it changes or syncs */
	long		 durable;	/* first record index making it so */
};

/* The snapshot. */
static char root[MAXPATH];
static struct node *snapnodes;
static int nsnap;
static struct entry *snapents;
static int nsnapents;
static struct { unsigned long long dev, ino; int node; } *snapids;

/* The log. */
static struct rec *recs;		/* recs[1..nrec] */
static long nrec;
static int nnodes;			/* snapshot nodes + created ones */
static int vfat;			/* every name change on vfat */
static const char *vfat_under;		/* or those under this folder */

/* The model being built. */
static struct node *nodes;
static struct entry *ents;
static int nents, capents;

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "powercut: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *
xalloc(size_t n)
{
	void *p;

	if ((p = calloc(1, n ? n : 1)) == NULL)
		die("%s", "out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = xalloc(strlen(s) + 1);

	memcpy(p, s, strlen(s) + 1);
	return p;
}

/* The whole of a file or block device (read to its end). */
static unsigned char *
slurp(const char *path, size_t *lenp)
{
	unsigned char *buf;
	size_t got = 0, cap = 65536;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		die("cannot read %s", path);
	buf = xalloc(cap);
	for (;;) {
		if (got == cap) {
			cap *= 2;
			if ((buf = realloc(buf, cap)) == NULL)
				die("%s", "out of memory");
		}
		if ((n = read(fd, buf + got, cap - got)) < 0)
			die("read %s", path);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*lenp = got;
	return buf;
}

static void
spill(const char *path, const unsigned char *data, size_t len, unsigned mode)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)) == -1)
		die("cannot write %s", path);
	while (done < len) {
		if ((n = pwrite(fd, data + done, len - done, (off_t)done)) <= 0)
			die("write %s", path);
		done += (size_t)n;
	}
	if (ftruncate(fd, (off_t)len) == -1 || fchmod(fd, mode) == -1)
		die("truncate %s", path);
	close(fd);
}

/* ---- snap ---- */

static FILE *snapidx;
static int snapcount;
static char snapdir[MAXPATH];

static void
snap_walk(const char *path, const char *rel)
{
	char sub[MAXPATH], subrel[MAXPATH], out[MAXPATH + 16];
	struct dirent *de;
	struct stat st;
	unsigned char *data;
	size_t len;
	DIR *d;

	if (lstat(path, &st) == -1)
		die("stat %s", path);
	if (S_ISDIR(st.st_mode)) {
		fprintf(snapidx, "d\t%o\t%llu\t%llu\t%s\n",
		    (unsigned)(st.st_mode & 07777),
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino, rel);
		if ((d = opendir(path)) == NULL)
			die("opendir %s", path);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			snprintf(subrel, sizeof(subrel), "%s/%s", rel,
			    de->d_name);
			snap_walk(sub, subrel);
		}
		closedir(d);
	} else if (S_ISREG(st.st_mode)) {
		fprintf(snapidx, "f\t%o\t%llu\t%llu\t%s\n",
		    (unsigned)(st.st_mode & 07777),
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino, rel);
		data = slurp(path, &len);
		snprintf(out, sizeof(out), "%s/%d", snapdir, snapcount++);
		spill(out, data, len, 0600);
		free(data);
	} else
		die("%s: only files and folders are simulated", path);
}

static int
cmd_snap(const char *r, const char *dir, char **devs, int ndev)
{
	char idx[MAXPATH + 8], out[MAXPATH + 16];
	unsigned char *data;
	struct stat st;
	size_t len;
	int i;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		die("mkdir %s", dir);
	snprintf(snapdir, sizeof(snapdir), "%s", dir);
	snprintf(idx, sizeof(idx), "%s/index", dir);
	if ((snapidx = fopen(idx, "w")) == NULL)
		die("cannot write %s", idx);
	fprintf(snapidx, "root\t%s\n", r);
	snap_walk(r, "");
	/* Block devices outside ROOT, named as the log names them. */
	for (i = 0; i < ndev; i++) {
		if (stat(devs[i], &st) == -1 || !S_ISBLK(st.st_mode))
			die("%s: not a block device", devs[i]);
		fprintf(snapidx, "b\t0\t%llu\t0\t%s\n",
		    (unsigned long long)st.st_rdev, devs[i]);
		data = slurp(devs[i], &len);
		snprintf(out, sizeof(out), "%s/%d", snapdir, snapcount++);
		spill(out, data, len, 0600);
		free(data);
	}
	fclose(snapidx);
	return 0;
}

/* ---- loading ---- */

static void
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
static void
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

static int
is_data(const struct rec *r)
{
	return r->op == 'W' || r->op == 'Z' || r->op == 'T';
}

static int
is_name(const struct rec *r)
{
	return strchr("CDNXUR", r->op) != NULL;
}

/* Whether name change r happens on vfat (MODEL). */
static int
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

static void
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
static void
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

/* ---- variants ---- */

struct variant {
	char		 what[48];
	long		*sel;		/* the pending records that land */
	long		 nsel;
	long		 torn;		/* a record in sel, or 0 */
	int		 tail;		/* torn: its last sectors, not first */
	long long	 sectors;	/* how many of its sectors landed */
	long		 split;		/* a rename cut inside, or 0 */
	int		 both;		/* split: its new name holds the file */
};

static long *pend;
static long npend;
static long pend_cut;			/* the cut pending_at() was given */
static int split_done;			/* build() split a rename */

static void
pending_at(long k)
{
	long i;

	npend = 0;
	pend_cut = k;
	for (i = 1; i <= k; i++)
		if ((is_data(&recs[i]) || is_name(&recs[i])) &&
		    recs[i].durable > k)
			pend[npend++] = i;
}

/* How many whole sectors a write spans, by absolute sector boundaries. */
static long long
nsectors(const struct rec *r)
{
	long long first, last;

	if (r->op != 'W' && r->op != 'Z')
		return 0;
	if (r->b <= 0)
		return 0;
	first = r->a / SECTOR;
	last = (r->a + r->b - 1) / SECTOR;
	return last - first + 1;
}

/*
 * Variant v of cut k (pending_at(k) done). Returns 0 when v is past the
 * last one. In ext4 the name changes keep their order: a name change
 * that does not land stops every later one.
 */
static int
variant(long v, struct variant *out)
{
	static long sel[1 << 16];
	long i, nv, first_data = -1, last, n = npend;
	long long ns = 0;
	int keep[1 << 12], stop;

	if (n > (long)(sizeof(keep) / sizeof(keep[0])))
		die("%s", "too many pending changes");
	memset(out, 0, sizeof(*out));
	out->sel = sel;
	last = n > 0 ? pend[n - 1] : 0;
	for (i = 0; i < n; i++)
		if (first_data == -1 && is_data(&recs[pend[i]]))
			first_data = i;
	if (last != 0)
		ns = nsectors(&recs[last]);
	/* 0 all, 1 none, 2..n prefixes, then drop-first, only-last, tears */
	nv = 0;
	if (v == nv++) {
		snprintf(out->what, sizeof(out->what), "all");
		for (i = 0; i < n; i++)
			keep[i] = 1;
		goto done;
	}
	if (v == nv++) {
		snprintf(out->what, sizeof(out->what), "none");
		for (i = 0; i < n; i++)
			keep[i] = 0;
		goto done;
	}
	if (n > 1 && v < nv + n - 1) {
		snprintf(out->what, sizeof(out->what), "prefix %ld",
		    v - nv + 1);
		for (i = 0; i < n; i++)
			keep[i] = i < v - nv + 1;
		goto done;
	}
	if (n > 1)
		nv += n - 1;
	if (v == nv++) {
		if (first_data == -1 || n < 2)
			return -1;
		snprintf(out->what, sizeof(out->what), "drop-first");
		for (i = 0; i < n; i++)
			keep[i] = i != first_data;
		goto done;
	}
	if (v == nv++) {
		if (n < 2)
			return -1;
		snprintf(out->what, sizeof(out->what), "only-last");
		for (i = 0; i < n; i++)
			keep[i] = i == n - 1;
		goto done;
	}
	if (v >= nv && v < nv + 4) {
		long long s[4] = { 1, ns / 2, ns - 1, 1 };

		if (ns < 2 || (v - nv == 1 && (ns / 2 == 1 || ns / 2 ==
		    ns - 1)) || (v - nv == 2 && ns - 1 == 1))
			return -1;
		for (i = 0; i < n; i++)
			keep[i] = 1;
		out->torn = last;
		out->tail = v - nv == 3;
		out->sectors = s[v - nv];
		snprintf(out->what, sizeof(out->what), "tear-%s %lld/%lld",
		    out->tail ? "tail" : "head", out->sectors, ns);
		goto done;
	}
	nv += 4;
	/* vfat: any one pending name change lost, the later ones landed. */
	for (i = 0; i < n; i++) {
		if (!is_name(&recs[pend[i]]) || !on_vfat(&recs[pend[i]]))
			continue;
		if (v == nv++) {
			long j;

			snprintf(out->what, sizeof(out->what),
			    "drop-name %ld", i + 1);
			for (j = 0; j < n; j++)
				keep[j] = j != i;
			goto done;
		}
	}
	/*
	 * vfat: a cut inside the rename that is record last (the newest
	 * pending change, and the cut's own record), between the steps
	 * of vfat_rename() as dirsync writes them in order.
	 */
	if (last != 0 && recs[last].op == 'N' && on_vfat(&recs[last]) &&
	    last == pend_cut && v < nv + 2) {
		for (i = 0; i < n; i++)
			keep[i] = 1;
		out->split = last;
		out->both = v - nv == 1;
		snprintf(out->what, sizeof(out->what), "rename-%s",
		    out->both ? "both" : "empty");
		goto done;
	}
	return 0;
done:
	stop = 0;
	out->nsel = 0;
	for (i = 0; i < n; i++) {
		if (is_name(&recs[pend[i]]) && !on_vfat(&recs[pend[i]])) {
			if (!keep[i])
				stop = 1;
			if (stop)
				keep[i] = 0;
		}
		if (keep[i])
			sel[out->nsel++] = pend[i];
	}
	return 1;
}

/* The state's signature: which records land, and how one is torn. */
static uint64_t
signature(long k, const struct variant *v)
{
	XXH3_state_t *st = XXH3_createState();
	long i, s = 0;
	uint64_t h;

	XXH3_64bits_reset(st);
	for (i = 1; i <= k; i++) {
		int on = recs[i].durable <= k;

		if (!is_data(&recs[i]) && !is_name(&recs[i]))
			continue;
		while (!on && s < v->nsel && v->sel[s] < i)
			s++;
		if (!on && s < v->nsel && v->sel[s] == i)
			on = 1;
		if (on)
			XXH3_64bits_update(st, &i, sizeof(i));
	}
	XXH3_64bits_update(st, &v->torn, sizeof(v->torn));
	XXH3_64bits_update(st, &v->tail, sizeof(v->tail));
	XXH3_64bits_update(st, &v->sectors, sizeof(v->sectors));
	XXH3_64bits_update(st, &v->split, sizeof(v->split));
	XXH3_64bits_update(st, &v->both, sizeof(v->both));
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

/* ---- the model ---- */

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
static void
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

static uint64_t
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

static void
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

static void
load_all(const char *snap, const char *log)
{
	snap_load(snap);
	log_load(log);
	analyse();
	pend = xalloc(((size_t)nrec + 1) * sizeof(*pend));
}

static int
cmd_plan(const char *snap, const char *log)
{
	uint64_t *seen = NULL, h;
	size_t nseen = 0, capseen = 0, i;
	struct variant v;
	long k, vi, tried = 0;
	int r;

	load_all(snap, log);
	for (k = 0; k <= nrec; k++) {
		pending_at(k);
		for (vi = 0; (r = variant(vi, &v)) != 0; vi++) {
			if (r < 0)
				continue;
			/* A split rename only of a file to a free name. */
			if (v.split != 0) {
				build(k, &v);
				if (!split_done)
					continue;
			}
			tried++;
			h = signature(k, &v);
			for (i = 0; i < nseen && seen[i] != h; i++)
				;
			if (i < nseen)
				continue;
			if (nseen == capseen) {
				capseen = capseen ? 2 * capseen : 1024;
				if ((seen = realloc(seen, capseen *
				    sizeof(*seen))) == NULL)
					die("%s", "out of memory");
			}
			seen[nseen++] = h;
			printf("%ld %ld %c %s (%ld pending) %s\n", k, vi,
			    k > 0 ? recs[k].op : '-', v.what, npend,
			    k > 0 && recs[k].p1 != NULL ? recs[k].p1 : "-");
		}
	}
	fprintf(stderr, "powercut: %ld records, %ld cuts tried, %zu distinct\n",
	    nrec, tried, nseen);
	free(seen);
	return 0;
}

static int
cmd_apply(const char *snap, const char *log, long k, long vi,
    const char *dest)
{
	struct variant v;

	load_all(snap, log);
	if (k < 0 || k > nrec)
		die("cut %s is past the log", "K");
	pending_at(k);
	if (variant(vi, &v) <= 0)
		die("%s: no such variant", "V");
	build(k, &v);
	if (v.split != 0 && !split_done)
		die("%s: no such variant", "V");
	printf("%016llx %s\n", (unsigned long long)model_hash(), v.what);
	write_out(dest);
	return 0;
}

static int
cmd_dump(const char *log)
{
	long k;

	log_load(log);
	for (k = 1; k <= nrec; k++) {
		struct rec *r = &recs[k];

		printf("%ld %c", k, r->op);
		if (r->op == 'W' || r->op == 'Z')
			printf(" %lld+%lld", r->a, r->b);
		else if (r->op == 'T')
			printf(" %lld", r->a);
		else if (r->op == 'S' || r->op == 'F')
			printf(" covers %lld", r->a);
		if (r->p1 != NULL)
			printf(" %s", r->p1);
		if (r->p2 != NULL)
			printf(" %s", r->p2);
		printf("\n");
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: powercut snap ROOT SNAPDIR [BLOCKDEVICE...]\n"
	    "       powercut plan [-m MODEL] SNAPDIR LOG\n"
	    "       powercut apply [-m MODEL] SNAPDIR LOG K V DEST\n"
	    "MODEL: ext4, vfat or vfat:FOLDER (vfat below FOLDER)\n"
	    "       powercut dump LOG\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	argv++;
	argc--;
	if (strcmp(argv[0], "snap") == 0 && argc >= 3)
		return cmd_snap(argv[1], argv[2], argv + 3, argc - 3);
	if (strcmp(argv[0], "dump") == 0 && argc == 2)
		return cmd_dump(argv[1]);
	if (argc >= 3 && strcmp(argv[1], "-m") == 0) {
		if (strcmp(argv[2], "vfat") == 0)
			vfat = 1;
		else if (strncmp(argv[2], "vfat:", 5) == 0)
			vfat_under = argv[2] + 5;
		else if (strcmp(argv[2], "ext4") != 0)
			usage();
		memmove(argv + 1, argv + 3, (size_t)(argc - 2) * sizeof(*argv));
		argc -= 2;
	}
	if (strcmp(argv[0], "plan") == 0 && argc == 3)
		return cmd_plan(argv[1], argv[2]);
	if (strcmp(argv[0], "apply") == 0 && argc == 6)
		return cmd_apply(argv[1], argv[2], atol(argv[3]),
		    atol(argv[4]), argv[5]);
	usage();
	return 2;
}

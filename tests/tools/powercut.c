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

#include "tests/tools/powercut.h"

void
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

void *
xalloc(size_t n)
{
	void *p;

	if ((p = calloc(1, n ? n : 1)) == NULL)
		die("%s", "out of memory");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = xalloc(strlen(s) + 1);

	memcpy(p, s, strlen(s) + 1);
	return p;
}

/* The whole of a file or block device (read to its end). */
unsigned char *
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

void
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

/*
 * agent/outbox: DATA/outbox/ (outbox.h). Every change is durable before
 * outbox_put() or outbox_remove() returns: a report by file_write_atomic(),
 * a counter by a rename and an fsync of the folder, a deletion by an
 * unlink and the same fsync. A drop is counted before the report goes,
 * so a power cut between the two counts one report too many, never one
 * too few.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/outbox.h"
#include "common/err.h"
#include "common/io.h"
#include "common/json.h"

#define NAME_DIGITS	10
#define PATH_SIZE	4096

struct scan {
	char		**names;	/* reports, oldest first */
	size_t		  n, cap;
	uint64_t	  bytes;
	uint64_t	  seq, dropped;	/* the counters */
	int		  has_seq, has_dropped;
};

/* "0000000042.json" is 42; anything else is not a report (-1). */
static int
report_seq(const char *name, uint64_t *seqp)
{
	size_t i;

	*seqp = 0;
	for (i = 0; i < NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		*seqp = *seqp * 10 + (uint64_t)(name[i] - '0');
	}
	return strcmp(name + NAME_DIGITS, ".json") == 0 ? 0 : -1;
}

/* "PREFIX.N": 0 with N in *vp, else -1. */
static int
counter_value(const char *name, const char *prefix, uint64_t *vp)
{
	size_t k = strlen(prefix);
	char *end;

	if (strncmp(name, prefix, k) != 0 || name[k] != '.' ||
	    name[k + 1] < '0' || name[k + 1] > '9')
		return -1;
	errno = 0;
	*vp = strtoull(name + k + 1, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
scan_free(struct scan *sc)
{
	outbox_names_free(sc->names, sc->n);
	memset(sc, 0, sizeof(*sc));
}

static int
scan_add(struct scan *sc, const char *name, struct err *e)
{
	char **p;

	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		if ((p = realloc(sc->names, sc->cap * sizeof(*p))) == NULL)
			return err_set(e, -ENOMEM, "outbox: out of memory");
		sc->names = p;
	}
	if ((sc->names[sc->n] = strdup(name)) == NULL)
		return err_set(e, -ENOMEM, "outbox: out of memory");
	sc->n++;
	return 0;
}

/* Reads the folder dir: reports, their size, the counters. A missing
 * folder is an empty outbox. */
static int
scan(const char *dir, struct scan *sc, struct err *e)
{
	struct dirent *d;
	struct stat sb;
	uint64_t v;
	DIR *dp;
	int r = 0;

	memset(sc, 0, sizeof(*sc));
	if ((dp = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		return err_set(e, r, "outbox %s: %s", dir, strerror(-r));
	}
	while (r == 0 && (d = readdir(dp)) != NULL) {
		if (report_seq(d->d_name, &v) == 0) {
			if (fstatat(dirfd(dp), d->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
				sc->bytes += (uint64_t)sb.st_size;
			if (v > sc->seq)
				sc->seq = v;
			r = scan_add(sc, d->d_name, e);
		} else if (counter_value(d->d_name, "seq", &v) == 0) {
			sc->has_seq = 1;
			if (v > sc->seq)
				sc->seq = v;
		} else if (counter_value(d->d_name, "dropped", &v) == 0 &&
		    (!sc->has_dropped || v > sc->dropped)) {
			sc->has_dropped = 1;
			sc->dropped = v;
		}
	}
	closedir(dp);
	if (r < 0) {
		scan_free(sc);
		return r;
	}
	if (sc->n > 0)
		qsort(sc->names, sc->n, sizeof(*sc->names), by_name);
	return 0;
}

/*
 * Moves counter PREFIX from old (if had) to val: a rename of an empty
 * file, or its creation the first time. Neither needs a data block, so
 * a full file system still counts.
 */
static int
counter_set(const char *dir, const char *prefix, int had, uint64_t old,
    uint64_t val, struct err *e)
{
	char from[PATH_SIZE], to[PATH_SIZE];
	int fd, r;

	snprintf(from, sizeof(from), "%s/%s.%" PRIu64, dir, prefix, old);
	snprintf(to, sizeof(to), "%s/%s.%" PRIu64, dir, prefix, val);
	if (had && rename(from, to) == -1) {
		r = -errno;
		return err_set(e, r, "rename %s: %s", from, strerror(-r));
	}
	if (!had) {
		if ((fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0644)) == -1 && errno != EEXIST) {
			r = -errno;
			return err_set(e, r, "create %s: %s", to,
			    strerror(-r));
		}
		if (fd != -1)
			close(fd);
	}
	return fsync_dir(dir, e);
}

/* Drops the oldest report: counted first, then deleted. */
static int
drop_oldest(const char *dir, struct scan *sc, struct err *e)
{
	char path[PATH_SIZE];
	struct stat sb;
	int r;

	if ((r = counter_set(dir, "dropped", sc->has_dropped, sc->dropped,
	    sc->dropped + 1, e)) < 0)
		return r;
	sc->has_dropped = 1;
	sc->dropped++;
	snprintf(path, sizeof(path), "%s/%s", dir, sc->names[0]);
	if (lstat(path, &sb) == 0 && (uint64_t)sb.st_size <= sc->bytes)
		sc->bytes -= (uint64_t)sb.st_size;
	if (unlink(path) == -1 && errno != ENOENT) {
		r = -errno;
		return err_set(e, r, "remove %s: %s", path, strerror(-r));
	}
	free(sc->names[0]);
	memmove(sc->names, sc->names + 1, (sc->n - 1) * sizeof(*sc->names));
	sc->n--;
	return fsync_dir(dir, e);
}

/* Sets obj[key] to v, replacing what was there. */
static int
set_uint(cJSON *obj, const char *key, uint64_t v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	return json_add_uint(obj, key, v);
}

/* The report's text with its seq and the dropped counter; NULL: memory. */
static char *
render(cJSON *report, uint64_t seq, uint64_t dropped)
{
	char *text;

	if (set_uint(report, "seq", seq) < 0 ||
	    set_uint(report, "dropped", dropped) < 0 ||
	    (text = cJSON_Print(report)) == NULL)
		return NULL;
	return text;
}

static void
outbox_dir(const char *datadir, char dir[PATH_SIZE])
{
	snprintf(dir, PATH_SIZE, "%s/%s", datadir, OUTBOX_DIR);
}

/* A report that could not be written is counted as dropped. */
static int
lost(const char *dir, struct scan *sc, uint64_t seq, int r, struct err *e)
{
	struct err e2 = { 0, "" };

	if (counter_set(dir, "dropped", sc->has_dropped, sc->dropped,
	    sc->dropped + 1, &e2) < 0)
		err_prefix(e, "report %" PRIu64 " lost, not counted "
		    "either (%s)", seq, e2.msg);
	else
		err_prefix(e, "report %" PRIu64 " dropped", seq);
	return r;
}

int
outbox_put(const char *datadir, unsigned max_count, uint64_t max_bytes,
    cJSON *report, struct err *e)
{
	char dir[PATH_SIZE], path[PATH_SIZE], *text = NULL;
	struct scan sc;
	uint64_t seq;
	size_t len;
	int r;

	outbox_dir(datadir, dir);
	if ((r = mkdir_p(dir, 0755, e)) < 0)
		return err_prefix(e, "report lost, not counted");
	if ((r = scan(dir, &sc, e)) < 0)
		return err_prefix(e, "report lost, not counted");
	seq = sc.seq + 1;
	/* The number is taken before the report is written: a power cut
	 * never gives two reports one name. */
	if ((r = counter_set(dir, "seq", sc.has_seq, sc.seq, seq, e)) < 0) {
		r = lost(dir, &sc, seq, r, e);
		goto out;
	}
	for (;;) {
		cJSON_free(text);
		if ((text = render(report, seq, sc.dropped)) == NULL) {
			r = lost(dir, &sc, seq, err_set(e, -ENOMEM,
			    "outbox: out of memory"), e);
			goto out;
		}
		len = strlen(text);
		if (sc.n > 0 && (sc.n >= max_count ||
		    sc.bytes + len > max_bytes)) {
			if ((r = drop_oldest(dir, &sc, e)) < 0)
				break;
			continue;
		}
		if (snprintf(path, sizeof(path), "%s/%0*" PRIu64 ".json", dir,
		    NAME_DIGITS, seq) >= (int)sizeof(path))
			r = err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
		else if ((r = file_write_atomic(path, text, len, 0644,
		    e)) == 0)
			goto out;
		/* No room: the oldest report goes before this one. */
		if ((r != -ENOSPC && r != -EDQUOT) || sc.n == 0 ||
		    (r = drop_oldest(dir, &sc, e)) < 0)
			break;
	}
	r = lost(dir, &sc, seq, r, e);
out:
	cJSON_free(text);
	scan_free(&sc);
	return r;
}

int
outbox_stat(const char *datadir, struct outbox_stat *st, struct err *e)
{
	char dir[PATH_SIZE];
	struct scan sc;
	int r;

	memset(st, 0, sizeof(*st));
	outbox_dir(datadir, dir);
	if ((r = scan(dir, &sc, e)) < 0)
		return r;
	st->count = sc.n;
	st->bytes = sc.bytes;
	st->dropped = sc.dropped;
	st->seq = sc.seq;
	scan_free(&sc);
	return 0;
}

int
outbox_names(const char *datadir, char ***namesp, size_t *np,
    struct err *e)
{
	char dir[PATH_SIZE];
	struct scan sc;
	int r;

	*namesp = NULL;
	*np = 0;
	outbox_dir(datadir, dir);
	if ((r = scan(dir, &sc, e)) < 0)
		return r;
	*namesp = sc.names;
	*np = sc.n;
	return 0;
}

void
outbox_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
outbox_remove(const char *datadir, const char *name, struct err *e)
{
	char dir[PATH_SIZE], path[PATH_SIZE];
	int r;

	outbox_dir(datadir, dir);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
	if (unlink(path) == -1 && errno != ENOENT) {
		r = -errno;
		return err_set(e, r, "remove %s: %s", path, strerror(-r));
	}
	return fsync_dir(dir, e);
}

int
outbox_drop(const char *datadir, const char *name, struct err *e)
{
	char dir[PATH_SIZE];
	struct scan sc;
	int r;

	outbox_dir(datadir, dir);
	if ((r = scan(dir, &sc, e)) < 0)
		return r;
	r = counter_set(dir, "dropped", sc.has_dropped, sc.dropped,
	    sc.dropped + 1, e);
	scan_free(&sc);
	return r < 0 ? r : outbox_remove(datadir, name, e);
}

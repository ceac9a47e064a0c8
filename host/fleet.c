/*
 * `upkit fleet report DIR`: sums the reports devices PUT into a folder
 * (docs/reports.md). Every *.json file under DIR, at any depth (WebDAV
 * and S3 keep them per device), is read; the latest report of each
 * device (by its time, then its seq) says where the device stands: the
 * version it runs, its last result, and for a failure the check or the
 * reason. A file that is not a report is counted and named on stderr,
 * never fatal: one bad upload must not hide the fleet.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/exitcode.h"
#include "common/err.h"
#include "common/io.h"
#include "host/fleet.h"
#include "verify/policy.h"

#define REPORT_MAX	(1024 * 1024)
#define DEPTH_MAX	16

static void
row_free(struct fleet_row *r)
{
	free(r->device);
	free(r->time);
	free(r->result);
	free(r->running);
	free(r->target);
	free(r->failure);
}

void
fleet_free(struct fleet *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		row_free(&f->rows[i]);
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

static const char *
get_str(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* A version from "from" or "to": a string, or null (unknown). */
static int
side_version(const cJSON *root, const char *key, const char **vp)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key), *v;

	*vp = NULL;
	if (!cJSON_IsObject(o))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(o, "version");
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	*vp = v->valuestring;
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* One report into r; NULL, or why it is not a report. */
static const char *
decode(const cJSON *root, struct fleet_row *r)
{
	static const char *const results[] = { "committed", "rolled-back",
	    "fell-back", "install-failed", "refused" };
	const cJSON *fmt, *seq;
	const char *res, *from, *to, *check, *reason;
	char buf[160];
	size_t i;

	if (!cJSON_IsObject(root))
		return "not a JSON object";
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1)
		return "format is not 1";
	seq = cJSON_GetObjectItemCaseSensitive(root, "seq");
	if (get_str(root, "device") == NULL || get_str(root, "time") == NULL ||
	    !cJSON_IsNumber(seq) || seq->valuedouble < 0)
		return "no device, time or seq";
	if ((res = get_str(root, "result")) == NULL)
		return "no result";
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		if (strcmp(res, results[i]) == 0)
			break;
	if (i == sizeof(results) / sizeof(results[0]))
		return "unknown result";
	if (side_version(root, "from", &from) < 0 ||
	    side_version(root, "to", &to) < 0)
		return "from or to is not an object with a version";
	check = get_str(root, "check");
	reason = get_str(root, "reason");
	buf[0] = '\0';
	if (i > 0 && check != NULL)
		snprintf(buf, sizeof(buf), "check %s", check);
	else if (i > 0)
		snprintf(buf, sizeof(buf), "%.100s", reason != NULL ? reason :
		    results[i]);
	r->seq = (uint64_t)seq->valuedouble;
	/* A committed device runs what it went to; any other outcome
	 * leaves it on what it came from. */
	if ((r->device = strdup(get_str(root, "device"))) == NULL ||
	    (r->time = strdup(get_str(root, "time"))) == NULL ||
	    (r->result = strdup(res)) == NULL ||
	    ((i == 0 ? to : from) != NULL &&
	    (r->running = strdup(i == 0 ? to : from)) == NULL) ||
	    (to != NULL && (r->target = dup_or_null(to)) == NULL) ||
	    (buf[0] != '\0' && (r->failure = strdup(buf)) == NULL))
		return "out of memory";
	return NULL;
}

static int
add_file(struct fleet *f, const char *path)
{
	struct fleet_row r, *p;
	struct err e = { 0, "" };
	const char *why;
	cJSON *root;
	char *text;
	size_t len;

	f->files++;
	memset(&r, 0, sizeof(r));
	if (file_read(path, REPORT_MAX, &text, &len, &e) < 0) {
		cli_error(cli_fleet_report.name, "%s", e.msg);
		f->malformed++;
		return 0;
	}
	root = cJSON_ParseWithLength(text, len);
	why = root == NULL ? "not valid JSON" : decode(root, &r);
	cJSON_Delete(root);
	free(text);
	if (why != NULL) {
		row_free(&r);
		if (strcmp(why, "out of memory") == 0)
			return -ENOMEM;
		cli_error(cli_fleet_report.name, "%s: not a report (%s)",
		    path, why);
		f->malformed++;
		return 0;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		if ((p = realloc(f->rows, f->cap * sizeof(*p))) == NULL) {
			row_free(&r);
			return -ENOMEM;
		}
		f->rows = p;
	}
	f->rows[f->n++] = r;
	return 0;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n > k && strcmp(s + n - k, suf) == 0;
}

/* Every *.json under dir; symlinks are not followed. */
static int
walk(struct fleet *f, const char *dir, int depth, struct err *e)
{
	struct dirent *d;
	struct stat sb;
	char path[4096];
	DIR *dp;
	int r = 0;

	if ((dp = opendir(dir)) == NULL) {
		r = -errno;
		return err_set(e, r, "%s: %s", dir, strerror(-r));
	}
	while (r == 0 && (d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || snprintf(path, sizeof(path),
		    "%s/%s", dir, d->d_name) >= (int)sizeof(path) ||
		    lstat(path, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode) && depth < DEPTH_MAX)
			r = walk(f, path, depth + 1, e);
		else if (S_ISREG(sb.st_mode) && has_suffix(d->d_name, ".json"))
			r = add_file(f, path);
	}
	closedir(dp);
	if (r == -ENOMEM && e->code == 0)
		err_set(e, r, "%s: out of memory", dir);
	return r;
}

/* By device, then oldest first: the last of each device is its latest. */
static int
by_device_time(const void *pa, const void *pb)
{
	const struct fleet_row *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->device, b->device)) != 0 ||
	    (c = strcmp(a->time, b->time)) != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int
fleet_read(const char *dir, struct fleet *f, struct err *e)
{
	size_t i, k = 0;
	int r;

	if ((r = walk(f, dir, 0, e)) < 0)
		return r;
	if (f->n > 0)
		qsort(f->rows, f->n, sizeof(*f->rows), by_device_time);
	for (i = 0; i < f->n; i++) {
		if (i + 1 < f->n &&
		    strcmp(f->rows[i].device, f->rows[i + 1].device) == 0) {
			row_free(&f->rows[i]);
			continue;
		}
		f->rows[k++] = f->rows[i];
	}
	f->n = k;
	return 0;
}

struct tally {
	const char	*key;
	unsigned	 n;
};

static int
by_count(const void *pa, const void *pb)
{
	const struct tally *a = pa, *b = pb;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* Counts the rows by the field at off (a char *; NULL rows are skipped
 * unless none stands in). *tp is malloc'd, sorted by count. */
static int
tally(const struct fleet *f, size_t off, const char *none, struct tally **tp,
    size_t *np)
{
	struct tally *t;
	const char *key;
	size_t i, j, n = 0;

	*tp = NULL;
	*np = 0;
	if (f->n == 0)
		return 0;
	if ((t = calloc(f->n, sizeof(*t))) == NULL)
		return -ENOMEM;
	for (i = 0; i < f->n; i++) {
		key = *(char *const *)((const char *)&f->rows[i] + off);
		if (key == NULL && (key = none) == NULL)
			continue;
		for (j = 0; j < n && strcmp(t[j].key, key) != 0; j++)
			;
		if (j == n)
			t[n++].key = key;
		t[j].n++;
	}
	qsort(t, n, sizeof(*t), by_count);
	*tp = t;
	*np = n;
	return 0;
}

/* The highest version any device runs or went for; NULL if none. */
static const char *
newest(const struct fleet *f)
{
	const char *best = NULL, *v;
	size_t i, k;

	for (i = 0; i < f->n; i++)
		for (k = 0; k < 2; k++) {
			v = k == 0 ? f->rows[i].running : f->rows[i].target;
			if (v != NULL && (best == NULL ||
			    version_compare(v, best) > 0))
				best = v;
		}
	return best;
}

static unsigned
on_version(const struct fleet *f, const char *v)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; v != NULL && i < f->n; i++)
		n += f->rows[i].running != NULL &&
		    strcmp(f->rows[i].running, v) == 0;
	return n;
}

static void
print_table(const char *title, const struct tally *t, size_t n)
{
	size_t i;
	int w = (int)strlen(title);

	for (i = 0; i < n; i++)
		if ((int)strlen(t[i].key) > w)
			w = (int)strlen(t[i].key);
	printf("\n%-*s  DEVICES\n", w, title);
	for (i = 0; i < n; i++)
		printf("%-*s  %u\n", w, t[i].key, t[i].n);
}

static cJSON *
tally_json(cJSON *root, const char *key, const struct tally *t, size_t n)
{
	cJSON *o;
	size_t i;

	if ((o = cJSON_AddObjectToObject(root, key)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (cJSON_AddNumberToObject(o, t[i].key, t[i].n) == NULL)
			return NULL;
	return o;
}

#define T_VERSION	0
#define T_RESULT	1
#define T_FAILURE	2

static int
print_json(const struct fleet *f, struct tally *const t[3],
    const size_t n[3], const char *best)
{
	cJSON *root;
	char *s = NULL;

	if ((root = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	if (cJSON_AddNumberToObject(root, "files", f->files) != NULL &&
	    cJSON_AddNumberToObject(root, "malformed", f->malformed) != NULL &&
	    cJSON_AddNumberToObject(root, "devices", (double)f->n) != NULL &&
	    (best != NULL ? cJSON_AddStringToObject(root, "newest", best) :
	    cJSON_AddNullToObject(root, "newest")) != NULL &&
	    cJSON_AddNumberToObject(root, "on_newest",
	    on_version(f, best)) != NULL &&
	    tally_json(root, "versions", t[T_VERSION], n[T_VERSION]) &&
	    tally_json(root, "results", t[T_RESULT], n[T_RESULT]) &&
	    tally_json(root, "failures", t[T_FAILURE], n[T_FAILURE]))
		s = cJSON_Print(root);
	cJSON_Delete(root);
	if (s == NULL)
		return -ENOMEM;
	printf("%s\n", s);
	cJSON_free(s);
	return 0;
}

static void
print_text(const struct fleet *f, struct tally *const t[3],
    const size_t n[3], const char *best)
{
	unsigned on = on_version(f, best);

	printf("reports:  %u file%s, %u malformed\n", f->files,
	    f->files == 1 ? "" : "s", f->malformed);
	printf("devices:  %zu\n", f->n);
	if (best != NULL)
		printf("rollout:  %u of %zu devices on %s (%.1f%%)\n", on, f->n,
		    best, f->n > 0 ? 100.0 * on / (double)f->n : 0.0);
	print_table("VERSION", t[T_VERSION], n[T_VERSION]);
	print_table("RESULT", t[T_RESULT], n[T_RESULT]);
	if (n[T_FAILURE] > 0)
		print_table("FAILURE", t[T_FAILURE], n[T_FAILURE]);
}

static int
report(const char *dir, int json)
{
	struct fleet f;
	struct tally *t[3] = { NULL, NULL, NULL };
	size_t n[3];
	struct err e = { 0, "" };
	int r, rc = EXIT_OK;

	memset(&f, 0, sizeof(f));
	if ((r = fleet_read(dir, &f, &e)) < 0) {
		cli_error(cli_fleet_report.name, "%s", e.msg);
		rc = exitcode_for(r == -ENOMEM ? FAIL_OTHER : FAIL_SOURCE, r);
		goto out;
	}
	if (tally(&f, offsetof(struct fleet_row, running), "unknown", &t[0],
	    &n[0]) < 0 || tally(&f, offsetof(struct fleet_row, result), NULL,
	    &t[1], &n[1]) < 0 || tally(&f, offsetof(struct fleet_row,
	    failure), NULL, &t[2], &n[2]) < 0) {
		r = -ENOMEM;
	} else if (json)
		r = print_json(&f, t, n, newest(&f));
	else
		print_text(&f, t, n, newest(&f));
	if (r < 0) {
		cli_error(cli_fleet_report.name, "out of memory");
		rc = exitcode_for(FAIL_OTHER, r);
	}
out:
	free(t[0]);
	free(t[1]);
	free(t[2]);
	fleet_free(&f);
	return rc;
}

static const struct cli_opt opts[] = {
	{ "json", 256, NULL, "one JSON object instead of text" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_fleet_report = {
	"fleet report", "[--json] DIR",
	"Sum a folder of device reports",
	0, opts, cmd_fleet_report,
};

int
cmd_fleet_report(int argc, char **argv)
{
	struct cli_parse p;
	int json = 0, rc;

	cli_begin(&p, &cli_fleet_report, argc, argv);
	while (cli_next(&p) != -1)
		json = 1;
	if ((rc = cli_end(&p, 1, 1, "DIR")) >= 0)
		return rc;
	return report(argv[optind], json);
}

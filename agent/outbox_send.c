/*
 * agent/outbox_send: the outbox, sent once (outbox.h). The URL of a
 * report is made from the report itself, not from the clock or the
 * config's device id of the moment, so that a report sent again after a
 * lost answer lands on the same name: a PUT there replaces it, and the
 * server keeps one copy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "agent/device.h"
#include "agent/outbox.h"
#include "agent/reporturl.h"
#include "common/err.h"
#include "common/io.h"
#include "source/source.h"

#define REPORT_MAX	(1024 * 1024)

static const char *
str_of(const cJSON *root, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* "2026-12-07T14:01:16Z" as "20261207T140116Z": no characters that a
 * URL or a file name would have to escape. */
static void
compact_time(const char *t, char *out, size_t size)
{
	size_t n = 0;

	for (; t != NULL && *t != '\0' && n + 1 < size; t++)
		if (*t != '-' && *t != ':')
			out[n++] = *t;
	out[n] = '\0';
}

/* The URL of the report text: 0, -EBADMSG if it is not a report. */
static int
report_url(const struct config *c, const char *name, const char *text,
    char *url, size_t size, struct err *e)
{
	struct report_vars v;
	const cJSON *seq;
	cJSON *root;
	char tm[32], sq[24];
	int r;

	if ((root = cJSON_Parse(text)) == NULL || !cJSON_IsObject(root) ||
	    str_of(root, "result") == NULL || str_of(root, "time") == NULL ||
	    !cJSON_IsNumber(seq = cJSON_GetObjectItemCaseSensitive(root,
	    "seq")) || seq->valuedouble < 0) {
		cJSON_Delete(root);
		return err_set(e, -EBADMSG, "%s: not a report", name);
	}
	compact_time(str_of(root, "time"), tm, sizeof(tm));
	snprintf(sq, sizeof(sq), "%" PRIu64, (uint64_t)seq->valuedouble);
	v.device = str_of(root, "device") != NULL ? str_of(root, "device") :
	    "unknown";
	v.time = tm;
	v.seq = sq;
	v.result = str_of(root, "result");
	r = report_url_expand(c->report_url, &v, url, size, e);
	cJSON_Delete(root);
	return r;
}

/* Sends one report: 0 sent, 1 not a report (dropped), -errno. */
static int
send_one(const struct config *c, const struct source_options *o,
    const char *name, struct err *e)
{
	const char *dir = c->data_directory;
	char path[4096], url[REPORTURL_MAX], *text = NULL;
	size_t len;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, OUTBOX_DIR, name) >=
	    (int)sizeof(path))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
	if ((r = file_read(path, REPORT_MAX, &text, &len, e)) < 0)
		return r == -ENOENT ? 0 : r;	/* sent by another run */
	if ((r = report_url(c, path, text, url, sizeof(url), e)) == -EBADMSG)
		r = outbox_drop(dir, name, e) < 0 ? e->code : 1;
	else if (r == 0 && (r = source_put(url, text, len, o, e)) == 0)
		r = outbox_remove(dir, name, e);
	free(text);
	return r;
}

int
outbox_send(const struct config *c, struct outbox_sent *st, struct err *e)
{
	struct source_options o;
	char **names = NULL;
	size_t i, n = 0;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = outbox_names(c->data_directory, &names, &n, e)) < 0)
		return r;
	if (n > 0 && c->report_url == NULL) {
		st->left = (unsigned)n;
		outbox_names_free(names, n);
		return err_set(e, -ENOENT, "no [server] report-url in %s: "
		    "%zu report%s wait%s in the outbox", c->path, n,
		    n == 1 ? "" : "s", n == 1 ? "s" : "");
	}
	device_source_options(c, &o);
	for (i = 0; i < n; i++) {
		if ((r = send_one(c, &o, names[i], e)) < 0)
			break;
		if (r == 1)
			st->bad++;
		else
			st->sent++;
	}
	st->left = (unsigned)(n - i);
	outbox_names_free(names, n);
	return r < 0 ? r : 0;
}

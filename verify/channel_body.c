/*
 * verify/channel_body: the channel's JSON body, read with cJSON and
 * written back the same way. `channel info` parses bodies whose
 * signature nobody checked, so every field is bounded and every
 * rejection names its key path, as the manifest parser does; unknown
 * keys are ignored, so a later format may add some.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"
#include "verify/bundle.h"
#include "verify/channel.h"
#include "verify/manifest_rows.h"

static int
bad(struct err *e, const char *path, const char *key, const char *what)
{
	return err_set(e, -EBADMSG, "channel: %s%s%s: %s", path,
	    *path != '\0' ? ": " : "", key, what);
}

static int
get_str(const cJSON *o, const char *path, const char *key, const char **out,
    struct err *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (it == NULL)
		return bad(e, path, key, "missing");
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return bad(e, path, key, "not a string");
	*out = it->valuestring;
	return 0;
}

static int
get_int(const cJSON *o, const char *path, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, struct err *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	char what[96];
	double v;

	if (it == NULL)
		return bad(e, path, key, "missing");
	v = cJSON_IsNumber(it) ? it->valuedouble : -1;
	/* Compared as doubles first: casting one out of range is undefined;
	 * above 2^53 - 1 two texts can give the same double. */
	if (!(v >= 0 && v <= (double)JSON_INT_MAX) ||
	    (double)(uint64_t)v != v)
		return bad(e, path, key, "not an integer");
	if ((uint64_t)v < min || (uint64_t)v > max) {
		snprintf(what, sizeof(what), "%llu out of range %llu..%llu",
		    (unsigned long long)v, (unsigned long long)min,
		    (unsigned long long)max);
		return bad(e, path, key, what);
	}
	*out = (uint64_t)v;
	return 0;
}

static int
dup_str(const char *s, char **out, struct err *e)
{
	if ((*out = strdup(s)) == NULL)
		return err_set(e, -ENOMEM, "channel: out of memory");
	return 0;
}

/* An http(s) URL with a host, or a relative reference: no other scheme,
 * no "//host" without one, no spaces or controls. */
static const char *
url_problem(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > CHANNEL_URL_MAX)
		return "not 1..2048 characters";
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return "holds a space or a character outside "
			    "printable ASCII";
	/* A scheme is what comes before the first ':' if no '/', '?' or
	 * '#' comes first (RFC 3986, 4.2). */
	i = strcspn(s, ":/?#");
	if (s[i] == ':') {
		if ((i == 4 && strncasecmp(s, "http", 4) == 0) ||
		    (i == 5 && strncasecmp(s, "https", 5) == 0)) {
			if (strncmp(s + i, "://", 3) != 0 ||
			    strchr("/?#", s[i + 3]) != NULL)
				return "an http(s) URL needs //HOST";
			return NULL;
		}
		return "scheme is not http or https";
	}
	if (strncmp(s, "//", 2) == 0)
		return "starts with //: write the scheme";
	return NULL;
}

/* 0..100 with at most two decimals, to basis points. */
static int
get_rollout(const cJSON *o, const char *path, uint32_t *bp, struct err *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "rollout");
	double v, r;

	if (it == NULL)
		return bad(e, path, "rollout", "missing");
	if (!cJSON_IsNumber(it))
		return bad(e, path, "rollout", "not a number");
	v = it->valuedouble * 100;
	if (!(v >= 0 && v <= CHANNEL_ROLLOUT_MAX))
		return bad(e, path, "rollout", "out of range 0..100");
	/* 33.33 is 3332.9999999999995 basis points as a double. */
	r = (double)(uint32_t)(v + 0.5);
	if (v - r > 1e-6 || r - v > 1e-6)
		return bad(e, path, "rollout", "more than two decimals");
	*bp = (uint32_t)r;
	return 0;
}

static int
get_window(const cJSON *o, const char *path, struct channel_release *rel,
    struct err *e)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window");
	char wpath[216];
	const char *s;
	int r, m;

	if (w == NULL)
		return 0;
	if (!cJSON_IsObject(w))
		return bad(e, path, "window", "not an object");
	snprintf(wpath, sizeof(wpath), "%s.window", path);
	if ((r = get_str(w, wpath, "start", &s, e)) < 0)
		return r;
	if ((m = channel_minute_parse(s)) < 0)
		return bad(e, wpath, "start", "not HH:MM (00:00..23:59)");
	rel->win_start = (uint32_t)m;
	if ((r = get_str(w, wpath, "end", &s, e)) < 0)
		return r;
	if ((m = channel_minute_parse(s)) < 0)
		return bad(e, wpath, "end", "not HH:MM (00:00..23:59)");
	rel->win_end = (uint32_t)m;
	if (rel->win_start == rel->win_end)
		return bad(e, wpath, "end", "equals start (an empty window)");
	rel->has_window = 1;
	return 0;
}

static int
parse_release(const cJSON *o, struct channel_release *rel, struct err *e)
{
	char path[200];
	const char *s;
	uint64_t v;
	int r;

	snprintf(path, sizeof(path), "releases[\"%s\"]", rel->compatible);
	if (!cJSON_IsObject(o))
		return err_set(e, -EBADMSG, "channel: %s: not an object",
		    path);
	if ((r = get_str(o, path, "version", &s, e)) < 0)
		return r;
	if (!bundle_version_valid(s))
		return bad(e, path, "version", "not 1..64 characters from "
		    "[A-Za-z0-9.+~_-]");
	if ((r = dup_str(s, &rel->version, e)) < 0 ||
	    (r = get_str(o, path, "url", &s, e)) < 0)
		return r;
	if (url_problem(s) != NULL)
		return bad(e, path, "url", url_problem(s));
	if ((r = dup_str(s, &rel->url, e)) < 0 ||
	    (r = get_int(o, path, "size", 1, JSON_INT_MAX, &v, e)) < 0)
		return r;
	rel->size = v;
	if ((r = get_str(o, path, "bundle_id", &s, e)) < 0)
		return r;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64 ||
	    manifest_unhex(s, rel->bundle_id, 32) < 0)
		return bad(e, path, "bundle_id", "not 64 lowercase hex digits");
	if ((r = get_rollout(o, path, &rel->rollout, e)) < 0)
		return r;
	return get_window(o, path, rel, e);
}

static int
parse_releases(const cJSON *arr, struct channel *c, struct err *e)
{
	const cJSON *o;
	char what[64];
	size_t i, j;
	int n, r;

	if (arr == NULL)
		return bad(e, "", "releases", "missing");
	if (!cJSON_IsObject(arr))
		return bad(e, "", "releases", "not an object");
	n = cJSON_GetArraySize(arr);
	if (n > CHANNEL_RELEASES_MAX) {
		snprintf(what, sizeof(what), "%d releases, at most %d", n,
		    CHANNEL_RELEASES_MAX);
		return bad(e, "", "releases", what);
	}
	if (n > 0 && (c->releases = calloc((size_t)n,
	    sizeof(*c->releases))) == NULL)
		return err_set(e, -ENOMEM, "channel: releases");
	i = 0;
	cJSON_ArrayForEach(o, arr) {
		if (o->string == NULL || !bundle_text_valid(o->string, 128))
			return bad(e, "releases", "a compatible",
			    "not 1..128 printable ASCII characters");
		/* Two releases for one device: which would it take? */
		for (j = 0; j < i; j++)
			if (strcmp(c->releases[j].compatible, o->string) == 0)
				return err_set(e, -EBADMSG, "channel: "
				    "releases[\"%s\"]: duplicate", o->string);
		c->nreleases = i + 1;
		if ((r = dup_str(o->string, &c->releases[i].compatible,
		    e)) < 0 || (r = parse_release(o, &c->releases[i], e)) < 0)
			return r;
		i++;
	}
	return 0;
}

static int
parse_tree(const cJSON *root, struct channel *c, struct err *e)
{
	const char *s;
	uint64_t v;
	int r;

	if (!cJSON_IsObject(root))
		return err_set(e, -EBADMSG, "channel: not a JSON object");
	if ((r = get_int(root, "", "format", 0, JSON_INT_MAX, &v, e)) < 0)
		return r;
	if (v != CHANNEL_FORMAT)
		return err_set(e, -EBADMSG, "channel: format %llu not "
		    "supported (this upkit reads %u)", (unsigned long long)v,
		    CHANNEL_FORMAT);
	if ((r = get_str(root, "", "channel", &s, e)) < 0)
		return r;
	if (!bundle_name_valid(s))
		return bad(e, "", "channel", "not [a-z0-9][a-z0-9._-]{0,63}");
	if ((r = dup_str(s, &c->name, e)) < 0 ||
	    (r = get_int(root, "", "version", 1, JSON_INT_MAX, &c->version,
	    e)) < 0 ||
	    (r = get_str(root, "", "expires", &s, e)) < 0)
		return r;
	if (channel_time_parse(s, &c->expires) < 0)
		return bad(e, "", "expires", "not an RFC 3339 UTC time "
		    "YYYY-MM-DDTHH:MM:SSZ");
	return parse_releases(cJSON_GetObjectItemCaseSensitive(root,
	    "releases"), c, e);
}

int
channel_parse(const void *buf, size_t len, struct channel **cp,
    struct err *e)
{
	struct channel *c = NULL;
	const char *end = NULL;
	cJSON *root = NULL;
	char *text = NULL;
	int r;

	*cp = NULL;
	if (len > CHANNEL_BODY_MAX)
		return err_set(e, -EBADMSG, "channel: body of %zu bytes, more "
		    "than %u", len, CHANNEL_BODY_MAX);
	/* cJSON would cut a string at an escaped NUL. */
	if ((r = manifest_find_nul_escape(buf, len, e)) < 0)
		return err_set(e, r, "channel: a string holds \\u0000");
	if ((text = malloc(len + 1)) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		r = err_set(e, -ENOMEM, "channel: body of %zu bytes", len);
		goto out;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	/* An embedded NUL ends the parse early: refused as trailing. */
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL || end != text + len) {
		r = err_set(e, -EBADMSG, "channel: not valid JSON (at byte "
		    "%zu)", end != NULL ? (size_t)(end - text) : (size_t)0);
		goto out;
	}
	if ((r = parse_tree(root, c, e)) < 0)
		goto out;
	*cp = c;
	c = NULL;
out:
	cJSON_Delete(root);
	free(text);
	channel_free(c);
	return r;
}

void
channel_free(struct channel *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nreleases; i++) {
		free(c->releases[i].compatible);
		free(c->releases[i].version);
		free(c->releases[i].url);
	}
	free(c->releases);
	free(c->name);
	free(c);
}

static int
encode_release(cJSON *rels, const struct channel_release *rel)
{
	char hex[65], num[16], t[6];
	cJSON *o, *w;
	int ok = 1;

	if ((o = cJSON_AddObjectToObject(rels, rel->compatible)) == NULL)
		return 0;
	bundle_hex(rel->bundle_id, 32, hex);
	channel_rollout_format(rel->rollout, num);
	ok &= cJSON_AddStringToObject(o, "version", rel->version) != NULL;
	ok &= cJSON_AddStringToObject(o, "url", rel->url) != NULL;
	ok &= json_add_uint(o, "size", rel->size) == 0;
	ok &= cJSON_AddStringToObject(o, "bundle_id", hex) != NULL;
	ok &= cJSON_AddRawToObject(o, "rollout", num) != NULL;
	if (!ok || !rel->has_window)
		return ok;
	if ((w = cJSON_AddObjectToObject(o, "window")) == NULL)
		return 0;
	snprintf(t, sizeof(t), "%02u:%02u", rel->win_start / 60 % 24,
	    rel->win_start % 60);
	ok &= cJSON_AddStringToObject(w, "start", t) != NULL;
	snprintf(t, sizeof(t), "%02u:%02u", rel->win_end / 60 % 24,
	    rel->win_end % 60);
	ok &= cJSON_AddStringToObject(w, "end", t) != NULL;
	return ok;
}

int
channel_encode(const struct channel *c, char **out, size_t *outlen,
    struct err *e)
{
	cJSON *root, *rels;
	char when[21];
	size_t i;
	int ok = 1;

	*out = NULL;
	*outlen = 0;
	if ((root = cJSON_CreateObject()) == NULL)
		return err_set(e, -ENOMEM, "channel: encode");
	channel_time_format(c->expires, when);
	ok &= json_add_uint(root, "format", CHANNEL_FORMAT) == 0;
	ok &= cJSON_AddStringToObject(root, "channel", c->name) != NULL;
	ok &= json_add_uint(root, "version", c->version) == 0;
	ok &= cJSON_AddStringToObject(root, "expires", when) != NULL;
	if ((rels = cJSON_AddObjectToObject(root, "releases")) == NULL)
		ok = 0;
	for (i = 0; ok && i < c->nreleases; i++)
		ok &= encode_release(rels, &c->releases[i]);
	if (ok)
		*out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (*out == NULL)
		return err_set(e, -ENOMEM, "channel: encode");
	*outlen = strlen(*out);
	return 0;
}

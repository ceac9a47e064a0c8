/*
 * verify/manifest: the JSON manifest. An install parses it only once the
 * signature over it holds, but `bundle info` parses what it is given, so
 * the parser treats its input as hostile: every count is checked against
 * the JSON before allocating and every integer must be exact in a double.
 * This file reads the fields through cJSON; the chunk tables, nearly all
 * of a big manifest, are read from the text by manifest_rows.c, and
 * manifest_encode.c writes a manifest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "verify/bundle.h"
#include "verify/manifest_rows.h"

#define MODE_DEFAULT	0644u
#define STR(x)		#x
#define XSTR(x)		STR(x)

int
manifest_bad(struct err *e, const char *path, const char *key, const char *what)
{
	return err_set(e, -EBADMSG, "manifest: %s%s%s: %s", path,
	    *path != '\0' ? ": " : "", key, what);
}

int
manifest_in_range(uint64_t v, const char *path, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, struct err *e)
{
	char what[96];

	if (v < min || v > max) {
		snprintf(what, sizeof(what), "%llu out of range %llu..%llu",
		    (unsigned long long)v, (unsigned long long)min,
		    (unsigned long long)max);
		return manifest_bad(e, path, key, what);
	}
	*out = v;
	return 0;
}

static int
get_int(const cJSON *it, const char *path, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, struct err *e)
{
	double v;

	if (it == NULL)
		return manifest_bad(e, path, key, "missing");
	if (!cJSON_IsNumber(it))
		return manifest_bad(e, path, key, "not an integer");
	v = it->valuedouble;
	/* Compare as doubles first: casting an out-of-range double to an
	 * integer is undefined. */
	if (!(v >= 0 && v <= (double)JSON_INT_MAX) ||
	    (double)(uint64_t)v != v)
		return manifest_bad(e, path, key, "not an integer");
	return manifest_in_range((uint64_t)v, path, key, min, max, out, e);
}

static int
get_str(const cJSON *it, const char *path, const char *key,
    const char **out, struct err *e)
{
	if (it == NULL)
		return manifest_bad(e, path, key, "missing");
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return manifest_bad(e, path, key, "not a string");
	*out = it->valuestring;
	return 0;
}

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* Payload names and slot classes: [a-z0-9][a-z0-9._-]{0,63}. */
int
bundle_name_valid(const char *s)
{
	size_t i;

	if (!is_lower_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i >= 64 || !(is_lower_alnum((unsigned char)s[i]) ||
		    strchr("._-", s[i]) != NULL))
			return 0;
	return 1;
}

/* File names become paths in a slot folder: no '/', no "." or "..". */
int
bundle_file_name_valid(const char *s)
{
	size_t i;

	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= 64 || !(is_alnum((unsigned char)s[i]) ||
		    strchr("._-", s[i]) != NULL))
			return 0;
	return i >= 1;
}

int
bundle_file_path_valid(const char *s)
{
	char name[BUNDLE_FILE_PATH_MAX + 1];
	size_t len, n, depth = 0;

	if ((len = strnlen(s, sizeof(name))) > BUNDLE_FILE_PATH_MAX)
		return 0;
	/* Every piece between slashes is a file name: a leading, trailing
	 * or doubled '/' makes an empty one. */
	for (;;) {
		n = strcspn(s, "/");
		memcpy(name, s, n);
		name[n] = '\0';
		if (!bundle_file_name_valid(name) ||
		    ++depth > BUNDLE_FILE_DEPTH_MAX)
			return 0;
		if (s[n] == '\0')
			return 1;
		s += n + 1;
	}
}

int
bundle_file_paths_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return strcmp(a, b) == 0;
	if (la > lb)
		return memcmp(a, b, lb) == 0 && a[lb] == '/';
	return memcmp(a, b, la) == 0 && b[la] == '/';
}

int
bundle_version_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 64 || !(is_alnum((unsigned char)s[i]) ||
		    strchr(".+~_-", s[i]) != NULL))
			return 0;
	return i >= 1;
}

/* Printable ASCII only, so messages and logs cannot be forged. */
int
bundle_text_valid(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return i >= 1;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
manifest_unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = unhex((unsigned char)s[2 * i])) < 0 ||
		    (lo = unhex((unsigned char)s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
get_hex(const cJSON *it, const char *path, const char *key, uint8_t *out,
    size_t n, struct err *e)
{
	char what[64];
	const char *s;
	int r;

	if ((r = get_str(it, path, key, &s, e)) < 0)
		return r;
	snprintf(what, sizeof(what), "not %zu hex digits", 2 * n);
	if (strlen(s) != 2 * n || manifest_unhex(s, out, n) < 0)
		return manifest_bad(e, path, key, what);
	return 0;
}

static int
dup_str(const char *s, char **out, const char *path, const char *key,
    struct err *e)
{
	if ((*out = strdup(s)) == NULL)
		return err_set(e, -ENOMEM, "manifest: %s%s%s", path,
		    *path != '\0' ? ": " : "", key);
	return 0;
}


static int
parse_files(const cJSON *arr, struct bundle_payload *p, const char *ppath,
    struct err *e)
{
	char path[64], what[96];
	const cJSON *f;
	const char *name;
	uint64_t v, sum = 0;
	size_t i, j;
	int n, r;

	if (p->kind == PAYLOAD_RAW) {
		if (arr != NULL)
			return manifest_bad(e, ppath, "files",
			    "not allowed for kind raw");
		return 0;
	}
	if (arr == NULL)
		return manifest_bad(e, ppath, "files", "missing");
	if (!cJSON_IsArray(arr))
		return manifest_bad(e, ppath, "files", "not an array");
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > BUNDLE_FILES_MAX) {
		snprintf(what, sizeof(what), "%d files, need 1..%d", n,
		    BUNDLE_FILES_MAX);
		return manifest_bad(e, ppath, "files", what);
	}
	if ((p->files = calloc((size_t)n, sizeof(*p->files))) == NULL)
		return err_set(e, -ENOMEM, "manifest: %s: files", ppath);
	i = 0;
	cJSON_ArrayForEach(f, arr) {
		snprintf(path, sizeof(path), "%s.files[%zu]", ppath, i);
		if (!cJSON_IsObject(f))
			return err_set(e, -EBADMSG, "manifest: %s: not an "
			    "object", path);
		if ((r = get_str(cJSON_GetObjectItemCaseSensitive(f, "name"),
		    path, "name", &name, e)) < 0)
			return r;
		if (!bundle_file_path_valid(name))
			return manifest_bad(e, path, "name", "not a relative "
			    "path of names [A-Za-z0-9._-]{1,64} (not . or ..), "
			    "at most " XSTR(BUNDLE_FILE_DEPTH_MAX) " deep and "
			    XSTR(BUNDLE_FILE_PATH_MAX) " long");
		for (j = 0; j < i; j++)
			if (bundle_file_paths_clash(p->files[j].name, name))
				return manifest_bad(e, path, "name",
				    strcmp(p->files[j].name, name) == 0 ?
				    "duplicate" : "a file and a folder of "
				    "the same name");
		if ((r = dup_str(name, &p->files[i].name, path, "name", e)) < 0)
			return r;
		p->nfiles = i + 1;
		if ((r = get_int(cJSON_GetObjectItemCaseSensitive(f, "size"),
		    path, "size", 0, JSON_INT_MAX, &v, e)) < 0)
			return r;
		p->files[i].size = v;
		sum += v;
		p->files[i].mode = MODE_DEFAULT;
		if (cJSON_GetObjectItemCaseSensitive(f, "mode") != NULL) {
			if ((r = get_int(cJSON_GetObjectItemCaseSensitive(f,
			    "mode"), path, "mode", 0, 07777, &v, e)) < 0)
				return r;
			p->files[i].mode = (uint32_t)v;
		}
		i++;
	}
	if (sum != p->size) {
		snprintf(what, sizeof(what), "files add up to %llu, size is "
		    "%llu", (unsigned long long)sum,
		    (unsigned long long)p->size);
		return manifest_bad(e, ppath, "files", what);
	}
	return 0;
}

static int
parse_payload(const cJSON *o, const char *text, const struct manifest_span *sp,
    struct manifest *m, size_t idx, uint64_t *next, struct err *e)
{
	struct bundle_payload *p = &m->payloads[idx];
	char path[32], what[96];
	const char *s;
	uint64_t v;
	size_t j;
	int r;

	snprintf(path, sizeof(path), "payloads[%zu]", idx);
	if (!cJSON_IsObject(o))
		return err_set(e, -EBADMSG, "manifest: %s: not an object",
		    path);
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(o, "name"), path,
	    "name", &s, e)) < 0)
		return r;
	if (!bundle_name_valid(s))
		return manifest_bad(e, path, "name",
		    "not [a-z0-9][a-z0-9._-]{0,63}");
	for (j = 0; j < idx; j++)
		if (strcmp(m->payloads[j].name, s) == 0)
			return manifest_bad(e, path, "name", "duplicate");
	if ((r = dup_str(s, &p->name, path, "name", e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(o, "class"), path,
	    "class", &s, e)) < 0)
		return r;
	if (!bundle_name_valid(s))
		return manifest_bad(e, path, "class",
		    "not [a-z0-9][a-z0-9._-]{0,63}");
	/* One payload per class: two would race for the same slot. */
	for (j = 0; j < idx; j++)
		if (strcmp(m->payloads[j].class, s) == 0)
			return manifest_bad(e, path, "class", "duplicate");
	if ((r = dup_str(s, &p->class, path, "class", e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(o, "kind"), path,
	    "kind", &s, e)) < 0)
		return r;
	if (strcmp(s, "raw") == 0)
		p->kind = PAYLOAD_RAW;
	else if (strcmp(s, "files") == 0)
		p->kind = PAYLOAD_FILES;
	else
		return manifest_bad(e, path, "kind",
		    "not \"raw\" or \"files\"");
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(o, "size"), path,
	    "size", 1, JSON_INT_MAX, &p->size, e)) < 0)
		return r;
	if ((r = get_hex(cJSON_GetObjectItemCaseSensitive(o, "sha256"), path,
	    "sha256", p->sha256, 32, e)) < 0)
		return r;
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(o, "chunk_size"),
	    path, "chunk_size", BUNDLE_CHUNK_MIN, BUNDLE_CHUNK_MAX, &v, e)) < 0)
		return r;
	if (v % 4096 != 0) {
		snprintf(what, sizeof(what), "%llu is not a multiple of 4096",
		    (unsigned long long)v);
		return manifest_bad(e, path, "chunk_size", what);
	}
	p->chunk_size = (uint32_t)v;
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(o, "offset"), path,
	    "offset", 0, JSON_INT_MAX, &v, e)) < 0)
		return r;
	if (v != *next) {
		snprintf(what, sizeof(what), "%llu, expected %llu",
		    (unsigned long long)v, (unsigned long long)*next);
		return manifest_bad(e, path, "offset", what);
	}
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(o,
	    "compressed_size"), path, "compressed_size", 1, JSON_INT_MAX,
	    &p->csize, e)) < 0)
		return r;
	if ((r = parse_files(cJSON_GetObjectItemCaseSensitive(o, "files"), p,
	    path, e)) < 0)
		return r;
	return manifest_parse_chunks(cJSON_GetObjectItemCaseSensitive(o,
	    "chunks"), text, sp, p, path, next, e);
}

static int
parse_tree(const cJSON *root, const char *text,
    const struct manifest_span *spans, struct manifest *m, struct err *e)
{
	const cJSON *arr, *o;
	const char *s;
	uint64_t next = 0;
	size_t i;
	int n, r;

	if (!cJSON_IsObject(root))
		return err_set(e, -EBADMSG, "manifest: not a JSON object");
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(root, "compatible"),
	    "", "compatible", &s, e)) < 0)
		return r;
	if (!bundle_text_valid(s, 128))
		return manifest_bad(e, "", "compatible", "not 1..128 printable "
		    "ASCII characters");
	if ((r = dup_str(s, &m->compatible, "", "compatible", e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(root, "version"),
	    "", "version", &s, e)) < 0)
		return r;
	if (!bundle_version_valid(s))
		return manifest_bad(e, "", "version", "not 1..64 characters "
		    "from [A-Za-z0-9.+~_-]");
	if ((r = dup_str(s, &m->version, "", "version", e)) < 0)
		return r;
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(root,
	    "security_version"), "", "security_version", 0, JSON_INT_MAX,
	    &m->security_version, e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(root, "created"),
	    "", "created", &s, e)) < 0)
		return r;
	if (!bundle_text_valid(s, 64))
		return manifest_bad(e, "", "created", "not 1..64 printable "
		    "ASCII characters");
	if ((r = dup_str(s, &m->created, "", "created", e)) < 0)
		return r;
	arr = cJSON_GetObjectItemCaseSensitive(root, "payloads");
	if (arr == NULL)
		return manifest_bad(e, "", "payloads", "missing");
	if (!cJSON_IsArray(arr))
		return manifest_bad(e, "", "payloads", "not an array");
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > BUNDLE_PAYLOADS_MAX)
		return err_set(e, -EBADMSG, "manifest: payloads: %d payloads, "
		    "need 1..%d", n, BUNDLE_PAYLOADS_MAX);
	if ((m->payloads = calloc((size_t)n, sizeof(*m->payloads))) == NULL)
		return err_set(e, -ENOMEM, "manifest: payloads");
	i = 0;
	cJSON_ArrayForEach(o, arr) {
		/* Count first so manifest_free() sees half-built payloads. */
		m->npayloads = i + 1;
		if ((r = parse_payload(o, text, &spans[i], m, i, &next,
		    e)) < 0)
			return r;
		i++;
	}
	return 0;
}


int
manifest_parse(const void *buf, size_t len, struct manifest **mp,
    struct err *e)
{
	struct manifest_span spans[BUNDLE_PAYLOADS_MAX];
	struct manifest *m = NULL;
	cJSON *root = NULL;
	const char *end = NULL, *in = buf;
	char *text = NULL, *t;
	size_t i, n, from;
	int r;

	*mp = NULL;
	if (len > BUNDLE_MANIFEST_MAX)
		return err_set(e, -EBADMSG, "manifest: %zu bytes, more than "
		    "%u", len, BUNDLE_MANIFEST_MAX);
	if ((r = manifest_find_nul_escape(in, len, e)) < 0)
		return r;
	memset(spans, 0, sizeof(spans));
	if ((r = manifest_find_chunks(in, len, spans, e)) < 0)
		return r;
	/* The text for cJSON: the manifest with each chunk table (in
	 * order, as the scan found them) cut down to "[]", NUL-terminated;
	 * an embedded NUL then shows up as the parse ending early. */
	n = len + 1;
	for (i = 0; i < BUNDLE_PAYLOADS_MAX; i++)
		n -= spans[i].end - spans[i].start - (spans[i].end != 0 ? 2 : 0);
	if ((text = malloc(n)) == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL) {
		r = err_set(e, -ENOMEM, "manifest: %zu bytes", len);
		goto fail;
	}
	for (t = text, from = 0, i = 0; i < BUNDLE_PAYLOADS_MAX; i++) {
		if (spans[i].end == 0)
			continue;
		memcpy(t, in + from, spans[i].start - from);
		t += spans[i].start - from;
		memcpy(t, "[]", 2);
		t += 2;
		from = spans[i].end;
	}
	memcpy(t, in + from, len - from);
	t[len - from] = '\0';
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL || end != t + (len - from)) {
		/* The offset in the manifest as sent: put the cut tables
		 * back in front of it. */
		from = end != NULL ? (size_t)(end - text) : 0;
		for (i = 0; i < BUNDLE_PAYLOADS_MAX; i++)
			if (spans[i].end != 0 && from > spans[i].start)
				from += spans[i].end - spans[i].start - 2;
		r = err_set(e, -EBADMSG, "manifest: not valid JSON (at byte "
		    "%zu)", from);
		goto fail;
	}
	if ((r = parse_tree(root, in, spans, m, e)) < 0)
		goto fail;
	cJSON_Delete(root);
	free(text);
	*mp = m;
	return 0;
fail:
	cJSON_Delete(root);
	free(text);
	manifest_free(m);
	return r;
}

void
manifest_free(struct manifest *m)
{
	struct bundle_payload *p;
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->npayloads; i++) {
		p = &m->payloads[i];
		free(p->name);
		free(p->class);
		free(p->chunks);
		for (j = 0; j < p->nfiles; j++)
			free(p->files[j].name);
		free(p->files);
	}
	free(m->payloads);
	free(m->compatible);
	free(m->version);
	free(m->created);
	free(m);
}


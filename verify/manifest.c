/*
 * verify/manifest: the JSON manifest. Parsing runs before the signature
 * is checked (the signature covers these very bytes, but we must parse the
 * header first to know how many to read), so it treats the input as
 * hostile: every count is checked against the JSON before allocating and
 * every integer must be exact in a double.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zstd.h>

#include "agent/err.h"
#include "verify/bundle.h"

/*
 * cJSON stores numbers as doubles. Above 2^53 - 1 two different texts can
 * parse to the same double (2^53 + 1 rounds to 2^53), so the largest
 * integer we accept is the last one that cannot be a rounded neighbour.
 */
#define JSON_INT_MAX	((1ull << 53) - 1)
#define MODE_DEFAULT	0644u

/* Formats "manifest: PATH: KEY: what" with the path omitted at the top. */
static int
bad(struct err *e, const char *path, const char *key, const char *what)
{
	return err_set(e, -EBADMSG, "manifest: %s%s%s: %s", path,
	    *path != '\0' ? ": " : "", key, what);
}

static int
get_int(const cJSON *it, const char *path, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, struct err *e)
{
	char what[96];
	double v;

	if (it == NULL)
		return bad(e, path, key, "missing");
	if (!cJSON_IsNumber(it))
		return bad(e, path, key, "not an integer");
	v = it->valuedouble;
	/* Compare as doubles first: casting an out-of-range double to an
	 * integer is undefined. */
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
get_str(const cJSON *it, const char *path, const char *key,
    const char **out, struct err *e)
{
	if (it == NULL)
		return bad(e, path, key, "missing");
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return bad(e, path, key, "not a string");
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

static int
valid_version(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 64 || !(is_alnum((unsigned char)s[i]) ||
		    strchr(".+~_-", s[i]) != NULL))
			return 0;
	return i >= 1;
}

/* Printable ASCII only, so messages and logs cannot be forged. */
static int
valid_printable(const char *s, size_t max)
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

static int
get_hex(const cJSON *it, const char *path, const char *key, uint8_t *out,
    size_t n, struct err *e)
{
	char what[64];
	const char *s;
	size_t i;
	int hi, lo, r;

	if ((r = get_str(it, path, key, &s, e)) < 0)
		return r;
	snprintf(what, sizeof(what), "not %zu hex digits", 2 * n);
	if (strlen(s) != 2 * n)
		return bad(e, path, key, what);
	for (i = 0; i < n; i++) {
		if ((hi = unhex((unsigned char)s[2 * i])) < 0 ||
		    (lo = unhex((unsigned char)s[2 * i + 1])) < 0)
			return bad(e, path, key, what);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
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

/*
 * The chunk table: [offset, csize, csha256, usha256, xxh3]. *next is
 * where the next chunk must start in the payload area, carried across
 * payloads so the whole area is covered exactly once.
 */
static int
parse_chunks(const cJSON *arr, struct bundle_payload *p, const char *ppath,
    uint64_t *next, struct err *e)
{
	char path[64], what[96];
	const cJSON *c;
	struct bundle_chunk *ch;
	uint64_t v, want, usize, sum = 0;
	uint8_t x[8];
	size_t i, k;
	int r;

	if (arr == NULL)
		return bad(e, ppath, "chunks", "missing");
	if (!cJSON_IsArray(arr))
		return bad(e, ppath, "chunks", "not an array");
	want = (p->size + p->chunk_size - 1) / p->chunk_size;
	/* Count before allocating: size alone could ask for 2^41 chunks. */
	if ((uint64_t)cJSON_GetArraySize(arr) != want) {
		snprintf(what, sizeof(what), "%d chunks, size %llu needs %llu",
		    cJSON_GetArraySize(arr), (unsigned long long)p->size,
		    (unsigned long long)want);
		return bad(e, ppath, "chunks", what);
	}
	if ((p->chunks = calloc(want, sizeof(*p->chunks))) == NULL)
		return err_set(e, -ENOMEM, "manifest: %s: %llu chunks", ppath,
		    (unsigned long long)want);
	p->nchunks = want;
	p->offset = *next;
	i = 0;
	cJSON_ArrayForEach(c, arr) {
		ch = &p->chunks[i];
		snprintf(path, sizeof(path), "%s.chunks[%zu]", ppath, i);
		if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) != 5)
			return err_set(e, -EBADMSG, "manifest: %s: not an "
			    "array of 5 items", path);
		usize = p->size - (uint64_t)i * p->chunk_size;
		if (usize > p->chunk_size)
			usize = p->chunk_size;
		ch->usize = (uint32_t)usize;
		if ((r = get_int(cJSON_GetArrayItem(c, 0), path, "offset", 0,
		    JSON_INT_MAX, &v, e)) < 0)
			return r;
		if (v != *next) {
			snprintf(what, sizeof(what), "%llu, expected %llu "
			    "(chunks must be contiguous)",
			    (unsigned long long)v, (unsigned long long)*next);
			return bad(e, path, "offset", what);
		}
		ch->offset = v;
		if ((r = get_int(cJSON_GetArrayItem(c, 1), path, "csize", 1,
		    ZSTD_COMPRESSBOUND(usize), &v, e)) < 0)
			return r;
		ch->csize = (uint32_t)v;
		if ((r = get_hex(cJSON_GetArrayItem(c, 2), path, "csha256",
		    ch->csha, 32, e)) < 0 ||
		    (r = get_hex(cJSON_GetArrayItem(c, 3), path, "usha256",
		    ch->usha, 32, e)) < 0)
			return r;
		if ((r = get_hex(cJSON_GetArrayItem(c, 4), path, "xxh3", x,
		    sizeof(x), e)) < 0)
			return r;
		for (k = 0; k < sizeof(x); k++)
			ch->xxh3 = ch->xxh3 << 8 | x[k];
		*next += ch->csize;
		if (*next > JSON_INT_MAX)
			return bad(e, path, "offset", "payload area too large");
		sum += ch->csize;
		i++;
	}
	if (sum != p->csize) {
		snprintf(what, sizeof(what), "%llu but the chunks add up to "
		    "%llu", (unsigned long long)p->csize,
		    (unsigned long long)sum);
		return bad(e, ppath, "compressed_size", what);
	}
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
			return bad(e, ppath, "files",
			    "not allowed for kind raw");
		return 0;
	}
	if (arr == NULL)
		return bad(e, ppath, "files", "missing");
	if (!cJSON_IsArray(arr))
		return bad(e, ppath, "files", "not an array");
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > BUNDLE_FILES_MAX) {
		snprintf(what, sizeof(what), "%d files, need 1..%d", n,
		    BUNDLE_FILES_MAX);
		return bad(e, ppath, "files", what);
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
		if (!bundle_file_name_valid(name))
			return bad(e, path, "name", "not a plain file name "
			    "([A-Za-z0-9._-]{1,64}, not . or ..)");
		for (j = 0; j < i; j++)
			if (strcmp(p->files[j].name, name) == 0)
				return bad(e, path, "name", "duplicate");
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
		return bad(e, ppath, "files", what);
	}
	return 0;
}

static int
parse_payload(const cJSON *o, struct manifest *m, size_t idx,
    uint64_t *next, struct err *e)
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
		return bad(e, path, "name", "not [a-z0-9][a-z0-9._-]{0,63}");
	for (j = 0; j < idx; j++)
		if (strcmp(m->payloads[j].name, s) == 0)
			return bad(e, path, "name", "duplicate");
	if ((r = dup_str(s, &p->name, path, "name", e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(o, "class"), path,
	    "class", &s, e)) < 0)
		return r;
	if (!bundle_name_valid(s))
		return bad(e, path, "class", "not [a-z0-9][a-z0-9._-]{0,63}");
	/* One payload per class: two would race for the same slot. */
	for (j = 0; j < idx; j++)
		if (strcmp(m->payloads[j].class, s) == 0)
			return bad(e, path, "class", "duplicate");
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
		return bad(e, path, "kind", "not \"raw\" or \"files\"");
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
		return bad(e, path, "chunk_size", what);
	}
	p->chunk_size = (uint32_t)v;
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(o, "offset"), path,
	    "offset", 0, JSON_INT_MAX, &v, e)) < 0)
		return r;
	if (v != *next) {
		snprintf(what, sizeof(what), "%llu, expected %llu",
		    (unsigned long long)v, (unsigned long long)*next);
		return bad(e, path, "offset", what);
	}
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(o,
	    "compressed_size"), path, "compressed_size", 1, JSON_INT_MAX,
	    &p->csize, e)) < 0)
		return r;
	if ((r = parse_files(cJSON_GetObjectItemCaseSensitive(o, "files"), p,
	    path, e)) < 0)
		return r;
	return parse_chunks(cJSON_GetObjectItemCaseSensitive(o, "chunks"), p,
	    path, next, e);
}

static int
parse_tree(const cJSON *root, struct manifest *m, struct err *e)
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
	if (!valid_printable(s, 128))
		return bad(e, "", "compatible", "not 1..128 printable ASCII "
		    "characters");
	if ((r = dup_str(s, &m->compatible, "", "compatible", e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(root, "version"),
	    "", "version", &s, e)) < 0)
		return r;
	if (!valid_version(s))
		return bad(e, "", "version", "not 1..64 characters from "
		    "[A-Za-z0-9.+~_-]");
	if ((r = dup_str(s, &m->version, "", "version", e)) < 0)
		return r;
	if ((r = get_int(cJSON_GetObjectItemCaseSensitive(root,
	    "security_version"), "", "security_version", 0, JSON_INT_MAX,
	    &m->security_version, e)) < 0)
		return r;
	if ((r = get_str(cJSON_GetObjectItemCaseSensitive(root, "created"),
	    "", "created", &s, e)) < 0)
		return r;
	if (!valid_printable(s, 64))
		return bad(e, "", "created", "not 1..64 printable ASCII "
		    "characters");
	if ((r = dup_str(s, &m->created, "", "created", e)) < 0)
		return r;
	arr = cJSON_GetObjectItemCaseSensitive(root, "payloads");
	if (arr == NULL)
		return bad(e, "", "payloads", "missing");
	if (!cJSON_IsArray(arr))
		return bad(e, "", "payloads", "not an array");
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
		if ((r = parse_payload(o, m, i, &next, e)) < 0)
			return r;
		i++;
	}
	return 0;
}

int
manifest_parse(const void *buf, size_t len, struct manifest **mp,
    struct err *e)
{
	struct manifest *m = NULL;
	cJSON *root = NULL;
	const char *end = NULL;
	char *text = NULL;
	int r;

	*mp = NULL;
	if (len > BUNDLE_MANIFEST_MAX)
		return err_set(e, -EBADMSG, "manifest: %zu bytes, more than "
		    "%u", len, BUNDLE_MANIFEST_MAX);
	/* cJSON wants a NUL-terminated string; an embedded NUL then shows
	 * up as the parse ending before len. */
	if ((text = malloc(len + 1)) == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL) {
		r = err_set(e, -ENOMEM, "manifest: %zu bytes", len);
		goto fail;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL || end != text + len) {
		r = err_set(e, -EBADMSG, "manifest: not valid JSON (at byte "
		    "%td)", end != NULL ? end - text : (ptrdiff_t)0);
		goto fail;
	}
	if ((r = parse_tree(root, m, e)) < 0)
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

static int
add_hex(cJSON *to, const char *key, const uint8_t *bin, size_t n)
{
	char hex[65];
	cJSON *s;

	bundle_hex(bin, n, hex);
	if ((s = cJSON_CreateString(hex)) == NULL)
		return -1;
	if (key != NULL)
		cJSON_AddItemToObject(to, key, s);
	else
		cJSON_AddItemToArray(to, s);
	return 0;
}

/*
 * cJSON prints doubles with "%1.15g" and keeps that if it reads back
 * within a relative epsilon, which turns 9007199254740991 into
 * 9.00719925474099e+15. Integers are written as raw decimal text instead.
 */
static int
add_num(cJSON *to, const char *key, uint64_t v)
{
	char text[24];
	cJSON *n;

	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	if ((n = cJSON_CreateRaw(text)) == NULL)
		return -1;
	if (key != NULL)
		cJSON_AddItemToObject(to, key, n);
	else
		cJSON_AddItemToArray(to, n);
	return 0;
}

static int
encode_payload(cJSON *arr, const struct bundle_payload *p)
{
	const struct bundle_chunk *c;
	cJSON *o, *list, *item;
	uint8_t x[8];
	size_t i, k;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(arr, o);
	if (cJSON_AddStringToObject(o, "name", p->name) == NULL ||
	    cJSON_AddStringToObject(o, "class", p->class) == NULL ||
	    cJSON_AddStringToObject(o, "kind",
	    p->kind == PAYLOAD_FILES ? "files" : "raw") == NULL ||
	    add_num(o, "size", p->size) < 0 ||
	    add_hex(o, "sha256", p->sha256, 32) < 0 ||
	    add_num(o, "chunk_size", p->chunk_size) < 0 ||
	    add_num(o, "offset", p->offset) < 0 ||
	    add_num(o, "compressed_size", p->csize) < 0)
		return -1;
	if (p->kind == PAYLOAD_FILES) {
		if ((list = cJSON_AddArrayToObject(o, "files")) == NULL)
			return -1;
		for (i = 0; i < p->nfiles; i++) {
			if ((item = cJSON_CreateObject()) == NULL)
				return -1;
			cJSON_AddItemToArray(list, item);
			if (cJSON_AddStringToObject(item, "name",
			    p->files[i].name) == NULL ||
			    add_num(item, "size", p->files[i].size) < 0 ||
			    add_num(item, "mode", p->files[i].mode) < 0)
				return -1;
		}
	}
	if ((list = cJSON_AddArrayToObject(o, "chunks")) == NULL)
		return -1;
	for (i = 0; i < p->nchunks; i++) {
		c = &p->chunks[i];
		if ((item = cJSON_CreateArray()) == NULL)
			return -1;
		cJSON_AddItemToArray(list, item);
		for (k = 0; k < 8; k++)
			x[k] = (uint8_t)(c->xxh3 >> (56 - 8 * k));
		if (add_num(item, NULL, c->offset) < 0 ||
		    add_num(item, NULL, c->csize) < 0 ||
		    add_hex(item, NULL, c->csha, 32) < 0 ||
		    add_hex(item, NULL, c->usha, 32) < 0 ||
		    add_hex(item, NULL, x, 8) < 0)
			return -1;
	}
	return 0;
}

int
manifest_encode(const struct manifest *m, char **out, size_t *outlen,
    struct err *e)
{
	cJSON *root, *arr;
	size_t i;
	int r = 0;

	*out = NULL;
	*outlen = 0;
	if ((root = cJSON_CreateObject()) == NULL)
		return err_set(e, -ENOMEM, "manifest %s: encode", m->version);
	if (cJSON_AddStringToObject(root, "compatible", m->compatible) ==
	    NULL ||
	    cJSON_AddStringToObject(root, "version", m->version) == NULL ||
	    add_num(root, "security_version", m->security_version) < 0 ||
	    cJSON_AddStringToObject(root, "created", m->created) == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "payloads")) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->npayloads; i++)
		if (encode_payload(arr, &m->payloads[i]) < 0) {
			r = -ENOMEM;
			goto out;
		}
	if ((*out = cJSON_PrintUnformatted(root)) == NULL)
		r = -ENOMEM;
	else
		*outlen = strlen(*out);
out:
	cJSON_Delete(root);
	if (r < 0)
		return err_set(e, r, "manifest %s: encode: out of memory",
		    m->version);
	return 0;
}

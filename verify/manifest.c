/*
 * verify/manifest: the JSON manifest. An install parses it only once the
 * signature over it holds, but `bundle info` parses what it is given, so
 * the parser treats its input as hostile: every count is checked against
 * the JSON before allocating and every integer must be exact in a double.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zstd.h>

#include "common/err.h"
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

/* Sets *out to v if it is in min..max. */
static int
in_range(uint64_t v, const char *path, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, struct err *e)
{
	char what[96];

	if (v < min || v > max) {
		snprintf(what, sizeof(what), "%llu out of range %llu..%llu",
		    (unsigned long long)v, (unsigned long long)min,
		    (unsigned long long)max);
		return bad(e, path, key, what);
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
		return bad(e, path, key, "missing");
	if (!cJSON_IsNumber(it))
		return bad(e, path, key, "not an integer");
	v = it->valuedouble;
	/* Compare as doubles first: casting an out-of-range double to an
	 * integer is undefined. */
	if (!(v >= 0 && v <= (double)JSON_INT_MAX) ||
	    (double)(uint64_t)v != v)
		return bad(e, path, key, "not an integer");
	return in_range((uint64_t)v, path, key, min, max, out, e);
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

/* Decodes 2n hex digits at s into out[n]: 0, or -1 at a non-digit. */
static int
unhex_n(const char *s, uint8_t *out, size_t n)
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
	if (strlen(s) != 2 * n || unhex_n(s, out, n) < 0)
		return bad(e, path, key, what);
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
 * The chunk tables are nearly all of a big manifest: about 200 bytes of
 * JSON a chunk, which as a cJSON tree would take 600 more (six nodes, three
 * strings): 10 MiB for a 16 GiB disk image, in an agent meant to run in a
 * few. So cJSON parses the manifest with each payload's "chunks" value cut
 * out and an empty array in its place, and the rows are read from the text
 * straight into the chunk table. The scanner below walks the JSON grammar
 * just far enough to find those values.
 */
#define SCAN_DEPTH	64	/* a manifest nests 4 deep */

struct span {
	size_t		 start;		/* the value, '[' ... ']' */
	size_t		 end;
};

struct scan {
	const char	*s;
	size_t		 len;
	size_t		 pos;
};

static void
scan_ws(struct scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) != NULL &&
	    sc->s[sc->pos] != '\0')
		sc->pos++;
}

static int
scan_is(struct scan *sc, char c)
{
	scan_ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == c) {
		sc->pos++;
		return 1;
	}
	return 0;
}

/* A string; *escaped says whether it holds a backslash. -1 if unended. */
static int
scan_string(struct scan *sc, int *escaped)
{
	*escaped = 0;
	if (!scan_is(sc, '"'))
		return -1;
	while (sc->pos < sc->len) {
		switch (sc->s[sc->pos++]) {
		case '"':
			return 0;
		case '\\':
			*escaped = 1;
			sc->pos++;
			break;
		default:
			break;
		}
	}
	return -1;
}

/* Steps over one value. What it is not sure of, cJSON or the row parser
 * checks: this only has to find where values end, in valid JSON. */
static int
scan_value(struct scan *sc, int depth)
{
	int esc;

	if (depth > SCAN_DEPTH)
		return -1;
	scan_ws(sc);
	if (sc->pos >= sc->len)
		return -1;
	switch (sc->s[sc->pos]) {
	case '"':
		return scan_string(sc, &esc);
	case '[':
		sc->pos++;
		if (scan_is(sc, ']'))
			return 0;
		do {
			if (scan_value(sc, depth + 1) < 0)
				return -1;
		} while (scan_is(sc, ','));
		return scan_is(sc, ']') ? 0 : -1;
	case '{':
		sc->pos++;
		if (scan_is(sc, '}'))
			return 0;
		do {
			if (scan_string(sc, &esc) < 0 || !scan_is(sc, ':') ||
			    scan_value(sc, depth + 1) < 0)
				return -1;
		} while (scan_is(sc, ','));
		return scan_is(sc, '}') ? 0 : -1;
	default:
		/* A number, true, false or null. */
		if (strchr("-0123456789tfn", sc->s[sc->pos]) == NULL ||
		    sc->s[sc->pos] == '\0')
			return -1;
		while (sc->pos < sc->len && sc->s[sc->pos] != '\0' &&
		    strchr("+-.0123456789eEtruefalsn", sc->s[sc->pos]) != NULL)
			sc->pos++;
		return 0;
	}
}

/* Steps over an object key; 1 if it is the quoted word key. Keys with
 * escapes are refused: cJSON would read "chu\u006eks" as "chunks". */
static int
scan_key(struct scan *sc, const char *key, struct err *e)
{
	size_t at, n = strlen(key);
	int esc;

	scan_ws(sc);
	at = sc->pos;
	if (scan_string(sc, &esc) < 0 || !scan_is(sc, ':'))
		return err_set(e, -EBADMSG, "manifest: not valid JSON (at "
		    "byte %zu)", at);
	if (esc)
		return err_set(e, -EBADMSG, "manifest: a key with escapes "
		    "(at byte %zu)", at);
	return sc->pos - at >= n + 2 && strncmp(sc->s + at + 1, key, n) == 0 &&
	    sc->s[at + 1 + n] == '"';
}

/* Finds each payload's "chunks" value: spans[i] for payloads[i], start 0
 * where there is none. The first of two equal keys counts, as in cJSON. */
static int
find_chunks(const char *s, size_t len, struct span *spans, struct err *e)
{
	struct scan sc = { s, len, 0 };
	size_t i, at;
	int r, seen = 0, found;

	if (!scan_is(&sc, '{') || scan_is(&sc, '}'))
		return 0;	/* not an object, or empty: parse_tree says */
	do {
		if ((r = scan_key(&sc, "payloads", e)) < 0)
			return r;
		scan_ws(&sc);
		at = sc.pos;
		if (r == 0 || seen || !scan_is(&sc, '[')) {
			sc.pos = at;
			if (scan_value(&sc, 1) < 0)
				goto invalid;
			continue;
		}
		seen = 1;
		if (scan_is(&sc, ']'))
			continue;
		i = 0;
		do {
			scan_ws(&sc);
			at = sc.pos;
			if (!scan_is(&sc, '{')) {
				sc.pos = at;
				if (scan_value(&sc, 2) < 0)
					goto invalid;
			} else if (!scan_is(&sc, '}')) {
				found = 0;
				do {
					if ((r = scan_key(&sc, "chunks",
					    e)) < 0)
						return r;
					scan_ws(&sc);
					at = sc.pos;
					if (scan_value(&sc, 3) < 0)
						goto invalid;
					if (r == 1 && !found &&
					    i < BUNDLE_PAYLOADS_MAX &&
					    s[at] == '[') {
						spans[i].start = at;
						spans[i].end = sc.pos;
					}
					found |= r;
				} while (scan_is(&sc, ','));
				if (!scan_is(&sc, '}'))
					goto invalid;
			}
			i++;
		} while (scan_is(&sc, ','));
		if (!scan_is(&sc, ']'))
			goto invalid;
	} while (scan_is(&sc, ','));
	if (scan_is(&sc, '}'))
		return 0;
invalid:
	return err_set(e, -EBADMSG, "manifest: not valid JSON (at byte %zu)",
	    sc.pos);
}

/* A row's integer: digits only, as upkit writes them, at most 2^53 - 1. */
static int
row_int(struct scan *sc, const char *path, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, struct err *e)
{
	uint64_t v = 0;
	size_t n = 0;

	scan_ws(sc);
	while (sc->pos < sc->len && sc->s[sc->pos] >= '0' &&
	    sc->s[sc->pos] <= '9') {
		v = v * 10 + (uint64_t)(sc->s[sc->pos++] - '0');
		if (++n > 16 || v > JSON_INT_MAX)
			return bad(e, path, key, "not an integer");
	}
	/* A sign, a fraction, an exponent, a leading zero or no digits. */
	if (n == 0 || (n > 1 && sc->s[sc->pos - n] == '0') ||
	    (sc->pos < sc->len && strchr(".eE", sc->s[sc->pos]) != NULL &&
	    sc->s[sc->pos] != '\0'))
		return bad(e, path, key, "not an integer");
	return in_range(v, path, key, min, max, out, e);
}

/* A row's hex string of n bytes, without escapes. */
static int
row_hex(struct scan *sc, const char *path, const char *key, uint8_t *out,
    size_t n, struct err *e)
{
	char what[64];

	if (!scan_is(sc, '"'))
		return bad(e, path, key, "not a string");
	snprintf(what, sizeof(what), "not %zu hex digits", 2 * n);
	if (sc->len - sc->pos < 2 * n + 1 ||
	    unhex_n(sc->s + sc->pos, out, n) < 0 ||
	    sc->s[sc->pos + 2 * n] != '"')
		return bad(e, path, key, what);
	sc->pos += 2 * n + 1;
	return 0;
}

/* The separator after item k of a row: ',' before item 4, ']' after. */
static int
row_next(struct scan *sc, int k, const char *path, struct err *e)
{
	if (!scan_is(sc, k < 4 ? ',' : ']'))
		return err_set(e, -EBADMSG, "manifest: %s: not an array of 5 "
		    "items", path);
	return 0;
}

/*
 * The chunk table: rows [offset, csize, csha256, usha256, xxh3], read from
 * the text at sp. *next is where the next chunk must start in the payload
 * area, carried across payloads so the whole area is covered exactly once.
 */
static int
parse_chunks(const cJSON *arr, const char *text, const struct span *sp,
    struct bundle_payload *p, const char *ppath, uint64_t *next,
    struct err *e)
{
	char path[64], what[96];
	struct scan sc;
	struct bundle_chunk *ch;
	uint64_t v, want, usize, count = 0, sum = 0;
	uint8_t x[8];
	size_t i, k;
	int r;

	if (arr == NULL)
		return bad(e, ppath, "chunks", "missing");
	if (!cJSON_IsArray(arr) || sp->start == sp->end)
		return bad(e, ppath, "chunks", "not an array");
	want = (p->size + p->chunk_size - 1) / p->chunk_size;
	/* Count before allocating: size alone could ask for 2^41 chunks. */
	sc.s = text;
	sc.len = sp->end;
	sc.pos = sp->start + 1;
	if (!scan_is(&sc, ']'))
		do {
			if (scan_value(&sc, 4) < 0)
				return bad(e, ppath, "chunks", "not valid JSON");
			count++;
		} while (scan_is(&sc, ','));
	if (count != want) {
		snprintf(what, sizeof(what), "%llu chunks, size %llu needs "
		    "%llu", (unsigned long long)count,
		    (unsigned long long)p->size, (unsigned long long)want);
		return bad(e, ppath, "chunks", what);
	}
	if ((p->chunks = calloc(want, sizeof(*p->chunks))) == NULL)
		return err_set(e, -ENOMEM, "manifest: %s: %llu chunks", ppath,
		    (unsigned long long)want);
	p->nchunks = want;
	p->offset = *next;
	sc.pos = sp->start + 1;
	for (i = 0; i < want; i++) {
		ch = &p->chunks[i];
		snprintf(path, sizeof(path), "%s.chunks[%zu]", ppath, i);
		if (i > 0 && !scan_is(&sc, ','))
			return bad(e, ppath, "chunks", "not valid JSON");
		if (!scan_is(&sc, '['))
			return err_set(e, -EBADMSG, "manifest: %s: not an "
			    "array of 5 items", path);
		usize = p->size - (uint64_t)i * p->chunk_size;
		if (usize > p->chunk_size)
			usize = p->chunk_size;
		ch->usize = (uint32_t)usize;
		if ((r = row_int(&sc, path, "offset", 0, JSON_INT_MAX, &v,
		    e)) < 0 || (r = row_next(&sc, 0, path, e)) < 0)
			return r;
		if (v != *next) {
			snprintf(what, sizeof(what), "%llu, expected %llu "
			    "(chunks must be contiguous)",
			    (unsigned long long)v, (unsigned long long)*next);
			return bad(e, path, "offset", what);
		}
		ch->offset = v;
		if ((r = row_int(&sc, path, "csize", 1,
		    ZSTD_COMPRESSBOUND(usize), &v, e)) < 0 ||
		    (r = row_next(&sc, 1, path, e)) < 0)
			return r;
		ch->csize = (uint32_t)v;
		if ((r = row_hex(&sc, path, "csha256", ch->csha, 32, e)) < 0 ||
		    (r = row_next(&sc, 2, path, e)) < 0 ||
		    (r = row_hex(&sc, path, "usha256", ch->usha, 32, e)) < 0 ||
		    (r = row_next(&sc, 3, path, e)) < 0 ||
		    (r = row_hex(&sc, path, "xxh3", x, sizeof(x), e)) < 0 ||
		    (r = row_next(&sc, 4, path, e)) < 0)
			return r;
		for (k = 0; k < sizeof(x); k++)
			ch->xxh3 = ch->xxh3 << 8 | x[k];
		*next += ch->csize;
		if (*next > JSON_INT_MAX)
			return bad(e, path, "offset", "payload area too large");
		sum += ch->csize;
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
parse_payload(const cJSON *o, const char *text, const struct span *sp,
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
	return parse_chunks(cJSON_GetObjectItemCaseSensitive(o, "chunks"),
	    text, sp, p, path, next, e);
}

static int
parse_tree(const cJSON *root, const char *text, const struct span *spans,
    struct manifest *m, struct err *e)
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
		if ((r = parse_payload(o, text, &spans[i], m, i, &next,
		    e)) < 0)
			return r;
		i++;
	}
	return 0;
}

/*
 * cJSON decodes \u0000 into a NUL that ends the C string early: a file
 * name "kernel\u0000x" would come out as "kernel" and pass every check
 * made on it. No field of a manifest may hold a NUL, so refuse the
 * escape anywhere in a string, before cJSON sees it.
 */
static int
find_nul_escape(const char *s, size_t len, struct err *e)
{
	size_t i;
	int instr = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			instr = !instr;
		} else if (instr && s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && len - i >= 6 &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return err_set(e, -EBADMSG, "manifest: \\u0000 "
				    "in a string (at byte %zu)", i);
			i++;	/* the escaped character, '"' included */
		}
	}
	return 0;
}

int
manifest_parse(const void *buf, size_t len, struct manifest **mp,
    struct err *e)
{
	struct span spans[BUNDLE_PAYLOADS_MAX];
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
	if ((r = find_nul_escape(in, len, e)) < 0)
		return r;
	memset(spans, 0, sizeof(spans));
	if ((r = find_chunks(in, len, spans, e)) < 0)
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

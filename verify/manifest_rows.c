/*
 * verify/manifest_rows: what the manifest parser reads from the text
 * itself rather than through cJSON. The \u0000 escape is refused before
 * cJSON can cut a string short at it; each payload's chunk table is
 * found by a scanner that walks the JSON grammar just far enough, and
 * its rows are read from the text straight into the chunk table.
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
#include "verify/manifest_rows.h"

/*
 * cJSON decodes \u0000 into a NUL that ends the C string early: a file
 * name "kernel\u0000x" would come out as "kernel" and pass every check
 * made on it. No field of a manifest may hold a NUL, so refuse the
 * escape anywhere in a string, before cJSON sees it.
 */
int
manifest_find_nul_escape(const char *s, size_t len, struct err *e)
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
int
manifest_find_chunks(const char *s, size_t len, struct manifest_span *spans,
    struct err *e)
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
			return manifest_bad(e, path, key, "not an integer");
	}
	/* A sign, a fraction, an exponent, a leading zero or no digits. */
	if (n == 0 || (n > 1 && sc->s[sc->pos - n] == '0') ||
	    (sc->pos < sc->len && strchr(".eE", sc->s[sc->pos]) != NULL &&
	    sc->s[sc->pos] != '\0'))
		return manifest_bad(e, path, key, "not an integer");
	return manifest_in_range(v, path, key, min, max, out, e);
}

/* A row's hex string of n bytes, without escapes. */
static int
row_hex(struct scan *sc, const char *path, const char *key, uint8_t *out,
    size_t n, struct err *e)
{
	char what[64];

	if (!scan_is(sc, '"'))
		return manifest_bad(e, path, key, "not a string");
	snprintf(what, sizeof(what), "not %zu hex digits", 2 * n);
	if (sc->len - sc->pos < 2 * n + 1 ||
	    manifest_unhex(sc->s + sc->pos, out, n) < 0 ||
	    sc->s[sc->pos + 2 * n] != '"')
		return manifest_bad(e, path, key, what);
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

/* Counts the rows of the table at sp before anything is allocated: the
 * payload size alone could ask for 2^41 chunks. */
static int
count_rows(const char *text, const struct manifest_span *sp,
    const char *ppath, uint64_t *countp, struct err *e)
{
	struct scan sc = { text, sp->end, sp->start + 1 };
	uint64_t count = 0;

	if (!scan_is(&sc, ']'))
		do {
			if (scan_value(&sc, 4) < 0)
				return manifest_bad(e, ppath, "chunks",
				    "not valid JSON");
			count++;
		} while (scan_is(&sc, ','));
	*countp = count;
	return 0;
}

/* Row i of p at sc: [offset, csize, csha256, usha256, xxh3], the offset
 * where the previous chunk ended (*next, moved past this one). */
static int
parse_row(struct scan *sc, struct bundle_payload *p, size_t i,
    const char *ppath, uint64_t *next, struct err *e)
{
	struct bundle_chunk *ch = &p->chunks[i];
	char path[64], what[96];
	uint64_t v, usize;
	uint8_t x[8];
	size_t k;
	int r;

	snprintf(path, sizeof(path), "%s.chunks[%zu]", ppath, i);
	if (i > 0 && !scan_is(sc, ','))
		return manifest_bad(e, ppath, "chunks", "not valid JSON");
	if (!scan_is(sc, '['))
		return err_set(e, -EBADMSG, "manifest: %s: not an array of 5 "
		    "items", path);
	usize = p->size - (uint64_t)i * p->chunk_size;
	if (usize > p->chunk_size)
		usize = p->chunk_size;
	ch->usize = (uint32_t)usize;
	if ((r = row_int(sc, path, "offset", 0, JSON_INT_MAX, &v, e)) < 0 ||
	    (r = row_next(sc, 0, path, e)) < 0)
		return r;
	if (v != *next) {
		snprintf(what, sizeof(what), "%llu, expected %llu (chunks "
		    "must be contiguous)", (unsigned long long)v,
		    (unsigned long long)*next);
		return manifest_bad(e, path, "offset", what);
	}
	ch->offset = v;
	if ((r = row_int(sc, path, "csize", 1, ZSTD_COMPRESSBOUND(usize), &v,
	    e)) < 0 || (r = row_next(sc, 1, path, e)) < 0)
		return r;
	ch->csize = (uint32_t)v;
	if ((r = row_hex(sc, path, "csha256", ch->csha, 32, e)) < 0 ||
	    (r = row_next(sc, 2, path, e)) < 0 ||
	    (r = row_hex(sc, path, "usha256", ch->usha, 32, e)) < 0 ||
	    (r = row_next(sc, 3, path, e)) < 0 ||
	    (r = row_hex(sc, path, "xxh3", x, sizeof(x), e)) < 0 ||
	    (r = row_next(sc, 4, path, e)) < 0)
		return r;
	for (k = 0; k < sizeof(x); k++)
		ch->xxh3 = ch->xxh3 << 8 | x[k];
	*next += ch->csize;
	if (*next > JSON_INT_MAX)
		return manifest_bad(e, path, "offset",
		    "payload area too large");
	return 0;
}

/*
 * The chunk table, read from the text at sp. *next is where the next
 * chunk must start in the payload area, carried across payloads so the
 * whole area is covered exactly once.
 */
int
manifest_parse_chunks(const cJSON *arr, const char *text,
    const struct manifest_span *sp, struct bundle_payload *p,
    const char *ppath, uint64_t *next, struct err *e)
{
	char what[96];
	struct scan sc;
	uint64_t want, count = 0, sum = 0;
	size_t i;
	int r;

	if (arr == NULL)
		return manifest_bad(e, ppath, "chunks", "missing");
	if (!cJSON_IsArray(arr) || sp->start == sp->end)
		return manifest_bad(e, ppath, "chunks", "not an array");
	want = (p->size + p->chunk_size - 1) / p->chunk_size;
	if ((r = count_rows(text, sp, ppath, &count, e)) < 0)
		return r;
	if (count != want) {
		snprintf(what, sizeof(what), "%llu chunks, size %llu needs "
		    "%llu", (unsigned long long)count,
		    (unsigned long long)p->size, (unsigned long long)want);
		return manifest_bad(e, ppath, "chunks", what);
	}
	if ((p->chunks = calloc(want, sizeof(*p->chunks))) == NULL)
		return err_set(e, -ENOMEM, "manifest: %s: %llu chunks", ppath,
		    (unsigned long long)want);
	p->nchunks = want;
	p->offset = *next;
	sc.s = text;
	sc.len = sp->end;
	sc.pos = sp->start + 1;
	for (i = 0; i < want; i++) {
		if ((r = parse_row(&sc, p, i, ppath, next, e)) < 0)
			return r;
		sum += p->chunks[i].csize;
	}
	if (sum != p->csize) {
		snprintf(what, sizeof(what), "%llu but the chunks add up to "
		    "%llu", (unsigned long long)p->csize,
		    (unsigned long long)sum);
		return manifest_bad(e, ppath, "compressed_size", what);
	}
	return 0;
}

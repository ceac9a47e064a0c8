/*
 * verify/manifest_rows: internal to the manifest parser (manifest.c,
 * manifest_rows.c); no other file includes it. The chunk tables are read
 * from the manifest text by a small scanner, not through cJSON, and both
 * halves name what they refuse the same way.
 */
#ifndef VERIFY_MANIFEST_ROWS_H
#define VERIFY_MANIFEST_ROWS_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct err;
struct bundle_payload;

/*
 * cJSON stores numbers as doubles. Above 2^53 - 1 two different texts can
 * parse to the same double (2^53 + 1 rounds to 2^53), so the largest
 * integer we accept is the last one that cannot be a rounded neighbour.
 */
#define JSON_INT_MAX	((1ull << 53) - 1)

/* Where a payload's "chunks" value is in the text: '[' ... ']', or start
 * and end 0 where there is none. */
struct manifest_span {
	size_t		 start;
	size_t		 end;
};

/* -EBADMSG, "manifest: PATH: KEY: what" with the path omitted at the
 * top. */
int	manifest_bad(struct err *e, const char *path, const char *key,
	    const char *what);
/* Sets *out to v if it is in min..max; else manifest_bad(). */
int	manifest_in_range(uint64_t v, const char *path, const char *key,
	    uint64_t min, uint64_t max, uint64_t *out, struct err *e);
/* Decodes 2n hex digits at s into out[n]: 0, or -1 at a non-digit. */
int	manifest_unhex(const char *s, uint8_t *out, size_t n);

/* -EBADMSG if a string of the text holds the escape \u0000. */
int	manifest_find_nul_escape(const char *s, size_t len, struct err *e);
/* Finds each payload's "chunks" value: spans[i] for payloads[i] (of at
 * most BUNDLE_PAYLOADS_MAX). -EBADMSG if the text is not valid JSON
 * where it looks. */
int	manifest_find_chunks(const char *s, size_t len,
	    struct manifest_span *spans, struct err *e);
/* Reads payload p's chunk table from text at sp (arr is cJSON's empty
 * stand-in, or NULL when the key is missing) into p->chunks. *next is
 * where the next chunk must start in the payload area. */
int	manifest_parse_chunks(const struct cJSON *arr, const char *text,
	    const struct manifest_span *sp, struct bundle_payload *p,
	    const char *ppath, uint64_t *next, struct err *e);

#endif /* VERIFY_MANIFEST_ROWS_H */

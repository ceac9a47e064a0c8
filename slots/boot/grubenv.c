/*
 * The GRUB environment block, as grub-editenv writes it and GRUB's
 * load_env reads it. See slots/boot/grubenv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slots/boot/grubenv.h"

#define ENVBLK_SIG	"# GRUB Environment Block\n"
#define SIGLEN		(sizeof(ENVBLK_SIG) - 1)

static const char *const sel_vars[] = {
	"BOOT_ORDER",
	"BOOT_A_LEFT",
	"BOOT_B_LEFT",
};
#define NSEL	(sizeof(sel_vars) / sizeof(sel_vars[0]))

void
grubenv_free(struct grubenv *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free(g->v[i].name);
		free(g->v[i].value);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

struct grubenv_line *
grubenv_find(const struct grubenv *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].name != NULL && strcmp(g->v[i].name, name) == 0)
			return &g->v[i];
	return NULL;
}

/* Appends a line; takes name and value (both malloc'd, name may be
 * NULL) and frees them on failure. */
static int
append(struct grubenv *g, char *name, char *value)
{
	struct grubenv_line *nv;
	size_t cap;

	if (g->n == g->cap) {
		cap = g->cap == 0 ? 8 : 2 * g->cap;
		if ((nv = reallocarray(g->v, cap, sizeof(*nv))) == NULL) {
			free(name);
			free(value);
			return -ENOMEM;
		}
		g->v = nv;
		g->cap = cap;
	}
	g->v[g->n].name = name;
	g->v[g->n].value = value;
	g->n++;
	return 0;
}

int
grubenv_set(struct grubenv *g, const char *name, const char *value)
{
	struct grubenv_line *it;
	char *nn = NULL, *nv;

	if ((nv = strdup(value)) == NULL)
		return -ENOMEM;
	if ((it = grubenv_find(g, name)) != NULL) {
		free(it->value);
		it->value = nv;
		return 0;
	}
	if ((nn = strdup(name)) == NULL) {
		free(nv);
		return -ENOMEM;
	}
	return append(g, nn, nv);
}

/*
 * Names GRUB reads back: grub-editenv writes any name as it is, so only
 * what would break the line format is refused: '=', a newline, a
 * backslash, NUL, and a leading '#' (a comment).
 */
static int
name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '#')
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '=' || s[i] == '\n' || s[i] == '\\' ||
		    s[i] == '\0')
			return 0;
	return 1;
}

/* The checks on the block as a whole: size, header, no NUL. */
static int
frame_check(const char *p, size_t len, char *why, size_t whylen)
{
	if (len != GRUBENV_SIZE) {
		snprintf(why, whylen, "size %zu, not %d", len, GRUBENV_SIZE);
		return -EBADMSG;
	}
	if (memcmp(p, ENVBLK_SIG, SIGLEN) != 0) {
		snprintf(why, whylen, "no \"# GRUB Environment Block\" "
		    "header");
		return -EBADMSG;
	}
	if (memchr(p, '\0', len) != NULL) {
		snprintf(why, whylen, "NUL byte at offset %td",
		    (const char *)memchr(p, '\0', len) - p);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Parses the NAME=VALUE line at p (blk is the block, for offsets) and
 * appends it to g; *nlp gets the newline that ends the value, which an
 * escaped newline inside it may put past the line's first '\n'.
 */
static int
parse_var(const char *blk, const char *p, const char *end, struct grubenv *g,
    const char **nlp, char *why, size_t whylen)
{
	const char *q;
	char *name = NULL, *val = NULL, *d;
	int r;

	for (q = p; q < end && *q != '=' && *q != '\n'; q++)
		;
	if (q == end || *q != '=' || !name_valid(p, (size_t)(q - p))) {
		snprintf(why, whylen, "bad line at offset %td", p - blk);
		return -EBADMSG;
	}
	if ((name = strndup(p, (size_t)(q - p))) == NULL ||
	    (val = malloc((size_t)(end - q))) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	/* As GRUB reads: a backslash takes the next byte as is. */
	for (q++, d = val; q < end && *q != '\n'; q++) {
		if (*q == '\\' && ++q == end)
			break;
		*d++ = *q;
	}
	*d = '\0';
	r = -EBADMSG;
	if (q == end) {
		snprintf(why, whylen, "%s: value not ended by a newline", name);
		goto fail;
	}
	if (grubenv_find(g, name) != NULL) {
		snprintf(why, whylen, "%s set twice", name);
		goto fail;
	}
	*nlp = q;
	return append(g, name, val);
fail:
	free(name);
	free(val);
	return r;
}

/*
 * Stricter than GRUB, which stops quietly at the first broken line:
 * here anything but the header, comment lines, NAME=VALUE lines and a
 * final run of '#' is invalid, which is how most torn or foreign blocks
 * show.
 */
int
grubenv_parse(const unsigned char *buf, size_t len, struct grubenv *g,
    char *why, size_t whylen)
{
	const char *blk = (const char *)buf, *end = blk + len, *p, *q, *nl;
	char *val;
	int r;

	memset(g, 0, sizeof(*g));
	if ((r = frame_check(blk, len, why, whylen)) < 0)
		return r;
	for (p = blk + SIGLEN; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (*p != '#')
			r = parse_var(blk, p, end, g, &nl, why, whylen);
		else if (nl == NULL) {
			/* The padding: must be '#' up to the end. */
			for (q = p; q < end && *q == '#'; q++)
				;
			if (q == end)
				return 0;
			snprintf(why, whylen, "junk in the padding at offset "
			    "%td", q - blk);
			r = -EBADMSG;
		} else if ((val = strndup(p, (size_t)(nl - p))) == NULL)
			r = -ENOMEM;
		else
			r = append(g, NULL, val);
		if (r < 0)
			goto fail;
	}
	/* GRUB's tools always pad; a block without it was not theirs. */
	snprintf(why, whylen, "no '#' padding at the end");
	r = -EBADMSG;
fail:
	grubenv_free(g);
	if (r == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	return r;
}

static int
is_sel(const char *name)
{
	size_t i;

	for (i = 0; i < NSEL; i++)
		if (strcmp(name, sel_vars[i]) == 0)
			return 1;
	return 0;
}

/* Appends s (len bytes) at *offp if it fits in out. */
static int
put(unsigned char *out, size_t *offp, const char *s, size_t len)
{
	if (len > GRUBENV_SIZE - *offp)
		return -ENOSPC;
	memcpy(out + *offp, s, len);
	*offp += len;
	return 0;
}

static int
put_var(unsigned char *out, size_t *offp, const struct grubenv_line *it)
{
	const char *s;
	int r;

	if (!name_valid(it->name, strlen(it->name)))
		return -EINVAL;
	if ((r = put(out, offp, it->name, strlen(it->name))) < 0 ||
	    (r = put(out, offp, "=", 1)) < 0)
		return r;
	for (s = it->value; *s != '\0'; s++) {
		if ((*s == '\\' || *s == '\n') &&
		    (r = put(out, offp, "\\", 1)) < 0)
			return r;
		if ((r = put(out, offp, s, 1)) < 0)
			return r;
	}
	return put(out, offp, "\n", 1);
}

/* Keeping the selection variables near the top keeps the lines GRUB
 * rewrites at each boot in the first sector. */
int
grubenv_build(const struct grubenv *g, unsigned char *out)
{
	const struct grubenv_line *it;
	size_t i, off = 0, lead;
	int r;

	if ((r = put(out, &off, ENVBLK_SIG, SIGLEN)) < 0)
		return r;
	for (lead = 0; lead < g->n && g->v[lead].name == NULL; lead++)
		if ((r = put(out, &off, g->v[lead].value,
		    strlen(g->v[lead].value))) < 0 ||
		    (r = put(out, &off, "\n", 1)) < 0)
			return r;
	for (i = 0; i < NSEL; i++)
		if ((it = grubenv_find(g, sel_vars[i])) != NULL &&
		    (r = put_var(out, &off, it)) < 0)
			return r;
	for (i = lead; i < g->n; i++) {
		it = &g->v[i];
		if (it->name == NULL) {
			if ((r = put(out, &off, it->value,
			    strlen(it->value))) < 0 ||
			    (r = put(out, &off, "\n", 1)) < 0)
				return r;
		} else if (!is_sel(it->name) &&
		    (r = put_var(out, &off, it)) < 0)
			return r;
	}
	/* At least one '#': the padding is how a reader finds the end. */
	if (off == GRUBENV_SIZE)
		return -ENOSPC;
	memset(out + off, '#', GRUBENV_SIZE - off);
	return 0;
}

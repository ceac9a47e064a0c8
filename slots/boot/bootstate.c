/*
 * Boot selection transitions. Pure functions on a struct bootstate: the
 * backends load and store it, the agent decides which transition to run.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"

static int
slot_index(char bootname)
{
	/* A bootname other than A or B is a caller bug, not bad input. */
	assert(bootname == 'A' || bootname == 'B');
	return bootname - 'A';
}

/* Removes bootname from the order, keeping the others in place. */
static void
order_remove(struct bootstate *st, char bootname)
{
	char *src, *dst;

	for (src = dst = st->order; *src != '\0'; src++)
		if (*src != bootname)
			*dst++ = *src;
	*dst = '\0';
}

const char *const bootstate_names[BOOTENV_VARS] = {
	"BOOT_ORDER",
	"BOOT_A_LEFT",
	"BOOT_B_LEFT",
	"UPKIT_TRIAL",
	"UPKIT_TRIAL_FLOOR",
	"UPKIT_FLOOR",
};

enum {
	VAR_ORDER,
	VAR_LEFT,			/* and VAR_LEFT + 1 */
	VAR_TRIAL = VAR_LEFT + BOOTENV_SLOTS,
	VAR_TRIAL_FLOOR,
	VAR_FLOOR,
};

/* Puts bootname first in the order with attempts left. A slot marked bad
 * stays out of the order: it is the fallback only if it was still in it. */
static void
put_first(struct bootstate *st, char bootname, int attempts)
{
	char rest[BOOTENV_SLOTS + 1];
	int i = slot_index(bootname);

	order_remove(st, bootname);
	memcpy(rest, st->order, sizeof(rest));
	st->order[0] = bootname;
	memcpy(st->order + 1, rest, sizeof(rest) - 1);
	st->order[BOOTENV_SLOTS] = '\0';
	st->left[i] = attempts;
}

void
bootstate_mark_bad(struct bootstate *st, char bootname)
{
	int i = slot_index(bootname);

	order_remove(st, bootname);
	st->left[i] = 0;
	if (st->trial == bootname) {
		st->trial = 0;
		st->trial_floor = 0;
	}
}

void
bootstate_arm(struct bootstate *st, char bootname, int attempts)
{
	put_first(st, bootname, attempts);
	st->trial = bootname;
	st->trial_floor = st->floor;
}

void
bootstate_commit(struct bootstate *st, char bootname, int attempts)
{
	put_first(st, bootname, attempts);
	if (st->trial != bootname)
		return;
	if (st->trial_floor > st->floor)
		st->floor = st->trial_floor;
	st->trial = 0;
	st->trial_floor = 0;
}

void
bootstate_mark_good(struct bootstate *st, char bootname, int attempts)
{
	put_first(st, bootname, attempts);
}

int
bootstate_equal(const struct bootstate *a, const struct bootstate *b)
{
	return strcmp(a->order, b->order) == 0 && a->left[0] == b->left[0] &&
	    a->left[1] == b->left[1] && a->trial == b->trial &&
	    a->trial_floor == b->trial_floor && a->floor == b->floor;
}

void
bootstate_default(struct bootstate *st, int attempts)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->order, "AB", sizeof(st->order));
	st->left[0] = attempts;
	st->left[1] = attempts;
}

/* A floor: decimal digits only, no sign, at most 2^64-1. */
static int
floor_parse(const char *name, const char *s, uint64_t *vp, struct err *e)
{
	uint64_t v = 0;
	const char *p;

	if (*s == '\0')
		goto bad;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*vp = v;
	return 0;
bad:
	return err_set(e, -EBADMSG, "%s \"%.32s\": not a security version "
	    "0..18446744073709551615", name, s);
}

int
bootstate_decode(const char *const val[BOOTENV_VARS], struct bootstate *st,
    struct err *e)
{
	struct bootstate new;
	const char *t;
	int i, r;

	memset(&new, 0, sizeof(new));
	if (val[VAR_ORDER] == NULL)
		return err_set(e, -ENOENT, "no BOOT_ORDER");
	if ((r = bootstate_order_parse(val[VAR_ORDER], &new, e)) < 0)
		return r;
	for (i = 0; i < BOOTENV_SLOTS; i++)
		if (val[VAR_LEFT + i] != NULL && (r = bootstate_left_parse(
		    bootstate_names[VAR_LEFT + i], val[VAR_LEFT + i],
		    &new.left[i], e)) < 0)
			return r;
	if ((t = val[VAR_TRIAL]) != NULL && *t != '\0') {
		if ((t[0] != 'A' && t[0] != 'B') || t[1] != '\0')
			return err_set(e, -EBADMSG, "UPKIT_TRIAL \"%.32s\": "
			    "not a slot name (A or B)", t);
		new.trial = t[0];
		if ((t = val[VAR_TRIAL_FLOOR]) != NULL && *t != '\0' &&
		    (r = floor_parse("UPKIT_TRIAL_FLOOR", t, &new.trial_floor,
		    e)) < 0)
			return r;
	}
	if ((t = val[VAR_FLOOR]) != NULL && *t != '\0' &&
	    (r = floor_parse("UPKIT_FLOOR", t, &new.floor, e)) < 0)
		return r;
	*st = new;
	return 0;
}

int
bootstate_encode(const struct bootstate *st, struct bootstate_text *t,
    struct err *e)
{
	int i;

	for (i = 0; i < BOOTENV_SLOTS; i++)
		if (st->left[i] < 0 || st->left[i] > 99)
			return err_set(e, -EINVAL, "%s=%d out of range 0..99",
			    bootstate_names[VAR_LEFT + i], st->left[i]);
	assert(st->trial == 0 || st->trial == 'A' || st->trial == 'B');
	bootstate_order_format(st, t->order);
	t->val[VAR_ORDER] = t->order;
	for (i = 0; i < BOOTENV_SLOTS; i++) {
		snprintf(t->left[i], sizeof(t->left[i]), "%d", st->left[i]);
		t->val[VAR_LEFT + i] = t->left[i];
	}
	t->trial[0] = st->trial;
	t->trial[1] = '\0';
	t->trial_floor[0] = '\0';
	if (st->trial != 0)
		snprintf(t->trial_floor, sizeof(t->trial_floor), "%" PRIu64,
		    st->trial_floor);
	snprintf(t->floor, sizeof(t->floor), "%" PRIu64, st->floor);
	t->val[VAR_TRIAL] = t->trial;
	t->val[VAR_TRIAL_FLOOR] = t->trial_floor;
	t->val[VAR_FLOOR] = t->floor;
	return 0;
}

void
bootstate_order_format(const struct bootstate *st, char *out)
{
	const char *p;
	char *o = out;

	for (p = st->order; *p != '\0'; p++) {
		if (o != out)
			*o++ = ' ';
		*o++ = *p;
	}
	*o = '\0';
}

int
bootstate_order_parse(const char *s, struct bootstate *st, struct err *e)
{
	char order[BOOTENV_SLOTS + 1];
	const char *p;
	size_t n = 0;

	for (p = s; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p != 'A' && *p != 'B')
			return err_set(e, -EBADMSG,
			    "BOOT_ORDER \"%.64s\": unknown slot name '%c'",
			    s, *p);
		if (memchr(order, *p, n) != NULL)
			return err_set(e, -EBADMSG,
			    "BOOT_ORDER \"%.64s\": slot %c listed twice", s,
			    *p);
		/* With only two names, a third one is always a duplicate,
		 * but keep the bound explicit for the array. */
		if (n == BOOTENV_SLOTS)
			return err_set(e, -EBADMSG,
			    "BOOT_ORDER \"%.64s\": more than %d slots", s,
			    BOOTENV_SLOTS);
		order[n++] = *p;
	}
	order[n] = '\0';
	memcpy(st->order, order, sizeof(st->order));
	return 0;
}

int
bootstate_left_parse(const char *name, const char *s, int *leftp,
    struct err *e)
{
	size_t n = strlen(s);

	/* Decimal digits only: no sign, no spaces, no hex, at most 99. */
	if (n == 0 || n > 2 || s[0] < '0' || s[0] > '9' ||
	    (n == 2 && (s[1] < '0' || s[1] > '9')))
		return err_set(e, -EBADMSG, "%s \"%.32s\": not a count 0..99",
		    name, s);
	*leftp = n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

char
bootstate_next(const struct bootstate *st, int *leftp)
{
	const char *p;

	/* The boot scripts' decrement table knows 1..9 only: any other
	 * counter, 10..99 included, means no attempts left. */
	for (p = st->order; *p != '\0'; p++)
		if ((*p == 'A' || *p == 'B') && st->left[*p - 'A'] >= 1 &&
		    st->left[*p - 'A'] <= 9) {
			*leftp = st->left[*p - 'A'];
			return *p;
		}
	/* The fallback boot: the first slot still in BOOT_ORDER (a slot
	 * being written never is), else A, the factory image's slot. */
	*leftp = 0;
	for (p = st->order; *p != '\0'; p++)
		if (*p == 'A' || *p == 'B')
			return *p;
	return 'A';
}

/*
 * Boot selection transitions. Pure functions on a struct bootstate: the
 * backends load and store it, the agent decides which transition to run.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "agent/err.h"
#include "slots/bootenv.h"

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

void
bootstate_mark_bad(struct bootstate *st, char bootname)
{
	int i = slot_index(bootname);

	order_remove(st, bootname);
	st->left[i] = 0;
}

void
bootstate_arm(struct bootstate *st, char bootname, int attempts)
{
	char rest[BOOTENV_SLOTS + 1];
	int i = slot_index(bootname);

	/* A slot marked bad stays out of the order: it is the fallback
	 * only if it was still in it. */
	order_remove(st, bootname);
	memcpy(rest, st->order, sizeof(rest));
	st->order[0] = bootname;
	memcpy(st->order + 1, rest, sizeof(rest) - 1);
	st->order[BOOTENV_SLOTS] = '\0';
	st->left[i] = attempts;
}

void
bootstate_mark_good(struct bootstate *st, char bootname, int attempts)
{
	/* Same shape as arm; the agent records which one it was. */
	bootstate_arm(st, bootname, attempts);
}

void
bootstate_default(struct bootstate *st, int attempts)
{
	memcpy(st->order, "AB", sizeof(st->order));
	st->left[0] = attempts;
	st->left[1] = attempts;
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

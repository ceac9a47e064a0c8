/*
 * The names upkit gives the slots' UKIs in ESP/EFI/Linux, and the order
 * in which systemd-boot picks among them (slots/boot/efi.h). Pure: no
 * I/O, so the unit tests can check every name and every order.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "slots/boot/efi.h"

/* Decimal digits at *pp, no sign, no leading zero (but "0"), at most
 * max; advances *pp. -EINVAL otherwise. */
static int
number(const char **pp, uint64_t max, uint64_t *vp)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' &&
	    p[1] <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*vp = v;
	return 0;
}

/* 'A' or 'B' from either case: FAT keeps case but matches without it,
 * and systemd-boot lowers ids. */
static char
slot_letter(char c)
{
	if (c == 'A' || c == 'a')
		return 'A';
	if (c == 'B' || c == 'b')
		return 'B';
	return 0;
}

/* "+L[-D]" at *pp, as systemd-boot parses it: the last '+' before the
 * suffix, digits, optionally '-' and digits. */
static int
counter(const char **pp, struct efi_entry *en)
{
	uint64_t v;

	if (**pp != '+')
		return 0;
	(*pp)++;
	if (number(pp, EFI_LEFT_MAX, &v) < 0)
		return -EINVAL;
	en->counted = 1;
	en->left = (int)v;
	en->done = 0;
	if (**pp == '-') {
		(*pp)++;
		if (number(pp, EFI_DONE_MAX, &v) < 0)
			return -EINVAL;
		en->done = (int)v;
	}
	return 0;
}

int
efi_name_parse(const char *name, struct efi_entry *en)
{
	struct efi_entry n;
	const char *p = name;

	memset(&n, 0, sizeof(n));
	if (strncasecmp(p, "upkit-", 6) != 0)
		return -EINVAL;
	p += 6;
	/* Parked: "upkit-X.off". */
	if ((n.slot = slot_letter(p[0])) != 0 && strcasecmp(p + 1, ".off") == 0) {
		*en = n;
		return 0;
	}
	if (number(&p, EFI_RANK_MAX, &n.rank) < 0 || *p++ != '-' ||
	    (n.slot = slot_letter(*p++)) == 0 || counter(&p, &n) < 0 ||
	    strcasecmp(p, ".efi") != 0)
		return -EINVAL;
	n.live = 1;
	*en = n;
	return 0;
}

void
efi_name_format(const struct efi_entry *en, char *out)
{
	char cnt[32] = "";

	if (!en->live) {
		snprintf(out, EFI_NAME_MAX, "upkit-%c.off", en->slot);
		return;
	}
	if (en->counted && en->done != 0)
		snprintf(cnt, sizeof(cnt), "+%d-%d", en->left, en->done);
	else if (en->counted)
		snprintf(cnt, sizeof(cnt), "+%d", en->left);
	snprintf(out, EFI_NAME_MAX, "upkit-%" PRIu64 "-%c%s.efi", en->rank,
	    en->slot, cnt);
}

int
efi_entry_cmp(const struct efi_entry *a, const struct efi_entry *b)
{
	int az = a->counted && a->left == 0, bz = b->counted && b->left == 0;

	/* systemd-boot: "Order entries that have no tries left to the end
	 * of the list". */
	if (az != bz)
		return az - bz;
	/* Then ids in falling version order: the rank is the first part
	 * that differs, compared as a number. */
	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1;
	if (a->slot != b->slot)
		return a->slot > b->slot ? -1 : 1;
	/* The same id twice (a rename cut half way): more tries left
	 * first, then fewer done, as systemd-boot does. */
	if (a->counted && b->counted && a->left != b->left)
		return a->left > b->left ? -1 : 1;
	if (a->counted && b->counted && a->done != b->done)
		return a->done < b->done ? -1 : 1;
	return 0;
}

char
efi_loader_pick(const struct efi_entry *en, size_t n)
{
	const struct efi_entry *best = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (en[i].live && (best == NULL || efi_entry_cmp(&en[i],
		    best) < 0))
			best = &en[i];
	return best != NULL ? best->slot : 0;
}

int
efi_selected_slot(const char *id, char *slotp)
{
	struct efi_entry en;

	if (efi_name_parse(id, &en) < 0 || !en.live)
		return -EINVAL;
	*slotp = en.slot;
	return 0;
}

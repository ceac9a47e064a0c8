/*
 * The names upkit gives the UKIs (every form, garbage refused), the
 * order in which systemd-boot picks among them, and the slot in a
 * LoaderEntrySelected id (slots/boot/efiname.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "slots/boot/efi.h"
#include "tests/check.h"

static void
test_names(void)
{
	static const char *const bad[] = {
		"upkit-A.efi", "upkit-01-A.efi", "upkit-1-C.efi",
		"upkit-1-A+.efi", "upkit-1-A+3-.efi", "upkit-1-A+3-1-2.efi",
		"upkit-1-A+-3.efi", "upkit-1-A+100.efi", "upkit-1-A.efi.new",
		"upkit-1-A+3x.efi", "linuxkit.efi", "upkit-1-AB.efi",
		"upkit--A.efi", "upkit-1-A.off", "upkit-A+3.off", "",
		"upkit-99999999999999999999-A.efi", "upkit-1-A+03.efi",
		"upkit-1-A", "upkit-1-A.efi ", " upkit-1-A.efi", "upkit-+1-A.efi",
	};
	struct efi_entry en;
	char name[EFI_NAME_MAX];
	size_t i;

	CHECK(efi_name_parse("upkit-0-A.efi", &en) == 0);
	CHECK(en.live && en.slot == 'A' && en.rank == 0 && !en.counted);
	CHECK(efi_name_parse("upkit-12-B+3.efi", &en) == 0);
	CHECK(en.live && en.slot == 'B' && en.rank == 12 && en.counted &&
	    en.left == 3 && en.done == 0);
	/* systemd-boot's own renames, and FAT's case folding. */
	CHECK(efi_name_parse("upkit-5-b+2-1.efi", &en) == 0);
	CHECK(en.slot == 'B' && en.left == 2 && en.done == 1);
	CHECK(efi_name_parse("UPKIT-1-A+0-3.EFI", &en) == 0);
	CHECK(en.slot == 'A' && en.counted && en.left == 0 && en.done == 3);
	CHECK(efi_name_parse("upkit-1-A+0-999999999.efi", &en) == 0);
	CHECK(efi_name_parse("upkit-1-A+0-1000000000.efi", &en) == -EINVAL);
	CHECK(efi_name_parse("upkit-A.off", &en) == 0);
	CHECK(!en.live && en.slot == 'A');
	CHECK(efi_name_parse("upkit-b.OFF", &en) == 0);
	CHECK(!en.live && en.slot == 'B');
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (efi_name_parse(bad[i], &en) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			CHECK(0);
		}
	/* Every form written parses back to itself. */
	en = (struct efi_entry){ 'B', 1, 7, 1, 3, 0 };
	efi_name_format(&en, name);
	CHECK(strcmp(name, "upkit-7-B+3.efi") == 0);
	en.done = 2;
	efi_name_format(&en, name);
	CHECK(strcmp(name, "upkit-7-B+3-2.efi") == 0);
	en.counted = 0;
	efi_name_format(&en, name);
	CHECK(strcmp(name, "upkit-7-B.efi") == 0);
	en.live = 0;
	efi_name_format(&en, name);
	CHECK(strcmp(name, "upkit-B.off") == 0);
}

static struct efi_entry
E(const char *name)
{
	struct efi_entry en;

	CHECK(efi_name_parse(name, &en) == 0);
	return en;
}

static void
test_order(void)
{
	struct efi_entry two[2];

	/* The higher rank first, whatever the slot or a counter. */
	CHECK(efi_entry_cmp(&(struct efi_entry){ 0 }, &(struct efi_entry)
	    { 0 }) == 0);
	two[0] = E("upkit-1-A.efi");
	two[1] = E("upkit-2-B+3.efi");
	CHECK(efi_loader_pick(two, 2) == 'B');
	two[1] = E("upkit-2-B+1-2.efi");
	CHECK(efi_loader_pick(two, 2) == 'B');
	/* No tries left: last, so the fallback boots. */
	two[1] = E("upkit-2-B+0-3.efi");
	CHECK(efi_loader_pick(two, 2) == 'A');
	/* Ranks compare as numbers, as systemd's version compare does. */
	two[0] = E("upkit-10-A.efi");
	two[1] = E("upkit-9-B.efi");
	CHECK(efi_loader_pick(two, 2) == 'A');
	/* The same rank: ids in falling order, b before a. */
	two[0] = E("upkit-3-A.efi");
	two[1] = E("upkit-3-B.efi");
	CHECK(efi_loader_pick(two, 2) == 'B');
	/* Both without tries: still the order, and one is booted. */
	two[0] = E("upkit-3-A+0.efi");
	two[1] = E("upkit-2-B+0-3.efi");
	CHECK(efi_loader_pick(two, 2) == 'A');
	/* Parked entries are no entries. */
	two[0] = E("upkit-A.off");
	CHECK(efi_loader_pick(two, 2) == 'B');
	two[1] = E("upkit-B.off");
	CHECK(efi_loader_pick(two, 2) == 0);
	CHECK(efi_loader_pick(two, 0) == 0);
}

static void
test_selected(void)
{
	char s = 0;

	CHECK(efi_selected_slot("upkit-3-b+2-1.efi", &s) == 0 && s == 'B');
	CHECK(efi_selected_slot("upkit-3-b.efi", &s) == 0 && s == 'B');
	CHECK(efi_selected_slot("upkit-0-a.efi", &s) == 0 && s == 'A');
	CHECK(efi_selected_slot("auto-windows", &s) == -EINVAL);
	CHECK(efi_selected_slot("linuxkit.efi", &s) == -EINVAL);
	CHECK(efi_selected_slot("upkit-a.off", &s) == -EINVAL);
}

int
main(void)
{
	test_names();
	test_order();
	test_selected();
	return 0;
}

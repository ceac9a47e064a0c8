/*
 * The UKI slot writer (slots/uki.c) on a folder as the ESP: the bytes
 * land byte for byte under the parked name only at the commit; nothing
 * is touched before the first write; a live entry of the slot, or an
 * aside file and a parked file that may share clusters (a cut rename),
 * are refused with the ESP unchanged; stale leftovers of a cut write are
 * cleared; a file the loader would not list is never made the slot's.
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "slots/slot.h"
#include "tests/harness.h"

static char lnx[1024];
static unsigned char uki[300000];

/* A PE image as a UKI starts (the headers efiosrel.c reads, an .osrel
 * naming an OS), then bytes of seed. */
static void
mkuki(unsigned seed, int osrel)
{
	static const char text[] = "NAME=\"LinuxKit\"\n";
	size_t i;

	srand(seed);
	for (i = 0; i < sizeof(uki); i++)
		uki[i] = (unsigned char)rand();
	memset(uki, 0, 0x400);
	uki[0] = 'M';
	uki[1] = 'Z';
	uki[0x3c] = 0x40;
	memcpy(uki + 0x40, "PE\0\0", 4);
	uki[0x46] = 2;
	memcpy(uki + 0x58, ".text", 5);
	memcpy(uki + 0x80, osrel ? ".osrel" : ".other", 6);
	uki[0x88] = sizeof(text) - 1;
	uki[0x91] = 0x02;
	uki[0x95] = 0x02;
	memcpy(uki + 0x200, text, sizeof(text) - 1);
}

static const char *
in_lnx(const char *name)
{
	static char p[1100];

	snprintf(p, sizeof(p), "%s/%s", lnx, name);
	return p;
}

static int
exists(const char *name)
{
	struct stat st;

	return lstat(in_lnx(name), &st) == 0;
}

/* The names in EFI/Linux, sorted, on one line. */
static const char *
names(void)
{
	return shell("ls -A '%s' | tr '\\n' ' '", lnx);
}

static void
put_lnx(const char *name, const char *text)
{
	write_str(in_lnx(name), text);
}

/* Opens slot B of the ESP for sizeof(uki) bytes, one file. */
static struct slot_writer *
open_b(struct slot *s)
{
	struct slot_file f = { "uki.efi", sizeof(uki), 0644 };
	struct slot_writer *w;
	struct err e;

	memset(s, 0, sizeof(*s));
	s->name = (char *)"uki.1";
	s->class = (char *)"uki";
	s->bootname = 'B';
	s->type = SLOT_UKI;
	s->device = dir;
	err_clear(&e);
	CHECK(slot_writer_open(s, sizeof(uki), &f, 1, &w, &e) == 0);
	return w;
}

/* Writes uki in pieces out of order, reads it back, finishes. */
static int
write_all_of(struct slot_writer *w, struct err *e)
{
	static unsigned char back[sizeof(uki)];
	size_t half = sizeof(uki) / 2;
	int r;

	if ((r = slot_writer_pwrite(w, uki + half, sizeof(uki) - half, half,
	    e)) < 0 || (r = slot_writer_pwrite(w, uki, half, 0, e)) < 0)
		return r;
	CHECK(slot_writer_finish(w, e) == 0);
	CHECK(slot_writer_read(w, back, sizeof(back), 0, e) == 0);
	CHECK(memcmp(back, uki, sizeof(uki)) == 0);
	return 0;
}

static void
test_install(void)
{
	struct slot_writer *w;
	struct slot s;
	struct err e;
	char got[64];

	mkuki(1, 1);
	put_lnx("upkit-1-A.efi", "A's UKI");
	put_lnx("upkit-B.off", "B's old UKI");
	put_lnx(".upkit-B.new", "");		/* a create cut short */
	w = open_b(&s);
	/* Nothing changes before the first write: the agent opens the
	 * writers before it parks the slot. */
	CHECK(strcmp(names(), ".upkit-B.new upkit-1-A.efi upkit-B.off ") == 0);
	err_clear(&e);
	CHECK(slot_writer_read(w, got, 1, 0, &e) == -EINVAL);
	CHECK(write_all_of(w, &e) == 0);
	/* Written aside; the old parked UKI went first. */
	CHECK(strcmp(names(), ".upkit-B.new upkit-1-A.efi ") == 0);
	CHECK(slot_writer_commit(w, &e) == 0);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-B.off ") == 0);
	slot_writer_free(w);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-B.off ") == 0);
	/* Byte for byte as given. */
	{
		static unsigned char b[sizeof(uki) + 1];
		size_t n;

		CHECK(read_upto(in_lnx("upkit-B.off"), b, sizeof(b), &n) == 0);
		CHECK(n == sizeof(uki) && memcmp(b, uki, n) == 0);
	}
	CHECK(strcmp(shell("cat '%s'", in_lnx("upkit-1-A.efi")), "A's UKI")
	    == 0);
}

/* The slot is live (not marked bad): not a byte is written. */
static void
test_live(void)
{
	struct slot_writer *w;
	struct slot s;
	struct err e;

	mkuki(2, 1);
	CHECK(unlink(in_lnx("upkit-B.off")) == 0);
	put_lnx("upkit-2-B+3.efi", "B, live");
	w = open_b(&s);
	err_clear(&e);
	CHECK(slot_writer_pwrite(w, uki, 4096, 0, &e) == -EBUSY);
	CHECK(strstr(e.msg, "upkit-2-B+3.efi is live") != NULL);
	/* Every later write fails the same way, without a retry. */
	CHECK(slot_writer_pwrite(w, uki + 4096, 4096, 4096, &e) == -EBUSY);
	slot_writer_free(w);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B+3.efi ") == 0);
	CHECK(strcmp(shell("cat '%s'", in_lnx("upkit-2-B+3.efi")),
	    "B, live") == 0);
	/* An empty live name is a cut rename's leftover, no entry. */
	CHECK(unlink(in_lnx("upkit-2-B+3.efi")) == 0);
	put_lnx("upkit-2-B+3.efi", "");
	w = open_b(&s);
	CHECK(write_all_of(w, &e) == 0);
	slot_writer_free(w);		/* not committed: aside removed */
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B+3.efi ") == 0);
	CHECK(unlink(in_lnx("upkit-2-B+3.efi")) == 0);
}

/* A rename cut half way: aside and parked may share clusters. */
static void
test_two_names(void)
{
	struct slot_writer *w;
	struct slot s;
	struct err e;

	put_lnx(".upkit-B.new", "the same UKI");
	put_lnx("upkit-B.off", "the same UKI");
	w = open_b(&s);
	err_clear(&e);
	CHECK(slot_writer_pwrite(w, uki, 4096, 0, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "fsck.vfat") != NULL);
	/* Another of the install's threads writes next and may be the one
	 * whose error is reported: it says the same. */
	err_clear(&e);
	CHECK(slot_writer_pwrite(w, uki + 4096, 4096, 4096, &e) ==
	    -EBADMSG);
	CHECK(strstr(e.msg, "fsck.vfat") != NULL);
	slot_writer_free(w);
	CHECK(strcmp(names(), ".upkit-B.new upkit-1-A.efi upkit-B.off ")
	    == 0);
	/* The same cut with the new name still empty: no clusters to
	 * share, so both go. */
	CHECK(unlink(in_lnx("upkit-B.off")) == 0);
	put_lnx("upkit-B.off", "");
	w = open_b(&s);
	CHECK(write_all_of(w, &e) == 0);
	CHECK(!exists("upkit-B.off"));
	CHECK(slot_writer_commit(w, &e) == 0);
	slot_writer_free(w);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-B.off ") == 0);
}

/* A payload the loader would not list is never made the slot's. */
static void
test_not_uki(void)
{
	struct slot_file two[2] = { { "a", 1, 0644 }, { "b", 1, 0644 } };
	struct slot_writer *w;
	struct slot s;
	struct err e;

	mkuki(3, 0);
	w = open_b(&s);
	err_clear(&e);
	CHECK(write_all_of(w, &e) == 0);
	CHECK(slot_writer_commit(w, &e) == -EINVAL);
	CHECK(strstr(e.msg, "not a UKI") != NULL);
	slot_writer_free(w);
	CHECK(strcmp(names(), "upkit-1-A.efi ") == 0);
	/* One file only. */
	s.name = (char *)"uki.1";
	CHECK(slot_writer_open(&s, 2, two, 2, &w, &e) == -EINVAL);
	CHECK(strstr(e.msg, "one file") != NULL);
	/* The ESP must have EFI/Linux. */
	mkuki(4, 1);
	CHECK(shell("mv '%s' '%s.x'", lnx, lnx) != NULL);
	{
		struct slot_file f = { "uki.efi", sizeof(uki), 0644 };

		CHECK(slot_writer_open(&s, sizeof(uki), &f, 1, &w, &e) ==
		    -ENOENT);
		CHECK(strstr(e.msg, "EFI/Linux") != NULL);
	}
	CHECK(shell("mv '%s.x' '%s'", lnx, lnx) != NULL);
}

int
main(void)
{
	tmpdir_make("uki_test");
	snprintf(lnx, sizeof(lnx), "%s/EFI/Linux", dir);
	CHECK(shell("mkdir -p '%s'", lnx) != NULL);
	test_install();
	test_live();
	test_two_names();
	test_not_uki();
	tmpdir_remove();
	return 0;
}

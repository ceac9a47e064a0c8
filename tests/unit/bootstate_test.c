/* Boot selection transitions and the parsing of the env variables. */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"
#include "tests/check.h"

static void
set(struct bootstate *st, const char *order, int a, int b)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->order, order);
	st->left[0] = a;
	st->left[1] = b;
}

static int
is(const struct bootstate *st, const char *order, int a, int b)
{
	return strcmp(st->order, order) == 0 && st->left[0] == a &&
	    st->left[1] == b;
}

static void
test_transitions(void)
{
	struct bootstate st = { 0 };

	bootstate_default(&st, 3);
	CHECK(is(&st, "AB", 3, 3));

	/* The usual update of B from A: bad, armed, good. */
	bootstate_mark_bad(&st, 'B');
	CHECK(is(&st, "A", 3, 0));
	bootstate_arm(&st, 'B', 3);
	CHECK(is(&st, "BA", 3, 3));
	bootstate_mark_good(&st, 'B', 3);
	CHECK(is(&st, "BA", 3, 3));
	/* A failed health check on B falls back to A alone. */
	bootstate_mark_bad(&st, 'B');
	CHECK(is(&st, "A", 3, 0));

	/* Marking bad is idempotent and leaves the other counter alone. */
	set(&st, "BA", 1, 2);
	bootstate_mark_bad(&st, 'A');
	CHECK(is(&st, "B", 0, 2));
	bootstate_mark_bad(&st, 'A');
	CHECK(is(&st, "B", 0, 2));
	bootstate_mark_bad(&st, 'B');
	CHECK(is(&st, "", 0, 0));

	/* Arming into an empty order, then the other one before it. */
	bootstate_arm(&st, 'A', 5);
	CHECK(is(&st, "A", 5, 0));
	bootstate_arm(&st, 'B', 3);
	CHECK(is(&st, "BA", 5, 3));
	/* Arming the first one again keeps the other after it. */
	bootstate_arm(&st, 'B', 1);
	CHECK(is(&st, "BA", 5, 1));
	bootstate_arm(&st, 'A', 2);
	CHECK(is(&st, "AB", 2, 1));
	bootstate_mark_good(&st, 'B', 3);
	CHECK(is(&st, "BA", 2, 3));
}

static void
test_format(void)
{
	struct bootstate st = { 0 };
	char out[2 * BOOTENV_SLOTS];

	set(&st, "BA", 0, 0);
	bootstate_order_format(&st, out);
	CHECK(strcmp(out, "B A") == 0);
	set(&st, "A", 0, 0);
	bootstate_order_format(&st, out);
	CHECK(strcmp(out, "A") == 0);
	set(&st, "", 0, 0);
	bootstate_order_format(&st, out);
	CHECK(strcmp(out, "") == 0);
}

static void
parse_ok(const char *s, const char *want)
{
	struct bootstate st = { 0 };
	struct err e;

	set(&st, "AB", 7, 8);
	CHECK_OK(bootstate_order_parse(s, &st, &e), &e);
	CHECK(is(&st, want, 7, 8));
}

static void
parse_bad(const char *s, const char *inmsg)
{
	struct bootstate st = { 0 };
	struct err e;

	set(&st, "BA", 1, 2);
	err_clear(&e);
	CHECK(bootstate_order_parse(s, &st, &e) == -EBADMSG);
	CHECK(e.code == -EBADMSG);
	CHECK(strstr(e.msg, "BOOT_ORDER") != NULL);
	CHECK(strstr(e.msg, inmsg) != NULL);
	/* A refused value leaves the state alone. */
	CHECK(is(&st, "BA", 1, 2));
}

static void
test_order_parse(void)
{
	parse_ok("A B", "AB");
	parse_ok("B A", "BA");
	parse_ok("  B   A ", "BA");
	parse_ok("BA", "BA");
	parse_ok("A", "A");
	parse_ok(" B", "B");
	parse_ok("", "");
	parse_ok("   ", "");
	parse_bad("A C", "'C'");
	parse_bad("a b", "'a'");
	parse_bad("A\tB", "A\tB");
	parse_bad("A B A", "twice");
	parse_bad("B B", "twice");
	parse_bad("A,B", "','");
	parse_bad("rootfs.0", "rootfs.0");
}

static void
left_ok(const char *s, int want)
{
	struct err e;
	int left = -1;

	CHECK_OK(bootstate_left_parse("BOOT_A_LEFT", s, &left, &e), &e);
	CHECK(left == want);
}

static void
left_bad(const char *s)
{
	struct err e;
	int left = 42;

	err_clear(&e);
	CHECK(bootstate_left_parse("BOOT_B_LEFT", s, &left, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "BOOT_B_LEFT") != NULL);
	CHECK(left == 42);
}

static void
test_left_parse(void)
{
	left_ok("0", 0);
	left_ok("3", 3);
	left_ok("10", 10);
	left_ok("99", 99);
	left_ok("07", 7);
	left_bad("");
	left_bad("100");
	left_bad("-1");
	left_bad("+3");
	left_bad(" 3");
	left_bad("3 ");
	left_bad("0x3");
	left_bad("a");
	left_bad("1a");
}

/* The selection of boards/qemu-aarch64/boot.cmd and the grub.cfg
 * scripts: first in BOOT_ORDER with a counter 1..9, else the first
 * slot in BOOT_ORDER, else A. */
static void
next_is(const char *order, int a, int b, char want, int wantleft)
{
	struct bootstate st;
	int left = -1;

	set(&st, order, a, b);
	CHECK(bootstate_next(&st, &left) == want);
	CHECK(left == wantleft);
}

static void
test_next(void)
{
	next_is("AB", 3, 3, 'A', 3);
	next_is("BA", 3, 3, 'B', 3);
	next_is("BA", 3, 1, 'B', 1);
	/* A trial that used up its attempts: the fallback slot. */
	next_is("BA", 3, 0, 'A', 3);
	/* The target of an install is out of the order. */
	next_is("A", 3, 0, 'A', 3);
	next_is("A", 3, 3, 'A', 3);
	/* The boot scripts count down from 9 at most. */
	next_is("BA", 2, 10, 'A', 2);
	next_is("AB", 99, 9, 'B', 9);
	/* No attempts anywhere: the first slot in the order, not counted. */
	next_is("BA", 0, 0, 'B', 0);
	next_is("B", 0, 0, 'B', 0);
	next_is("AB", 0, 0, 'A', 0);
	/* Empty or missing BOOT_ORDER: A, whatever the counters say. */
	next_is("", 3, 3, 'A', 0);
	next_is("", 0, 5, 'A', 0);
}

static void
test_find(void)
{
	const struct bootenv_ops *ops;

	CHECK((ops = bootenv_find("uboot")) != NULL);
	CHECK(strcmp(ops->name, "uboot") == 0);
	CHECK(bootenv_find("grub2") == NULL);
	CHECK(bootenv_find("") == NULL);
}

int
main(void)
{
	test_transitions();
	test_format();
	test_order_parse();
	test_left_parse();
	test_next();
	test_find();
	return 0;
}

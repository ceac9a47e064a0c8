/*
 * The GRUB backend on real grubenv files, cross-checked with grub-editenv
 * from grub-common: what it writes upkit reads, what upkit writes it
 * lists, byte for byte where the layout is the same. Torn writes are
 * built from the blocks of two real commits.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"
#include "tests/harness.h"

#define BLK	1024

static char env[256], bak[256];
static const struct bootenv_ops *ops;

static size_t
read_file(const char *p, unsigned char *buf, size_t max)
{
	size_t n;
	FILE *f;

	CHECK((f = fopen(p, "r")) != NULL);
	n = fread(buf, 1, max, f);
	CHECK(fclose(f) == 0);
	return n;
}

/* Overwrites p in place (no O_TRUNC unless asked), as a disk would. */
static void
overwrite(const char *p, const void *buf, size_t len, int trunc)
{
	int fd;

	CHECK((fd = open(p, O_WRONLY | (trunc ? O_TRUNC : 0))) != -1);
	CHECK(pwrite(fd, buf, len, 0) == (ssize_t)len);
	CHECK(close(fd) == 0);
}

static ino_t
inode(const char *p)
{
	struct stat sb;

	CHECK(stat(p, &sb) == 0);
	CHECK(sb.st_size == BLK);
	return sb.st_ino;
}

static void
fresh_env(void)
{
	unlink(bak);
	unlink(env);
	CHECK(shell("grub-editenv %s create", env) != NULL);
}

static struct bootenv *
env_open(void)
{
	struct bootenv *b;
	struct err e;

	CHECK_OK(ops->open(env, &b, &e), &e);
	return b;
}

static void
check_state(const struct bootstate *st, const char *order, int a, int b)
{
	CHECK(strcmp(st->order, order) == 0);
	CHECK(st->left[0] == a);
	CHECK(st->left[1] == b);
}

/* The value of name through the backend; "" for unset. */
static const char *
get(struct bootenv *b, const char *name)
{
	static char buf[2048];
	struct err e;
	char *v;

	CHECK_OK(ops->get(b, name, &v, &e), &e);
	snprintf(buf, sizeof(buf), "%s", v == NULL ? "" : v);
	free(v);
	return buf;
}

static void
commit(struct bootenv *b, const char *order, int a, int bl)
{
	struct bootstate st = { 0 };
	struct err e;

	snprintf(st.order, sizeof(st.order), "%s", order);
	st.left[0] = a;
	st.left[1] = bl;
	CHECK_OK(ops->commit(b, &st, &e), &e);
}

static void
test_editenv_roundtrip(void)
{
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	const char *l;
	unsigned char got[BLK], want[BLK];
	char ref[300];
	ino_t ino;

	fresh_env();
	CHECK(shell("grub-editenv %s set saved_entry=linux 'BOOT_ORDER=A B' "
	    "BOOT_A_LEFT=3 BOOT_B_LEFT=2", env) != NULL);
	ino = inode(env);
	b = env_open();
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "AB", 3, 2);
	CHECK(strcmp(get(b, "saved_entry"), "linux") == 0);
	CHECK(strcmp(get(b, "nothere"), "") == 0);
	CHECK(strcmp(get(b, "upkit.repair"), "") == 0);

	commit(b, "BA", 3, 3);
	CHECK((l = shell("grub-editenv %s list", env)) != NULL);
	CHECK(strstr(l, "BOOT_ORDER=B A\n") != NULL);
	CHECK(strstr(l, "BOOT_A_LEFT=3\n") != NULL);
	CHECK(strstr(l, "BOOT_B_LEFT=3\n") != NULL);
	CHECK(strstr(l, "saved_entry=linux\n") != NULL);
	/* In place: same file, same size. */
	CHECK(inode(env) == ino);
	CHECK(access(bak, F_OK) == 0);

	/*
	 * grub-editenv setting the same variables in upkit's order gives
	 * the same bytes: header, its warning, then the selection first.
	 */
	snprintf(ref, sizeof(ref), "%s.ref", env);
	unlink(ref);
	CHECK(shell("grub-editenv %s create && grub-editenv %s set "
	    "'BOOT_ORDER=B A' BOOT_A_LEFT=3 BOOT_B_LEFT=3 saved_entry=linux "
	    "UPKIT_TRIAL= UPKIT_TRIAL_FLOOR= UPKIT_FLOOR=0", ref, ref) !=
	    NULL);
	CHECK(read_file(env, got, sizeof(got)) == BLK);
	CHECK(read_file(ref, want, sizeof(want)) == BLK);
	CHECK(memcmp(got, want, BLK) == 0);
	unlink(ref);

	/* GRUB's save_env at boot changes a counter: that is no tear. */
	CHECK(shell("grub-editenv %s set BOOT_B_LEFT=2", env) != NULL);
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "BA", 3, 2);
	CHECK(strcmp(get(b, "upkit.repair"), "") == 0);
	/* A commit starts from the disk and keeps what GRUB saved. */
	CHECK(shell("grub-editenv %s set saved_entry=other", env) != NULL);
	commit(b, "B", 0, 2);
	CHECK((l = shell("grub-editenv %s list", env)) != NULL);
	CHECK(strstr(l, "saved_entry=other\n") != NULL);
	CHECK(strstr(l, "BOOT_ORDER=B\n") != NULL);
	CHECK(strstr(l, "BOOT_A_LEFT=0\n") != NULL);
	CHECK(inode(env) == ino);
	ops->close(b);
}

static void
test_no_order(void)
{
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	const char *l;

	fresh_env();
	b = env_open();
	CHECK(ops->load(b, &st, &e) == -ENOENT);
	CHECK(strstr(e.msg, env) != NULL);
	bootstate_default(&st, 3);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	CHECK((l = shell("grub-editenv %s list", env)) != NULL);
	CHECK(strstr(l, "BOOT_ORDER=A B\n") != NULL);
	ops->close(b);

	/* A missing LEFT counts as 0; a bad one names the variable. */
	fresh_env();
	CHECK(shell("grub-editenv %s set BOOT_ORDER=B BOOT_A_LEFT=x", env) !=
	    NULL);
	b = env_open();
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "BOOT_A_LEFT") != NULL);
	CHECK(shell("grub-editenv %s unset BOOT_A_LEFT", env) != NULL);
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "B", 0, 0);
	CHECK(shell("grub-editenv %s set BOOT_ORDER=C", env) != NULL);
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, env) != NULL);
	/* Out-of-range counters never reach the file. */
	st.left[0] = 100;
	CHECK(ops->commit(b, &st, &e) == -EINVAL);
	ops->close(b);

	/* GRUB cannot create a grubenv, so upkit does not either. */
	unlink(env);
	CHECK(ops->open(env, &b, &e) == -ENOENT);
	CHECK(strstr(e.msg, env) != NULL);
	CHECK(access(env, F_OK) == -1);
}

static void
test_escapes(void)
{
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	const char *l;

	fresh_env();
	CHECK(shell("grub-editenv %s set 'X=a\\b\nc\\' 'Y=\\\\n' "
	    "'BOOT_ORDER=A'", env) != NULL);
	b = env_open();
	CHECK_OK(ops->load(b, &st, &e), &e);
	CHECK(strcmp(get(b, "X"), "a\\b\nc\\") == 0);
	CHECK(strcmp(get(b, "Y"), "\\\\n") == 0);
	commit(b, "AB", 3, 3);
	/* list prints values unescaped: what went in comes out. */
	CHECK((l = shell("grub-editenv %s list", env)) != NULL);
	CHECK(strstr(l, "\nX=a\\b\nc\\\n") != NULL);
	CHECK(strstr(l, "\nY=\\\\n\n") != NULL);
	ops->close(b);
	b = env_open();
	CHECK(strcmp(get(b, "X"), "a\\b\nc\\") == 0);
	ops->close(b);
}

/*
 * Two commits with a variable long enough that the block spans both
 * sectors and a shorter BOOT_ORDER shifts it: old holds the first
 * commit's block, new the second's.
 */
static void
two_commits(unsigned char *old, unsigned char *new, int big)
{
	struct bootenv *b;
	char cmd[1024];

	fresh_env();
	if (big) {
		memset(cmd, 'v', 520);
		cmd[520] = '\0';
		CHECK(shell("grub-editenv %s set LONG=%s", env, cmd) != NULL);
	}
	b = env_open();
	commit(b, "AB", 3, 3);
	CHECK(read_file(env, old, BLK) == BLK);
	commit(b, "B", 0, 3);
	CHECK(read_file(env, new, BLK) == BLK);
	ops->close(b);
	CHECK(memcmp(old, new, BLK) != 0);
}

/* Loads after env was damaged: must come back with the new state, the
 * new block, a message with what in it, and an env grub-editenv reads. */
static void
check_repaired(const unsigned char *new, const char *what)
{
	unsigned char got[BLK];
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	const char *l;

	b = env_open();
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "B", 0, 3);
	l = get(b, "upkit.repair");
	CHECK(strstr(l, what) != NULL);
	CHECK(strstr(l, env) != NULL);
	CHECK(strstr(l, bak) != NULL);
	CHECK(read_file(env, got, BLK + 1) == BLK);
	CHECK(memcmp(got, new, BLK) == 0);
	CHECK((l = shell("grub-editenv %s list", env)) != NULL);
	CHECK(strstr(l, "BOOT_ORDER=B\n") != NULL);
	/* Repaired once: the next load finds nothing to say. */
	CHECK_OK(ops->load(b, &st, &e), &e);
	CHECK(strcmp(get(b, "upkit.repair"), "") == 0);
	ops->close(b);
}

static void
test_torn(void)
{
	unsigned char old[BLK], new[BLK], torn[BLK];
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	ino_t ino;
	size_t i;

	two_commits(old, new, 1);
	ino = inode(env);

	/* First sector new, second old. */
	memcpy(torn, new, 512);
	memcpy(torn + 512, old + 512, 512);
	overwrite(env, torn, BLK, 0);
	check_repaired(new, "first sector new, second old");
	CHECK(inode(env) == ino);

	/* First sector old, second new. */
	memcpy(torn, old, 512);
	memcpy(torn + 512, new + 512, 512);
	overwrite(env, torn, BLK, 0);
	check_repaired(new, "first sector old, second new");

	/* Garbage, as GRUB would call "invalid environment block". */
	srand(7);
	for (i = 0; i < BLK; i++)
		torn[i] = (unsigned char)rand();
	overwrite(env, torn, BLK, 0);
	CHECK(shell("grub-editenv %s list 2>/dev/null", env) == NULL);
	check_repaired(new, "invalid block");

	/* Truncated, and oversized. */
	overwrite(env, new, 300, 1);
	check_repaired(new, "size 300");
	overwrite(env, torn, BLK, 0);
	overwrite(env, new, BLK, 0);
	{
		int fd;

		CHECK((fd = open(env, O_WRONLY | O_APPEND)) != -1);
		CHECK(write(fd, "#", 1) == 1);
		CHECK(close(fd) == 0);
	}
	check_repaired(new, "larger than 1024");
	CHECK(inode(env) == ino);

	/*
	 * A write that never reached the disk leaves the old block: the
	 * commit did not return, and the old state is a valid outcome.
	 */
	overwrite(env, old, BLK, 0);
	b = env_open();
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "AB", 3, 3);
	CHECK(strcmp(get(b, "upkit.repair"), "") == 0);
	ops->close(b);
}

/* With the whole env in the first sector a tear gives old or new
 * exactly: both load as they are, no repair. */
static void
test_torn_small(void)
{
	unsigned char old[BLK], new[BLK], torn[BLK];
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;

	two_commits(old, new, 0);
	memcpy(torn, new, 512);
	memcpy(torn + 512, old + 512, 512);
	CHECK(memcmp(torn, new, BLK) == 0);
	memcpy(torn, old, 512);
	memcpy(torn + 512, new + 512, 512);
	overwrite(env, torn, BLK, 0);
	b = env_open();
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "AB", 3, 3);
	CHECK(strcmp(get(b, "upkit.repair"), "") == 0);
	ops->close(b);
}

static void
test_no_backup(void)
{
	unsigned char old[BLK], new[BLK], blk[BLK];
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	const char *l;

	two_commits(old, new, 1);
	memset(blk, 'x', sizeof(blk));
	overwrite(env, blk, BLK, 0);

	/* A damaged backup is no backup. */
	{
		unsigned char k[4096];
		size_t n;

		n = read_file(bak, k, sizeof(k));
		CHECK(n > 2 * BLK);
		k[100] ^= 1;
		overwrite(bak, k, n, 0);
	}
	b = env_open();
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, env) != NULL);
	CHECK(strstr(e.msg, "damaged") != NULL);
	ops->close(b);

	unlink(bak);
	b = env_open();
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, env) != NULL);
	CHECK(strstr(e.msg, "no backup") != NULL);
	/* Nothing was written by a failed load. */
	CHECK(read_file(env, old, BLK) == BLK);
	CHECK(memcmp(old, blk, BLK) == 0);
	/* A commit writes a valid block again, as GRUB needs. */
	commit(b, "A", 3, 0);
	CHECK((l = shell("grub-editenv %s list", env)) != NULL);
	CHECK(strcmp(l, "BOOT_ORDER=A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n"
	    "UPKIT_TRIAL=\nUPKIT_TRIAL_FLOOR=\nUPKIT_FLOOR=0\n") == 0);
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "A", 3, 0);
	ops->close(b);
}

static void
test_nospace(void)
{
	unsigned char before[BLK], after[BLK], kb[4096], ka[4096];
	struct bootstate st = { 0 };
	struct bootenv *b;
	struct err e;
	char val[1024];
	size_t nb, pad;

	fresh_env();
	/* grub-editenv's block holds it; with the selection it won't fit. */
	memset(val, 'v', 830);
	val[830] = '\0';
	CHECK(shell("grub-editenv %s set BIG=%s", env, val) != NULL);
	b = env_open();
	commit(b, "A", 1, 0);
	/* Grow BIG until one '#' of padding is left: "A B" needs two more. */
	CHECK(read_file(env, before, BLK) == BLK);
	for (pad = 0; before[BLK - 1 - pad] == '#'; pad++)
		;
	CHECK(pad > 1 && pad < 100);
	memset(val + 830, 'v', pad - 1);
	val[830 + pad - 1] = '\0';
	CHECK(shell("grub-editenv %s set BIG=%s", env, val) != NULL);
	CHECK(read_file(env, before, BLK) == BLK);
	CHECK(before[BLK - 1] == '#' && before[BLK - 2] == '\n');
	nb = read_file(bak, kb, sizeof(kb));
	bootstate_default(&st, 3);
	CHECK(ops->commit(b, &st, &e) == -ENOSPC);
	CHECK(strstr(e.msg, env) != NULL);
	CHECK(read_file(env, after, BLK) == BLK);
	CHECK(memcmp(before, after, BLK) == 0);
	CHECK(read_file(bak, ka, sizeof(ka)) == nb);
	CHECK(memcmp(ka, kb, nb) == 0);
	/* The refused state is not half applied. */
	CHECK_OK(ops->load(b, &st, &e), &e);
	check_state(&st, "A", 1, 0);
	ops->close(b);
}

/* A symlink planted at the backup's temp name is replaced, not followed:
 * the file it points to keeps its bytes. */
static void
test_planted_tmp(void)
{
	char tmpname[300], victim[300];
	unsigned char got[16];
	struct bootenv *b;

	fresh_env();
	snprintf(tmpname, sizeof(tmpname), "%s.tmp", bak);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	CHECK(shell("printf precious >%s", victim) != NULL);
	unlink(tmpname);
	CHECK(symlink(victim, tmpname) == 0);
	b = env_open();
	commit(b, "AB", 3, 3);
	ops->close(b);
	CHECK(read_file(victim, got, sizeof(got)) == 8);
	CHECK(memcmp(got, "precious", 8) == 0);
	CHECK(access(bak, F_OK) == 0);
	unlink(victim);
}

int
main(void)
{
	if (system("grub-editenv --version >/dev/null 2>&1") != 0)
		SKIP("grub-editenv (grub-common) not installed");
	CHECK((ops = bootenv_find("grub")) != NULL);
	CHECK(strcmp(ops->name, "grub") == 0);
	tmpdir_make("grub_test");
	snprintf(env, sizeof(env), "%s/grubenv", dir);
	snprintf(bak, sizeof(bak), "%s/grubenv.upkit", dir);

	test_editenv_roundtrip();
	test_no_order();
	test_escapes();
	test_torn();
	test_torn_small();
	test_no_backup();
	test_nospace();
	test_planted_tmp();

	tmpdir_remove();
	return 0;
}

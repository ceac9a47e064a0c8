/*
 * The U-Boot backend on real libubootenv env files, cross-checked with
 * fw_printenv and fw_setenv from libubootenv-tool.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"
#include "tests/harness.h"

#define ENV_SIZE	0x4000

static const struct bootenv_ops *ops;

/* An env file of ENV_SIZE bytes, all fill (or random if fill < 0). */
static void
make_env(const char *p, int fill)
{
	unsigned char buf[ENV_SIZE];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(fill < 0 ? rand() : fill);
	write_file(p, buf, sizeof(buf));
}

/* A fw_env.config with one line per env file. */
static void
make_config(const char *cfg, const char *env1, const char *env2)
{
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf), "# test\n%s 0x0 0x%x\n", env1,
	    ENV_SIZE);
	if (env2 != NULL)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		    "%s 0x0 0x%x\n", env2, ENV_SIZE);
	write_file(cfg, buf, (size_t)n);
}

/* fw_printenv's view of the env must hold exactly these lines. */
static void
printenv_has(const char *cfg, const char *const *lines)
{
	const char *got;
	char all[8200], want[256];

	CHECK((got = shell("fw_printenv -c '%s'", cfg)) != NULL);
	/* Whole lines only: "\nNAME=value\n" in "\n" + output. */
	snprintf(all, sizeof(all), "\n%s", got);
	for (; *lines != NULL; lines++) {
		snprintf(want, sizeof(want), "\n%s\n", *lines);
		if (strstr(all, want) == NULL) {
			fprintf(stderr, "fw_printenv lacks \"%s\":\n%s",
			    *lines, got);
			exit(1);
		}
	}
}

/* Whether an env file holds the variable assignment s. */
static int
copy_has(const char *p, const char *s)
{
	unsigned char buf[ENV_SIZE];
	size_t len = strlen(s) + 1;	/* entries end with a NUL */
	FILE *f;
	size_t i;

	CHECK((f = fopen(p, "r")) != NULL);
	CHECK(fread(buf, 1, sizeof(buf), f) == sizeof(buf));
	fclose(f);
	/* Skip the CRC and the flag byte of a redundant copy. */
	for (i = 5; i + len <= sizeof(buf); i++)
		if ((i == 5 || buf[i - 1] == '\0') &&
		    memcmp(buf + i, s, len) == 0)
			return 1;
	return 0;
}

static void
state_is(struct bootenv *b, const char *order, int a, int bb)
{
	struct bootstate st = { 0 };
	struct err e;

	CHECK_OK(ops->load(b, &st, &e), &e);
	CHECK(strcmp(st.order, order) == 0);
	CHECK(st.left[0] == a);
	CHECK(st.left[1] == bb);
}

/* A blank env (zeros, or garbage with a bad CRC) loads as -ENOENT and
 * takes a commit that fw_printenv can read. */
static void
test_blank(const char *cfg, const char *env, int fill)
{
	static const char *const want[] = {
		"BOOT_ORDER=B A", "BOOT_A_LEFT=3", "BOOT_B_LEFT=1", NULL
	};
	struct bootenv *b;
	struct bootstate st = { 0 };
	struct err e;
	char *v;

	make_env(env, fill);
	make_config(cfg, env, NULL);
	CHECK(shell("fw_printenv -c '%s' BOOT_ORDER 2>/dev/null", cfg) ==
	    NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	err_clear(&e);
	CHECK(ops->load(b, &st, &e) == -ENOENT);
	CHECK(strstr(e.msg, cfg) != NULL);
	CHECK(strstr(e.msg, "BOOT_ORDER") != NULL);
	CHECK_OK(ops->get(b, "BOOT_ORDER", &v, &e), &e);
	CHECK(v == NULL);

	bootstate_default(&st, 3);
	bootstate_arm(&st, 'B', 1);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	state_is(b, "BA", 3, 1);
	ops->close(b);
	printenv_has(cfg, want);

	CHECK_OK(ops->open(cfg, &b, &e), &e);
	state_is(b, "BA", 3, 1);
	ops->close(b);
}

static void
test_single(const char *cfg)
{
	static const char *const want[] = {
		"BOOT_ORDER=A", "BOOT_A_LEFT=2", "BOOT_B_LEFT=0",
		"bootcmd=run upkit", "upkit_serial=1234", NULL
	};
	struct bootenv *b;
	struct bootstate st = { 0 };
	struct err e;
	char *v;

	/* Variables set by others are seen, and survive a commit. */
	CHECK(shell("fw_setenv -c '%s' upkit_serial 1234", cfg) != NULL);
	CHECK(shell("fw_setenv -c '%s' bootcmd 'run upkit'", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->get(b, "upkit_serial", &v, &e), &e);
	CHECK(v != NULL && strcmp(v, "1234") == 0);
	free(v);
	state_is(b, "BA", 3, 1);
	CHECK_OK(ops->load(b, &st, &e), &e);
	bootstate_mark_bad(&st, 'B');
	st.left[0] = 2;
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	printenv_has(cfg, want);

	/* What the boot script does: decrement, as fw_setenv would. */
	CHECK(shell("fw_setenv -c '%s' BOOT_A_LEFT 1", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	state_is(b, "A", 1, 0);
	ops->close(b);

	/* A missing LEFT counts as 0; a bad value names the variable. */
	CHECK(shell("fw_setenv -c '%s' BOOT_A_LEFT", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	state_is(b, "A", 0, 0);
	ops->close(b);
	CHECK(shell("fw_setenv -c '%s' BOOT_B_LEFT 1x", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	err_clear(&e);
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "BOOT_B_LEFT") != NULL);
	CHECK(strstr(e.msg, cfg) != NULL);
	ops->close(b);
	CHECK(shell("fw_setenv -c '%s' BOOT_ORDER 'A C'", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	err_clear(&e);
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "BOOT_ORDER") != NULL);

	/* A refused state writes nothing. */
	bootstate_default(&st, 3);
	st.left[1] = 100;
	CHECK(ops->commit(b, &st, &e) == -EINVAL);
	CHECK(strstr(e.msg, "BOOT_B_LEFT") != NULL);
	ops->close(b);
	CHECK((v = (char *)shell("fw_printenv -c '%s' -n BOOT_ORDER", cfg)) !=
	    NULL);
	CHECK(strcmp(v, "A C\n") == 0);
}

static void
test_redundant(const char *cfg, const char *env1, const char *env2)
{
	static const char *const want1[] = {
		"BOOT_ORDER=A B", "BOOT_A_LEFT=3", "BOOT_B_LEFT=3", NULL
	};
	static const char *const want2[] = {
		"BOOT_ORDER=B A", "BOOT_A_LEFT=3", "BOOT_B_LEFT=3",
		"keep=me", NULL
	};
	struct bootenv *b;
	struct bootstate st = { 0 };
	struct err e;

	make_env(env1, 0);
	make_env(env2, 0xff);
	make_config(cfg, env1, env2);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK(ops->load(b, &st, &e) == -ENOENT);
	bootstate_default(&st, 3);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	printenv_has(cfg, want1);

	CHECK(shell("fw_setenv -c '%s' keep me", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	state_is(b, "AB", 3, 3);
	bootstate_mark_bad(&st, 'B');
	CHECK_OK(ops->commit(b, &st, &e), &e);
	bootstate_arm(&st, 'B', 3);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	printenv_has(cfg, want2);

	/* Each store went to the other copy: the older one still holds
	 * the previous state, which is what a power cut during the last
	 * store would fall back to. */
	CHECK(copy_has(env1, "BOOT_ORDER=A") !=
	    copy_has(env2, "BOOT_ORDER=A"));
	CHECK(copy_has(env1, "BOOT_ORDER=B A") !=
	    copy_has(env2, "BOOT_ORDER=B A"));
	CHECK(copy_has(env1, "BOOT_ORDER=A") ==
	    copy_has(env2, "BOOT_ORDER=B A"));
}

/*
 * "upkit.warning": one env copy whose variables pass the first 512-byte
 * sector can be torn by a power cut during a store (docs/powercut.md,
 * "singlebig"); two copies cannot. Said after a load and after a commit.
 */
static void
test_warning(const char *cfg, const char *env1, const char *env2)
{
	char long_value[601], *v;
	struct bootenv *b;
	struct bootstate st = { 0 };
	struct err e;

	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	make_env(env1, 0);
	make_config(cfg, env1, NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	bootstate_default(&st, 3);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	CHECK_OK(ops->get(b, "upkit.warning", &v, &e), &e);
	CHECK(v == NULL);
	ops->close(b);

	CHECK(shell("fw_setenv -c '%s' long %s", cfg, long_value) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->get(b, "upkit.warning", &v, &e), &e);
	CHECK(v != NULL && strstr(v, cfg) != NULL &&
	    strstr(v, "one copy") != NULL);
	free(v);
	ops->close(b);

	/* Gone with the long variable, as the next read shows. */
	CHECK(shell("fw_setenv -c '%s' long", cfg) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->get(b, "upkit.warning", &v, &e), &e);
	CHECK(v == NULL);
	ops->close(b);

	/* Two copies: each store leaves a whole copy, whatever the size. */
	make_env(env1, 0);
	make_env(env2, 0);
	make_config(cfg, env1, env2);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	CHECK(shell("fw_setenv -c '%s' long %s", cfg, long_value) != NULL);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->get(b, "upkit.warning", &v, &e), &e);
	CHECK(v == NULL);
	ops->close(b);
}

/* The env file's bytes. */
static void
read_env(const char *p, unsigned char *buf)
{
	FILE *f;

	CHECK((f = fopen(p, "r")) != NULL);
	CHECK(fread(buf, 1, ENV_SIZE, f) == ENV_SIZE);
	fclose(f);
}

/*
 * One copy, as U-Boot's env export leaves it (zeros after the list): a
 * commit writes zeros after its variables, so it changes only the
 * sectors that hold them, whatever the heap held. libubootenv 0.3.2's
 * own store writes its fresh malloc()'s bytes there (made 0x55 here by
 * glibc's M_PERTURB, 0xbe by ASan), which the boot script's next save,
 * zeros again, would rewrite in every sector (docs/powercut.md). A
 * ".flags" entry is carried after the rest, as libubootenv writes it.
 */
static void
test_tail(const char *cfg, const char *env)
{
	static const char *const want[] = {
		"BOOT_ORDER=B", "BOOT_A_LEFT=0", "BOOT_B_LEFT=3", "keep=me",
		NULL
	};
	unsigned char before[ENV_SIZE], after[ENV_SIZE];
	struct bootenv *b;
	struct bootstate st = { 0 };
	struct err e;
	size_t i, end;

	CHECK(shell("printf 'BOOT_A_LEFT=3\\nBOOT_B_LEFT=3\\nBOOT_ORDER=B A"
	    "\\n.flags=keep:da\\nkeep=me\\n' | mkenvimage -s 0x%x -p 0 "
	    "-o '%s' -", ENV_SIZE, env) != NULL);
	make_config(cfg, env, NULL);
	read_env(env, before);
	/* Under ASan, whose malloc() ignores this, it fills with 0xbe. */
	(void)mallopt(M_PERTURB, 0xaa);
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->load(b, &st, &e), &e);
	bootstate_mark_bad(&st, 'A');
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	(void)mallopt(M_PERTURB, 0);
	read_env(env, after);
	/* The list ends with two NULs; every byte after it is zero, and
	 * past the first sector nothing changed. */
	for (end = 4; end + 1 < ENV_SIZE && (after[end] != '\0' ||
	    after[end + 1] != '\0'); end++)
		;
	CHECK(end < 512);
	for (i = end; i < ENV_SIZE; i++)
		CHECK(after[i] == 0);
	CHECK(memcmp(before + 512, after + 512, ENV_SIZE - 512) == 0);
	CHECK(memcmp(before, after, 512) != 0);
	printenv_has(cfg, want);
	CHECK(copy_has(env, ".flags=keep:da"));

	/* A commit that changes nothing writes nothing. */
	CHECK_OK(ops->open(cfg, &b, &e), &e);
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	read_env(env, before);
	CHECK(memcmp(before, after, ENV_SIZE) == 0);
}

static void
test_errors(const char *cfg)
{
	struct bootenv *b;
	struct err e;

	/* The config names an env file that does not exist. */
	make_config(cfg, "/nonexistent/upkit-env", NULL);
	err_clear(&e);
	CHECK(ops->open(cfg, &b, &e) < 0);
	CHECK(b == NULL);
	CHECK(strstr(e.msg, cfg) != NULL);
	CHECK(ops->open("/nonexistent/fw_env.config", &b, &e) < 0);
	CHECK(strstr(e.msg, "/nonexistent/fw_env.config") != NULL);
	ops->close(NULL);
}

int
main(void)
{
	char cfg[600], env1[600], env2[600];

	if (system("command -v fw_printenv >/dev/null 2>&1") != 0 ||
	    system("command -v fw_setenv >/dev/null 2>&1") != 0)
		SKIP("fw_printenv/fw_setenv missing (libubootenv-tool)");
	CHECK((ops = bootenv_find("uboot")) != NULL);
	tmpdir_make("uboot_test");
	snprintf(cfg, sizeof(cfg), "%s/fw_env.config", dir);
	snprintf(env1, sizeof(env1), "%s/uboot.env", dir);
	snprintf(env2, sizeof(env2), "%s/uboot-redund.env", dir);
	srand(7);

	test_blank(cfg, env1, 0);
	test_single(cfg);
	test_blank(cfg, env1, -1);
	test_redundant(cfg, env1, env2);
	test_warning(cfg, env1, env2);
	test_tail(cfg, env1);
	test_errors(cfg);

	tmpdir_remove();
	return 0;
}

/*
 * health_test: cmd_health, cmd_commit and cmd_rollback in-process on a
 * device in files: upkit.conf, a real libubootenv env file, state.json,
 * a cmdline file and shell-script checks. The install itself is covered
 * by tests/integration/health_test.sh; here the state is written
 * directly, to reach the corners (no checks folder, a check killed by a
 * signal, one that cannot be executed, a booted slot already bad, --json).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/state.h"
#include "common/err.h"
#include "slots/boot/bootenv.h"
#include "tests/harness.h"

#define ENV_SIZE	0x4000

static char cfg[128], envcfg[128], env[128], data[128], cmdline[128];
static char checks[128];

/* Runs fn with "-c CFG" and up to three arguments after its name,
 * capturing stdout and stderr into out and errout. */
static int
run(int (*fn)(int, char **), const char *name, const char *a1,
    const char *a2, const char *a3)
{
	return capture_args(fn, name, "-c", cfg, a1, a2, a3, NULL);
}

static void
expect_env(const char *order, int a, int b)
{
	struct bootstate st = { 0 };

	get_env(envcfg, &st);
	if (strcmp(st.order, order) != 0 || st.left[0] != a ||
	    st.left[1] != b) {
		fprintf(stderr, "env %s %d %d, expected %s %d %d\n", st.order,
		    st.left[0], st.left[1], order, a, b);
		exit(1);
	}
}

/* A: 1.0 good (security 2); B: 2.0 in the given status (security 5). */
static void
set_state(const char *bstatus, char booted)
{
	struct state *s;
	struct err e = { 0, "" };
	char line[64];

	CHECK_OK(state_load(data, &s, &e), &e);
	s->security_floor = 2;
	s->slot[0].security_version = 2;
	s->slot[1].security_version = 5;
	CHECK_OK(state_set(&s->slot[0].version, "1.0", &e), &e);
	CHECK_OK(state_set(&s->slot[0].status, "good", &e), &e);
	CHECK_OK(state_set(&s->slot[1].version, "2.0", &e), &e);
	CHECK_OK(state_set(&s->slot[1].status, bstatus, &e), &e);
	CHECK_OK(state_set(&s->last_result, "installed", &e), &e);
	CHECK_OK(state_set(&s->last_target, "B", &e), &e);
	CHECK_OK(state_set(&s->last_reason, NULL, &e), &e);
	CHECK_OK(state_save(data, s, &e), &e);
	state_free(s);
	snprintf(line, sizeof(line), "quiet upkit.slot=%c\n", booted);
	write_str(cmdline, line);
}

static struct state *
load_state(void)
{
	struct state *s;
	struct err e = { 0, "" };

	CHECK_OK(state_load(data, &s, &e), &e);
	return s;
}

static void
add_check(const char *name, const char *body, mode_t mode)
{
	char path[256], text[1024];

	snprintf(path, sizeof(path), "%s/%s", checks, name);
	/* A body with its own #! line replaces the shell's. */
	snprintf(text, sizeof(text), "%s%s\n",
	    strncmp(body, "#!", 2) == 0 ? "" : "#!/bin/sh\n", body);
	write_str(path, text);
	CHECK(chmod(path, mode) == 0);
}

static void
clear_checks(void)
{
	CHECK(shell("rm -rf '%s'", checks) != NULL);
}

static void
make_device(const char *health)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "[system]\ncompatible = acme\nbootloader = uboot\n"
	    "data-directory = %s\nboot-attempts = 3\ncmdline = %s\n"
	    "[keyring]\npath = %s/keyring.pem\n"
	    "[uboot]\nconfig = %s\n"
	    "[health]\ndirectory = %s\n%s"
	    "[slot.rootfs.0]\ndevice = %s/a.img\nbootname = A\n"
	    "[slot.rootfs.1]\ndevice = %s/b.img\nbootname = B\n",
	    data, cmdline, dir, envcfg, checks, health, dir, dir);
	write_str(cfg, text);
}

static void
expect_state(const char *bstatus, const char *result, const char *reason,
    uint64_t floor)
{
	struct state *s = load_state();

	if (strcmp(s->slot[1].status, bstatus) != 0 ||
	    strcmp(s->last_result, result) != 0 ||
	    (reason == NULL) != (s->last_reason == NULL) ||
	    (reason != NULL && strstr(s->last_reason, reason) == NULL) ||
	    s->security_floor != floor) {
		fprintf(stderr, "state: B %s, %s (%s), floor %llu\n",
		    s->slot[1].status, s->last_result,
		    s->last_reason ? s->last_reason : "-",
		    (unsigned long long)s->security_floor);
		exit(1);
	}
	state_free(s);
}

/* No checks folder: a trial passes and is committed; floor rises. */
static void
test_no_checks(void)
{
	clear_checks();
	set_env(envcfg, "B A", 3, 2);
	set_state("trial", 'B');
	CHECK(run(cmd_health, "health", "--no-reboot", NULL, NULL) ==
	    EXIT_OK);
	expect_env("BA", 3, 3);
	expect_state("good", "committed", NULL, 5);
	CHECK(strstr(out, "0 health checks passed: committed") != NULL);
}

/* Environment, order, non-executable files and dot files skipped. */
static void
test_pass(void)
{
	char ran[256], got[512];

	clear_checks();
	CHECK(mkdir(checks, 0755) == 0);
	snprintf(ran, sizeof(ran), "%s/ran", dir);
	unlink(ran);
	snprintf(got, sizeof(got), "echo b $UPKIT_SLOT $UPKIT_VERSION >>%s",
	    ran);
	add_check("b", got, 0755);
	snprintf(got, sizeof(got), "echo a >>%s", ran);
	add_check("a", got, 0700);
	add_check("c", "exit 1", 0644);
	add_check(".hidden", "exit 1", 0755);
	CHECK(setenv("UPKIT_SLOT", "Z", 1) == 0);
	set_env(envcfg, "B A", 3, 1);
	set_state("trial", 'B');
	CHECK(run(cmd_health, "health", "--no-reboot", "--json", NULL) ==
	    EXIT_OK);
	CHECK(unsetenv("UPKIT_SLOT") == 0);
	slurp(ran, got, sizeof(got));
	CHECK(strcmp(got, "a\nb B 2.0\n") == 0);
	expect_env("BA", 3, 3);
	expect_state("good", "committed", NULL, 5);
	{
		cJSON *o = cJSON_Parse(out), *c;

		CHECK(o != NULL);
		c = cJSON_GetObjectItem(o, "result");
		CHECK(cJSON_IsString(c) &&
		    strcmp(c->valuestring, "committed") == 0);
		c = cJSON_GetObjectItem(o, "checks");
		CHECK(cJSON_GetArraySize(c) == 2);
		cJSON_Delete(o);
	}
}

static void
expect_rollback(const char *body, const char *reason)
{
	clear_checks();
	CHECK(mkdir(checks, 0755) == 0);
	add_check("10-check", body, 0755);
	set_env(envcfg, "B A", 3, 2);
	set_state("trial", 'B');
	CHECK(run(cmd_health, "health", "--no-reboot", NULL, NULL) ==
	    EXIT_HEALTH);
	expect_env("A", 3, 0);
	expect_state("bad", "rolled-back", reason, 2);
	CHECK(strstr(out, reason) != NULL);
	CHECK(strstr(out, "rolled back to slot A") != NULL);
}

static void
test_fail(void)
{
	expect_rollback("exit 3", "10-check: exited with status 3");
	expect_rollback("kill -TERM $$", "10-check: killed by signal 15");
	/* A check the kernel cannot execute fails like any other. */
	expect_rollback("#!/no/such/interpreter", "10-check: cannot run");
	/* An unreadable folder is a failure, never "no checks". */
	clear_checks();
	write_str(checks, "not a folder\n");
	set_env(envcfg, "B A", 3, 2);
	set_state("trial", 'B');
	CHECK(run(cmd_health, "health", "--no-reboot", NULL, NULL) ==
	    EXIT_HEALTH);
	expect_state("bad", "rolled-back", "Not a directory", 2);
	unlink(checks);
}

/* Booted slot bad (rolled back, not rebooted yet): nothing written. */
static void
test_booted_bad(void)
{
	set_env(envcfg, "A", 3, 0);
	set_state("bad", 'B');
	CHECK(run(cmd_health, "health", NULL, NULL, NULL) == EXIT_OK);
	expect_env("A", 3, 0);
	expect_state("bad", "installed", NULL, 2);
	CHECK(strstr(out, "slot B is marked bad") != NULL);
}

static void
test_commit_rollback(void)
{
	char p[256];

	/* Nothing to commit on A; then commit B without checks. */
	set_env(envcfg, "B A", 3, 3);
	set_state("trial", 'A');
	CHECK(run(cmd_commit, "commit", NULL, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "nothing to commit") != NULL);
	expect_state("trial", "installed", NULL, 2);
	CHECK(run(cmd_commit, "commit", "--no-reboot", NULL, NULL) ==
	    EXIT_USAGE);
	set_state("trial", 'B');
	CHECK(run(cmd_commit, "commit", NULL, NULL, NULL) == EXIT_OK);
	expect_env("BA", 3, 3);
	expect_state("good", "committed", NULL, 5);

	/* Back to A by hand: the floor stays where the commit put it. */
	CHECK(run(cmd_rollback, "rollback", "--no-reboot", NULL, NULL) ==
	    EXIT_OK);
	expect_env("A", 3, 0);
	expect_state("bad", "rolled-back", "manual rollback", 5);
	/* From A, B is bad: refused, nothing changes. */
	write_str(cmdline, "upkit.slot=A\n");
	CHECK(run(cmd_rollback, "rollback", "--no-reboot", NULL, NULL) ==
	    EXIT_FAIL);
	CHECK(strstr(errout, "slot B is bad: nothing to roll back to") !=
	    NULL);
	expect_env("A", 3, 0);

	/* An empty slot the env does not offer is nothing either. */
	snprintf(p, sizeof(p), "%s/%s", data, STATE_FILE);
	CHECK(unlink(p) == 0);
	CHECK(run(cmd_rollback, "rollback", "--no-reboot", NULL, NULL) ==
	    EXIT_FAIL);
	CHECK(strstr(errout, "slot B is empty") != NULL);
}

/* A lock held by someone else (an update) stops every command. */
static void
test_lock(void)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/lock", data);
	CHECK((fd = open(p, O_RDWR | O_CREAT, 0644)) != -1);
	CHECK(flock(fd, LOCK_EX) == 0);
	set_env(envcfg, "B A", 3, 2);
	set_state("trial", 'B');
	CHECK(run(cmd_health, "health", "--no-reboot", NULL, NULL) ==
	    EXIT_FAIL);
	CHECK(strstr(errout, "another upkit") != NULL);
	expect_env("BA", 3, 2);
	close(fd);
}

int
main(void)
{
	char zero[ENV_SIZE], text[256];

	tmpdir_make("health_test");
	snprintf(cfg, sizeof(cfg), "%s/upkit.conf", dir);
	snprintf(envcfg, sizeof(envcfg), "%s/fw_env.config", dir);
	snprintf(env, sizeof(env), "%s/uboot.env", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(cmdline, sizeof(cmdline), "%s/cmdline", dir);
	snprintf(checks, sizeof(checks), "%s/health.d", dir);
	make_device("");
	snprintf(text, sizeof(text), "%s 0x0 0x%x\n", env, ENV_SIZE);
	write_str(envcfg, text);
	memset(zero, 0, sizeof(zero));
	write_file(env, zero, sizeof(zero));
	test_no_checks();
	test_pass();
	test_fail();
	test_booted_bad();
	test_commit_rollback();
	test_lock();
	tmpdir_remove();
	return 0;
}

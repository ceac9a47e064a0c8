/*
 * status_test: `upkit status` (cmd_status) and device_open() on a real
 * device in files: upkit.conf, a libubootenv env file, state.json and a
 * kernel command line. stdout and stderr go to files and are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/state.h"
#include "common/err.h"
#include "slots/boot/bootenv.h"
#include "tests/harness.h"

#define ENV_SIZE	0x4000

static char cfg[128], envcfg[128], env[128], data[128], cmdline[128];

static int
status(const char *a1, const char *a2, const char *a3, const char *a4)
{
	return capture_args(cmd_status, "status", a1, a2, a3, a4, NULL);
}

static void
make_device(void)
{
	char text[2048], zero[ENV_SIZE];

	snprintf(text, sizeof(text),
	    "[system]\n"
	    "compatible = acme-board\n"
	    "bootloader = uboot\n"
	    "data-directory = %s\n"
	    "boot-attempts = 3\n"
	    "cmdline = %s\n"
	    "[keyring]\n"
	    "path = %s/keyring.pem\n"
	    "[uboot]\n"
	    "config = %s\n"
	    "[slot.rootfs.0]\n"
	    "device = %s/rootfs-a.img\n"
	    "bootname = A\n"
	    "[slot.rootfs.1]\n"
	    "device = %s/rootfs-b.img\n"
	    "bootname = B\n"
	    "[slot.boot.0]\n"
	    "type = files\n"
	    "device = %s/boot/A\n"
	    "bootname = A\n"
	    "[slot.boot.1]\n"
	    "type = files\n"
	    "device = %s/boot/B\n"
	    "bootname = B\n",
	    data, cmdline, dir, envcfg, dir, dir, dir, dir);
	write_str(cfg, text);
	snprintf(text, sizeof(text), "%s 0x0 0x%x\n", env, ENV_SIZE);
	write_str(envcfg, text);
	/* A blank env: no valid copy, so no BOOT_ORDER yet. */
	memset(zero, 0, sizeof(zero));
	write_file(env, zero, sizeof(zero));
	write_str(cmdline, "console=ttyS0 upkit.slot=A quiet\n");
}

static const cJSON *
get(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (it == NULL) {
		fprintf(stderr, "no key %s in:\n%s\n", key, out);
		exit(1);
	}
	return it;
}

static int
is_str(const cJSON *o, const char *key, const char *want)
{
	const cJSON *it = get(o, key);

	return cJSON_IsString(it) && strcmp(it->valuestring, want) == 0;
}

static void
test_fresh(void)
{
	struct device *d;
	struct err e = { 0, "" };
	enum device_stage stage;
	cJSON *root;
	const cJSON *slots;

	CHECK_OK(device_open(cfg, &d, &stage, &e), &e);
	CHECK(d->boot_unset == 1);
	CHECK(strcmp(d->boot.order, "AB") == 0);
	CHECK(d->boot.left[0] == 3 && d->boot.left[1] == 3);
	CHECK(d->booted == 'A');
	CHECK(d->state->slot[0].version == NULL);
	CHECK(strcmp(d->env_ops->name, "uboot") == 0);
	device_free(d);
	device_free(NULL);

	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(errout[0] == '\0');
	CHECK(strstr(out, "compatible:      acme-board\n") != NULL);
	CHECK(strstr(out, "booted:          A\n") != NULL);
	CHECK(strstr(out, "BOOT_ORDER:      (not set yet") != NULL);
	CHECK(strstr(out, "security floor:  0\n") != NULL);
	/* No BOOT_ORDER: the boot scripts fall back to A. */
	CHECK(strstr(out, "next boot:       A, fallback boot: the env has no "
	    "BOOT_ORDER\n") != NULL);
	CHECK(strstr(out, "last update") == NULL);

	CHECK(status("--json", "-c", cfg, NULL) == EXIT_OK);
	CHECK((root = cJSON_Parse(out)) != NULL);
	CHECK(cJSON_IsNull(get(root, "boot_order")));
	CHECK(cJSON_IsNull(get(get(root, "boot_left"), "A")));
	CHECK(cJSON_IsNull(get(root, "last_update")));
	CHECK(is_str(get(root, "next_boot"), "slot", "A"));
	CHECK(cJSON_IsTrue(get(get(root, "next_boot"), "fallback")));
	CHECK(cJSON_IsFalse(get(get(root, "next_boot"), "trial")));
	slots = get(root, "slots");
	CHECK(cJSON_GetArraySize(slots) == 4);
	CHECK(is_str(cJSON_GetArrayItem(slots, 0), "state", "good"));
	CHECK(cJSON_IsTrue(get(cJSON_GetArrayItem(slots, 0), "booted")));
	CHECK(cJSON_IsNull(get(cJSON_GetArrayItem(slots, 0), "version")));
	cJSON_Delete(root);
}

/* After an install into B: B armed for a trial boot, state recorded. */
static void
test_trial(void)
{
	const struct bootenv_ops *ops;
	struct bootenv *b;
	struct bootstate st = { 0 };
	struct state *s;
	struct err e = { 0, "" };
	cJSON *root;
	const cJSON *slots, *sl, *last;

	CHECK((ops = bootenv_find("uboot")) != NULL);
	CHECK_OK(ops->open(envcfg, &b, &e), &e);
	bootstate_default(&st, 3);
	bootstate_arm(&st, 'B', 3);
	st.left[0] = 2;
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);

	CHECK_OK(state_load(data, &s, &e), &e);
	s->security_floor = 4;
	CHECK_OK(state_set(&s->slot[0].version, "1.0.0", &e), &e);
	CHECK_OK(state_set(&s->slot[0].status, "good", &e), &e);
	CHECK_OK(state_set(&s->slot[1].version, "1.1.0-rc.1", &e), &e);
	CHECK_OK(state_set(&s->slot[1].status, "trial", &e), &e);
	CHECK_OK(state_set(&s->last_version, "1.1.0-rc.1", &e), &e);
	CHECK_OK(state_set(&s->last_target, "B", &e), &e);
	CHECK_OK(state_set(&s->last_result, "installed", &e), &e);
	CHECK_OK(state_set(&s->last_time, "2026-03-04T05:06:07Z", &e), &e);
	CHECK_OK(state_save(data, s, &e), &e);
	state_free(s);

	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "BOOT_ORDER:      B A\n") != NULL);
	CHECK(strstr(out, "BOOT_A_LEFT:     2\n") != NULL);
	CHECK(strstr(out, "BOOT_B_LEFT:     3\n") != NULL);
	CHECK(strstr(out, "security floor:  4\n") != NULL);
	CHECK(strstr(out, "1.0.0       good, booted\n") != NULL);
	CHECK(strstr(out, "1.1.0-rc.1  trial\n") != NULL);
	CHECK(strstr(out, "version 1.1.0-rc.1, target B, result installed")
	    != NULL);
	CHECK(strstr(out, "reason -, time 2026-03-04T05:06:07Z") != NULL);
	CHECK(strstr(out, "next boot:       B, trial of 1.1.0-rc.1 (3 attempts "
	    "left)\n") != NULL);

	CHECK(status("-c", cfg, "--json", NULL) == EXIT_OK);
	CHECK((root = cJSON_Parse(out)) != NULL);
	CHECK(is_str(root, "compatible", "acme-board"));
	CHECK(is_str(root, "bootloader", "uboot"));
	CHECK(is_str(root, "booted", "A"));
	CHECK(is_str(root, "boot_order", "B A"));
	CHECK(get(get(root, "boot_left"), "A")->valuedouble == 2);
	CHECK(get(get(root, "boot_left"), "B")->valuedouble == 3);
	CHECK(get(root, "security_floor")->valuedouble == 4);
	slots = get(root, "slots");
	sl = cJSON_GetArrayItem(slots, 3);
	CHECK(is_str(sl, "name", "boot.1"));
	CHECK(is_str(sl, "class", "boot"));
	CHECK(is_str(sl, "bootname", "B"));
	CHECK(is_str(sl, "type", "files"));
	CHECK(is_str(sl, "version", "1.1.0-rc.1"));
	CHECK(is_str(sl, "state", "trial"));
	CHECK(cJSON_IsFalse(get(sl, "booted")));
	last = get(root, "last_update");
	CHECK(is_str(last, "result", "installed"));
	CHECK(cJSON_IsNull(get(last, "reason")));
	CHECK(is_str(get(root, "next_boot"), "slot", "B"));
	CHECK(cJSON_IsTrue(get(get(root, "next_boot"), "trial")));
	CHECK(cJSON_IsFalse(get(get(root, "next_boot"), "fallback")));
	CHECK(get(get(root, "next_boot"), "attempts_left")->valuedouble == 3);
	cJSON_Delete(root);

	/* The trial failed: B out of BOOT_ORDER, whatever state.json says. */
	CHECK_OK(ops->open(envcfg, &b, &e), &e);
	bootstate_mark_bad(&st, 'B');
	CHECK_OK(ops->commit(b, &st, &e), &e);
	ops->close(b);
	CHECK(status("-c", cfg, "--json", NULL) == EXIT_OK);
	CHECK((root = cJSON_Parse(out)) != NULL);
	CHECK(is_str(cJSON_GetArrayItem(get(root, "slots"), 1), "state",
	    "bad"));
	CHECK(is_str(cJSON_GetArrayItem(get(root, "slots"), 0), "state",
	    "good"));
	CHECK(is_str(get(root, "next_boot"), "slot", "A"));
	CHECK(cJSON_IsFalse(get(get(root, "next_boot"), "trial")));
	CHECK(is_str(get(root, "next_boot"), "why", "the booted slot"));
	cJSON_Delete(root);
}

/* Writes the env and a state.json as update leaves them after mark_bad
 * of B: B out of BOOT_ORDER, state "installing" with the journal. */
static void
set_installing(const char *order, int a, int b)
{
	const struct bootenv_ops *ops = bootenv_find("uboot");
	struct bootenv *be;
	struct bootstate st;
	struct state *s;
	struct err e = { 0, "" };

	CHECK_OK(ops->open(envcfg, &be, &e), &e);
	memset(&st, 0, sizeof(st));
	CHECK(strlen(order) < sizeof(st.order));
	strcpy(st.order, order);
	st.left[0] = a;
	st.left[1] = b;
	CHECK_OK(ops->commit(be, &st, &e), &e);
	ops->close(be);
	CHECK_OK(state_load(data, &s, &e), &e);
	CHECK_OK(state_set(&s->slot[1].version, NULL, &e), &e);
	CHECK_OK(state_set(&s->slot[1].status, "bad", &e), &e);
	CHECK_OK(state_set(&s->last_version, "2.0.0", &e), &e);
	CHECK_OK(state_set(&s->last_target, "B", &e), &e);
	CHECK_OK(state_set(&s->last_result, "installing", &e), &e);
	CHECK_OK(state_set(&s->last_reason, NULL, &e), &e);
	CHECK_OK(state_set(&s->journal_target, "B", &e), &e);
	CHECK_OK(state_save(data, s, &e), &e);
	state_free(s);
}

/*
 * state.json says "installing". While an upkit holds DATA/lock that is
 * true; once none does, the install was cut (SIGKILL, power cut), or its
 * arm was stored and only the record is missing: the env tells which.
 */
static void
test_installing(void)
{
	char lock[160];
	cJSON *root;
	const cJSON *last;
	int fd;

	set_installing("A", 3, 0);
	snprintf(lock, sizeof(lock), "%s/lock", data);
	unlink(lock);
	/* No lock file at all: nobody has been installing since boot. */
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "target B, result interrupted\n") != NULL);
	CHECK(strstr(out, "next boot:       A, the booted slot (3 attempts "
	    "left)\n") != NULL);

	/* An upkit holds the lock: the install is running. */
	CHECK((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) != -1);
	CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
	CHECK(status("-c", cfg, "--json", NULL) == EXIT_OK);
	CHECK((root = cJSON_Parse(out)) != NULL);
	CHECK(is_str(get(root, "last_update"), "result", "installing"));
	cJSON_Delete(root);

	/* It was killed: the lock is free, the state still "installing". */
	CHECK(close(fd) == 0);
	CHECK(status("-c", cfg, "--json", NULL) == EXIT_OK);
	CHECK((root = cJSON_Parse(out)) != NULL);
	last = get(root, "last_update");
	CHECK(is_str(last, "result", "interrupted"));
	CHECK(strstr(get(last, "reason")->valuestring, "marked bad") != NULL);
	CHECK(is_str(cJSON_GetArrayItem(get(root, "slots"), 1), "state",
	    "bad"));
	CHECK(is_str(get(root, "next_boot"), "slot", "A"));
	CHECK(cJSON_IsFalse(get(get(root, "next_boot"), "trial")));
	cJSON_Delete(root);
	/* status never takes the lock for good. */
	CHECK((fd = open(lock, O_RDWR | O_CLOEXEC)) != -1);
	CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
	CHECK(close(fd) == 0);

	/* The arm was stored, its state save was not: B is a trial of the
	 * last version, and it boots next. */
	set_installing("BA", 3, 3);
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "2.0.0    trial\n") != NULL);
	CHECK(strstr(out, "target B, result installed\n") != NULL);
	CHECK(strstr(out, "next boot:       B, trial of 2.0.0 (3 attempts "
	    "left)\n") != NULL);
	CHECK(status("-c", cfg, "--json", NULL) == EXIT_OK);
	CHECK((root = cJSON_Parse(out)) != NULL);
	CHECK(is_str(get(root, "last_update"), "result", "installed"));
	CHECK(is_str(cJSON_GetArrayItem(get(root, "slots"), 1), "version",
	    "2.0.0"));
	CHECK(cJSON_IsTrue(get(get(root, "next_boot"), "trial")));
	cJSON_Delete(root);

	/* Every attempt of B used up: the fallback is A, the booted one. */
	set_installing("BA", 3, 0);
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "result interrupted") != NULL);
	CHECK(strstr(out, "next boot:       A, the booted slot") != NULL);
	set_installing("", 0, 0);
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "next boot:       A, fallback boot: no slot in "
	    "BOOT_ORDER has attempts left\n") != NULL);
}

static void
test_errors(void)
{
	struct device *d = (struct device *)1;
	struct err e = { 0, "" };
	enum device_stage stage;
	char path[160], text[256];

	CHECK(status("--bogus", NULL, NULL, NULL) == EXIT_USAGE);
	CHECK(status("-c", cfg, "extra", NULL) == EXIT_USAGE);
	CHECK(strstr(errout, "upkit: status: unexpected argument 'extra'") != NULL);
	CHECK(status("-h", NULL, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "usage: upkit status") != NULL);

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	CHECK(status("-c", path, NULL, NULL) == EXIT_CONFIG);
	CHECK(strncmp(errout, "upkit: status: open ", 20) == 0);
	CHECK(strstr(errout, path) != NULL);
	CHECK(device_open(path, &d, &stage, &e) == -ENOENT);
	CHECK(d == NULL && stage == DEVICE_CONFIG);

	/* UPKIT_CONFIG is honoured when -c is absent. */
	CHECK(setenv("UPKIT_CONFIG", path, 1) == 0);
	CHECK(status(NULL, NULL, NULL, NULL) == EXIT_CONFIG);
	CHECK(strstr(errout, path) != NULL);
	CHECK(unsetenv("UPKIT_CONFIG") == 0);

	/* An env whose BOOT_ORDER does not parse is a boot env error;
	 * fw_setenv writes it as a person at the U-Boot prompt might. */
	snprintf(text, sizeof(text), "fw_setenv -c '%s' BOOT_ORDER 'A C'",
	    envcfg);
	CHECK(system(text) == 0);
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_BOOTENV);
	CHECK(strstr(errout, "upkit: status: ") != NULL);
	CHECK(strstr(errout, "BOOT_ORDER \"A C\"") != NULL);

	/* So is a fw_env.config naming a missing env file. */
	snprintf(text, sizeof(text), "%s/nonexistent.env 0x0 0x%x\n", dir,
	    ENV_SIZE);
	write_str(envcfg, text);
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_BOOTENV);
	CHECK(strstr(errout, "upkit: status: u-boot env ") != NULL);
	CHECK(device_open(cfg, &d, &stage, &e) < 0);
	CHECK(d == NULL && stage == DEVICE_BOOTENV);
	snprintf(text, sizeof(text), "%s 0x0 0x%x\n", env, ENV_SIZE);
	write_str(envcfg, text);
	snprintf(text, sizeof(text), "fw_setenv -c '%s' BOOT_ORDER 'A B'",
	    envcfg);
	CHECK(system(text) == 0);
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);

	/* A corrupt state.json fails, naming the file. */
	snprintf(path, sizeof(path), "%s/%s", data, STATE_FILE);
	write_str(path, "{\"security_floor\": \"high\"}");
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_FAIL);
	CHECK(strstr(errout, path) != NULL);
	CHECK(unlink(path) == 0);

	/* A kernel command line naming no A/B slot is a configuration
	 * error, with the code update gives it. */
	write_str(cmdline, "upkit.slot=C\n");
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_CONFIG);
	CHECK(device_exit_code(DEVICE_CMDLINE) == EXIT_CONFIG);
	CHECK(strstr(errout, "upkit: status: ") != NULL);
	CHECK(device_open(cfg, &d, &stage, &e) == -EBADMSG);
	CHECK(stage == DEVICE_CMDLINE);
	write_str(cmdline, "upkit.slot=B\n");
	CHECK(status("-c", cfg, NULL, NULL) == EXIT_OK);
	CHECK(strstr(out, "booted:          B\n") != NULL);
}

int
main(void)
{
	tmpdir_make("status_test");
	snprintf(cfg, sizeof(cfg), "%s/upkit.conf", dir);
	snprintf(envcfg, sizeof(envcfg), "%s/fw_env.config", dir);
	snprintf(env, sizeof(env), "%s/uboot.env", dir);
	/* Not created: status must cope before the first save. */
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(cmdline, sizeof(cmdline), "%s/cmdline", dir);
	make_device();
	test_fresh();
	test_trial();
	test_installing();
	test_errors();
	tmpdir_remove();
	return 0;
}

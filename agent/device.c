/*
 * agent/device: the open sequence every device command shares. The order
 * (config, state, env, cmdline) is the order of the exit codes' blame: a
 * config error must not be reported as an env error.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "agent/config.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"

extern char **environ;

/* A backend that repaired a torn or garbage env on load says so through
 * the pseudo-variable upkit.repair; a person must hear about it. */
static void
report_repair(struct device *d, struct err *e)
{
	char *msg = NULL;

	if (d->env_ops->get(d->env, "upkit.repair", &msg, e) == 0 &&
	    msg != NULL)
		fprintf(stderr, "upkit: boot env repaired: %s\n", msg);
	free(msg);
	err_clear(e);
}

static const char *
slot_status(const struct device *d, char name)
{
	const char *s = d->state->slot[state_slot_index(name)].status;

	return s != NULL ? s : "";
}

/*
 * The env holds no BOOT_ORDER: a board image that ships without the
 * selection variables, or an env that was blank or corrupt (libubootenv
 * cannot tell the two apart). A new device starts from the default. A
 * device with a history gets back what state.json says the env held: the
 * trial slot first (state says "trial" only after its arm was stored),
 * then the running slot, then the other one; never a slot marked "bad"
 * (upkit records "bad" each time it takes a slot out of BOOT_ORDER, so a
 * slot without a status was never taken out). The first env store of any
 * command writes it.
 */
static void
rebuild_boot(struct device *d)
{
	struct bootstate *st = &d->boot;
	int n = d->config->boot_attempts;
	char other = d->booted == 'A' ? 'B' : 'A', order[2 * BOOTENV_SLOTS];
	const char *so = slot_status(d, other), *sb = slot_status(d, d->booted);

	bootstate_default(st, n);
	st->floor = d->state->security_floor;
	if (*so == '\0' && *sb == '\0')
		return;
	memset(st->order, 0, sizeof(st->order));
	st->left[0] = st->left[1] = 0;
	if (strcmp(so, "bad") != 0)
		bootstate_mark_good(st, other, n);
	if (strcmp(sb, "bad") != 0 || st->order[0] == '\0')
		bootstate_mark_good(st, d->booted, n);
	if (strcmp(so, "trial") == 0) {
		bootstate_arm(st, other, n);
		st->trial_floor = d->state->slot[state_slot_index(other)].
		    security_version;
	}
	bootstate_order_format(st, order);
	fprintf(stderr, "upkit: boot env holds no BOOT_ORDER (blank or "
	    "corrupt); rebuilt from state.json: BOOT_ORDER=\"%s\" "
	    "BOOT_A_LEFT=%d BOOT_B_LEFT=%d\n", order, st->left[0],
	    st->left[1]);
}

static int
is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/*
 * The boot env survives a reboot; the data directory may not (LinuxKit
 * mounts tmpfs on /var, and a disk can fail). Where the two disagree
 * about what must survive, the env wins (docs/boot-selection.md):
 *
 * - the security floor is the higher of UPKIT_FLOOR and state.json's;
 * - a slot the env names in UPKIT_TRIAL is on a trial boot whatever
 *   state.json says. If state.json is the one that update left between
 *   storing the arm and saving "trial" (a power cut there), the trial's
 *   version is in it: finish recording it. Otherwise state.json was lost
 *   or is stale, and only what the env holds is known.
 *
 * This changes d->state in memory only; the command saves it with its
 * own transition.
 */
static int
reconcile(struct device *d, struct err *e)
{
	struct state *s = d->state;
	struct bootstate *st = &d->boot;
	struct state_slot *t;
	char tg[2];
	int r;

	if (st->floor > s->security_floor)
		s->security_floor = st->floor;
	st->floor = s->security_floor;
	if (st->trial == 0)
		return 0;
	t = &s->slot[state_slot_index(st->trial)];
	if (st->trial_floor > t->security_version)
		t->security_version = st->trial_floor;
	if (is(t->status, "trial"))
		return 0;
	tg[0] = st->trial;
	tg[1] = '\0';
	if (is(s->last_result, "installing") && is(s->journal_target, tg)) {
		if (d->loads == 0)
				fprintf(stderr, "upkit: slot %c was armed but its "
			    "state was not saved (power cut at the end of the "
			    "install): recording it as a trial of %s\n",
			    st->trial, s->last_version != NULL ?
			    s->last_version : "-");
		if ((r = state_set(&t->version, s->last_version, e)) < 0 ||
		    (r = state_set(&s->last_result, "installed", e)) < 0 ||
		    (r = state_set(&s->journal_bundle, NULL, e)) < 0 ||
		    (r = state_set(&s->journal_target, NULL, e)) < 0)
			return r;
		s->journal_chunks = 0;
	} else if (d->loads == 0) {
		fprintf(stderr, "upkit: the boot env says slot %c is on a "
		    "trial boot, but %s/%s does not (lost or stale data "
		    "directory): treating it as a trial\n", st->trial,
		    d->config->data_directory, STATE_FILE);
	}
	return state_set(&t->status, "trial", e);
}

/*
 * A data directory on tmpfs or ramfs is empty after every reboot. The env
 * keeps what safety needs (above), but the installed versions, the last
 * result and the install journal go with it: refuse it unless the config
 * says that is intended. The folder may not exist yet: look at the
 * nearest one that does.
 */
static int
check_data_directory(const struct config *c, struct err *e)
{
	struct statfs sf;
	char path[4096], *slash;

	if (c->data_volatile)
		return 0;
	if (snprintf(path, sizeof(path), "%s", c->data_directory) >=
	    (int)sizeof(path))
		return err_set(e, -ENAMETOOLONG, "%s: data-directory: too "
		    "long", c->path);
	while (statfs(path, &sf) == -1) {
		if (errno != ENOENT || (slash = strrchr(path, '/')) == NULL)
			return err_set(e, -errno, "%s: data-directory %s: %s",
			    c->path, c->data_directory, strerror(errno));
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		return err_set(e, -EINVAL, "%s: data-directory %s is on %s, "
		    "which is empty after a reboot: use persistent storage, "
		    "or set [system] data-directory-volatile = yes if that "
		    "is intended", c->path, c->data_directory,
		    sf.f_type == TMPFS_MAGIC ? "tmpfs" : "ramfs");
	return 0;
}

/* Reads state.json, the env and the booted slot, and reconciles them. */
static int
load(struct device *d, enum device_stage *stagep, struct err *e)
{
	const char *envpath = config_bootenv_path(d->config);
	struct state *ns, tmp;
	int r;

	*stagep = DEVICE_STATE;
	if ((r = state_load(d->config->data_directory, &ns, e)) < 0)
		return r;
	/* Commands keep d->state: a reload changes what it holds, not
	 * where it is. */
	if (d->state != NULL) {
		tmp = *d->state;
		*d->state = *ns;
		*ns = tmp;
	} else {
		d->state = ns;
		ns = NULL;
	}
	state_free(ns);
	*stagep = DEVICE_BOOTENV;
	d->env_ops->close(d->env);
	d->env = NULL;
	if ((r = d->env_ops->open(envpath, &d->env, e)) < 0)
		return r;
	d->boot_unset = 0;
	r = d->env_ops->load(d->env, &d->boot, e);
	if (r == -ENOENT) {
		d->boot_unset = 1;
		err_clear(e);
	} else if (r < 0)
		return r;
	if (d->loads == 0)
		report_repair(d, e);
	*stagep = DEVICE_CMDLINE;
	if ((r = booted_slot(d->config->cmdline, &d->booted, e)) < 0)
		return r;
	if (d->boot_unset)
		rebuild_boot(d);
	*stagep = DEVICE_STATE;
	r = reconcile(d, e);
	d->loads++;
	return r;
}

int
device_open(const char *config_path, struct device **dp,
    enum device_stage *stagep, struct err *e)
{
	struct device *d;
	enum device_stage stage = DEVICE_CONFIG;
	int r;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) != NULL)
		d->lockfd = -1;
	if (d == NULL) {
		r = err_set(e, -ENOMEM, "device: out of memory");
		goto fail;
	}
	if ((r = config_load(config_path, &d->config, e)) < 0 ||
	    (r = check_data_directory(d->config, e)) < 0)
		goto fail;
	stage = DEVICE_BOOTENV;
	/* config_load() has checked the name with bootenv_find(). */
	if ((d->env_ops = bootenv_find(d->config->bootloader)) == NULL) {
		r = err_set(e, -EINVAL, "%s: bootloader %s: not built in",
		    d->config->path, d->config->bootloader);
		goto fail;
	}
	if ((r = load(d, &stage, e)) < 0)
		goto fail;
	*dp = d;
	return 0;
fail:
	if (stagep != NULL)
		*stagep = stage;
	device_free(d);
	return r;
}

int
device_exit_code(enum device_stage stage)
{
	static const enum fail_step steps[] = {
		[DEVICE_CONFIG] = FAIL_CONFIG,
		[DEVICE_STATE] = FAIL_STATE,
		[DEVICE_BOOTENV] = FAIL_BOOTENV,
		[DEVICE_CMDLINE] = FAIL_CONFIG,
	};

	return exitcode_for(steps[stage], 0);
}

int
device_lock(struct device *d, struct err *e)
{
	const char *dir = d->config->data_directory;
	enum device_stage stage;
	char path[4096];
	int r;

	if ((r = mkdir_p(dir, 0755, e)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", path, strerror(-r));
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1) {
		r = -errno;
		return err_set(e, r == -EWOULDBLOCK ? -EBUSY : r,
		    "%s: another upkit is installing or committing", path);
	}
	/* What was read before the lock may have changed under another
	 * upkit's lock (a commit that ended just now): act on what holds
	 * now. The stage does not matter here: it all read fine once. */
	return load(d, &stage, e);
}

int
device_reboot(struct err *e)
{
	char *argv[] = { (char *)"reboot", NULL };
	pid_t pid;
	int r, status;

	fflush(stdout);
	sync();
	if ((r = posix_spawnp(&pid, "reboot", NULL, NULL, argv,
	    environ)) != 0)
		return err_set(e, -r, "reboot: %s", strerror(r));
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return err_set(e, -errno, "reboot: waitpid: %s",
			    strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(e, -ECHILD, "reboot failed");
	return 0;
}

int
device_save_state(const struct device *d, struct err *e)
{
	return state_save(d->config->data_directory, d->state, e);
}

void
device_free(struct device *d)
{
	if (d == NULL)
		return;
	if (d->env_ops != NULL)
		d->env_ops->close(d->env);
	if (d->lockfd != -1)
		close(d->lockfd);
	state_free(d->state);
	config_free(d->config);
	free(d);
}

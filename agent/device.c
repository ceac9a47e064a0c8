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
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/err.h"
#include "agent/state.h"
#include "agent/util.h"
#include "slots/bootenv.h"

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
	if (*so == '\0' && *sb == '\0')
		return;
	memset(st, 0, sizeof(*st));
	if (strcmp(so, "bad") != 0)
		bootstate_mark_good(st, other, n);
	if (strcmp(sb, "bad") != 0 || st->order[0] == '\0')
		bootstate_mark_good(st, d->booted, n);
	if (strcmp(so, "trial") == 0)
		bootstate_arm(st, other, n);
	bootstate_order_format(st, order);
	fprintf(stderr, "upkit: boot env holds no BOOT_ORDER (blank or "
	    "corrupt); rebuilt from state.json: BOOT_ORDER=\"%s\" "
	    "BOOT_A_LEFT=%d BOOT_B_LEFT=%d\n", order, st->left[0],
	    st->left[1]);
}

int
device_open(const char *config_path, struct device **dp,
    enum device_stage *stagep, struct err *e)
{
	struct device *d;
	enum device_stage stage = DEVICE_CONFIG;
	const char *envpath;
	int r;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) != NULL)
		d->lockfd = -1;
	if (d == NULL) {
		r = err_set(e, -ENOMEM, "device: out of memory");
		goto fail;
	}
	if ((r = config_load(config_path, &d->config, e)) < 0)
		goto fail;
	stage = DEVICE_STATE;
	if ((r = state_load(d->config->data_directory, &d->state, e)) < 0)
		goto fail;
	stage = DEVICE_BOOTENV;
	/* config_load() has checked the name with bootenv_find(). */
	if ((d->env_ops = bootenv_find(d->config->bootloader)) == NULL) {
		r = err_set(e, -EINVAL, "%s: bootloader %s: not built in",
		    d->config->path, d->config->bootloader);
		goto fail;
	}
	envpath = config_bootenv_path(d->config);
	if ((r = d->env_ops->open(envpath, &d->env, e)) < 0)
		goto fail;
	r = d->env_ops->load(d->env, &d->boot, e);
	if (r == -ENOENT) {
		d->boot_unset = 1;
		err_clear(e);
	} else if (r < 0)
		goto fail;
	report_repair(d, e);
	stage = DEVICE_CMDLINE;
	if ((r = booted_slot(d->config->cmdline, &d->booted, e)) < 0)
		goto fail;
	if (d->boot_unset)
		rebuild_boot(d);
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
	static const int codes[] = {
		[DEVICE_CONFIG] = EXIT_CONFIG,
		[DEVICE_STATE] = EXIT_FAIL,
		[DEVICE_BOOTENV] = EXIT_BOOTENV,
		[DEVICE_CMDLINE] = EXIT_CONFIG,
	};

	return codes[stage];
}

int
device_lock(struct device *d, struct err *e)
{
	const char *dir = d->config->data_directory;
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
	return 0;
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

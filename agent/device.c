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

#include "agent/config.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/lifecycle.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"
#include "source/source.h"

extern char **environ;

/* A backend that repaired a torn or garbage env on load says so through
 * the pseudo-variable upkit.repair, and one whose env a power cut could
 * tear through upkit.warning; a person must hear about either. */
static void
report_repair(struct device *d, struct err *e)
{
	char *msg = NULL;

	if (d->env_ops->get(d->env, "upkit.repair", &msg, e) == 0 &&
	    msg != NULL)
		fprintf(stderr, "upkit: boot env repaired: %s\n", msg);
	free(msg);
	msg = NULL;
	err_clear(e);
	if (d->env_ops->get(d->env, "upkit.warning", &msg, e) == 0 &&
	    msg != NULL)
		fprintf(stderr, "upkit: warning: %s\n", msg);
	free(msg);
	err_clear(e);
}

/* Reads state.json, the env and the booted slot, and reconciles them. */
static int
load(struct device *d, enum device_stage *stagep, struct err *e)
{
	const char *envpath = config_bootenv_path(d->config);
	struct bootenv_opts opts = { d->config->efi_efivarfs,
	    d->config->boot_attempts };
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
	if ((r = d->env_ops->open(envpath, &d->env, e)) < 0 ||
	    (d->env_ops->configure != NULL &&
	    (r = d->env_ops->configure(d->env, &opts, e)) < 0))
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
	/* A bootloader that says what it booted (systemd-boot, whose
	 * UKIs carry a signed command line without upkit.slot=) is the
	 * only word on it: guessing A when it says nothing could commit
	 * or roll back the wrong slot. */
	*stagep = DEVICE_BOOTENV;
	if (d->env_ops->booted != NULL &&
	    (r = d->env_ops->booted(d->env, &d->booted, e)) < 0)
		return r;
	if (d->boot_unset)
		lifecycle_rebuild(d);
	*stagep = DEVICE_STATE;
	r = lifecycle_reconcile(d, e);
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
	if ((r = config_load(config_path, &d->config, e)) < 0)
		goto fail;
	/* No boot selection to read, show or change: only update runs,
	 * and before any device_open() (agent/reimage.c). */
	if (config_reimage(d->config)) {
		r = err_set(e, -EINVAL, "%s: bootloader = none: this machine "
		    "is only reimaged (upkit update, docs/reimage.md); it has "
		    "no boot selection or state", d->config->path);
		goto fail;
	}
	if ((r = config_check_data_directory(d->config, e)) < 0)
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
	device_unlock(d);
	if ((d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", path, strerror(-r));
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1) {
		r = -errno;
		device_unlock(d);
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

void
device_unlock(struct device *d)
{
	if (d->lockfd != -1)
		close(d->lockfd);
	d->lockfd = -1;
}

void
device_free(struct device *d)
{
	if (d == NULL)
		return;
	if (d->env_ops != NULL)
		d->env_ops->close(d->env);
	device_unlock(d);
	state_free(d->state);
	config_free(d->config);
	free(d);
}

void
device_source_options(const struct config *cfg, struct source_options *o)
{
	memset(o, 0, sizeof(*o));
	o->ca = cfg->server_ca;
	o->pin = cfg->server_pin;
	o->cert = cfg->server_cert;
	o->key = cfg->server_key;
	o->stall_timeout = (unsigned)cfg->server_stall;
	o->connect_timeout = (unsigned)cfg->server_connect;
	o->retries = (unsigned)cfg->server_retries;
	o->backoff_ms = (unsigned)cfg->server_backoff;
	o->backoff_max_ms = (unsigned)cfg->server_backoff_max;
}

/* [system] device-id, else the first line of machine-id-file. */
int
device_id_get(const struct config *cfg, char *out, size_t outsz, struct err *e)
{
	char *text = NULL;
	size_t len, n;
	int r;

	if (cfg->device_id != NULL) {
		snprintf(out, outsz, "%s", cfg->device_id);
		return 0;
	}
	if ((r = file_read(cfg->machine_id_file, 4096, &text, &len, e)) < 0)
		return err_prefix(e, "no [system] device-id");
	for (n = 0; n < len && n + 1 < outsz && text[n] != '\n' &&
	    text[n] != '\r'; n++)
		out[n] = text[n];
	out[n] = '\0';
	free(text);
	if (n == 0)
		return err_set(e, -EINVAL, "no [system] device-id, and %s is "
		    "empty", cfg->machine_id_file);
	return 0;
}

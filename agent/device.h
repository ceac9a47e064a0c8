/*
 * agent/device: the device as the agent's commands see it: the config,
 * the state in the data directory, the bootloader env (backend chosen by
 * [system] bootloader) with its boot selection loaded, and the slot the
 * running system booted from. Opening reads; it changes nothing on disk.
 * Where env and state.json disagree on the trial slot or the security
 * floor, the env wins (docs/boot-selection.md), in d->state too: the
 * reconcile and the rebuild of a blank env are agent/lifecycle.c's.
 */
#ifndef AGENT_DEVICE_H
#define AGENT_DEVICE_H

#include <stddef.h>

#include "slots/boot/bootenv.h"

struct err;
struct config;
struct state;

/* Which step of device_open() failed, for the command's exit code. */
enum device_stage {
	DEVICE_CONFIG,		/* config file: EXIT_CONFIG */
	DEVICE_STATE,		/* DATA/state.json */
	DEVICE_BOOTENV,		/* bootloader env: EXIT_BOOTENV */
	DEVICE_CMDLINE,		/* kernel command line (booted slot) */
};

struct device {
	struct config			*config;
	struct state			*state;
	const struct bootenv_ops	*env_ops;
	struct bootenv			*env;
	struct bootstate		 boot;	/* as loaded */
	/* The env had no BOOT_ORDER yet: boot is bootstate_default(). */
	int				 boot_unset;
	char				 booted;	/* 'A' or 'B' */
	int				 lockfd;	/* DATA/lock, or -1 */
	int				 loads;	/* times state and env were read */
};

/* Loads config_path (see config_path()), DATA/state.json, the bootloader
 * env and the booted boot name. On failure *stagep (if not NULL) says
 * which step failed. Free *dp with device_free(). */
int	device_open(const char *config_path, struct device **dp,
	    enum device_stage *stagep, struct err *e);
/* The exit code (agent/cmd.h) for a device_open() failure at stage,
 * from agent/exitcode's table. */
int	device_exit_code(enum device_stage stage);
/* Takes DATA/lock (flock, not waiting) for a command that changes the
 * env, a slot or the state; -EBUSY at once if another upkit holds it.
 * Then reads state and env again, as they are under the lock. Released
 * by device_unlock() or device_free(). Reading commands never take it,
 * and the env itself is locked only inside each read and store
 * (slots/boot/uboot.c). */
int	device_lock(struct device *d, struct err *e);
/* Releases DATA/lock; what d holds of the state may then go stale, and
 * device_lock() reads it again. Accepts a device without the lock. */
void	device_unlock(struct device *d);
/* Flushes and runs the system's reboot command; returns only if that
 * failed (or, in tests, if a stand-in returns). */
int	device_reboot(struct err *e);
void	device_free(struct device *d);		/* accepts NULL */

/* [server]'s TLS, timeout and retry keys as the byte source takes them,
 * for every request upkit makes: the bundle's GET, the channel's and the
 * reports' PUT (those last two ignore the retry keys). */
struct source_options;
void	device_source_options(const struct config *cfg,
	    struct source_options *o);

/* [system] device-id, else the first line of [system] machine-id-file,
 * into out (outsz bytes): the id of the daemon's rollout and of the
 * reports. 0, or -errno with e set if neither gives one. */
int	device_id_get(const struct config *cfg, char *out, size_t outsz,
	    struct err *e);

#endif /* AGENT_DEVICE_H */

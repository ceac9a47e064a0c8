/*
 * U-Boot env backend on libubootenv, configured by a fw_env.config (one
 * line per copy: device or file, offset, size). Each commit is one
 * libuboot_env_store(): with two copies libubootenv writes the inactive
 * one and only then flips the flag, so a power cut leaves the old or the
 * new env. A single copy is rewritten in place: power-safe only while
 * its variables fit in one 512-byte sector (check_size() warns).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libuboot.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"

#define SECTOR		512
#define WARNING_VAR	"upkit.warning"

struct bootenv {
	struct uboot_ctx	*ctx;
	char			*path;		/* fw_env.config, for messages */
	int			 copies;	/* env copies the config names */
	/* The values of bootstate_names[] as last read (NULL: unset). */
	char			*val[BOOTENV_VARS];
	char			 warning[400];	/* as of the last read, or "" */
};

static void
vals_free(struct bootenv *b)
{
	int i;

	for (i = 0; i < BOOTENV_VARS; i++) {
		free(b->val[i]);
		b->val[i] = NULL;
	}
}

static void
uboot_close(struct bootenv *b)
{
	if (b == NULL)
		return;
	if (b->ctx != NULL)
		libuboot_exit(b->ctx);
	vals_free(b);
	free(b->path);
	free(b);
}

/*
 * Reads the env from storage into b->ctx. libubootenv takes its
 * machine-wide lock (/var/lock/fw_printenv.lock, the one fw_printenv and
 * fw_setenv wait on) here and drops it in libuboot_close(): every caller
 * closes as soon as it has read or stored, so no command holds the lock
 * longer than one env read or store, however long an install runs.
 */
static int
env_open(struct bootenv *b, struct err *e)
{
	int r;

	r = libuboot_open(b->ctx);
	/*
	 * -ENODATA: no copy has a valid CRC (a blank, zero-filled or
	 * garbage env). libubootenv then holds an empty variable list and
	 * a store writes a valid env, which is exactly how a first commit
	 * should behave: load reports -ENOENT and the agent starts from
	 * bootstate_default().
	 */
	if (r < 0 && r != -ENODATA) {
		libuboot_close(b->ctx);
		return err_set(e, r, "u-boot env %s: open: %s", b->path,
		    strerror(-r));
	}
	return 0;
}

/*
 * One copy is rewritten in place, and libubootenv writes its variables
 * over the bytes it read and keeps the ones after them: a store changes
 * only the sectors that hold variables. While they fit in the first
 * 512-byte sector (CRC included), a torn store leaves the old or the new
 * env whole; past it, a tear can mix them and fail the CRC, and the boot
 * script then falls back to its default slot, whatever runs (the
 * power-cut simulator's "singlebig", docs/powercut.md). Say so.
 */
static void
check_size(struct bootenv *b)
{
	const char *name, *value;
	size_t used = 4 + 1;	/* the CRC, the NUL that ends the list */
	void *it = NULL;

	b->warning[0] = '\0';
	if (b->copies != 1)
		return;
	while ((it = libuboot_iterator(b->ctx, it)) != NULL) {
		name = libuboot_getname(it);
		value = libuboot_getvalue(it);
		used += (name != NULL ? strlen(name) : 0) + 1 +
		    (value != NULL ? strlen(value) : 0) + 1;
	}
	if (used > SECTOR)
		snprintf(b->warning, sizeof(b->warning), "u-boot env %s: one "
		    "copy holding %zu bytes of variables, more than one "
		    "%d-byte sector: a power cut during a store can leave a "
		    "bad CRC, and the boot script then boots its default "
		    "slot; use two copies or fewer variables", b->path, used,
		    SECTOR);
}

/* Reads the env and keeps upkit's variables; the lock is held only
 * inside. */
static int
env_read(struct bootenv *b, struct err *e)
{
	int i, r;

	if ((r = env_open(b, e)) < 0)
		return r;
	vals_free(b);
	/* libuboot_get_env returns a malloc'd copy, or NULL if unset. */
	for (i = 0; i < BOOTENV_VARS; i++)
		b->val[i] = libuboot_get_env(b->ctx, bootstate_names[i]);
	check_size(b);
	libuboot_close(b->ctx);
	return 0;
}

/* How many env copies (lines naming a device or file) the config has. */
static int
count_copies(const char *path)
{
	char line[512], dev[256];
	int n = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %255s", dev) == 1 && dev[0] != '#')
			n++;
	fclose(f);
	return n;
}

static int
uboot_open(const char *path, struct bootenv **bp, struct err *e)
{
	struct bootenv *b;
	int r;

	*bp = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->path = strdup(path)) == NULL) {
		r = err_set(e, -ENOMEM, "u-boot env %s: out of memory", path);
		goto fail;
	}
	if ((r = libuboot_initialize(&b->ctx, NULL)) < 0) {
		b->ctx = NULL;
		err_set(e, r, "u-boot env %s: initialize: %s", path,
		    strerror(-r));
		goto fail;
	}
	/* libubootenv 0.3.2 also checks each env device or file here, and
	 * says -EINVAL when one is missing. */
	if ((r = libuboot_read_config(b->ctx, path)) < 0) {
		err_set(e, r, "u-boot env %s: config unreadable or names a "
		    "missing env device: %s", path, strerror(-r));
		goto fail;
	}
	b->copies = count_copies(path);
	if ((r = env_read(b, e)) < 0)
		goto fail;
	*bp = b;
	return 0;
fail:
	uboot_close(b);
	return r;
}

static int
uboot_get(struct bootenv *b, const char *name, char **valp, struct err *e)
{
	int r;

	*valp = NULL;
	if (strcmp(name, "upkit.repair") == 0)
		return 0;		/* libubootenv repairs nothing */
	if (strcmp(name, WARNING_VAR) == 0) {
		if (b->warning[0] != '\0' &&
		    (*valp = strdup(b->warning)) == NULL)
			return err_set(e, -ENOMEM, "u-boot env %s: out of "
			    "memory", b->path);
		return 0;
	}
	if ((r = env_open(b, e)) < 0)
		return r;
	*valp = libuboot_get_env(b->ctx, name);
	libuboot_close(b->ctx);
	return 0;
}

static int
uboot_load(struct bootenv *b, struct bootstate *st, struct err *e)
{
	int r;

	if ((r = bootstate_decode((const char *const *)b->val, st, e)) < 0)
		return err_prefix(e, "u-boot env %s", b->path);
	return 0;
}

/*
 * Some libubootenv releases fsync an env file only when it is an eMMC
 * boot partition with a force_ro switch; a plain file (uboot.env on the
 * FAT boot partition) may then still be in the page cache when the
 * update reports success. So fsync every device the config names.
 */
static int
sync_devices(struct bootenv *b, struct err *e)
{
	char line[512], dev[256];
	FILE *f;
	int fd, r = 0;

	if ((f = fopen(b->path, "re")) == NULL)
		return err_set(e, -errno, "u-boot env %s: %s", b->path,
		    strerror(errno));
	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %255s", dev) != 1 || dev[0] == '#')
			continue;
		if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) == -1)
			continue;	/* libubootenv opened it, or said so */
		if (fsync(fd) == -1 || syncfs(fd) == -1)
			r = err_set(e, -EIO, "u-boot env %s: fsync %s: %s",
			    b->path, dev, strerror(errno));
		close(fd);
	}
	fclose(f);
	return r;
}

static int
uboot_commit(struct bootenv *b, const struct bootstate *st, struct err *e)
{
	struct bootstate_text t;
	int i, r;

	/* Check everything before opening, so a refused state leaves
	 * nothing half set. */
	if ((r = bootstate_encode(st, &t, e)) < 0)
		return err_prefix(e, "u-boot env %s", b->path);
	/*
	 * A fresh read before each store: libubootenv 0.3.2 flips to the
	 * other copy after a store but keeps the old flag value, so a
	 * second store in one session would write the same flag to both
	 * copies. It also picks up what others, such as the boot script,
	 * changed since.
	 */
	if ((r = env_open(b, e)) < 0)
		return r;
	for (i = 0; i < BOOTENV_VARS; i++)
		if ((r = libuboot_set_env(b->ctx, bootstate_names[i],
		    t.val[i])) < 0) {
			err_set(e, r, "u-boot env %s: set %s: %s", b->path,
			    bootstate_names[i], strerror(-r));
			goto out;
		}
	/* The one write of the transition; see the top of the file. */
	if ((r = libuboot_env_store(b->ctx)) < 0)
		err_set(e, r, "u-boot env %s: store: %s", b->path,
		    strerror(-r));
out:
	libuboot_close(b->ctx);
	if (r < 0)
		return r;
	if ((r = sync_devices(b, e)) < 0)
		return r;
	return env_read(b, e);
}

const struct bootenv_ops uboot_ops = {
	.name = "uboot",
	.open = uboot_open,
	.load = uboot_load,
	.commit = uboot_commit,
	.get = uboot_get,
	.close = uboot_close,
};

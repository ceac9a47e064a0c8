/*
 * U-Boot env backend on libubootenv, configured by a fw_env.config (one
 * line per copy: device or file, offset, size). Each commit is one
 * libuboot_env_store(): with two copies libubootenv writes the inactive
 * one and only then flips the flag, so a power cut leaves the old or the
 * new env. A single copy is rewritten in place and is not power-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libuboot.h>

#include "agent/err.h"
#include "slots/bootenv.h"

struct bootenv {
	struct uboot_ctx	*ctx;
	char			*path;		/* fw_env.config, for messages */
	int			 opened;	/* libuboot_open() was called */
};

static const char *const left_vars[BOOTENV_SLOTS] = {
	"BOOT_A_LEFT",
	"BOOT_B_LEFT",
};

static void
uboot_close(struct bootenv *b)
{
	if (b == NULL)
		return;
	if (b->opened)
		libuboot_close(b->ctx);
	if (b->ctx != NULL)
		libuboot_exit(b->ctx);
	free(b->path);
	free(b);
}

/* Reads the env from storage into b->ctx. */
static int
env_load(struct bootenv *b, struct err *e)
{
	int r;

	r = libuboot_open(b->ctx);
	b->opened = 1;
	/*
	 * -ENODATA: no copy has a valid CRC (a blank, zero-filled or
	 * garbage env). libubootenv then holds an empty variable list and
	 * a store writes a valid env, which is exactly how a first commit
	 * should behave: load reports -ENOENT and the agent starts from
	 * bootstate_default().
	 */
	if (r < 0 && r != -ENODATA)
		return err_set(e, r, "u-boot env %s: open: %s", b->path,
		    strerror(-r));
	return 0;
}

static int
reopen(struct bootenv *b, struct err *e)
{
	if (b->opened) {
		libuboot_close(b->ctx);
		b->opened = 0;
	}
	return env_load(b, e);
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
	if ((r = env_load(b, e)) < 0)
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
	(void)e;
	/* libuboot_get_env returns a malloc'd copy, or NULL if unset. */
	*valp = libuboot_get_env(b->ctx, name);
	return 0;
}

static int
uboot_load(struct bootenv *b, struct bootstate *st, struct err *e)
{
	struct bootstate new;
	char *v = NULL;
	int i, r;

	if ((v = libuboot_get_env(b->ctx, "BOOT_ORDER")) == NULL)
		return err_set(e, -ENOENT, "u-boot env %s: no BOOT_ORDER",
		    b->path);
	if ((r = bootstate_order_parse(v, &new, e)) < 0)
		goto fail;
	for (i = 0; i < BOOTENV_SLOTS; i++) {
		free(v);
		/* A counter never set counts as no attempts left. */
		new.left[i] = 0;
		if ((v = libuboot_get_env(b->ctx, left_vars[i])) == NULL)
			continue;
		if ((r = bootstate_left_parse(left_vars[i], v, &new.left[i],
		    e)) < 0)
			goto fail;
	}
	free(v);
	*st = new;
	return 0;
fail:
	free(v);
	return err_prefix(e, "u-boot env %s", b->path);
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
	char order[2 * BOOTENV_SLOTS], left[8];
	int i, r;

	/* Check everything before changing the in-memory env, so a
	 * refused state leaves nothing half set for a later store. */
	for (i = 0; i < BOOTENV_SLOTS; i++)
		if (st->left[i] < 0 || st->left[i] > 99)
			return err_set(e, -EINVAL, "u-boot env %s: %s=%d out "
			    "of range 0..99", b->path, left_vars[i],
			    st->left[i]);
	/*
	 * libubootenv 0.3.2 flips to the other copy after a store but keeps
	 * the old flag value, so a second store in one session writes the
	 * same flag to both copies and a reader may pick the older one.
	 * Reloading makes every commit a fresh session (and picks up what
	 * others, such as the boot script, changed since open).
	 */
	if ((r = reopen(b, e)) < 0)
		return r;
	bootstate_order_format(st, order);
	if ((r = libuboot_set_env(b->ctx, "BOOT_ORDER", order)) < 0)
		return err_set(e, r, "u-boot env %s: set BOOT_ORDER: %s",
		    b->path, strerror(-r));
	for (i = 0; i < BOOTENV_SLOTS; i++) {
		snprintf(left, sizeof(left), "%d", st->left[i]);
		if ((r = libuboot_set_env(b->ctx, left_vars[i], left)) < 0)
			return err_set(e, r, "u-boot env %s: set %s: %s",
			    b->path, left_vars[i], strerror(-r));
	}
	/* The one write of the transition; see the top of the file. */
	if ((r = libuboot_env_store(b->ctx)) < 0)
		return err_set(e, r, "u-boot env %s: store: %s", b->path,
		    strerror(-r));
	return sync_devices(b, e);
}

const struct bootenv_ops uboot_ops = {
	.name = "uboot",
	.open = uboot_open,
	.load = uboot_load,
	.commit = uboot_commit,
	.get = uboot_get,
	.close = uboot_close,
};

/*
 * U-Boot env backend on libubootenv, configured by a fw_env.config (one
 * line per copy: device or file, offset, size). Each commit is one store:
 * with two copies libubootenv writes the inactive one and only then
 * flips the flag, so a power cut leaves the old or the new env. A single
 * copy is rewritten in place, by store_one() when it is a file or a block
 * device: zeros after the variables, as U-Boot's env export writes, and
 * only the sectors that changed. Power-safe while its variables fit in
 * one 512-byte sector (check_size() warns).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <libuboot.h>
#include <zlib.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"

#define SECTOR		512
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define WARNING_VAR	"upkit.warning"

struct bootenv {
	struct uboot_ctx	*ctx;
	char			*path;		/* fw_env.config, for messages */
	int			 copies;	/* env copies the config names */
	/* The first copy as the config names it; store_one() writes it
	 * when it is the only one, on a file or block device. */
	char			 dev[256];
	long long		 off;
	size_t			 size;
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
 * One copy is rewritten in place, and store_one() and U-Boot's env
 * export both write zeros after the variables: a store changes only the
 * sectors that hold variables. While they fit in the first 512-byte
 * sector (CRC included), a torn store leaves the old or the new env
 * whole; past it, a tear can mix them and fail the CRC, and the boot
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

/*
 * How many env copies the config names, and the first one's device,
 * offset and size, read as libubootenv reads them ("%lli %zx"): lines
 * with a device, an offset and a size; '#' starts a comment.
 */
static int
count_copies(struct bootenv *b)
{
	char line[512], dev[256];
	long long off;
	size_t size;
	int n = 0;
	FILE *f;

	if ((f = fopen(b->path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || sscanf(line, "%255s %lli %zx", dev, &off,
		    &size) != 3)
			continue;
		if (n++ == 0) {
			snprintf(b->dev, sizeof(b->dev), "%s", dev);
			b->off = off;
			b->size = size;
		}
	}
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
	b->copies = count_copies(b);
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

/*
 * The ".flags" entry of a copy whose CRC holds, or NULL. libubootenv
 * keeps it as the variables' attributes, not as a variable, and writes
 * it back after the rest; store_one() does the same with the bytes.
 */
static const char *
copy_flags(const unsigned char *img, size_t size)
{
	uint32_t crc;
	size_t at;

	memcpy(&crc, img, sizeof(crc));
	if (crc != (uint32_t)crc32(0, img + 4, (uInt)(size - 4)))
		return NULL;
	for (at = 4; at < size && img[at] != '\0';
	    at += strnlen((const char *)img + at, size - at) + 1)
		if (strncmp((const char *)img + at, ".flags=", 7) == 0 &&
		    memchr(img + at, '\0', size - at) != NULL)
			return (const char *)img + at;
	return NULL;
}

/* Appends "name=value" (value NULL: name alone as it is) and its NUL at
 * *at; -ENOSPC unless the NUL that ends the list fits after it too. */
static int
put_entry(unsigned char *img, size_t size, size_t *at, const char *name,
    const char *value)
{
	size_t n = strlen(name) + (value != NULL ? 1 + strlen(value) : 0) + 1;

	if (*at + n + 1 > size)
		return -ENOSPC;
	if (value != NULL)
		snprintf((char *)img + *at, n, "%s=%s", name, value);
	else
		memcpy(img + *at, name, n);
	*at += n;
	return 0;
}

/*
 * The image of the env held in b->ctx, as libubootenv's store lays it
 * out (CRC, then each "name=value" and a NUL, ".flags" last, a NUL that
 * ends the list), but with zeros after the list where libubootenv 0.3.2
 * writes whatever its fresh malloc() held: with those bytes in the CRC,
 * its store can change every sector of the copy, and U-Boot's next save
 * (zeros after its variables) every one back (docs/powercut.md, "The
 * bytes after the variables").
 */
static int
env_image(struct bootenv *b, const unsigned char *old, unsigned char *img,
    struct err *e)
{
	const char *flags = copy_flags(old, b->size);
	size_t at = 4;
	uint32_t crc;
	void *it = NULL;
	int r = 0;

	memset(img, 0, b->size);
	while (r == 0 && (it = libuboot_iterator(b->ctx, it)) != NULL)
		r = put_entry(img, b->size, &at, libuboot_getname(it),
		    libuboot_getvalue(it));
	if (r == 0 && flags != NULL)
		r = put_entry(img, b->size, &at, flags, NULL);
	if (r < 0)
		return err_set(e, r, "u-boot env %s: the variables do not fit "
		    "its %zu bytes", b->path, b->size);
	crc = (uint32_t)crc32(0, img + 4, (uInt)(b->size - 4));
	memcpy(img, &crc, sizeof(crc));
	return 0;
}

/*
 * The store of the only copy, on a file or block device (an MTD or UBI
 * copy, or one at an offset from the end, is libubootenv's): the image
 * of env_image(), and of it only the span of 512-byte sectors (absolute
 * on the device) that differ from what the copy holds, in one write.
 * The caller holds libubootenv's lock (env_open()) and syncs
 * (sync_devices()).
 */
static int
store_one(struct bootenv *b, struct err *e)
{
	unsigned char *old, *img = NULL;
	size_t p, q, first = 0, end = 0;
	int fd = -1, r;

	if ((old = malloc(b->size)) == NULL ||
	    (img = malloc(b->size)) == NULL) {
		r = err_set(e, -ENOMEM, "u-boot env %s: out of memory",
		    b->path);
		goto out;
	}
	if ((fd = open(b->dev, O_RDWR | O_CLOEXEC)) == -1) {
		r = err_set(e, -errno, "u-boot env %s: %s: %s", b->path,
		    b->dev, strerror(errno));
		goto out;
	}
	if ((r = pread_all(fd, old, b->size, (uint64_t)b->off)) < 0) {
		err_set(e, r, "u-boot env %s: read %s: %s", b->path, b->dev,
		    strerror(-r));
		goto out;
	}
	if ((r = env_image(b, old, img, e)) < 0)
		goto out;
	for (p = 0; p < b->size; p = q) {
		q = p + SECTOR - (size_t)((b->off + (long long)p) % SECTOR);
		q = MIN(q, b->size);
		if (memcmp(old + p, img + p, q - p) == 0)
			continue;
		if (end == 0)
			first = p;
		end = q;
	}
	if (end > first && (r = pwrite_all(fd, img + first, end - first,
	    (uint64_t)b->off + first)) < 0)
		err_set(e, r, "u-boot env %s: write %s: %s", b->path, b->dev,
		    strerror(-r));
out:
	if (fd != -1)
		close(fd);
	free(old);
	free(img);
	return r;
}

/*
 * Whether store_one() stores this env: one copy, at an offset from the
 * start of a regular file or a block device, as stat() finds the node,
 * whatever its name. Left to libubootenv: what it takes for MTD or UBI
 * by the name ("/dev/mtd...", "/dev/ubi...": it erases first), and a
 * block device with a force_ro switch in sysfs (an eMMC boot partition,
 * whose switch libubootenv lifts first).
 */
static int
store_is_own(const struct bootenv *b)
{
	char ro[64];
	struct stat st;

	if (b->copies != 1 || b->off < 0 || b->size <= 5 ||
	    strncmp(b->dev, "/dev/mtd", 8) == 0 ||
	    strncmp(b->dev, "/dev/ubi", 8) == 0 || stat(b->dev, &st) == -1)
		return 0;
	if (S_ISREG(st.st_mode))
		return 1;
	snprintf(ro, sizeof(ro), "/sys/dev/block/%u:%u/force_ro",
	    major(st.st_rdev), minor(st.st_rdev));
	return S_ISBLK(st.st_mode) && access(ro, F_OK) != 0;
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
	if (store_is_own(b))
		r = store_one(b, e);
	else if ((r = libuboot_env_store(b->ctx)) < 0)
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

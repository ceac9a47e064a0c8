/*
 * fuzz_grubenv: the GRUB env backend through its ops, on files in a
 * tmpfs folder. Input: a 2-byte little-endian length L, then L bytes of
 * grubenv, and the rest (if any) as its backup grubenv.upkit, so the
 * repair from a backup is fuzzed too. Whatever load makes of it, a
 * commit of a fixed state must either not fit (-ENOSPC) or succeed and
 * load back, from a fresh open, as that state with nothing to repair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], env[128], backup[128], tmp[128];

static void
cleanup(void)
{
	unlink(env);
	unlink(backup);
	unlink(tmp);
	rmdir(dir);
}

static void
put(const char *path, const uint8_t *data, size_t len)
{
	ssize_t w;
	size_t off;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	for (off = 0; off < len; off += (size_t)w)
		if ((w = write(fd, data + off, len - off)) <= 0)
			abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bootstate want = {
		.order = "BA", .left = { 0, 3 }, .trial = 'B',
		.trial_floor = 7, .floor = 5,
	};
	const struct bootenv_ops *ops = bootenv_find("grub");
	struct bootenv *b;
	struct bootstate st;
	struct err e;
	size_t glen;
	char *val;
	int r;

	if (dir[0] == '\0') {
		/* tmpfs when there is one: the fsyncs cost nothing. */
		snprintf(dir, sizeof(dir), "/dev/shm/fuzz_grubenv.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof(dir), "/tmp/fuzz_grubenv.XXXXXX");
			if (mkdtemp(dir) == NULL)
				abort();
		}
		snprintf(env, sizeof(env), "%s/grubenv", dir);
		snprintf(backup, sizeof(backup), "%s.upkit", env);
		snprintf(tmp, sizeof(tmp), "%s.upkit.tmp", env);
		atexit(cleanup);
	}
	if (ops == NULL || size < 2)
		return 0;
	glen = (size_t)data[0] | (size_t)data[1] << 8;
	data += 2;
	size -= 2;
	if (glen > size)
		glen = size;
	put(env, data, glen);
	if (size > glen)
		put(backup, data + glen, size - glen);
	else if (unlink(backup) == -1 && errno != ENOENT)
		abort();

	if (ops->open(env, &b, &e) != 0)
		abort();
	(void)ops->load(b, &st, &e);
	if (ops->get(b, "upkit.repair", &val, &e) == 0)
		free(val);
	if (ops->get(b, "BOOT_ORDER", &val, &e) == 0)
		free(val);
	r = ops->commit(b, &want, &e);
	ops->close(b);
	if (r == -ENOSPC)
		return 0;
	if (r != 0) {
		fprintf(stderr, "commit: %s\n", e.msg);
		abort();
	}
	if (ops->open(env, &b, &e) != 0 || ops->load(b, &st, &e) != 0) {
		fprintf(stderr, "load after commit: %s\n", e.msg);
		abort();
	}
	if (!bootstate_equal(&st, &want))
		abort();
	if (ops->get(b, "upkit.repair", &val, &e) != 0 || val != NULL)
		abort();
	ops->close(b);
	return 0;
}

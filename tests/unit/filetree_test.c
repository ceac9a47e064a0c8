/*
 * filetree_test: a files slot whose files live in subfolders
 * ("dtb/broadcom/x.dtb"), in a mkdtemp folder. The writer makes the
 * folders in the aside folder, fsyncs each new one before the swap,
 * refuses every bad path at every level without leaving anything
 * behind, and a later install of a flat folder removes the old tree.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/slot.h"
#include "tests/harness.h"

/* The folders fsync()ed so far, in order, by their paths. */
static char synced[64][PATH_MAX];
static size_t nsynced;

/*
 * This program's fsync(), which the writer (linked from libupkit.a)
 * calls too: the real syscall, and a note of what a folder's fd names.
 */
int
fsync(int fd)
{
	char link[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && nsynced < 64) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, synced[nsynced], PATH_MAX - 1);
		if (n > 0) {
			synced[nsynced][n] = '\0';
			nsynced++;
		}
	}
	return (int)syscall(SYS_fsync, fd);
}

/* The index of path among the folders synced since the log was reset,
 * or -1. */
static int
synced_at(const char *path)
{
	char real[PATH_MAX];
	size_t i;

	CHECK(realpath(path, real) != NULL);
	for (i = 0; i < nsynced; i++)
		if (strcmp(synced[i], real) == 0)
			return (int)i;
	return -1;
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static unsigned
mode_of(const char *p)
{
	struct stat st;

	CHECK(lstat(p, &st) == 0);
	return st.st_mode & 07777;
}

/* The payload bytes: byte i is (i * 7 + 3) & 0xff. */
static void
fill(unsigned char *b, size_t len, size_t from)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)((from + i) * 7 + 3);
}

/* The file at p holds the len payload bytes from off. */
static int
holds(const char *p, size_t off, size_t len)
{
	unsigned char want[4096], got[4097];
	ssize_t n;
	int fd;

	CHECK(len <= sizeof(want));
	if ((fd = open(p, O_RDONLY)) == -1)
		return 0;
	n = read(fd, got, sizeof(got));
	close(fd);
	fill(want, len, off);
	return n == (ssize_t)len && memcmp(got, want, len) == 0;
}

/* Writes the whole payload of size bytes through w. */
static void
write_all_of(struct slot_writer *w, size_t size)
{
	unsigned char *b;
	struct err e;

	CHECK((b = malloc(size)) != NULL);
	fill(b, size, 0);
	CHECK_OK(slot_writer_pwrite(w, b, size, 0, &e), &e);
	free(b);
}

static const struct slot_file tree[] = {
	{ "kernel.uimg", 1000, 0644 },
	{ "dtb/broadcom/bcm2837-rpi-3-b.dtb", 300, 0600 },
	{ "dtb/broadcom/bcm2837-rpi-3-b-plus.dtb", 200, 0644 },
	{ "dtb/overlay.dtbo", 50, 0640 },
	{ "a/b/c/d/e/f/g/deep", 7, 0644 },	/* SLOT_FILE_DEPTH_MAX deep */
	{ "boot.scr", 43, 0755 },
};
#define TREE_N		(sizeof(tree) / sizeof(tree[0]))
#define TREE_SIZE	1600

/* The tree is installed at target: contents, file modes, folders 0755. */
static void
check_tree(const char *target)
{
	char p[PATH_MAX];
	size_t i, off = 0;

	for (i = 0; i < TREE_N; i++) {
		snprintf(p, sizeof(p), "%s/%s", target, tree[i].name);
		CHECK(holds(p, off, tree[i].size));
		CHECK(mode_of(p) == tree[i].mode);
		off += tree[i].size;
	}
	CHECK(off == TREE_SIZE);
	snprintf(p, sizeof(p), "%s/dtb/broadcom", target);
	CHECK(mode_of(p) == 0755);
	snprintf(p, sizeof(p), "%s/a/b/c/d/e/f/g", target);
	CHECK(mode_of(p) == 0755);
}

/* Every folder the tree needs was fsynced after the files were written
 * and before the swap, each before the folder holding it, the aside
 * folder last. */
static void
check_synced(const char *aside)
{
	static const char *const dirs[] = { "dtb/broadcom", "dtb",
	    "a/b/c/d/e/f/g", "a/b/c", "a" };
	char p[PATH_MAX], up[PATH_MAX];
	size_t i;
	int at_dir, at_up, at_aside;

	at_aside = synced_at(aside);
	CHECK(at_aside >= 0);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		CHECK(strlen(aside) + strlen(dirs[i]) + 2 <= sizeof(p));
		strcpy(p, aside);
		strcat(strcat(p, "/"), dirs[i]);
		memcpy(up, p, sizeof(up));
		*strrchr(up, '/') = '\0';
		CHECK((at_dir = synced_at(p)) >= 0);
		CHECK((at_up = synced_at(up)) >= 0);
		CHECK(at_dir < at_up && at_dir < at_aside);
	}
}

/* Bad paths at each level: refused before anything is written, no
 * aside folder left, nothing made outside the slot's parent. */
static void
test_refused(struct slot *s, const char *aside)
{
	static const char *const bad[] = {
		"../evil", "dtb/../../evil", "dtb/../evil", "/tmp/evil",
		"dtb//x", "dtb/", "dtb/./x", "./x", "", ".", "..", "dtb/..",
		"a/b/c/d/e/f/g/h/nine",
	};
	struct slot_file f[2] = { { "ok", 1, 0644 }, { NULL, 1, 0644 } };
	struct slot_writer *w;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f[1].name = bad[i];
		err_clear(&e);
		if (slot_writer_open(s, 2, f, 2, &w, &e) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK(strstr(e.msg, "bad name") != NULL);
		CHECK(!exists(aside));
	}
	CHECK(!exists(at("evil")) && !exists(at("boot/evil")) &&
	    !exists("/tmp/evil"));
	/* A file and a folder of one name, either order. */
	f[0].name = "dtb";
	f[1].name = "dtb/x";
	CHECK(slot_writer_open(s, 2, f, 2, &w, &e) == -ENOTDIR);
	CHECK(strstr(e.msg, "dtb/x") != NULL);
	CHECK(!exists(aside));
	f[0].name = "dtb/x";
	f[1].name = "dtb";
	CHECK(slot_writer_open(s, 2, f, 2, &w, &e) == -EEXIST);
	CHECK(!exists(aside));
}

int
main(void)
{
	char name[] = "boot.1", class[] = "boot";
	char target[PATH_MAX], aside[PATH_MAX];
	struct slot s = { name, class, 'B', SLOT_FILES, NULL, 0 };
	static const struct slot_file flat[] = { { "kernel", 10, 0644 } };
	struct slot_writer *w;
	struct err e;

	tmpdir_make("filetree_test");
	CHECK(mkdir(at("boot"), 0755) == 0);
	snprintf(target, sizeof(target), "%s", at("boot/B"));
	snprintf(aside, sizeof(aside), "%s", at("boot/.B.upkit-new"));
	s.device = target;

	/* The tree, written aside; the folders durable before the swap. */
	umask(077);
	CHECK_OK(slot_writer_open(&s, TREE_SIZE, tree, TREE_N, &w, &e), &e);
	write_all_of(w, TREE_SIZE);
	nsynced = 0;
	CHECK_OK(slot_writer_finish(w, &e), &e);
	check_synced(aside);
	CHECK(!exists(target));
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	umask(022);
	check_tree(target);

	/* The tree again over itself, then a flat folder over the tree:
	 * the old subfolders go with the old folder. */
	CHECK_OK(slot_writer_open(&s, TREE_SIZE, tree, TREE_N, &w, &e), &e);
	write_all_of(w, TREE_SIZE);
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	check_tree(target);
	CHECK_OK(slot_writer_open(&s, 10, flat, 1, &w, &e), &e);
	write_all_of(w, 10);
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	CHECK(holds(at("boot/B/kernel"), 0, 10));
	CHECK(!exists(at("boot/B/dtb")) && !exists(at("boot/B/a")));
	CHECK(!exists(at("boot/.B.upkit-old")) && !exists(aside));

	/* A tree written but not committed: the aside folder, subfolders
	 * and all, is gone and the slot untouched. */
	CHECK_OK(slot_writer_open(&s, TREE_SIZE, tree, TREE_N, &w, &e), &e);
	write_all_of(w, TREE_SIZE);
	slot_writer_free(w);
	CHECK(!exists(aside));
	CHECK(holds(at("boot/B/kernel"), 0, 10));

	test_refused(&s, aside);
	CHECK(holds(at("boot/B/kernel"), 0, 10));
	tmpdir_remove();
	return 0;
}

/*
 * identity_test: slots/identity.c and slots/blockdev.c on real files,
 * folders and symlinks in a mkdtemp folder; as root also on loop devices
 * (losetup), one with a partition table. Every spelling of one place
 * must give one identity.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/blockdev.h"
#include "slots/identity.h"
#include "tests/harness.h"

static char loops[2][64];
static int mounted;

static struct identity *
id(const char *p)
{
	struct identity *x;
	struct err e = { 0, "" };

	if (identity_open(p, &x, &e) < 0) {
		fprintf(stderr, "identity_open %s: %s\n", p, e.msg);
		exit(1);
	}
	return x;
}

static enum identity_rel
rel(const char *a, const char *b)
{
	struct identity *x = id(a), *y = id(b);
	enum identity_rel r = identity_compare(x, y);

	identity_free(x);
	identity_free(y);
	return r;
}

static int
within(const char *a, const char *folder)
{
	struct identity *x = id(a), *y = id(folder);
	struct err e = { 0, "" };
	int r = identity_within(x, y, &e);

	identity_free(x);
	identity_free(y);
	return r;
}

static void
make_file(const char *p)
{
	int fd;

	CHECK((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1);
	CHECK(ftruncate(fd, 4 << 20) == 0);
	close(fd);
}

static void
test_spellings(void)
{
	CHECK(rel(at("a.img"), at("a.img")) == IDENTITY_SAME);
	CHECK(rel(at("a.img"), at("./a.img")) == IDENTITY_SAME);
	CHECK(rel(at("a.img"), at("/a.img")) == IDENTITY_SAME);
	CHECK(rel(at("a.img"), at("d//../a.img")) == IDENTITY_SAME);
	CHECK(rel(at("a.img"), at("la")) == IDENTITY_SAME);
	CHECK(rel(at("a.img"), at("ld/../a.img")) == IDENTITY_SAME);
	CHECK(rel(at("a.img"), at("b.img")) == IDENTITY_APART);
	/* A hard link is the same inode under another name. */
	CHECK(rel(at("a.img"), at("hard")) == IDENTITY_SAME);
	CHECK(rel(at("d/A"), at("d/A/")) == IDENTITY_SAME);
	CHECK(rel(at("d/A"), at("d/A/.")) == IDENTITY_SAME);
	CHECK(rel(at("d/A"), at("ld/A//")) == IDENTITY_SAME);
	CHECK(rel(at("d/A"), at("d/B")) == IDENTITY_APART);
	/* Folders are inodes: what lies inside is identity_within's. */
	CHECK(rel(at("d"), at("d/A")) == IDENTITY_APART);
	/* Relative to the working folder. */
	CHECK(chdir(dir) == 0);
	CHECK(rel("a.img", at("a.img")) == IDENTITY_SAME);
	CHECK(rel("./d/../la", at("a.img")) == IDENTITY_SAME);
	CHECK(chdir("/") == 0);
}

static void
test_missing(void)
{
	struct identity *x;
	struct err e = { 0, "" };

	CHECK(rel(at("d/new"), at("d/new")) == IDENTITY_SAME);
	CHECK(rel(at("d/new"), at("d/./new/")) == IDENTITY_SAME);
	CHECK(rel(at("d/new"), at("ld/new")) == IDENTITY_SAME);
	CHECK(rel(at("d/new"), at("d/x/../new")) == IDENTITY_SAME);
	CHECK(rel(at("d/new/a"), at("d/new//a")) == IDENTITY_SAME);
	/* A dangling symlink names where its target will be. */
	CHECK(rel(at("d/new"), at("dangling")) == IDENTITY_SAME);
	CHECK(rel(at("d/new"), at("d/other")) == IDENTITY_APART);
	CHECK(rel(at("d/new"), at("d/A/new")) == IDENTITY_APART);
	CHECK(rel(at("d/new"), at("d")) == IDENTITY_APART);
	x = id(at("ld/new/"));
	CHECK(strcmp(identity_path(x), at("d/new")) == 0);
	identity_free(x);

	CHECK(identity_open(at("loop1"), &x, &e) == -ELOOP);
	CHECK(x == NULL && strstr(e.msg, "loop1") != NULL);
	CHECK(identity_open(at("a.img/x"), &x, &e) == -ENOTDIR);
}

static void
test_within(void)
{
	CHECK(within(at("d/A/kernel"), at("d/A")) == 1);
	CHECK(within(at("d/A/kernel"), at("d")) == 1);
	CHECK(within(at("d/A/kernel"), at("ld/A/")) == 1);
	CHECK(within(at("d/A"), at("d/A/")) == 1);
	CHECK(within(at("d/A"), at("d")) == 1);
	CHECK(within(at("d"), at("d/A")) == 0);
	CHECK(within(at("d/B"), at("d/A")) == 0);
	CHECK(within(at("d/AB"), at("d/A")) == 0);
	CHECK(within(at("a.img"), at("d")) == 0);
	/* By where it is, not by how it is spelled. */
	CHECK(within(at("d/A/tob"), at("d/A")) == 0);
	CHECK(within(at("d/A/tob"), at("d/B")) == 1);
	CHECK(within(at("la"), at("d")) == 0);
	/* Missing paths, inside existing and missing folders. */
	CHECK(within(at("d/A/new/x"), at("d/A")) == 1);
	CHECK(within(at("d/new/x"), at("d/new")) == 1);
	CHECK(within(at("d/new/x"), at("ld/new/")) == 1);
	CHECK(within(at("d/newer"), at("d/new")) == 0);
	CHECK(within(at("d/A"), at("d/new")) == 0);
	/* Only folders hold anything. */
	CHECK(within(at("a.img"), at("a.img")) == 0);
}

static void
test_mountinfo(void)
{
	struct identity *x;
	struct err e = { 0, "" };

	write_str(at("mountinfo"),
	    "garbage\n\n22 1 0:21 / /proc rw - proc proc rw\n");
	x = id(at("a.img"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == 0);
	CHECK(identity_busy(x, NULL, at("none"), &e) == -ENOENT);
	CHECK(strstr(e.msg, "a.img") != NULL);
	identity_free(x);
}

/* losetup FILE into loops[i]; 0 if it cannot. */
static int
attach(int i, const char *file, const char *opts)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup %s -f --show %s 2>/dev/null",
	    opts, file);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	if (fgets(loops[i], sizeof(loops[i]), p) == NULL)
		loops[i][0] = '\0';
	loops[i][strcspn(loops[i], "\n")] = '\0';
	return pclose(p) == 0 && loops[i][0] != '\0';
}

/* A partition lies within its disk and its disk's file (loops[0] is
 * attached already). */
static void
test_loop_partition(void)
{
	struct identity *x;
	struct err e = { 0, "" };
	char p1[80], line[128];
	struct stat st;

	if (shell("command -v sfdisk >/dev/null") == NULL ||
	    shell("echo 'start=2048, size=2048' | sfdisk -q %s >/dev/null "
	    "2>&1", at("b.img")) == NULL || !attach(1, at("b.img"), "-P")) {
		fprintf(stderr, "partitions skipped (no sfdisk)\n");
		return;
	}
	snprintf(p1, sizeof(p1), "%sp1", loops[1]);
	/* udev may be slow to make the node; the kernel is not. */
	if (access(p1, F_OK) != 0) {
		fprintf(stderr, "partitions skipped (no %s)\n", p1);
		return;
	}
	CHECK(rel(p1, loops[1]) == IDENTITY_INSIDE);
	CHECK(rel(loops[1], p1) == IDENTITY_HOLDS);
	CHECK(rel(at("b.img"), p1) == IDENTITY_HOLDS);
	CHECK(rel(p1, p1) == IDENTITY_SAME);
	CHECK(rel(p1, loops[0]) == IDENTITY_APART);
	/* The whole disk is busy while its partition is mounted, and
	 * the partition while the whole disk is. */
	CHECK(stat(p1, &st) == 0);
	snprintf(line, sizeof(line), "40 1 %u:%u / /mnt/p rw - ext4 %s rw\n",
	    major(st.st_rdev), minor(st.st_rdev), p1);
	write_str(at("mountinfo"), line);
	x = id(loops[1]);
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == -EBUSY);
	identity_free(x);
	x = id(at("b.img"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == -EBUSY);
	identity_free(x);
	x = id(loops[0]);
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == 0);
	identity_free(x);
}

static void
test_loop(void)
{
	struct identity *x;
	struct err e = { 0, "" };
	char line[128];
	struct stat st;
	int i;

	if (geteuid() != 0 ||
	    shell("mkfs.ext4 -q -F %s >/dev/null 2>&1", at("a.img")) == NULL ||
	    !attach(0, at("a.img"), "")) {
		fprintf(stderr, "loop devices skipped (not root, or no "
		    "losetup)\n");
		return;
	}
	/* A loop device is its backing file, whatever its name. */
	CHECK(rel(loops[0], at("a.img")) == IDENTITY_SAME);
	CHECK(rel(at("la"), loops[0]) == IDENTITY_SAME);
	CHECK(rel(loops[0], at("b.img")) == IDENTITY_APART);
	CHECK(rel(loops[0], loops[0]) == IDENTITY_SAME);
	CHECK(symlink(loops[0], at("byid")) == 0);
	CHECK(rel(at("byid"), loops[0]) == IDENTITY_SAME);
	CHECK(identity_is_block(x = id(at("byid"))));
	identity_free(x);

	/* Mounted (as mountinfo says): the loop and its file are busy. */
	CHECK(stat(loops[0], &st) == 0);
	snprintf(line, sizeof(line), "40 1 %u:%u / /mnt/x rw - ext4 %s rw\n",
	    major(st.st_rdev), minor(st.st_rdev), loops[0]);
	write_str(at("mountinfo"), line);
	for (i = 0; i < 2; i++) {
		x = id(i == 0 ? loops[0] : at("a.img"));
		CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == -EBUSY);
		CHECK(strstr(e.msg, "/mnt/x") != NULL);
		identity_free(x);
	}
	x = id(at("b.img"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == 0);
	identity_free(x);

	/* The root's device, and the file behind it, even where mountinfo
	 * does not show the root (a chroot). */
	write_str(at("mountinfo"), "");
	CHECK(mkdir(at("mnt"), 0755) == 0);
	CHECK(shell("mount %s %s", loops[0], at("mnt")) != NULL);
	mounted = 1;
	for (i = 0; i < 2; i++) {
		x = id(i == 0 ? loops[0] : at("a.img"));
		CHECK(identity_busy(x, at("mnt"), at("mountinfo"), &e) ==
		    -EBUSY);
		CHECK(strstr(e.msg, "running root") != NULL);
		CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == 0);
		identity_free(x);
	}
	x = id(at("b.img"));
	CHECK(identity_busy(x, at("mnt"), at("mountinfo"), &e) == 0);
	identity_free(x);

	test_loop_partition();
}

/*
 * Partitions and their whole disk, with sysfs faked: this kernel makes no
 * partitions of loop devices, so test_loop() may skip its part. Device
 * nodes made with mknod are only stat'ed. 259:0 is a disk, 259:1 and
 * 259:2 its partitions (sysfs: a "partition" file, and the disk's
 * folder, with its "dev", above the partition's), 259:9 another disk.
 */
static void
test_partitions_sysfs(void)
{
	struct identity *x;
	struct err e = { 0, "" };

	if (geteuid() != 0) {
		fprintf(stderr, "fake partitions skipped (mknod needs root)\n");
		return;
	}
	CHECK(shell("set -e; cd %s; mkdir -p sys/devices/disk0/disk0p1 "
	    "sys/devices/disk0/disk0p2 sys/devices/disk9 sys/dev/block; "
	    "echo 259:0 >sys/devices/disk0/dev; "
	    "echo 259:1 >sys/devices/disk0/disk0p1/dev; "
	    "echo 1 >sys/devices/disk0/disk0p1/partition; "
	    "echo 259:2 >sys/devices/disk0/disk0p2/dev; "
	    "echo 2 >sys/devices/disk0/disk0p2/partition; "
	    "echo 259:9 >sys/devices/disk9/dev; "
	    "ln -s ../../devices/disk0 sys/dev/block/259:0; "
	    "ln -s ../../devices/disk0/disk0p1 sys/dev/block/259:1; "
	    "ln -s ../../devices/disk0/disk0p2 sys/dev/block/259:2; "
	    "ln -s ../../devices/disk9 sys/dev/block/259:9; "
	    "mknod disk0 b 259 0; mknod disk0p1 b 259 1; "
	    "mknod disk0p2 b 259 2; mknod disk9 b 259 9; "
	    "ln -s disk0p1 by-partlabel-A", dir) != NULL);
	blockdev_set_sysfs(at("sys"));
	CHECK(rel(at("disk0p1"), at("disk0")) == IDENTITY_INSIDE);
	CHECK(rel(at("disk0"), at("disk0p2")) == IDENTITY_HOLDS);
	CHECK(rel(at("disk0p1"), at("disk0p2")) == IDENTITY_APART);
	CHECK(rel(at("by-partlabel-A"), at("disk0p1")) == IDENTITY_SAME);
	CHECK(rel(at("disk9"), at("disk0")) == IDENTITY_APART);
	/* A mounted partition makes its disk busy, and a mounted disk its
	 * partitions; the other partition and the other disk are free. */
	write_str(at("mountinfo"), "40 1 259:1 / /mnt/p rw - ext4 x rw\n");
	x = id(at("disk0"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == -EBUSY);
	identity_free(x);
	x = id(at("disk0p2"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == 0);
	identity_free(x);
	x = id(at("disk9"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == 0);
	identity_free(x);
	write_str(at("mountinfo"), "40 1 259:0 / /mnt/d rw - ext4 x rw\n");
	x = id(at("by-partlabel-A"));
	CHECK(identity_busy(x, NULL, at("mountinfo"), &e) == -EBUSY);
	identity_free(x);
	blockdev_set_sysfs(NULL);
}

static void
cleanup(void)
{
	char cmd[256];
	int i;

	if (mounted) {
		snprintf(cmd, sizeof(cmd), "umount %s/mnt", dir);
		(void)system(cmd);
	}
	for (i = 0; i < 2; i++) {
		if (loops[i][0] == '\0')
			continue;
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loops[i]);
		(void)system(cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

int
main(void)
{
	tmpdir_make("identity_test");
	atexit(cleanup);
	make_file(at("a.img"));
	make_file(at("b.img"));
	CHECK(link(at("a.img"), at("hard")) == 0);
	CHECK(mkdir(at("d"), 0755) == 0);
	CHECK(mkdir(at("d/A"), 0755) == 0);
	CHECK(mkdir(at("d/B"), 0755) == 0);
	CHECK(mkdir(at("d/AB"), 0755) == 0);
	make_file(at("d/A/kernel"));
	make_file(at("d/B/f"));
	CHECK(symlink("../B/f", at("d/A/tob")) == 0);
	CHECK(symlink("a.img", at("la")) == 0);
	CHECK(symlink(at("d"), at("ld")) == 0);
	CHECK(symlink("d/new", at("dangling")) == 0);
	CHECK(symlink("loop2", at("loop1")) == 0);
	CHECK(symlink("loop1", at("loop2")) == 0);

	test_spellings();
	test_missing();
	test_within();
	test_mountinfo();
	test_loop();
	test_partitions_sysfs();
	return 0;
}

/*
 * identity_test: slots/identity.c on real files, folders and symlinks in a
 * mkdtemp folder; as root also on loop devices (losetup), one with a
 * partition table. Every spelling of one place must give one identity.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/err.h"
#include "slots/identity.h"
#include "tests/check.h"

static char tmp[] = "/tmp/identity_test.XXXXXX";
static char loops[2][64];
static int mounted;

static char *
path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmp, name);
	return p;
}

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
within(const char *a, const char *dir)
{
	struct identity *x = id(a), *y = id(dir);
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
	CHECK(rel(path("a.img"), path("a.img")) == IDENTITY_SAME);
	CHECK(rel(path("a.img"), path("./a.img")) == IDENTITY_SAME);
	CHECK(rel(path("a.img"), path("/a.img")) == IDENTITY_SAME);
	CHECK(rel(path("a.img"), path("d//../a.img")) == IDENTITY_SAME);
	CHECK(rel(path("a.img"), path("la")) == IDENTITY_SAME);
	CHECK(rel(path("a.img"), path("ld/../a.img")) == IDENTITY_SAME);
	CHECK(rel(path("a.img"), path("b.img")) == IDENTITY_APART);
	/* A hard link is the same inode under another name. */
	CHECK(rel(path("a.img"), path("hard")) == IDENTITY_SAME);
	CHECK(rel(path("d/A"), path("d/A/")) == IDENTITY_SAME);
	CHECK(rel(path("d/A"), path("d/A/.")) == IDENTITY_SAME);
	CHECK(rel(path("d/A"), path("ld/A//")) == IDENTITY_SAME);
	CHECK(rel(path("d/A"), path("d/B")) == IDENTITY_APART);
	/* Folders are inodes: what lies inside is identity_within's. */
	CHECK(rel(path("d"), path("d/A")) == IDENTITY_APART);
	/* Relative to the working folder. */
	CHECK(chdir(tmp) == 0);
	CHECK(rel("a.img", path("a.img")) == IDENTITY_SAME);
	CHECK(rel("./d/../la", path("a.img")) == IDENTITY_SAME);
	CHECK(chdir("/") == 0);
}

static void
test_missing(void)
{
	struct identity *x;
	struct err e = { 0, "" };

	CHECK(rel(path("d/new"), path("d/new")) == IDENTITY_SAME);
	CHECK(rel(path("d/new"), path("d/./new/")) == IDENTITY_SAME);
	CHECK(rel(path("d/new"), path("ld/new")) == IDENTITY_SAME);
	CHECK(rel(path("d/new"), path("d/x/../new")) == IDENTITY_SAME);
	CHECK(rel(path("d/new/a"), path("d/new//a")) == IDENTITY_SAME);
	/* A dangling symlink names where its target will be. */
	CHECK(rel(path("d/new"), path("dangling")) == IDENTITY_SAME);
	CHECK(rel(path("d/new"), path("d/other")) == IDENTITY_APART);
	CHECK(rel(path("d/new"), path("d/A/new")) == IDENTITY_APART);
	CHECK(rel(path("d/new"), path("d")) == IDENTITY_APART);
	x = id(path("ld/new/"));
	CHECK(strcmp(identity_path(x), path("d/new")) == 0);
	identity_free(x);

	CHECK(identity_open(path("loop1"), &x, &e) == -ELOOP);
	CHECK(x == NULL && strstr(e.msg, "loop1") != NULL);
	CHECK(identity_open(path("a.img/x"), &x, &e) == -ENOTDIR);
}

static void
test_within(void)
{
	CHECK(within(path("d/A/kernel"), path("d/A")) == 1);
	CHECK(within(path("d/A/kernel"), path("d")) == 1);
	CHECK(within(path("d/A/kernel"), path("ld/A/")) == 1);
	CHECK(within(path("d/A"), path("d/A/")) == 1);
	CHECK(within(path("d/A"), path("d")) == 1);
	CHECK(within(path("d"), path("d/A")) == 0);
	CHECK(within(path("d/B"), path("d/A")) == 0);
	CHECK(within(path("d/AB"), path("d/A")) == 0);
	CHECK(within(path("a.img"), path("d")) == 0);
	/* By where it is, not by how it is spelled. */
	CHECK(within(path("d/A/tob"), path("d/A")) == 0);
	CHECK(within(path("d/A/tob"), path("d/B")) == 1);
	CHECK(within(path("la"), path("d")) == 0);
	/* Missing paths, inside existing and missing folders. */
	CHECK(within(path("d/A/new/x"), path("d/A")) == 1);
	CHECK(within(path("d/new/x"), path("d/new")) == 1);
	CHECK(within(path("d/new/x"), path("ld/new/")) == 1);
	CHECK(within(path("d/newer"), path("d/new")) == 0);
	CHECK(within(path("d/A"), path("d/new")) == 0);
	/* Only folders hold anything. */
	CHECK(within(path("a.img"), path("a.img")) == 0);
}

static void
test_mountinfo(void)
{
	struct identity *x;
	struct err e = { 0, "" };
	FILE *f;

	CHECK((f = fopen(path("mountinfo"), "w")) != NULL);
	fprintf(f, "garbage\n\n22 1 0:21 / /proc rw - proc proc rw\n");
	fclose(f);
	x = id(path("a.img"));
	CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == 0);
	CHECK(identity_busy(x, NULL, path("none"), &e) == -ENOENT);
	CHECK(strstr(e.msg, "a.img") != NULL);
	identity_free(x);
}

static int
sh(const char *cmd)
{
	return system(cmd) == 0;
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

static void
test_loop(void)
{
	struct identity *x;
	struct err e = { 0, "" };
	char p1[80], line[128], cmd[600];
	struct stat st;
	FILE *f;
	int i;

	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1",
	    path("a.img"));
	if (geteuid() != 0 || !sh(cmd) || !attach(0, path("a.img"), "")) {
		fprintf(stderr, "loop devices skipped (not root, or no "
		    "losetup)\n");
		return;
	}
	/* A loop device is its backing file, whatever its name. */
	CHECK(rel(loops[0], path("a.img")) == IDENTITY_SAME);
	CHECK(rel(path("la"), loops[0]) == IDENTITY_SAME);
	CHECK(rel(loops[0], path("b.img")) == IDENTITY_APART);
	CHECK(rel(loops[0], loops[0]) == IDENTITY_SAME);
	CHECK(symlink(loops[0], path("byid")) == 0);
	CHECK(rel(path("byid"), loops[0]) == IDENTITY_SAME);
	CHECK(identity_is_block(x = id(path("byid"))));
	identity_free(x);

	/* Mounted (as mountinfo says): the loop and its file are busy. */
	CHECK(stat(loops[0], &st) == 0);
	snprintf(line, sizeof(line), "40 1 %u:%u / /mnt/x rw - ext4 %s rw\n",
	    major(st.st_rdev), minor(st.st_rdev), loops[0]);
	CHECK((f = fopen(path("mountinfo"), "w")) != NULL);
	fputs(line, f);
	fclose(f);
	for (i = 0; i < 2; i++) {
		x = id(i == 0 ? loops[0] : path("a.img"));
		CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == -EBUSY);
		CHECK(strstr(e.msg, "/mnt/x") != NULL);
		identity_free(x);
	}
	x = id(path("b.img"));
	CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == 0);
	identity_free(x);

	/* The root's device, and the file behind it, even where mountinfo
	 * does not show the root (a chroot). */
	CHECK((f = fopen(path("mountinfo"), "w")) != NULL);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "mount %s %s", loops[0], path("mnt"));
	CHECK(mkdir(path("mnt"), 0755) == 0 && sh(cmd));
	mounted = 1;
	for (i = 0; i < 2; i++) {
		x = id(i == 0 ? loops[0] : path("a.img"));
		CHECK(identity_busy(x, path("mnt"), path("mountinfo"), &e) ==
		    -EBUSY);
		CHECK(strstr(e.msg, "running root") != NULL);
		CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == 0);
		identity_free(x);
	}
	x = id(path("b.img"));
	CHECK(identity_busy(x, path("mnt"), path("mountinfo"), &e) == 0);
	identity_free(x);

	/* A partition lies within its disk and its disk's file. */
	snprintf(cmd, sizeof(cmd), "echo 'start=2048, size=2048' | sfdisk -q "
	    "%s >/dev/null 2>&1", path("b.img"));
	if (!sh("command -v sfdisk >/dev/null") || !sh(cmd) ||
	    !attach(1, path("b.img"), "-P")) {
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
	CHECK(rel(path("b.img"), p1) == IDENTITY_HOLDS);
	CHECK(rel(p1, p1) == IDENTITY_SAME);
	CHECK(rel(p1, loops[0]) == IDENTITY_APART);
	/* The whole disk is busy while its partition is mounted, and
	 * the partition while the whole disk is. */
	CHECK(stat(p1, &st) == 0);
	snprintf(line, sizeof(line), "40 1 %u:%u / /mnt/p rw - ext4 %s rw\n",
	    major(st.st_rdev), minor(st.st_rdev), p1);
	CHECK((f = fopen(path("mountinfo"), "w")) != NULL);
	fputs(line, f);
	fclose(f);
	x = id(loops[1]);
	CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == -EBUSY);
	identity_free(x);
	x = id(path("b.img"));
	CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == -EBUSY);
	identity_free(x);
	x = id(loops[0]);
	CHECK(identity_busy(x, NULL, path("mountinfo"), &e) == 0);
	identity_free(x);
}

static void
cleanup(void)
{
	char cmd[256];
	int i;

	if (mounted) {
		snprintf(cmd, sizeof(cmd), "umount %s/mnt", tmp);
		(void)system(cmd);
	}
	for (i = 0; i < 2; i++) {
		if (loops[i][0] == '\0')
			continue;
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loops[i]);
		(void)system(cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	(void)system(cmd);
}

int
main(void)
{
	CHECK(mkdtemp(tmp) != NULL);
	atexit(cleanup);
	make_file(path("a.img"));
	make_file(path("b.img"));
	CHECK(link(path("a.img"), path("hard")) == 0);
	CHECK(mkdir(path("d"), 0755) == 0);
	CHECK(mkdir(path("d/A"), 0755) == 0);
	CHECK(mkdir(path("d/B"), 0755) == 0);
	CHECK(mkdir(path("d/AB"), 0755) == 0);
	make_file(path("d/A/kernel"));
	make_file(path("d/B/f"));
	CHECK(symlink("../B/f", path("d/A/tob")) == 0);
	CHECK(symlink("a.img", path("la")) == 0);
	CHECK(symlink(path("d"), path("ld")) == 0);
	CHECK(symlink("d/new", path("dangling")) == 0);
	CHECK(symlink("loop2", path("loop1")) == 0);
	CHECK(symlink("loop1", path("loop2")) == 0);

	test_spellings();
	test_missing();
	test_within();
	test_mountinfo();
	test_loop();
	return 0;
}

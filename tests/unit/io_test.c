/*
 * tests/unit/io_test.c: common/io, the one layer for whole reads and
 * writes, durable replaces and folder fsyncs.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "tests/harness.h"

/* The bytes of path, which must hold exactly want. */
static void
expect_file(const char *path, const char *want)
{
	char buf[256];
	size_t n;

	CHECK(read_upto(path, buf, sizeof(buf), &n) == 0);
	CHECK(n == strlen(want) && memcmp(buf, want, n) == 0);
}

static void
test_loops(void)
{
	char buf[16];
	int p[2], fd;

	/* read_full gathers pieces and is short only at end of file. */
	CHECK(pipe(p) == 0);
	CHECK(write_all(p[1], "abc", 3) == 0);
	CHECK(write_all(p[1], "defg", 4) == 0);
	CHECK(close(p[1]) == 0);
	CHECK(read_full(p[0], buf, 5) == 5 && memcmp(buf, "abcde", 5) == 0);
	CHECK(read_full(p[0], buf, sizeof(buf)) == 2);
	CHECK(read_full(p[0], buf, sizeof(buf)) == 0);
	CHECK(close(p[0]) == 0);
	CHECK(read_full(-1, buf, 1) == -EBADF);
	CHECK(write_all(-1, "x", 1) == -EBADF);

	/* pread_all is exact: a read past the end is -EIO, not short. */
	CHECK((fd = open(at("p"), O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(pwrite_all(fd, "0123456789", 10, 100) == 0);
	CHECK(pread_all(fd, buf, 4, 103) == 0 && memcmp(buf, "3456", 4) == 0);
	CHECK(pread_all(fd, buf, 4, 108) == -EIO);
	CHECK(pread_all(fd, buf, 0, 1000) == 0);
	CHECK(close(fd) == 0);
}

static void
test_reads(void)
{
	char buf[8], *text;
	size_t n;
	struct err e;

	write_str(at("r"), "12345678");
	CHECK(read_upto(at("r"), buf, 8, &n) == 0 && n == 8);
	CHECK(read_upto(at("r"), buf, 7, &n) == -EFBIG && n == 7);
	CHECK(read_upto(at("none"), buf, 8, &n) == -ENOENT && n == 0);

	CHECK_OK(file_read(at("r"), 8, &text, &n, &e), &e);
	CHECK(n == 8 && strcmp(text, "12345678") == 0);
	free(text);
	CHECK(file_read(at("r"), 7, &text, &n, &e) == -EFBIG);
	CHECK(text == NULL && strstr(e.msg, "larger than 7 bytes") != NULL);
	/* A stream has no size to judge by: the byte past max tells. */
	CHECK(file_read("/proc/self/maps", 16, &text, &n, &e) == -EFBIG);
	CHECK(file_read(at("none"), 8, &text, &n, &e) == -ENOENT);
	CHECK(strstr(e.msg, at("none")) != NULL);
}

static void
test_writes(void)
{
	struct stat st;
	struct err e;

	/* file_write_new: exactly the mode asked for, never an existing
	 * name, never through a symlink. */
	umask(022);
	CHECK_OK(file_write_new(at("key"), "secret", 6, 0600, &e), &e);
	CHECK(stat(at("key"), &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(file_write_new(at("key"), "again", 5, 0600, &e) == -EEXIST);
	expect_file(at("key"), "secret");
	write_str(at("victim"), "victim");
	CHECK(symlink(at("victim"), at("link")) == 0);
	CHECK(file_write_new(at("link"), "evil", 4, 0600, &e) == -EEXIST);
	expect_file(at("victim"), "victim");

	/* file_replace removes what is planted at tmp (the link, not its
	 * target) and leaves no tmp behind. */
	CHECK(symlink(at("victim"), at("state.tmp")) == 0);
	CHECK_OK(file_replace(at("state"), at("state.tmp"), "new", 3, 0644,
	    &e), &e);
	expect_file(at("state"), "new");
	expect_file(at("victim"), "victim");
	CHECK(lstat(at("state.tmp"), &st) == -1 && errno == ENOENT);
	CHECK_OK(file_write_atomic(at("state"), "newer", 5, 0644, &e), &e);
	expect_file(at("state"), "newer");
	CHECK(file_write_atomic(at("no/such/dir"), "x", 1, 0644, &e) ==
	    -ENOENT);

	CHECK_OK(mkdir_p(at("a/b/c"), 0755, &e), &e);
	CHECK(stat(at("a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_OK(mkdir_p(at("a/b/c"), 0755, &e), &e);
	CHECK_OK(fsync_dir(at("a/b"), &e), &e);
	CHECK_OK(fsync_parent(at("a/b/c"), &e), &e);
	CHECK(fsync_dir(at("state"), &e) == -ENOTDIR);
}

/*
 * fsync_dir() must syncfs() as well as fsync(): on vfat only syncfs
 * writes the FAT that makes a rename durable. The child runs under the
 * badwrite shim with only syncfs() failing on dir, so fsync_dir and
 * file_replace must report the failure.
 */
static void
test_syncfs(const char *self)
{
	static char mode[] = "syncfs";
	char shim[1024], *argv[] = { (char *)self, mode, NULL };
	const char *sd = getenv("SHIM_DIR");
	int status;
	pid_t pid;

	if (sd == NULL) {
		fprintf(stderr, "io_test: no SHIM_DIR: syncfs case not run\n");
		return;
	}
	snprintf(shim, sizeof(shim), "%s/badwrite.so", sd);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		setenv("LD_PRELOAD", shim, 1);
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
		setenv("FAILSYNC_PATH", dir, 1);
		setenv("FAILSYNC_CALLS", "syncfs", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* In the child: only syncfs fails on dir. */
static int
syncfs_child(void)
{
	const char *d = getenv("FAILSYNC_PATH");
	char path[1024], tmp[1024];
	struct err e;
	int fd;

	CHECK(d != NULL);
	snprintf(path, sizeof(path), "%s/child", d);
	snprintf(tmp, sizeof(tmp), "%s/child.tmp", d);
	/* fsync itself still works on the folder. */
	CHECK((fd = open(d, O_RDONLY | O_DIRECTORY)) != -1);
	CHECK(fsync(fd) == 0);
	CHECK(close(fd) == 0);
	CHECK(fsync_dir(d, &e) == -EIO);
	CHECK(strstr(e.msg, d) != NULL);
	CHECK(file_replace(path, tmp, "x", 1, 0644, &e) == -EIO);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "syncfs") == 0)
		return syncfs_child();
	tmpdir_make("io_test");
	test_loops();
	test_reads();
	test_writes();
	test_syncfs(argv[0]);
	tmpdir_remove();
	return 0;
}

/* tests/unit/tar_test.c: host/tar against archives made by GNU tar. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "host/tar.h"
#include "tests/harness.h"

static const struct tar_member *
find(const struct tar_member *m, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

/* The member's data, read at its offset, must be exactly want. */
static void
check_data(const char *tar, const struct tar_member *t, const char *want)
{
	char buf[4096];
	int fd;

	CHECK(t != NULL);
	CHECK(t->type == '0');
	CHECK(t->size == strlen(want));
	CHECK((fd = open(tar, O_RDONLY)) >= 0);
	CHECK(pread(fd, buf, t->size, (off_t)t->offset) == (ssize_t)t->size);
	CHECK(memcmp(buf, want, t->size) == 0);
	close(fd);
}

static void
test_plain(void)
{
	struct tar_member *m;
	size_t n;
	struct err e;

	CHECK(shell("cd %s/src && tar -cf ../plain.tar kernel initrd.img "
	    "cmdline", dir) != NULL);
	CHECK_OK(tar_list(at("plain.tar"), &m, &n, &e), &e);
	CHECK(n == 3);
	CHECK(strcmp(m[0].name, "kernel") == 0);
	CHECK(m[0].mode == 0644);
	check_data(at("plain.tar"), &m[0], "KERNEL-BYTES\n");
	check_data(at("plain.tar"), &m[1], "initrd contents\n");
	check_data(at("plain.tar"), &m[2], "console=ttyS0\n");
	tar_members_free(m, n);
}

static void
test_dot_and_dirs(void)
{
	const struct tar_member *t;
	struct tar_member *m;
	size_t n;
	struct err e;

	/* "./" prefixes and a folder member, as `tar -C DIR .` writes. */
	CHECK(shell("cd %s/src && tar -cf ../dot.tar .", dir) != NULL);
	CHECK_OK(tar_list(at("dot.tar"), &m, &n, &e), &e);
	CHECK((t = find(m, n, "./")) != NULL && t->type == '5');
	CHECK(strcmp(tar_basename("./"), "") == 0);
	t = find(m, n, "./boot/kernel");
	check_data(at("dot.tar"), t, "nested kernel\n");
	CHECK(strcmp(tar_basename(t->name), "kernel") == 0);
	CHECK((t = find(m, n, "./boot/")) != NULL && t->type == '5');
	check_data(at("dot.tar"), find(m, n, "./cmdline"),
	    "console=ttyS0\n");
	tar_members_free(m, n);
}

static void
test_long_names(void)
{
	static const char *fmts[] = { "gnu", "pax", "ustar" };
	char lname[300], rel[400], cmd[1024], name[64];
	struct tar_member *m;
	size_t i, n;
	struct err e;
	int fd;

	/* 120 characters of folder: past the 100 bytes of the name field,
	 * so gnu uses 'L', pax a path record and ustar the prefix field. */
	memset(lname, 'd', 120);
	lname[120] = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/src/%s", dir, lname);
	CHECK(system(cmd) == 0);
	snprintf(rel, sizeof(rel), "%s/%s", lname,
	    "a-rather-long-file-name-for-the-long-name-path.img");
	snprintf(cmd, sizeof(cmd), "%s/src/%s", dir, rel);
	CHECK((fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	CHECK(write(fd, "long\n", 5) == 5);
	close(fd);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cd %s/src && tar --format=%s "
		    "-cf ../long-%s.tar %s", dir, fmts[i], fmts[i], rel);
		CHECK(system(cmd) == 0);
		snprintf(name, sizeof(name), "long-%s.tar", fmts[i]);
		CHECK_OK(tar_list(at(name), &m, &n, &e), &e);
		CHECK(n == 1);
		check_data(at(name), find(m, n, rel), "long\n");
		CHECK(m[0].mode == 0600);
		tar_members_free(m, n);
	}
}

static void
corrupt_copy(const char *from, const char *to, off_t off, int truncate_to)
{
	char *buf, path[1024];
	size_t len;
	struct err e;

	CHECK_OK(file_read(at(from), 1 << 20, &buf, &len, &e), &e);
	snprintf(path, sizeof(path), "%s", at(to));
	if (truncate_to)
		len = (size_t)off;
	else
		buf[off] ^= 0x20;
	CHECK_OK(file_write_atomic(path, buf, len, 0644, &e), &e);
	free(buf);
}

static void
test_bad(void)
{
	struct tar_member *m = NULL;
	size_t n = 7;
	struct err e;

	/* A flipped name byte breaks the header checksum. */
	corrupt_copy("plain.tar", "badsum.tar", 1, 0);
	CHECK(tar_list(at("badsum.tar"), &m, &n, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "badsum.tar: header at 0: bad checksum") != NULL);
	CHECK(m == NULL && n == 0);
	/* Cut inside the first member's data. */
	corrupt_copy("plain.tar", "cut.tar", 512 + 4, 1);
	CHECK(tar_list(at("cut.tar"), &m, &n, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "past the end") != NULL);
	/* Cut on a block boundary: the missing end block gives it away. */
	corrupt_copy("plain.tar", "cut2.tar", 1024, 1);
	CHECK(tar_list(at("cut2.tar"), &m, &n, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "truncated at 1024") != NULL);
	CHECK(tar_list(at("nonexistent.tar"), &m, &n, &e) == -ENOENT);
	CHECK(strstr(e.msg, "nonexistent.tar") != NULL);
}

/* A ustar header of type typ for size bytes of data, checksum set. */
static void
header(unsigned char *h, const char *name, char typ, size_t size)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 8);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)size);
	h[156] = (unsigned char)typ;
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/*
 * pax records whose LEN is not where the record starts, or ends before
 * its own key: "\n1 abc" had strtoul() skip the newline, take LEN 1 and
 * search for '=' over a negative length (fuzz_tar; a crash under ASan).
 */
static void
test_bad_pax(void)
{
	static const char *const recs[] = {
		"\n1 abc", " 9 a=b\n", "+8 a=b\n", "2 \n", "3 =\n",
		"12345678901234567890123 a=b\n",
	};
	unsigned char tar[4 * 512];
	struct tar_member *m;
	struct err e;
	size_t i, n;
	int fd;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		memset(tar, 0, sizeof(tar));
		header(tar, "PaxHeaders/f", 'x', strlen(recs[i]));
		memcpy(tar + 512, recs[i], strlen(recs[i]));
		header(tar + 1024, "f", '0', 0);
		CHECK((fd = open(at("pax.tar"), O_WRONLY | O_CREAT |
		    O_TRUNC, 0644)) != -1);
		CHECK(write(fd, tar, sizeof(tar)) == (ssize_t)sizeof(tar));
		CHECK(close(fd) == 0);
		m = NULL;
		CHECK(tar_list(at("pax.tar"), &m, &n, &e) == -EBADMSG);
		CHECK(m == NULL);
		CHECK(strstr(e.msg, "bad pax record") != NULL);
	}
	/* The same layout with a good record still lists the member. */
	memset(tar, 0, sizeof(tar));
	header(tar, "PaxHeaders/f", 'x', 10);
	memcpy(tar + 512, "10 path=g\n", 10);
	header(tar + 1024, "f", '0', 0);
	CHECK((fd = open(at("pax.tar"), O_WRONLY | O_CREAT | O_TRUNC,
	    0644)) != -1);
	CHECK(write(fd, tar, sizeof(tar)) == (ssize_t)sizeof(tar));
	CHECK(close(fd) == 0);
	CHECK_OK(tar_list(at("pax.tar"), &m, &n, &e), &e);
	CHECK(n == 1 && strcmp(m[0].name, "g") == 0);
	tar_members_free(m, n);
}

int
main(void)
{
	tmpdir_make("tar_test");
	CHECK(shell("mkdir -p %s/src/boot", dir) != NULL);
	put_str("src/kernel", "KERNEL-BYTES\n");
	put_str("src/initrd.img", "initrd contents\n");
	put_str("src/cmdline", "console=ttyS0\n");
	put_str("src/boot/kernel", "nested kernel\n");
	test_plain();
	test_dot_and_dirs();
	test_long_names();
	test_bad();
	test_bad_pax();
	tmpdir_remove();
	return 0;
}

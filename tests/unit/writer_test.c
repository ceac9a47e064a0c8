/* Slot writers on real files and folders in a mkdtemp folder. */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/slot.h"
#include "tests/harness.h"

#define PAYLOAD	(1024 * 1024 + 12345)

static unsigned char *payload;

/* Armed by test_swapped(): the next O_EXCL open of swap_at renames
 * swap_with over it, right after the open, as another program could. */
static const char *swap_at, *swap_with;

/*
 * This program's open(), which the writer (linked from libupkit.a) calls
 * too: the real openat syscall, plus the swap above. It puts the rename
 * exactly between the writer's claim of a raw slot and everything after.
 */
int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;
	int fd;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
	if (fd != -1 && swap_at != NULL && (flags & O_EXCL) &&
	    strcmp(path, swap_at) == 0) {
		CHECK(rename(swap_with, swap_at) == 0);
		swap_at = NULL;
	}
	return fd;
}

static void
make_file(const char *p, size_t size)
{
	int fd;

	CHECK((fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644)) != -1);
	CHECK(ftruncate(fd, (off_t)size) == 0);
	close(fd);
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

/* Contents of a file, which must be exactly len bytes. */
static int
file_is(const char *p, const void *want, size_t len, unsigned mode)
{
	struct stat st;
	unsigned char *buf;
	int fd, ok;

	if ((fd = open(p, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		return 0;
	if ((size_t)st.st_size != len || (st.st_mode & 07777) != mode) {
		close(fd);
		return 0;
	}
	CHECK((buf = malloc(len + 1)) != NULL);
	ok = read(fd, buf, len + 1) == (ssize_t)len &&
	    memcmp(buf, want, len) == 0;
	free(buf);
	close(fd);
	return ok;
}

/*
 * Writes payload[0, size) through w in random pieces (1 byte first, then
 * up to 64 KiB, some aligned to 4096 from aligned buffers), in random
 * order, then reads it back the same way.
 */
static void
write_random(struct slot_writer *w, size_t size)
{
	struct err e;
	unsigned char *abuf, *rbuf;
	size_t *offs, *lens, n = 0, off, len, i, j, t;

	CHECK((offs = calloc(size, sizeof(*offs))) != NULL);
	CHECK((lens = calloc(size, sizeof(*lens))) != NULL);
	CHECK(posix_memalign((void **)&abuf, 4096, 65536) == 0);
	CHECK(posix_memalign((void **)&rbuf, 4096, size + 4096) == 0);
	for (off = 0; off < size; off += len) {
		if (off == 0)
			len = 1;
		else if (rand() % 3 == 0 && off % 4096 == 0)
			len = 4096 * (1 + (size_t)rand() % 16);
		else
			len = 1 + (size_t)rand() % 65536;
		if (len > size - off)
			len = size - off;
		offs[n] = off;
		lens[n++] = len;
	}
	for (i = n - 1; i > 0; i--) {
		j = (size_t)rand() % (i + 1);
		t = offs[i], offs[i] = offs[j], offs[j] = t;
		t = lens[i], lens[i] = lens[j], lens[j] = t;
	}
	for (i = 0; i < n; i++) {
		/* Aligned pieces from an aligned buffer take the O_DIRECT
		 * path; the rest come straight from the unaligned payload. */
		if (offs[i] % 4096 == 0 && lens[i] % 4096 == 0) {
			memcpy(abuf, payload + offs[i], lens[i]);
			CHECK_OK(slot_writer_pwrite(w, abuf, lens[i], offs[i],
			    &e), &e);
		} else
			CHECK_OK(slot_writer_pwrite(w, payload + offs[i],
			    lens[i], offs[i], &e), &e);
	}
	CHECK_OK(slot_writer_finish(w, &e), &e);

	/* Read back: aligned in big pieces, then unaligned odd pieces. */
	memset(rbuf, 0, size);
	for (off = 0; off + 65536 <= size; off += 65536)
		CHECK_OK(slot_writer_read(w, rbuf + off, 65536, off, &e), &e);
	if (off < size)
		CHECK_OK(slot_writer_read(w, rbuf + off, size - off, off, &e),
		    &e);
	CHECK(memcmp(rbuf, payload, size) == 0);
	memset(rbuf, 0, size);
	for (off = 0; off < size; off += len) {
		len = 1 + (size_t)rand() % 10000;
		if (len > size - off)
			len = size - off;
		CHECK_OK(slot_writer_read(w, rbuf + 1 + off, len, off, &e),
		    &e);
	}
	CHECK(memcmp(rbuf + 1, payload, size) == 0);
	free(offs);
	free(lens);
	free(abuf);
	free(rbuf);
}

#define THREADS	4
#define PIECE	(64 * 1024 + 100)	/* odd, so pieces straddle files */

struct job {
	struct slot_writer	*w;
	size_t			 size;
	int			 nth;
	int			 r;
	struct err		 e;
};

/* Thread nth writes pieces nth, nth + THREADS, ... of the payload. */
static void *
write_share(void *arg)
{
	struct job *j = arg;
	size_t off, len;

	j->r = 0;
	for (off = (size_t)j->nth * PIECE; off < j->size && j->r == 0;
	    off += THREADS * PIECE) {
		len = j->size - off < PIECE ? j->size - off : PIECE;
		j->r = slot_writer_pwrite(j->w, payload + off, len, off,
		    &j->e);
	}
	return NULL;
}

/* Several threads at once on disjoint ranges, as the installer does. */
static void
write_threads(struct slot_writer *w, size_t size)
{
	pthread_t t[THREADS];
	struct job j[THREADS];
	struct err e;
	unsigned char *rbuf;
	int i;

	for (i = 0; i < THREADS; i++) {
		j[i].w = w;
		j[i].size = size;
		j[i].nth = i;
		CHECK(pthread_create(&t[i], NULL, write_share, &j[i]) == 0);
	}
	for (i = 0; i < THREADS; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK_OK(j[i].r, &j[i].e);
	}
	CHECK_OK(slot_writer_finish(w, &e), &e);
	CHECK((rbuf = malloc(size)) != NULL);
	CHECK_OK(slot_writer_read(w, rbuf, size, 0, &e), &e);
	CHECK(memcmp(rbuf, payload, size) == 0);
	free(rbuf);
}

static void
test_raw(void)
{
	char name[] = "rootfs.1", class[] = "rootfs", big[512], small[512];
	struct slot s = { name, class, 'B', SLOT_RAW, NULL, 0 };
	struct slot_writer *w;
	struct err e;
	uint64_t sz;

	/* at() recycles its buffers: keep copies of long-lived paths. */
	strcpy(big, at("raw.img"));
	strcpy(small, at("small.img"));
	unsigned char b[8];

	/* The slot is larger than the payload; the tail stays as it was. */
	make_file(big, PAYLOAD + 8192);
	s.device = big;
	CHECK_OK(slot_size(&s, &sz, &e), &e);
	CHECK(sz == PAYLOAD + 8192);
	CHECK_OK(slot_writer_open(&s, PAYLOAD, NULL, 0, &w, &e), &e);
	write_random(w, PAYLOAD);

	/* Past the payload size: refused, also when off + len wraps. */
	err_clear(&e);
	CHECK(slot_writer_pwrite(w, b, 2, PAYLOAD - 1, &e) == -EINVAL);
	CHECK(strstr(e.msg, "rootfs.1") != NULL);
	CHECK(slot_writer_pwrite(w, b, 1, PAYLOAD, &e) == -EINVAL);
	CHECK(slot_writer_pwrite(w, b, 8, UINT64_MAX - 4, &e) == -EINVAL);
	CHECK(slot_writer_read(w, b, 2, PAYLOAD - 1, &e) == -EINVAL);
	CHECK_OK(slot_writer_pwrite(w, b, 0, PAYLOAD, &e), &e);
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	slot_writer_free(NULL);
	{
		unsigned char *want;

		CHECK((want = calloc(1, PAYLOAD + 8192)) != NULL);
		memcpy(want, payload, PAYLOAD);
		CHECK(file_is(big, want, PAYLOAD + 8192, 0644));
		free(want);
	}

	/* Over the same bytes again, from threads. */
	CHECK(truncate(big, 0) == 0 && truncate(big, PAYLOAD) == 0);
	CHECK_OK(slot_writer_open(&s, PAYLOAD, NULL, 0, &w, &e), &e);
	write_threads(w, PAYLOAD);
	slot_writer_free(w);

	/* The storage shrank under the writer: a short read is EIO. */
	CHECK_OK(slot_writer_open(&s, PAYLOAD, NULL, 0, &w, &e), &e);
	CHECK(truncate(big, 4096) == 0);
	err_clear(&e);
	CHECK(slot_writer_read(w, b, 8, 8192, &e) == -EIO);
	CHECK(strstr(e.msg, big) != NULL);
	slot_writer_free(w);

	/* Too small: ENOSPC naming the device and both sizes. */
	make_file(small, 1048576);
	s.device = small;
	err_clear(&e);
	CHECK(slot_writer_open(&s, 2097152, NULL, 0, &w, &e) == -ENOSPC);
	CHECK(w == NULL);
	CHECK(strstr(e.msg, "slot rootfs.1 (B)") != NULL);
	CHECK(strstr(e.msg, small) != NULL);
	CHECK(strstr(e.msg, "holds 1048576 bytes, payload needs 2097152") !=
	    NULL);

	/* A raw slot is never created. */
	s.device = at("missing.img");
	CHECK(slot_writer_open(&s, 1, NULL, 0, &w, &e) == -ENOENT);
	CHECK(!exists(s.device));
	CHECK(slot_size(&s, &sz, &e) == -ENOENT);
	/* Nor is it a folder. */
	s.device = dir;
	CHECK(slot_writer_open(&s, 1, NULL, 0, &w, &e) < 0);
}

static int
fs_zeroes_in_place(const char *file)
{
	struct statfs sf;

	return statfs(file, &sf) == 0 && (sf.f_type == EXT4_SUPER_MAGIC ||
	    sf.f_type == XFS_SUPER_MAGIC);
}

/* Whether the extent at off is unwritten (allocated, reads as zeros). */
static int
unwritten_at(const char *file, uint64_t off)
{
	struct {
		struct fiemap		fm;
		struct fiemap_extent	fe[1];
	} m;
	int fd, ok;

	CHECK((fd = open(file, O_RDONLY)) != -1);
	memset(&m, 0, sizeof(m));
	m.fm.fm_start = off;
	m.fm.fm_length = 4096;
	m.fm.fm_flags = FIEMAP_FLAG_SYNC;
	m.fm.fm_extent_count = 1;
	CHECK(ioctl(fd, FS_IOC_FIEMAP, &m) == 0);
	ok = m.fm.fm_mapped_extents == 1 &&
	    (m.fe[0].fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0;
	close(fd);
	return ok;
}

/*
 * A run of zeros over old data reads back as zeros, aligned (zeroed by
 * the device or the file system) or not (written), on a file system that
 * can zero a range (tmp) and on one that cannot (tmpfs: written). The
 * slot file keeps its blocks: a zeroed range is never a hole.
 */
static void
test_zeros(const char *file)
{
	enum { SZ = 16 * 4096 };
	char name[] = "rootfs.1", class[] = "rootfs";
	struct slot s = { name, class, 'B', SLOT_RAW, NULL, 0 };
	struct slot_writer *w;
	struct stat st;
	struct err e;
	unsigned char *zeros, *want;
	blkcnt_t blocks;
	int fd;

	CHECK(posix_memalign((void **)&zeros, 4096, SZ) == 0);
	memset(zeros, 0, SZ);
	CHECK((want = malloc(SZ)) != NULL);
	memcpy(want, payload, SZ);
	CHECK((fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644)) != -1);
	CHECK(write(fd, payload, SZ) == SZ && fsync(fd) == 0);
	CHECK(fstat(fd, &st) == 0);
	blocks = st.st_blocks;
	close(fd);

	s.device = (char *)file;
	CHECK_OK(slot_writer_open(&s, SZ, NULL, 0, &w, &e), &e);
	/* Aligned: pages 2-5. Unaligned: 100 bytes in page 8. A page of
	 * data among zeros stays. */
	CHECK_OK(slot_writer_pwrite(w, zeros, 4 * 4096, 2 * 4096, &e), &e);
	memset(want + 2 * 4096, 0, 4 * 4096);
	CHECK_OK(slot_writer_pwrite(w, zeros, 100, 8 * 4096 + 7, &e), &e);
	memset(want + 8 * 4096 + 7, 0, 100);
	CHECK_OK(slot_writer_pwrite(w, zeros, 2 * 4096, 12 * 4096, &e), &e);
	CHECK_OK(slot_writer_pwrite(w, payload + 13 * 4096, 4096, 13 * 4096,
	    &e), &e);
	memset(want + 12 * 4096, 0, 4096);
	CHECK_OK(slot_writer_finish(w, &e), &e);
	/* Through the writer's O_DIRECT read, then through a new open. */
	{
		unsigned char *got;

		CHECK(posix_memalign((void **)&got, 4096, SZ) == 0);
		CHECK_OK(slot_writer_read(w, got, SZ, 0, &e), &e);
		CHECK(memcmp(got, want, SZ) == 0);
		free(got);
	}
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	CHECK(file_is(file, want, SZ, 0644));
	CHECK(stat(file, &st) == 0 && st.st_blocks >= blocks);
	/* ext4 and XFS zero a range as unwritten extents: the zeros were
	 * not sent. */
	if (fs_zeroes_in_place(file))
		CHECK(unwritten_at(file, 2 * 4096));
	CHECK(unlink(file) == 0);
	free(want);
	free(zeros);
}

static const struct slot_file files3[] = {
	{ "kernel", 700000, 0644 },
	{ "empty", 0, 0600 },
	{ "initrd.img", PAYLOAD - 700000 - 17, 0640 },
	{ "cmdline", 17, 0444 },
};

static void
check_files3(const char *folder)
{
	char p[600];
	size_t i, off = 0;

	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", folder, files3[i].name);
		CHECK(file_is(p, payload + off, files3[i].size,
		    files3[i].mode));
		off += files3[i].size;
	}
}

/* Contract violations on the files slot s at target: sizes that do not
 * add up, bad names, a name twice, a missing parent, a write past the
 * end. None leaves an aside folder or touches the target. */
static void
test_files_refused(struct slot *s, const char *target, const char *aside)
{
	struct slot_writer *w;
	struct err e;

	err_clear(&e);
	CHECK(slot_writer_open(s, PAYLOAD + 1, files3, 4, &w, &e) ==
	    -EINVAL);
	CHECK(strstr(e.msg, "boot.1") != NULL);
	CHECK(!exists(aside));
	{
		struct slot_file bad[2] = {
			{ "../evil", 1, 0644 }, { "x", 1, 0644 },
		};

		CHECK(slot_writer_open(s, 2, bad, 2, &w, &e) == -EINVAL);
		CHECK(!exists(at("boot/evil")));
		bad[0].name = "x";
		CHECK(slot_writer_open(s, 2, bad, 2, &w, &e) == -EEXIST);
		CHECK(!exists(aside));
		bad[0].name = "a";
		CHECK_OK(slot_writer_open(s, 2, bad, 2, &w, &e), &e);
		CHECK(slot_writer_pwrite(w, payload, 2, 1, &e) == -EINVAL);
		CHECK(slot_writer_read(w, payload, 3, 0, &e) == -EINVAL);
		slot_writer_free(w);
	}
	s->device = at("nowhere/B");
	err_clear(&e);
	CHECK(slot_writer_open(s, PAYLOAD, files3, 4, &w, &e) == -ENOENT);
	CHECK(strstr(e.msg, at("nowhere")) != NULL);
	check_files3(target);
}

/* Stale aside and old folders (a crash mid-write or mid-commit) are
 * removed by the next open of the files slot s, subfolders included. */
static void
test_files_stale(struct slot *s, const char *target, const char *aside,
    const char *old)
{
	struct slot_writer *w;
	struct err e;

	CHECK(mkdir(aside, 0755) == 0);
	make_file(at("boot/.B.upkit-new/junk"), 10);
	CHECK(mkdir(old, 0755) == 0);
	CHECK(mkdir(at("boot/.B.upkit-old/sub"), 0755) == 0);
	make_file(at("boot/.B.upkit-old/sub/junk"), 10);
	CHECK(symlink("/", at("boot/.B.upkit-old/root")) == 0);
	CHECK_OK(slot_writer_open(s, PAYLOAD, files3, 4, &w, &e), &e);
	CHECK(!exists(at("boot/.B.upkit-new/junk")));
	CHECK(!exists(old));
	write_random(w, PAYLOAD);
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	check_files3(target);
	CHECK(!exists(at("boot/B/junk")));
}

static void
test_files(void)
{
	char name[] = "boot.1", class[] = "boot";
	char target[512], aside[512], old[512];
	struct slot s = { name, class, 'B', SLOT_FILES, NULL, 0 };
	struct slot_writer *w;
	struct err e;
	uint64_t sz;

	strcpy(target, at("boot/B"));
	strcpy(aside, at("boot/.B.upkit-new"));
	strcpy(old, at("boot/.B.upkit-old"));

	CHECK(mkdir(at("boot"), 0755) == 0);
	s.device = target;
	CHECK(slot_size(&s, &sz, &e) == -EINVAL);

	/* A new folder: nothing at the target until commit. */
	CHECK_OK(slot_writer_open(&s, PAYLOAD, files3, 4, &w, &e), &e);
	CHECK(exists(aside));
	write_random(w, PAYLOAD);
	CHECK(!exists(target));
	CHECK_OK(slot_writer_commit(w, &e), &e);
	CHECK(!exists(aside));
	/* Reads still work after the commit. */
	{
		unsigned char b[32];

		CHECK_OK(slot_writer_read(w, b, 32, 699990, &e), &e);
		CHECK(memcmp(b, payload + 699990, 32) == 0);
	}
	slot_writer_free(w);
	check_files3(target);

	/* Free without commit: old folder untouched, no aside left. */
	{
		static const struct slot_file one[] = {
			{ "kernel", 100, 0600 },
		};

		CHECK_OK(slot_writer_open(&s, 100, one, 1, &w, &e), &e);
		CHECK_OK(slot_writer_pwrite(w, payload + 5, 100, 0, &e), &e);
		CHECK_OK(slot_writer_finish(w, &e), &e);
		slot_writer_free(w);
		CHECK(!exists(aside));
		check_files3(target);

		/* Replacing: old files gone, new present with modes. */
		CHECK_OK(slot_writer_open(&s, 100, one, 1, &w, &e), &e);
		CHECK_OK(slot_writer_pwrite(w, payload + 5, 100, 0, &e), &e);
		CHECK_OK(slot_writer_finish(w, &e), &e);
		CHECK_OK(slot_writer_commit(w, &e), &e);
		CHECK(!exists(aside));
		slot_writer_free(w);
		CHECK(file_is(at("boot/B/kernel"), payload + 5, 100, 0600));
		CHECK(!exists(at("boot/B/initrd.img")));
		CHECK(!exists(at("boot/B/cmdline")));
		CHECK(!exists(at("boot/B/empty")));
	}

	test_files_stale(&s, target, aside, old);

	/* Threads writing across file boundaries. */
	CHECK_OK(slot_writer_open(&s, PAYLOAD, files3, 4, &w, &e), &e);
	write_threads(w, PAYLOAD);
	CHECK_OK(slot_writer_commit(w, &e), &e);
	slot_writer_free(w);
	check_files3(target);

	test_files_refused(&s, target, aside);
}

/* setuid, setgid and sticky bits from a bundle: dropped unless the
 * slot allows them (config: allow-special-modes). */
static void
test_special_modes(void)
{
	static const struct slot_file f[] = {
		{ "suid", 1, 04755 }, { "sgid", 1, 02750 },
		{ "sticky", 1, 01777 }, { "all", 1, 07777 },
		{ "plain", 1, 0640 },
	};
	static const unsigned plain[] = { 0755, 0750, 0777, 0777, 0640 };
	char name[] = "special.1", class[] = "special", target[512];
	struct slot s = { name, class, 'B', SLOT_FILES, NULL, 0 };
	struct slot_writer *w;
	struct err e;
	char p[600];
	size_t i;
	int allow;

	strcpy(target, at("special"));
	s.device = target;
	for (allow = 0; allow <= 1; allow++) {
		s.special_modes = allow;
		CHECK_OK(slot_writer_open(&s, 5, f, 5, &w, &e), &e);
		CHECK_OK(slot_writer_pwrite(w, payload, 5, 0, &e), &e);
		CHECK_OK(slot_writer_finish(w, &e), &e);
		CHECK_OK(slot_writer_commit(w, &e), &e);
		slot_writer_free(w);
		for (i = 0; i < 5; i++) {
			snprintf(p, sizeof(p), "%s/%s", target, f[i].name);
			CHECK(file_is(p, payload + i, 1,
			    allow ? f[i].mode : plain[i]));
		}
	}
}

/*
 * The slot's name points at another file once the writer has claimed and
 * checked it: every byte, O_DIRECT ones too, still goes to the file that
 * was checked (kept here under a second link), none to the newcomer.
 */
static void
test_swapped(void)
{
	char name[] = "rootfs.1", class[] = "rootfs", slot[512], orig[512];
	char decoy[512];
	struct slot s = { name, class, 'B', SLOT_RAW, slot, 0 };
	struct slot_writer *w;
	unsigned char *buf, *zero;
	size_t len = 1048576;
	struct err e;

	strcpy(slot, at("swap.img"));
	strcpy(orig, at("swap.orig"));
	strcpy(decoy, at("swap.decoy"));
	make_file(slot, len);
	make_file(decoy, len);
	CHECK(link(slot, orig) == 0);
	CHECK((buf = aligned_alloc(4096, len)) != NULL);
	CHECK((zero = calloc(1, len)) != NULL);
	memcpy(buf, payload, len);
	swap_at = slot;
	swap_with = decoy;
	CHECK_OK(slot_writer_open(&s, len, NULL, 0, &w, &e), &e);
	CHECK(swap_at == NULL);
	CHECK_OK(slot_writer_pwrite(w, buf, len, 0, &e), &e);
	CHECK_OK(slot_writer_finish(w, &e), &e);
	slot_writer_free(w);
	CHECK(file_is(orig, payload, len, 0644));
	CHECK(file_is(slot, zero, len, 0644));
	free(zero);
	free(buf);
}

int
main(void)
{
	size_t i;

	tmpdir_make("writer_test");
	srand(42);
	CHECK((payload = malloc(PAYLOAD)) != NULL);
	for (i = 0; i < PAYLOAD; i++)
		payload[i] = (unsigned char)rand();
	test_raw();
	test_swapped();
	test_zeros(at("zeros.img"));
	if (access("/dev/shm", W_OK) == 0) {
		char shm[64];

		snprintf(shm, sizeof(shm), "/dev/shm/writer_test.%d",
		    (int)getpid());
		test_zeros(shm);
	}
	test_files();
	test_special_modes();
	free(payload);
	tmpdir_remove();
	return 0;
}

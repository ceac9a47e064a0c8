/*
 * tests/largeslot_test: a 16 GiB raw slot, as a 32-bit board may have.
 * Writes and reads past 4 GiB, aligned (O_DIRECT where the file system
 * has it) and not, land at their own offsets and nowhere else: a 32-bit
 * off_t would wrap them onto the start of the slot or refuse them. Run
 * natively and, cross-built by make armhf, under qemu-arm
 * (tests/e2e/armhf_unit_test.sh; docs/portability.md). The image is
 * sparse: only the written blocks take space.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "slots/slot.h"
#include "tests/harness.h"

static void
test_large(void)
{
	const uint64_t size = 16ULL << 30;
	const uint64_t offs[] = { (4ULL << 30) + 4096, (8ULL << 30) - 4096,
	    size - 4096 };
	char name[] = "rootfs.1", class[] = "rootfs", path[512];
	struct slot s = { name, class, 'B', SLOT_RAW, path, 0 };
	struct slot_writer *w;
	unsigned char *buf, odd[100], got[100];
	struct err e;
	uint64_t sz;
	size_t i;
	int fd;

	strcpy(path, at("large.img"));
	CHECK((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644)) != -1);
	CHECK(ftruncate(fd, (off_t)size) == 0);
	CHECK(posix_memalign((void **)&buf, 4096, 4096) == 0);
	CHECK_OK(slot_size(&s, &sz, &e), &e);
	CHECK(sz == size);
	CHECK_OK(slot_writer_open(&s, size, NULL, 0, &w, &e), &e);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memset(buf, 0xa0 + (int)i, 4096);
		CHECK_OK(slot_writer_pwrite(w, buf, 4096, offs[i], &e), &e);
	}
	memset(odd, 0x5c, sizeof(odd));
	CHECK_OK(slot_writer_pwrite(w, odd, sizeof(odd), (5ULL << 30) + 7,
	    &e), &e);
	CHECK_OK(slot_writer_finish(w, &e), &e);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		CHECK_OK(slot_writer_read(w, buf, 4096, offs[i], &e), &e);
		CHECK(buf[0] == 0xa0 + i && buf[4095] == 0xa0 + i);
		/* And where the file itself has them. */
		CHECK(pread(fd, buf, 4096, (off_t)offs[i]) == 4096);
		CHECK(buf[0] == 0xa0 + i && buf[4095] == 0xa0 + i);
	}
	CHECK(pread(fd, got, sizeof(got), (off_t)(5ULL << 30) + 7) ==
	    (ssize_t)sizeof(got));
	CHECK(memcmp(got, odd, sizeof(odd)) == 0);
	/* Where a wrapped offset would have put them: still zeros. */
	CHECK(pread(fd, buf, 4096, 0) == 4096);
	for (i = 0; i < 4096; i++)
		CHECK(buf[i] == 0);
	CHECK(pread(fd, buf, 4096, 4096) == 4096);
	for (i = 0; i < 4096; i++)
		CHECK(buf[i] == 0);
	/* Past the end, even by one byte at 16 GiB: refused. */
	CHECK(slot_writer_pwrite(w, odd, 1, size, &e) == -EINVAL);
	slot_writer_free(w);
	close(fd);
	free(buf);
	CHECK(unlink(path) == 0);
}

int
main(void)
{
	tmpdir_make("largeslot_test");
	test_large();
	tmpdir_remove();
	return 0;
}

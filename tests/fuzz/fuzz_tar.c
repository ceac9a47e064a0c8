/* fuzz_tar: the tar reader, on the input as an archive file (a memfd,
 * opened by its /proc path as tar_list() opens any path). Every member
 * listed must have its data inside the file. */
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "host/tar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_member *m;
	struct err e;
	size_t n, i, off;
	ssize_t w;

	if (fd == -1) {
		if ((fd = memfd_create("fuzz_tar", MFD_CLOEXEC)) == -1)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1)
		abort();
	for (off = 0; off < size; off += (size_t)w)
		if ((w = pwrite(fd, data + off, size - off, (off_t)off)) <= 0)
			abort();
	if (tar_list(path, &m, &n, &e) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (m[i].name == NULL || m[i].offset > size ||
		    m[i].size > size - m[i].offset || m[i].offset % 512 != 0)
			abort();
		(void)tar_basename(m[i].name);
	}
	tar_members_free(m, n);
	return 0;
}

/* fuzz_fat: host/fat.c and host/esp.c on an image in memory: the input
 * as a UKI, a GPT disk or an ESP, as bundle create --uki takes it; and
 * as a FAT volume, every entry of its root folder and of EFI/Linux
 * listed and mapped to extents. Every extent must lie in the input, and
 * every name must end in a NUL within its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "host/esp.h"
#include "host/fat.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t	*p;
	size_t		 n;
};

static int
mem_read(void *arg, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = arg;

	if (off > m->n || len > m->n - off)
		return -5;	/* -EIO: short */
	memcpy(buf, m->p + off, len);
	return 0;
}

static void
in_input(const struct fat_extent *x, size_t n, size_t size)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i].off > size || x[i].len > size - x[i].off)
			abort();
}

static void
folder(struct fat *f, const char *path, size_t size)
{
	struct fat_file l[16];
	struct fat_extent x[8];
	size_t n, i, nx;
	struct err e;

	if (fat_list(f, path, l, 16, &n, &e) != 0)
		return;
	for (i = 0; i < n && i < 16; i++) {
		if (memchr(l[i].name, '\0', sizeof(l[i].name)) == NULL)
			abort();
		if (!l[i].dir && fat_extents(f, &l[i], x, 8, &nx, &e) == 0)
			in_input(x, nx, size);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct fat_io io = { mem_read, &m };
	struct fat_extent x[8];
	char name[FAT_NAME_MAX + 16];
	struct fat *f;
	struct err e;
	size_t n;

	if (esp_find_uki(&io, size, x, 8, &n, name, sizeof(name), &e) == 0)
		in_input(x, n, size);
	if (fat_open(&io, 0, size, &f, &e) != 0)
		return 0;
	folder(f, "", size);
	folder(f, "EFI/Linux", size);
	fat_free(f);
	return 0;
}

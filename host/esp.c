/*
 * host/esp: the UKI payload (host/esp.h). What the user names is told
 * apart by its first bytes: "MZ" is a UKI; "EFI PART" in the second
 * sector (of 512 or 4096 bytes) is a GPT disk; anything else must be a
 * FAT file system, the ESP itself. In a GPT disk the ESP is the one
 * partition of type C12A7328-F81F-11D2-BA4B-00A0C93EC93B. In the ESP the
 * UKI is the one file of EFI/Linux that systemd-boot would list as a
 * Type #2 entry (docs/efi.md, rule 1): a name ending in .efi, not
 * starting with "." or "auto-", not empty. It must be a PE image whose
 * .osrel names an OS, or systemd-boot would skip it.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/err.h"
#include "common/io.h"
#include "host/esp.h"
#include "host/fat.h"
#include "host/plan.h"
#include "slots/boot/efi.h"

#define GPT_SIG		"EFI PART"
#define GPT_HEAD	92		/* bytes of the header we read */
#define GPT_ENTRY	128		/* the least entry size */
#define LIST_MAX	256		/* entries of EFI/Linux looked at */
#define EXTENTS_MAX	4096
#define PE_HEAD		16384		/* as efiosrel.c reads */
#define COPY_BLOCK	(1u << 20)

/* The ESP's type GUID as GPT stores it (the first three fields little
 * endian). */
static const unsigned char esp_guid[16] = {
	0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
	0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
};

static int
rd(const struct fat_io *io, void *buf, size_t len, uint64_t off)
{
	return io->read(io->arg, buf, len, off);
}

/* Bytes [off, off + len) of a file made of extents x. */
static int
ext_read(const struct fat_io *io, const struct fat_extent *x, size_t nx,
    unsigned char *buf, size_t len, uint64_t off)
{
	uint64_t n;
	size_t i;
	int r;

	for (i = 0; i < nx && len > 0; i++) {
		if (off >= x[i].len) {
			off -= x[i].len;
			continue;
		}
		n = x[i].len - off < len ? x[i].len - off : len;
		if ((r = rd(io, buf, (size_t)n, x[i].off + off)) < 0)
			return r;
		buf += n;
		len -= (size_t)n;
		off = 0;
	}
	return len == 0 ? 0 : -EIO;
}

/* Whether the file of extents x (size bytes) is a UKI systemd-boot
 * lists: a PE image with an .osrel section that names an OS. */
static int
uki_check(const struct fat_io *io, const struct fat_extent *x, size_t nx,
    uint64_t size, const char *name, struct err *e)
{
	unsigned char head[PE_HEAD];
	char text[EFI_OSREL_MAX];
	struct efi_osrel o;
	uint64_t off, len;
	size_t n = size < sizeof(head) ? (size_t)size : sizeof(head);
	int r;

	if ((r = ext_read(io, x, nx, head, n, 0)) < 0)
		return err_set(e, r, "%s: read: %s", name, strerror(-r));
	if ((r = efi_pe_section(head, n, ".osrel", &off, &len)) < 0)
		return err_set(e, -EINVAL, "%s: not a UKI: %s", name,
		    r == -ENOENT ? "a PE image without an .osrel section "
		    "(systemd-boot lists only UKIs that have one)" :
		    "no PE header");
	if (off > size || len > size - off)
		return err_set(e, -EINVAL, "%s: not a UKI: its .osrel "
		    "section lies past the end of the file", name);
	if (len > sizeof(text))
		len = sizeof(text);
	if ((r = ext_read(io, x, nx, (unsigned char *)text, (size_t)len,
	    off)) < 0)
		return err_set(e, r, "%s: read: %s", name, strerror(-r));
	efi_osrel_parse(text, (size_t)len, &o);
	if (!o.entry)
		return err_set(e, -EINVAL, "%s: not a UKI systemd-boot lists: "
		    "its .osrel names no OS (no NAME, PRETTY_NAME, ID or "
		    "IMAGE_ID)", name);
	return 0;
}

/*
 * The ESP of a GPT disk with sectors of ss bytes: its offset and size,
 * and its number (from 1). Refuses a table or an ESP past the end of the
 * file, none, and two.
 */
static int
gpt_esp(const struct fat_io *io, uint64_t size, uint32_t ss,
    uint64_t *offp, uint64_t *lenp, struct err *e)
{
	unsigned char h[GPT_HEAD], d[GPT_ENTRY];
	uint64_t lba, first = 0, last = 0, at;
	uint32_t n, esz, i, part = 0;
	int r;

	if (size < (uint64_t)ss + GPT_HEAD)
		return err_set(e, -EINVAL, "truncated GPT: no room for its "
		    "header");
	if ((r = rd(io, h, sizeof(h), ss)) < 0)
		return err_set(e, r, "GPT header: %s", strerror(-r));
	lba = getle64(h + 72);
	n = getle32(h + 80);
	esz = getle32(h + 84);
	if (getle32(h + 12) < GPT_HEAD || getle32(h + 12) > ss ||
	    esz < GPT_ENTRY || esz % 8 != 0 || esz > 4096 || lba < 2 ||
	    lba > size / ss)
		return err_set(e, -EINVAL, "bad GPT header: header size %u, "
		    "partition entries at LBA %llu, %u bytes each",
		    getle32(h + 12), (unsigned long long)lba, esz);
	if ((uint64_t)n * esz > size - lba * ss)
		return err_set(e, -EINVAL, "truncated GPT: %u partition "
		    "entries of %u bytes at byte %llu pass the end of the "
		    "file (%llu bytes)", n, esz,
		    (unsigned long long)(lba * ss), (unsigned long long)size);
	for (i = 0; i < n; i++) {
		at = lba * ss + (uint64_t)i * esz;
		if ((r = rd(io, d, sizeof(d), at)) < 0)
			return err_set(e, r, "GPT entry %u: %s", i + 1,
			    strerror(-r));
		if (memcmp(d, esp_guid, sizeof(esp_guid)) != 0)
			continue;
		if (part != 0)
			return err_set(e, -EINVAL, "two EFI system partitions, "
			    "%u and %u", part, i + 1);
		part = i + 1;
		first = getle64(d + 32);
		last = getle64(d + 40);
	}
	if (part == 0)
		return err_set(e, -ENOENT, "no EFI system partition (type "
		    "C12A7328-F81F-11D2-BA4B-00A0C93EC93B) in the GPT");
	if (first > last || last >= size / ss)
		return err_set(e, -EINVAL, "truncated: EFI system partition "
		    "%u spans sectors %llu to %llu, the file ends at sector "
		    "%llu", part, (unsigned long long)first,
		    (unsigned long long)last, (unsigned long long)(size / ss));
	*offp = first * ss;
	*lenp = (last - first + 1) * ss;
	return 0;
}

/* A name systemd-boot takes for a Type #2 entry (docs/efi.md, rule 1). */
static int
entry_name(const char *n)
{
	size_t len = strlen(n);

	return len > 4 && strcasecmp(n + len - 4, ".efi") == 0 &&
	    n[0] != '.' && strncasecmp(n, "auto-", 5) != 0;
}

/* The one UKI in EFI/Linux of the FAT volume at base (len bytes). */
static int
esp_uki(const struct fat_io *io, uint64_t base, uint64_t len,
    struct fat_extent *x, size_t max, size_t *np, char *name,
    size_t namelen, struct err *e)
{
	struct fat_file *l = NULL, *uki = NULL;
	struct fat *f = NULL;
	char why[sizeof(e->msg)];
	size_t n = 0, i;
	int r;

	if ((r = fat_open(io, base, len, &f, e)) < 0) {
		/* Without a GPT, the file was taken for an ESP as a last
		 * guess: say what else it could have been. */
		if (r == -EBADMSG && base == 0) {
			snprintf(why, sizeof(why), "%s", e->msg);
			r = err_set(e, -EINVAL, "neither a UKI (PE), a GPT "
			    "disk image nor an ESP image (%s)", why);
		}
		goto out;
	}
	if ((l = calloc(LIST_MAX, sizeof(*l))) == NULL) {
		r = err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = fat_list(f, "EFI/Linux", l, LIST_MAX, &n, e)) < 0) {
		if (r == -ENOENT)
			err_set(e, r, "no UKI: the ESP has no EFI/Linux folder "
			    "(a GRUB image? to reimage a disk with it, use "
			    "--image disk=FILE)");
		goto out;
	}
	for (i = 0; i < n && i < LIST_MAX; i++) {
		if (l[i].dir || l[i].size == 0 || !entry_name(l[i].name))
			continue;
		if (uki != NULL) {
			r = err_set(e, -EINVAL, "two UKIs in EFI/Linux, %s and "
			    "%s: a bundle carries one; copy it out (mcopy) "
			    "and give it with --uki", uki->name, l[i].name);
			goto out;
		}
		uki = &l[i];
	}
	if (uki == NULL) {
		r = err_set(e, -ENOENT, "no UKI (*.efi) in EFI/Linux of the "
		    "ESP");
		goto out;
	}
	if ((r = fat_extents(f, uki, x, max, np, e)) < 0)
		goto out;
	snprintf(name, namelen, "EFI/Linux/%s", uki->name);
	r = uki_check(io, x, *np, uki->size, name, e);
out:
	free(l);
	fat_free(f);
	return r;
}

int
esp_find_uki(const struct fat_io *io, uint64_t size, struct fat_extent *x,
    size_t max, size_t *np, char *name, size_t namelen, struct err *e)
{
	unsigned char head[8];
	uint64_t off = 0, len = size;
	uint32_t ss;
	int r;

	*np = 0;
	if (size >= 2 && (r = rd(io, head, 2, 0)) == 0 && head[0] == 'M' &&
	    head[1] == 'Z') {
		x[0].off = 0;
		x[0].len = size;
		*np = 1;
		snprintf(name, namelen, "the UKI");
		return uki_check(io, x, 1, size, name, e);
	}
	for (ss = 512; ss <= 4096; ss *= 8) {
		if (size < (uint64_t)ss + sizeof(head) ||
		    rd(io, head, sizeof(head), ss) < 0 ||
		    memcmp(head, GPT_SIG, sizeof(head)) != 0)
			continue;
		if ((r = gpt_esp(io, size, ss, &off, &len, e)) < 0)
			return r;
		break;
	}
	return esp_uki(io, off, len, x, max, np, name, namelen, e);
}

static int
file_read_at(void *arg, void *buf, size_t len, uint64_t off)
{
	return pread_all(*(int *)arg, buf, len, off);
}

/* Copies the extents into an unlinked temporary file, kept open: its
 * name for host/compress.c is /proc/self/fd/N, which goes away with the
 * process. */
static int
copy_out(int fd, const struct fat_extent *x, size_t nx, char *path,
    size_t pathlen, struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	unsigned char *buf;
	uint64_t done, n;
	size_t i;
	int out, r = 0;

	snprintf(path, pathlen, "%s/upkit-uki-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((out = mkstemp(path)) == -1) {
		r = -errno;
		return err_set(e, r, "%s: %s", path, strerror(-r));
	}
	(void)unlink(path);
	if ((buf = malloc(COPY_BLOCK)) == NULL)
		r = -ENOMEM;
	for (i = 0; r == 0 && i < nx; i++)
		for (done = 0; r == 0 && done < x[i].len; done += n) {
			n = x[i].len - done < COPY_BLOCK ? x[i].len - done :
			    COPY_BLOCK;
			if ((r = pread_all(fd, buf, (size_t)n,
			    x[i].off + done)) == 0)
				r = write_all(out, buf, (size_t)n);
		}
	free(buf);
	if (r < 0) {
		close(out);
		return err_set(e, r, "copy of the UKI to %s: %s", path,
		    strerror(-r));
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", out);
	return 0;
}

int
create_add_uki(struct create_plan *p, const char *path, struct err *e)
{
	struct fat_io io = { file_read_at, NULL };
	struct fat_extent *x = NULL;
	char name[FAT_NAME_MAX + 16], src[4200];
	const char *from = path;
	uint64_t total = 0;
	struct stat st;
	size_t nx = 0, i;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "%s: %s", path, strerror(-r));
	}
	io.arg = &fd;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		r = err_set(e, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((x = calloc(EXTENTS_MAX, sizeof(*x))) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((r = esp_find_uki(&io, (uint64_t)st.st_size, x, EXTENTS_MAX, &nx,
	    name, sizeof(name), e)) < 0) {
		/* What the file holds is wrong, not its reading: an input
		 * the option does not take (exit 2, as --image's). */
		if (r == -EBADMSG || r == -EFBIG || r == -ENOENT ||
		    r == -E2BIG)
			r = e->code = -EINVAL;
		err_prefix(e, "%s", path);
		goto out;
	}
	/* One stretch of the file is a range of it; a fragmented UKI is
	 * copied out, so that the payload is still its bytes in order. */
	for (i = 0; i < nx; i++)
		total += x[i].len;
	if (nx > 1) {
		if ((r = copy_out(fd, x, nx, src, sizeof(src), e)) < 0)
			goto out;
		from = src;
		x[0].off = 0;
	}
	r = create_add_range(p, ESP_UKI_CLASS, PAYLOAD_FILES, path,
	    ESP_UKI_NAME, from, x[0].off, total, 0644, e);
out:
	free(x);
	close(fd);
	return r;
}

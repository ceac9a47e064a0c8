/*
 * The .osrel of a UKI, as far as systemd-boot orders entries by it
 * (slots/boot/efi.h): find the section in the PE headers, read the
 * os-release text, pick the sort key and version as systemd's
 * bootspec_pick_name_version_sort_key() does. Every offset and length
 * is checked against what was read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "slots/boot/efi.h"

#define PE_HEAD_MAX	16384	/* headers and section table */
#define SECTION_SIZE	40

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int
efi_pe_section(const unsigned char *buf, size_t len, const char *name,
    uint64_t *offp, uint64_t *sizep)
{
	const unsigned char *sec;
	uint64_t pe, table, n, i, vsize, rsize;
	size_t nlen = strlen(name);

	if (len < 0x40 || buf[0] != 'M' || buf[1] != 'Z')
		return -EBADMSG;
	pe = le32(buf + 0x3c);
	if (pe > len || len - pe < 24 || memcmp(buf + pe, "PE\0\0", 4) != 0)
		return -EBADMSG;
	n = le16(buf + pe + 6);
	table = pe + 24 + le16(buf + pe + 20);
	if (table > len || (len - table) / SECTION_SIZE < n)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		sec = buf + table + i * SECTION_SIZE;
		if (memcmp(sec, name, nlen) != 0 ||
		    (nlen < 8 && sec[nlen] != '\0'))
			continue;
		/* The loader reads VirtualSize bytes; past SizeOfRawData
		 * the image holds zeros, which os-release parsing stops at. */
		vsize = le32(sec + 8);
		rsize = le32(sec + 16);
		*offp = le32(sec + 20);
		*sizep = vsize < rsize ? vsize : rsize;
		return 0;
	}
	return -ENOENT;
}

/* Copies the value of line p (after '='), unquoted, into out. */
static void
copy_value(const char *v, size_t n, char *out, size_t outlen)
{
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

void
efi_osrel_parse(const char *text, size_t len, struct efi_osrel *o)
{
	static const char *const keys[] = {
		"PRETTY_NAME", "NAME", "IMAGE_ID", "ID", "IMAGE_VERSION",
		"VERSION", "VERSION_ID", "BUILD_ID",
	};
	char val[8][64];
	const char *p = text, *end = text + len, *nl, *eq;
	size_t i, k;

	memset(o, 0, sizeof(*o));
	memset(val, 0, sizeof(val));
	for (; p < end && *p != '\0'; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((eq = memchr(p, '=', (size_t)(nl - p))) == NULL)
			continue;
		for (i = 0; i < 8; i++) {
			k = strlen(keys[i]);
			if ((size_t)(eq - p) == k && memcmp(p, keys[i], k) == 0)
				copy_value(eq + 1, (size_t)(nl - eq - 1),
				    val[i], sizeof(val[i]));
		}
		if (nl == end)
			break;
	}
	o->entry = val[0][0] != '\0' || val[1][0] != '\0' ||
	    val[2][0] != '\0' || val[3][0] != '\0';
	snprintf(o->sort_key, sizeof(o->sort_key), "%s",
	    val[2][0] != '\0' ? val[2] : val[3]);
	for (i = 4; i < 8 && val[i][0] == '\0'; i++)
		;
	snprintf(o->version, sizeof(o->version), "%s", i < 8 ? val[i] : "");
}

int
efi_osrel_read(const char *path, struct efi_osrel *o)
{
	unsigned char head[PE_HEAD_MAX];
	char text[EFI_OSREL_MAX + 1];
	uint64_t off, size;
	ssize_t n;
	int fd, r = 0;

	memset(o, 0, sizeof(*o));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	if ((n = read_full(fd, head, sizeof(head))) < 0) {
		r = (int)n;
		goto out;
	}
	if (efi_pe_section(head, (size_t)n, ".osrel", &off, &size) < 0)
		goto out;
	if (size > EFI_OSREL_MAX)
		size = EFI_OSREL_MAX;
	if ((n = pread(fd, text, (size_t)size, (off_t)off)) < 0) {
		r = -errno;
		goto out;
	}
	efi_osrel_parse(text, (size_t)n, o);
out:
	close(fd);
	return r;
}

int
efi_osrel_by_id(const struct efi_osrel *a, const struct efi_osrel *b)
{
	if (!a->entry || !b->entry)
		return 1;
	if (a->sort_key[0] == '\0' && b->sort_key[0] == '\0')
		return 1;
	return strcmp(a->sort_key, b->sort_key) == 0 &&
	    strcmp(a->version, b->version) == 0;
}

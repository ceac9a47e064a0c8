/*
 * efivarfs reads for the systemd-boot backend. A file in efivarfs is
 * named NAME-GUID and holds the variable's 4 attribute bytes (little
 * endian) and then its data; systemd-boot stores strings as UTF-16LE
 * with a final NUL (efivar_set() passes StrSize(), which counts it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/efi.h"

#define EFIVAR_MAX	(4 + 2 * 256)

int
efivar_read_string(const char *dir, const char *name, char *out,
    size_t outlen, struct err *e)
{
	unsigned char buf[EFIVAR_MAX];
	char path[4096];
	size_t len, i, n = 0;
	unsigned c;
	int r;

	snprintf(path, sizeof(path), "%s/%s-%s", dir, name, EFI_LOADER_GUID);
	if ((r = read_upto(path, buf, sizeof(buf), &len)) == -ENOENT)
		return err_set(e, r, "EFI variable %s: not set", path);
	if (r == -EFBIG)
		return err_set(e, -EBADMSG, "EFI variable %s: longer than "
		    "%d bytes", path, EFIVAR_MAX);
	if (r < 0)
		return err_set(e, r, "EFI variable %s: %s", path, strerror(-r));
	if (len < 4 || (len - 4) % 2 != 0)
		return err_set(e, -EBADMSG, "EFI variable %s: %zu bytes is "
		    "not attributes and a UTF-16 string", path, len);
	for (i = 4; i < len; i += 2) {
		c = buf[i] | (unsigned)buf[i + 1] << 8;
		if (c == 0 && i + 2 == len)
			break;
		/* Ids of upkit's entries are ASCII; a NUL in the middle
		 * would hide what follows it. */
		if (c < 0x20 || c > 0x7e)
			return err_set(e, -EBADMSG, "EFI variable %s: "
			    "character %u at byte %zu is not printable "
			    "ASCII", path, c, i);
		if (n + 1 >= outlen)
			return err_set(e, -EBADMSG, "EFI variable %s: "
			    "longer than %zu characters", path, outlen - 1);
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

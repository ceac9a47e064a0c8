/* fuzz_efi: the efi backend's parsers. The input is taken as the start
 * of a UKI (PE headers, an .osrel section) and as os-release text; cut
 * at its first NUL, as an EFI/Linux file name (a parsed live or parked name must
 * format back to a name that parses the same) and as a
 * LoaderEntrySelected id; the whole input as a copy of the store (a
 * decoded copy must encode back to bytes that decode the same). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slots/boot/efi.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
name(const uint8_t *data, size_t size)
{
	char s[256], out[EFI_NAME_MAX], slot;
	struct efi_entry en, en2;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	(void)efi_selected_slot(s, &slot);
	if (efi_name_parse(s, &en) != 0)
		return;
	efi_name_format(&en, out);
	if (efi_name_parse(out, &en2) != 0 || en.slot != en2.slot ||
	    en.live != en2.live || en.rank != en2.rank ||
	    en.counted != en2.counted || en.left != en2.left ||
	    en.done != en2.done || efi_entry_cmp(&en, &en2) != 0)
		abort();
}

/* The input as the start of a UKI, and as os-release text. */
static void
osrel(const uint8_t *data, size_t size)
{
	struct efi_osrel o;
	uint64_t off, len;

	efi_osrel_parse((const char *)data, size, &o);
	if (efi_pe_section(data, size, ".osrel", &off, &len) != 0 ||
	    off > size || len > size - off)
		return;
	efi_osrel_parse((const char *)data + off, len, &o);
	if (memchr(o.sort_key, '\0', sizeof(o.sort_key)) == NULL ||
	    memchr(o.version, '\0', sizeof(o.version)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char buf[EFI_STORE_SIZE];
	struct efi_store s, s2;
	char why[160];

	name(data, size);
	osrel(data, size);
	if (efi_store_decode(data, size, &s, why, sizeof(why)) != 0)
		return 0;
	efi_store_encode(&s, buf);
	if (efi_store_decode(buf, sizeof(buf), &s2, why, sizeof(why)) != 0 ||
	    s.seq != s2.seq || s.trial != s2.trial || s.floor != s2.floor ||
	    (s.trial != 0 && s.trial_floor != s2.trial_floor))
		abort();
	return 0;
}

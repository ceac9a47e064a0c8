/*
 * The table of bootloader env backends (uboot, grub, efi). A new backend
 * adds its ops here and nowhere else.
 */
#include <stddef.h>
#include <string.h>

#include "slots/boot/bootenv.h"

/* Defined in slots/boot/uboot.c. */
extern const struct bootenv_ops uboot_ops;
/* Defined in slots/boot/grub.c. */
extern const struct bootenv_ops grub_ops;
/* Defined in slots/boot/efi.c. */
extern const struct bootenv_ops efi_ops;

static const struct bootenv_ops *const backends[] = {
	&uboot_ops,
	&grub_ops,
	&efi_ops,
	NULL
};

const struct bootenv_ops *
bootenv_find(const char *name)
{
	size_t i;

	for (i = 0; backends[i] != NULL; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

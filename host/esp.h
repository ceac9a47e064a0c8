/*
 * host/esp: the UKI payload of a bundle (docs/efi.md, "The UKI
 * payload"). One unified kernel image, taken from a UKI file, from an
 * EFI system partition image (FAT), or from a GPT disk image such as
 * LinuxKit's raw-efi NAME-efi.img, whose ESP it finds by partition type
 * and reads with host/fat.c. The UKI goes into the bundle byte for byte
 * as it is (a signed one stays signed): as a range of the image when its
 * clusters are contiguous, else copied out into an unlinked temporary
 * file first.
 */
#ifndef HOST_ESP_H
#define HOST_ESP_H

#include <stddef.h>
#include <stdint.h>

struct create_plan;
struct err;
struct fat_io;

#define ESP_UKI_CLASS	"uki"		/* the payload's class */
#define ESP_UKI_NAME	"uki.efi"	/* its one file */

/*
 * Adds a files payload of class "uki" holding the one UKI in path: a UKI
 * (a PE image with an .osrel section naming an OS, as systemd-boot wants
 * of a Type #2 entry), an ESP image or a GPT disk image with one ESP whose
 * EFI/Linux holds exactly one *.efi. Every refusal (no ESP, two, a
 * truncated GPT or file system, no UKI, two, not a UKI) is one message
 * naming path.
 */
int	create_add_uki(struct create_plan *p, const char *path, struct err *e);

/*
 * The UKI of an image read through io (size bytes): its extents in
 * x[max] (*np of them) and its name in EFI/Linux, or, for a UKI itself,
 * one extent of the whole. The checks of create_add_uki(), without the
 * file: for tests and the fuzz target. Messages do not name the file.
 */
struct fat_extent;
int	esp_find_uki(const struct fat_io *io, uint64_t size,
	    struct fat_extent *x, size_t max, size_t *np, char *name,
	    size_t namelen, struct err *e);

#endif /* HOST_ESP_H */

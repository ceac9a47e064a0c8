/*
 * slots/boot/efi: the systemd-boot backend's parts that need no ESP, so
 * that tests can reach them: the entry names upkit gives the two UKIs,
 * the order in which systemd-boot picks among them, and efivarfs reads.
 * The backend itself (efi.c) maps a struct bootstate onto these names;
 * docs/efi.md says which systemd-boot rule each part relies on.
 *
 * A slot's UKI is one file in ESP/EFI/Linux, named
 *   upkit-RANK-X.efi		good: systemd-boot boots it, no counting
 *   upkit-RANK-X+L[-D].efi	counted: L tries left, D done
 *   upkit-X.off		parked: no entry (systemd-boot wants *.efi)
 * X is A or B. RANK is a decimal number; the entry with the higher rank
 * sorts first, because systemd-boot orders entries with tries left by
 * their id (the file name) in falling version order.
 */
#ifndef SLOTS_BOOT_EFI_H
#define SLOTS_BOOT_EFI_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define EFI_NAME_MAX	64	/* longest name upkit writes, with NUL */
#define EFI_LEFT_MAX	99	/* counters above are not upkit's */
#define EFI_DONE_MAX	999999999
#define EFI_RANK_MAX	999999999999999999ULL

#define EFI_EFIVARFS	"/sys/firmware/efi/efivars"

/* systemd-boot's vendor GUID for its Loader* variables. */
#define EFI_LOADER_GUID	"4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

struct efi_entry {
	char		slot;		/* 'A' or 'B' */
	int		live;		/* *.efi: an entry; 0: parked */
	uint64_t	rank;		/* live only */
	int		counted;	/* +L[-D] present (live only) */
	int		left;		/* tries left, when counted */
	int		done;		/* tries done, when counted */
};

/* Parses a file name of EFI/Linux; 0, or -EINVAL if it is not one of
 * upkit's names (anything else there is not ours and is left alone). */
int	efi_name_parse(const char *name, struct efi_entry *en);
/* The name of en (see above) into out, EFI_NAME_MAX bytes. A counted
 * entry is written "+L" when D is 0, as systemd's docs write new ones. */
void	efi_name_format(const struct efi_entry *en, char *out);
/*
 * systemd-boot's order of two live entries: < 0 when a is picked before
 * b. Entries with no tries left (counted, L = 0) come last; then the
 * higher rank; then B before A (the ids "upkit-R-b" and "upkit-R-a" in
 * falling order). This holds when both UKIs' .osrel give the same sort
 * key and version or none (docs/efi.md, "Order").
 */
int	efi_entry_cmp(const struct efi_entry *a, const struct efi_entry *b);
/* The slot systemd-boot boots from n live entries: the first in its
 * order (it boots an entry with no tries left too, when it is first).
 * 0 if n is 0. */
char	efi_loader_pick(const struct efi_entry *en, size_t n);
/*
 * The slot in a LoaderEntrySelected value: the entry id, lower case,
 * with the counter (systemd-boot 252 keeps the counter as it was before
 * the boot decremented it, later versions drop it). -EINVAL if it is not
 * one of upkit's entries.
 */
int	efi_selected_slot(const char *id, char *slotp);

/*
 * Reads the EFI variable NAME-GUID from the efivarfs folder dir: 4 bytes
 * of attributes, then a UTF-16LE string, with or without its NUL. The
 * string, ASCII only, goes into out (outlen bytes with the NUL).
 * -ENOENT if there is no such variable, -EBADMSG if it is not such a
 * string (the message names the file).
 */
int	efivar_read_string(const char *dir, const char *name,
	    char *out, size_t outlen, struct err *e);
/*
 * upkit's own three variables (UPKIT_TRIAL, UPKIT_TRIAL_FLOOR,
 * UPKIT_FLOOR), which have no place in a file name, in two copies on the
 * ESP, DIR/state.0 and DIR/state.1: EFI_STORE_SIZE bytes of text with a
 * sequence number and an XXH3. A write goes in place into the copy that
 * does not hold the newest state, so a torn write damages only that one
 * and the other still holds the state before it (docs/efi.md).
 */
#define EFI_STORE_SIZE	512

struct efi_store {
	uint64_t	seq;		/* 0: no valid copy */
	int		cur;		/* copy that holds seq, -1: none */
	char		trial;		/* 'A', 'B' or 0 */
	uint64_t	trial_floor;
	uint64_t	floor;
};

/* Reads both copies and keeps the valid one with the higher sequence.
 * No valid copy is an empty store (seq 0); note then says why, if a copy
 * was there but damaged. -errno only when a copy cannot be read. */
int	efi_store_read(const char *dir, struct efi_store *s, char *note,
	    size_t notelen, struct err *e);
/* Writes s as the next sequence into the other copy (creating DIR and the
 * copy if needed), fsyncs it and syncfs()es; s->seq and s->cur follow. */
int	efi_store_write(const char *dir, struct efi_store *s, struct err *e);
/* The text of a copy, for tests: buf holds EFI_STORE_SIZE bytes. */
void	efi_store_encode(const struct efi_store *s, unsigned char *buf);
/* 0 and *s from a copy's bytes, or -EBADMSG (why says it). */
int	efi_store_decode(const unsigned char *buf, size_t len,
	    struct efi_store *s, char *why, size_t whylen);

/*
 * What systemd-boot orders two UKIs by before their ids: the sort key
 * (IMAGE_ID, else ID) and the version (IMAGE_VERSION, else VERSION, else
 * VERSION_ID, else BUILD_ID) of the os-release text in the UKI's .osrel
 * section. upkit's ranks decide the order only where these do not.
 */
#define EFI_OSREL_MAX	4096	/* .osrel bytes read */

struct efi_osrel {
	int	entry;		/* a PE with an .osrel that names an OS */
	char	sort_key[64];	/* "" when none */
	char	version[64];	/* "" when none */
};

/* The file offset and size of section name (at most 8 bytes) in the PE
 * headers at the start of a file (len bytes of it). -ENOENT if there is
 * no such section, -EBADMSG if buf is not a PE image. */
int	efi_pe_section(const unsigned char *buf, size_t len, const char *name,
	    uint64_t *offp, uint64_t *sizep);
/* The fields above from os-release text; o->entry is 0 when the text
 * names no OS (PRETTY_NAME, IMAGE_ID, NAME and ID all missing): the loader
 * then skips the UKI. */
void	efi_osrel_parse(const char *text, size_t len, struct efi_osrel *o);
/* Reads path's .osrel into *o; o->entry 0 for a file that is not a PE
 * with an .osrel. -errno only when the file cannot be read. */
int	efi_osrel_read(const char *path, struct efi_osrel *o);
/* Whether systemd-boot orders a and b by their ids (the rank), as upkit
 * needs: neither has a sort key, or both have the same one and the same
 * version. A file that is no entry for the loader does not count. */
int	efi_osrel_by_id(const struct efi_osrel *a, const struct efi_osrel *b);

#endif /* SLOTS_BOOT_EFI_H */

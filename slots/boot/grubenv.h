/*
 * slots/boot/grubenv: the 1024-byte GRUB environment block, parsed into
 * its lines and laid out again; private to the GRUB backend (grub.c),
 * which owns the files, the backup and the repair. No I/O here.
 *
 * The block is "# GRUB Environment Block\n", NAME=VALUE lines ('\\' and
 * '\n' in values escaped with a backslash), comment lines, and '#'
 * padding to the end.
 */
#ifndef SLOTS_BOOT_GRUBENV_H
#define SLOTS_BOOT_GRUBENV_H

#include <stddef.h>

#define GRUBENV_SIZE	1024

/* One line of the block: a variable, or a comment kept verbatim. */
struct grubenv_line {
	char	*name;		/* NULL for a comment line */
	char	*value;		/* unescaped value or comment */
};

/* A block's lines in their order. */
struct grubenv {
	struct grubenv_line	*v;
	size_t			 n, cap;
};

/* Parses a block into *g (emptied first; free with grubenv_free()).
 * Stricter than GRUB: -EBADMSG for anything but the header, comment
 * lines, NAME=VALUE lines and a final run of '#', with the reason and
 * offset in why; -ENOMEM. On failure *g is empty. */
int	grubenv_parse(const unsigned char *buf, size_t len, struct grubenv *g,
	    char *why, size_t whylen);
/* Lays out g in GRUBENV_SIZE bytes at out: the leading comments, the
 * boot selection variables (so the lines GRUB rewrites at each boot stay
 * in the first sector), then every other line in its order. -ENOSPC if
 * it does not fit, -EINVAL for a name GRUB could not read back. */
int	grubenv_build(const struct grubenv *g, unsigned char *out);
/* The variable name, or NULL. */
struct grubenv_line *grubenv_find(const struct grubenv *g, const char *name);
/* Sets name to a copy of value, appending it if new; 0 or -ENOMEM. */
int	grubenv_set(struct grubenv *g, const char *name, const char *value);
/* Frees every line and empties g. */
void	grubenv_free(struct grubenv *g);

#endif /* SLOTS_BOOT_GRUBENV_H */

/*
 * slots/boot/bootenv: boot selection, one scheme for every bootloader:
 * BOOT_ORDER="A B", BOOT_A_LEFT, BOOT_B_LEFT. The boot script boots the
 * first slot in BOOT_ORDER with attempts left, after decrementing its
 * counter. upkit keeps three more variables of its own beside them, so
 * that what must survive a reboot does not depend on the data directory
 * (docs/boot-selection.md): UPKIT_TRIAL (the slot on a trial boot),
 * UPKIT_TRIAL_FLOOR (the security floor once that trial commits) and
 * UPKIT_FLOOR (the security floor). Backends (uboot, grub, efi) load and
 * store all six; every transition is one bootenv_ops.commit(), which
 * leaves either the old or the new env after a power cut (efi: a state
 * between them in which the loader boots a whole slot; docs/efi.md). Other variables in the
 * env are kept as they are.
 */
#ifndef SLOTS_BOOT_BOOTENV_H
#define SLOTS_BOOT_BOOTENV_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct bootenv;			/* opaque: backend context */

#define BOOTENV_SLOTS	2	/* boot names 'A' and 'B' */

/* The selection variables and upkit's own, decoded. */
struct bootstate {
	char		order[BOOTENV_SLOTS + 1];	/* "AB", "BA", "A", "" */
	int		left[BOOTENV_SLOTS];	/* [0] is A, [1] is B */
	char		trial;			/* 'A', 'B', or 0: none */
	uint64_t	trial_floor;		/* floor once the trial commits */
	uint64_t	floor;			/* security floor */
};

/* The names of the variables, in the order of struct bootstate_text. */
#define BOOTENV_VARS	6
extern const char *const bootstate_names[BOOTENV_VARS];

/* A bootstate as the strings a backend stores; val[i] is the value of
 * bootstate_names[i] and points into the buffers. An empty string means
 * unset (UPKIT_TRIAL and UPKIT_TRIAL_FLOOR without a trial). */
struct bootstate_text {
	const char	*val[BOOTENV_VARS];
	char		 order[2 * BOOTENV_SLOTS];
	char		 left[BOOTENV_SLOTS][4];
	char		 trial[2];
	char		 trial_floor[24];
	char		 floor[24];
};

/* Settings beyond the path, for a backend that takes them (efi). */
struct bootenv_opts {
	const char	*efivarfs;	/* NULL: the backend's default */
	int		 attempts;	/* [system] boot-attempts; 0: 3 */
};

struct bootenv_ops {
	const char	*name;			/* "uboot", "grub", "efi" */
	/* path: the backend's config (uboot: fw_env.config; grub: the
	 * grubenv; efi: the folder the ESP is mounted on). */
	int	(*open)(const char *path, struct bootenv **bp, struct err *e);
	/* Optional (NULL: takes none): after open, before load. */
	int	(*configure)(struct bootenv *b, const struct bootenv_opts *o,
		    struct err *e);
	/* -ENOENT if the env holds no BOOT_ORDER yet; -EBADMSG if a value
	 * does not parse (the message names it). */
	int	(*load)(struct bootenv *b, struct bootstate *st,
		    struct err *e);
	/* Writes st in one store. */
	int	(*commit)(struct bootenv *b, const struct bootstate *st,
		    struct err *e);
	/* Reads any variable (for status); *valp malloc'd or NULL. The
	 * pseudo-variable "upkit.repair" is set (grub) when the last load
	 * found a torn or damaged env and rewrote it: it says what and how,
	 * for the agent to log. "upkit.warning" (uboot) says why the env as
	 * last read or stored is not safe against a power cut: one copy
	 * with its variables past the first sector. */
	int	(*get)(struct bootenv *b, const char *name, char **valp,
		    struct err *e);
	/* Optional (NULL: upkit.slot= on the kernel command line says,
	 * as the uboot and grub boot scripts put it there): the slot the
	 * bootloader reports it booted. -ENOENT if it reports none. */
	int	(*booted)(struct bootenv *b, char *bootnamep, struct err *e);
	void	(*close)(struct bootenv *b);	/* accepts NULL */
};

/* The backend called name, or NULL. */
const struct bootenv_ops *bootenv_find(const char *name);

/* Decodes the values of bootstate_names (NULL: unset) into *st. -ENOENT
 * if BOOT_ORDER is unset; -EBADMSG naming the variable if a value does
 * not parse. A counter never set counts as 0; an unset floor as 0. */
int	bootstate_decode(const char *const val[BOOTENV_VARS],
	    struct bootstate *st, struct err *e);
/* Encodes *st for a store; -EINVAL if a counter is out of 0..99. */
int	bootstate_encode(const struct bootstate *st, struct bootstate_text *t,
	    struct err *e);

/*
 * Transitions on a bootstate; pure functions, no I/O. bootname is 'A' or
 * 'B'.
 *   mark_bad   LEFT=0 and out of BOOT_ORDER; no longer the trial.
 *   arm        first in BOOT_ORDER with LEFT=attempts, and the trial;
 *              trial_floor starts at floor: the caller raises it to the
 *              bundle's security version.
 *   commit     the trial slot is kept: first, LEFT=attempts, the floor
 *              rises to trial_floor, no trial any more.
 *   mark_good  first, LEFT=attempts; the trial, if any, stays as it is.
 */
void	bootstate_mark_bad(struct bootstate *st, char bootname);
void	bootstate_arm(struct bootstate *st, char bootname, int attempts);
void	bootstate_commit(struct bootstate *st, char bootname, int attempts);
void	bootstate_mark_good(struct bootstate *st, char bootname,
	    int attempts);
/* Two bootstates that a backend would store identically. */
int	bootstate_equal(const struct bootstate *a, const struct bootstate *b);
/* Default for an empty env: "AB", both at attempts, no trial, floor 0. */
void	bootstate_default(struct bootstate *st, int attempts);
/* BOOT_ORDER as stored: "A B". out holds 2*BOOTENV_SLOTS bytes. */
void	bootstate_order_format(const struct bootstate *st, char *out);
/* Parses "A B" (spaces optional); -EBADMSG for anything else. */
int	bootstate_order_parse(const char *s, struct bootstate *st,
	    struct err *e);
/* Parses a LEFT counter (0..99); -EBADMSG otherwise. */
int	bootstate_left_parse(const char *name, const char *s, int *leftp,
	    struct err *e);
/* The slot the board boot scripts (boot.cmd, grub.cfg in boards/) boot
 * next from st: the first in BOOT_ORDER whose counter is 1..9, with
 * *leftp set to that counter before the script decrements it; else the
 * fallback boot, with *leftp 0: the first slot still in BOOT_ORDER,
 * else 'A'. An env with no BOOT_ORDER at all is an empty order. */
char	bootstate_next(const struct bootstate *st, int *leftp);

#endif /* SLOTS_BOOT_BOOTENV_H */

/*
 * slots/bootenv: boot selection, one scheme for every bootloader:
 * BOOT_ORDER="A B", BOOT_A_LEFT, BOOT_B_LEFT. The boot script boots the
 * first slot in BOOT_ORDER with attempts left, after decrementing its
 * counter. Backends (uboot now, grub next) load and store these three
 * variables; every transition is one bootenv_ops.commit(), which leaves
 * either the old or the new env after a power cut. Other variables in the
 * env are kept as they are.
 */
#ifndef SLOTS_BOOTENV_H
#define SLOTS_BOOTENV_H

#include <stddef.h>

struct err;
struct bootenv;			/* opaque: backend context */

#define BOOTENV_SLOTS	2	/* boot names 'A' and 'B' */

/* The three selection variables, decoded. */
struct bootstate {
	char	order[BOOTENV_SLOTS + 1];	/* "AB", "BA", "A", "" */
	int	left[BOOTENV_SLOTS];		/* [0] is A, [1] is B */
};

struct bootenv_ops {
	const char	*name;			/* "uboot", "grub" */
	/* path: the backend's config (uboot: fw_env.config). */
	int	(*open)(const char *path, struct bootenv **bp, struct err *e);
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
	 * for the agent to log. */
	int	(*get)(struct bootenv *b, const char *name, char **valp,
		    struct err *e);
	void	(*close)(struct bootenv *b);	/* accepts NULL */
};

/* The backend called name, or NULL. */
const struct bootenv_ops *bootenv_find(const char *name);

/* Transitions on a bootstate; pure functions, no I/O. bootname is 'A' or
 * 'B'. mark_bad: LEFT=0 and out of BOOT_ORDER. arm: first in BOOT_ORDER
 * with LEFT=attempts (trial). mark_good: first, LEFT=attempts. */
void	bootstate_mark_bad(struct bootstate *st, char bootname);
void	bootstate_arm(struct bootstate *st, char bootname, int attempts);
void	bootstate_mark_good(struct bootstate *st, char bootname,
	    int attempts);
/* Default for an empty env: "AB", both at attempts. */
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

#endif /* SLOTS_BOOTENV_H */

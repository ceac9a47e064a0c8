/*
 * systemd-boot backend (docs/efi.md). Each slot is one UKI in
 * ESP/EFI/Linux whose name (slots/boot/efi.h) is the selection:
 * systemd-boot counts tries in it and picks by it. BOOT_ORDER is the
 * loader's order of the live entries, BOOT_x_LEFT a counted entry's
 * tries left (an entry without a counter is good: boot-attempts), and a
 * slot out of BOOT_ORDER is parked under a name the loader ignores.
 * upkit's own three variables live in a two-copy store on the ESP
 * (efistore.c). The booted slot is LoaderEntrySelected in efivarfs.
 *
 * A commit is a few steps, each made durable (fsync and syncfs of the
 * folder) before the next: the store first when it starts a trial, then
 * the renames, one slot at a time: parking, then the slot that is not
 * first, then the first one; the store last otherwise. A load drops a
 * trial whose slot is not live. So a power cut after any step leaves a
 * state that is the old one, the new one, or between them one where the
 * loader boots a slot that is whole (docs/efi.md, "Each step").
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"
#include "slots/boot/efi.h"

#define LINUX_DIR	"EFI/Linux"
#define STORE_DIR	"EFI/upkit"
#define REPAIR_VAR	"upkit.repair"

struct bootenv {
	char		*esp;
	char		 linux_dir[4096];
	char		 store_dir[4096];
	char		*efivarfs;
	int		 attempts;
	/* As of the last scan: per slot (0 A, 1 B) its entry, if any. */
	int		 have[BOOTENV_SLOTS];
	struct efi_entry ent[BOOTENV_SLOTS];
	char		 name[BOOTENV_SLOTS][EFI_NAME_MAX];
	struct efi_store store;
	char		 note[400];	/* a damaged store copy, or "" */
};

/*
 * Reads EFI/Linux: upkit's entries, by slot. Empty files are skipped:
 * a rename cut before its directory entry got its clusters leaves one,
 * and the loader skips it too (no PE header). Two names for one slot are
 * a rename cut half way: both may share clusters, so removing either
 * would free the other's, and only fsck.vfat can part them.
 */
static int
scan(struct bootenv *b, struct err *e)
{
	struct efi_entry en;
	struct dirent *d;
	struct stat sb;
	DIR *dir;
	int i, r = 0;

	memset(b->have, 0, sizeof(b->have));
	if ((dir = opendir(b->linux_dir)) == NULL) {
		r = -errno;
		if (r == -ENOENT)
			return 0;
		return err_set(e, r, "efi: %s: %s", b->linux_dir, strerror(-r));
	}
	while ((d = readdir(dir)) != NULL) {
		if (efi_name_parse(d->d_name, &en) < 0 ||
		    fstatat(dirfd(dir), d->d_name, &sb, AT_SYMLINK_NOFOLLOW)
		    == -1 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
			continue;
		i = en.slot - 'A';
		if (b->have[i]) {
			r = err_set(e, -EBADMSG, "efi: %s holds two entries "
			    "of slot %c, %s and %s (a rename cut by a power "
			    "loss; they may share clusters): check the ESP "
			    "with fsck.vfat, then remove the stale one",
			    b->linux_dir, en.slot, b->name[i], d->d_name);
			break;
		}
		b->have[i] = 1;
		b->ent[i] = en;
		snprintf(b->name[i], EFI_NAME_MAX, "%.*s", EFI_NAME_MAX - 1,
		    d->d_name);
	}
	closedir(dir);
	return r;
}

/* Rescans the ESP and rereads the store. */
static int
sync_state(struct bootenv *b, struct err *e)
{
	int r;

	if ((r = scan(b, e)) < 0)
		return r;
	return efi_store_read(b->store_dir, &b->store, b->note,
	    sizeof(b->note), e);
}

static int
efi_load(struct bootenv *b, struct bootstate *st, struct err *e)
{
	const struct efi_entry *live[BOOTENV_SLOTS];
	const struct efi_entry *t;
	size_t n = 0, i;
	int r;

	if ((r = sync_state(b, e)) < 0)
		return r;
	if (!b->have[0] && !b->have[1])
		return err_set(e, -ENOENT, "efi: no upkit-*.efi or "
		    "upkit-*.off in %s", b->linux_dir);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < BOOTENV_SLOTS; i++) {
		if (!b->have[i] || !b->ent[i].live)
			continue;
		st->left[i] = b->ent[i].counted ? b->ent[i].left :
		    b->attempts;
		live[n++] = &b->ent[i];
	}
	/* BOOT_ORDER is the order the loader picks in. */
	if (n == 2 && efi_entry_cmp(live[1], live[0]) < 0) {
		t = live[0];
		live[0] = live[1];
		live[1] = t;
	}
	for (i = 0; i < n; i++)
		st->order[i] = live[i]->slot;
	st->order[n] = '\0';
	st->floor = b->store.floor;
	/* A trial stored before its slot went live (an arm cut between its
	 * steps), or left after it was parked (a mark bad cut between
	 * them), is no trial. */
	if (b->store.trial != 0 && strchr(st->order, b->store.trial) != NULL) {
		st->trial = b->store.trial;
		st->trial_floor = b->store.trial_floor;
	}
	return 0;
}

/* The entry st asks of slot i, from what it has now. */
static void
wanted(const struct bootenv *b, const struct bootstate *st, int i,
    struct efi_entry *w)
{
	char x = (char)('A' + i), first = st->order[0];
	int o = 1 - i;
	uint64_t orank;

	memset(w, 0, sizeof(*w));
	w->slot = x;
	if (strchr(st->order, x) == NULL)
		return;
	w->live = 1;
	w->rank = b->have[i] && b->ent[i].live ? b->ent[i].rank : 0;
	w->counted = st->trial == x || st->left[i] == 0;
	w->left = st->left[i];
	/* Keep D when only D differs: the loader's own count stays. */
	if (w->counted && b->have[i] && b->ent[i].counted &&
	    b->ent[i].left == w->left)
		w->done = b->ent[i].done;
	/* The first slot must outrank the other live one; only the first
	 * one is ever renamed for it, so a fallback is never touched. */
	if (x == first && strchr(st->order, 'A' + o) != NULL) {
		orank = b->have[o] && b->ent[o].live ? b->ent[o].rank : 0;
		if (w->rank <= orank)
			w->rank = orank + 1;
	}
}

static int
same_entry(const struct efi_entry *a, const struct efi_entry *b)
{
	return a->slot == b->slot && a->live == b->live &&
	    (!a->live || (a->rank == b->rank && a->counted == b->counted &&
	    (!a->counted || (a->left == b->left && a->done == b->done))));
}

/* One step: slot i's file renamed to w's name, durable before the
 * next step (fsync and syncfs of EFI/Linux). */
static int
rename_step(struct bootenv *b, int i, const struct efi_entry *w,
    struct err *e)
{
	char from[4200], to[4200], name[EFI_NAME_MAX];
	struct stat sb;
	int r;

	efi_name_format(w, name);
	snprintf(from, sizeof(from), "%s/%s", b->linux_dir, b->name[i]);
	snprintf(to, sizeof(to), "%s/%s", b->linux_dir, name);
	/* Only an empty leftover of a cut rename can be there (scan()
	 * skipped it); it has no clusters, so replacing it frees none. */
	if (lstat(to, &sb) == 0 && (!S_ISREG(sb.st_mode) || sb.st_size != 0))
		return err_set(e, -EEXIST, "efi: rename %s to %s: the name "
		    "is taken", from, name);
	if (rename(from, to) == -1) {
		r = -errno;
		return err_set(e, r, "efi: rename %s to %s: %s", from, name,
		    strerror(-r));
	}
	if ((r = fsync_dir(b->linux_dir, e)) < 0)
		return err_prefix(e, "efi: after renaming %s to %s", from,
		    name);
	b->ent[i] = *w;
	snprintf(b->name[i], EFI_NAME_MAX, "%s", name);
	return 0;
}

/* The store as st asks, written if it differs. */
static int
store_step(struct bootenv *b, const struct bootstate *st, struct err *e)
{
	struct efi_store n = b->store;
	int r;

	n.trial = st->trial;
	n.trial_floor = st->trial != 0 ? st->trial_floor : 0;
	n.floor = st->floor;
	if (b->store.cur != -1 && n.trial == b->store.trial &&
	    n.trial_floor == b->store.trial_floor && n.floor == b->store.floor)
		return 0;
	if (b->store.cur == -1 && n.trial == 0 && n.floor == 0)
		return 0;
	if ((r = efi_store_write(b->store_dir, &n, e)) < 0)
		return r;
	b->store = n;
	return 0;
}

/* Which rename step a slot's entry w belongs to: parked first, then the
 * live one not first, then the first. */
static int
phase(const struct efi_entry *w, int first)
{
	if (!w->live)
		return 0;
	return first ? 2 : 1;
}

/*
 * systemd-boot boots the entry a default names even when it has no tries
 * left (config_find_entry() does not skip those), which would undo every
 * fallback. So upkit refuses to change the selection while a default
 * other than "upkit-*" (both slots, in the loader's own order) is set in
 * loader.conf or in LoaderEntryDefault.
 */
static int
default_check(const struct bootenv *b, struct err *e)
{
	char path[4200], line[256], v[128], *p;
	struct err ve;
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/loader/loader.conf", b->esp);
	if ((f = fopen(path, "re")) != NULL) {
		while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "default", 7) != 0 ||
			    (line[7] != ' ' && line[7] != '\t'))
				continue;
			for (p = line + 7; *p == ' ' || *p == '\t'; p++)
				;
			p[strcspn(p, " \t\r\n")] = '\0';
			if (strcasecmp(p, "upkit-*") != 0)
				r = err_set(e, -EINVAL, "efi: %s says \"default "
				    "%.64s\": systemd-boot would boot that entry "
				    "even with no tries left; remove the line, or "
				    "make it \"default upkit-*\"", path, p);
		}
		fclose(f);
	}
	if (r == 0 && efivar_read_string(b->efivarfs, "LoaderEntryDefault",
	    v, sizeof(v), &ve) == 0 && strcasecmp(v, "upkit-*") != 0)
		r = err_set(e, -EINVAL, "efi: the EFI variable "
		    "LoaderEntryDefault is \"%s\": systemd-boot would boot "
		    "that entry even with no tries left; clear it (bootctl "
		    "set-default \"\")", v);
	return r;
}

/*
 * A parked slot going live in front of the other one (an arm): its rank
 * puts it first only if systemd-boot orders the two by id, which their
 * .osrel decides (docs/efi.md, "The state mapping"). Refused before any
 * step, so the device stays as mark bad left it.
 */
static int
order_check(const struct bootenv *b, const struct efi_entry *w, int first,
    struct err *e)
{
	struct efi_osrel o[BOOTENV_SLOTS];
	char path[4200];
	int i, r;

	if (first < 0 || !w[0].live || !w[1].live || b->ent[first].live)
		return 0;
	for (i = 0; i < BOOTENV_SLOTS; i++) {
		snprintf(path, sizeof(path), "%s/%s", b->linux_dir, b->name[i]);
		if ((r = efi_osrel_read(path, &o[i])) < 0)
			return err_set(e, r, "efi: %s: %s", path, strerror(-r));
	}
	if (efi_osrel_by_id(&o[0], &o[1]))
		return 0;
	return err_set(e, -EINVAL, "efi: systemd-boot would order the UKIs "
	    "of A and B by their .osrel (sort key \"%s\" and \"%s\", "
	    "version \"%s\" and \"%s\"), not by upkit's names, and might "
	    "not boot %c first: give both the same ID and VERSION, or "
	    "neither", o[0].sort_key, o[1].sort_key, o[0].version,
	    o[1].version, 'A' + first);
}

/*
 * The order of the steps (docs/efi.md, "Each step"): a trial is stored
 * before its slot goes live, since load() ignores it until then; the
 * renames go from the slot losing most to the one gaining most: parked
 * ones, then the one not first, then the first; the store comes last
 * when the trial ends or the floor rises, so that a cut before it leaves
 * the trial to be checked and committed again.
 */
static int
efi_commit(struct bootenv *b, const struct bootstate *st, struct err *e)
{
	struct efi_entry w[BOOTENV_SLOTS];
	int i, r, step, first;

	if ((r = default_check(b, e)) < 0 || (r = sync_state(b, e)) < 0)
		return r;
	for (i = 0; i < BOOTENV_SLOTS; i++) {
		if (strchr(st->order, 'A' + i) != NULL && !b->have[i])
			return err_set(e, -ENOENT, "efi: slot %c has no UKI "
			    "in %s (upkit-N-%c.efi or upkit-%c.off)", 'A' + i,
			    b->linux_dir, 'A' + i, 'A' + i);
		wanted(b, st, i, &w[i]);
	}
	first = st->order[0] != '\0' ? st->order[0] - 'A' : -1;
	if ((r = order_check(b, w, first, e)) < 0)
		return r;
	if (st->trial != 0 && (r = store_step(b, st, e)) < 0)
		return r;
	for (step = 0; step < 3; step++)
		for (i = 0; i < BOOTENV_SLOTS; i++) {
			if (!b->have[i] || same_entry(&b->ent[i], &w[i]) ||
			    phase(&w[i], i == first) != step)
				continue;
			if ((r = rename_step(b, i, &w[i], e)) < 0)
				return r;
		}
	return store_step(b, st, e);
}

static int
efi_get(struct bootenv *b, const char *name, char **valp, struct err *e)
{
	*valp = NULL;
	if (strcmp(name, REPAIR_VAR) == 0) {
		if (b->note[0] != '\0' && (*valp = strdup(b->note)) == NULL)
			return err_set(e, -ENOMEM, "efi: out of memory");
		return 0;
	}
	return err_set(e, -ENOENT, "efi: no variable %s (the state is in "
	    "the file names of %s)", name, b->linux_dir);
}

static int
efi_booted(struct bootenv *b, char *slotp, struct err *e)
{
	char id[EFI_NAME_MAX * 2];
	int r;

	if ((r = efivar_read_string(b->efivarfs, "LoaderEntrySelected", id,
	    sizeof(id), e)) < 0)
		return r;
	if (efi_selected_slot(id, slotp) < 0)
		return err_set(e, -EBADMSG, "efi: LoaderEntrySelected is "
		    "\"%s\", not one of upkit's entries: systemd-boot booted "
		    "something else", id);
	return 0;
}

static void
efi_close(struct bootenv *b)
{
	if (b == NULL)
		return;
	free(b->esp);
	free(b->efivarfs);
	free(b);
}

static int
efi_open(const char *path, struct bootenv **bp, struct err *e)
{
	struct bootenv *b;
	struct stat sb;
	int r;

	*bp = NULL;
	if (stat(path, &sb) == -1) {
		r = -errno;
		return err_set(e, r, "efi: ESP %s: %s", path, strerror(-r));
	}
	if (!S_ISDIR(sb.st_mode))
		return err_set(e, -ENOTDIR, "efi: ESP %s: not a folder", path);
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->esp = strdup(path)) == NULL ||
	    (b->efivarfs = strdup(EFI_EFIVARFS)) == NULL) {
		efi_close(b);
		return err_set(e, -ENOMEM, "efi: out of memory");
	}
	b->attempts = 3;
	b->store.cur = -1;
	snprintf(b->linux_dir, sizeof(b->linux_dir), "%s/%s", path,
	    LINUX_DIR);
	snprintf(b->store_dir, sizeof(b->store_dir), "%s/%s", path,
	    STORE_DIR);
	*bp = b;
	return 0;
}

static int
efi_configure(struct bootenv *b, const struct bootenv_opts *o,
    struct err *e)
{
	char *v;

	if (o->efivarfs != NULL) {
		if ((v = strdup(o->efivarfs)) == NULL)
			return err_set(e, -ENOMEM, "efi: out of memory");
		free(b->efivarfs);
		b->efivarfs = v;
	}
	if (o->attempts > 0)
		b->attempts = o->attempts;
	return 0;
}

const struct bootenv_ops efi_ops = {
	.name = "efi",
	.open = efi_open,
	.configure = efi_configure,
	.load = efi_load,
	.commit = efi_commit,
	.get = efi_get,
	.booted = efi_booted,
	.close = efi_close,
};

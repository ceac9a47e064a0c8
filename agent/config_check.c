/*
 * agent/config_check: the checks of a config against the machine it runs
 * on: slot storage (no slot shares storage with another slot or with a
 * path upkit owns, compared by identity, never by the spelling of a
 * path) and a data directory that survives a reboot.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include "agent/config.h"
#include "agent/config_check.h"
#include "common/err.h"
#include "slots/identity.h"

/*
 * Slot storage (docs/configuration.md, "Slot storage"). Storage is
 * compared by identity (slots/identity.h), never by the spelling of its
 * path: no slot may share storage with another, hold it or sit inside
 * it, nor be, hold or sit inside anything else upkit owns.
 */
#define OWNED_MAX	16

struct owned {
	char		 what[48];	/* "[keyring] path", for messages */
	const char	*path;
	char		*buf;		/* path, when made here */
	int		 env;		/* a boot env copy: never inside a
					 * slot, raw or files */
	struct identity	*id;
};

struct storage {
	struct identity	*slot[CONFIG_SLOTS_MAX];
	struct owned	 own[OWNED_MAX];
	size_t		 nown;
};

static void
storage_free(struct storage *st, size_t nslots)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		identity_free(st->slot[i]);
	for (i = 0; i < st->nown; i++) {
		identity_free(st->own[i].id);
		free(st->own[i].buf);
	}
}

static void
own(struct storage *st, const char *what, const char *path, char *buf,
    int env)
{
	struct owned *o;

	if (path == NULL || st->nown == OWNED_MAX) {
		free(buf);
		return;
	}
	o = &st->own[st->nown++];
	snprintf(o->what, sizeof(o->what), "%s", what);
	o->path = buf != NULL ? buf : path;
	o->buf = buf;
	o->env = env;
}

/* Every path upkit reads or writes besides the slots. */
static void
owned_paths(const struct config *c, struct storage *st)
{
	char line[512], dev[256], *b;
	FILE *f;

	own(st, "the config file", c->path, NULL, 0);
	own(st, "[system] data-directory", c->data_directory, NULL, 0);
	own(st, "[keyring] path", c->keyring_path, NULL, 0);
	own(st, "[keyring] crl", c->keyring_crl, NULL, 0);
	own(st, "[health] directory", c->health_directory, NULL, 0);
	own(st, "[server] ca", c->server_ca, NULL, 0);
	own(st, "[server] cert", c->server_cert, NULL, 0);
	own(st, "[server] key", c->server_key, NULL, 0);
	own(st, "[server] channel-keyring", c->channel_keyring, NULL, 0);
	own(st, "[system] machine-id-file", c->machine_id_file, NULL, 0);
	if (strcmp(c->bootloader, "uboot") == 0 && c->uboot_config != NULL) {
		own(st, "[uboot] config", c->uboot_config, NULL, 1);
		/* Each env copy, read as libubootenv does. An unreadable
		 * file is the env's error to report (exit 8), not ours. */
		if ((f = fopen(c->uboot_config, "re")) == NULL)
			return;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, " %255s", dev) == 1 &&
			    dev[0] != '#' && (b = strdup(dev)) != NULL)
				own(st, "an env copy in [uboot] config", b, b,
				    1);
		fclose(f);
	}
	if (strcmp(c->bootloader, "grub") == 0 && c->grub_env != NULL) {
		/* slots/boot/grub.c keeps a backup beside the grubenv. */
		own(st, "[grub] env", c->grub_env, NULL, 1);
		if (asprintf(&b, "%s.upkit", c->grub_env) != -1)
			own(st, "the [grub] env backup", b, b, 1);
		if (asprintf(&b, "%s.upkit.tmp", c->grub_env) != -1)
			own(st, "the [grub] env backup", b, b, 1);
	}
	if (strcmp(c->bootloader, "efi") == 0 && c->efi_esp != NULL) {
		/* slots/boot/efi.c renames the UKIs in EFI/Linux and keeps
		 * its store in EFI/upkit: no slot may swap them away. */
		if (asprintf(&b, "%s/EFI/Linux", c->efi_esp) != -1)
			own(st, "the UKI folder of [efi] esp", b, b, 1);
		if (asprintf(&b, "%s/EFI/upkit", c->efi_esp) != -1)
			own(st, "the state folder of [efi] esp", b, b, 1);
	}
}

static const char *const rel_words[] = {
	[IDENTITY_APART] = "",
	[IDENTITY_SAME] = "is also",
	[IDENTITY_HOLDS] = "holds",
	[IDENTITY_INSIDE] = "lies inside",
};

/* Non-zero if x lies in folder dir or the walk failed: *r says which
 * (1 or -errno). */
static int
within(const struct identity *x, const struct identity *dir, int *r,
    struct err *e)
{
	return (*r = identity_within(x, dir, e)) != 0;
}

/* ":LINE" of slot i's device key, or "" after the parse. */
static const char *
line_at(const int *lines, size_t i, char *buf, size_t len)
{
	buf[0] = '\0';
	if (lines != NULL)
		snprintf(buf, len, ":%d", lines[i]);
	return buf;
}

/* Slot i against every other slot: no two share storage. At load each
 * pair once, at the later line. */
static int
against_slots(const struct config *c, const struct storage *st, size_t i,
    char target, const char *where, struct err *e)
{
	const struct slot *s = &c->slots[i], *t;
	enum identity_rel rel;
	size_t j;
	int r;

	for (j = 0; j < c->nslots; j++) {
		t = &c->slots[j];
		/* A UKI slot's storage is a name in the ESP's UKI folder,
		 * which every slot is checked against (against_owned). */
		if (j == i || (target == '\0' && j > i) ||
		    t->type == SLOT_UKI)
			continue;
		r = 0;
		rel = identity_compare(st->slot[i], st->slot[j]);
		if (rel == IDENTITY_APART && s->type == SLOT_FILES &&
		    within(st->slot[j], st->slot[i], &r, e))
			rel = IDENTITY_HOLDS;
		else if (rel == IDENTITY_APART && t->type == SLOT_FILES &&
		    within(st->slot[i], st->slot[j], &r, e))
			rel = IDENTITY_INSIDE;
		if (r < 0)
			return r;
		if (rel == IDENTITY_APART)
			continue;
		return err_set(e, -EINVAL, "%s%s: [slot.%s] device: %s %s "
		    "the device of [slot.%s] (%s)", c->path, where, s->name,
		    s->device, rel_words[rel], t->name, t->device);
	}
	return 0;
}

/* Slot i against every path upkit owns. */
static int
against_owned(const struct config *c, const struct storage *st, size_t i,
    const char *where, struct err *e)
{
	const struct slot *s = &c->slots[i];
	enum identity_rel rel;
	size_t k;
	int r;

	for (k = 0; k < st->nown; k++) {
		/*
		 * A raw slot may hold what upkit only reads (the booted
		 * root holds the config), but never an env copy; a raw slot
		 * inside a whole-disk env device is the usual U-Boot layout
		 * (the env sits at an offset between the partitions).
		 */
		rel = identity_compare(st->slot[i], st->own[k].id);
		if (rel == IDENTITY_INSIDE ||
		    (rel == IDENTITY_HOLDS && !st->own[k].env))
			rel = IDENTITY_APART;
		r = 0;
		if (rel == IDENTITY_APART && s->type == SLOT_FILES &&
		    within(st->own[k].id, st->slot[i], &r, e))
			rel = IDENTITY_HOLDS;
		else if (rel == IDENTITY_APART &&
		    within(st->slot[i], st->own[k].id, &r, e))
			rel = IDENTITY_INSIDE;
		if (r < 0)
			return r;
		if (rel == IDENTITY_APART)
			continue;
		return err_set(e, -EINVAL, "%s%s: [slot.%s] device: %s %s "
		    "%s (%s)", c->path, where, s->name, s->device,
		    rel_words[rel], st->own[k].what, st->own[k].path);
	}
	return 0;
}

/* A UKI slot writes into the ESP the efi backend reads: its device must
 * be that folder ([efi] esp), whatever its spelling. */
static int
uki_is_esp(const struct config *c, const struct storage *st, size_t i,
    const char *where, struct err *e)
{
	const struct slot *s = &c->slots[i];
	struct identity *esp;
	int r;

	if ((r = identity_open(c->efi_esp, &esp, e)) < 0)
		return err_prefix(e, "%s: [efi] esp", c->path);
	r = identity_compare(st->slot[i], esp) == IDENTITY_SAME ? 0 :
	    err_set(e, -EINVAL, "%s%s: [slot.%s] device: %s is not the ESP "
	    "of [efi] esp (%s): a UKI slot is a file in the ESP systemd-boot "
	    "boots from", c->path, where, s->name, s->device, c->efi_esp);
	identity_free(esp);
	return r;
}

int
config_check_storage(const struct config *c, const int *lines, char target,
    struct err *e)
{
	struct storage st;
	const struct slot *s;
	char where[64];
	size_t i, k;
	int r;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < c->nslots; i++) {
		s = &c->slots[i];
		if ((r = identity_open(s->device, &st.slot[i], e)) < 0) {
			err_prefix(e, "%s%s: [slot.%s] device", c->path,
			    line_at(lines, i, where, sizeof(where)), s->name);
			goto out;
		}
	}
	owned_paths(c, &st);
	for (k = 0; k < st.nown; k++)
		if ((r = identity_open(st.own[k].path, &st.own[k].id, e)) < 0) {
			err_prefix(e, "%s: %s", c->path, st.own[k].what);
			goto out;
		}
	r = 0;
	for (i = 0; i < c->nslots && r == 0; i++) {
		if (target != '\0' && c->slots[i].bootname != target)
			continue;
		line_at(lines, i, where, sizeof(where));
		if (c->slots[i].type == SLOT_UKI)
			r = uki_is_esp(c, &st, i, where, e);
		else if ((r = against_slots(c, &st, i, target, where,
		    e)) == 0)
			r = against_owned(c, &st, i, where, e);
	}
out:
	storage_free(&st, c->nslots);
	return r;
}

int
config_check_target(const struct config *c, char target, struct err *e)
{
	return config_check_storage(c, NULL, target, e);
}

/*
 * A data directory on tmpfs or ramfs is empty after every reboot. The env
 * keeps what safety needs (above), but the installed versions, the last
 * result and the install journal go with it: refuse it unless the config
 * says that is intended. The folder may not exist yet: look at the
 * nearest one that does.
 */
int
config_check_data_directory(const struct config *c, struct err *e)
{
	struct statfs sf;
	char path[4096], *slash;
	uint32_t magic;

	if (c->data_volatile)
		return 0;
	if (snprintf(path, sizeof(path), "%s", c->data_directory) >=
	    (int)sizeof(path))
		return err_set(e, -ENAMETOOLONG, "%s: data-directory: too "
		    "long", c->path);
	while (statfs(path, &sf) == -1) {
		if (errno != ENOENT || (slash = strrchr(path, '/')) == NULL)
			return err_set(e, -errno, "%s: data-directory %s: %s",
			    c->path, c->data_directory, strerror(errno));
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	/* f_type is a long on 64-bit targets but an int on 32-bit ones,
	 * where RAMFS_MAGIC does not fit: the magics are 32 bits. */
	magic = (uint32_t)sf.f_type;
	if (magic == TMPFS_MAGIC || magic == RAMFS_MAGIC)
		return err_set(e, -EINVAL, "%s: data-directory %s is on %s, "
		    "which is empty after a reboot: use persistent storage, "
		    "or set [system] data-directory-volatile = yes if that "
		    "is intended", c->path, c->data_directory,
		    magic == TMPFS_MAGIC ? "tmpfs" : "ramfs");
	return 0;
}

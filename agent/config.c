/*
 * agent/config: upkit.conf's keys, their values and what must hold once
 * all are read. Reading the text with libinih, its lines and section
 * headers, is config_ini.c's; the storage checks config_check.c's.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/config_parse.h"
#include "agent/reporturl.h"
#include "common/err.h"
#include "slots/boot/bootenv.h"

#define COMPATIBLE_MAX		128

enum kind {
	KIND_STRING,		/* any non-empty value */
	KIND_ABSPATH,
	KIND_COMPATIBLE,
	KIND_BOOTLOADER,
	KIND_ATTEMPTS,
	KIND_SECONDS,		/* 1..CONFIG_SECONDS_MAX */
	KIND_RETRIES,		/* 0..CONFIG_RETRIES_MAX */
	KIND_MS,		/* 1..CONFIG_MS_MAX */
	KIND_MIB,		/* 1..CONFIG_MIB_MAX */
	KIND_COUNT,		/* 1..CONFIG_COUNT_MAX */
	KIND_REPORT_URL,	/* agent/reporturl.h */
	KIND_SLOT_TYPE,
	KIND_BOOTNAME,
	KIND_YESNO,		/* yes or no, stored as 1 or 0 */
	KIND_INTERVAL,		/* CONFIG_INTERVAL_MIN..MAX seconds */
	KIND_URL,		/* http:// or https://, no blanks */
	KIND_ID,		/* 1..CONFIG_DEVICE_ID_MAX visible ASCII */
};

struct key {
	const char	*section;	/* "slot" for every [slot.CLASS.N] */
	const char	*name;
	enum kind	 kind;
	size_t		 off;		/* in config or slot */
	int		 required;
};

#define CKEY(s, n, k, f, r)	{ s, n, k, offsetof(struct config, f), r }
static const struct key config_keys[] = {
	CKEY("system", "compatible", KIND_COMPATIBLE, compatible, 1),
	CKEY("system", "bootloader", KIND_BOOTLOADER, bootloader, 1),
	CKEY("system", "data-directory", KIND_ABSPATH, data_directory, 0),
	CKEY("system", "data-directory-volatile", KIND_YESNO, data_volatile,
	    0),
	CKEY("system", "boot-attempts", KIND_ATTEMPTS, boot_attempts, 0),
	CKEY("system", "cmdline", KIND_STRING, cmdline, 0),
	CKEY("system", "allow-special-modes", KIND_YESNO, special_modes, 0),
	CKEY("system", "journal-interval-mb", KIND_MIB, journal_mb, 0),
	CKEY("system", "journal-interval-s", KIND_SECONDS, journal_s, 0),
	CKEY("system", "device-id", KIND_ID, device_id, 0),
	CKEY("system", "machine-id-file", KIND_ABSPATH, machine_id_file, 0),
	CKEY("keyring", "path", KIND_STRING, keyring_path, 1),
	CKEY("keyring", "crl", KIND_STRING, keyring_crl, 0),
	CKEY("uboot", "config", KIND_STRING, uboot_config, 0),
	CKEY("grub", "env", KIND_STRING, grub_env, 0),
	CKEY("efi", "esp", KIND_ABSPATH, efi_esp, 0),
	CKEY("efi", "efivarfs", KIND_ABSPATH, efi_efivarfs, 0),
	CKEY("health", "directory", KIND_ABSPATH, health_directory, 0),
	CKEY("health", "timeout", KIND_SECONDS, health_timeout, 0),
	CKEY("health", "deadline", KIND_SECONDS, health_deadline, 0),
	CKEY("server", "ca", KIND_ABSPATH, server_ca, 0),
	CKEY("server", "pin", KIND_STRING, server_pin, 0),
	CKEY("server", "cert", KIND_ABSPATH, server_cert, 0),
	CKEY("server", "key", KIND_ABSPATH, server_key, 0),
	CKEY("server", "stall-timeout", KIND_SECONDS, server_stall, 0),
	CKEY("server", "connect-timeout", KIND_SECONDS, server_connect, 0),
	CKEY("server", "retries", KIND_RETRIES, server_retries, 0),
	CKEY("server", "backoff-ms", KIND_MS, server_backoff, 0),
	CKEY("server", "backoff-max-ms", KIND_MS, server_backoff_max, 0),
	CKEY("server", "report-url", KIND_REPORT_URL, report_url, 0),
	CKEY("server", "outbox-max", KIND_COUNT, outbox_max, 0),
	CKEY("server", "outbox-max-kb", KIND_COUNT, outbox_max_kb, 0),
	CKEY("server", "channel", KIND_URL, server_channel, 0),
	CKEY("server", "interval", KIND_INTERVAL, server_interval, 0),
	CKEY("server", "channel-keyring", KIND_STRING, channel_keyring, 0),
};
#define NCONFIG_KEYS	(sizeof(config_keys) / sizeof(config_keys[0]))
_Static_assert(NCONFIG_KEYS == CONFIG_PARSE_KEYS, "config_parse.h");

#define SKEY(n, k, f, r)	{ "slot", n, k, offsetof(struct slot, f), r }
static const struct key slot_keys[] = {
	SKEY("device", KIND_STRING, device, 1),
	SKEY("type", KIND_SLOT_TYPE, type, 0),
	SKEY("bootname", KIND_BOOTNAME, bootname, 1),
};
#define NSLOT_KEYS	(sizeof(slot_keys) / sizeof(slot_keys[0]))
_Static_assert(NSLOT_KEYS == CONFIG_PARSE_SKEYS, "config_parse.h");

/*
 * Which key holds each backend's path. Listing a backend here is what makes
 * its key required; bootenv_find() decides whether it is built in.
 */
static const struct {
	const char	*bootloader;
	const char	*section;
	const char	*key;
	size_t		 off;
} bootenv_paths[] = {
	{ "uboot", "uboot", "config", offsetof(struct config, uboot_config) },
	{ "grub", "grub", "env", offsetof(struct config, grub_env) },
	{ "efi", "efi", "esp", offsetof(struct config, efi_esp) },
};
#define NBOOTENV_PATHS	(sizeof(bootenv_paths) / sizeof(bootenv_paths[0]))

static const struct {
	const char	*name;
	enum slot_type	 type;
} slot_types[] = {
	{ "raw", SLOT_RAW },
	{ "files", SLOT_FILES },
	{ "uki", SLOT_UKI },
};


/* The index in config_keys of [section] name, which must be there. */
static size_t
key_index(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NCONFIG_KEYS; i++)
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			break;
	return i;
}

/* A number of kind k->kind, digits only, within its range. */
static int
set_number(struct parse *p, const char *sec, const struct key *k,
    void *base, const char *val)
{
	static const struct {
		enum kind	 kind;
		long		 min, max;
		const char	*what;
	} ranges[] = {
		{ KIND_SECONDS, 1, CONFIG_SECONDS_MAX, "a number of seconds" },
		{ KIND_RETRIES, 0, CONFIG_RETRIES_MAX, "a number of tries" },
		{ KIND_MS, 1, CONFIG_MS_MAX, "a number of milliseconds" },
		{ KIND_MIB, 1, CONFIG_MIB_MAX, "a number of MiB" },
		{ KIND_COUNT, 1, CONFIG_COUNT_MAX, "a number" },
		{ KIND_INTERVAL, CONFIG_INTERVAL_MIN, CONFIG_INTERVAL_MAX,
		    "a number of seconds" },
	};
	size_t i, j, n = strlen(val);
	long v = 0;

	for (j = 0; ranges[j].kind != k->kind; j++)
		;
	for (i = 0; i < n && i < 8; i++) {
		if (val[i] < '0' || val[i] > '9')
			break;
		v = v * 10 + (val[i] - '0');
	}
	if (n == 0 || i != n || v < ranges[j].min || v > ranges[j].max)
		return config_fail(p, "[%s] %s: \"%s\" is not %s from %ld "
		    "to %ld", sec, k->name, val, ranges[j].what,
		    ranges[j].min, ranges[j].max);
	*(int *)((char *)base + k->off) = (int)v;
	return 1;
}

/* A URL (http or https, with a host) or an id: visible ASCII only, so
 * neither can carry a blank or a control into a request or a hash. */
static int
text_valid(struct parse *p, const char *sec, const struct key *k,
    const char *val)
{
	size_t i, n = strlen(val);
	size_t max = k->kind == KIND_URL ? CONFIG_URL_MAX :
	    CONFIG_DEVICE_ID_MAX;

	if (n > max)
		return config_fail(p, "[%s] %s: longer than %zu bytes", sec,
		    k->name, max);
	for (i = 0; i < n; i++)
		if (val[i] <= 0x20 || val[i] > 0x7e)
			return config_fail(p, "[%s] %s: \"%s\": byte %zu is "
			    "not visible ASCII", sec, k->name, val, i + 1);
	if (k->kind == KIND_URL && !(strncmp(val, "http://", 7) == 0 &&
	    val[7] != '\0' && val[7] != '/') && !(strncmp(val, "https://",
	    8) == 0 && val[8] != '\0' && val[8] != '/'))
		return config_fail(p, "[%s] %s: \"%s\" is not an http:// or "
		    "https:// URL with a host", sec, k->name, val);
	return 1;
}

/* A string value of kind k->kind: 1 if valid, else config_fail(). */
static int
string_valid(struct parse *p, const char *sec, const struct key *k,
    const char *val)
{
	const struct bootenv_ops *ops;
	struct err ue;
	char list[128];
	size_t i, n;

	if (val[0] == '\0')
		return config_fail(p, "[%s] %s: empty value", sec, k->name);
	switch (k->kind) {
	case KIND_ABSPATH:
		if (val[0] != '/')
			return config_fail(p, "[%s] %s: \"%s\" is not an "
			    "absolute path", sec, k->name, val);
		break;
	case KIND_COMPATIBLE:
		n = strlen(val);
		if (n > COMPATIBLE_MAX)
			return config_fail(p, "[%s] %s: longer than %d "
			    "bytes", sec, k->name, COMPATIBLE_MAX);
		for (i = 0; i < n; i++)
			if (val[i] < 0x20 || val[i] > 0x7e)
				return config_fail(p, "[%s] %s: byte %zu is "
				    "not printable ASCII", sec, k->name, i + 1);
		break;
	case KIND_BOOTLOADER:
		if (bootenv_find(val) != NULL ||
		    strcmp(val, CONFIG_BOOTLOADER_NONE) == 0)
			break;
		list[0] = '\0';
		for (i = 0; i < NBOOTENV_PATHS; i++) {
			if ((ops = bootenv_find(bootenv_paths[i].bootloader))
			    == NULL)
				continue;
			n = strlen(list);
			snprintf(list + n, sizeof(list) - n, "%s%s",
			    n > 0 ? ", " : "", ops->name);
		}
		return config_fail(p, "[%s] %s: \"%s\" is not supported "
		    "(supported: %s%s" CONFIG_BOOTLOADER_NONE ")", sec, k->name,
		    val, list, list[0] != '\0' ? ", " : "");
	case KIND_REPORT_URL:
		if (report_url_check(val, &ue) < 0)
			return config_fail(p, "[%s] %s: %s", sec, k->name,
			    ue.msg);
		break;
	case KIND_URL:
	case KIND_ID:
		return text_valid(p, sec, k, val);
	case KIND_STRING:
	case KIND_ATTEMPTS:
	case KIND_SECONDS:
	case KIND_RETRIES:
	case KIND_MS:
	case KIND_MIB:
	case KIND_COUNT:
	case KIND_INTERVAL:
	case KIND_SLOT_TYPE:
	case KIND_BOOTNAME:
	case KIND_YESNO:
		break;
	}
	return 1;
}

static int
set_value(struct parse *p, const char *sec, const struct key *k, void *base,
    const char *val)
{
	char **strp = (char **)((char *)base + k->off);
	size_t i;

	switch (k->kind) {
	case KIND_ATTEMPTS:
		if (val[0] < '1' || val[0] > '9' || val[1] != '\0')
			return config_fail(p, "[%s] %s: \"%s\" is not an "
			    "integer from 1 to 9", sec, k->name, val);
		*(int *)((char *)base + k->off) = val[0] - '0';
		return 1;
	case KIND_SECONDS:
	case KIND_RETRIES:
	case KIND_MS:
	case KIND_MIB:
	case KIND_COUNT:
	case KIND_INTERVAL:
		return set_number(p, sec, k, base, val);
	case KIND_SLOT_TYPE:
		for (i = 0; i < sizeof(slot_types) / sizeof(slot_types[0]);
		    i++) {
			if (strcmp(val, slot_types[i].name) == 0) {
				*(enum slot_type *)((char *)base + k->off) =
				    slot_types[i].type;
				return 1;
			}
		}
		return config_fail(p, "[%s] %s: \"%s\" is not raw, files or "
		    "uki", sec, k->name, val);
	case KIND_BOOTNAME:
		if ((val[0] != 'A' && val[0] != 'B') || val[1] != '\0')
			return config_fail(p, "[%s] %s: \"%s\" is not A or B",
			    sec, k->name, val);
		*((char *)base + k->off) = val[0];
		return 1;
	case KIND_YESNO:
		if (strcmp(val, "yes") != 0 && strcmp(val, "no") != 0)
			return config_fail(p, "[%s] %s: \"%s\" is not yes "
			    "or no", sec, k->name, val);
		*(int *)((char *)base + k->off) = strcmp(val, "yes") == 0;
		return 1;
	case KIND_STRING:
	case KIND_ABSPATH:
	case KIND_COMPATIBLE:
	case KIND_BOOTLOADER:
	case KIND_REPORT_URL:
	case KIND_URL:
	case KIND_ID:
		break;
	}

	if (!string_valid(p, sec, k, val))
		return 0;
	if ((*strp = strdup(val)) == NULL) {
		p->err_line = p->line;
		err_set(p->e, -ENOMEM, "%s:%d: [%s] %s: out of memory",
		    p->c->path, p->line, sec, k->name);
		return 0;
	}
	return 1;
}

int
config_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *keys;
	void *base;
	int *lines;
	size_t i, nkeys, si;

	/* Some inih builds call once per section with name NULL. */
	if (name == NULL)
		return 1;
	if (p->err_line != 0)
		return 0;
	/* inih takes an indented line as the continuation of the previous
	 * value; refuse rather than glue "device = x" onto a value. */
	if (p->indented)
		return config_fail(p, "[%s] %s: indented line (continuation "
		    "lines are not supported)", section, name);
	if (value == NULL)
		return config_fail(p, "[%s] %s: no value", section, name);
	if (section[0] == '\0')
		return config_fail(p, "%s: key outside any section", name);
	if (strncmp(section, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0) {
		/* The reader has checked and added every slot header. */
		if (config_slot_find(p->c, section + strlen(SLOT_PREFIX),
		    &si) == NULL)
			return config_fail(p, "[%s]: unknown section",
			    section);
		keys = slot_keys;
		nkeys = NSLOT_KEYS;
		base = &p->c->slots[si];
		lines = p->slot_key_line[si];
	} else {
		keys = config_keys;
		nkeys = NCONFIG_KEYS;
		base = p->c;
		lines = p->key_line;
	}
	for (i = 0; i < nkeys; i++) {
		if (keys == config_keys &&
		    strcmp(keys[i].section, section) != 0)
			continue;
		if (strcmp(keys[i].name, name) == 0)
			break;
	}
	if (i == nkeys)
		return config_fail(p, "[%s] %s: unknown key", section, name);
	if (lines[i] != 0)
		return config_fail(p, "[%s] %s: given twice (first on line "
		    "%d)", section, name, lines[i]);
	lines[i] = p->line;
	return set_value(p, section, &keys[i], base, value);
}

static int
missing(struct config *c, struct err *e, const char *sec, const char *key,
    const char *why)
{
	return err_set(e, -EINVAL, "%s: [%s] %s: missing%s", c->path, sec, key,
	    why);
}

static int
check_slots(struct parse *p)
{
	struct config *c = p->c;
	const struct slot *s, *t;
	char sec[64];
	size_t i, j, k;
	int have[2];

	if (c->nslots == 0)
		return err_set(p->e, -EINVAL, "%s: no [slot.CLASS.N] section",
		    c->path);
	for (i = 0; i < c->nslots; i++) {
		snprintf(sec, sizeof(sec), SLOT_PREFIX "%s", c->slots[i].name);
		for (k = 0; k < NSLOT_KEYS; k++)
			if (slot_keys[k].required &&
			    p->slot_key_line[i][k] == 0)
				return missing(c, p->e, sec,
				    slot_keys[k].name, "");
	}
	/* Only now, with every slot complete, do the cross-checks make
	 * sense; report them at the later of the two lines. */
	for (i = 0; i < c->nslots; i++) {
		s = &c->slots[i];
		if (s->type != SLOT_RAW && s->device[0] != '/')
			return err_set(p->e, -EINVAL, "%s:%d: [slot.%s] "
			    "device: \"%s\" is not an absolute path (type "
			    "%s)",
			    c->path, p->slot_key_line[i][0], s->name,
			    s->device, s->type == SLOT_UKI ? "uki" : "files");
		/* A UKI slot is a file the efi backend names (docs/efi.md). */
		if (s->type == SLOT_UKI && strcmp(c->bootloader, "efi") != 0)
			return err_set(p->e, -EINVAL, "%s: [slot.%s] type: uki "
			    "needs bootloader = efi (systemd-boot), not %s",
			    c->path, s->name, c->bootloader);
		for (j = 0; j < i; j++) {
			t = &c->slots[j];
			/* Two UKI slots of one bootname would both be the
			 * file upkit-X.off. */
			if ((strcmp(s->class, t->class) == 0 ||
			    (s->type == SLOT_UKI && t->type == SLOT_UKI)) &&
			    s->bootname == t->bootname)
				return err_set(p->e, -EINVAL, "%s:%d: "
				    "[slot.%s] bootname: %c is also the "
				    "bootname of [slot.%s]", c->path,
				    p->slot_key_line[i][2], s->name,
				    s->bootname, t->name);
		}
	}
	for (i = 0; i < c->nslots; i++) {
		have[0] = have[1] = 0;
		for (j = 0; j < c->nslots; j++)
			if (strcmp(c->slots[i].class, c->slots[j].class) == 0)
				have[c->slots[j].bootname - 'A'] = 1;
		/* No boot selection: one slot a class, written in place
		 * (docs/reimage.md). */
		if (config_reimage(c) && c->slots[i].bootname != 'A')
			return err_set(p->e, -EINVAL, "%s:%d: [slot.%s] "
			    "bootname: B: with bootloader = none each class "
			    "has one slot, bootname A", c->path,
			    p->slot_key_line[i][2], c->slots[i].name);
		if (!config_reimage(c) && (!have[0] || !have[1]))
			return err_set(p->e, -EINVAL, "%s: class %s: no slot "
			    "with bootname %c (each class needs one A and "
			    "one B)", c->path, c->slots[i].class,
			    have[0] ? 'B' : 'A');
	}
	return 0;
}

static int
set_default(char **field, const char *val, struct config *c, struct err *e)
{
	if (*field != NULL)
		return 0;
	if ((*field = strdup(val)) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", c->path);
	return 0;
}

int
config_finish(struct parse *p)
{
	struct config *c = p->c;
	char why[64];
	size_t i;
	int r;

	for (i = 0; i < NCONFIG_KEYS; i++)
		if (config_keys[i].required && p->key_line[i] == 0)
			return missing(c, p->e, config_keys[i].section,
			    config_keys[i].name, "");
	for (i = 0; i < NBOOTENV_PATHS; i++) {
		if (strcmp(c->bootloader, bootenv_paths[i].bootloader) != 0)
			continue;
		if (*(char **)((char *)c + bootenv_paths[i].off) != NULL)
			continue;
		snprintf(why, sizeof(why), " (required when bootloader = %s)",
		    c->bootloader);
		return missing(c, p->e, bootenv_paths[i].section,
		    bootenv_paths[i].key, why);
	}
	if (c->boot_attempts == 0)
		c->boot_attempts = 3;
	if (c->journal_mb == 0)
		c->journal_mb = 64;
	if (c->journal_s == 0)
		c->journal_s = 10;
	if (c->health_timeout == 0)
		c->health_timeout = 60;
	if (c->health_deadline == 0)
		c->health_deadline = 300;
	if (c->server_interval == 0)
		c->server_interval = 3600;
	if (p->key_line[key_index("server", "retries")] == 0)
		c->server_retries = 10;
	if (c->outbox_max == 0)
		c->outbox_max = 64;
	if (c->outbox_max_kb == 0)
		c->outbox_max_kb = 1024;
	if ((r = set_default(&c->data_directory, "/var/lib/upkit", c,
	    p->e)) < 0 ||
	    (r = set_default(&c->cmdline, "/proc/cmdline", c, p->e)) < 0 ||
	    (r = set_default(&c->health_directory, "/etc/upkit/health.d", c,
	    p->e)) < 0 ||
	    (r = set_default(&c->machine_id_file, "/etc/machine-id", c,
	    p->e)) < 0)
		return r;
	/* The writers get the policy through their slot. */
	for (i = 0; i < c->nslots; i++)
		c->slots[i].special_modes = c->special_modes;
	return check_slots(p);
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nslots; i++) {
		free(c->slots[i].name);
		free(c->slots[i].class);
		free(c->slots[i].device);
	}
	free(c->path);
	free(c->compatible);
	free(c->bootloader);
	free(c->data_directory);
	free(c->cmdline);
	free(c->keyring_path);
	free(c->keyring_crl);
	free(c->uboot_config);
	free(c->grub_env);
	free(c->efi_esp);
	free(c->efi_efivarfs);
	free(c->health_directory);
	free(c->server_ca);
	free(c->server_pin);
	free(c->server_cert);
	free(c->server_key);
	free(c->server_channel);
	free(c->channel_keyring);
	free(c->device_id);
	free(c->machine_id_file);
	free(c->report_url);
	free(c);
}

const struct slot *
config_slot(const struct config *c, const char *class, char bootname)
{
	size_t i;

	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].bootname == bootname &&
		    strcmp(c->slots[i].class, class) == 0)
			return &c->slots[i];
	return NULL;
}

int
config_reimage(const struct config *c)
{
	return strcmp(c->bootloader, CONFIG_BOOTLOADER_NONE) == 0;
}

const char *
config_bootenv_path(const struct config *c)
{
	size_t i;

	for (i = 0; i < NBOOTENV_PATHS; i++)
		if (strcmp(c->bootloader, bootenv_paths[i].bootloader) == 0)
			return *(const char *const *)((const char *)c +
			    bootenv_paths[i].off);
	return NULL;
}

/*
 * agent/config: upkit.conf, read with libinih. libinih 55 does not tell
 * the handler which line it is on, so the text goes through our own reader,
 * which counts lines. The reader also checks section headers itself: inih
 * never calls the handler for a section without keys, and a typo in a
 * header must not pass silently.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "agent/config.h"
#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"
#include "slots/identity.h"

#define CONFIG_MAX_SIZE		(1024 * 1024)
#define COMPATIBLE_MAX		128
#define CLASS_MAX		32
#define SLOT_PREFIX		"slot."

enum kind {
	KIND_STRING,		/* any non-empty value */
	KIND_ABSPATH,
	KIND_COMPATIBLE,
	KIND_BOOTLOADER,
	KIND_ATTEMPTS,
	KIND_SECONDS,		/* 1..CONFIG_SECONDS_MAX */
	KIND_SLOT_TYPE,
	KIND_BOOTNAME,
	KIND_YESNO,		/* yes or no, stored as 1 or 0 */
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
	CKEY("keyring", "path", KIND_STRING, keyring_path, 1),
	CKEY("keyring", "crl", KIND_STRING, keyring_crl, 0),
	CKEY("uboot", "config", KIND_STRING, uboot_config, 0),
	CKEY("grub", "env", KIND_STRING, grub_env, 0),
	CKEY("health", "directory", KIND_ABSPATH, health_directory, 0),
	CKEY("health", "timeout", KIND_SECONDS, health_timeout, 0),
	CKEY("health", "deadline", KIND_SECONDS, health_deadline, 0),
};
#define NCONFIG_KEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

#define SKEY(n, k, f, r)	{ "slot", n, k, offsetof(struct slot, f), r }
static const struct key slot_keys[] = {
	SKEY("device", KIND_STRING, device, 1),
	SKEY("type", KIND_SLOT_TYPE, type, 0),
	SKEY("bootname", KIND_BOOTNAME, bootname, 1),
};
#define NSLOT_KEYS	(sizeof(slot_keys) / sizeof(slot_keys[0]))

static const char *const global_sections[] = {
	"system", "keyring", "uboot", "grub", "health",
};
#define NGLOBAL_SECTIONS \
	(sizeof(global_sections) / sizeof(global_sections[0]))

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
};
#define NBOOTENV_PATHS	(sizeof(bootenv_paths) / sizeof(bootenv_paths[0]))

static const struct {
	const char	*name;
	enum slot_type	 type;
} slot_types[] = {
	{ "raw", SLOT_RAW },
	{ "files", SLOT_FILES },
};

struct parse {
	struct config	*c;
	struct err	*e;
	const char	*text;
	size_t		 len;
	size_t		 pos;
	int		 line;		/* line last handed to inih */
	int		 indented;	/* that line starts with blanks */
	int		 err_line;	/* our first error, 0 if none */
	int		 section_line[NGLOBAL_SECTIONS];
	int		 key_line[NCONFIG_KEYS];
	int		 slot_line[CONFIG_SLOTS_MAX];
	int		 slot_key_line[CONFIG_SLOTS_MAX][NSLOT_KEYS];
};

static int	fail(struct parse *p, int line, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Keeps only the first error: inih goes on after one, and later messages
 * are often consequences of the first.
 */
static int
fail(struct parse *p, int line, const char *fmt, ...)
{
	char msg[sizeof(p->e->msg)];
	va_list ap;

	if (p->err_line != 0)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->err_line = line;
	err_set(p->e, -EINVAL, "%s:%d: %s", p->c->path, line, msg);
	return 0;
}

static int
is_class_char(char ch, int first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
		return 1;
	return !first && (ch == '_' || ch == '-');
}

/* "slot.CLASS.N": CLASS as in is_class_char(), N from 0 to 99. */
static int
slot_section_valid(const char *sec)
{
	const char *class, *dot, *q;

	if (strncmp(sec, SLOT_PREFIX, strlen(SLOT_PREFIX)) != 0)
		return 0;
	class = sec + strlen(SLOT_PREFIX);
	if ((dot = strrchr(class, '.')) == NULL || dot == class ||
	    dot - class > CLASS_MAX)
		return 0;
	for (q = class; q < dot; q++)
		if (!is_class_char(*q, q == class))
			return 0;
	q = dot + 1;
	if (q[0] < '0' || q[0] > '9')
		return 0;
	if (q[1] == '\0')
		return 1;
	/* No leading zero, or "rootfs.01" and "rootfs.1" would differ. */
	return q[0] != '0' && q[1] >= '0' && q[1] <= '9' && q[2] == '\0';
}

static struct slot *
slot_by_name(struct config *c, const char *name, size_t *ip)
{
	size_t i;

	for (i = 0; i < c->nslots; i++) {
		if (strcmp(c->slots[i].name, name) == 0) {
			if (ip != NULL)
				*ip = i;
			return &c->slots[i];
		}
	}
	return NULL;
}

static int
slot_add(struct parse *p, const char *sec)
{
	struct config *c = p->c;
	struct slot *s;
	const char *name = sec + strlen(SLOT_PREFIX);
	size_t i;

	if (slot_by_name(c, name, &i) != NULL)
		return fail(p, p->line, "[%s]: section given twice "
		    "(first on line %d)", sec, p->slot_line[i]);
	if (c->nslots == CONFIG_SLOTS_MAX)
		return fail(p, p->line, "[%s]: more than %d slots", sec,
		    CONFIG_SLOTS_MAX);
	s = &c->slots[c->nslots];
	if ((s->name = strdup(name)) == NULL ||
	    (s->class = strndup(name, (size_t)(strrchr(name, '.') -
	    name))) == NULL) {
		free(s->name);
		s->name = NULL;
		p->err_line = p->line;
		return err_set(p->e, -ENOMEM, "%s:%d: [%s]: out of memory",
		    c->path, p->line, sec);
	}
	s->type = SLOT_RAW;
	p->slot_line[c->nslots++] = p->line;
	return 0;
}

/* A section header, seen by the reader before inih parses it. */
static void
header(struct parse *p, const char *line)
{
	char sec[128];
	const char *end, *q;
	size_t i, n;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[')
		return;
	/* No ']': inih reports the syntax error itself. */
	if ((end = strchr(line, ']')) == NULL)
		return;
	for (q = end + 1; *q == ' ' || *q == '\t' || *q == '\r' ||
	    *q == '\n'; q++)
		;
	if (*q != '\0' && *q != ';' && *q != '#') {
		fail(p, p->line, "text after a section header");
		return;
	}
	n = (size_t)(end - line - 1);
	if (n >= sizeof(sec)) {
		fail(p, p->line, "section name longer than %zu bytes",
		    sizeof(sec) - 1);
		return;
	}
	memcpy(sec, line + 1, n);
	sec[n] = '\0';
	for (i = 0; i < NGLOBAL_SECTIONS; i++) {
		if (strcmp(sec, global_sections[i]) != 0)
			continue;
		if (p->section_line[i] != 0)
			fail(p, p->line, "[%s]: section given twice "
			    "(first on line %d)", sec, p->section_line[i]);
		p->section_line[i] = p->line;
		return;
	}
	if (strncmp(sec, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0) {
		if (!slot_section_valid(sec))
			fail(p, p->line, "[%s]: not a valid slot section: "
			    "slot.CLASS.N with CLASS of a-z, 0-9, _ and - "
			    "(at most %d, starting with a letter or digit) "
			    "and N from 0 to 99", sec, CLASS_MAX);
		else
			slot_add(p, sec);
		return;
	}
	fail(p, p->line, "[%s]: unknown section (expected system, keyring, "
	    "uboot, grub, health or slot.CLASS.N)", sec);
}

/* fgets() over the text in memory, counting lines for the handler. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *start, *nl;
	size_t linelen, content, n;

	if (p->pos >= p->len || num < 4)
		return NULL;
	start = p->text + p->pos;
	nl = memchr(start, '\n', p->len - p->pos);
	linelen = nl != NULL ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->pos += linelen;
	p->line++;
	content = linelen;
	if (content > 0 && start[content - 1] == '\n')
		content--;
	if (content > 0 && start[content - 1] == '\r')
		content--;
	n = linelen;
	/* inih's line buffer is fixed; a longer line would come back as
	 * two lines and a tail could be read as a key. */
	if (content > (size_t)num - 3) {
		fail(p, p->line, "line longer than %d bytes", num - 3);
		/* Not past the text: the last line may end without a
		 * newline, right at len. */
		if (n > (size_t)num - 1)
			n = (size_t)num - 1;
	}
	if (memchr(start, '\0', linelen) != NULL)
		fail(p, p->line, "NUL byte in line");
	memcpy(str, start, n);
	str[n] = '\0';
	p->indented = str[0] == ' ' || str[0] == '\t';
	header(p, str);
	return str;
}

/* Plain decimal only: "1e3", "+5", " 5" or "0x10" are typos, not
 * numbers, and a zero timeout would fail every check. */
static int
set_seconds(struct parse *p, const char *sec, const struct key *k,
    void *base, const char *val)
{
	size_t i, n = strlen(val);
	long v = 0;

	for (i = 0; i < n && i < 6; i++) {
		if (val[i] < '0' || val[i] > '9')
			break;
		v = v * 10 + (val[i] - '0');
	}
	if (n == 0 || i != n || v < 1 || v > CONFIG_SECONDS_MAX)
		return fail(p, p->line, "[%s] %s: \"%s\" is not a number of "
		    "seconds from 1 to %d", sec, k->name, val,
		    CONFIG_SECONDS_MAX);
	*(int *)((char *)base + k->off) = (int)v;
	return 1;
}

static int
set_value(struct parse *p, const char *sec, const struct key *k, void *base,
    const char *val)
{
	const struct bootenv_ops *ops;
	char **strp = (char **)((char *)base + k->off), list[128];
	size_t i, n;

	switch (k->kind) {
	case KIND_ATTEMPTS:
		if (val[0] < '1' || val[0] > '9' || val[1] != '\0')
			return fail(p, p->line, "[%s] %s: \"%s\" is not an "
			    "integer from 1 to 9", sec, k->name, val);
		*(int *)((char *)base + k->off) = val[0] - '0';
		return 1;
	case KIND_SECONDS:
		return set_seconds(p, sec, k, base, val);
	case KIND_SLOT_TYPE:
		for (i = 0; i < sizeof(slot_types) / sizeof(slot_types[0]);
		    i++) {
			if (strcmp(val, slot_types[i].name) == 0) {
				*(enum slot_type *)((char *)base + k->off) =
				    slot_types[i].type;
				return 1;
			}
		}
		return fail(p, p->line, "[%s] %s: \"%s\" is not raw or files",
		    sec, k->name, val);
	case KIND_BOOTNAME:
		if ((val[0] != 'A' && val[0] != 'B') || val[1] != '\0')
			return fail(p, p->line, "[%s] %s: \"%s\" is not A or B",
			    sec, k->name, val);
		*((char *)base + k->off) = val[0];
		return 1;
	case KIND_YESNO:
		if (strcmp(val, "yes") != 0 && strcmp(val, "no") != 0)
			return fail(p, p->line, "[%s] %s: \"%s\" is not yes "
			    "or no", sec, k->name, val);
		*(int *)((char *)base + k->off) = strcmp(val, "yes") == 0;
		return 1;
	case KIND_STRING:
	case KIND_ABSPATH:
	case KIND_COMPATIBLE:
	case KIND_BOOTLOADER:
		break;
	}

	if (val[0] == '\0')
		return fail(p, p->line, "[%s] %s: empty value", sec, k->name);
	switch (k->kind) {
	case KIND_ABSPATH:
		if (val[0] != '/')
			return fail(p, p->line, "[%s] %s: \"%s\" is not an "
			    "absolute path", sec, k->name, val);
		break;
	case KIND_COMPATIBLE:
		n = strlen(val);
		if (n > COMPATIBLE_MAX)
			return fail(p, p->line, "[%s] %s: longer than %d "
			    "bytes", sec, k->name, COMPATIBLE_MAX);
		for (i = 0; i < n; i++)
			if (val[i] < 0x20 || val[i] > 0x7e)
				return fail(p, p->line, "[%s] %s: byte %zu is "
				    "not printable ASCII", sec, k->name, i + 1);
		break;
	case KIND_BOOTLOADER:
		if (bootenv_find(val) != NULL)
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
		return fail(p, p->line, "[%s] %s: \"%s\" is not supported "
		    "(supported: %s)", sec, k->name, val,
		    list[0] != '\0' ? list : "none");
	case KIND_STRING:
	case KIND_ATTEMPTS:
	case KIND_SECONDS:
	case KIND_SLOT_TYPE:
	case KIND_BOOTNAME:
	case KIND_YESNO:
		break;
	}
	if ((*strp = strdup(val)) == NULL) {
		p->err_line = p->line;
		err_set(p->e, -ENOMEM, "%s:%d: [%s] %s: out of memory",
		    p->c->path, p->line, sec, k->name);
		return 0;
	}
	return 1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
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
		return fail(p, p->line, "[%s] %s: indented line (continuation "
		    "lines are not supported)", section, name);
	if (value == NULL)
		return fail(p, p->line, "[%s] %s: no value", section, name);
	if (section[0] == '\0')
		return fail(p, p->line, "%s: key outside any section", name);
	if (strncmp(section, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0) {
		/* The reader has checked and added every slot header. */
		if (slot_by_name(p->c, section + strlen(SLOT_PREFIX), &si) ==
		    NULL)
			return fail(p, p->line, "[%s]: unknown section",
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
		return fail(p, p->line, "[%s] %s: unknown key", section, name);
	if (lines[i] != 0)
		return fail(p, p->line, "[%s] %s: given twice (first on line "
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
line_at(const struct parse *p, size_t i, char *buf, size_t len)
{
	buf[0] = '\0';
	if (p != NULL)
		snprintf(buf, len, ":%d", p->slot_key_line[i][0]);
	return buf;
}

/*
 * target '\0': every slot, at config load (p gives the lines). target A
 * or B: only the slots with that bootname, against everything else, at
 * install time.
 */
static int
check_storage(const struct config *c, const struct parse *p, char target,
    struct err *e)
{
	struct storage st;
	const struct slot *s, *t;
	enum identity_rel rel;
	char where[64];
	size_t i, j, k;
	int r;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < c->nslots; i++) {
		s = &c->slots[i];
		if ((r = identity_open(s->device, &st.slot[i], e)) < 0) {
			err_prefix(e, "%s%s: [slot.%s] device", c->path,
			    line_at(p, i, where, sizeof(where)), s->name);
			goto out;
		}
	}
	owned_paths(c, &st);
	for (k = 0; k < st.nown; k++)
		if ((r = identity_open(st.own[k].path, &st.own[k].id, e)) < 0) {
			err_prefix(e, "%s: %s", c->path, st.own[k].what);
			goto out;
		}
	for (i = 0; i < c->nslots; i++) {
		s = &c->slots[i];
		if (target != '\0' && s->bootname != target)
			continue;
		line_at(p, i, where, sizeof(where));
		for (j = 0; j < c->nslots; j++) {
			t = &c->slots[j];
			/* At load each pair once, at the later line. */
			if (j == i || (target == '\0' && j > i))
				continue;
			r = 0;
			rel = identity_compare(st.slot[i], st.slot[j]);
			if (rel == IDENTITY_APART && s->type == SLOT_FILES &&
			    within(st.slot[j], st.slot[i], &r, e))
				rel = IDENTITY_HOLDS;
			else if (rel == IDENTITY_APART &&
			    t->type == SLOT_FILES &&
			    within(st.slot[i], st.slot[j], &r, e))
				rel = IDENTITY_INSIDE;
			if (r < 0)
				goto out;
			if (rel == IDENTITY_APART)
				continue;
			r = err_set(e, -EINVAL, "%s%s: [slot.%s] device: %s %s "
			    "the device of [slot.%s] (%s)", c->path, where,
			    s->name, s->device, rel_words[rel], t->name,
			    t->device);
			goto out;
		}
		for (k = 0; k < st.nown; k++) {
			/*
			 * A raw slot may hold what upkit only reads (the
			 * booted root holds the config), but never an env
			 * copy; a raw slot inside a whole-disk env device is
			 * the usual U-Boot layout (the env sits at an offset
			 * between the partitions).
			 */
			rel = identity_compare(st.slot[i], st.own[k].id);
			if (rel == IDENTITY_INSIDE ||
			    (rel == IDENTITY_HOLDS && !st.own[k].env))
				rel = IDENTITY_APART;
			r = 0;
			if (rel == IDENTITY_APART && s->type == SLOT_FILES &&
			    within(st.own[k].id, st.slot[i], &r, e))
				rel = IDENTITY_HOLDS;
			else if (rel == IDENTITY_APART &&
			    within(st.slot[i], st.own[k].id, &r, e))
				rel = IDENTITY_INSIDE;
			if (r < 0)
				goto out;
			if (rel == IDENTITY_APART)
				continue;
			r = err_set(e, -EINVAL, "%s%s: [slot.%s] device: %s %s "
			    "%s (%s)", c->path, where, s->name, s->device,
			    rel_words[rel], st.own[k].what, st.own[k].path);
			goto out;
		}
	}
	r = 0;
out:
	storage_free(&st, c->nslots);
	return r;
}

int
config_check_target(const struct config *c, char target, struct err *e)
{
	return check_storage(c, NULL, target, e);
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
		if (s->type == SLOT_FILES && s->device[0] != '/')
			return err_set(p->e, -EINVAL, "%s:%d: [slot.%s] "
			    "device: \"%s\" is not an absolute path (type "
			    "files)",
			    c->path, p->slot_key_line[i][0], s->name,
			    s->device);
		for (j = 0; j < i; j++) {
			t = &c->slots[j];
			if (strcmp(s->class, t->class) == 0 &&
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
		if (!have[0] || !have[1])
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

static int
check(struct parse *p)
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
	if (c->health_timeout == 0)
		c->health_timeout = 60;
	if (c->health_deadline == 0)
		c->health_deadline = 300;
	if ((r = set_default(&c->data_directory, "/var/lib/upkit", c,
	    p->e)) < 0 ||
	    (r = set_default(&c->cmdline, "/proc/cmdline", c, p->e)) < 0 ||
	    (r = set_default(&c->health_directory, "/etc/upkit/health.d", c,
	    p->e)) < 0)
		return r;
	/* The writers get the policy through their slot. */
	for (i = 0; i < c->nslots; i++)
		c->slots[i].special_modes = c->special_modes;
	return check_slots(p);
}

const char *
config_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL)
		return explicit_path;
	if ((env = getenv("UPKIT_CONFIG")) != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

/*
 * The text of name, parsed and checked, everything but the storage: *pp
 * keeps the line numbers for check_storage(). Frees both on failure.
 */
static int
parse(const char *name, const char *text, size_t len, struct config **cp,
    struct parse **pp, struct err *e)
{
	struct config *c;
	struct parse *p = NULL;
	int r, line;

	*cp = NULL;
	*pp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(name)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	/* The parse context holds per-slot line tables: keep it off the
	 * stack. */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	p->c = c;
	p->e = e;
	p->text = text;
	p->len = len;
	line = ini_parse_stream(reader, p, handler, p);
	if (line == -2) {
		r = err_set(e, -ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	/* inih's own error (a line it cannot parse) wins if it came
	 * first. */
	if (line > 0 && (p->err_line == 0 || line < p->err_line)) {
		r = err_set(e, -EINVAL, "%s:%d: syntax error (expected "
		    "[section] or key = value)", name, line);
		goto fail;
	}
	if (p->err_line != 0) {
		r = e->code;
		goto fail;
	}
	if (line != 0) {
		r = err_set(e, -EINVAL, "%s: parse error %d", name, line);
		goto fail;
	}
	if ((r = check(p)) < 0)
		goto fail;
	*cp = c;
	*pp = p;
	return 0;
fail:
	free(p);
	config_free(c);
	return r;
}

int
config_parse(const char *name, const char *text, size_t len,
    struct config **cp, struct err *e)
{
	struct parse *p;
	int r;

	if ((r = parse(name, text, len, cp, &p, e)) < 0)
		return r;
	free(p);
	return 0;
}

int
config_load(const char *path, struct config **cp, struct err *e)
{
	struct config *c = NULL;
	struct parse *p = NULL;
	char *text = NULL;
	size_t len;
	int r;

	*cp = NULL;
	if ((r = file_read(path, CONFIG_MAX_SIZE, &text, &len, e)) < 0)
		goto out;
	if ((r = parse(path, text, len, &c, &p, e)) < 0)
		goto out;
	if ((r = check_storage(c, p, '\0', e)) < 0) {
		config_free(c);
		goto out;
	}
	*cp = c;
out:
	free(p);
	free(text);
	return r;
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
	free(c->health_directory);
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

/*
 * agent/config_ini: upkit.conf read with inih: config_load() and
 * config_parse(), and the lines as inih sees them. libinih
 * 55 does not tell the handler which line it is on, so the text goes
 * through this reader, which counts lines. It also checks section
 * headers itself: inih never calls the handler for a section without
 * keys, and a typo in a header must not pass silently.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "agent/config.h"
#include "agent/config_check.h"
#include "agent/config_parse.h"
#include "common/err.h"
#include "common/io.h"

static const char *const global_sections[] = {
	"system", "keyring", "uboot", "grub", "efi", "health", "server",
};
#define NGLOBAL_SECTIONS \
	(sizeof(global_sections) / sizeof(global_sections[0]))
_Static_assert(NGLOBAL_SECTIONS == CONFIG_PARSE_SECTIONS, "config_parse.h");

#define CONFIG_MAX_SIZE		(1024 * 1024)

/* The reader's first error (config_parse.h). */
int
config_fail(struct parse *p, const char *fmt, ...)
{
	char msg[sizeof(p->e->msg)];
	va_list ap;

	if (p->err_line != 0)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->err_line = p->line;
	err_set(p->e, -EINVAL, "%s:%d: %s", p->c->path, p->line, msg);
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

struct slot *
config_slot_find(struct config *c, const char *name, size_t *ip)
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

	if (config_slot_find(c, name, &i) != NULL)
		return config_fail(p, "[%s]: section given twice "
		    "(first on line %d)", sec, p->slot_line[i]);
	if (c->nslots == CONFIG_SLOTS_MAX)
		return config_fail(p, "[%s]: more than %d slots", sec,
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
		config_fail(p, "text after a section header");
		return;
	}
	n = (size_t)(end - line - 1);
	if (n >= sizeof(sec)) {
		config_fail(p, "section name longer than %zu bytes",
		    sizeof(sec) - 1);
		return;
	}
	memcpy(sec, line + 1, n);
	sec[n] = '\0';
	for (i = 0; i < NGLOBAL_SECTIONS; i++) {
		if (strcmp(sec, global_sections[i]) != 0)
			continue;
		if (p->section_line[i] != 0)
			config_fail(p, "[%s]: section given twice "
			    "(first on line %d)", sec, p->section_line[i]);
		p->section_line[i] = p->line;
		return;
	}
	if (strncmp(sec, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0) {
		if (!slot_section_valid(sec))
			config_fail(p, "[%s]: not a valid slot section: "
			    "slot.CLASS.N with CLASS of a-z, 0-9, _ and - "
			    "(at most %d, starting with a letter or digit) "
			    "and N from 0 to 99", sec, CLASS_MAX);
		else
			slot_add(p, sec);
		return;
	}
	config_fail(p, "[%s]: unknown section (expected system, keyring, "
	    "uboot, grub, efi, health, server or slot.CLASS.N)", sec);
}

/* fgets() over the text in memory, counting lines for the handler. */
char *
config_read_line(char *str, int num, void *stream)
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
		config_fail(p, "line longer than %d bytes", num - 3);
		/* Not past the text: the last line may end without a
		 * newline, right at len. */
		if (n > (size_t)num - 1)
			n = (size_t)num - 1;
	}
	if (memchr(start, '\0', linelen) != NULL)
		config_fail(p, "NUL byte in line");
	memcpy(str, start, n);
	str[n] = '\0';
	p->indented = str[0] == ' ' || str[0] == '\t';
	header(p, str);
	return str;
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
 * keeps the line numbers for config_check_storage(). Frees both on failure.
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
	line = ini_parse_stream(config_read_line, p, config_key, p);
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
	if ((r = config_finish(p)) < 0)
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
	size_t i, len;
	int lines[CONFIG_SLOTS_MAX], r;

	*cp = NULL;
	if ((r = file_read(path, CONFIG_MAX_SIZE, &text, &len, e)) < 0)
		goto out;
	if ((r = parse(path, text, len, &c, &p, e)) < 0)
		goto out;
	for (i = 0; i < c->nslots; i++)
		lines[i] = p->slot_key_line[i][0];
	if ((r = config_check_storage(c, lines, '\0', e)) < 0) {
		config_free(c);
		goto out;
	}
	*cp = c;
out:
	free(p);
	free(text);
	return r;
}

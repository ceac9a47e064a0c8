/*
 * agent/config_parse: what config.c (the keys and their values) and
 * config_ini.c (the lines and section headers under inih) share while
 * one config text is parsed. Private to those two files.
 */
#ifndef AGENT_CONFIG_PARSE_H
#define AGENT_CONFIG_PARSE_H

#include <stddef.h>

#include "agent/config.h"

struct err;

#define SLOT_PREFIX		"slot."
#define CLASS_MAX		32

/* The sizes of config.c's key tables and config_ini.c's section table
 * (each file checks its own). */
#define CONFIG_PARSE_SECTIONS	7
#define CONFIG_PARSE_KEYS	35
#define CONFIG_PARSE_SKEYS	3

struct parse {
	struct config	*c;
	struct err	*e;
	const char	*text;
	size_t		 len;
	size_t		 pos;
	int		 line;		/* line last handed to inih */
	int		 indented;	/* that line starts with blanks */
	int		 err_line;	/* our first error, 0 if none */
	int		 section_line[CONFIG_PARSE_SECTIONS];
	int		 key_line[CONFIG_PARSE_KEYS];
	int		 slot_line[CONFIG_SLOTS_MAX];
	int		 slot_key_line[CONFIG_SLOTS_MAX][CONFIG_PARSE_SKEYS];
};

/* Records the first error, at line p->line, as "PATH:LINE: msg" in p->e
 * (-EINVAL); later ones are dropped, being often consequences of the
 * first. Returns 0, what inih's handler returns to say "error". */
int	config_fail(struct parse *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* config.c: inih's handler for one key (1 to go on, 0 on an error, in
 * p->e), and the checks once every key is read (0 or -errno). */
int	config_key(void *user, const char *section, const char *name,
	    const char *value);
int	config_finish(struct parse *p);
/* inih's reader (ini_parse_stream()): fgets() over p->text, counting
 * lines, checking each section header and adding each [slot.CLASS.N]
 * to p->c as it passes. */
char	*config_read_line(char *str, int num, void *stream);
/* The slot called name ("rootfs.0") in c, its index in *ip (if not
 * NULL); NULL if there is none. */
struct slot *config_slot_find(struct config *c, const char *name,
	    size_t *ip);

#endif /* AGENT_CONFIG_PARSE_H */

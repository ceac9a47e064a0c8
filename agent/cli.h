/*
 * agent/cli: the command line every command shares (docs/cli.md).
 *
 * One table per command (struct cli_cmd) gives getopt_long its options
 * and --help its text, so that --help lists every option the command
 * takes and nothing else. cli_next() wraps getopt_long with opterr = 0
 * and prints its own messages, so every error line starts "upkit: ".
 * The global options (-c/--config for the commands that read upkit.conf,
 * -q/--quiet, -v/--verbose, -h/--help) are taken before the command word
 * (main) and after it (cli_next) alike, and land in struct cli_globals.
 */
#ifndef AGENT_CLI_H
#define AGENT_CLI_H

#include <getopt.h>
#include <stdio.h>

#define CLI_CONFIG	0x1	/* reads upkit.conf: takes -c/--config */
#define CLI_GLOBAL	0x2	/* main's own table: stop at the command
				   word; -h is returned, not printed */
#define CLI_MAX_OPTS	24	/* a command's options, globals included */

/* One option. A val that is a letter is also the short option -val;
 * give long-only options vals from 256 up. q, v and h are the globals'
 * letters, and c too in a CLI_CONFIG command. */
struct cli_opt {
	const char	*name;		/* long name, without "--" */
	int		 val;		/* what cli_next() returns */
	const char	*arg;		/* its argument in --help, NULL: none */
	const char	*help;		/* one line for --help */
};

struct cli_cmd {
	const char		*name;		/* "update", "bundle create" */
	const char		*synopsis;	/* after "usage: upkit NAME " */
	const char		*summary;	/* a line for upkit --help */
	unsigned		 flags;		/* CLI_CONFIG, CLI_GLOBAL */
	const struct cli_opt	*opts;		/* ends with a NULL name */
	int			(*fn)(int argc, char **argv);
};

/* What the global options set, wherever they were given. */
struct cli_globals {
	const char	*config;	/* -c FILE; NULL: config_path() */
	int		 verbosity;	/* -1 quiet, 0, 1 verbose */
};
extern struct cli_globals cli;

/* One command line being parsed; on the caller's stack. */
struct cli_parse {
	const struct cli_cmd	*cmd;
	int			 argc;
	char			**argv;
	int			 rc;	/* after cli_next() returned -1: -1
					   to go on, else the exit code */
	struct option		 lo[CLI_MAX_OPTS + 1];
	char			 so[3 * CLI_MAX_OPTS + 3];
};

/* The commands main() dispatches to, in the order upkit --help lists
 * them, ending with NULL. */
extern const struct cli_cmd *const cli_commands[];

/* Starts parsing argv (argv[0] is the command's last word) for cmd. */
void	cli_begin(struct cli_parse *p, const struct cli_cmd *cmd, int argc,
	    char **argv);
/*
 * The next option's val, with optarg set as getopt_long sets it; the
 * globals are taken here and never returned (but -h in a CLI_GLOBAL
 * table). -1 at the end of the options with p->rc -1, or when the
 * command must return p->rc now: EXIT_OK after --help printed the help
 * on stdout, EXIT_USAGE after an unknown or ambiguous option or a
 * missing argument, with one "upkit: " line and the usage on stderr.
 * Operands start at optind.
 */
int	cli_next(struct cli_parse *p);
/* After cli_next() returned -1: -1 to go on, else the exit code to
 * return: p->rc, or EXIT_USAGE when not min to max operands follow the
 * options ("upkit: NAME: missing WHAT" or "unexpected argument", and
 * the usage, on stderr). */
int	cli_end(struct cli_parse *p, int min, int max, const char *what);
/* "upkit: NAME: MESSAGE" and the usage on stderr; returns EXIT_USAGE. */
int	cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The usage line, and with full every option, one a line. */
void	cli_help(const struct cli_cmd *cmd, FILE *f, int full);
/* "upkit: WHO: MESSAGE" on stderr (WHO may be NULL: "upkit: MESSAGE"). */
void	cli_error(const char *who, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* "upkit: WHO: warning: MESSAGE" on stderr, in every verbosity. */
void	cli_warn(const char *who, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A line for a person on stderr, "upkit: WHO: MESSAGE", unless -q;
 * cli_verbose(): only with -v. */
void	cli_info(const char *who, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cli_verbose(const char *who, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* AGENT_CLI_H */

/*
 * agent/cli: the shared command line (cli.h). getopt_long's own messages
 * would start with the command word ("status: unrecognized option"), so
 * opterr is 0 and cli_next() says what was wrong itself.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/config.h"

struct cli_globals cli;
/* What main's options set: each command starts from it, so that one
 * process (a unit test) may run several with their own -c. */
static struct cli_globals base;

static const struct cli_opt config_opt[] = {
	{ "config", 'c', "FILE", "config file (default $UPKIT_CONFIG, "
	    "else " CONFIG_DEFAULT_PATH ")" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt global_opts[] = {
	{ "quiet", 'q', NULL, "errors and warnings only on stderr" },
	{ "verbose", 'v', NULL, "more detail on stderr" },
	{ "help", 'h', NULL, "this help" },
	{ NULL, 0, NULL, NULL },
};

/* cmd's own options, then -c if it reads the config, then the globals:
 * the order of --help and of the getopt table alike. */
static const struct cli_opt *
opt_at(const struct cli_cmd *cmd, size_t i)
{
	size_t n;

	for (n = 0; cmd->opts != NULL && cmd->opts[n].name != NULL; n++)
		;
	if (i < n)
		return &cmd->opts[i];
	i -= n;
	if (cmd->flags & CLI_CONFIG) {
		if (i == 0)
			return &config_opt[0];
		i--;
	}
	return global_opts[i].name != NULL ? &global_opts[i] : NULL;
}

void
cli_begin(struct cli_parse *p, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	const struct cli_opt *o;
	size_t i, k = 0, n = 0;

	memset(p, 0, sizeof(*p));
	if (!(cmd->flags & CLI_GLOBAL))
		cli = base;
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	p->rc = -1;
	/* '+': main stops at the command word. ':': a missing argument
	 * is ':', not '?', so that the two get their own messages. */
	if (cmd->flags & CLI_GLOBAL)
		p->so[k++] = '+';
	p->so[k++] = ':';
	for (i = 0; (o = opt_at(cmd, i)) != NULL && n < CLI_MAX_OPTS; i++) {
		p->lo[n].name = o->name;
		p->lo[n].has_arg = o->arg != NULL ? required_argument :
		    no_argument;
		p->lo[n].val = o->val;
		n++;
		if (o->val > 0 && o->val < 128) {
			p->so[k++] = (char)o->val;
			if (o->arg != NULL)
				p->so[k++] = ':';
		}
	}
	/* glibc's full reset, so that one process may parse several
	 * argument lists (main, then the command; the unit tests). */
	optind = 0;
}

/*
 * What getopt_long refused, said in one line. optopt is 0 for an
 * unknown long option, the letter for a short one, and the option's val
 * for a long option given a value it does not take ("--json=x"); a
 * long one is argv[optind - 1], a short one may sit inside a cluster.
 */
static void
bad_option(const struct cli_parse *p, int c)
{
	const char *who = p->cmd->flags & CLI_GLOBAL ? NULL : p->cmd->name;
	const char *arg = p->argv[optind - 1];
	char buf[512] = "";
	size_t len, i, n = 0;
	int val = 0;

	len = strncmp(arg, "--", 2) == 0 ? strcspn(arg + 2, "=") : 0;
	for (i = 0; len > 0 && p->lo[i].name != NULL; i++)
		if (strncmp(p->lo[i].name, arg + 2, len) == 0) {
			n++;
			val = p->lo[i].val;
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    " --%s", p->lo[i].name);
		}
	if (len == 0 || (c == '?' && optopt != 0 && (n != 1 ||
	    val != optopt || arg[2 + len] != '='))) {
		cli_error(who, c == ':' ? "option -%c needs an argument" :
		    "unknown option -%c", optopt);
		return;
	}
	if (c == ':')
		cli_error(who, "option --%.*s needs an argument", (int)len,
		    arg + 2);
	else if (n > 1)
		cli_error(who, "option --%.*s is ambiguous:%s", (int)len,
		    arg + 2, buf);
	else if (n == 1)
		cli_error(who, "option --%.*s takes no argument", (int)len,
		    arg + 2);
	else
		cli_error(who, "unknown option --%.*s", (int)len, arg + 2);
}

int
cli_next(struct cli_parse *p)
{
	int c;

	for (;;) {
		opterr = 0;
		c = getopt_long(p->argc, p->argv, p->so, p->lo, NULL);
		switch (c) {
		case -1:
			if (p->cmd->flags & CLI_GLOBAL)
				base = cli;
			return -1;
		case 'q':
			cli.verbosity = -1;
			continue;
		case 'v':
			cli.verbosity = 1;
			continue;
		case 'h':
			if (p->cmd->flags & CLI_GLOBAL)
				return c;
			cli_help(p->cmd, stdout, 1);
			p->rc = EXIT_OK;
			return -1;
		case '?':
		case ':':
			bad_option(p, c);
			cli_help(p->cmd, stderr, 0);
			p->rc = EXIT_USAGE;
			return -1;
		default:
			break;
		}
		if (c == 'c' && (p->cmd->flags & CLI_CONFIG)) {
			cli.config = optarg;
			continue;
		}
		return c;
	}
}

int
cli_end(struct cli_parse *p, int min, int max, const char *what)
{
	int n = p->argc - optind;

	if (p->rc >= 0)
		return p->rc;
	if (n < min)
		return cli_usage_error(p->cmd, "missing %s", what);
	if (n > max)
		return cli_usage_error(p->cmd, "unexpected argument '%s'",
		    p->argv[optind + max]);
	return -1;
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "upkit: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_help(cmd, stderr, 0);
	return EXIT_USAGE;
}

/* "-x, --name ARG" or "    --name ARG" into buf. */
static void
opt_label(const struct cli_opt *o, char *buf, size_t size)
{
	int isshort = o->val > 0 && o->val < 128;

	snprintf(buf, size, "%s%c%s--%s%s%s", isshort ? "-" : " ",
	    isshort ? o->val : ' ', isshort ? ", " : "  ", o->name,
	    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
}

/* text from column col on, wrapped at 79 columns and indented to col. */
static void
wrap(FILE *f, const char *text, int col)
{
	const char *s = text + strspn(text, " ");
	int at = col, n, first = 1;

	while (*s != '\0') {
		n = (int)strcspn(s, " ");
		if (!first && at + 1 + n > 79) {
			fprintf(f, "\n%*s", col, "");
			at = col;
			first = 1;
		}
		fprintf(f, "%s%.*s", first ? "" : " ", n, s);
		at += n + !first;
		first = 0;
		s += n;
		s += strspn(s, " ");
	}
	fputc('\n', f);
}

void
cli_help(const struct cli_cmd *cmd, FILE *f, int full)
{
	const struct cli_opt *o;
	char label[64];
	size_t i;
	int w = 0;

	if (cmd->flags & CLI_GLOBAL) {
		fprintf(f, "usage: upkit %s\n", cmd->synopsis);
		return;
	}
	fprintf(f, "usage: upkit %s %s\n", cmd->name, cmd->synopsis);
	if (!full) {
		fprintf(f, "'upkit %s --help' lists its options.\n",
		    cmd->name);
		return;
	}
	fprintf(f, "%s.\n\noptions:\n", cmd->summary);
	for (i = 0; (o = opt_at(cmd, i)) != NULL; i++) {
		opt_label(o, label, sizeof(label));
		if ((int)strlen(label) > w)
			w = (int)strlen(label);
	}
	for (i = 0; (o = opt_at(cmd, i)) != NULL; i++) {
		opt_label(o, label, sizeof(label));
		fprintf(f, "  %-*s  ", w, label);
		wrap(f, o->help, w + 4);
	}
}

static void
say(const char *who, const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "upkit: %s%s%s", who != NULL ? who : "",
	    who != NULL ? ": " : "", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_error(const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(who, "", fmt, ap);
	va_end(ap);
}

void
cli_warn(const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(who, "warning: ", fmt, ap);
	va_end(ap);
}

void
cli_info(const char *who, const char *fmt, ...)
{
	va_list ap;

	if (cli.verbosity < 0)
		return;
	va_start(ap, fmt);
	say(who, "", fmt, ap);
	va_end(ap);
}

void
cli_verbose(const char *who, const char *fmt, ...)
{
	va_list ap;

	if (cli.verbosity < 1)
		return;
	va_start(ap, fmt);
	say(who, "", fmt, ap);
	va_end(ap);
}

const struct cli_cmd *const cli_commands[] = {
	&cli_update, &cli_install, &cli_status, &cli_health, &cli_commit,
	&cli_rollback, &cli_mark_good, &cli_mark_bad, &cli_daemon,
	&cli_report_send,
	&cli_keys_create, &cli_bundle_create, &cli_bundle_info,
	&cli_bundle_verify, &cli_channel_create, &cli_channel_info,
	&cli_channel_verify, &cli_fleet_report,
	NULL,
};

/*
 * upkit: the command line. main() takes the global options that come
 * before the command word (upkit -c FILE update ...), finds the command
 * in cli_commands[] (agent/cli.c) and runs it: each command parses its
 * own options, the globals again among them, and returns its exit code.
 * A group word alone (upkit bundle) lists the group's commands. This is
 * the only place that exits.
 */
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/cmd.h"

#ifndef UPKIT_VERSION
#define UPKIT_VERSION "0.1.0"
#endif

static const struct cli_opt main_opts[] = {
	{ "version", 'V', NULL, "upkit's version" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_cmd cli_main = {
	"", "[-c FILE] [-q | -v] COMMAND [OPTIONS] [ARGS]\n"
	    "       upkit help [COMMAND]\n"
	    "       upkit -V | --version",
	"", CLI_GLOBAL | CLI_CONFIG, main_opts, NULL,
};

/* The words of a command's name: "bundle create" is in group "bundle". */
static int
in_group(const struct cli_cmd *c, const char *group)
{
	size_t n = strlen(group);

	return strncmp(c->name, group, n) == 0 && c->name[n] == ' ';
}

/* The commands, those of group only when it is not NULL. */
static void
list(FILE *f, const char *group)
{
	static const char *const heads[] = {
		"On the device (they read upkit.conf):",
		"Keys, bundles, channels and reports:",
	};
	const struct cli_cmd *const *c;
	int h, w = 0;

	for (c = cli_commands; *c != NULL; c++)
		if ((int)strlen((*c)->name) > w)
			w = (int)strlen((*c)->name);
	for (h = 0; h < 2; h++) {
		if (group == NULL)
			fprintf(f, "\n%s\n", heads[h]);
		for (c = cli_commands; *c != NULL; c++)
			if (((*c)->flags & CLI_CONFIG ? 0 : 1) == h &&
			    (group == NULL || in_group(*c, group)))
				fprintf(f, "  upkit %-*s  %s\n", w, (*c)->name,
				    (*c)->summary);
	}
}

static void
usage(FILE *f)
{
	cli_help(&cli_main, f, 0);
	list(f, NULL);
	fprintf(f, "\nGlobal options, before the command or after it:\n"
	    "  -c, --config FILE  config file of the device commands "
	    "(default\n"
	    "                     $UPKIT_CONFIG, else /etc/upkit/upkit.conf)\n"
	    "  -q, --quiet        errors and warnings only on stderr\n"
	    "  -v, --verbose      more detail on stderr\n"
	    "  -h, --help         this help; after a command, its options\n"
	    "  -V, --version      upkit's version (before the command)\n"
	    "\n'upkit COMMAND --help' lists a command's options "
	    "(docs/cli.md).\n");
}

/* A group word alone, or with --help or an unknown word after it. */
static int
group_help(int argc, char **argv)
{
	FILE *f = stderr;
	int rc = EXIT_USAGE;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		f = stdout;
		rc = EXIT_OK;
	} else if (argc > 1)
		cli_error(argv[0], "unknown command '%s'", argv[1]);
	else
		cli_error(argv[0], "a command is needed");
	fprintf(f, "usage: upkit %s COMMAND [OPTIONS]\n", argv[0]);
	list(f, argv[0]);
	return rc;
}

/* argv[0] is the command's first word. */
static int
dispatch(int argc, char **argv)
{
	const struct cli_cmd *const *c;
	int group = 0;

	for (c = cli_commands; *c != NULL; c++) {
		if (strcmp((*c)->name, argv[0]) == 0)
			return (*c)->fn(argc, argv);
		if (!in_group(*c, argv[0]))
			continue;
		group = 1;
		if (argc > 1 && strcmp((*c)->name + strlen(argv[0]) + 1,
		    argv[1]) == 0)
			return (*c)->fn(argc - 1, argv + 1);
	}
	if (group)
		return group_help(argc, argv);
	cli_error(NULL, "unknown command '%s'", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}

/* upkit help [COMMAND]: what COMMAND --help prints, on stdout. */
static int
help(int argc, char **argv)
{
	char dash_h[] = "--help", *h[] = { NULL, dash_h, NULL };
	const struct cli_cmd *const *c;
	char name[64];

	if (argc == 1) {
		usage(stdout);
		return EXIT_OK;
	}
	snprintf(name, sizeof(name), "%s%s%s", argv[1], argc > 2 ? " " : "",
	    argc > 2 ? argv[2] : "");
	for (c = cli_commands; *c != NULL; c++)
		if (strcmp((*c)->name, name) == 0) {
			cli_help(*c, stdout, 1);
			return EXIT_OK;
		}
	h[0] = argv[1];
	return dispatch(2, h);
}

int
main(int argc, char **argv)
{
	struct cli_parse p;
	int c;

	cli_begin(&p, &cli_main, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		printf("upkit %s\n", UPKIT_VERSION);	/* -V */
		return EXIT_OK;
	}
	if (p.rc >= 0)
		return p.rc;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		cli_error(NULL, "a command is needed");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return help(argc, argv);
	if (strcmp(argv[0], "version") == 0) {
		printf("upkit %s\n", UPKIT_VERSION);
		return EXIT_OK;
	}
	return dispatch(argc, argv);
}

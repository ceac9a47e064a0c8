/*
 * `upkit update`: the command line of the install (agent/update.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/update.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: upkit update [-c CONFIG] --from FILE|URL|- "
	    "[--allow-downgrade] [--no-reboot]\n"
	    "       [--json | --progress auto|bar|lines|none]\n");
}

/* -1 to go on, else the exit code. */
static int
parse_args(struct update_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "no-reboot", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "progress", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 'D':
			o->allow_downgrade = 1;
			break;
		case 'n':
			o->no_reboot = 1;
			break;
		case 'j':
			o->progress = PROGRESS_JSON;
			break;
		case 'p':
			if (o->progress != PROGRESS_JSON &&
			    progress_mode_parse(optarg, &o->progress) == 0)
				break;
			fprintf(stderr, "upkit update: --progress %s: %s\n",
			    optarg, o->progress == PROGRESS_JSON ? "not with "
			    "--json" : "expected auto, bar, lines or none");
			usage(stderr);
			return EXIT_USAGE;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || o->from == NULL) {
		fprintf(stderr, "upkit update: %s\n", o->from == NULL ?
		    "--from is required" : "unexpected argument");
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_update(int argc, char **argv)
{
	struct update_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	o.progress = PROGRESS_AUTO;
	if ((r = parse_args(&o, argc, argv)) >= 0)
		return r;
	return update_run(&o);
}

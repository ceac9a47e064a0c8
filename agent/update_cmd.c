/*
 * `upkit update` and its alias `upkit install FILE|URL` (RAUC's "rauc
 * install", SWUpdate's "swupdate -i"): the command line of the install
 * (agent/update.c). The two share one option table; install takes the
 * bundle as its operand instead of --from.
 */
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/update.h"

enum { O_DOWNGRADE = 256, O_NO_REBOOT, O_JSON, O_PROGRESS };

/* --from first: install's table starts after it. */
static const struct cli_opt opts[] = {
	{ "from", 'f', "FILE|URL|-", "the bundle: a file, an http(s) URL, "
	    "or - for stdin (required)" },
	{ "allow-downgrade", O_DOWNGRADE, NULL, "install a version not "
	    "newer than the installed one (never below the security floor)" },
	{ "no-reboot", O_NO_REBOOT, NULL, "arm the slot, do not reboot" },
	{ "json", O_JSON, NULL, "one JSON event a line on stdout" },
	{ "progress", O_PROGRESS, "MODE", "auto, bar, lines or none "
	    "(default auto: bar on a TTY, else lines)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_update = {
	"update", "[OPTIONS] --from FILE|URL|-",
	"Install a bundle into the inactive slot, arm it",
	CLI_CONFIG, opts, cmd_update,
};

const struct cli_cmd cli_install = {
	"install", "[OPTIONS] FILE|URL|-",
	"update --from FILE|URL|-, as rauc install",
	CLI_CONFIG, opts + 1, cmd_install,
};

/* -1 to go on, else the exit code. */
static int
parse_args(const struct cli_cmd *cmd, struct update_opts *o, int argc,
    char **argv)
{
	struct cli_parse p;
	int c, rc;

	cli_begin(&p, cmd, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		switch (c) {
		case 'f':
			o->from = optarg;
			break;
		case O_DOWNGRADE:
			o->allow_downgrade = 1;
			break;
		case O_NO_REBOOT:
			o->no_reboot = 1;
			break;
		case O_JSON:
			o->progress = PROGRESS_JSON;
			break;
		case O_PROGRESS:
			if (o->progress == PROGRESS_JSON)
				return cli_usage_error(cmd, "--progress: not "
				    "with --json");
			if (progress_mode_parse(optarg, &o->progress) < 0)
				return cli_usage_error(cmd, "--progress %s: "
				    "expected auto, bar, lines or none",
				    optarg);
			break;
		}
	}
	if ((rc = cli_end(&p, cmd == &cli_install, cmd == &cli_install,
	    "FILE|URL|-")) >= 0)
		return rc;
	if (cmd == &cli_install)
		o->from = argv[optind];
	else if (o->from == NULL)
		return cli_usage_error(cmd, "--from is required");
	o->config = cli.config;
	o->name = cmd->name;
	return -1;
}

static int
run(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct update_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	o.progress = PROGRESS_AUTO;
	if ((r = parse_args(cmd, &o, argc, argv)) >= 0)
		return r;
	return update_run(&o);
}

int
cmd_update(int argc, char **argv)
{
	return run(&cli_update, argc, argv);
}

int
cmd_install(int argc, char **argv)
{
	return run(&cli_install, argc, argv);
}

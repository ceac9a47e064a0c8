/*
 * upkit: the command line. A table maps command words to the functions in
 * agent/cmd.h; each command parses its own options and returns its exit
 * code. This is the only place that exits.
 */
#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"

#ifndef UPKIT_VERSION
#define UPKIT_VERSION "0.1.0"
#endif

struct command {
	const char	*group;		/* NULL for a top-level command */
	const char	*name;
	int		(*fn)(int, char **);
	const char	*help;
};

static const struct command commands[] = {
	{ "keys", "create", cmd_keys_create,
	    "--out DIR [--cn NAME]          make a root CA and a signer" },
	{ "bundle", "create", cmd_bundle_create,
	    "--key K --cert C ... -o OUT    build a signed bundle" },
	{ "bundle", "info", cmd_bundle_info,
	    "FILE [--json]                  show a bundle's manifest" },
	{ "bundle", "verify", cmd_bundle_verify,
	    "FILE --keyring PEM             check signature and every chunk" },
	{ "channel", "create", cmd_channel_create,
	    "--key K --cert C ... --out F   sign a channel of releases" },
	{ "channel", "info", cmd_channel_info,
	    "FILE                           show a channel's releases" },
	{ "channel", "verify", cmd_channel_verify,
	    "FILE --keyring PEM [--now T]   check signature, chain, expiry" },
	{ NULL, "update", cmd_update,
	    "--from FILE|- [--no-reboot]    install into the inactive slot" },
	{ NULL, "status", cmd_status,
	    "[--json]                       show slots, env and last update" },
	{ NULL, "health", cmd_health,
	    "[--no-reboot] [--json]         check a trial boot: commit or "
	    "roll back" },
	{ NULL, "commit", cmd_commit,
	    "[--json]                       keep the trial slot unchecked" },
	{ NULL, "rollback", cmd_rollback,
	    "[--no-reboot] [--json]         go back to the other slot" },
	{ "report", "send", cmd_report_send,
	    "[-c FILE]                      PUT the outbox's reports" },
	{ "fleet", "report", cmd_fleet_report,
	    "DIR [--json]                   sum a folder of reports" },
	{ NULL, "daemon", cmd_daemon,
	    "[--once] [--no-reboot]         poll the channel, install, "
	    "reboot" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: upkit COMMAND [OPTIONS]\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  upkit %s%s%-8s %s\n",
		    commands[i].group ? commands[i].group : "",
		    commands[i].group ? " " : "", commands[i].name,
		    commands[i].help);
	fprintf(f, "\nDevice commands read /etc/upkit/upkit.conf, "
	    "or -c FILE, or $UPKIT_CONFIG.\n");
}

int
main(int argc, char **argv)
{
	const struct command *c;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("upkit %s\n", UPKIT_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		c = &commands[i];
		if (c->group == NULL && strcmp(argv[1], c->name) == 0)
			return c->fn(argc - 1, argv + 1);
		if (c->group != NULL && strcmp(argv[1], c->group) == 0 &&
		    argc > 2 && strcmp(argv[2], c->name) == 0)
			return c->fn(argc - 2, argv + 2);
	}
	fprintf(stderr, "upkit: unknown command '%s%s%s'\n", argv[1],
	    argc > 2 && argv[2][0] != '-' ? " " : "",
	    argc > 2 && argv[2][0] != '-' ? argv[2] : "");
	usage(stderr);
	return EXIT_USAGE;
}

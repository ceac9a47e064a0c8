/*
 * agent/cmd: the commands main() dispatches to. Each is a struct cli_cmd
 * (agent/cli.h: its name, usage, options and function) listed in
 * cli_commands[]. The function takes the arguments from its own name on
 * (argv[0] is "update", "create", ...), parses them with cli_next(),
 * prints, and returns an exit code (docs/exit-codes.md, mapped in
 * agent/exitcode.c).
 *
 * -h/--help prints the command's usage and every option on stdout and
 * returns EXIT_OK; a bad option or argument prints one "upkit: " line
 * and the usage on stderr and returns EXIT_USAGE.
 *
 * Printing: these commands and main() print results and errors, through
 * agent/cli.h's cli_error() and cli_warn() ("upkit: NAME: ..."). Below
 * them only two helpers print, for the command: agent/progress.c
 * (update's progress and step lines) and agent/device.c (one warning
 * line on stderr when device_open() repairs or rebuilds the boot env, or
 * recovers a trial from it). Everything else returns a struct err.
 */
#ifndef AGENT_CMD_H
#define AGENT_CMD_H

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* anything not below */
	EXIT_USAGE = 2,		/* bad arguments */
	EXIT_CONFIG = 3,	/* bad or missing configuration, keyring */
	EXIT_INPUT = 4,		/* bundle source cannot be opened or read */
	EXIT_BUNDLE = 5,	/* bundle invalid: format, signature, chain,
				   truncated, tampered chunk */
	EXIT_POLICY = 6,	/* bundle refused: compatible, version,
				   security floor */
	EXIT_SLOT = 7,		/* slot write, read-back or size failure */
	EXIT_BOOTENV = 8,	/* boot environment cannot be read or stored */
	EXIT_HEALTH = 9,	/* a health check failed: rolled back */
	EXIT_INSTALLED = 10,	/* daemon --once: a release was installed
				   and armed */
};

struct cli_cmd;

/* The commands, and the file each lives in. */
extern const struct cli_cmd cli_keys_create;	/* host/keys.c */
extern const struct cli_cmd cli_bundle_create;	/* host/create.c */
extern const struct cli_cmd cli_bundle_info;	/* agent/info.c */
extern const struct cli_cmd cli_bundle_verify;	/* agent/info.c */
extern const struct cli_cmd cli_channel_create;	/* host/channel.c */
extern const struct cli_cmd cli_channel_info;	/* agent/channel.c */
extern const struct cli_cmd cli_channel_verify;	/* agent/channel.c */
extern const struct cli_cmd cli_update;		/* agent/update_cmd.c */
extern const struct cli_cmd cli_install;	/* agent/update_cmd.c */
extern const struct cli_cmd cli_status;		/* agent/status.c */
extern const struct cli_cmd cli_health;		/* agent/health.c */
extern const struct cli_cmd cli_commit;		/* agent/health.c */
extern const struct cli_cmd cli_rollback;	/* agent/health.c */
extern const struct cli_cmd cli_mark_good;	/* agent/health.c */
extern const struct cli_cmd cli_mark_bad;	/* agent/health.c */
extern const struct cli_cmd cli_report_send;	/* agent/reportcmd.c */
extern const struct cli_cmd cli_fleet_report;	/* host/fleet.c */
extern const struct cli_cmd cli_daemon;		/* agent/daemon.c */

int	cmd_keys_create(int argc, char **argv);
int	cmd_bundle_create(int argc, char **argv);
int	cmd_bundle_info(int argc, char **argv);
int	cmd_bundle_verify(int argc, char **argv);
int	cmd_channel_create(int argc, char **argv);
int	cmd_channel_info(int argc, char **argv);
int	cmd_channel_verify(int argc, char **argv);
int	cmd_update(int argc, char **argv);
int	cmd_install(int argc, char **argv);
int	cmd_status(int argc, char **argv);
int	cmd_health(int argc, char **argv);
int	cmd_commit(int argc, char **argv);
int	cmd_rollback(int argc, char **argv);
int	cmd_mark_good(int argc, char **argv);
int	cmd_mark_bad(int argc, char **argv);
int	cmd_report_send(int argc, char **argv);
int	cmd_fleet_report(int argc, char **argv);
int	cmd_daemon(int argc, char **argv);

#endif /* AGENT_CMD_H */

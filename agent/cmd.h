/*
 * agent/cmd: the commands main() dispatches to. Each takes the arguments
 * from its own name on (argv[0] is "update", "create", ...), parses them
 * with getopt_long, prints, and returns an exit code (docs/exit-codes.md,
 * mapped in agent/exitcode.c).
 *
 * getopt: each command starts with optind = 0, glibc's full reset, so
 * that one process (main(), a unit test) may parse several argument
 * lists. -h/--help prints the command's usage on stdout and returns
 * EXIT_OK; a bad option or argument prints it on stderr and returns
 * EXIT_USAGE.
 *
 * Printing: these commands and main() print results and errors. Below
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

int	cmd_keys_create(int argc, char **argv);		/* host/keys.c */
int	cmd_bundle_create(int argc, char **argv);	/* host/create.c */
int	cmd_bundle_info(int argc, char **argv);		/* agent/info.c */
int	cmd_bundle_verify(int argc, char **argv);	/* agent/info.c */
int	cmd_channel_create(int argc, char **argv);	/* host/channel.c */
int	cmd_channel_info(int argc, char **argv);	/* agent/channel.c */
int	cmd_channel_verify(int argc, char **argv);	/* agent/channel.c */
int	cmd_update(int argc, char **argv);		/* agent/update.c */
int	cmd_status(int argc, char **argv);		/* agent/status.c */
int	cmd_health(int argc, char **argv);		/* agent/health.c */
int	cmd_commit(int argc, char **argv);		/* agent/health.c */
int	cmd_rollback(int argc, char **argv);		/* agent/health.c */
int	cmd_report_send(int argc, char **argv);		/* agent/reportcmd.c */
int	cmd_fleet_report(int argc, char **argv);	/* host/fleet.c */
int	cmd_daemon(int argc, char **argv);		/* agent/daemon.c */

#endif /* AGENT_CMD_H */

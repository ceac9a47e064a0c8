/*
 * agent/exitcode: the one table from a failure to the exit code a
 * command returns (enum exit_code in agent/cmd.h, docs/exit-codes.md).
 * A failure is the step that failed and its -errno: most steps give
 * their code alone, a few (reading a bundle, bundle create) look at the
 * errno too. device_exit_code() and install_exit_code() name their step
 * and ask here, and so do the commands (update, health, status) for
 * each of their own failures; only EXIT_OK, EXIT_USAGE for a bad
 * command line and update's 128 + a stop signal are returned as they
 * are.
 */
#ifndef AGENT_EXITCODE_H
#define AGENT_EXITCODE_H

enum fail_step {
	FAIL_OTHER,		/* memory, threads, anything else: 1 */
	FAIL_ARGS,		/* the command line: 2 */
	FAIL_CONFIG,		/* config, keyring, kernel command line: 3 */
	FAIL_STATE,		/* DATA/state.json: 1 */
	FAIL_BOOTENV,		/* the boot env: 8 */
	FAIL_SOURCE,		/* the bundle source cannot be read: 4 */
	FAIL_BUNDLE,		/* bundle bytes wrong or cut short: 5 */
	FAIL_READ,		/* bundle_reader_open(), before either is known:
				   5 for a bad bundle, 1 for memory, else 4 */
	FAIL_POLICY,		/* the device refuses the bundle: 6 */
	FAIL_SLOT,		/* a slot write, read-back or size: 7 */
	FAIL_HEALTH,		/* a health check: 9 */
	FAIL_CREATE_INPUT,	/* bundle create: an input option; 2 if
				   malformed, else 4 */
	FAIL_CREATE,		/* bundle create: assembling and signing */
	FAIL_CHANNEL,		/* a channel file: 6 if it expired, 1 for
				   memory, else 5 (format, signature,
				   chain) */
};

/* The enum exit_code for a failure at step with r (-errno, or 0 when
 * only the step is known). */
int	exitcode_for(enum fail_step step, int r);

#endif /* AGENT_EXITCODE_H */

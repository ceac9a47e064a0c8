/*
 * agent/exitcode: (step, errno) to exit code, first matching row wins.
 * The codes are a promise to scripts (docs/exit-codes.md): change a row
 * only with the doc and a test.
 */
#include <errno.h>
#include <stddef.h>

#include "agent/cmd.h"
#include "agent/exitcode.h"

static const struct {
	enum fail_step	step;
	int		err;		/* errno; 0 matches any */
	enum exit_code	code;
} rows[] = {
	{ FAIL_ARGS,		0,		EXIT_USAGE },
	{ FAIL_CONFIG,		0,		EXIT_CONFIG },
	{ FAIL_STATE,		0,		EXIT_FAIL },
	{ FAIL_BOOTENV,		0,		EXIT_BOOTENV },
	{ FAIL_SOURCE,		0,		EXIT_INPUT },
	{ FAIL_BUNDLE,		0,		EXIT_BUNDLE },
	/* bundle_reader_open() fails only on a read, a bad bundle or memory. */
	{ FAIL_READ,		EBADMSG,	EXIT_BUNDLE },
	{ FAIL_READ,		EKEYREJECTED,	EXIT_BUNDLE },
	{ FAIL_READ,		EPIPE,		EXIT_BUNDLE },
	{ FAIL_READ,		ENOMEM,		EXIT_FAIL },
	{ FAIL_READ,		0,		EXIT_INPUT },
	{ FAIL_POLICY,		0,		EXIT_POLICY },
	{ FAIL_SLOT,		0,		EXIT_SLOT },
	{ FAIL_HEALTH,		0,		EXIT_HEALTH },
	/* A malformed option is a usage problem; a missing or unreadable
	 * input is an input one. */
	{ FAIL_CREATE_INPUT,	EINVAL,		EXIT_USAGE },
	{ FAIL_CREATE_INPUT,	EEXIST,		EXIT_USAGE },
	{ FAIL_CREATE_INPUT,	0,		EXIT_INPUT },
	/* An input that vanished or cannot be read; a key, certificate or
	 * chain that does not parse or match. */
	{ FAIL_CREATE,		ENOENT,		EXIT_INPUT },
	{ FAIL_CREATE,		EACCES,		EXIT_INPUT },
	{ FAIL_CREATE,		EIO,		EXIT_INPUT },
	{ FAIL_CREATE,		EBADMSG,	EXIT_CONFIG },
	{ FAIL_CREATE,		EINVAL,		EXIT_CONFIG },
	{ FAIL_CREATE,		EKEYREJECTED,	EXIT_CONFIG },
	/* A channel that is signed and well formed but past its expiry is
	 * refused as policy, like a bundle the device will not take; any
	 * other fault of its bytes is a bad bundle's. */
	{ FAIL_CHANNEL,		EKEYEXPIRED,	EXIT_POLICY },
	/* The daemon: a channel older than the last accepted, or the same
	 * version signed again (a freeze or a replay). */
	{ FAIL_CHANNEL,		ESTALE,		EXIT_POLICY },
	{ FAIL_CHANNEL,		ENOMEM,		EXIT_FAIL },
	{ FAIL_CHANNEL,		0,		EXIT_BUNDLE },
};

int
exitcode_for(enum fail_step step, int r)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].step == step &&
		    (rows[i].err == 0 || rows[i].err == -r))
			return rows[i].code;
	return EXIT_FAIL;
}

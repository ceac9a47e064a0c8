/* agent/exitcode: the codes docs/exit-codes.md promises, through the one
 * table and its two thin users, device_exit_code() and
 * install_exit_code(). */
#include <errno.h>

#include "agent/cmd.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/install.h"
#include "tests/check.h"

int
main(void)
{
	/* A step alone. */
	CHECK(exitcode_for(FAIL_ARGS, -EINVAL) == EXIT_USAGE);
	CHECK(exitcode_for(FAIL_CONFIG, -ENOENT) == EXIT_CONFIG);
	CHECK(exitcode_for(FAIL_STATE, -EBADMSG) == EXIT_FAIL);
	CHECK(exitcode_for(FAIL_BOOTENV, -EIO) == EXIT_BOOTENV);
	CHECK(exitcode_for(FAIL_SOURCE, -EBADMSG) == EXIT_INPUT);
	CHECK(exitcode_for(FAIL_BUNDLE, -EIO) == EXIT_BUNDLE);
	CHECK(exitcode_for(FAIL_POLICY, -EPERM) == EXIT_POLICY);
	CHECK(exitcode_for(FAIL_SLOT, -ENOSPC) == EXIT_SLOT);
	CHECK(exitcode_for(FAIL_HEALTH, 0) == EXIT_HEALTH);
	CHECK(exitcode_for(FAIL_OTHER, -ENOMEM) == EXIT_FAIL);

	/* The steps agent/lifecycle.c names (*stepp) and the lock: a full
	 * data directory at mark bad is 1, a read-only env 8, a held lock
	 * 1 (docs/update.md, docs/health.md). */
	CHECK(exitcode_for(FAIL_STATE, -ENOSPC) == EXIT_FAIL);
	CHECK(exitcode_for(FAIL_BOOTENV, -EROFS) == EXIT_BOOTENV);
	CHECK(exitcode_for(FAIL_OTHER, -EBUSY) == EXIT_FAIL);

	/* Reading a bundle: the errno decides. */
	CHECK(exitcode_for(FAIL_READ, -EBADMSG) == EXIT_BUNDLE);
	CHECK(exitcode_for(FAIL_READ, -EKEYREJECTED) == EXIT_BUNDLE);
	CHECK(exitcode_for(FAIL_READ, -EPIPE) == EXIT_BUNDLE);
	CHECK(exitcode_for(FAIL_READ, -ENOMEM) == EXIT_FAIL);
	CHECK(exitcode_for(FAIL_READ, -EIO) == EXIT_INPUT);
	CHECK(install_exit_code(INSTALL_FAULT_OPEN, -EBADMSG) == EXIT_BUNDLE);
	CHECK(install_exit_code(INSTALL_FAULT_OPEN, -EPIPE) == EXIT_BUNDLE);
	CHECK(install_exit_code(INSTALL_FAULT_OPEN, -ENOMEM) == EXIT_FAIL);
	CHECK(install_exit_code(INSTALL_FAULT_OPEN, -EISDIR) == EXIT_INPUT);

	/* bundle create. */
	CHECK(exitcode_for(FAIL_CREATE_INPUT, -EINVAL) == EXIT_USAGE);
	CHECK(exitcode_for(FAIL_CREATE_INPUT, -EEXIST) == EXIT_USAGE);
	CHECK(exitcode_for(FAIL_CREATE_INPUT, -ENOENT) == EXIT_INPUT);
	CHECK(exitcode_for(FAIL_CREATE, -ENOENT) == EXIT_INPUT);
	CHECK(exitcode_for(FAIL_CREATE, -EACCES) == EXIT_INPUT);
	CHECK(exitcode_for(FAIL_CREATE, -EIO) == EXIT_INPUT);
	CHECK(exitcode_for(FAIL_CREATE, -EBADMSG) == EXIT_CONFIG);
	CHECK(exitcode_for(FAIL_CREATE, -EINVAL) == EXIT_CONFIG);
	CHECK(exitcode_for(FAIL_CREATE, -EKEYREJECTED) == EXIT_CONFIG);
	CHECK(exitcode_for(FAIL_CREATE, -ENOSPC) == EXIT_FAIL);

	/* A channel: expired is policy, its other faults a bad bundle's. */
	CHECK(exitcode_for(FAIL_CHANNEL, -EKEYEXPIRED) == EXIT_POLICY);
	CHECK(exitcode_for(FAIL_CHANNEL, -ESTALE) == EXIT_POLICY);
	CHECK(exitcode_for(FAIL_CHANNEL, -EBADMSG) == EXIT_BUNDLE);
	CHECK(exitcode_for(FAIL_CHANNEL, -EKEYREJECTED) == EXIT_BUNDLE);
	CHECK(exitcode_for(FAIL_CHANNEL, -ENOMEM) == EXIT_FAIL);

	/* A device that cannot be opened: the same code in every command,
	 * a bad upkit.slot= on the cmdline included. */
	CHECK(device_exit_code(DEVICE_CONFIG) == EXIT_CONFIG);
	CHECK(device_exit_code(DEVICE_STATE) == EXIT_FAIL);
	CHECK(device_exit_code(DEVICE_BOOTENV) == EXIT_BOOTENV);
	CHECK(device_exit_code(DEVICE_CMDLINE) == EXIT_CONFIG);
	return 0;
}

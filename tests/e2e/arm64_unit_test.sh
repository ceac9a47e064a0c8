#!/bin/sh
# The unit tests, cross-built for arm64 (make arm64), run under QEMU's
# user-mode emulator of a Cortex-A57: the code the aarch64 boards run,
# where char is unsigned and the SHA-256 goes through the Armv8 SHA2
# instructions (sha256_test must say so). health_test is left out: under
# qemu-user, a program that posix_spawn starts cannot exec (status 127);
# the aarch64 boot test runs health checks on a real guest instead. For
# the same reason SHIM_DIR is unset: io_test would re-exec itself under an
# x86 shim, so its syncfs case runs only in the native run (qemu_unit.sh).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
. "$TESTS/e2e/qemu_unit.sh"
need qemu-aarch64
BIN=$TOP/build/arm64/tests
[ -x "$BIN/sha256_test" ] || die "$BIN: no arm64 unit tests (make arm64)"
ws_init

qemu_unit qemu-aarch64 cortex-a57 "$BIN"
n=$QEMU_UNIT_N
qemu-aarch64 -cpu cortex-a57 "$BIN/sha256_test" | grep -qx \
    'engine: armv8-sha2' || die "sha256_test: not on the Armv8 SHA2 path"
echo "$n arm64 unit tests passed"
exit 0

#!/bin/sh
# The unit tests, cross-built for arm64 (make arm64), run under QEMU's
# user-mode emulator of a Cortex-A57: the code the aarch64 boards run,
# where char is unsigned and the SHA-256 goes through the Armv8 SHA2
# instructions (sha256_test must say so). health_test is left out: under
# qemu-user, a program that posix_spawn starts cannot exec (status 127);
# the aarch64 boot test runs health checks on a real guest instead. For
# the same reason SHIM_DIR is unset: io_test would re-exec itself under an
# x86 shim, so its syncfs case runs only in the native run.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need qemu-aarch64
BIN=$TOP/build/arm64/tests
[ -x "$BIN/sha256_test" ] || die "$BIN: no arm64 unit tests (make arm64)"
ws_init

n=0
for t in "$BIN"/*_test; do
	case $t in
	*/health_test) continue ;;
	esac
	rc=0
	env -u SHIM_DIR qemu-aarch64 -cpu cortex-a57 "$t" >"$WS/out" 2>&1 \
	    </dev/null || rc=$?
	case $rc in
	0|77) ;;
	*) cat "$WS/out" >&2; die "$t under qemu-aarch64: exit $rc" ;;
	esac
	n=$((n + 1))
done
[ "$n" -ge 10 ] || die "only $n arm64 unit tests ran"
qemu-aarch64 -cpu cortex-a57 "$BIN/sha256_test" | grep -qx \
    'engine: armv8-sha2' || die "sha256_test: not on the Armv8 SHA2 path"
echo "$n arm64 unit tests passed"
exit 0

#!/bin/sh
# The unit tests, cross-built for armhf (make armhf), run under QEMU's
# user-mode emulator of a Cortex-A7, the core of most 32-bit boards: the
# code they run, with a 32-bit size_t and long, an unsigned char, and a
# 64-bit off_t and time_t from the build (largeslot_test writes a 16 GiB
# slot past 4 GiB). 32-bit Arm has no SHA-256 path of upkit's own, so
# sha256_test must skip and digests go through mbedtls. health_test is
# left out and SHIM_DIR unset for the reasons qemu_unit.sh gives.
# Then a few integration tests run the armhf upkit itself, through a
# wrapper that starts it under qemu-arm (binfmt_misc is not needed).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
. "$TESTS/e2e/qemu_unit.sh"
need qemu-arm readelf
BUILD=$TOP/build/armhf
BIN=$BUILD/tests
[ -x "$BIN/sha256_test" ] || die "$BIN: no armhf unit tests (make armhf)"
ws_init

# The binaries are what a 32-bit hard-float board runs.
readelf -h "$BUILD/upkit" >"$WS/elf"
grep -q 'Class:[[:space:]]*ELF32' "$WS/elf" &&
    grep -q 'Machine:[[:space:]]*ARM$' "$WS/elf" &&
    grep -q 'hard-float ABI' "$WS/elf" ||
    { cat "$WS/elf" >&2; die "$BUILD/upkit: not an armhf binary"; }
# With a 64-bit time_t and off_t (the Makefile's flags for 32-bit
# targets): glibc's 64-bit entry points, and none of the 32-bit ones.
readelf --dyn-syms -W "$BUILD/upkit" |
    awk '{ sub(/@.*/, "", $8); print $8 }' | sort -u >"$WS/syms"
for s in __time64 __clock_gettime64 pwrite64 pread64 open64; do
	grep -qx "$s" "$WS/syms" || die "$BUILD/upkit: no $s"
done
for s in time clock_gettime gmtime_r pwrite pread open lseek fstat \
    ftruncate; do
	! grep -qx "$s" "$WS/syms" || die "$BUILD/upkit: calls 32-bit $s"
done

qemu_unit qemu-arm cortex-a7 "$BIN"
n=$QEMU_UNIT_N
[ "$QEMU_UNIT_SKIPPED" = "sha256_test " ] ||
    die "skipped under qemu-arm: ${QEMU_UNIT_SKIPPED:-none}; only" \
    "sha256_test may skip"
qemu-arm -cpu cortex-a7 "$BIN/sha256_test" 2>&1 | grep -q 'no SHA instr' ||
    die "sha256_test: expected to skip on 32-bit Arm"

# upkit itself, the armhf binary at every step: keys and bundles made and
# inspected, an install into file-backed slots, a CRL, tampered chunks
# refused, and installs killed and resumed from their checkpoints
# (resume_test's preload shim lands in qemu-arm, which makes the guest's
# renames; the kill is the same). About 45 s on an idle machine.
printf '#!/bin/sh\nexec qemu-arm -cpu cortex-a7 %s "$@"\n' \
    "$BUILD/upkit" >"$WS/upkit"
chmod +x "$WS/upkit"
m=0
for t in bundle_test install_test crl_test tampered_chunk_test \
    resume_test; do
	UPKIT=$WS/upkit TMPDIR=$WS sh "$TESTS/integration/$t.sh" \
	    >"$WS/out" 2>&1 </dev/null ||
	    { tail -n 30 "$WS/out" >&2; die "$t with the armhf upkit"; }
	m=$((m + 1))
done
echo "$n armhf unit tests and $m integration tests passed"
exit 0

#!/bin/sh
# The order of an install, checked at the moment each step matters, with
# the preload shim (tests/shim/badwrite.c):
# 1. the target is marked bad before its first byte is written: the
#    process is killed at the first write to slot B, and the env as
#    fw_printenv reads it already has B out of BOOT_ORDER with
#    BOOT_B_LEFT=0 and the booted A first;
# 2. a raw slot is fsync'd before the env arms it: fsync on slot B fails,
#    and the env stays as marked bad (exit 7);
# 3. the same for a files slot: fsync of its folder written aside fails.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage realpath
SHIM=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
[ -f "$SHIM" ] || die "$SHIM not built (make check builds it)"
ws_init
WS=$(realpath "$WS")

# shimmed NAME VAR=VALUE...: update with the shim and the given settings.
shimmed()
{
	_name=$1
	shift
	# A sanitized upkit wants its runtime first; the shim does not mind.
	_asan=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0
	set +e
	env ASAN_OPTIONS="$_asan" LD_PRELOAD="$SHIM" "$@" \
	    "$UPKIT" update -c "$CFG" --from "$WS/b.upk" --no-reboot \
	    >"$WS/$_name.out" 2>"$WS/$_name.err"
	RC=$?
	set -e
}

# marked_bad NAME: B out of BOOT_ORDER, no attempts left, A first and
# untouched.
marked_bad()
{
	[ "$(env_get BOOT_ORDER)" = A ] ||
	    die "$1: BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'A'"
	[ "$(env_get BOOT_B_LEFT)" = 0 ] ||
	    die "$1: BOOT_B_LEFT is '$(env_get BOOT_B_LEFT)', expected 0"
	[ "$(env_get BOOT_A_LEFT)" = 3 ] ||
	    die "$1: BOOT_A_LEFT is '$(env_get BOOT_A_LEFT)', expected 3"
}

mk_keys "$WS/keys"
# Incompressible and without a zero chunk: every chunk is a real write.
gen_bytes $((2 * 1048576)) rootfs >"$WS/rootfs.img"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --image rootfs="$WS/rootfs.img"

# 1. Killed at the first write to slot B.
SLOT_CLASSES=rootfs mk_device "$WS/kill" "$WS/keys/root.pem"
sum_a=$(sha256sum <"$ROOT_A")
[ "$(env_get BOOT_ORDER)" = "A B" ] || die "kill: setup BOOT_ORDER"
shimmed kill BADWRITE_PATH="$ROOT_B" BADWRITE_KILL=1
[ "$RC" -eq 137 ] || die "kill: exit $RC, expected 137 (SIGKILL at the" \
    "first write of $ROOT_B): $(cat "$WS/kill.err")"
marked_bad kill
cmp -s "$ROOT_B" /dev/zero -n "$(filesize "$ROOT_B")" ||
    die "kill: $ROOT_B written before the kill"
[ "$(sha256sum <"$ROOT_A")" = "$sum_a" ] || die "kill: booted slot A written"

# 2. fsync of the raw slot B fails: written, never armed.
SLOT_CLASSES=rootfs mk_device "$WS/raw" "$WS/keys/root.pem"
shimmed rawsync FAILSYNC_PATH="$ROOT_B"
expect_rc rawsync 7
expect_msg rawsync "fsync.*$ROOT_B"
marked_bad rawsync
grep -q '"result":[[:space:]]*"failed"' "$DATA/state.json" ||
    die "rawsync: state.json $(cat "$DATA/state.json")"
# The same device with a working fsync installs: the failure above was
# the fsync's alone.
run rawgood update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc rawgood 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "rawgood: B not armed"

# 3. fsync of the files slot's new folder (and so of its files) fails.
mkdir -p "$WS/bootdir"
gen_bytes 300000 kernel >"$WS/bootdir/kernel"
echo "console=ttyS0 upkit.slot=B" >"$WS/bootdir/cmdline"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --files boot="$WS/bootdir"
SLOT_CLASSES=boot mk_device "$WS/files" "$WS/keys/root.pem"
shimmed filesync FAILSYNC_PATH="$WS/files/boot/.B.upkit-new"
expect_rc filesync 7
expect_msg filesync 'fsync.*upkit-new'
marked_bad filesync
[ -z "$(ls -A "$BOOT_B")" ] ||
    die "filesync: $BOOT_B swapped in: $(ls "$BOOT_B")"
run filesgood update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc filesgood 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "filesgood: B not armed"
files_equal "$WS/bootdir/kernel" "$BOOT_B/kernel"
exit 0

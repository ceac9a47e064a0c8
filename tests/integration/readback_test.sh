#!/bin/sh
# Storage that acknowledges writes and keeps wrong bytes (a preload shim
# flips one bit per write from 3 MiB on): the read-back against the signed
# XXH3 must catch it, and the slot must not be armed. Without the
# read-back this install would "succeed" and arm a corrupt slot.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage
SHIM=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
[ -f "$SHIM" ] || die "$SHIM not built (make check builds it)"
ws_init

mk_keys "$WS/keys"
SLOT_SIZE=8M SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"
gen_bytes $((6 * 1048576)) rootfs >"$WS/rootfs.img"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --level 1 \
    --image rootfs="$WS/rootfs.img"
sum_a=$(sha256sum <"$ROOT_A")

# A sanitized upkit wants its runtime first; the shim does not mind.
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
LD_PRELOAD=$SHIM BADWRITE_PATH=$ROOT_B BADWRITE_OFFSET=$((3 * 1048576)) \
    "$UPKIT" update -c "$CFG" --from "$WS/b.upk" --no-reboot \
    >"$WS/update.out" 2>"$WS/update.err"
RC=$?
set -e
expect_rc update 7
expect_msg update 'read.?back.*chunk 3|chunk 3.*read.?back'
[ "$(env_get BOOT_ORDER)" = A ] ||
    die "corrupt slot B armed: BOOT_ORDER '$(env_get BOOT_ORDER)'"
[ "$(env_get BOOT_B_LEFT)" = 0 ] || die "BOOT_B_LEFT '$(env_get BOOT_B_LEFT)'"
[ "$(sha256sum <"$ROOT_A")" = "$sum_a" ] || die "booted slot A written"
grep -q '"result":[[:space:]]*"failed"' "$DATA/state.json" ||
    die "state.json does not record the failure: $(cat "$DATA/state.json")"

# The same install on honest storage completes and arms B.
run update2 update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc update2 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "BOOT_ORDER '$(env_get BOOT_ORDER)'"
exit 0

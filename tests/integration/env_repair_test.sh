#!/bin/sh
# A blank or corrupt U-Boot env never loses the committed or armed slot:
# upkit rebuilds the selection from state.json, says so, and upkit health
# (which runs at every boot) stores the repaired env. Starting from the
# default ("A B") instead would silently boot the old slot.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --linuxkit "$WS/img/lk"

corrupt_env()
{
	gen_bytes 16384 "garbage $1" >"$ENV"
	[ -z "$(env_get BOOT_ORDER)" ] || die "env still readable"
}

# 1. B armed for its trial, A still running: the env is lost.
run update update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc update 0
corrupt_env 1
run status status -c "$CFG"
expect_rc status 0
grep -q 'rebuilt from state.json: BOOT_ORDER="B A"' "$WS/status.err" ||
    die "no rebuild message: $(cat "$WS/status.err")"
[ -z "$(env_get BOOT_ORDER)" ] || die "status wrote the env"
run health1 health -c "$CFG" --no-reboot
expect_rc health1 0
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "armed slot lost: BOOT_ORDER '$(env_get BOOT_ORDER)'"
[ "$(env_get BOOT_B_LEFT)" = 3 ] || die "BOOT_B_LEFT '$(env_get BOOT_B_LEFT)'"

# 2. B booted and committed, then the env is lost again.
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
run health2 health -c "$CFG" --no-reboot
expect_rc health2 0
grep -q '"status":[[:space:]]*"good"' "$DATA/state.json" ||
    die "B not committed"
corrupt_env 2
run health3 health -c "$CFG" --no-reboot
expect_rc health3 0
grep -q 'rebuilt from state.json' "$WS/health3.err" ||
    die "no rebuild message: $(cat "$WS/health3.err")"
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "committed slot lost: BOOT_ORDER '$(env_get BOOT_ORDER)'"
[ "$(env_get BOOT_B_LEFT)" = 3 ] && [ "$(env_get BOOT_A_LEFT)" = 3 ] ||
    die "counters B=$(env_get BOOT_B_LEFT) A=$(env_get BOOT_A_LEFT)"
exit 0

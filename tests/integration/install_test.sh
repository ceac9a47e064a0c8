#!/bin/sh
# Happy path on file-backed slots: a LinuxKit kernel+initrd+squashfs bundle
# goes to the B slots, the env is armed for a trial boot of B (checked
# with fw_printenv, not upkit), variables set beforehand survive, and the
# version shows in state.json and `upkit status`.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv fw_setenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
# upkit must read and keep what other tools stored in the env.
fw_setenv -c "$ENVCFG" bootdelay 0
fw_setenv -c "$ENVCFG" BOOT_A_LEFT 2
sum_a=$(sha256sum <"$ROOT_A")

run status0 status -c "$CFG"
expect_rc status0 0
grep -Eqi "booted[^a-z]*A" "$WS/status0.out" ||
    die "status does not name booted slot A"
grep -Eq 'BOOT_A_LEFT[^0-9]*2' "$WS/status0.out" ||
    die "status does not show BOOT_A_LEFT=2 as set by fw_setenv"

mk_bundle "$WS/keys" "$WS/b.upk" 1.2.3 --linuxkit "$WS/img/lk"
run update update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc update 0

prefix_equal "$WS/img/lk-squashfs.img" "$ROOT_B"
[ "$(sha256sum <"$ROOT_A")" = "$sum_a" ] || die "booted slot $ROOT_A written"
files_equal "$WS/img/lk-kernel" "$BOOT_B/kernel"
files_equal "$WS/img/lk-initrd.img" "$BOOT_B/initrd.img"
files_equal "$WS/img/lk-cmdline" "$BOOT_B/cmdline"
[ "$(cat "$BOOT_A/kernel")" = old-kernel ] || die "$BOOT_A/kernel changed"
# No aside folder or temp file may stay next to the boot folders.
[ "$(ls "$WS/dev/boot")" = "$(printf 'A\nB')" ] ||
    die "leftovers in $WS/dev/boot: $(ls "$WS/dev/boot")"

[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'B A'"
[ "$(env_get BOOT_B_LEFT)" = 3 ] ||
    die "BOOT_B_LEFT is '$(env_get BOOT_B_LEFT)', expected 3"
[ "$(env_get BOOT_A_LEFT)" = 2 ] ||
    die "BOOT_A_LEFT is '$(env_get BOOT_A_LEFT)', expected 2 (untouched)"
[ "$(env_get bootdelay)" = 0 ] || die "bootdelay lost from the env"
[ "$(env_get board)" = "$COMPATIBLE" ] || die "board lost from the env"

[ -f "$DATA/state.json" ] || die "no $DATA/state.json"
grep -q '"1\.2\.3"' "$DATA/state.json" || die "state.json lacks 1.2.3"
run status1 status -c "$CFG" --json
expect_rc status1 0
grep -q '"1\.2\.3"' "$WS/status1.out" || die "status --json lacks 1.2.3"
# The config may also come from the environment.
UPKIT_CONFIG=$CFG
export UPKIT_CONFIG
run status2 status
unset UPKIT_CONFIG
expect_rc status2 0
grep -q '1\.2\.3' "$WS/status2.out" || die "status (UPKIT_CONFIG) lacks 1.2.3"
exit 0

#!/bin/sh
# The rootfs slots as loop devices (block devices, O_DIRECT, BLKGETSIZE64
# instead of a file size): install into B, then compare through the device
# and through its backing file. The trap detaches both devices.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need losetup openssl mksquashfs fw_printenv mkenvimage busybox
ws_init
losetup -f >/dev/null 2>&1 || skip "no free loop device"

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
size=$(filesize "$ROOT_A")
gen_bytes "$size" slot-a >"$ROOT_A"
loop_a=$(loop_attach "$ROOT_A")
loop_b=$(loop_attach "$ROOT_B")
sed -e "s|^device = $ROOT_A\$|device = $loop_a|" \
    -e "s|^device = $ROOT_B\$|device = $loop_b|" "$CFG" >"$CFG.loop"
grep -q "^device = $loop_b\$" "$CFG.loop" || die "$CFG.loop: no $loop_b"
sum_a=$(sha256sum <"$loop_a")

mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --linuxkit "$WS/img/lk"
run update update -c "$CFG.loop" --from "$WS/b.upk" --no-reboot
expect_rc update 0
prefix_equal "$WS/img/lk-squashfs.img" "$loop_b"
prefix_equal "$WS/img/lk-squashfs.img" "$ROOT_B"
[ "$(sha256sum <"$loop_a")" = "$sum_a" ] || die "booted slot $loop_a written"
files_equal "$WS/img/lk-kernel" "$BOOT_B/kernel"
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'B A'"

# A slot smaller than the image is refused before anything is written.
truncate -s 64K "$WS/small.img"
loop_s=$(loop_attach "$WS/small.img")
sed "s|^device = $loop_b\$|device = $loop_s|" "$CFG.loop" >"$CFG.small"
sum_s=$(sha256sum <"$loop_s")
run small update -c "$CFG.small" --from "$WS/b.upk" --no-reboot
expect_rc small 7
expect_msg small "$loop_s|size|space|small"
[ "$(sha256sum <"$loop_s")" = "$sum_s" ] || die "$loop_s written"
exit 0

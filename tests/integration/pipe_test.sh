#!/bin/sh
# `upkit update --from -` installs from a pipe without storing the bundle
# anywhere. As root, TMPDIR and the data folder are small tmpfs mounts
# (256 KiB, a tenth of the bundle), so a temp copy fails the update; in
# any case no file of half the bundle's size may be left there.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
# A redundant env too: two copies, libubootenv alternates between them.
mk_device "$WS/dev" "$WS/keys/root.pem" redundant
mkdir "$WS/tmp"
if [ "$(id -u)" -eq 0 ] &&
    mount -t tmpfs -o size=256k upkit-test "$WS/tmp" 2>/dev/null; then
	ws_mount "$WS/tmp"
	mount -t tmpfs -o size=256k upkit-test "$DATA" ||
	    die "mount tmpfs on $DATA"
	ws_mount "$DATA"
	# Intended here: upkit refuses a tmpfs data directory otherwise.
	sed -i 's/^\[system\]$/[system]\ndata-directory-volatile = yes/' \
	    "$CFG"
fi
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --linuxkit "$WS/img/lk"
size=$(filesize "$WS/b.upk")
[ "$size" -gt $((1024 * 1024)) ] || die "b.upk: only $size bytes"

TMPDIR=$WS/tmp
export TMPDIR
run_pipe update "$WS/b.upk" update -c "$CFG" --from - --no-reboot
expect_rc update 0
prefix_equal "$WS/img/lk-squashfs.img" "$ROOT_B"
files_equal "$WS/img/lk-kernel" "$BOOT_B/kernel"
files_equal "$WS/img/lk-initrd.img" "$BOOT_B/initrd.img"
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'B A'"
cmp -s "$ENV" "$ENV.redund" &&
    die "$ENV and $ENV.redund equal after two stores: no alternation"
big=$(find "$WS/tmp" "$DATA" -type f -size +$((size / 2))c)
[ -z "$big" ] || die "bundle-sized files left: $big"
[ -z "$(ls -A "$WS/tmp")" ] || die "$WS/tmp not empty: $(ls -A "$WS/tmp")"
exit 0

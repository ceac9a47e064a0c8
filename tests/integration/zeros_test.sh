#!/bin/sh
# Runs of zeros in an image (the free space of a file system image) are
# zeroed by the device, not sent: over a slot full of old data, through a
# loop device (WRITE ZEROES) and on an image file, the slot ends up equal
# to the image, the zeroed runs are unwritten extents of the file behind
# the slot (ext4 here), and the slot file keeps its blocks (no holes). On
# a full file system, where zeroing in place needs room for an extent
# split, the zeros are written over the slot's own blocks instead.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need losetup openssl fw_printenv mkenvimage filefrag mke2fs mount
ws_init
losetup -f >/dev/null 2>&1 || skip "no free loop device"

mk_keys "$WS/keys"
SLOT_SIZE=8M SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"

# 1 MiB of data, 3 MiB of zeros, 1 MiB of data, 1 MiB of zeros, then a
# tail of zeros shorter than a page (written, not zeroed).
img=$WS/image.raw
{
	gen_bytes 1048576 one
	head -c 3145728 /dev/zero
	gen_bytes 1048576 two
	head -c 1052672 /dev/zero
	head -c 1000 /dev/zero
} >"$img"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --image rootfs="$img"

# unwritten FILE MIB: whether the extent of FILE at MIB MiB is unwritten.
unwritten()
{
	_blk=$(($2 * 256))	# 4 KiB blocks
	filefrag -v -b4096 "$1" | awk -v b="$_blk" '
	    # "N:  FIRST..  LAST:  PHYS..  PHYS:  LENGTH:  FLAGS"
	    $1 ~ /^[0-9]+:$/ { lo = $2; hi = $3; sub(/\.\./, "", lo)
		sub(/:/, "", hi)
		if (b >= lo + 0 && b <= hi + 0 && $0 ~ /unwritten/) f = 1 }
	    END { exit !f }'
}

# check SLOT FILE: SLOT holds the image, FILE (the slot's storage) has
# the zero runs as unwritten extents and the data runs written.
check()
{
	prefix_equal "$img" "$1"
	for _m in 1 2 3 5; do
		unwritten "$2" "$_m" || die "$2: MiB $_m was written, not zeroed"
	done
	for _m in 0 4; do
		! unwritten "$2" "$_m" || die "$2: MiB $_m (data) is unwritten"
	done
}

fresh_slot()
{
	gen_bytes "$(filesize "$ROOT_B")" old-b >"$ROOT_B.new"
	mv "$ROOT_B.new" "$ROOT_B"
	sync "$ROOT_B"
	BLOCKS=$(stat -c %b "$ROOT_B")
}

# An image file as the slot.
fresh_slot
run file update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc file 0
check "$ROOT_B" "$ROOT_B"
[ "$(stat -c %b "$ROOT_B")" -ge "$BLOCKS" ] || die "$ROOT_B has holes now"

# A loop device as the slot: the loop driver turns WRITE ZEROES into the
# same on its backing file.
fresh_slot
loop_b=$(loop_attach "$ROOT_B")
sed "s|^device = $ROOT_B\$|device = $loop_b|" "$CFG" >"$CFG.loop"
grep -q "^device = $loop_b\$" "$CFG.loop" || die "$CFG.loop: no $loop_b"
run loop update -c "$CFG.loop" --from "$WS/b.upk" --no-reboot \
    --allow-downgrade
expect_rc loop 0
check "$loop_b" "$ROOT_B"
[ "$(stat -c %b "$ROOT_B")" -ge "$BLOCKS" ] || die "$ROOT_B has holes now"

# An image-file slot on a full ext4: the slot's blocks are all allocated,
# not one more is free. Zeroing in place would split the file's one
# extent into more than the inode holds, which needs a block.
truncate -s 32M "$WS/full.fs"
mke2fs -q -F -t ext4 -b 4096 "$WS/full.fs" || die "mke2fs $WS/full.fs"
mkdir "$WS/full"
loop_f=$(loop_attach "$WS/full.fs")
mount "$loop_f" "$WS/full" || die "mount $loop_f"
ws_mount "$WS/full"
FULL_B=$WS/full/rootfs-b.img
gen_bytes "$(filesize "$ROOT_B")" old-b >"$FULL_B"
sed "s|^device = $ROOT_B\$|device = $FULL_B|" "$CFG" >"$CFG.full"
dd if=/dev/zero of="$WS/full/filler" bs=1M status=none 2>/dev/null || :
dd if=/dev/zero of="$WS/full/filler2" bs=4k status=none 2>/dev/null || :
sync -f "$WS/full/filler2"
[ "$(df -k --output=avail "$WS/full" | tail -n 1)" -eq 0 ] ||
    die "$WS/full is not full"
run full update -c "$CFG.full" --from "$WS/b.upk" --no-reboot \
    --allow-downgrade
expect_rc full 0
prefix_equal "$img" "$FULL_B"
exit 0

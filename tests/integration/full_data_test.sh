#!/bin/sh
# A full data directory (a small ext4 file system on a loop device, filled
# up) fails the update at its first change, the state save before the
# target is marked bad: exit 1 (EXIT_FAIL, state.json cannot be written),
# one error line naming state.json, and nothing changed: slots, env and
# state.json as they were. Not the boot env's exit 8, and no second line
# from a "failed" record that cannot be saved either.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need openssl mksquashfs fw_printenv mkenvimage busybox mkfs.ext4 losetup
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/v1.upk" 1.0.0 --linuxkit "$WS/img/lk"
mk_bundle "$WS/keys" "$WS/v2.upk" 2.0.0 --linuxkit "$WS/img/lk"

# The data directory: 4 MiB of ext4, no blocks reserved for root.
truncate -s 4M "$WS/data.img"
mkfs.ext4 -q -F -m 0 "$WS/data.img" || die "mkfs.ext4 $WS/data.img"
loop=$(loop_attach "$WS/data.img")
mount "$loop" "$DATA" || die "mount $loop on $DATA"
ws_mount "$DATA"

avail()
{
	df --output=avail -k "$DATA" | tail -n 1 | tr -d ' '
}

# fill: takes every free block of the data directory. ext4 may give
# back a block it had reserved for the fill file's own metadata once
# that file is synced (more likely with more files in the folder, such
# as the outbox); a second file takes it.
fill()
{
	for _i in 1 2 3; do
		dd if=/dev/zero of="$DATA/fill.$1.$_i" bs=1024 2>/dev/null ||
		    true
		sync
		[ "$(avail)" -ne 0 ] || return 0
	done
	die "$DATA not full: $(df -k "$DATA" | tail -n 1)"
}

# refused NAME: the update fails at its first state save, with exit 1,
# exactly one error line (steps are logged on stderr too) that names
# state.json, nothing changed.
refused()
{
	snapshot "$1"
	run "$1" update -c "$CFG" --from "$WS/v2.upk" --no-reboot
	expect_rc "$1" 1
	n=$(grep -c '^upkit' "$WS/$1.err" || true)
	[ "$n" -eq 1 ] || {
		cat "$WS/$1.err" >&2
		die "$1: $n error lines on stderr, expected 1"
	}
	expect_msg "$1" "state\.json.*No space left on device"
	same_as "$1" "update into a full data directory"
	[ ! -e "$DATA/state.json.tmp" ] || die "$1: state.json.tmp left behind"
}

# A device that never installed: no state.json yet.
fill first
refused first
[ ! -e "$DATA/state.json" ] || die "first: state.json created"

# A device with a history: v1 in B, committed, back to booting A, then
# the disk fills.
rm -f "$DATA"/fill.*
run v1 update -c "$CFG" --from "$WS/v1.upk" --no-reboot
expect_rc v1 0
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
run commit commit -c "$CFG"
expect_rc commit 0
fill second
refused second
grep -q '"result":[[:space:]]*"committed"' "$DATA/state.json" ||
    die "second: state.json changed: $(cat "$DATA/state.json")"

# With room again the same update goes through.
rm -f "$DATA"/fill.*
run ok update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc ok 0
[ "$(env_get BOOT_ORDER)" = "A B" ] ||
    die "ok: BOOT_ORDER '$(env_get BOOT_ORDER)', expected 'A B'"
exit 0

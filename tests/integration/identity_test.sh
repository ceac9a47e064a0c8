#!/bin/sh
# No configuration, however written, makes upkit write the booted slot or
# anything else it owns as if it were the target (docs/configuration.md,
# "Slot storage"; docs/update.md). Storage is compared by identity, not by
# path spelling. Config-time refusals exit 3, install-time ones 7; in
# every case both slots, the env (as fw_printenv reads it) and state.json
# stay as they were.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need losetup openssl mksquashfs fw_printenv mkenvimage busybox mkfs.ext4 \
    mount unshare mkfifo timeout
ws_init
losetup -f >/dev/null 2>&1 || skip "no free loop device"

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/v1.upk" 1.0.0 --linuxkit "$WS/img/lk"
# The booted slot holds something a write would destroy.
gen_bytes "$(filesize "$ROOT_A")" slot-a >"$ROOT_A"
snapshot base

# with NAME SED-EXPR...: $CFG.NAME is $CFG edited by the expressions.
with()
{
	_n=$1
	shift
	for _x in "$@"; do
		set -- "$@" -e "$_x"
		shift
	done
	sed "$@" "$CFG" >"$CFG.$_n"
	cmp -s "$CFG" "$CFG.$_n" && die "$CFG.$_n: the edit changed nothing"
	return 0
}

# refuse NAME CODE REGEX [CONFIG]: an update with $CFG.NAME (or CONFIG)
# exits CODE, its message matches REGEX, and nothing changed.
refuse()
{
	run "$1" update -c "${4:-$CFG.$1}" --from "$WS/v1.upk" --no-reboot
	expect_rc "$1" "$2"
	expect_msg "$1" "$3"
	same_as base "$1"
}

rawb() { echo "s|^device = $ROOT_B\$|device = $1|"; }
# What the messages say (last line on stderr).
R1='\[slot.rootfs.1\] device:' B1='\[slot.boot.1\] device:'
OF_R0='the device of \[slot.rootfs.0\]' OF_B0='the device of \[slot.boot.0\]'
filesb() { echo "s|^device = $BOOT_B\$|device = $1|"; }

# 1. Slot B is slot A's image under another spelling.
with dot "$(rawb "$DEV/./rootfs-a.img")"
refuse dot 3 "$R1 .* is also $OF_R0"
with slashes "$(rawb "$DEV//rootfs-a.img")"
refuse slashes 3 "$R1 .* is also $OF_R0"
ln -s rootfs-a.img "$DEV/by-partlabel-b"
with symlink "$(rawb "$DEV/by-partlabel-b")"
refuse symlink 3 "$R1 $DEV/by-partlabel-b is also $OF_R0"
with relative "$(rawb ./rootfs-a.img)"
cd "$DEV"
refuse relative 3 "$R1 \./rootfs-a.img is also $OF_R0"
cd /

# 2. A trailing / on a files slot naming A's folder.
with slash "$(filesb "$BOOT_A/")"
refuse slash 3 "$B1 $BOOT_A/ is also $OF_B0"

# 3. A loop device backed by slot A's image.
loop_a=$(loop_attach "$ROOT_A")
with loop "$(rawb "$loop_a")"
refuse loop 3 "$R1 $loop_a is also $OF_R0"

# 4. A files slot folder that holds what upkit owns. The classic:
# device = /boot next to /boot/A.
with boot "$(filesb "$DEV/boot")"
refuse boot 3 "$B1 $DEV/boot holds $OF_B0"
mkdir -p "$DEV/dd/data"
with holds-data "$(filesb "$DEV/dd")" \
    "s|^data-directory = .*|data-directory = $DEV/dd/data|"
refuse holds-data 3 "holds \[system\] data-directory"
with is-data "$(filesb "$DATA")"
refuse is-data 3 "$B1 $DATA is also \[system\] data-directory"
with in-data "$(filesb "$DATA/boot")"
refuse in-data 3 "$B1 $DATA/boot lies inside \[system\] data-directory"
mkdir "$DEV/e"
cp "$ENV" "$DEV/e/uboot.env"
echo "$DEV/e/uboot.env 0x0 0x4000" >"$DEV/fw_env.e.config"
with env "$(filesb "$DEV/e")" \
    "s|^config = .*|config = $DEV/fw_env.e.config|"
refuse env 3 \
    "$B1 $DEV/e holds an env copy in \[uboot\] config \($DEV/e/uboot.env\)"
files_equal "$ENV" "$DEV/e/uboot.env"
with raw-env "$(rawb "$ENV")"
refuse raw-env 3 "$R1 $ENV is also an env copy"
mkdir "$DEV/k"
cp "$WS/keys/root.pem" "$DEV/k/root.pem"
with keyring "$(filesb "$DEV/k")" "s|^path = .*|path = $DEV/k/root.pem|"
refuse keyring 3 "holds \[keyring\] path \($DEV/k/root.pem\)"
# The device's TLS identity for downloads: swapping the folder away
# would lose it.
mkdir "$DEV/t"
echo key >"$DEV/t/device.key"
with tlskey "$(filesb "$DEV/t")" "s|^\[keyring\]$|[server]\nkey = $DEV/t/device.key\n\n[keyring]|"
refuse tlskey 3 "holds \[server\] key \($DEV/t/device.key\)"
mkdir "$DEV/c"
with conf "$(filesb "$DEV/c")"
mv "$CFG.conf" "$DEV/c/upkit.conf"
refuse conf 3 "holds the config file \($DEV/c/upkit.conf\)" "$DEV/c/upkit.conf"

# 5. A files slot inside another one, and a raw slot inside one.
with nested "$(filesb "$BOOT_A/B")"
refuse nested 3 "$B1 $BOOT_A/B lies inside $OF_B0"
: >"$BOOT_A/rootfs-b.img"
snapshot base
with raw-in-files "$(rawb "$BOOT_A/rootfs-b.img")"
refuse raw-in-files 3 \
    "\[slot.boot.0\] device: $BOOT_A holds the device of \[slot.rootfs.1\]"
rm "$BOOT_A/rootfs-b.img"
snapshot base

# 6. Install time: the config named other storage when it was loaded. B
# is a symlink that moves to A's image once upkit holds its config (it
# has opened the fifo), before the bundle arrives.
ln -s rootfs-b.img "$DEV/slot-b"
with late "$(rawb "$DEV/slot-b")"
mkfifo "$WS/fifo"
"$UPKIT" update -c "$CFG.late" --from "$WS/fifo" --no-reboot \
    >"$WS/late.out" 2>"$WS/late.err" &
pid=$!
ws_pid "$pid"
# timeout only bounds a broken run; the open of the fifo synchronises.
timeout 120 sh -c 'exec 3>"$1"; ln -sfn rootfs-a.img "$2"; cat "$3" >&3' \
    sh "$WS/fifo" "$DEV/slot-b" "$WS/v1.upk" 2>/dev/null || true
set +e
wait "$pid"
RC=$?
set -e
expect_rc late 7
expect_msg late "slot B: $CFG.late: $R1 $DEV/slot-b is also $OF_R0"
same_as base late

# 7. Mounted block devices are never written, whatever the config says.
mkdir "$WS/mnt" "$WS/mnt2"
truncate -s "$SLOT_SIZE" "$WS/fs.img" "$WS/fs2.img"
mkfs.ext4 -q -F "$WS/fs.img" >/dev/null 2>&1 || die "mkfs.ext4 fs.img"
mkfs.ext4 -q -F "$WS/fs2.img" >/dev/null 2>&1 || die "mkfs.ext4 fs2.img"
loop_f=$(loop_attach "$WS/fs.img")
mount "$loop_f" "$WS/mnt" || die "mount $loop_f"
ws_mount "$WS/mnt"
echo keep >"$WS/mnt/file"
# Read-only from here: ext4's own writeback and journal commits would
# otherwise change fs.img between the two checksums, upkit or not.
mount -o remount,ro "$WS/mnt" || die "remount $WS/mnt read-only"
sum_f=$(sha256sum <"$WS/fs.img")
# A mounted loop device (O_EXCL and mountinfo both refuse it).
with mounted "$(rawb "$loop_f")"
refuse mounted 7 "slot rootfs.1 \(B\): .*$loop_f .*(in use|mounted)"
# The file behind a mounted loop device: only mountinfo knows.
with backing "$(rawb "$WS/fs.img")"
refuse backing 7 "slot rootfs.1 \(B\): refusing to write it: $WS/fs.img is \
mounted \(device [0-9]+:[0-9]+ on $WS/mnt\)"
[ "$(sha256sum <"$WS/fs.img")" = "$sum_f" ] || die "$WS/fs.img written"
# Mounted where upkit cannot see it (another mount namespace): only the
# kernel's claim, O_EXCL, knows.
loop_g=$(loop_attach "$WS/fs2.img")
mkfifo "$WS/ready" "$WS/done"
unshare -m --propagation private sh -c \
    'mount "$1" "$2" && echo ready >"$3" && read x <"$4"' \
    sh "$loop_g" "$WS/mnt2" "$WS/ready" "$WS/done" &
ns=$!
ws_pid "$ns"
read -r _ <"$WS/ready"
grep -q " $WS/mnt2 " /proc/self/mountinfo && die "$WS/mnt2 visible here"
with hidden "$(rawb "$loop_g")"
refuse hidden 7 \
    "slot rootfs.1 \(B\): $loop_g is in use \(mounted, or held by another"
echo done >"$WS/done"
wait "$ns"
exit 0

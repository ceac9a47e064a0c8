#!/bin/sh
# bootloader = none (docs/reimage.md): `upkit update` writes the one disk
# slot in place and selects nothing; nothing of upkit's persists.
#  1. A disk (a loop device over old data) is reimaged: the JSON result,
#     the bytes, and no data directory, state.json or lock made, though
#     the data directory named is on tmpfs (which A/B configs refuse).
#  2. Config: a class with a B slot is refused (exit 3); status, health,
#     commit, rollback, daemon and daemon --once refuse the config
#     (exit 3) and change nothing.
#  3. Refused before anything is written (no "writing" step, the disk
#     unchanged): another compatible (6), a disk smaller than the image
#     (7), the disk the installer's own root is on (7: a chroot into its
#     partition), a disk another reimage is writing (7: the O_EXCL claim
#     is the lock; the first one then finishes).
#  4. A tampered chunk stops the write (5) after the "writing" step: the
#     disk may hold part of the image, as documented.
# `timeout` only bounds a regression; nothing waits for time to pass.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need losetup openssl sfdisk mkfs.ext4 mount mkfifo timeout partx ldd \
    chroot
ws_init
losetup -f >/dev/null 2>&1 || skip "no free loop device"
COMPATIBLE=upkit-x86_64-server

mk_keys "$WS/keys"
# The image: 1 MiB of data, 2 MiB of zeros, 1 MiB of data.
img=$WS/disk.img
{
	gen_bytes 1048576 one
	head -c 2097152 /dev/zero
	gen_bytes 1048576 two
} >"$img"
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --image disk="$img"
bundle_regions "$WS/b.upk"

# The data directory: tmpfs, absent; none of it may appear.
shm=/dev/shm
[ -d "$shm" ] && [ "$(stat -f -c %T "$shm")" = tmpfs ] ||
    skip "$shm is not tmpfs"
DATA=$shm/upkit-reimage-test.$$
rm -rf "$DATA"

# conf NAME DEVICE [EXTRA]: $WS/NAME.conf, bootloader = none, one disk
# slot on DEVICE; EXTRA is appended.
conf()
{
	cat >"$WS/$1.conf" <<-EOF
	[system]
	compatible = $COMPATIBLE
	bootloader = none
	data-directory = $DATA
	[keyring]
	path = $WS/keys/root.pem
	[server]
	channel = http://127.0.0.1:9/channel
	[slot.disk.0]
	device = $2
	type = raw
	bootname = A
	${3:-}
	EOF
}

# disk NAME SIZE: a file of old data and a loop device on it: DISK.
disk()
{
	gen_bytes "$2" "old-$1" >"$WS/$1.disk"
	DISK=$(loop_attach "$WS/$1.disk")
	eval "SUM_$1=\$(sha256sum <\"\$WS/\$1.disk\")"
}

unchanged()
{
	eval "_s=\$SUM_$1"
	[ "$(sha256sum <"$WS/$1.disk")" = "$_s" ] || die "$1: disk changed"
}

nothing_kept()
{
	[ ! -e "$DATA" ] || die "$1: $DATA was made"
	[ -z "$(find "$WS" -xdev -name state.json)" ] || die "$1: a state.json"
}

# 1. Reimaged.
disk ok 8388608
conf ok "$DISK"
run ok update -c "$WS/ok.conf" --from "$WS/b.upk" --no-reboot --json
expect_rc ok 0
grep -q '"event":"step","message":"writing disk.0 ('"$DISK"') with payload disk"' \
    "$WS/ok.out" || die "ok: no writing step: $(cat "$WS/ok.out")"
tail -n 1 "$WS/ok.out" | grep -qx \
    '{"event":"result","result":"reimaged","version":"2.0.0","slots":\["disk.0"\]}' ||
    die "ok: result $(tail -n 1 "$WS/ok.out")"
prefix_equal "$img" "$WS/ok.disk"
nothing_kept ok
# Again, as text: the same bundle installs again (no version to compare).
run ok2 update -c "$WS/ok.conf" --from "$WS/b.upk" --no-reboot
expect_rc ok2 0
grep -q '^reimaged with 2.0.0: written, read back and verified' \
    "$WS/ok2.out" || die "ok2: $(cat "$WS/ok2.out")"
nothing_kept ok2
SUM_ok=$(sha256sum <"$WS/ok.disk")

# 2. The config.
conf twob "$DISK" "[slot.disk.1]
device = $WS/other.disk
bootname = B"
: >"$WS/other.disk"
run twob update -c "$WS/twob.conf" --from "$WS/b.upk" --no-reboot
expect_rc twob 3
expect_msg twob "twob.conf:[0-9]+: \[slot.disk.1\] bootname: B: with \
bootloader = none each class has one slot, bootname A"
unchanged ok
for c in status health commit rollback "daemon --once"; do
	# shellcheck disable=SC2086
	run cmd $c -c "$WS/ok.conf"
	expect_rc cmd 3
	expect_msg cmd "ok.conf: bootloader = none: this machine is only \
reimaged \(upkit update, docs/reimage.md\)"
done
# The config has a channel: without the check the daemon would poll on.
set +e
timeout 60 "$UPKIT" daemon -c "$WS/ok.conf" >"$WS/daemon.out" \
    2>"$WS/daemon.err"
RC=$?
set -e
expect_rc daemon 3
expect_msg daemon "ok.conf: bootloader = none: a machine that is only \
reimaged has no daemon"
unchanged ok
nothing_kept config

# refused NAME CODE REGEX: the run NAME failed with CODE and REGEX before
# writing anything.
refused()
{
	expect_rc "$1" "$2"
	expect_msg "$1" "$3"
	! grep -q 'writing disk.0' "$WS/$1.err" || die "$1: began writing"
	nothing_kept "$1"
}

# 3. Refusals.
COMPATIBLE=other-server mk_bundle "$WS/keys" "$WS/other.upk" 2.0.0 \
    --image disk="$img"
run other update -c "$WS/ok.conf" --from "$WS/other.upk" --no-reboot
refused other 6 'compatible "other-server" does not match this device'
unchanged ok

disk small 3145728
conf small "$DISK"
run small update -c "$WS/small.conf" --from "$WS/b.upk" --no-reboot
refused small 7 "slot disk.0 \(A\): $DISK holds 3145728 bytes, payload \
needs 4194304"
unchanged small

# The installer running from the disk it names: its root is the disk's
# first partition (a chroot into it, with upkit and its libraries, the
# config and the keyring; the bundle comes on stdin). The whole disk is
# refused, and nothing on it changes.
truncate -s 72M "$WS/root.disk"
printf 'label: gpt\nstart=2048, size=64MiB\n' | sfdisk -q "$WS/root.disk" \
    >/dev/null || die "sfdisk root.disk"
DISK=$(losetup -f --show -P "$WS/root.disk") || die "losetup -P"
echo "$DISK" >>"$WS/.loops"
# The scan at attach may miss the table here: add what it missed.
partx -u "$DISK" || die "partx -u $DISK"
[ -b "${DISK}p1" ] || die "no ${DISK}p1"
mkfs.ext4 -q -F "${DISK}p1" >/dev/null 2>&1 || die "mkfs.ext4 ${DISK}p1"
R=$WS/root
mkdir "$R"
mount "${DISK}p1" "$R" || die "mount ${DISK}p1"
ws_mount "$R"
mkdir -p "$R/proc" "$R/dev" "$R/usr/bin" "$R/etc/upkit"
cp "$UPKIT" "$R/usr/bin/upkit"
for l in $(ldd "$UPKIT" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }'); do
	cp -L --parents "$l" "$R" || die "copy $l"
done
cp "$WS/keys/root.pem" "$R/etc/upkit/keyring.pem"
DATA_SAVE=$DATA DATA=/var/lib/upkit
conf root "$DISK"
DATA=$DATA_SAVE
sed 's|^path = .*|path = /etc/upkit/keyring.pem|' "$WS/root.conf" \
    >"$R/etc/upkit/upkit.conf"
mount -o remount,ro "$R" || die "remount $R read-only"
SUM_root=$(sha256sum <"$WS/root.disk")
mount -t proc proc "$R/proc" || die "mount proc"
ws_mount "$R/proc"
mount --bind /dev "$R/dev" || die "bind /dev"
ws_mount "$R/dev"
set +e
chroot "$R" /usr/bin/upkit update --from - --no-reboot <"$WS/b.upk" \
    >"$WS/root.out" 2>"$WS/root.err"
RC=$?
set -e
refused root 7 "slot disk.0 \(A\): .*$DISK .*(in use|running root|mounted)"
umount "$R/dev" "$R/proc" "$R"
unchanged root

# Two reimages of one disk: the first holds it (O_EXCL) from the moment
# it says "writing" until it ends; the second is refused meanwhile.
mkfifo "$WS/in" "$WS/out" "$WS/go"
(
	head -c "$PAY_OFF" "$WS/b.upk"
	read -r _go <"$WS/go"
	tail -c +$((PAY_OFF + 1)) "$WS/b.upk"
) >"$WS/in" &
ws_pid $!
"$UPKIT" update -c "$WS/ok.conf" --from - --no-reboot --json <"$WS/in" \
    >"$WS/out" 2>"$WS/first.err" &
first=$!
ws_pid "$first"
exec 4<"$WS/out"
timeout 60 grep -m 1 -q 'writing disk.0' <&4 ||
    die "first reimage never began writing: $(cat "$WS/first.err")"
run second update -c "$WS/ok.conf" --from "$WS/b.upk" --no-reboot
refused second 7 "slot disk.0 \(A\): /dev/loop[0-9]+ is in use"
echo go >"$WS/go"
cat <&4 >"$WS/first.out"
set +e
wait "$first"
RC=$?
set -e
expect_rc first 0
grep -q '"result":"reimaged"' "$WS/first.out" ||
    die "first: $(cat "$WS/first.out")"
prefix_equal "$img" "$WS/ok.disk"

# 4. A chunk changed on its way: the write stops at it.
cp "$WS/b.upk" "$WS/bad.upk"
flip_byte "$WS/bad.upk" $((PAY_OFF + PAY_LEN - 100))
disk bad 8388608
conf bad "$DISK"
run bad update -c "$WS/bad.conf" --from "$WS/bad.upk" --no-reboot
expect_rc bad 5
expect_msg bad 'chunk [0-9]+: compressed SHA-256 mismatch'
grep -q 'writing disk.0' "$WS/bad.err" || die "bad: never began writing"
nothing_kept bad
exit 0

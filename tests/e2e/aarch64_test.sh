#!/bin/sh
# Real boots of boards/qemu-aarch64 in QEMU: U-Boot qemu_arm64 runs the
# board's boot.scr, which picks the slot from uboot.env on the FAT
# partition and boots Debian's arm64 kernel with the slot's initrd.img,
# whose /init runs the cross-built upkit (tests/e2e/aarch64/init).
#
# a. update and commit: A installs B from a bundle on a second disk, B
#    boots, passes its health check, commits and keeps booting;
# b. failed health check: B rolls back, A boots, status says why;
# c. panic: B's kernel panics before upkit runs, U-Boot counts B down
#    and falls back to A, where upkit records the failed update;
# d. killed install: QEMU is killed (SIGKILL) at fixed points of the
#    install and around its env writes; the next boot reaches a good
#    slot and a rerun of the install completes. SOAK=1 adds points.
#
# Between boots the disk image itself is checked: uboot.env with
# fw_printenv (never upkit), state.json from the data partition. The
# guest prints "UPKIT-E2E ..." lines on the serial console.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
COMPATIBLE=upkit-qemu-aarch64
. "$TESTS/e2e/lib.sh"

BOARD=$TOP/boards/qemu-aarch64
HERE=$TESTS/e2e/aarch64
UPKIT_ARM64=${UPKIT_ARM64:-$TOP/build/arm64/upkit}
UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin

need_upkit
need qemu-system-aarch64 mkimage mkenvimage fw_printenv sfdisk mkfs.vfat \
    mcopy mmd mke2fs debugfs cpio gzip readelf timeout apt-get dpkg-deb
[ -f "$UBOOT" ] || skip "u-boot-qemu not installed ($UBOOT)"
[ -x "$UPKIT_ARM64" ] || die "$UPKIT_ARM64 not built (make arm64)"
e2e_init

# The disk of layout.sfdisk: 256 MiB, FAT from sector 2048 (192 MiB),
# data after it.
FAT_OFF=$((2048 * 512))
FAT_SIZE=$((192 * 1024 * 1024))
DATA_OFF=$((FAT_OFF + FAT_SIZE))
DISK_SIZE=$((256 * 1024 * 1024))

e2e_kernel arm64
e2e_busybox arm64
e2e_time "kernel $E2E_KVER, busybox $E2E_BUSYBOX"

mk_keys "$WS/keys"

# mk_base DIR: what every slot's root (its initrd) holds: busybox, upkit
# and its libs, the modules, the guest scripts, the board's upkit.conf and
# fw_env.config as they are, and the keyring.
mk_base()
{
	_r=$1
	rm -rf "$_r"
	mkdir -p "$_r/bin" "$_r/usr/bin" "$_r/usr/local/sbin" "$_r/proc" \
	    "$_r/sys" "$_r/dev" "$_r/tmp" "$_r/boot" "$_r/var/lib/upkit" \
	    "$_r/etc/upkit/health.d"
	cp "$E2E_BUSYBOX" "$_r/bin/busybox"
	# The other applets are linked by /init (busybox --install): this
	# host cannot run an arm64 busybox to list them.
	ln -s busybox "$_r/bin/sh"
	cp "$UPKIT_ARM64" "$_r/usr/bin/upkit"
	e2e_libs "$_r" "$UPKIT_ARM64" /lib/aarch64-linux-gnu \
	    /usr/lib/aarch64-linux-gnu
	# FAT has no journal: a power cut during an install can leave it
	# inconsistent, and Linux then remounts it read-only, which blocks
	# the next install and every env store. A device checks it at boot
	# (README.md of the board); busybox has no fsck.vfat.
	# e2e_deb skips (77) or fails in the subshell: pass that on.
	_dosfs=$(e2e_deb dosfstools:arm64) || exit $?
	mkdir -p "$_r/sbin"
	cp "$_dosfs/root/sbin/fsck.fat" "$_r/sbin/fsck.vfat"
	e2e_libs "$_r" "$_r/sbin/fsck.vfat" /lib/aarch64-linux-gnu \
	    /usr/lib/aarch64-linux-gnu
	# vfat mounts with iocharset=ascii and codepage 437 by default;
	# ext4 asks for crc32c through the crypto API (a softdep).
	e2e_modules "$_r" virtio_pci virtio_mmio virtio_blk vfat nls_cp437 \
	    nls_ascii crc32c_generic ext4
	e2e_guest_lib "$_r"
	cp "$HERE/init" "$_r/init"
	cp "$HERE/reboot" "$_r/usr/local/sbin/reboot"
	cp "$BOARD/upkit.conf" "$BOARD/fw_env.config" "$_r/etc/upkit/"
	cp "$WS/keys/root.pem" "$_r/etc/upkit/keyring.pem"
}

# mk_slot DIR NAME VERSION CHECK [CMDLINE]: LinuxKit kernel+initrd
# outputs DIR/NAME-kernel, -initrd.img, -cmdline of a root that says it
# is VERSION and whose one health check exits CHECK.
mk_slot()
{
	[ -d "$WS/base" ] || mk_base "$WS/base"
	rm -rf "$WS/root"
	cp -a "$WS/base" "$WS/root"
	echo "$3" >"$WS/root/etc/upkit-e2e-version"
	cat >"$WS/root/etc/upkit/health.d/10-e2e" <<-CHECK
	#!/bin/sh
	echo "UPKIT-E2E check $4 slot=\$UPKIT_SLOT version=\$UPKIT_VERSION"
	exit $4
	CHECK
	chmod 0755 "$WS/root/etc/upkit/health.d/10-e2e"
	mkdir -p "$1"
	cp "$E2E_IMAGE" "$1/$2-kernel"
	e2e_cpio "$WS/root" "$1/$2-initrd.img"
	printf '%s\n' "${5:-console=ttyAMA0 panic=-1 quiet}" >"$1/$2-cmdline"
	rm -rf "$WS/root"
}

# U-Boot's own env, in the second flash bank: its built-in one plus
# bootdelay=0 (2 s a boot otherwise) and only virtio in boot_targets (no
# USB, SCSI or network probing). Never saved: the slot selection lives in
# uboot.env on the FAT partition (boot.cmd).
mk_flash()
{
	# The built-in env is NUL-separated text in u-boot.bin, from bootcmd
	# to an empty string.
	tr '\0' '\n' <"$UBOOT" |
	    sed -n '/^bootcmd=run distro_bootcmd$/,/^$/{/^$/q;p}' \
	    >"$WS/uboot-default.txt"
	grep -q '^bootcmd=' "$WS/uboot-default.txt" ||
	    die "no default env found in $UBOOT"
	{
		grep -v '^\(bootdelay\|boot_targets\)=' "$WS/uboot-default.txt"
		echo bootdelay=0
		echo boot_targets=virtio0
	} >"$WS/uboot-native.txt"
	mkenvimage -s 0x40000 -o "$WS/flash1.env" "$WS/uboot-native.txt" ||
	    die "mkenvimage flash1"
	truncate -s 64M "$WS/flash1.img"
	dd if="$WS/flash1.env" of="$WS/flash1.img" conv=notrunc status=none
}

# mk_disk OUT SLOTDIR NAME: the factory image of the board: boot.scr,
# uboot.env (A B, 3, 3) and slot A from SLOTDIR/NAME-* on the FAT
# partition, an empty B, an empty ext4 data partition (no state.json).
mk_disk()
{
	mkimage -A arm64 -T script -C none -d "$BOARD/boot.cmd" \
	    "$WS/boot.scr" >/dev/null || die "mkimage $BOARD/boot.cmd"
	printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' \
	    >"$WS/env.txt"
	mkenvimage -s 0x4000 -o "$WS/uboot.env" "$WS/env.txt" ||
	    die "mkenvimage uboot.env"
	rm -f "$WS/fat.img" "$WS/data.img" "$1"
	mkfs.vfat -F 32 -C "$WS/fat.img" $((FAT_SIZE / 1024)) >/dev/null ||
	    die "mkfs.vfat"
	mmd -i "$WS/fat.img" ::A ::B
	mcopy -i "$WS/fat.img" "$WS/boot.scr" "$WS/uboot.env" ::
	mcopy -i "$WS/fat.img" "$2/$3-kernel" ::A/kernel
	mcopy -i "$WS/fat.img" "$2/$3-initrd.img" ::A/initrd.img
	mcopy -i "$WS/fat.img" "$2/$3-cmdline" ::A/cmdline
	mke2fs -q -F -t ext4 "$WS/data.img" \
	    $(((DISK_SIZE - DATA_OFF) / 1024)) >/dev/null || die "mke2fs"
	truncate -s "$DISK_SIZE" "$1"
	grep -v '^#' "$BOARD/layout.sfdisk" | sfdisk -q "$1" ||
	    die "sfdisk $1"
	dd if="$WS/fat.img" of="$1" bs=1M seek=$((FAT_OFF / 1048576)) \
	    conv=notrunc,sparse status=none
	dd if="$WS/data.img" of="$1" bs=1M seek=$((DATA_OFF / 1048576)) \
	    conv=notrunc,sparse status=none
	rm -f "$WS/fat.img" "$WS/data.img"
}

# boot NAME [STEP]: one boot of $DISK with the bundle disk and a control
# disk holding STEP (shell, run by the guest after `upkit health`).
boot()
{
	printf '%s\n' "${2:-}" | e2e_ctl "$WS/ctl.img"
	_t=$(date +%s)
	_brc=0
	e2e_boot "$1" qemu-system-aarch64 -machine virt -accel "$ACCEL" \
	    -cpu "$CPU" -m 512 -bios "$UBOOT" \
	    -drive "if=pflash,unit=1,format=raw,file=$WS/flash1.img" \
	    -drive "if=none,id=boot,format=raw,cache=unsafe,file=$DISK" \
	    -device virtio-blk-pci,drive=boot,serial=upkit-boot \
	    -drive "if=none,id=bundle,format=raw,readonly=on,file=$WS/bundle.img" \
	    -device virtio-blk-pci,drive=bundle,serial=upkit-bundle \
	    -drive "if=none,id=ctl,format=raw,readonly=on,file=$WS/ctl.img" \
	    -device virtio-blk-pci,drive=ctl,serial=upkit-ctl || _brc=$?
	e2e_time "boot $1: $(($(date +%s) - _t)) s, booted '$(e2e_booted "$1")'"
	[ "$_brc" -eq 0 ] || e2e_fail "$1" "QEMU exit code $_brc (timeout?)"
}

# The disk's uboot.env and state.json, read without upkit.
env_get()
{
	mcopy -o -i "$DISK@@$FAT_OFF" ::uboot.env "$WS/uboot.env.now" ||
	    die "mcopy uboot.env from $DISK"
	echo "$WS/uboot.env.now 0x0 0x4000" >"$WS/fw_env.now"
	fw_printenv -c "$WS/fw_env.now" -n "$1" 2>/dev/null || true
}

# env_show: the selection as fw_printenv reads it, for messages.
env_show()
{
	echo "BOOT_ORDER='$(env_get BOOT_ORDER)'" \
	    "A=$(env_get BOOT_A_LEFT) B=$(env_get BOOT_B_LEFT)"
}

# expect_env NAME ORDER A B: the env after boot NAME.
expect_env()
{
	[ "$(env_show)" = "BOOT_ORDER='$2' A=$3 B=$4" ] ||
	    e2e_fail "$1" "env is $(env_show), expected '$2' $3 $4"
}

state_json()
{
	dd if="$DISK" of="$WS/data.now" bs=1M skip=$((DATA_OFF / 1048576)) \
	    status=none
	debugfs -R 'cat /state.json' "$WS/data.now" 2>/dev/null
}

# KVM runs only an aarch64 guest on an aarch64 host, and only where a
# probe boot works (NOTES-BOOT.md: nested KVM fails here).
ACCEL=tcg CPU=cortex-a57
if [ "$(uname -m)" = aarch64 ]; then
	ACCEL=$(e2e_accel qemu-system-aarch64 -machine virt -cpu host -m 512 \
	    -kernel "$E2E_IMAGE")
	[ "$ACCEL" = tcg ] || CPU=host
fi
e2e_time "accel $ACCEL"
mk_flash

# use_bundle FILE: FILE on the bundle disk; $INSTALL is the step that
# streams it into `upkit update` (upkit refuses the disk's zero padding
# after the last payload, so exactly the bundle's bytes go in).
use_bundle()
{
	e2e_rawdisk "$1" "$WS/bundle.img"
	INSTALL=". /lib/e2e.sh
head -c $(filesize "$1") \"\$(e2e_disk upkit-bundle)\" |
    upkit update --from - --json
echo \"UPKIT-E2E update rc=\$?\""
}

# fresh: a new device from the factory image.
fresh()
{
	cp --sparse=always "$WS/factory.img" "$DISK"
}

# expect_booted NAME SLOT: the guest said it booted SLOT ('' = never got
# to /init).
expect_booted()
{
	[ "$(e2e_booted "$1")" = "$2" ] ||
	    e2e_fail "$1" "booted '$(e2e_booted "$1")', expected '$2'"
}

# expect_state NAME REGEX: state.json on the data partition, whitespace
# removed, matches REGEX.
expect_state()
{
	state_json | tr -d ' \t\n' >"$WS/state.now"
	grep -Eq -- "$2" "$WS/state.now" || e2e_fail "$1" \
	    "state.json does not match /$2/: $(cat "$WS/state.now")"
}

INSTALLED='"event":"result","result":"installed","version":"2.0.0","target":"B"'

# install_b NAME: installs B from the bundle in use, from A, and checks
# that B is armed for a trial boot: the env as fw_printenv reads it and
# state.json.
install_b()
{
	boot "$1" "$INSTALL"
	expect_booted "$1" A
	e2e_expect "$1" "$INSTALLED"
	e2e_expect "$1" '^UPKIT-E2E reboot'
	expect_env "$1" "B A" 3 3
	expect_state "$1" '"B":\{[^}]*"version":"2.0.0"'
	expect_state "$1" '"B":\{[^}]*"status":"trial"'
}

DISK=$WS/disk.img
mk_slot "$WS/v1" lk 1.0.0 0
mk_disk "$WS/factory.img" "$WS/v1" lk
mk_slot "$WS/v2" lk 2.0.0 0
mk_bundle "$WS/keys" "$WS/good.upk" 2.0.0 --linuxkit "$WS/v2/lk"
e2e_time "images: initrd $(filesize "$WS/v1/lk-initrd.img") bytes," \
    "bundle $(filesize "$WS/good.upk") bytes"

# a. Update and commit. The counters prove the round trip: U-Boot boots
# B because of what upkit wrote, upkit resets what U-Boot decremented.
fresh
use_bundle "$WS/good.upk"
install_b a1
boot a2 'upkit status --json'
expect_booted a2 B
e2e_expect a2 '^UPKIT-E2E booted=B version=2.0.0'
e2e_expect a2 '^UPKIT-E2E check 0 slot=B version=2.0.0'
e2e_expect a2 '"result":"committed"'
e2e_expect a2 '^UPKIT-E2E health rc=0'
expect_env a2 "B A" 3 3
expect_state a2 '"B":\{[^}]*"status":"good"'
expect_state a2 '"result":"committed"'
for n in a3 a4; do
	boot "$n"
	expect_booted "$n" B
	e2e_expect "$n" 'counter reset to 3'
	expect_env "$n" "B A" 3 3
done
e2e_time "a: update and commit passed"

# b. Failed health check: B's check exits 1, upkit rolls back and
# reboots, U-Boot takes A, and status on A names the check.
mk_slot "$WS/v2bad" lk 2.0.0 1
mk_bundle "$WS/keys" "$WS/badcheck.upk" 2.0.0 --linuxkit "$WS/v2bad/lk"
fresh
use_bundle "$WS/badcheck.upk"
install_b b1
boot b2
expect_booted b2 B
e2e_expect b2 '^UPKIT-E2E check 1 slot=B version=2.0.0'
e2e_expect b2 '"result":"rolled-back"'
e2e_expect b2 '^UPKIT-E2E reboot'
expect_env b2 "A" 3 0
expect_state b2 '"B":\{[^}]*"status":"bad"'
boot b3 'upkit status --json | tr -d " \t\n"; echo'
expect_booted b3 A
e2e_expect b3 '^UPKIT-E2E health rc=0'
# status --json with the blanks removed, as one line.
e2e_expect b3 \
    '"result":"rolled-back","reason":"check[^"]*10-e2e:exitedwithstatus1"'
expect_env b3 "A" 3 0
expect_state b3 '"result":"rolled-back"'
e2e_time "b: failed health check passed"

# c. Panic: B's command line names an init that does not exist, so its
# kernel panics before upkit runs (panic=-1 resets, -no-reboot ends
# QEMU). Each boot of B costs one attempt; after the last, U-Boot falls
# back to A and upkit there records the failed update.
mk_slot "$WS/v2panic" lk 2.0.0 0 \
    'console=ttyAMA0 panic=-1 quiet rdinit=/e2e-no-such-init'
mk_bundle "$WS/keys" "$WS/panic.upk" 2.0.0 --linuxkit "$WS/v2panic/lk"
fresh
use_bundle "$WS/panic.upk"
install_b c1
for left in 2 1 0; do
	boot "cp$left"
	expect_booted "cp$left" ''
	e2e_expect "cp$left" 'upkit: booting slot B'
	e2e_expect "cp$left" 'Kernel panic'
	expect_env "cp$left" "B A" 3 "$left"
	# Never good without passing its checks.
	expect_state "cp$left" '"B":\{[^}]*"status":"trial"'
done
boot c4 'upkit status --json | tr -d " \t\n"; echo'
expect_booted c4 A
e2e_expect c4 '"result":"rolled-back"'
e2e_expect c4 'slot B did not boot'
e2e_expect c4 '"result":"rolled-back","reason":"slotBdidnotboot'
expect_env c4 "A" 3 0
expect_state c4 '"B":\{[^}]*"status":"bad"'
expect_state c4 '"A":\{[^}]*"status":"good"'
e2e_time "c: panic fallback passed"

# d. Killed install. QEMU is killed (SIGKILL: what the guest had not
# flushed is lost, as in a power cut) the moment the install prints a
# given line; the kill lands a little after it, wherever the guest got
# to. After each kill:
# - the env names a good slot first: A, or B only if B is complete (the
#   kill came after ARM);
# - the next boot reaches that slot, and a rerun of the install there
#   completes: B armed, its files equal to the bundle's.

# b_complete: slot B on the disk holds the good bundle's files.
b_complete()
{
	for _f in kernel initrd.img cmdline; do
		rm -f "$WS/b.$_f"
		mcopy -i "$DISK@@$FAT_OFF" "::B/$_f" "$WS/b.$_f" 2>/dev/null ||
		    return 1
		cmp -s "$WS/b.$_f" "$WS/v2/lk-$_f" || return 1
	done
}

# first_slot: the slot U-Boot boots next, by boot.cmd's rules: the first
# in BOOT_ORDER with 1..9 attempts left, else the first in BOOT_ORDER,
# else A (also when uboot.env is corrupt: fw_printenv reads nothing).
first_slot()
{
	_o=$(env_get BOOT_ORDER)
	for _s in $_o; do
		case $(env_get "BOOT_${_s}_LEFT") in
		[1-9])	echo "$_s"; return ;;
		esac
	done
	for _s in $_o A; do
		echo "$_s"
		return
	done
}

# kill_case NAME REGEX NTH: the install killed at the NTH line matching
# REGEX, then the recovery boot.
kill_case()
{
	fresh
	E2E_KILL_AT=$2 E2E_KILL_NTH=$3 boot "$1" "$INSTALL"
	[ "$E2E_KILLED" = 1 ] ||
	    e2e_fail "$1" "the install ended before line $3 matching /$2/"
	expect_booted "$1" A
	_next=$(first_slot)
	e2e_time "$1: killed at line $3 matching /$2/; $(env_show), next $_next"
	if [ "$_next" = B ]; then
		# Armed: the kill came after ARM, so B must be whole; it
		# boots as a trial and commits, and the install is done.
		if ! b_complete; then
			mdir -i "$DISK@@$FAT_OFF" -a ::B >&2 || true
			e2e_fail "$1" "B is armed in uboot.env, but its folder\
 on the FAT partition is not the bundle's: the swap of the files slot\
 was not on the disk when upkit armed B"
		fi
		boot "$1r"
		expect_booted "$1r" B
		e2e_expect "$1r" '"result":"committed"'
		expect_env "$1r" "B A" 3 3
		return
	fi
	[ "$_next" = A ] || e2e_fail "$1" "next boot would be '$_next'"
	boot "$1r" "$INSTALL"
	expect_booted "$1r" A
	e2e_expect "$1r" '^UPKIT-E2E health rc=0'
	e2e_expect "$1r" "$INSTALLED"
	expect_env "$1r" "B A" 3 3
	expect_state "$1r" '"B":\{[^}]*"status":"trial"'
	b_complete || e2e_fail "$1r" "B differs from the bundle after the rerun"
}

use_bundle "$WS/good.upk"
# The lines of one full install (a1): chunks written and read back.
nw=$(grep -c '"phase":"write"' "$WS/a1.log") || true
nv=$(grep -c '"phase":"verify"' "$WS/a1.log") || true
[ "$nw" -ge 10 ] && [ "$nv" -ge 10 ] ||
    e2e_fail a1 "only $nw write and $nv verify progress lines"
# Around MARK_BAD's state and env writes, early and halfway in the
# write, at the start of the read-back, at its last line (right before
# ARM's env write), and after ARM, before upkit's reboot (B is armed:
# the next boot is its trial).
set -- \
    sig 'signature and certificate chain verified' 1 \
    bad 'marked bad for writing' 1 \
    w1 '"phase":"write"' 1 \
    wh '"phase":"write"' $((nw / 2)) \
    v1 '"phase":"verify"' 1 \
    vl '"phase":"verify"' "$nv" \
    arm '"result":"installed"' 1
if [ "${SOAK:-0}" = 1 ]; then
	# More points, and random ones: the seed is printed so that a
	# failure can be replayed (E2E_SEED=N).
	seed=${E2E_SEED:-$(od -An -tu2 -N2 /dev/urandom | tr -d ' ')}
	e2e_time "soak: seed $seed"
	set -- "$@" \
	    ws '"writing slot B"' 1 \
	    w2 '"phase":"write"' 2 \
	    wl '"phase":"write"' "$nw" \
	    vh '"phase":"verify"' $((nv / 2)) \
	    v2 '"phase":"verify"' $((nv - 1))
	i=0
	while [ "$i" -lt 8 ]; do
		seed=$(((seed * 1103515245 + 12345) % 2147483648))
		set -- "$@" "rw$i" '"phase":"write"' $((seed % nw + 1))
		seed=$(((seed * 1103515245 + 12345) % 2147483648))
		set -- "$@" "rv$i" '"phase":"verify"' $((seed % nv + 1))
		i=$((i + 1))
	done
fi
while [ $# -ge 3 ]; do
	kill_case "d-$1" "$2" "$3"
	shift 3
done
e2e_time "d: killed installs passed"

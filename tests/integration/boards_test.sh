#!/bin/sh
# boards/: every board's files are accepted by the real tools. U-Boot
# scripts compile with mkimage, GRUB scripts pass grub-script-check, each
# layout.sfdisk partitions a sparse image of its documented size, each
# upkit.conf passes upkit's parser, and every script counts down with the
# same table and saves the counter before it boots. The GRUB scripts also
# run for real in grub-emu on a FAT ESP image: slot choice, the saved
# counter (read back with grub-editenv), fallbacks, cmdline.cfg. Booting
# kernels under QEMU is tests/e2e/, not this test. qemu-x86_64-uki has
# no script: its loader.conf, and the UKI and ESP its mkuki.sh and
# mkesp.sh build, are checked instead.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need mkimage grub-script-check sfdisk
ws_init
BOARDS=$TOP/boards

# board NAME BOOTLOADER DISK-SIZE PARTITIONS: the expected facts.
check_board()
{
	_b=$1 _bl=$2 _size=$3 _nparts=$4
	_d=$BOARDS/$_b
	for _f in README.md upkit.conf layout.sfdisk; do
		[ -s "$_d/$_f" ] || die "$_b: no $_f"
	done
	case $_bl in
	uboot)
		_script=$_d/boot.cmd
		mkimage -A arm64 -T script -C none -d "$_script" \
		    "$WS/$_b.scr" >"$WS/$_b.mkimage" 2>&1 ||
		    die "$_b: mkimage boot.cmd: $(cat "$WS/$_b.mkimage")"
		[ -s "$_d/fw_env.config" ] || die "$_b: no fw_env.config"
		# One copy of 0x4000 bytes: what env export -c -s 0x4000 writes.
		grep -v '^#' "$_d/fw_env.config" | grep -Eq \
		    '^/boot/[a-z]+\.env[[:space:]]+0x0[[:space:]]+0x4000$' ||
		    die "$_b: fw_env.config is not one 0x4000 copy"
		_save='fatwrite ' _boot='^booti '
		;;
	grub)
		_script=$_d/grub.cfg
		grub-script-check "$_script" ||
		    die "$_b: grub-script-check grub.cfg"
		[ -x "$_d/mkgrub.sh" ] || die "$_b: no mkgrub.sh"
		_save='save_env ' _boot='^(linux|chainloader) '
		;;
	efi)
		# systemd-boot counts by itself: no script, no table. A
		# default would boot a slot with no tries left (docs/efi.md).
		for _f in mkuki.sh mkesp.sh; do
			[ -x "$_d/$_f" ] || die "$_b: no $_f"
		done
		grep -Eq '^timeout[[:space:]]+0$' "$_d/loader.conf" ||
		    die "$_b: loader.conf has no timeout 0"
		! grep -Eq '^default[[:space:]]' "$_d/loader.conf" ||
		    die "$_b: loader.conf sets a default"
		grep -q '^bootloader = efi$' "$_d/upkit.conf" ||
		    die "$_b: upkit.conf is not bootloader = efi"
		_script=
		;;
	esac
	if [ -z "$_script" ]; then
		check_layout "$_b" "$_size" "$_nparts"
		return 0
	fi

	# The table, as pairs "FROM TO", must be exactly 9 8 ... 1 0.
	sed -n '/upkit-decrement-table-begin/,/upkit-decrement-table-end/p' \
	    "$_script" | sed -En \
	    's/.*"\$\{?upkit_left\}?" = ([0-9]+).*upkit_next[ =]([0-9]+).*/\1 \2/p' \
	    >"$WS/$_b.table"
	seq 9 -1 1 | while read -r _n; do echo "$_n $((_n - 1))"; done \
	    >"$WS/want.table"
	diff -u "$WS/want.table" "$WS/$_b.table" >&2 ||
	    die "$_b: decrement table is not 9->8 ... 1->0"

	# The counter reaches the disk before the kernel gets control.
	_sl=$(grep -nE "^[[:space:]]*(if )?$_save" "$_script" | head -n 1 |
	    cut -d: -f1)
	_bl_=$(grep -nE "$_boot" "$_script" | head -n 1 | cut -d: -f1)
	[ -n "$_sl" ] && [ -n "$_bl_" ] && [ "$_sl" -lt "$_bl_" ] ||
	    die "$_b: no save before the boot command"

	check_layout "$_b" "$_size" "$_nparts"
}

# check_layout NAME DISK-SIZE PARTITIONS: layout.sfdisk and upkit.conf.
check_layout()
{
	_b=$1 _size=$2 _nparts=$3
	_d=$BOARDS/$_b
	# Layout on a sparse image: no root, no loop device.
	truncate -s "$_size" "$WS/$_b.img"
	sfdisk -q "$WS/$_b.img" <"$_d/layout.sfdisk" >"$WS/$_b.sfdisk" 2>&1 ||
	    die "$_b: sfdisk layout.sfdisk: $(cat "$WS/$_b.sfdisk")"
	_n=$(sfdisk --json "$WS/$_b.img" | grep -c '"node"')
	[ "$_n" -eq "$_nparts" ] ||
	    die "$_b: $_n partitions, expected $_nparts"

	# Exit 8 (no env on this machine) or 0 means the config parsed.
	run "conf-$_b" status -c "$_d/upkit.conf"
	case $RC in
	0|8)	;;
	*)	expect_rc "conf-$_b" 8 ;;
	esac
}

check_board qemu-x86_64-efi grub 512M 4
check_board qemu-aarch64 uboot 256M 2
check_board raspberrypi4 uboot 1G 2
check_board x86_64-server grub 1G 2
check_board qemu-x86_64-uki efi 512M 4

# qemu-x86_64-uki's UKI and ESP, from stand-in LinuxKit outputs, where
# Debian's systemd-boot-efi and the tools are installed (the boot itself
# is tests/e2e/x86_64_uki_test.sh).
U=$BOARDS/qemu-x86_64-uki
if [ -f /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] &&
    [ -f /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] &&
    command -v objdump >/dev/null && command -v mdir >/dev/null &&
    command -v mkfs.vfat >/dev/null; then
	mkdir -p "$WS/uki"
	gen_bytes 300000 kernel >"$WS/uki/lk-kernel"
	gen_bytes 100000 initrd >"$WS/uki/lk-initrd.img"
	printf 'console=ttyS0\n' >"$WS/uki/lk-cmdline"
	sh "$U/mkuki.sh" "$WS/uki/lk" "$WS/uki/uki.efi" ||
	    die "qemu-x86_64-uki: mkuki.sh failed"
	objdump -h "$WS/uki/uki.efi" >"$WS/uki/h" ||
	    die "qemu-x86_64-uki: mkuki.sh made no PE"
	for _sec in .osrel .cmdline .linux .initrd; do
		grep -q " $_sec " "$WS/uki/h" ||
		    die "qemu-x86_64-uki: no $_sec in the UKI"
	done
	# Sections in order and apart: each VMA past the last one's end.
	awk '$1 ~ /^[0-9]+$/ { print $3, $4 }' "$WS/uki/h" |
	    while read -r _sz _vma; do
		echo "$((0x$_vma)) $((0x$_vma + 0x$_sz))"
	done | sort -n | awk 'NR > 1 && $1 < end { exit 1 } { end = $2 }' ||
	    die "qemu-x86_64-uki: overlapping sections in the UKI"
	objcopy -O binary -j .cmdline "$WS/uki/uki.efi" "$WS/uki/cmdline"
	[ "$(cat "$WS/uki/cmdline")" = "console=ttyS0 text" ] ||
	    die "qemu-x86_64-uki: UKI cmdline '$(cat "$WS/uki/cmdline")'"
	objcopy -O binary -j .linux "$WS/uki/uki.efi" "$WS/uki/linux"
	cmp -s "$WS/uki/linux" "$WS/uki/lk-kernel" ||
	    die "qemu-x86_64-uki: the UKI's .linux is not the kernel"
	sh "$U/mkesp.sh" "$WS/uki/esp.img" 16 "$WS/uki/uki.efi" \
	    "$WS/uki/uki.efi" || die "qemu-x86_64-uki: mkesp.sh failed"
	mdir -b -i "$WS/uki/esp.img" ::/EFI/Linux | sort | tr '\n' ' ' |
	    grep -qx '::/EFI/Linux/upkit-1-A.efi ::/EFI/Linux/upkit-B.off ' ||
	    die "qemu-x86_64-uki: ESP holds $(mdir -b -i "$WS/uki/esp.img" \
	    ::/EFI/Linux | tr '\n' ' ')"
else
	echo "note: systemd-boot-efi, binutils, mtools or dosfstools" \
	    "missing: qemu-x86_64-uki's mkuki.sh and mkesp.sh not run" >&2
fi

sfdisk --json "$WS/qemu-x86_64-efi.img" >"$WS/efi.json"
for _l in esp rootfs-A rootfs-B data; do
	grep -q "\"name\":\"$_l\"" "$WS/efi.json" ||
	    grep -q "\"name\": \"$_l\"" "$WS/efi.json" ||
	    die "qemu-x86_64-efi: no partition named $_l"
done
grep -qi 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' "$WS/efi.json" ||
    die "qemu-x86_64-efi: no EFI system partition"
sfdisk --dump "$WS/qemu-aarch64.img" | grep -q 'type=c, bootable' ||
    die "qemu-aarch64: partition 1 is not a bootable FAT32 (LBA)"

# The rest runs the GRUB scripts in grub-emu, the real GRUB script
# engine with load_env and save_env working on a FAT image.
if ! command -v grub-emu >/dev/null 2>&1 ||
    ! command -v mkfs.vfat >/dev/null 2>&1 ||
    ! command -v mcopy >/dev/null 2>&1 ||
    ! command -v grub-editenv >/dev/null 2>&1 ||
    ! command -v script >/dev/null 2>&1; then
	skip "static board checks passed; grub-emu, dosfstools, mtools or" \
	    "script missing for the GRUB runs"
fi

# esp BOARD ENV-ARGS...: a disk with one FAT ESP holding the board's
# grub.cfg, a grubenv set to ENV-ARGS ("none": no grubenv) and slot
# folders A and B (mkboot.sh's output for qemu-x86_64-efi).
esp()
{
	_b=$1
	shift
	rm -f "$WS/esp.img" "$WS/disk.img" "$WS/grubenv"
	truncate -s 40M "$WS/esp.img"
	mkfs.vfat "$WS/esp.img" >/dev/null || die "mkfs.vfat"
	mmd -i "$WS/esp.img" ::/EFI ::/EFI/BOOT ::/A ::/B
	mcopy -i "$WS/esp.img" "$BOARDS/$_b/grub.cfg" ::/EFI/BOOT/grub.cfg
	if [ "$1" != none ]; then
		grub-editenv "$WS/grubenv" create
		grub-editenv "$WS/grubenv" set "$@"
		mcopy -i "$WS/esp.img" "$WS/grubenv" ::/EFI/BOOT/grubenv
	fi
	for _s in A B; do
		mcopy -i "$WS/esp.img" "$WS/boot$_s/"* "::/$_s/"
	done
	truncate -s 48M "$WS/disk.img"
	echo 'label: gpt
start=2048, size=40M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' |
	    sfdisk -q "$WS/disk.img"
	dd if="$WS/esp.img" of="$WS/disk.img" bs=1M seek=1 conv=notrunc \
	    status=none
	echo "(hd0) $WS/disk.img" >"$WS/device.map"
}

# boot NAME: one boot in grub-emu. Its linux and chainloader fail (no
# kexec), so every script ends in its reboot, which ends grub-emu.
# Output in $WS/NAME.log; the ESP's grubenv in $WS/NAME.env (or none).
boot()
{
	# grub-emu needs a terminal: script(1) gives it one.
	timeout 60 script -qec "stty cols 500; grub-emu -m '$WS/device.map' -r hd0,gpt1 \
	    -d /EFI/BOOT" /dev/null </dev/null 2>&1 | tr -d '\r' \
	    >"$WS/$1.log" || die "$1: grub-emu failed or timed out"
	rm -f "$WS/$1.env"
	mcopy -i "$WS/disk.img@@1M" ::/EFI/BOOT/grubenv "$WS/$1.env" \
	    2>/dev/null || echo none >"$WS/$1.env"
}

# expect_boot NAME SLOT: the script chose SLOT (its own serial line).
expect_boot()
{
	grep -Eq "upkit: (booting|no slot has attempts left; fallback boot of)( slot)? $2" \
	    "$WS/$1.log" || { cat "$WS/$1.log" >&2; die "$1: did not boot $2"; }
}

# expect_env NAME VAR=VALUE...: the saved grubenv, read by grub-editenv.
expect_env()
{
	_n=$1
	shift
	for _kv in "$@"; do
		grub-editenv "$WS/$_n.env" list | grep -qx -- "$_kv" || {
			grub-editenv "$WS/$_n.env" list >&2
			die "$_n: grubenv has no $_kv"
		}
	done
}

mk_images "$WS/img" lk
# A cmdline that would run a command if it were not quoted right.
printf '%s\n' "console=ttyS0 it's \$x a=\"b  c\";echo pwned \\" \
    >"$WS/img/lk-cmdline"
for _s in A B; do
	"$BOARDS/qemu-x86_64-efi/mkboot.sh" "$WS/img/lk" "$WS/boot$_s"
	grub-script-check "$WS/boot$_s/cmdline.cfg" ||
	    die "mkboot.sh: cmdline.cfg is not a GRUB script"
done
# Slot B from a plain --linuxkit bundle of LinuxKit's tar-kernel-initrd
# output, installed by upkit: cmdline.cfg written by bundle create (the
# same bytes as mkboot.sh's), ucode.cpio next to initrd.img.
mkdir -p "$WS/tk"
cp "$WS/img/lk-kernel" "$WS/tk/kernel"
cp "$WS/img/lk-initrd.img" "$WS/tk/initrd.img"
cp "$WS/img/lk-cmdline" "$WS/tk/cmdline"
gen_bytes 1024 ucode >"$WS/tk/ucode.cpio"
tar -C "$WS/tk" -cf "$WS/img/tk-initrd.tar" kernel initrd.img cmdline \
    ucode.cpio
cp "$WS/img/lk-squashfs.img" "$WS/img/tk-squashfs.img"
mk_keys "$WS/keys"
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/tk.upk" 2.0.0 --linuxkit "$WS/img/tk"
run tk update -c "$CFG" --from "$WS/tk.upk" --no-reboot
expect_rc tk 0
files_equal "$WS/bootA/cmdline.cfg" "$BOOT_B/cmdline.cfg"
rm -r "$WS/bootB"
cp -r "$BOOT_B" "$WS/bootB"
[ -f "$WS/bootB/ucode.cpio" ] || die "the bundle's boot slot has no ucode.cpio"

B=qemu-x86_64-efi
# First with attempts left, counter saved, other variables kept.
esp $B 'BOOT_ORDER=B A' BOOT_A_LEFT=3 BOOT_B_LEFT=1 keep=me
boot b1
expect_boot b1 B
expect_env b1 'BOOT_ORDER=B A' BOOT_A_LEFT=3 BOOT_B_LEFT=0 keep=me
# The slot's cmdline, through the cmdline.cfg upkit wrote, quotes,
# dollar, semicolon and backslash intact and nothing run.
grep -Fq "upkit: slot B: console=ttyS0 it's \$x a=\"b  c\";echo pwned \\ root=PARTLABEL=rootfs-B rootfstype=squashfs rootwait upkit.slot=B" \
    "$WS/b1.log" || { cat "$WS/b1.log" >&2; die "b1: wrong kernel cmdline"; }
! grep -q '^pwned' "$WS/b1.log" || die "b1: the cmdline ran a command"
# The microcode first, as its own initrd (grub-emu has no initrd
# command: the script's line says what it loads).
grep -q '^upkit: initrd ucode.cpio initrd.img$' "$WS/b1.log" ||
    { cat "$WS/b1.log" >&2; die "b1: ucode.cpio not loaded first"; }
# and the command under that line loads what it says, in that order.
grep -A1 'echo "upkit: initrd ucode.cpio initrd.img"' \
    "$BOARDS/qemu-x86_64-efi/grub.cfg" | tail -n 1 | grep -Eq \
    '^[[:space:]]*initrd "/\$upkit_slot/ucode.cpio" "/\$upkit_slot/initrd.img"$' ||
    die "qemu-x86_64-efi: grub.cfg does not load ucode.cpio, then initrd.img"

# B used up: the next boot takes A, from the env the last boot saved.
mcopy -o -i "$WS/disk.img@@1M" "$WS/b1.env" ::/EFI/BOOT/grubenv
boot b2
expect_boot b2 A
expect_env b2 'BOOT_ORDER=B A' BOOT_A_LEFT=2 BOOT_B_LEFT=0
grep -q '^upkit: initrd initrd.img$' "$WS/b2.log" ||
    { cat "$WS/b2.log" >&2; die "b2: initrd.img not loaded"; }

# Every entry of the table, through the real script.
for _n in 9 8 7 6 5 4 3 2 1; do
	esp $B 'BOOT_ORDER=A B' "BOOT_A_LEFT=$_n" BOOT_B_LEFT=3
	boot t$_n
	expect_boot "t$_n" A
	expect_env "t$_n" "BOOT_A_LEFT=$((_n - 1))" BOOT_B_LEFT=3
done

# Fallbacks: nothing decremented, nothing written.
esp $B 'BOOT_ORDER=B A' BOOT_A_LEFT=0 BOOT_B_LEFT=0
cp "$WS/grubenv" "$WS/f1.before"
boot f1
expect_boot f1 B
cmp -s "$WS/f1.before" "$WS/f1.env" || die "f1: fallback changed grubenv"
esp $B BOOT_ORDER= BOOT_A_LEFT=0 BOOT_B_LEFT=3
boot f2
expect_boot f2 A
esp $B none
boot f3
expect_boot f3 A
[ "$(cat "$WS/f3.env")" = none ] || die "f3: fallback created a grubenv"
# A counter out of the table (10) is no attempt; a missing one neither.
esp $B 'BOOT_ORDER=A B' BOOT_A_LEFT=10
boot f4
expect_boot f4 A
grep -q 'fallback' "$WS/f4.log" || die "f4: BOOT_A_LEFT=10 was counted"
expect_env f4 BOOT_A_LEFT=10

# x86_64-server: the choice is also saved as " upkit.slot=B", which the
# agent reads from grubenv as its "cmdline".
B=x86_64-server
esp $B 'BOOT_ORDER=A B' BOOT_A_LEFT=0 BOOT_B_LEFT=2
boot s1
expect_boot s1 B
expect_env s1 BOOT_A_LEFT=0 BOOT_B_LEFT=1 'upkit_booted= upkit.slot=B'
grep -q 'upkit: slot B: (hd2,gpt1)/EFI/BOOT/BOOTX64.EFI' "$WS/s1.log" ||
    die "s1: slot B is not disk hd2"
# The agent's own parser agrees: status names B as booted.
sed -e "s|^env = .*|env = $WS/s1.env|" \
    -e "s|^cmdline = .*|cmdline = $WS/s1.env|" \
    "$BOARDS/$B/upkit.conf" >"$WS/s1.conf"
run s1status status -c "$WS/s1.conf"
expect_rc s1status 0
grep -Eqi 'booted[^a-z]*B' "$WS/s1status.out" ||
    die "s1: upkit status does not name B as booted"
echo "boards: all checks passed"

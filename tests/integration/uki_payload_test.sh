#!/bin/sh
# The UKI payload (issue 12 part 2, docs/efi.md "The UKI payload"):
#  1. bundle create takes the one UKI out of real images made here with
#     mkfs.vfat, mcopy and sfdisk: an ESP of FAT12, FAT16 and FAT32, a
#     GPT disk as LinuxKit's raw-efi NAME-efi.img (--linuxkit), a UKI
#     fragmented on the FAT, and a UKI given as it is (--uki);
#  2. bad inputs get one message naming the file: not FAT, no ESP, two
#     ESPs, a truncated GPT and ESP, no EFI/Linux, no UKI, two UKIs, an
#     .efi that is no PE;
#  3. each bundle installs into a device with bootloader = efi, a rootfs
#     and a uki slot (the ESP a folder, efivarfs faked): the armed UKI
#     is the input byte for byte, the loader boots it, health commits;
#  4. a power cut after each durable step on the ESP during an update:
#     the loader picks a slot whose UKI and rootfs are whole, and the
#     rerun arms B with the bundle's UKI.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
. "$TESTS/efiloader.sh"
need_upkit
need openssl mkenvimage mkfs.vfat mmd mcopy mdel mshowfat sfdisk iconv
SHIM=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
[ -f "$SHIM" ] || die "$SHIM not built (make $SHIM)"
ws_init
mk_keys "$WS/keys"

# mk_esp OUT MIB FATBITS UKI...: an ESP as LinuxKit's make-efi writes
# it: systemd-boot, loader.conf and the UKIs in EFI/Linux (none: no
# folder; "-" alone: an empty one).
mk_esp()
{
	_o=$1 _m=$2 _f=$3
	shift 3
	rm -f "$_o"
	truncate -s "${_m}M" "$_o"
	mkfs.vfat -F "$_f" -n ESP "$_o" >/dev/null || die "mkfs.vfat $_o"
	mmd -i "$_o" ::/EFI ::/EFI/BOOT ::/loader
	echo "systemd-boot" >"$WS/sdboot"
	mcopy -i "$_o" "$WS/sdboot" ::/EFI/BOOT/BOOTX64.EFI
	echo "timeout 0" >"$WS/loader.conf"
	mcopy -i "$_o" "$WS/loader.conf" ::/loader/loader.conf
	[ $# -gt 0 ] || return 0
	mmd -i "$_o" ::/EFI/Linux
	for _u in "$@"; do
		[ "$_u" = - ] ||
		    mcopy -i "$_o" "$_u" "::/EFI/Linux/$(basename "$_u")"
	done
}

ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
LINUX_TYPE=0FC63DAF-8483-4772-8E79-3D69D8477DE4
# mk_gpt OUT ESP TYPE...: a GPT disk of one 40 MiB partition a TYPE
# (esp, linux), from 1 MiB on; the ESP image is copied into each esp.
mk_gpt()
{
	_o=$1 _e=$2
	shift 2
	rm -f "$_o"
	truncate -s $((2 + 40 * $#))M "$_o"
	{
		echo "label: gpt"
		for _t in "$@"; do
			case $_t in
			esp)	echo "size=40MiB, type=$ESP_TYPE" ;;
			linux)	echo "size=40MiB, type=$LINUX_TYPE" ;;
			esac
		done
	} | sfdisk -q "$_o" >/dev/null || die "sfdisk $_o"
	_at=1
	for _t in "$@"; do
		[ "$_t" != esp ] || dd if="$_e" of="$_o" bs=1M seek="$_at" \
		    conv=notrunc status=none
		_at=$((_at + 40))
	done
}

create()
{
	_n=$1
	shift
	run "$_n" bundle create --key "$WS/keys/signer.key" \
	    --cert "$WS/keys/signer.pem" --compatible "$COMPATIBLE" \
	    --version 2.0.0 "$@" -o "$WS/$_n.upk"
}

# refused NAME REGEX ARG...: bundle create refuses with one line naming
# the input (the last ARG) and matching REGEX, exit 2 (a missing file:
# 4); no bundle is written.
refused()
{
	_n=$1 _re=$2
	shift 2
	create "$_n" "$@"
	[ "$RC" -ne 0 ] || die "$_n: bundle create took $*"
	[ "$_n" = missing ] || expect_rc "$_n" 2
	[ "$(wc -l <"$WS/$_n.err")" -eq 1 ] ||
	    die "$_n: more than one line: $(cat "$WS/$_n.err")"
	eval "_in=\${$#}"
	expect_msg "$_n" "^upkit: bundle create: $_in.*$_re"
	[ ! -e "$WS/$_n.upk" ] || die "$_n: a bundle was written"
}

mkdir -p "$WS/in" "$WS/lk"
U=$WS/in/linuxkit.efi
mk_uki "$U" 700000 uki-2
mk_uki "$WS/in/other-kernel-image.efi" 5000 other
gen_bytes 1048576 rootfs-2 >"$WS/rootfs2.img"

# --- 1. Taking the UKI out.
mk_esp "$WS/esp12.img" 8 12 "$U"
mk_esp "$WS/esp16.img" 40 16 "$U"
mk_esp "$WS/esp32.img" 40 32 "$U"
mk_gpt "$WS/lk/os-efi.img" "$WS/esp32.img" linux esp
cp "$WS/rootfs2.img" "$WS/lk/os-squashfs.img"
# Fragmented: a's clusters freed before the UKI goes in.
mk_esp "$WS/frag.img" 40 16 -
gen_bytes 65536 a >"$WS/a"
mcopy -i "$WS/frag.img" "$WS/a" ::/a
mcopy -i "$WS/frag.img" "$WS/a" ::/b
mdel -i "$WS/frag.img" ::/a
mcopy -i "$WS/frag.img" "$U" ::/EFI/Linux/linuxkit.efi
[ "$(mshowfat -i "$WS/frag.img" ::/EFI/Linux/linuxkit.efi |
    grep -o '<' | wc -l)" -ge 2 ] || die "frag.img: the UKI is not fragmented"

for k in esp12 esp16 esp32 frag; do
	create "$k" --uki "$WS/$k.img" --image rootfs="$WS/rootfs2.img"
	expect_rc "$k" 0
done
create lk --linuxkit "$WS/lk/os"
expect_rc lk 0
grep -q '^  uki  *files' "$WS/lk.out" || die "lk: no uki payload: $(cat "$WS/lk.out")"
grep -q '^  rootfs  *raw' "$WS/lk.out" || die "lk: no rootfs payload"
! grep -q '^  disk' "$WS/lk.out" || die "lk: the whole disk was bundled"
create direct --uki "$U" --image rootfs="$WS/rootfs2.img"
expect_rc direct 0
# The whole disk stays a choice, for reimaging.
create disk --image disk="$WS/lk/os-efi.img"
expect_rc disk 0

# --- 2. Bad inputs.
gen_bytes 1048576 junk >"$WS/junk.img"
refused notfat 'neither a UKI \(PE\), a GPT disk image nor an ESP image' \
    --uki "$WS/junk.img"
mk_gpt "$WS/noesp.img" "$WS/esp16.img" linux
refused noesp 'no EFI system partition' --uki "$WS/noesp.img"
mk_gpt "$WS/twoesp.img" "$WS/esp16.img" esp esp
refused twoesp 'two EFI system partitions, 1 and 2' --uki "$WS/twoesp.img"
head -c 8192 "$WS/lk/os-efi.img" >"$WS/gpthead.img"
refused gpttable 'truncated GPT' --uki "$WS/gpthead.img"
head -c $((60 << 20)) "$WS/lk/os-efi.img" >"$WS/gptcut.img"
refused gptcut 'truncated: EFI system partition 2' --uki "$WS/gptcut.img"
head -c $((10 << 20)) "$WS/esp16.img" >"$WS/espcut.img"
refused espcut 'truncated' --uki "$WS/espcut.img"
mk_esp "$WS/grub.img" 8 12
refused nolinux 'no EFI/Linux folder' --uki "$WS/grub.img"
mk_esp "$WS/empty.img" 8 12 -
refused nouki 'no UKI' --uki "$WS/empty.img"
mk_esp "$WS/two.img" 8 12 "$U" "$WS/in/other-kernel-image.efi"
refused twouki 'two UKIs in EFI/Linux, (linuxkit.efi and other-kernel-image.efi|other-kernel-image.efi and linuxkit.efi):' \
    --uki "$WS/two.img"
gen_bytes 4096 nope >"$WS/in/nope.efi"
mk_esp "$WS/nope.img" 8 12 "$WS/in/nope.efi"
refused notpe 'EFI/Linux/nope.efi: not a UKI: no PE header' \
    --uki "$WS/nope.img"
refused missing 'No such file' --uki "$WS/none.img"
mk_esp "$WS/lk/bad-efi.img" 8 12 -
refused lknouki 'no UKI' --linuxkit "$WS/lk/bad"

# --- 3. Installing: a device with bootloader = efi, rootfs and uki slots.
SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"
ESP=$DEV/esp VARS=$DEV/efivars LNX=$DEV/esp/EFI/Linux
mkdir -p "$ESP" "$VARS" "$DEV/health.d"
sed -i -e 's/^bootloader = uboot$/bootloader = efi/' \
    -e '/^\[uboot\]$/,/^config = /d' "$CFG"
cp "$CFG" "$WS/rootfs-only.conf"
printf '\n[efi]\nesp = %s\nefivarfs = %s\n' "$ESP" "$VARS" >>"$CFG"
printf '\n[health]\ndirectory = %s/health.d\n' "$DEV" >>"$CFG"
printf '\n[slot.uki.0]\ndevice = %s\ntype = uki\nbootname = A\n' "$ESP" >>"$CFG"
printf '\n[slot.uki.1]\ndevice = %s/\ntype = uki\nbootname = B\n' "$ESP" >>"$CFG"
mk_uki "$WS/uki-a.efi" 50000 uki-1

# The factory: A's UKI good, B's parked; the loader booted A.
factory()
{
	rm -rf "$ESP/EFI" "$ESP/loader" "$DATA"
	mkdir -p "$LNX" "$ESP/EFI/BOOT" "$ESP/loader" "$DATA"
	echo "systemd-boot" >"$ESP/EFI/BOOT/BOOTX64.EFI"
	echo "timeout 0" >"$ESP/loader/loader.conf"
	cp "$WS/uki-a.efi" "$LNX/upkit-1-A.efi"
	cp "$WS/uki-a.efi" "$LNX/upkit-B.off"
	: >"$ROOT_B"
	truncate -s "$SLOT_SIZE" "$ROOT_B"
	selected upkit-1-a.efi
}

names()
{
	ls -A "$LNX" | tr '\n' ' ' | sed 's/ $//'
}

expect_names()
{
	[ "$(names)" = "$1" ] || die "$2: EFI/Linux holds '$(names)', not '$1'"
}

# Slot B's UKI, whatever its name now.
b_uki()
{
	ls "$LNX" | grep '^upkit-.*B.*\.\(efi\|off\)$' | head -n 1
}

for k in esp12 esp16 esp32 frag lk direct; do
	factory
	run "up.$k" update -c "$CFG" --from "$WS/$k.upk" --no-reboot
	expect_rc "up.$k" 0
	expect_names "upkit-1-A.efi upkit-2-B+3.efi" "$k armed"
	cmp -s "$U" "$LNX/upkit-2-B+3.efi" ||
	    die "$k: the installed UKI is not the input, byte for byte"
	cmp -s -n 1048576 "$WS/rootfs2.img" "$ROOT_B" ||
	    die "$k: rootfs B is not the bundle's"
done
# The loader boots the new UKI, health commits: the bytes stay.
[ "$(loader_boot)" = B ] || die "the loader did not boot the armed B"
run health health -c "$CFG" --no-reboot
expect_rc health 0
expect_names "upkit-1-A.efi upkit-2-B.efi" "committed"
cmp -s "$U" "$LNX/upkit-2-B.efi" || die "the committed UKI changed"

# A device with a uki slot refuses a bundle without a UKI: B would boot
# the old UKI with the new root.
factory
create rootonly --image rootfs="$WS/rootfs2.img"
expect_rc rootonly 0
run up.rootonly update -c "$CFG" --from "$WS/rootonly.upk" --no-reboot
[ "$RC" -ne 0 ] || die "a bundle without a UKI was installed"
expect_msg up.rootonly 'no payload for slot class uki'
expect_names "upkit-1-A.efi upkit-B.off" "after the refusal"
cmp -s "$WS/uki-a.efi" "$LNX/upkit-B.off" || die "B's UKI changed"

# Config: a uki slot needs bootloader = efi and the ESP as its device.
sed 's/^bootloader = efi$/bootloader = grub/' "$CFG" >"$WS/grub.conf"
printf '\n[grub]\nenv = %s/grubenv\n' "$DEV" >>"$WS/grub.conf"
run conf.grub status -c "$WS/grub.conf"
[ "$RC" -ne 0 ] || die "a uki slot was taken with bootloader = grub"
expect_msg conf.grub 'type: uki needs bootloader = efi'
mkdir -p "$DEV/other"
sed "s|^device = $ESP/\$|device = $DEV/other|" "$CFG" >"$WS/other.conf"
run conf.other status -c "$WS/other.conf"
[ "$RC" -ne 0 ] || die "a uki slot outside the ESP was taken"
expect_msg conf.other "slot.uki.1\] device: $DEV/other is not the ESP"

{ cat "$CFG"; printf '\n[slot.kernel.0]\ndevice = %s\ntype = uki\nbootname = A\n' \
    "$ESP"; printf '\n[slot.kernel.1]\ndevice = %s\ntype = uki\nbootname = B\n' \
    "$ESP"; } >"$WS/two.conf"
run conf.two status -c "$WS/two.conf"
[ "$RC" -ne 0 ] || die "two uki slots of one bootname were taken"
expect_msg conf.two 'slot.kernel.0\] bootname: A is also the bootname of \[slot.uki.0\]'
# A raw payload is no UKI payload.
create rawuki --image uki="$U" --image rootfs="$WS/rootfs2.img"
expect_rc rawuki 0
run up.rawuki update -c "$CFG" --from "$WS/rawuki.upk" --no-reboot
[ "$RC" -ne 0 ] || die "a raw payload went into a uki slot"
expect_msg up.rawuki 'payload uki is raw but slot uki.1 is uki'
expect_names "upkit-1-A.efi upkit-B.off" "after the raw payload"

# --- 4. A power cut after each durable step on the ESP (powercut in
# tests/efiloader.sh: the badwrite shim kills upkit right after its K-th
# syncfs there): mark bad, the UKI writer's steps, the store, the arm.
k=1
while :; do
	factory
	powercut "cut$k" "$k" update -c "$CFG" --from "$WS/lk.upk" --no-reboot
	[ "$RC" -eq 137 ] || { expect_rc "cut$k" 0; break; }
	# The loader boots A as the factory left it, or B whole: its UKI
	# and its rootfs the bundle's.
	case $(loader_pick) in
	upkit-1-A.efi)
		cmp -s "$WS/uki-a.efi" "$LNX/upkit-1-A.efi" ||
		    die "cut $k: A's UKI changed" ;;
	upkit-*-B*)
		cmp -s "$U" "$LNX/$(loader_pick)" ||
		    die "cut $k: the loader picks B, whose UKI is not whole"
		cmp -s -n 1048576 "$WS/rootfs2.img" "$ROOT_B" ||
		    die "cut $k: the loader picks B, whose rootfs is not whole"
		[ "$(store_trial)" = B ] ||
		    die "cut $k: B counted but upkit knows no trial" ;;
	*)	die "cut $k: the loader picks nothing: $(names)" ;;
	esac
	run "cut$k.again" update -c "$CFG" --from "$WS/lk.upk" --no-reboot
	expect_rc "cut$k.again" 0
	expect_names "upkit-1-A.efi upkit-2-B+3.efi" "rerun after cut $k"
	cmp -s "$U" "$LNX/upkit-2-B+3.efi" || die "cut $k: rerun's UKI"
	k=$((k + 1))
done
# mark bad, remove the old parked UKI, the written UKI, its rename,
# the store, the arm: at least 5 steps to cut after.
[ "$k" -ge 6 ] || die "the update made only $((k - 1)) steps on the ESP"
echo "uki_payload: $((k - 1)) power cuts"
exit 0

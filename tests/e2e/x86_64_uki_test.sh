#!/bin/sh
# Real boots of boards/qemu-x86_64-uki: OVMF, Debian's systemd-boot 252,
# one UKI per slot (mkuki.sh: objcopy and the systemd stub), Debian's
# kernel, upkit (bootloader = efi) in the guest. The UKI's command line
# names no slot: the initrd mounts the root the loader's
# LoaderEntrySelected names. Scenarios (issue 12):
#  a. the real loader boots upkit's UKI and exports the id docs/efi.md
#     says (v252: the file name as found, lower case, counter included);
#     an update A -> B, made with --linuxkit from a raw-efi NAME-efi.img
#     and NAME-squashfs.img, writes B's UKI (the bundle's, byte for byte
#     on the ESP) and root, arms B as upkit-2-B+3.efi, the loader counts
#     the try and boots the new UKI (its command line says so), B passes
#     health, commits (no counter);
#  b. B's health check fails: rollback, B parked, A boots;
#  c. B panics before upkit runs: the loader renames B's UKI at each try
#     (+2-1, +1-2, +0-3), then boots A (+0 sorts last), and upkit on A
#     parks B and records the failed update;
#  d. QEMU is SIGKILLed during the install, after it, and in the trial's
#     boot before and after the commit: the names on the ESP are what
#     upkit's steps allow, the next boot carries on, and a good B boots
#     uncounted.
# Between boots the host lists ESP/EFI/Linux with mtools. E2E_ONLY="a b"
# runs only some scenarios; E2E_POINTS (see d) replays chosen kill points.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/e2e/lib.sh"
BOARD=$TOP/boards/qemu-x86_64-uki
X86=$TESTS/e2e/x86_64
OVMF=/usr/share/ovmf/OVMF.fd
SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
COMPATIBLE=upkit-qemu-x86_64-uki
ONLY=${E2E_ONLY:-a b c d}

need_upkit
need qemu-system-x86_64 sfdisk mkfs.vfat mcopy mmd mdir mksquashfs \
    mkfs.ext4 cpio apt-get dpkg-deb readelf objcopy objdump timeout tail awk
[ -f "$OVMF" ] || skip "$OVMF missing (apt-get install ovmf)"
[ -f "$SDBOOT" ] && [ -f "$STUB" ] ||
    skip "systemd-boot-efi not installed (no $SDBOOT or $STUB)"
file -L "$UPKIT" | grep -q 'x86-64' || die "$UPKIT is not an x86-64 program"

e2e_init
e2e_kernel amd64
e2e_busybox amd64
e2e_time "kernel $E2E_KVER, busybox $E2E_BUSYBOX"
mk_keys "$WS/keys"

# The initrd, in the UKI: the same for both slots (it picks the root by
# LoaderEntrySelected, tests/e2e/x86_64/initrd-init).
INITRD=$WS/initrd
e2e_bb_root "$INITRD"
mkdir -p "$INITRD/proc" "$INITRD/sys" "$INITRD/dev" "$INITRD/newroot"
e2e_modules "$INITRD" virtio_pci virtio_blk squashfs vfat nls_cp437 \
    nls_ascii nls_utf8 ext4 crc32c_generic efivarfs
e2e_guest_lib "$INITRD"
cp "$X86/initrd-init" "$INITRD/init"
mkdir -p "$WS/out"
e2e_cpio "$INITRD" "$WS/out/uki-initrd.img"
cp "$E2E_VMLINUZ" "$WS/out/uki-kernel"
echo "console=ttyS0 panic=-1 quiet" >"$WS/out/uki-cmdline"
STUB=$STUB sh "$BOARD/mkuki.sh" "$WS/out/uki" "$WS/uki.efi" ||
    die "mkuki.sh"
objdump -h "$WS/uki.efi" | grep -q '\.osrel' || die "uki.efi has no .osrel"
# The bundles' UKI (upkit.conf has uki slots): the same kernel and
# initrd, a command line that tells it apart in the guest.
cp "$WS/out/uki-kernel" "$WS/out/uki2-kernel"
cp "$WS/out/uki-initrd.img" "$WS/out/uki2-initrd.img"
echo "console=ttyS0 panic=-1 quiet upkit.e2e.uki=2" >"$WS/out/uki2-cmdline"
STUB=$STUB sh "$BOARD/mkuki.sh" "$WS/out/uki2" "$WS/uki2.efi" ||
    die "mkuki.sh uki2"

# mk_root NAME VERSION KIND: the squashfs root $WS/out/NAME-squashfs.img.
# KIND: good (one passing check), badhealth (a failing check), panic
# (its /init exits at once: the kernel panics before upkit runs).
mk_root()
{
	_r=$WS/root-$1
	rm -rf "$_r"
	e2e_bb_root "$_r"
	mkdir -p "$_r/proc" "$_r/sys" "$_r/dev" "$_r/tmp" "$_r/boot/efi" \
	    "$_r/var/lib/upkit" "$_r/etc/upkit/health.d" "$_r/usr/bin" \
	    "$_r/usr/local/sbin"
	cp "$UPKIT" "$_r/usr/bin/upkit"
	e2e_libs "$_r" "$UPKIT" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu
	e2e_guest_lib "$_r"
	cp "$X86/rootfs-init" "$_r/init"
	cp "$X86/reboot" "$_r/usr/local/sbin/reboot"
	cp "$BOARD/upkit.conf" "$_r/etc/upkit/upkit.conf"
	cp "$WS/keys/root.pem" "$_r/etc/upkit/keyring.pem"
	echo "$2" >"$_r/etc/upkit-e2e-version"
	# A real check: the slot that booted has its UKI on the ESP.
	printf '#!/bin/sh\nls /boot/efi/EFI/Linux/upkit-*-"$UPKIT_SLOT"*.efi\n' \
	    >"$_r/etc/upkit/health.d/10-uki"
	if [ "$3" = badhealth ]; then
		printf '#!/bin/sh\necho "e2e: this check fails"\nexit 3\n' \
		    >"$_r/etc/upkit/health.d/20-fail"
	fi
	chmod 0755 "$_r"/etc/upkit/health.d/*
	if [ "$3" = panic ]; then
		printf '#!/bin/sh\necho "UPKIT-E2E init exits: panic"\nexit 1\n' \
		    >"$_r/init"
	fi
	mksquashfs "$_r" "$WS/out/$1-squashfs.img" -noappend -all-root \
	    -comp gzip -quiet -no-progress >/dev/null || die "mksquashfs $_r"
	rm -rf "$_r"
}

# mk_bdisk NAME [ARG...]: signs NAME's root (2.0.0) and uki2.efi as a
# bundle on a raw disk $WS/NAME.bdisk, or the inputs ARG...; BSIZE_NAME
# holds the bundle's size.
mk_bdisk()
{
	_n=$1
	shift
	[ $# -gt 0 ] || set -- --image "rootfs=$WS/out/$_n-squashfs.img" \
	    --uki "$WS/uki2.efi"
	# Level 3: the UKI (kernel, initrd) compresses little, and level 19
	# of it cost the build more than the smaller bundle saves.
	mk_bundle "$WS/keys" "$WS/$_n.upk" 2.0.0 --level 3 "$@"
	e2e_rawdisk "$WS/$_n.upk" "$WS/$_n.bdisk"
	eval "BSIZE_$_n=$(filesize "$WS/$_n.upk")"
}

# LinuxKit's raw-efi output as its make-efi writes it: GPT, one ESP with
# systemd-boot, loader.conf and one UKI; beside it the squashfs root.
mk_rawefi()
{
	truncate -s 48M "$WS/lk-esp.img"
	mkfs.vfat -n ESP "$WS/lk-esp.img" >/dev/null || die "mkfs.vfat"
	mmd -i "$WS/lk-esp.img" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/loader
	mcopy -i "$WS/lk-esp.img" "$SDBOOT" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$WS/lk-esp.img" "$BOARD/loader.conf" ::/loader/loader.conf
	mcopy -i "$WS/lk-esp.img" "$WS/uki2.efi" ::/EFI/Linux/linuxkit.efi
	truncate -s 50M "$1-efi.img"
	echo 'label: gpt
start=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' |
	    sfdisk -q "$1-efi.img" >/dev/null || die "sfdisk raw-efi"
	dd if="$WS/lk-esp.img" of="$1-efi.img" bs=1M seek=1 conv=notrunc \
	    status=none
	rm -f "$WS/lk-esp.img"
}

mk_root factory 1.0.0 good
mk_root good 2.0.0 good
mk_root badhealth 2.0.0 badhealth
mk_root panic 2.0.0 panic
mkdir -p "$WS/lk"
mk_rawefi "$WS/lk/good"
mv "$WS/out/good-squashfs.img" "$WS/lk/good-squashfs.img"
mk_bdisk good --linuxkit "$WS/lk/good"
"$UPKIT" bundle info "$WS/good.upk" | grep -q '^payload uki: class uki' ||
    die "--linuxkit took no UKI out of good-efi.img"
rm -rf "$WS/lk"
mk_bdisk badhealth
mk_bdisk panic
e2e_time "UKI, images and bundles built"

# The factory disk: layout.sfdisk, the ESP (mkesp.sh: systemd-boot,
# loader.conf, A's UKI good, B's parked), rootfs A, an ext4 data
# partition.
DISK0=$WS/factory.img
truncate -s 512M "$DISK0"
sfdisk -q "$DISK0" <"$BOARD/layout.sfdisk" >/dev/null || die "sfdisk"
part()
{
	set -- $(sfdisk -d "$DISK0" | sed -n "s|^$DISK0$1 : start= *\([0-9]*\), size= *\([0-9]*\).*|\1 \2|p")
	[ $# -eq 2 ] || die "partition $1 not found"
	P_START=$(($1 * 512)) P_SIZE=$(($2 * 512))
}
part 1
ESP_OFF=$P_START
SDBOOT=$SDBOOT sh "$BOARD/mkesp.sh" "$WS/esp.img" $((P_SIZE / 1048576)) \
    "$WS/uki.efi" "$WS/uki.efi" || die "mkesp.sh"
dd if="$WS/esp.img" of="$DISK0" bs=1M seek="$((ESP_OFF / 1048576))" \
    conv=notrunc status=none
part 2
[ "$(filesize "$WS/out/factory-squashfs.img")" -le "$P_SIZE" ] ||
    die "rootfs image larger than its partition"
dd if="$WS/out/factory-squashfs.img" of="$DISK0" bs=1M \
    seek="$((P_START / 1048576))" conv=notrunc status=none
part 4
truncate -s "$P_SIZE" "$WS/data.img"
mkfs.ext4 -q -F -L data "$WS/data.img" >/dev/null || die "mkfs.ext4"
dd if="$WS/data.img" of="$DISK0" bs=1M seek="$((P_START / 1048576))" \
    conv=notrunc,sparse status=none
rm -f "$WS/esp.img" "$WS/data.img"
e2e_time "factory disk built"

ACCEL=$(e2e_accel qemu-system-x86_64 -machine q35 -m 512 \
    -kernel "$E2E_VMLINUZ")
e2e_time "accelerator: $ACCEL"

# boot NAME DISK [BDISK]: as in x86_64_efi_test.sh.
boot()
{
	_n=$1 _d=$2 _b=${3:-}
	e2e_ctl "$WS/$_n.ctl"
	set -- qemu-system-x86_64 -machine q35 -accel "$ACCEL" -m 512 \
	    -bios "$OVMF" \
	    -drive "if=none,id=d0,format=raw,file=$_d" \
	    -device virtio-blk-pci,drive=d0,bootindex=0 \
	    -drive "if=none,id=d1,format=raw,readonly=on,file=$WS/$_n.ctl" \
	    -device virtio-blk-pci,drive=d1,serial=upkit-ctl
	if [ -n "$_b" ]; then
		set -- "$@" \
		    -drive "if=none,id=d2,format=raw,readonly=on,file=$_b" \
		    -device virtio-blk-pci,drive=d2,serial=upkit-bundle
	fi
	_t=$(date +%s)
	e2e_boot "$_n" "$@" || e2e_fail "$_n" "QEMU exit code $?"
	e2e_time "boot $_n: $(($(date +%s) - _t)) s, entry \
'$(entry "$_n")', booted '$(e2e_booted "$_n")'$([ "$E2E_KILLED" = 0 ] ||
	    echo ", killed")"
}

install_step()
{
	eval "_sz=\$BSIZE_$1"
	cat <<-EOF
	bdl=\$(e2e_disk upkit-bundle)
	head -c $_sz "\$bdl" | upkit update --from - --json ${2:-}
	echo "UPKIT-E2E update rc=\$?"
	EOF
}

STATUS_STEP='echo "UPKIT-E2E status $(upkit status --json | tr -d "\n\t ")"
echo "UPKIT-E2E cmdline $(cat /proc/cmdline)"'

# entry NAME: the LoaderEntrySelected the initrd saw in boot NAME.
entry()
{
	tr -d '\r' <"$WS/$1.log" |
	    sed -n 's/^UPKIT-E2E loader-entry=//p' | head -n 1
}

# uki DISK: the names in ESP/EFI/Linux of DISK, sorted, on one line.
uki()
{
	mdir -b -i "$1@@$ESP_OFF" ::/EFI/Linux | sed 's|^::/EFI/Linux/||' |
	    sort | tr '\n' ' ' | sed 's/ $//'
}

# expect_uki NAME DISK NAMES: after boot NAME.
expect_uki()
{
	_got=$(uki "$2")
	[ "$_got" = "$3" ] ||
	    e2e_fail "$1" "EFI/Linux holds '$_got', expected '$3'"
}

expect_entry()
{
	[ "$(entry "$1")" = "$2" ] ||
	    e2e_fail "$1" "LoaderEntrySelected '$(entry "$1")', expected $2"
}

expect_booted()
{
	[ "$(e2e_booted "$1")" = "$2" ] ||
	    e2e_fail "$1" "booted '$(e2e_booted "$1")', expected $2"
}

fresh()
{
	cp --sparse=always "$DISK0" "$WS/$1.img"
}

# a. The loader's pick and id, then an update that commits.
case " $ONLY " in *" a "*)
fresh a
install_step good | boot a1 "$WS/a.img" "$WS/good.bdisk"
expect_entry a1 upkit-1-a.efi
expect_booted a1 A
e2e_expect a1 '"result":"installed".*"target":"B"'
e2e_expect a1 '^UPKIT-E2E reboot'
expect_uki a1 "$WS/a.img" "upkit-1-A.efi upkit-2-B+3.efi"
# The UKI the guest's vfat holds is the bundle's, byte for byte.
mcopy -n -i "$WS/a.img@@$ESP_OFF" ::/EFI/Linux/upkit-2-B+3.efi "$WS/b.efi"
cmp -s "$WS/b.efi" "$WS/uki2.efi" ||
    e2e_fail a1 "B's UKI on the ESP is not the bundle's"
rm -f "$WS/b.efi"
cp --sparse=always "$WS/a.img" "$WS/a1.img"	# B armed: for d
echo "$STATUS_STEP" | boot a2 "$WS/a.img"
# v252 exports the id before it counts the try.
expect_entry a2 'upkit-2-b+3.efi'
expect_booted a2 B
e2e_expect a2 'booted=B version=2\.0\.0'
e2e_expect a2 '^UPKIT-E2E cmdline .*upkit\.e2e\.uki=2'
e2e_expect a2 '"result":"committed"'
e2e_expect a2 'UPKIT-E2E status .*"rootfs.1"[^}]*"version":"2\.0\.0","state":"good"'
expect_uki a2 "$WS/a.img" "upkit-1-A.efi upkit-2-B.efi"
# That good B boots uncounted is checked at the end of d.
rm -f "$WS/a.img"
;; esac

# b. B fails its health check: rolled back by upkit, A boots again.
case " $ONLY " in *" b "*)
fresh b
install_step badhealth | boot b1 "$WS/b.img" "$WS/badhealth.bdisk"
expect_booted b1 A
expect_uki b1 "$WS/b.img" "upkit-1-A.efi upkit-2-B+3.efi"
echo "$STATUS_STEP" | boot b2 "$WS/b.img"
expect_entry b2 'upkit-2-b+3.efi'
expect_booted b2 B
e2e_expect b2 '"result":"rolled-back".*20-fail: exited with status 3'
e2e_expect b2 '^UPKIT-E2E reboot'
# B is parked before the reboot; the loader then boots A (as in c5).
expect_uki b2 "$WS/b.img" "upkit-1-A.efi upkit-B.off"
rm -f "$WS/b.img"
;; esac

# c. B panics before upkit runs: only the loader's counter gets A back.
case " $ONLY " in *" c "*)
fresh c
install_step panic | boot c1 "$WS/c.img" "$WS/panic.bdisk"
expect_booted c1 A
expect_uki c1 "$WS/c.img" "upkit-1-A.efi upkit-2-B+3.efi"
prev=upkit-2-b+3.efi
for next in 2-1 1-2 0-3; do
	echo "$STATUS_STEP" | boot "c.$next" "$WS/c.img"
	expect_entry "c.$next" "$prev"
	e2e_expect "c.$next" 'UPKIT-E2E init exits: panic'
	e2e_expect "c.$next" 'Kernel panic'
	[ -z "$(e2e_booted "c.$next")" ] || e2e_fail "c.$next" "upkit ran on B"
	expect_uki "c.$next" "$WS/c.img" "upkit-1-A.efi upkit-2-B+$next.efi"
	prev=upkit-2-b+$next.efi
done
echo "$STATUS_STEP" | boot c5 "$WS/c.img"
expect_entry c5 upkit-1-a.efi
expect_booted c5 A
e2e_expect c5 'booted=A version=1\.0\.0'
e2e_expect c5 'UPKIT-E2E status .*"rootfs.1"[^}]*"state":"bad"'
e2e_expect c5 'UPKIT-E2E status .*"last_update":[^}]*"result":"rolled-back","reason":"slotBdidnotboot'
expect_uki c5 "$WS/c.img" "upkit-1-A.efi upkit-B.off"
rm -f "$WS/c.img"
;; esac

# d. Power cuts: QEMU is SIGKILLed the moment a line shows on the serial
# console (E2E_KILL_AT). The guest runs on until the signal lands, so a
# check after a kill accepts every state upkit's steps allow from that
# line on, unless the guest waits there ("parked", "held").
#  d1. the install's last read-back line: B is written; the arm (store
#      write, then rename) may have run, in part or whole, or not;
#  d2. the next boot: on A the install reruns and returns, then the
#      guest parks (B armed, nothing else synced); on B (armed in d1) the
#      trial commits;
#  d3. B's trial boot, held before upkit runs: the loader has counted
#      the try, so the next boot is B's second try;
#  d4. upkit has committed B: the next boot (d5) is B, uncounted.
case " $ONLY " in *" d "*)
fresh d
TOTAL=$("$UPKIT" bundle info "$WS/good.upk" |
    awk '/^  size / { sub(",", "", $2); t += $2 } END { print t + 0 }')
VEND="\"phase\":\"verify\"[^}]*\"done\":$TOTAL,"
# kill_at NAME REGEX [BDISK]: boot NAME with the step on stdin, killed
# at the first line matching REGEX.
kill_at()
{
	E2E_KILL_AT=$2 E2E_KILL_NTH=1 boot "$1" "$WS/d.img" ${3:+"$3"}
	[ "$E2E_KILLED" = 1 ] || e2e_fail "$1" "never reached /$2/"
}
PARK='echo "UPKIT-E2E parked"; exec tail -f /dev/null'
{ install_step good --no-reboot; echo "$PARK"; } >"$WS/step"
kill_at d1 "$VEND" "$WS/good.bdisk" <"$WS/step"
expect_booted d1 A
# B's UKI: parked, written aside (docs/efi.md, "The UKI payload"), or
# armed, whichever the signal came after.
case $(uki "$WS/d.img") in
"upkit-1-A.efi upkit-B.off"|"upkit-1-A.efi upkit-2-B+3.efi") ;;
".upkit-B.new upkit-1-A.efi"|"upkit-1-A.efi") ;;
*) e2e_fail d1 "EFI/Linux after the kill: $(uki "$WS/d.img")" ;;
esac
{
	echo 'if [ "$(e2e_entry_slot "$(e2e_loader_entry)")" = A ]; then'
	install_step good --no-reboot
	echo 'fi'
	echo "$PARK"
} >"$WS/step"
kill_at d2 '^UPKIT-E2E parked' "$WS/good.bdisk" <"$WS/step"
case $(e2e_booted d2) in
A)	expect_entry d2 upkit-1-a.efi
	e2e_expect d2 '"result":"installed".*"target":"B"'
	expect_uki d2 "$WS/d.img" "upkit-1-A.efi upkit-2-B+3.efi" ;;
B)	expect_entry d2 'upkit-2-b+3.efi'
	e2e_expect d2 '"result":"committed"'
	expect_uki d2 "$WS/d.img" "upkit-1-A.efi upkit-2-B.efi" ;;
*)	e2e_fail d2 "no slot booted after the kill" ;;
esac
# The trial's cuts start from B armed: d2's disk, else a1's.
if [ "$(uki "$WS/d.img")" != "upkit-1-A.efi upkit-2-B+3.efi" ]; then
	if [ -f "$WS/a1.img" ]; then
		cp --sparse=always "$WS/a1.img" "$WS/d.img"
	else
		fresh d
		install_step good | boot d.arm "$WS/d.img" "$WS/good.bdisk"
		expect_uki d.arm "$WS/d.img" "upkit-1-A.efi upkit-2-B+3.efi"
	fi
fi
{ echo '#hold'; echo "$STATUS_STEP"; } >"$WS/step"
kill_at d3 '^UPKIT-E2E held' <"$WS/step"
expect_entry d3 'upkit-2-b+3.efi'
expect_booted d3 B
expect_uki d3 "$WS/d.img" "upkit-1-A.efi upkit-2-B+2-1.efi"
echo "$STATUS_STEP" >"$WS/step"
kill_at d4 '"result":"committed"' <"$WS/step"
expect_entry d4 'upkit-2-b+2-1.efi'
expect_booted d4 B
expect_uki d4 "$WS/d.img" "upkit-1-A.efi upkit-2-B.efi"
# Good means uncounted: the loader boots it and renames nothing.
boot d5 "$WS/d.img" <"$WS/step"
expect_entry d5 upkit-2-b.efi
expect_booted d5 B
e2e_expect d5 'UPKIT-E2E health rc=0'
e2e_expect d5 'UPKIT-E2E status .*"rootfs.1"[^}]*"version":"2\.0\.0","state":"good"'
e2e_expect d5 'UPKIT-E2E status .*"last_update":[^}]*"result":"committed"'
expect_uki d5 "$WS/d.img" "upkit-1-A.efi upkit-2-B.efi"
rm -f "$WS/d.img" "$WS/a1.img"
;; esac

exit 0

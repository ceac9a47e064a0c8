#!/bin/sh
# Real boots of boards/qemu-x86_64-efi: OVMF, the board's GRUB and
# grub.cfg, Debian's kernel, upkit in the guest. Scenarios (issue 3):
#  a. update A -> B, B boots as a trial, passes health, commits, and keeps
#     booting as the committed slot;
#  b. B's health check fails: rollback, A boots, status names the check;
#  c. B's initrd dies before upkit runs (kernel panic): GRUB uses up B's
#     attempts (checked after each boot), falls back to A, and upkit on A
#     records the failed update;
#  d. QEMU is SIGKILLed during the install and around the env write (a
#     fixed list of points; more with SOAK=1): the next boot reaches a
#     good slot consistent with the env, and a rerun completes.
# Between boots the host reads grubenv from the disk image with
# grub-editenv (what upkit wrote; upkit in turn reads GRUB's decrements).
# E2E_ONLY="a b" runs only some scenarios; E2E_POINTS (see d) replays
# chosen kill points.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/e2e/lib.sh"
BOARD=$TOP/boards/qemu-x86_64-efi
X86=$TESTS/e2e/x86_64
OVMF=/usr/share/ovmf/OVMF.fd
COMPATIBLE=upkit-qemu-x86_64-efi
ONLY=${E2E_ONLY:-a b c d}

need_upkit
need qemu-system-x86_64 grub-mkimage grub-editenv sfdisk mkfs.vfat mcopy \
    mmd mksquashfs mkfs.ext4 cpio apt-get dpkg-deb readelf timeout tail awk
[ -f "$OVMF" ] || skip "$OVMF missing (apt-get install ovmf)"
[ -d /usr/lib/grub/x86_64-efi ] || skip "grub-efi-amd64-bin not installed"
file -L "$UPKIT" | grep -q 'x86-64' || die "$UPKIT is not an x86-64 program"

e2e_init
e2e_kernel amd64
e2e_busybox amd64
e2e_time "kernel $E2E_KVER, busybox $E2E_BUSYBOX"
mk_keys "$WS/keys"

# Stage 1 (initrd.img), the same for every slot but the panicking one.
INITRD=$WS/initrd
e2e_bb_root "$INITRD"
mkdir -p "$INITRD/proc" "$INITRD/sys" "$INITRD/dev" "$INITRD/newroot"
e2e_modules "$INITRD" virtio_pci virtio_blk squashfs vfat nls_cp437 \
    nls_ascii nls_utf8 ext4 crc32c_generic
e2e_guest_lib "$INITRD"
cp "$X86/initrd-init" "$INITRD/init"
e2e_cpio "$INITRD" "$WS/initrd.img"
printf '#!/bin/sh\necho "UPKIT-E2E initrd exits: panic"\nexit 1\n' \
    >"$INITRD/init"
e2e_cpio "$INITRD" "$WS/initrd-panic.img"

# mk_slot NAME VERSION KIND: LinuxKit-style outputs $WS/out/NAME-kernel,
# -initrd.img, -cmdline, -squashfs.img and the boot folder $WS/NAME.boot
# (the board's mkboot.sh). KIND: good (one passing check), badhealth (a
# failing check), panic (the initrd's /init exits at once).
mk_slot()
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
	# A real check: the slot that booted has its kernel on the ESP.
	printf '#!/bin/sh\ntest -s "/boot/efi/$UPKIT_SLOT/kernel"\n' \
	    >"$_r/etc/upkit/health.d/10-kernel"
	if [ "$3" = badhealth ]; then
		printf '#!/bin/sh\necho "e2e: this check fails"\nexit 3\n' \
		    >"$_r/etc/upkit/health.d/20-fail"
	fi
	chmod 0755 "$_r"/etc/upkit/health.d/*
	mkdir -p "$WS/out"
	mksquashfs "$_r" "$WS/out/$1-squashfs.img" -noappend -all-root \
	    -comp gzip -quiet -no-progress >/dev/null || die "mksquashfs $_r"
	rm -rf "$_r"
	cp "$E2E_VMLINUZ" "$WS/out/$1-kernel"
	if [ "$3" = panic ]; then
		cp "$WS/initrd-panic.img" "$WS/out/$1-initrd.img"
	else
		cp "$WS/initrd.img" "$WS/out/$1-initrd.img"
	fi
	echo "console=ttyS0 panic=-1 quiet" >"$WS/out/$1-cmdline"
	rm -rf "$WS/$1.boot"
	sh "$BOARD/mkboot.sh" "$WS/out/$1" "$WS/$1.boot" ||
	    die "mkboot.sh $1"
}

# mk_bdisk NAME: signs NAME (2.0.0) as a bundle and puts it on a raw disk
# $WS/NAME.bdisk; BSIZE_NAME holds the bundle's size.
mk_bdisk()
{
	mk_bundle "$WS/keys" "$WS/$1.upk" 2.0.0 --files "boot=$WS/$1.boot" \
	    --image "rootfs=$WS/out/$1-squashfs.img"
	e2e_rawdisk "$WS/$1.upk" "$WS/$1.bdisk"
	eval "BSIZE_$1=$(filesize "$WS/$1.upk")"
}

mk_slot factory 1.0.0 good
mk_slot good 2.0.0 good
mk_slot badhealth 2.0.0 badhealth
mk_slot panic 2.0.0 panic
mk_bdisk good
mk_bdisk badhealth
mk_bdisk panic
e2e_time "images and bundles built"

# The factory disk: layout.sfdisk, the ESP with GRUB, grub.cfg, grubenv
# and slot A's boot folder, rootfs A, an ext4 data partition.
DISK0=$WS/factory.img
truncate -s 512M "$DISK0"
sfdisk -q "$DISK0" <"$BOARD/layout.sfdisk" >/dev/null || die "sfdisk"
# part N: sets P_START and P_SIZE in bytes.
part()
{
	set -- $(sfdisk -d "$DISK0" | sed -n "s|^$DISK0$1 : start= *\([0-9]*\), size= *\([0-9]*\).*|\1 \2|p")
	[ $# -eq 2 ] || die "partition $1 not found"
	P_START=$(($1 * 512)) P_SIZE=$(($2 * 512))
}
part 1
ESP_OFF=$P_START
truncate -s "$P_SIZE" "$WS/esp.img"
mkfs.vfat -n ESP "$WS/esp.img" >/dev/null || die "mkfs.vfat"
sh "$BOARD/mkgrub.sh" "$WS/BOOTX64.EFI" || die "mkgrub.sh"
grub-editenv "$WS/grubenv" create
grub-editenv "$WS/grubenv" set "BOOT_ORDER=A B" BOOT_A_LEFT=3 BOOT_B_LEFT=3
mmd -i "$WS/esp.img" ::/EFI ::/EFI/BOOT ::/A ::/B
mcopy -i "$WS/esp.img" "$WS/BOOTX64.EFI" "$BOARD/grub.cfg" "$WS/grubenv" \
    ::/EFI/BOOT/
mcopy -i "$WS/esp.img" "$WS/factory.boot"/* ::/A/
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

# boot NAME DISK [BDISK]: boots DISK once with the step script on stdin;
# BDISK is attached as the bundle disk. E2E_KILL_AT: see e2e_boot.
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
	e2e_time "boot $_n: $(($(date +%s) - _t)) s, booted \
'$(e2e_booted "$_n")'$([ "$E2E_KILLED" = 0 ] || echo ", killed")"
}

# install_step NAME [--no-reboot]: the step that installs bundle NAME
# from the bundle disk, streamed through a pipe.
install_step()
{
	eval "_sz=\$BSIZE_$1"
	cat <<-EOF
	bdl=\$(e2e_disk upkit-bundle)
	head -c $_sz "\$bdl" | upkit update --from - --json ${2:-}
	echo "UPKIT-E2E update rc=\$?"
	EOF
}

STATUS_STEP='echo "UPKIT-E2E status $(upkit status --json | tr -d "\n\t ")"'

# genv DISK: the grubenv on DISK, as grub-editenv lists it, in $WS/genv.
genv()
{
	rm -f "$WS/genv.bin"
	mcopy -i "$1@@$ESP_OFF" ::/EFI/BOOT/grubenv "$WS/genv.bin" ||
	    die "mcopy grubenv from $1"
	[ "$(filesize "$WS/genv.bin")" -eq 1024 ] ||
	    die "grubenv on $1 is $(filesize "$WS/genv.bin") bytes"
	grub-editenv "$WS/genv.bin" list >"$WS/genv" ||
	    die "grub-editenv cannot read grubenv on $1"
}

genv_get()
{
	sed -n "s/^$1=//p" "$WS/genv"
}

# expect_env NAME DISK ORDER A_LEFT B_LEFT: after boot NAME.
expect_env()
{
	genv "$2"
	_got="$(genv_get BOOT_ORDER)/$(genv_get BOOT_A_LEFT)/$(genv_get BOOT_B_LEFT)"
	[ "$_got" = "$3/$4/$5" ] ||
	    e2e_fail "$1" "grubenv is $_got, expected $3/$4/$5"
}

expect_booted()
{
	[ "$(e2e_booted "$1")" = "$2" ] ||
	    e2e_fail "$1" "booted '$(e2e_booted "$1")', expected $2"
}

# fresh NAME: a copy of the factory disk, $WS/NAME.img.
fresh()
{
	cp --sparse=always "$DISK0" "$WS/$1.img"
}

# a. Update and commit.
case " $ONLY " in *" a "*)
fresh a
install_step good | boot a1 "$WS/a.img" "$WS/good.bdisk"
expect_booted a1 A
e2e_expect a1 '"result":"installed".*"target":"B"'
e2e_expect a1 '^UPKIT-E2E reboot'
expect_env a1 "$WS/a.img" "B A" 3 3
echo "$STATUS_STEP" | boot a2 "$WS/a.img"
expect_booted a2 B
e2e_expect a2 'booted=B version=2\.0\.0'
e2e_expect a2 '"result":"committed"'
e2e_expect a2 'UPKIT-E2E status .*"rootfs.1"[^}]*"version":"2\.0\.0","state":"good"'
e2e_expect a2 'UPKIT-E2E status .*"last_update":[^}]*"result":"committed"'
expect_env a2 "$WS/a.img" "B A" 3 3
# The committed slot keeps booting: GRUB counts it down, health resets.
echo "$STATUS_STEP" | boot a3 "$WS/a.img"
expect_booted a3 B
e2e_expect a3 'counter reset'
expect_env a3 "$WS/a.img" "B A" 3 3
rm -f "$WS/a.img"
;; esac

# b. B fails its health check: rolled back by upkit, A boots again.
case " $ONLY " in *" b "*)
fresh b
install_step badhealth | boot b1 "$WS/b.img" "$WS/badhealth.bdisk"
expect_booted b1 A
e2e_expect b1 '"result":"installed".*"target":"B"'
expect_env b1 "$WS/b.img" "B A" 3 3
echo "$STATUS_STEP" | boot b2 "$WS/b.img"
expect_booted b2 B
e2e_expect b2 '"result":"rolled-back".*20-fail: exited with status 3'
e2e_expect b2 '^UPKIT-E2E reboot'
# upkit rebooted (no "health rc" line: the reset ended the boot).
# Never a bad slot in the order: B is out of it before the reboot.
expect_env b2 "$WS/b.img" A 3 0
echo "$STATUS_STEP" | boot b3 "$WS/b.img"
expect_booted b3 A
e2e_expect b3 'UPKIT-E2E status .*"rootfs.1"[^}]*"state":"bad"'
e2e_expect b3 'UPKIT-E2E status .*"last_update":[^}]*"result":"rolled-back","reason":"[^"]*20-fail:exitedwithstatus3'
expect_env b3 "$WS/b.img" A 3 0
rm -f "$WS/b.img"
;; esac

# c. B panics before upkit runs: only GRUB's counter gets A back.
case " $ONLY " in *" c "*)
fresh c
install_step panic | boot c1 "$WS/c.img" "$WS/panic.bdisk"
expect_booted c1 A
expect_env c1 "$WS/c.img" "B A" 3 3
for i in 2 1 0; do
	echo "$STATUS_STEP" | boot "c.b$i" "$WS/c.img"
	e2e_expect "c.b$i" 'upkit: booting slot B'
	e2e_expect "c.b$i" 'Kernel panic'
	[ -z "$(e2e_booted "c.b$i")" ] || e2e_fail "c.b$i" "upkit ran on B"
	expect_env "c.b$i" "$WS/c.img" "B A" 3 "$i"
done
echo "$STATUS_STEP" | boot c5 "$WS/c.img"
expect_booted c5 A
e2e_expect c5 'booted=A version=1\.0\.0'
e2e_expect c5 'UPKIT-E2E status .*"rootfs.1"[^}]*"state":"bad"'
e2e_expect c5 'UPKIT-E2E status .*"last_update":[^}]*"result":"rolled-back","reason":"slotBdidnotboot'
expect_env c5 "$WS/c.img" A 3 0
rm -f "$WS/c.img"
;; esac

# d. Power cuts: QEMU is SIGKILLed when a line of the install shows on
# the serial console (NTH REGEX, an awk regex). Progress lines come about
# one per 1 MiB chunk; the last "verify" line is followed only by the swap
# of the boot folder and the env write that arms B.
case " $ONLY " in *" d "*)
# With under 100 chunks, nearly every chunk moves the percentage.
NCHUNK=$("$UPKIT" bundle info "$WS/good.upk" |
    awk '/ chunks of / { n += $(NF - 3) } END { print n + 0 }')
[ "$NCHUNK" -gt 2 ] && [ "$NCHUNK" -lt 100 ] ||
    die "good.upk has $NCHUNK chunks; the kill points need 3..99"
W='"phase":"write"'
V='"phase":"verify"'
# A line per chunk is not certain: a chunk too small to move the
# percentage (the tail of a payload) shows none. The end of each phase
# is the line whose done is the total.
TOTAL=$("$UPKIT" bundle info "$WS/good.upk" |
    awk '/^  size / { sub(",", "", $2); t += $2 } END { print t + 0 }')
WEND="$W[^}]*\"done\":$TOTAL,"
VEND="$V[^}]*\"done\":$TOTAL,"
# The last point is a power cut once `upkit update` has returned success
# and nothing else has synced: B is armed and must be whole on disk, so
# the next boot is B's trial, which must commit.
POINTS="1 signature and certificate chain verified
1 marked bad for writing
1 $W
1 $WEND
$(((NCHUNK + 1) / 2)) $V
1 $VEND
1 ^UPKIT-E2E parked"
if [ "${SOAK:-0}" = 1 ]; then
	i=2
	while [ "$i" -lt "$NCHUNK" ]; do
		POINTS="$POINTS
$i $W
$i $V"
		i=$((i + 1))
	done
	POINTS="$POINTS
1 writing slot B
1 $V
$(((NCHUNK + 1) / 2)) $W"
fi
# E2E_POINTS replaces the list (lines "NTH REGEX"), to replay one point.
POINTS=${E2E_POINTS:-$POINTS}
k=0
while read -r nth re; do
	k=$((k + 1))
	fresh d
	# Not in a pipeline: boot must set E2E_KILLED in this shell.
	# The guest parks after the install (no sync, no power-off) until
	# the kill, which therefore always lands somewhere in the install.
	{
		install_step good --no-reboot
		echo 'echo "UPKIT-E2E parked"; exec tail -f /dev/null'
	} >"$WS/step"
	E2E_KILL_AT=$re E2E_KILL_NTH=$nth \
	    boot "d$k.kill" "$WS/d.img" "$WS/good.bdisk" <"$WS/step"
	[ "$E2E_KILLED" = 1 ] ||
	    e2e_fail "d$k.kill" "never reached line $nth of /$re/"
	# B may be armed only once its last chunk was read back.
	armed=0
	! grep -Eq "$VEND" "$WS/d$k.kill.log" || armed=1
	genv "$WS/d.img"
	order=$(genv_get BOOT_ORDER)
	case "$order/$(genv_get BOOT_A_LEFT)/$(genv_get BOOT_B_LEFT)" in
	"A B/"[23]/3|A/[23]/0) ;;
	"B A/"[23]/3) [ "$armed" = 1 ] || e2e_fail "d$k.kill" \
	    "B armed before its write was verified" ;;
	*) e2e_fail "d$k.kill" "grubenv after the kill: $(cat "$WS/genv")" ;;
	esac
	{
		echo 'if grep -q upkit.slot=A /proc/cmdline; then'
		install_step good --no-reboot
		echo 'fi'
		echo "$STATUS_STEP"
	} >"$WS/step"
	boot "d$k.after" "$WS/d.img" "$WS/good.bdisk" <"$WS/step"
	case $(e2e_booted "d$k.after") in
	A)	e2e_expect "d$k.after" '"result":"installed".*"target":"B"'
		e2e_expect "d$k.after" '^UPKIT-E2E update rc=0'
		e2e_expect "d$k.after" 'UPKIT-E2E status .*"rootfs.1"[^}]*"version":"2\.0\.0","state":"trial"'
		expect_env "d$k.after" "$WS/d.img" "B A" 3 3 ;;
	B)	[ "$order" = "B A" ] || e2e_fail "d$k.after" \
		    "booted B, but the env after the kill was '$order'"
		e2e_expect "d$k.after" '"result":"committed"'
		expect_env "d$k.after" "$WS/d.img" "B A" 3 3 ;;
	*)	e2e_fail "d$k.after" "no good slot booted after the kill" ;;
	esac
	echo "kill point $k ($nth x /$re/): env '$order', then booted \
$(e2e_booted "d$k.after")"
done <<EOF
$POINTS
EOF
# The last rerun's B boots and commits.
echo "$STATUS_STEP" | boot d.final "$WS/d.img"
expect_booted d.final B
e2e_expect d.final 'UPKIT-E2E status .*"last_update":[^}]*"result":"committed"'
expect_env d.final "$WS/d.img" "B A" 3 3
e2e_time "$k kill points"
;; esac

exit 0

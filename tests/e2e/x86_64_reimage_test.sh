#!/bin/sh
# Bare-metal reimaging (issue 12, part 4; boards/x86_64-server,
# docs/reimage.md), in QEMU with OVMF:
#  1. The "server" boots, as PXE/iPXE would boot it, Debian's kernel
#     with an installer initrd (QEMU -kernel/-initrd under OVMF) that
#     holds upkit, boards/x86_64-server/reimage.conf (bootloader = none,
#     one disk slot: the server's second disk, /dev/vdb), the keyring and
#     the update server's CA. It runs `upkit update --from https://...`
#     against nginx on the host's 127.0.0.1 (user-mode networking,
#     restricted: the guest reaches nothing but a guestfwd to that port),
#     which streams a signed raw-efi disk image (mkrawefi.sh: GPT, ESP,
#     systemd-boot, one UKI) onto the disk, verified chunk by chunk, and
#     reboots. Checked on the host: the disk starts with the image's
#     bytes, the image's all-zero chunks were zeroed (unwritten extents
#     of the disk's file), not written, over the old data that was there,
#     and the first disk is untouched.
#  2. The server powers on again without -kernel: OVMF boots the new
#     disk's systemd-boot (EFI/BOOT/BOOTX64.EFI), which boots its UKI;
#     the UKI's init prints what the loader exported: the entry and the
#     partition it was loaded from, the new disk's ESP.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/e2e/lib.sh"
BOARD=$TOP/boards/x86_64-server
UKIBOARD=$TOP/boards/qemu-x86_64-uki
X86=$TESTS/e2e/x86_64
OVMF=/usr/share/ovmf/OVMF.fd
SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
LIBCURL=/usr/lib/x86_64-linux-gnu/libcurl.so.4
COMPATIBLE=upkit-x86_64-server
# The guest's address of the update server: a guestfwd to nginx.
GUEST_SERVER=10.0.2.100

need_upkit
need qemu-system-x86_64 sfdisk mkfs.vfat mcopy mmd cpio readelf objcopy file \
    objdump filefrag nginx openssl timeout
[ -f "$OVMF" ] || skip "$OVMF missing (apt-get install ovmf)"
[ -f "$SDBOOT" ] && [ -f "$STUB" ] ||
    skip "systemd-boot-efi not installed (no $SDBOOT or $STUB)"
[ -f "$LIBCURL" ] || skip "$LIBCURL missing (apt-get install libcurl4)"
file -L "$UPKIT" | grep -q 'x86-64' || die "$UPKIT is not an x86-64 program"

e2e_init
e2e_kernel amd64
e2e_busybox amd64
e2e_time "kernel $E2E_KVER, busybox $E2E_BUSYBOX"
mk_keys "$WS/keys"
mkdir -p "$WS/out" "$WS/www"

# The new system: a UKI whose initrd says what systemd-boot exported
# and powers off.
NEW=$WS/new
e2e_bb_root "$NEW"
mkdir -p "$NEW/proc" "$NEW/sys" "$NEW/dev"
e2e_modules "$NEW" efivarfs
e2e_guest_lib "$NEW"
cat >"$NEW/init" <<'EOF'
#!/bin/sh
PATH=/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /lib/e2e.sh
e2e_load_modules
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
v=/sys/firmware/efi/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
echo "UPKIT-E2E loader-entry=$(e2e_loader_entry)"
echo "UPKIT-E2E loader-part=$(dd if=$v bs=1 skip=4 2>/dev/null | tr -d '\000')"
echo "UPKIT-E2E reimaged system up"
e2e_off
EOF
chmod 0755 "$NEW/init"
e2e_cpio "$NEW" "$WS/out/new-initrd.img"
cp "$E2E_VMLINUZ" "$WS/out/new-kernel"
echo "console=ttyS0 panic=-1 quiet" >"$WS/out/new-cmdline"
STUB=$STUB sh "$UKIBOARD/mkuki.sh" "$WS/out/new" "$WS/uki.efi" ||
    die "mkuki.sh"
rm -rf "$NEW"

# The raw-efi image, with an ESP three times the UKI: its free space is
# the image's zero chunks. Signed as a disk payload, 1 MiB chunks.
esp_mib=$((3 * $(filesize "$WS/uki.efi") / 1048576 + 1))
SDBOOT=$SDBOOT sh "$BOARD/mkrawefi.sh" "$WS/server-efi.img" "$WS/uki.efi" \
    "$esp_mib" || die "mkrawefi.sh"
IMG=$WS/server-efi.img
IMG_MIB=$(($(filesize "$IMG") / 1048576))
ESP_UUID=$(sfdisk --part-uuid "$IMG" 1) || die "sfdisk --part-uuid $IMG 1"
mk_bundle "$WS/keys" "$WS/www/server.upk" 2.0.0 --chunk-size 1048576 \
    --image "disk=$IMG"
rm -f "$WS/uki.efi" "$WS/out/new-kernel" "$WS/out/new-initrd.img"
# The image's all-zero chunks, by index.
ZERO=
i=0
while [ "$i" -lt "$IMG_MIB" ]; do
	if dd if="$IMG" bs=1M skip="$i" count=1 status=none |
	    cmp -s -n 1048576 - /dev/zero; then
		ZERO="$ZERO $i"
	fi
	i=$((i + 1))
done
set -- $ZERO
[ $# -ge $((IMG_MIB / 2)) ] ||
    die "$IMG: only $# of $IMG_MIB chunks are zeros; the check needs more"
e2e_time "raw-efi image: $IMG_MIB MiB, $# zero chunks, ESP $ESP_UUID"

# The update server: nginx on 127.0.0.1, its certificate also for the
# address the guest uses.
TLS_SAN="IP:127.0.0.1,IP:$GUEST_SERVER" nginx_start "$WS/www"

# The installer initrd, as a PXE server would hand it out.
INST=$WS/installer
e2e_bb_root "$INST"
mkdir -p "$INST/proc" "$INST/sys" "$INST/dev" "$INST/tmp" "$INST/usr/bin" \
    "$INST/usr/local/sbin" "$INST/etc/upkit"
e2e_modules "$INST" virtio_pci virtio_blk virtio_net virtio_rng
e2e_guest_lib "$INST"
cp "$UPKIT" "$INST/usr/bin/upkit"
e2e_libs "$INST" "$UPKIT" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu
# upkit dlopens libcurl for a URL (docs/download.md).
e2e_libs "$INST" "$LIBCURL" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu
mkdir -p "$INST$(dirname "$LIBCURL")"
cp -L "$LIBCURL" "$INST$LIBCURL"
cp "$X86/reboot" "$INST/usr/local/sbin/reboot"
sed 's|^device = .*|device = /dev/vdb|' "$BOARD/reimage.conf" \
    >"$INST/etc/upkit/upkit.conf"
grep -q '^device = /dev/vdb$' "$INST/etc/upkit/upkit.conf" ||
    die "reimage.conf: no device line"
cp "$WS/keys/root.pem" "$INST/etc/upkit/keyring.pem"
cp "$TLS_DIR/ca.pem" "$INST/etc/upkit/server-ca.pem"
cat >"$INST/init" <<'EOF'
#!/bin/sh
# The installer: network, then upkit writes the disk the config names,
# which must be the server's second disk, and reboots (the reboot shim
# ends QEMU). Any failure powers off.
PATH=/usr/local/sbin:/usr/bin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
. /lib/e2e.sh
e2e_load_modules
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
from=
for a in $(cat /proc/cmdline); do
	case $a in
	upkit.from=*) from=${a#upkit.from=} ;;
	esac
done
while ! tgt=$(e2e_disk upkit-target); do
	usleep 20000
done
echo "UPKIT-E2E target=$tgt from=$from"
if [ "$tgt" = /dev/vdb ] && [ -n "$from" ]; then
	upkit update --from "$from" --json
	echo "UPKIT-E2E update rc=$?"
fi
e2e_off
EOF
chmod 0755 "$INST/init"
e2e_cpio "$INST" "$WS/installer.img"
rm -rf "$INST"
e2e_time "installer initrd: $(($(filesize "$WS/installer.img") / 1024)) KiB"

# The server's disks: a first one with data that must stay as it is,
# and the target, twice the image, full of an old system's bytes.
gen_bytes 4194304 first-disk >"$WS/disk0.img"
SUM0=$(sha256sum <"$WS/disk0.img")
gen_bytes $((2 * IMG_MIB * 1048576)) old-system >"$WS/target.img"
sync "$WS/target.img"

ACCEL=$(e2e_accel qemu-system-x86_64 -machine q35 -m 512 \
    -kernel "$E2E_VMLINUZ")
e2e_time "accelerator: $ACCEL"

# server NAME ARG...: one power-on of the server with its two disks,
# the target first in the firmware's boot order.
server()
{
	_n=$1
	shift
	_t=$(date +%s)
	e2e_boot "$_n" qemu-system-x86_64 -machine q35 -accel "$ACCEL" \
	    -m 512 -bios "$OVMF" \
	    -drive "if=none,id=d0,format=raw,file=$WS/disk0.img" \
	    -device virtio-blk-pci,drive=d0,serial=upkit-first \
	    -drive "if=none,id=d1,format=raw,file=$WS/target.img" \
	    -device virtio-blk-pci,drive=d1,serial=upkit-target,bootindex=1 \
	    -device virtio-rng-pci "$@" || e2e_fail "$_n" "QEMU exit code $?"
	e2e_time "boot $_n: $(($(date +%s) - _t)) s"
}

# 1. PXE: the installer reimages the target and reboots.
server pxe -kernel "$E2E_VMLINUZ" -initrd "$WS/installer.img" \
    -append "console=ttyS0 panic=-1 quiet upkit.from=https://$GUEST_SERVER/server.upk" \
    -netdev "user,id=n0,restrict=on,guestfwd=tcp:$GUEST_SERVER:443-cmd:$E2E_BUSYBOX nc 127.0.0.1 $NGINX_HTTPS" \
    -device virtio-net-pci,netdev=n0
e2e_expect pxe 'UPKIT-E2E target=/dev/vdb '
TOTAL=$(filesize "$IMG")
e2e_expect pxe "\"phase\":\"verify\"[^}]*\"done\":$TOTAL,\"total\":$TOTAL"
e2e_expect pxe '"event":"result","result":"reimaged","version":"2\.0\.0","slots":\["disk\.0"\]'
e2e_expect pxe '^UPKIT-E2E reboot'
grep -q '^/server.upk 200 ' "$NGINX_LOG" ||
    die "nginx served no /server.upk: $(cat "$NGINX_LOG")"
cmp -n "$TOTAL" "$IMG" "$WS/target.img" ||
    die "target.img does not start with the image"
[ "$(sha256sum <"$WS/disk0.img")" = "$SUM0" ] || die "disk0.img changed"
# Zeroed, not written: every block of a zero chunk is in an unwritten
# extent (or a hole) of target.img, where old data was before.
filefrag -v -b4096 "$WS/target.img" | awk -v zero="$ZERO" '
    BEGIN { n = split(zero, z, " ") }
    $1 ~ /^[0-9]+:$/ && $0 !~ /unwritten/ {
	lo = $2; hi = $3; sub(/\.\./, "", lo); sub(/:/, "", hi)
	for (i = 1; i <= n; i++)
		if (lo + 0 < (z[i] + 1) * 256 && hi + 0 >= z[i] * 256) {
			print "MiB " z[i] " written (extent " lo ".." hi ")"
			bad = 1
		}
    }
    END { exit bad }' >"$WS/zeros.out" ||
    die "zero chunks written as data: $(head -n 3 "$WS/zeros.out")"
nginx_stop

# 2. Power on again, no -kernel: the firmware boots the new disk.
server disk
e2e_expect disk 'UPKIT-E2E loader-entry=linuxkit.efi$'
part=$(tr -d '\r' <"$WS/disk.log" | sed -n 's/.*UPKIT-E2E loader-part=//p')
[ "$(echo "$part" | tr a-f A-F)" = "$ESP_UUID" ] ||
    e2e_fail disk "loaded from partition '$part', not the new ESP $ESP_UUID"
e2e_expect disk '^UPKIT-E2E reimaged system up'
exit 0

#!/bin/sh
# mkesp.sh OUT.img SIZE_MIB A.efi [B.efi]: the factory ESP of this board,
# a FAT file system image built without mounting it (mkfs.vfat, mtools):
#	EFI/BOOT/BOOTX64.EFI	Debian's systemd-boot (systemd-boot-efi)
#	loader/loader.conf	timeout 0 and no default (docs/efi.md)
#	EFI/Linux/upkit-1-A.efi	slot A's UKI, good
#	EFI/Linux/upkit-B.off	slot B's UKI, parked until an update arms it
#	EFI/upkit/		upkit's state store, written by upkit
# Copy OUT.img onto the disk's esp partition (layout.sfdisk).
# SDBOOT overrides systemd-boot's path.
set -eu
out=${1:?usage: mkesp.sh OUT.img SIZE_MIB A.efi [B.efi]}
size=${2:?usage: mkesp.sh OUT.img SIZE_MIB A.efi [B.efi]}
uki_a=${3:?usage: mkesp.sh OUT.img SIZE_MIB A.efi [B.efi]}
uki_b=${4:-}
sdboot=${SDBOOT:-/usr/lib/systemd/boot/efi/systemd-bootx64.efi}
[ -f "$sdboot" ] || { echo "mkesp.sh: $sdboot missing" >&2; exit 1; }
dir=$(dirname "$0")
rm -f "$out"
truncate -s "${size}M" "$out"
mkfs.vfat -n ESP "$out" >/dev/null
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/EFI/upkit ::/loader
mcopy -i "$out" "$sdboot" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out" "$dir/loader.conf" ::/loader/loader.conf
mcopy -i "$out" "$uki_a" ::/EFI/Linux/upkit-1-A.efi
if [ -n "$uki_b" ]; then
	mcopy -i "$out" "$uki_b" ::/EFI/Linux/upkit-B.off
fi

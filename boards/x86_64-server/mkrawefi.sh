#!/bin/sh
# mkrawefi.sh OUT.img UKI.efi [ESP_MIB]: a whole-disk image laid out as
# LinuxKit's raw-efi output (master since 2025-10-31, tools/
# mkimage-raw-efi/make-efi): GPT, one FAT ESP from sector 2048 named
# "EFI System", holding EFI/BOOT/BOOTX64.EFI (Debian's systemd-boot),
# loader/loader.conf (timeout 0) and the one UKI as
# EFI/Linux/linuxkit.efi. Built without mounting (mkfs.vfat, mtools).
# For a server that upkit reimages whole (README.md); with LinuxKit,
# `linuxkit build --format raw-efi` makes the same. ESP_MIB defaults to
# the UKI's size plus 1 MiB for the loader and FAT, rounded up, as
# LinuxKit sizes it; the image is the ESP plus 2 MiB (both GPT copies).
# SDBOOT overrides systemd-boot's path.
set -eu
usage='usage: mkrawefi.sh OUT.img UKI.efi [ESP_MIB]'
out=${1:?$usage}
uki=${2:?$usage}
sdboot=${SDBOOT:-/usr/lib/systemd/boot/efi/systemd-bootx64.efi}
[ -f "$sdboot" ] || { echo "mkrawefi.sh: $sdboot missing" >&2; exit 1; }
[ -f "$uki" ] || { echo "mkrawefi.sh: $uki missing" >&2; exit 1; }
mib=1048576
size=${3:-$((($(wc -c <"$uki") + $(wc -c <"$sdboot") + 2 * mib - 1) / mib))}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s "${size}M" "$tmp/esp.img"
mkfs.vfat -n ESP "$tmp/esp.img" >/dev/null
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/loader
mcopy -i "$tmp/esp.img" "$sdboot" ::/EFI/BOOT/BOOTX64.EFI
printf 'timeout 0\n' >"$tmp/loader.conf"
mcopy -i "$tmp/esp.img" "$tmp/loader.conf" ::/loader/loader.conf
mcopy -i "$tmp/esp.img" "$uki" ::/EFI/Linux/linuxkit.efi
rm -f "$out"
truncate -s "$((size + 2))M" "$out"
printf 'label: gpt\nstart=2048, size=%dMiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"\n' \
    "$size" | sfdisk -q "$out" >/dev/null
dd if="$tmp/esp.img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none

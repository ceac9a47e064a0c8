#!/bin/sh
# mkgrub.sh OUT: builds the GRUB EFI binary of the boot device from
# Debian's grub-efi-amd64-bin (built, never committed). $prefix is
# /EFI/BOOT on the boot device's ESP, next to grub.cfg and grubenv.
set -eu
out=${1:?usage: mkgrub.sh OUT.efi}
moddir=${GRUB_MODDIR:-/usr/lib/grub/x86_64-efi}
# Keep this list equal to the one in README.md.
MODULES="part_gpt fat normal configfile loadenv test echo chain reboot
all_video ls cat"
[ -d "$moddir" ] || {
	echo "mkgrub.sh: $moddir missing (apt-get install grub-efi-amd64-bin)" >&2
	exit 1
}
# shellcheck disable=SC2086
exec grub-mkimage -O x86_64-efi -d "$moddir" -p /EFI/BOOT -o "$out" $MODULES

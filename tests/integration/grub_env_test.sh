#!/bin/sh
# The whole update against a grubenv instead of a U-Boot env:
# grub-editenv reads what upkit wrote, upkit reads what grub-editenv
# wrote, and a garbage grubenv (a torn write) is repaired from upkit's
# backup with a message, without losing the armed slot.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs grub-editenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
GRUBENV=$DEV/grubenv
grub-editenv "$GRUBENV" create
grub-editenv "$GRUBENV" set BOOT_ORDER="A B" BOOT_A_LEFT=2 BOOT_B_LEFT=3 \
    saved_entry=upkit upkit.note=dotted-name
# The same device, switched to the grub backend.
sed -i -e 's/^bootloader = uboot$/bootloader = grub/' \
    -e '/^\[uboot\]$/,/^config = /d' "$CFG"
printf '\n[grub]\nenv = %s\n' "$GRUBENV" >>"$CFG"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --linuxkit "$WS/img/lk"

genv()
{
	grub-editenv "$GRUBENV" list | sed -n "s/^$1=//p"
}

ino=$(stat -c %i "$GRUBENV")
run update update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc update 0
[ "$(genv BOOT_ORDER)" = "B A" ] || die "BOOT_ORDER '$(genv BOOT_ORDER)'"
[ "$(genv BOOT_B_LEFT)" = 3 ] || die "BOOT_B_LEFT '$(genv BOOT_B_LEFT)'"
[ "$(genv saved_entry)" = upkit ] || die "saved_entry lost"
[ "$(genv upkit.note)" = dotted-name ] || die "a dotted name was lost"
[ "$(stat -c %s "$GRUBENV")" -eq 1024 ] || die "grubenv is not 1024 bytes"
# GRUB's save_env writes the same sectors: the file must not move.
[ "$(stat -c %i "$GRUBENV")" = "$ino" ] || die "grubenv replaced, not \
written in place"

# GRUB's own save at the next boot: upkit reads it as it is.
grub-editenv "$GRUBENV" set BOOT_B_LEFT=2
run status status -c "$CFG" --json
expect_rc status 0
grep -q '"B":[[:space:]]*2' "$WS/status.out" ||
    die "status does not show BOOT_B_LEFT=2: $(cat "$WS/status.out")"

# A torn write that left garbage: repaired from the backup, loudly.
head -c 1024 /dev/zero | tr '\0' 'x' | dd of="$GRUBENV" conv=notrunc \
    status=none
run status2 status -c "$CFG"
expect_rc status2 0
grep -qi 'repaired' "$WS/status2.err" ||
    die "no repair message: $(cat "$WS/status2.err")"
[ "$(genv BOOT_ORDER)" = "B A" ] ||
    die "armed slot lost after repair: BOOT_ORDER '$(genv BOOT_ORDER)'"
exit 0

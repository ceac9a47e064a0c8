#!/bin/sh
# make demo: the whole flow on a simulated device, in build/demo: keys, a
# LinuxKit-layout image set, a signed bundle, a device with file-backed
# A/B slots and a redundant U-Boot env, then one update of slot B.
set -eu
TESTS=$(cd "$(dirname "$0")" && pwd)
UPKIT=${1:-${UPKIT:-}}
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox

section()
{
	printf '\n=== %s ===\n' "$*"
}

# show CMD...: prints the command, then runs it.
show()
{
	echo "\$ $*" | sed "s|$WS/||g; s|$UPKIT|upkit|"
	"$@"
}

# The demo keeps its folder for a look afterwards, so no cleanup trap.
WS=$TOP/build/demo
rm -rf "$WS"
mkdir -p "$WS"
cd "$WS"

section "1. Signing keys (device keyring root.pem, signer certificate)"
show "$UPKIT" keys create --out "$WS/keys" --cn "upkit demo"
ls -l "$WS/keys"

section "2. A LinuxKit kernel+squashfs image set"
mk_images "$WS/linuxkit" demo
kernel=$(find /boot -maxdepth 1 -name "vmlinuz-*" 2>/dev/null | sort | tail -n 1)
if [ -n "$kernel" ] && [ -r "$kernel" ]; then
	echo "kernel: the host's $kernel"
	cp "$kernel" "$WS/linuxkit/demo-kernel"
else
	echo "kernel: no /boot/vmlinuz-*, a generated stand-in"
fi
ls -l "$WS/linuxkit"

section "3. A signed bundle"
show "$UPKIT" bundle create --key "$WS/keys/signer.key" \
    --cert "$WS/keys/signer.pem" --compatible "$COMPATIBLE" \
    --version 1.0.0 --linuxkit "$WS/linuxkit/demo" -o "$WS/demo-1.0.0.upk"
show "$UPKIT" bundle info "$WS/demo-1.0.0.upk"
show "$UPKIT" bundle verify "$WS/demo-1.0.0.upk" \
    --keyring "$WS/keys/root.pem"

section "4. A simulated device booted from slot A"
SLOT_SIZE=$(($(filesize "$WS/linuxkit/demo-squashfs.img") / 1048576 + 2))M
mk_device "$WS/device" "$WS/keys/root.pem" redundant
echo "config $CFG:"
sed 's/^/    /' "$CFG"
echo "fw_env.config: $(tr '\n' ';' <"$ENVCFG")"
echo "kernel command line: $(cat "$CMDLINE")"
show "$UPKIT" status -c "$CFG"

section "5. Update: stream the bundle into slot B, arm a trial boot"
show "$UPKIT" update -c "$CFG" --from "$WS/demo-1.0.0.upk" --no-reboot

section "6. After the update"
show "$UPKIT" status -c "$CFG"
show fw_printenv -c "$ENVCFG"
if cmp -s -n "$(filesize "$WS/linuxkit/demo-squashfs.img")" \
    "$WS/linuxkit/demo-squashfs.img" "$ROOT_B"; then
	echo "slot B (rootfs-b.img) holds demo-squashfs.img"
else
	die "slot B does not hold demo-squashfs.img"
fi
cmp -s "$WS/linuxkit/demo-kernel" "$BOOT_B/kernel" ||
    die "boot/B/kernel is not demo-kernel"
echo "boot/B holds: $(ls "$BOOT_B" | tr '\n' ' ')"
section "7. The reboot (simulated): B boots, passes its health check, commits"
mkdir -p "$WS/device/health.d"
printf '#!/bin/sh\necho "check: slot $UPKIT_SLOT runs $UPKIT_VERSION"\n' \
    >"$WS/device/health.d/10-demo"
chmod 0755 "$WS/device/health.d/10-demo"
printf '\n[health]\ndirectory = %s\ntimeout = 10\ndeadline = 30\n' \
    "$WS/device/health.d" >>"$CFG"
# What the boot script does: B first with attempts left, one taken.
fw_setenv -c "$ENVCFG" BOOT_B_LEFT 2
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
echo "kernel command line: $(cat "$CMDLINE")"
show "$UPKIT" health -c "$CFG" --no-reboot
show "$UPKIT" status -c "$CFG"

printf '\nDemo done: B is committed and keeps booting; A is the fallback.\n'
echo "Everything is in $WS."

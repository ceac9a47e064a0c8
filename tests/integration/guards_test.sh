#!/bin/sh
# Guards of `upkit update` that no other test held, each checked where it
# acts:
# 1. bytes after the last payload are refused, by update (from a file and
#    from a pipe) and by bundle verify: exit 5, and the update never arms;
# 2. a bundle without a payload for one of the device's slot classes is
#    refused before anything changes (exit 6): installing it would boot
#    slot B with a stale or empty boot folder;
# 3. a device on its trial boot, before `upkit health` commits, refuses
#    to install over its fallback slot (exit 6), whose bytes stay as they
#    were.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv fw_setenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_bundle "$WS/keys" "$WS/v2.upk" 2.0.0 --linuxkit "$WS/img/lk"
mk_bundle "$WS/keys" "$WS/v3.upk" 3.0.0 --linuxkit "$WS/img/lk"

# not_armed NAME: B is out of BOOT_ORDER with no attempts; A first, full.
not_armed()
{
	[ "$(env_get BOOT_ORDER)" = A ] ||
	    die "$1: BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'A'"
	[ "$(env_get BOOT_B_LEFT)" = 0 ] ||
	    die "$1: BOOT_B_LEFT is '$(env_get BOOT_B_LEFT)', expected 0"
	[ "$(env_get BOOT_A_LEFT)" = 3 ] ||
	    die "$1: BOOT_A_LEFT is '$(env_get BOOT_A_LEFT)', expected 3"
}

# 1. Trailing bytes: one byte, and a second copy of the payload area.
mk_device "$WS/trail" "$WS/keys/root.pem"
sum_a=$(sha256sum "$ROOT_A" "$BOOT_A"/*)
cp "$WS/v2.upk" "$WS/trail1.upk"
printf x >>"$WS/trail1.upk"
bundle_regions "$WS/v2.upk"
cp "$WS/v2.upk" "$WS/trail2.upk"
tail -c "$PAY_LEN" "$WS/v2.upk" >>"$WS/trail2.upk"
for t in trail1 trail2; do
	run "$t" update -c "$CFG" --from "$WS/$t.upk" --no-reboot
	expect_rc "$t" 5
	expect_msg "$t" 'trailing'
	not_armed "$t"
	run_pipe "$t.pipe" "$WS/$t.upk" update -c "$CFG" --from - --no-reboot
	expect_rc "$t.pipe" 5
	expect_msg "$t.pipe" 'trailing'
	not_armed "$t.pipe"
	run "$t.verify" bundle verify "$WS/$t.upk" \
	    --keyring "$WS/keys/root.pem"
	expect_rc "$t.verify" 5
	expect_msg "$t.verify" 'trailing'
	run_pipe "$t.vpipe" "$WS/$t.upk" bundle verify - \
	    --keyring "$WS/keys/root.pem"
	expect_rc "$t.vpipe" 5
done
[ "$(sha256sum "$ROOT_A" "$BOOT_A"/*)" = "$sum_a" ] ||
    die "trailing bytes: booted slot A changed"
# The bundle without them installs on the same device.
run trail.good update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc trail.good 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "trail.good: B not armed"

# 2. A class of the device without a payload: rootfs only, boot only.
mk_bundle "$WS/keys" "$WS/rootfs-only.upk" 2.0.0 \
    --image rootfs="$WS/img/lk-squashfs.img"
mkdir -p "$WS/bootdir"
cp "$WS/img/lk-kernel" "$WS/bootdir/kernel"
mk_bundle "$WS/keys" "$WS/boot-only.upk" 2.0.0 --files boot="$WS/bootdir"
mk_device "$WS/class" "$WS/keys/root.pem"
echo stale >"$BOOT_B/kernel"
for b in rootfs-only:boot boot-only:rootfs; do
	name=${b%%:*} class=${b#*:}
	snapshot "$name"
	run "$name" update -c "$CFG" --from "$WS/$name.upk" --no-reboot
	expect_rc "$name" 6
	expect_msg "$name" "no payload for slot class $class"
	same_as "$name" "update with $name.upk"
done

# 3. On the trial boot of B, before health commits: A is the fallback.
mk_device "$WS/trial" "$WS/keys/root.pem"
run trial.install update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc trial.install 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "trial: 2.0.0 not armed"
# The reboot into B, as the boot script makes it: one attempt used.
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
fw_setenv -c "$ENVCFG" BOOT_B_LEFT 2
sum_a=$(sha256sum "$ROOT_A" "$BOOT_A"/*)
snapshot trial
run trial.update update -c "$CFG" --from "$WS/v3.upk" --no-reboot
expect_rc trial.update 6
expect_msg trial.update 'trial'
same_as trial "update on a trial boot"
[ "$(sha256sum "$ROOT_A" "$BOOT_A"/*)" = "$sum_a" ] ||
    die "trial: fallback slot A written"
# Once committed, the same update goes to A.
run trial.commit commit -c "$CFG"
expect_rc trial.commit 0
run trial.after update -c "$CFG" --from "$WS/v3.upk" --no-reboot
expect_rc trial.after 0
[ "$(env_get BOOT_ORDER)" = "A B" ] ||
    die "trial.after: BOOT_ORDER '$(env_get BOOT_ORDER)', expected 'A B'"
exit 0

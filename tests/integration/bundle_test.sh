#!/bin/sh
# Host side: bundle create from each LinuxKit output layout, from --image
# and --files; bundle info (text and JSON); bundle verify against the
# right and a wrong keyring; an initrd.tar bundle installs the tar's
# members; a prefix with no outputs is an error naming it.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox tar
ws_init

# json_ok FILE: FILE parses as JSON, by whichever parser is installed.
json_ok()
{
	if command -v jq >/dev/null 2>&1; then
		jq -e . "$1" >/dev/null || die "$1: not JSON"
	elif command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool "$1" >/dev/null || die "$1: not JSON"
	else
		head -c 1 "$1" | grep -q '[{[]' || die "$1: not JSON"
	fi
}

mk_keys "$WS/keys"
mk_keys "$WS/other" "someone else"
mk_images "$WS/img" lk

# kernel+initrd+squashfs: a boot files payload and a rootfs raw payload.
mk_bundle "$WS/keys" "$WS/lk.upk" 1.0.0 --linuxkit "$WS/img/lk"
run info bundle info "$WS/lk.upk"
expect_rc info 0
for w in 1.0.0 "$COMPATIBLE" rootfs boot kernel initrd.img cmdline; do
	grep -q -- "$w" "$WS/info.out" || die "bundle info lacks '$w'"
done
run json bundle info "$WS/lk.upk" --json
expect_rc json 0
json_ok "$WS/json.out"
for w in '"1\.0\.0"' "\"$COMPATIBLE\"" '"rootfs"' '"boot"' '"raw"' \
    '"files"'; do
	grep -q -- "$w" "$WS/json.out" || die "bundle info --json lacks $w"
done
run verify bundle verify "$WS/lk.upk" --keyring "$WS/keys/root.pem"
expect_rc verify 0
run wrongkey bundle verify "$WS/lk.upk" --keyring "$WS/other/root.pem"
expect_rc wrongkey 5
expect_msg wrongkey 'certificate|chain|trust|verif|sign'
cp "$WS/lk.upk" "$WS/flip.upk"
bundle_regions "$WS/flip.upk"
flip_byte "$WS/flip.upk" $((PAY_OFF + PAY_LEN / 2))
run flip bundle verify "$WS/flip.upk" --keyring "$WS/keys/root.pem"
expect_rc flip 5
expect_msg flip 'chunk|hash|sha'

# The same inputs named one by one, with the tuning options.
mkdir "$WS/bootdir"
cp "$WS/img/lk-kernel" "$WS/bootdir/kernel"
cp "$WS/img/lk-initrd.img" "$WS/bootdir/initrd.img"
cp "$WS/img/lk-cmdline" "$WS/bootdir/cmdline"
mk_bundle "$WS/keys" "$WS/parts.upk" 1.0.1 --security-version 3 \
    --chunk-size 65536 --level 3 \
    --image rootfs="$WS/img/lk-squashfs.img" --files boot="$WS/bootdir"
run parts bundle verify "$WS/parts.upk" --keyring "$WS/keys/root.pem"
expect_rc parts 0
run partsinfo bundle info "$WS/parts.upk"
expect_rc partsinfo 0
for w in 1.0.1 rootfs boot 65536; do
	grep -q -- "$w" "$WS/partsinfo.out" || die "bundle info lacks '$w'"
done

# tar-kernel-initrd: NAME-initrd.tar holding kernel, initrd.img, cmdline;
# installed, the boot slot holds exactly those members.
mkdir "$WS/tarimg"
tar -cf "$WS/tarimg/tk-initrd.tar" -C "$WS/bootdir" kernel initrd.img cmdline
mk_bundle "$WS/keys" "$WS/tar.upk" 1.0.0 --linuxkit "$WS/tarimg/tk"
run tarinfo bundle info "$WS/tar.upk"
expect_rc tarinfo 0
grep -q boot "$WS/tarinfo.out" || die "tar bundle has no boot payload"
SLOT_CLASSES=boot mk_device "$WS/dev" "$WS/keys/root.pem"
run tarupdate update -c "$CFG" --from "$WS/tar.upk" --no-reboot
expect_rc tarupdate 0
for f in kernel initrd.img cmdline; do
	files_equal "$WS/bootdir/$f" "$BOOT_B/$f"
done

run none bundle create --key "$WS/keys/signer.key" \
    --cert "$WS/keys/signer.pem" --compatible "$COMPATIBLE" --version 1 \
    --linuxkit "$WS/nothing/here" -o "$WS/none.upk"
[ "$RC" -ne 0 ] || die "bundle create from an empty prefix succeeded"
expect_msg none 'nothing/here'
[ ! -e "$WS/none.upk" ] || die "a failed bundle create left $WS/none.upk"

run notbundle bundle info "$WS/img/lk-kernel"
expect_rc notbundle 5
expect_msg notbundle 'magic|header|bundle'
exit 0

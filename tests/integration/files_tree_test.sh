#!/bin/sh
# Files payloads with subfolders, end to end on a simulated device:
# - `bundle create --files boot=DIR` with subfolders installs the same
#   tree (contents, file modes) into the boot slot, and a later flat
#   bundle removes it; each rule at a lower level is refused on the host
#   (exit 2, naming the path);
# - a correctly signed bundle whose manifest names a bad path ("..",
#   absolute, empty level, too deep, a file and a folder of one name) is
#   refused by `upkit update` (exit 5) before the env or a slot changes,
#   and nothing appears outside the slot;
# - LinuxKit's rpi3 output (NAME.tar, as mkimage-rpi3 writes it) goes in
#   with --linuxkit and comes out as the same tree.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage python3
ws_init

mk_keys "$WS/keys"
SLOT_CLASSES=boot mk_device "$WS/dev" "$WS/keys/root.pem"

# tree_of DIR: every file with its mode and hash, every folder, by path.
tree_of()
{
	(cd "$1" && find . -mindepth 1 -printf '%y %m %P\n' | sort |
	    while read -r _t _m _p; do
		if [ "$_t" = f ]; then
			echo "f $_m $_p $(sha256sum <"$_p" | cut -c1-16)"
		else
			echo "$_t $_m $_p"
		fi
	done)
}

# same_tree A B: the folders hold the same names, modes and bytes.
same_tree()
{
	tree_of "$1" >"$WS/tree.a"
	tree_of "$2" >"$WS/tree.b"
	diff -u "$WS/tree.a" "$WS/tree.b" >&2 || die "$2 is not a copy of $1"
}

# A boot folder with subfolders, modes of every kind.
T=$WS/tree
mkdir -p "$T/dtb/broadcom" "$T/overlays" "$T/a/b/c/d/e/f/g"
gen_bytes 70000 kernel >"$T/kernel"
gen_bytes 3000 dtb >"$T/dtb/broadcom/bcm2837-rpi-3-b.dtb"
gen_bytes 2000 dtb2 >"$T/dtb/broadcom/bcm2837-rpi-3-b-plus.dtb"
gen_bytes 500 ovl >"$T/overlays/x.dtbo"
echo deep >"$T/a/b/c/d/e/f/g/h"
chmod 0600 "$T/overlays/x.dtbo"
chmod 0755 "$T/kernel"
chmod 0755 "$T" "$T/dtb" "$T/dtb/broadcom" "$T/overlays" "$T/a"
find "$T/a" -type d -exec chmod 0755 {} +
mk_bundle "$WS/keys" "$WS/tree.upk" 2.0.0 --files boot="$T"
run tree update -c "$CFG" --from "$WS/tree.upk" --no-reboot
expect_rc tree 0
same_tree "$T" "$BOOT_B"
[ ! -e "$WS/dev/boot/.B.upkit-new" ] || die "aside folder left behind"

# A flat bundle over the tree: the old subfolders go.
mkdir -p "$WS/flat"
echo flat >"$WS/flat/kernel"
mk_bundle "$WS/keys" "$WS/flat.upk" 2.1.0 --files boot="$WS/flat"
run flat update -c "$CFG" --from "$WS/flat.upk" --no-reboot
expect_rc flat 0
same_tree "$WS/flat" "$BOOT_B"

# Host: each rule below the top, refused with the path named (exit 2).
# host_refuses NAME REGEX: bundle create of $WS/NAME.
host_refuses()
{
	run "$1" bundle create --key "$WS/keys/signer.key" \
	    --cert "$WS/keys/signer.pem" --compatible "$COMPATIBLE" \
	    --version 1.0.0 --files boot="$WS/$1" -o "$WS/$1.upk"
	expect_rc "$1" 2
	expect_msg "$1" "$2"
	[ ! -e "$WS/$1.upk" ] || die "$1: a bundle was written"
}
mkdir -p "$WS/h1/sub" && echo x >"$WS/h1/k"
ln -s /etc/passwd "$WS/h1/sub/link"
host_refuses h1 "h1/sub/link: a symlink"
mkdir -p "$WS/h2/sub" && echo x >"$WS/h2/k" && echo x >"$WS/h2/sub/a:b"
host_refuses h2 "h2/sub/a:b: file names must be"
mkdir -p "$WS/h3/sub/empty" && echo x >"$WS/h3/sub/k"
host_refuses h3 "h3/sub/empty: an empty folder"
mkdir -p "$WS/h4/1/2/3/4/5/6/7/8" && echo x >"$WS/h4/1/2/3/4/5/6/7/8/9"
host_refuses h4 "h4/1/2/3/4/5/6/7/8/9: deeper than 8"

# Device: the signed manifest names a bad path. resign IN OUT NAME...
# renames the files of payload 0 in order, then signs header and
# manifest again with the test's signer: what a vendor's own tool could
# have made. (docs/bundle-format.md: the signature is ECDSA over
# SHA-256(header || manifest); the block is "UPKS", length, alg 1,
# one certificate.)
cat >"$WS/resign.py" <<'EOF'
import json, struct, subprocess, sys
src, dst, key, cert = sys.argv[1:5]
names = sys.argv[5:]
b = open(src, "rb").read()
mlen = struct.unpack(">Q", b[16:24])[0]
m = json.loads(b[64:64 + mlen])
slen = struct.unpack(">I", b[64 + mlen + 4:64 + mlen + 8])[0]
payload = b[64 + mlen + slen:]
for f, n in zip(m["payloads"][0]["files"], names):
    f["name"] = n
man = json.dumps(m, separators=(",", ":")).encode()
hdr = b[:16] + struct.pack(">Q", len(man)) + b[24:64]
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                     input=hdr + man, capture_output=True, check=True).stdout
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                     capture_output=True, check=True).stdout
body = struct.pack(">HHI", 1, 1, len(sig)) + sig + struct.pack(">I", len(der)) + der
block = b"UPKS" + struct.pack(">I", 8 + len(body)) + body
open(dst, "wb").write(hdr + man + block + payload)
EOF
mkdir -p "$WS/two"
echo one >"$WS/two/a"
echo two >"$WS/two/b"
mk_bundle "$WS/keys" "$WS/two.upk" 3.0.0 --files boot="$WS/two"
# The resigner itself is right: unchanged names still install.
python3 "$WS/resign.py" "$WS/two.upk" "$WS/same.upk" "$WS/keys/signer.key" \
    "$WS/keys/signer.pem" a sub/b
run same update -c "$CFG" --from "$WS/same.upk" --no-reboot
expect_rc same 0
[ "$(cat "$BOOT_B/sub/b")" = two ] || die "resigned bundle: no sub/b"

n=0
snapshot bad
for names in "../evil b" "a ../../evil" "a sub/../../evil" "/tmp/evil b" \
    "a sub//b" "a sub/" "a ./b" "a sub/./b" "a sub/.." \
    "a 1/2/3/4/5/6/7/8/9" "a a/b" "sub/a sub"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	python3 "$WS/resign.py" "$WS/two.upk" "$WS/bad$n.upk" \
	    "$WS/keys/signer.key" "$WS/keys/signer.pem" $names
	run "bad$n" update -c "$CFG" --from "$WS/bad$n.upk" --no-reboot
	expect_rc "bad$n" 5
	expect_msg "bad$n" 'payloads\[0\]\.files\[[01]\]: name'
	same_as bad "update with files named '$names'"
	[ ! -e "$WS/evil" ] && [ ! -e /tmp/evil ] && [ ! -e "$WS/dev/evil" ] &&
	    [ ! -e "$WS/dev/boot/evil" ] || die "bad$n: a file escaped"
	[ ! -e "$WS/dev/boot/.B.upkit-new" ] || die "bad$n: aside folder left"
done

# LinuxKit's rpi3 output, as tools/mkimage-rpi3 makes it: the SD card's
# boot files in /boot, then `cd /boot && tar cf - .`.
R=$WS/rpi3root
mkdir -p "$R/dtb/broadcom"
for f in bootcode.bin start.elf fixup.dat u-boot.bin config.txt \
    boot.script boot.scr kernel.uimg initrd.uimg; do
	gen_bytes 1000 "$f" >"$R/$f"
done
gen_bytes 2000 dtb >"$R/dtb/broadcom/bcm2837-rpi-3-b.dtb"
gen_bytes 2000 dtbp >"$R/dtb/broadcom/bcm2837-rpi-3-b-plus.dtb"
find "$R" -type d -exec chmod 0755 {} +
find "$R" -type f -exec chmod 0644 {} +
mkdir -p "$WS/out"
(cd "$R" && tar cf - .) >"$WS/out/pi.tar"
mk_bundle "$WS/keys" "$WS/pi.upk" 4.0.0 --linuxkit "$WS/out/pi"
run pi update -c "$CFG" --from "$WS/pi.upk" --no-reboot
expect_rc pi 0
same_tree "$R" "$BOOT_B"

# LinuxKit outputs no slot takes: refused, saying what to build instead.
touch "$WS/out/pi-efi.iso"
run iso bundle create --key "$WS/keys/signer.key" \
    --cert "$WS/keys/signer.pem" --compatible "$COMPATIBLE" \
    --version 1.0.0 --linuxkit "$WS/out/pi" -o "$WS/iso.upk"
expect_rc iso 2
expect_msg iso "pi-efi.iso is LinuxKit's iso-efi output.*build raw-efi"
exit 0

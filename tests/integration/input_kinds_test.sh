#!/bin/sh
# Inputs of the wrong kind, and modes a files slot must not take:
# - `update --from DIR` (or a folder on stdin) and `bundle info|verify
#   DIR` exit 4 with "DIR: is a directory", not 5 blaming the bundle; the
#   device is unchanged;
# - `bundle create --files boot=DIR` refuses a symlink in DIR (exit 2,
#   naming it) rather than bundle what it points to;
# - setuid, setgid and sticky bits in a bundle reach a files slot only
#   with [system] allow-special-modes = yes.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage
ws_init

mk_keys "$WS/keys"
SLOT_CLASSES=boot mk_device "$WS/dev" "$WS/keys/root.pem"
mkdir -p "$WS/folder.upk"

snapshot dir
run dir update -c "$CFG" --from "$WS/folder.upk" --no-reboot
expect_rc dir 4
expect_msg dir "$WS/folder.upk: is a directory"
same_as dir "update --from a folder"
set +e
"$UPKIT" update -c "$CFG" --from - --no-reboot <"$WS/folder.upk" \
    >"$WS/stdin.out" 2>"$WS/stdin.err"
RC=$?
set -e
expect_rc stdin 4
expect_msg stdin 'standard input: is a directory'
same_as dir "update --from - with a folder on stdin"
run info bundle info "$WS/folder.upk"
expect_rc info 4
expect_msg info "$WS/folder.upk: is a directory"
run verify bundle verify "$WS/folder.upk" --keyring "$WS/keys/root.pem"
expect_rc verify 4
expect_msg verify "$WS/folder.upk: is a directory"

# A symlink in a --files folder, to a file outside it.
mkdir -p "$WS/bootdir"
echo kernel >"$WS/bootdir/kernel"
echo secret >"$WS/secret"
ln -s ../secret "$WS/bootdir/cmdline"
run link bundle create --key "$WS/keys/signer.key" \
    --cert "$WS/keys/signer.pem" --compatible "$COMPATIBLE" \
    --version 1.0.0 --files boot="$WS/bootdir" -o "$WS/link.upk"
expect_rc link 2
expect_msg link "$WS/bootdir/cmdline: a symlink"
[ ! -e "$WS/link.upk" ] || die "bundle written with a symlink in it"
rm "$WS/bootdir/cmdline"

# Special modes: stripped by default, kept when the config says so.
chmod 4755 "$WS/bootdir/kernel"
printf 'x\n' >"$WS/bootdir/shared"
chmod 3777 "$WS/bootdir/shared"
mk_bundle "$WS/keys" "$WS/modes.upk" 1.0.0 --files boot="$WS/bootdir"
run modes update -c "$CFG" --from "$WS/modes.upk" --no-reboot
expect_rc modes 0
[ "$(stat -c %a "$BOOT_B/kernel")" = 755 ] ||
    die "kernel installed as $(stat -c %a "$BOOT_B/kernel"), expected 755"
[ "$(stat -c %a "$BOOT_B/shared")" = 777 ] ||
    die "shared installed as $(stat -c %a "$BOOT_B/shared"), expected 777"

SLOT_CLASSES=boot mk_device "$WS/dev2" "$WS/keys/root.pem"
sed -i 's/^\[system\]$/[system]\nallow-special-modes = yes/' "$CFG"
run modes2 update -c "$CFG" --from "$WS/modes.upk" --no-reboot
expect_rc modes2 0
[ "$(stat -c %a "$BOOT_B/kernel")" = 4755 ] ||
    die "kernel installed as $(stat -c %a "$BOOT_B/kernel"), expected 4755"
[ "$(stat -c %a "$BOOT_B/shared")" = 3777 ] ||
    die "shared installed as $(stat -c %a "$BOOT_B/shared"), expected 3777"
exit 0

#!/bin/sh
# Every kind of bad bundle is refused with its exit code (agent/cmd.h) and
# a message naming the problem, and nothing on the device changes: both
# slots, both boot folders, the env (as fw_printenv reads it) and
# state.json. The one exception, a bundle cut inside its payloads, is
# caught only after some chunks were written: then the target must be
# marked bad and the booted slot untouched.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_keys "$WS/other" "someone else"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/v1.upk" 1.0.0 --linuxkit "$WS/img/lk"
mk_bundle "$WS/keys" "$WS/v2.upk" 2.0.0 --linuxkit "$WS/img/lk"
bundle_regions "$WS/v2.upk"
[ "$PAY_LEN" -gt 0 ] || die "v2.upk: empty payload area"

# refused NAME BUNDLE CODE REGEX: the update is refused with CODE and a
# message matching REGEX, and the device is as it was.
refused()
{
	snapshot "$1"
	run "$1" update -c "$CFG" --from "$2" --no-reboot
	expect_rc "$1" "$3"
	expect_msg "$1" "$4"
	same_as "$1" "update with $2"
}

# flipped NAME OFFSET CODE REGEX: v2.upk with the byte at OFFSET flipped.
flipped()
{
	cp "$WS/v2.upk" "$WS/$1.upk"
	flip_byte "$WS/$1.upk" "$2"
	refused "$1" "$WS/$1.upk" "$3" "$4"
}

# cut NAME LENGTH: the first LENGTH bytes of v2.upk.
cut_at()
{
	head -c "$2" "$WS/v2.upk" >"$WS/$1.upk"
}

mk_bundle "$WS/other" "$WS/foreign.upk" 2.0.0 --linuxkit "$WS/img/lk"
refused foreign "$WS/foreign.upk" 5 'certificate|chain|trust|verif|sign'

# Any change to the signed header is caught, whatever field it hits.
for off in 0 7 8 11 15 $((HDR_MANIFEST_LEN_AT + 7)) \
    $((HDR_PAYLOAD_LEN_AT + 7)) $((HDR_PAYLOAD_LEN_AT + 3)) 63; do
	flipped "header$off" "$off" 5 \
	    'header|magic|format|length|size|signature|manifest|truncat|end'
done
for off in $MAN_OFF $((MAN_OFF + 1)) $((MAN_OFF + MAN_LEN / 2)) \
    $((SIG_OFF - 2)) $((SIG_OFF - 1)); do
	flipped "manifest$off" "$off" 5 'manifest|json|signature|verif'
done
for off in $SIG_OFF $((SIG_OFF + 4)) $((SIG_OFF + 7)) \
    $((SIG_OFF + 20)) $((SIG_OFF + SIG_LEN / 2)) $((PAY_OFF - 1)); do
	flipped "sigblock$off" "$off" 5 \
	    'signature|sig|certificate|chain|block|length|truncat|verif'
done

COMPATIBLE=other-board mk_bundle "$WS/keys" "$WS/compat.upk" 2.0.0 \
    --linuxkit "$WS/img/lk"
refused compat "$WS/compat.upk" 6 'compatible'

for at in 1 32 63 $((MAN_OFF + MAN_LEN / 2)) $((SIG_OFF + 2)) \
    $((SIG_OFF + SIG_LEN / 2)) $((PAY_OFF - 1)); do
	cut_at "cut$at" "$at"
	refused "cut$at" "$WS/cut$at.upk" 5 \
	    'truncat|short|end of|eof|incomplete|expected|length'
done

: >"$WS/empty.upk"
refused empty "$WS/empty.upk" 5 'truncat|short|end of|eof|empty|header'
refused squashfs "$WS/img/lk-squashfs.img" 5 'magic|not a bundle|header'
refused missing "$WS/no-such.upk" 4 'no-such\.upk'

# From here on the device runs 2.0.0 from B, as after the trial reboot,
# so A is the target.
run install update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "2.0.0 not armed"
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
# The trial of B is kept: the env no longer names it, so it is no longer
# a trial (a state.json edited by hand would not do: UPKIT_TRIAL=B).
run commit commit -c "$CFG"
expect_rc commit 0
[ -z "$(env_get UPKIT_TRIAL)" ] || die "commit left UPKIT_TRIAL set"
refused older "$WS/v1.upk" 6 'version|older|downgrade'
refused same "$WS/v2.upk" 6 'version|older|installed|downgrade'

# Raise the floor by hand; a commit raises it to the bundle's.
mk_bundle "$WS/keys" "$WS/low.upk" 3.0.0 --security-version 2 \
    --linuxkit "$WS/img/lk"
grep -q '"security_floor"' "$DATA/state.json" ||
    die "$DATA/state.json has no security_floor"
sed -E 's/"security_floor"[[:space:]]*:[[:space:]]*[0-9]+/"security_floor": 5/' \
    "$DATA/state.json" >"$WS/state.json"
cp "$WS/state.json" "$DATA/state.json"
refused floor "$WS/low.upk" 6 'security'
# --allow-downgrade lowers the version check only, never the floor.
snapshot floor2
run floor2 update -c "$CFG" --from "$WS/low.upk" --no-reboot \
    --allow-downgrade
expect_rc floor2 6
same_as floor2 "update --allow-downgrade below the floor"

# Cut inside the payloads and streamed through a pipe, so that upkit
# cannot know the length up front: after the failure the booted slot B is
# untouched and A is out of BOOT_ORDER with no attempts left.
mk_bundle "$WS/keys" "$WS/v4.upk" 4.0.0 --security-version 5 \
    --linuxkit "$WS/img/lk"
bundle_regions "$WS/v4.upk"
head -c $((PAY_OFF + PAY_LEN * 3 / 4)) "$WS/v4.upk" >"$WS/cutpay.upk"
sum_b=$(sha256sum "$ROOT_B" "$BOOT_B"/*)
run_pipe cutpay "$WS/cutpay.upk" update -c "$CFG" --from - --no-reboot
expect_rc cutpay 5
expect_msg cutpay 'truncat|short|end of|eof|incomplete|expected'
[ "$(sha256sum "$ROOT_B" "$BOOT_B"/*)" = "$sum_b" ] ||
    die "booted slot B changed by a cut bundle"
[ "$(env_get BOOT_ORDER)" = B ] ||
    die "BOOT_ORDER is '$(env_get BOOT_ORDER)' after a cut bundle"
[ "$(env_get BOOT_A_LEFT)" = 0 ] ||
    die "BOOT_A_LEFT is '$(env_get BOOT_A_LEFT)' after a cut bundle"
exit 0

#!/bin/sh
# The data directory fills up during the install: the state save before
# writing lands, the one after the arm does not (tests/shim/nospace.so
# fails every write to state.json.tmp after the first). The env arms B,
# so B boots next: update must say so, with exit 0 and one warning that
# state.json could not be saved, never "failed". status must show B as
# the trial of the new version that boots next, not a "good" slot with
# version "-".
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
SHIM=${SHIM_DIR:-$TOP/build/tests}/nospace.so
[ -f "$SHIM" ] || die "$SHIM not built (make check builds it)"
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --linuxkit "$WS/img/lk"

# nospace NAME ARG...: upkit with writes to state.json.tmp failing after
# its first open.
nospace()
{
	_name=$1
	shift
	set +e
	ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
	LD_PRELOAD=$SHIM NOSPACE_PATH=$DATA/state.json.tmp NOSPACE_SKIP=1 \
	    "$UPKIT" "$@" >"$WS/$_name.out" 2>"$WS/$_name.err"
	RC=$?
	set -e
}

nospace update update -c "$CFG" --from "$WS/b.upk" --no-reboot
# The fault happened where it should: the arm is stored, the record not.
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "BOOT_ORDER '$(env_get BOOT_ORDER)', expected the arm 'B A'"
[ "$(env_get BOOT_B_LEFT)" = 3 ] || die "BOOT_B_LEFT '$(env_get BOOT_B_LEFT)'"
grep -q '"result":[[:space:]]*"installing"' "$DATA/state.json" ||
    die "state.json not left at installing: $(cat "$DATA/state.json")"
# What update said about it.
expect_rc update 0
grep -q "^installed 2.0.0 into slot B; it boots next as a trial" \
    "$WS/update.out" || die "update said: $(cat "$WS/update.out")"
n=$(grep -c '^upkit' "$WS/update.err" || true)
[ "$n" -eq 1 ] || { cat "$WS/update.err" >&2; die "$n lines from upkit"; }
expect_msg update "^upkit: update: warning: .*state\.json.*No space left.*slot B boots next"
grep -qi "failed" "$WS/update.out" "$WS/update.err" &&
    die "update reported a failure for an install that boots next"

# The same with --json: one result, installed, with the warning.
fw_setenv -c "$ENVCFG" BOOT_ORDER "A B" || die "fw_setenv"
nospace json update -c "$CFG" --from "$WS/b.upk" --no-reboot --json
expect_rc json 0
grep -q '"event":"result","result":"installed".*"warning":"save state: .*No space left' \
    "$WS/json.out" || die "json: $(cat "$WS/json.out")"
grep -q '"event":"error"' "$WS/json.out" && die "json: an error event"

# status, without the shim, from state.json as it was left.
run status status -c "$CFG"
expect_rc status 0
grep -q "^next boot:       B, trial of 2.0.0 (3 attempts left)" \
    "$WS/status.out" || die "status: $(cat "$WS/status.out")"
grep -Eq "^rootfs\.1 .* 2\.0\.0 +trial$" "$WS/status.out" ||
    die "status: slot B not the trial of 2.0.0: $(cat "$WS/status.out")"
run sjson status -c "$CFG" --json
expect_rc sjson 0
tr -d ' \n\t' <"$WS/sjson.out" >"$WS/sjson.flat"
grep -q '"next_boot":{"slot":"B","trial":true' "$WS/sjson.flat" ||
    die "status --json: $(cat "$WS/sjson.out")"
exit 0

#!/bin/sh
# A power cut after update stored the arm in the env but before it saved
# "trial" in state.json (faked by failing that rename): the next boot runs
# the new slot while state.json still calls it bad. upkit health must
# finish recording the trial and run the checks, not leave the slot to
# burn its attempts and fall back.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
SHIM=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
[ -f "$SHIM" ] || die "$SHIM not built (make check builds it)"
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --security-version 4 \
    --linuxkit "$WS/img/lk"

# The first state save (before writing) lands; the one after the arm
# does not.
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
LD_PRELOAD=$SHIM FAILRENAME_PATH=$DATA/state.json FAILRENAME_SKIP=1 \
    "$UPKIT" update -c "$CFG" --from "$WS/b.upk" --no-reboot \
    >"$WS/update.out" 2>"$WS/update.err"
RC=$?
set -e
# The arm is stored, so B boots next: exit 0 with a warning
# (docs/exit-codes.md).
[ "$RC" -eq 0 ] || die "update exit $RC, but the arm is stored: B boots next"
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "setup: BOOT_ORDER '$(env_get BOOT_ORDER)', expected the arm"
grep -q '"result":[[:space:]]*"installing"' "$DATA/state.json" ||
    die "setup: state.json $(cat "$DATA/state.json")"

# The reboot into B.
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
run health health -c "$CFG" --no-reboot
expect_rc health 0
grep -q 'recording it as a trial of 2.0.0' "$WS/health.err" ||
    die "no recovery message: $(cat "$WS/health.err")"
grep -qi 'committed' "$WS/health.out" ||
    die "B not committed: $(cat "$WS/health.out")"
[ "$(env_get BOOT_ORDER)" = "B A" ] && [ "$(env_get BOOT_B_LEFT)" = 3 ] ||
    die "env after commit: $(fw_printenv -c "$ENVCFG" | tr '\n' ' ')"
grep -q '"security_floor":[[:space:]]*4' "$DATA/state.json" ||
    die "floor did not rise to 4: $(cat "$DATA/state.json")"
run status status -c "$CFG"
grep -q '2.0.0' "$WS/status.out" || die "status lost the version"
exit 0

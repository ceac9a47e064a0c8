#!/bin/sh
# One install must not block every other command. While an update is
# stuck mid-payload (its source, a pipe, gives nothing more):
# - fw_printenv and fw_setenv (libubootenv's machine-wide lock) answer;
# - upkit status answers;
# - a second upkit update, and upkit health, fail at once with
#   "another upkit is installing";
# and the first update still ends well once the rest of the bundle comes.
# `timeout` bounds each command only so that a regression fails the test
# instead of hanging it; nothing here waits for time to pass.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv fw_setenv mkenvimage busybox timeout
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem" redundant
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --linuxkit "$WS/img/lk"
bundle_regions "$WS/b.upk"

mkfifo "$WS/in" "$WS/out" "$WS/go"
# The bundle up to the middle of its payloads, then, once the test says
# go, the rest. In between the pipe runs dry and the install waits.
(
	head -c $((PAY_OFF + PAY_LEN / 2)) "$WS/b.upk"
	read -r _go <"$WS/go"
	tail -c +$((PAY_OFF + PAY_LEN / 2 + 1)) "$WS/b.upk"
) >"$WS/in" &
ws_pid $!
"$UPKIT" update -c "$CFG" --from - --no-reboot --json <"$WS/in" \
    >"$WS/out" 2>"$WS/first.err" &
first=$!
ws_pid "$first"
exec 4<"$WS/out"
# The install has marked B bad and is writing once it says so.
timeout 60 grep -m 1 -q 'writing slot B' <&4 ||
    die "update never started writing: $(cat "$WS/first.err")"
[ "$(env_get BOOT_B_LEFT)" = 0 ] || die "B not marked bad before writing"

# libubootenv's lock is free: the env tools answer.
timeout 20 fw_printenv -c "$ENVCFG" BOOT_ORDER >"$WS/printenv.out" 2>&1 ||
    die "fw_printenv blocked or failed during an install: $(cat "$WS/printenv.out")"
grep -q 'BOOT_ORDER=A' "$WS/printenv.out" ||
    die "fw_printenv: $(cat "$WS/printenv.out")"
timeout 20 fw_setenv -c "$ENVCFG" board other-board ||
    die "fw_setenv blocked or failed during an install"

set +e
timeout 20 "$UPKIT" status -c "$CFG" >"$WS/status.out" 2>"$WS/status.err"
RC=$?
set -e
expect_rc status 0
grep -q 'installing' "$WS/status.out" ||
    die "status does not show the install: $(cat "$WS/status.out")"

set +e
timeout 20 "$UPKIT" update -c "$CFG" --from "$WS/b.upk" --no-reboot \
    >"$WS/second.out" 2>"$WS/second.err"
RC=$?
set -e
[ "$RC" -ne 124 ] || die "a second update waited for the first"
expect_rc second 1
expect_msg second 'another upkit is installing'

set +e
timeout 20 "$UPKIT" health -c "$CFG" --no-reboot \
    >"$WS/health.out" 2>"$WS/health.err"
RC=$?
set -e
[ "$RC" -ne 124 ] || die "health waited for the install"
expect_rc health 1
expect_msg health 'another upkit is installing'

# The rest of the bundle: the first update ends as if nothing happened,
# and keeps what fw_setenv changed meanwhile.
echo go >"$WS/go"
cat <&4 >/dev/null
exec 4<&-
set +e
wait "$first"
RC=$?
set -e
[ "$RC" -eq 0 ] || die "the first update: exit $RC: $(cat "$WS/first.err")"
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "B not armed"
[ "$(env_get board)" = other-board ] ||
    die "the arm lost a variable set during the install"
prefix_equal "$WS/img/lk-squashfs.img" "$ROOT_B"
exit 0

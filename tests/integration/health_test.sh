#!/bin/sh
# upkit health / commit / rollback after a real `upkit update`: the trial
# slot B is "booted" by rewriting the cmdline file to upkit.slot=B, as the
# boot script would after a reboot. The env is checked with fw_printenv,
# not upkit. Cases: passing checks commit (and raise the security floor),
# a failing check, a hanging check (timeout) and a slow pair of checks
# (deadline) roll back; a committed slot's decremented counter is reset
# and a full one is left alone byte for byte; a trial slot that never
# booted is recorded as rolled back; reboot runs unless --no-reboot.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv fw_setenv mkenvimage busybox timeout
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --security-version 7 \
    --linuxkit "$WS/img/lk"

# A fake reboot first in PATH: it records that it ran.
mkdir -p "$WS/bin"
printf '#!/bin/sh\necho rebooted >>"%s/rebooted"\n' "$WS" >"$WS/bin/reboot"
chmod 0755 "$WS/bin/reboot"
PATH=$WS/bin:$PATH
export PATH

# fresh NAME: a new device with 2.0.0 installed into B, armed for a
# trial boot; the checks folder is $DEV/health.d, timeouts from $1/$2.
fresh()
{
	rm -f "$WS/rebooted"
	# Redundant: every store flips to the other copy with a new flag, so
	# a store that changes no variable still changes the files.
	mk_device "$WS/$1" "$WS/keys/root.pem" redundant
	CHECKS=$DEV/health.d
	mkdir -p "$CHECKS"
	printf '\n[health]\ndirectory = %s\ntimeout = %s\ndeadline = %s\n' \
	    "$CHECKS" "${2:-60}" "${3:-300}" >>"$CFG"
	run "$1.update" update -c "$CFG" --from "$WS/b.upk" --no-reboot
	expect_rc "$1.update" 0
	[ "$(env_get BOOT_ORDER)" = "B A" ] || die "$1: update did not arm B"
	grep -q '"trial"' "$DATA/state.json" || die "$1: B is not trial"
}

boot_into()
{
	echo "console=ttyS0 upkit.slot=$1" >"$CMDLINE"
	# What the boot script does on its way: one attempt used.
	fw_setenv -c "$ENVCFG" "BOOT_$1_LEFT" $(($(env_get "BOOT_$1_LEFT") - 1))
}

check()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CHECKS/$1"
	chmod 0755 "$CHECKS/$1"
}

expect_env()
{
	[ "$(env_get BOOT_ORDER)" = "$1" ] ||
	    die "BOOT_ORDER is '$(env_get BOOT_ORDER)', expected '$1'"
	[ "$(env_get BOOT_A_LEFT)" = "$2" ] ||
	    die "BOOT_A_LEFT is '$(env_get BOOT_A_LEFT)', expected $2"
	[ "$(env_get BOOT_B_LEFT)" = "$3" ] ||
	    die "BOOT_B_LEFT is '$(env_get BOOT_B_LEFT)', expected $3"
}

# status_has NAME REGEX: `upkit status --json` matches REGEX.
status_has()
{
	run "$1" status -c "$CFG" --json
	expect_rc "$1" 0
	tr -d '\n\t ' <"$WS/$1.out" | grep -Eq -- "$2" ||
	    die "$1: status does not match /$2/: $(cat "$WS/$1.out")"
}

# 1. Passing checks commit: env, floor, status; both ran, in name order,
# with the slot and version in their environment.
fresh pass
check 20-second "echo \"20 \$UPKIT_SLOT \$UPKIT_VERSION\" >>$WS/pass.ran"
check 10-first "echo \"10 \$UPKIT_SLOT \$UPKIT_VERSION\" >>$WS/pass.ran"
# A passing check that leaves a child behind: it is killed with the
# check's group (the pipe reader below sees EOF only then).
check 15-leftover "sleep 1000 & echo \$! >>$WS/.pids"
printf 'exit 1\n' >"$CHECKS/30-not-executable"
boot_into B
expect_env "B A" 3 2
set +e
{
	"$UPKIT" health -c "$CFG" 2>&1 >"$WS/pass.health.out"
	echo $? >"$WS/pass.rc"
} | timeout 20 cat >"$WS/pass.health.err"
piperc=$?
set -e
[ "$piperc" -eq 0 ] || die "a passing check's leftover child survived"
RC=$(cat "$WS/pass.rc")
expect_rc pass.health 0
[ "$(cat "$WS/pass.ran")" = "$(printf '10 B 2.0.0\n20 B 2.0.0')" ] ||
    die "checks ran as: $(cat "$WS/pass.ran")"
expect_env "B A" 3 3
grep -q '"security_floor":[[:space:]]*7' "$DATA/state.json" ||
    die "floor not raised to 7: $(cat "$DATA/state.json")"
status_has pass.status '"result":"committed"'
status_has pass.status2 '"security_floor":7'
[ ! -e "$WS/rebooted" ] || die "commit rebooted"
# A second run (the next boot) is the fast path: nothing written.
cat "$ENV" "$ENV.redund" >"$WS/env.before"
run pass.again health -c "$CFG"
expect_rc pass.again 0
cat "$ENV" "$ENV.redund" | cmp -s - "$WS/env.before" ||
    die "health rewrote a full env"
# The boot script decremented the committed slot: reset it, once.
boot_into B
expect_env "B A" 3 2
run pass.reset health -c "$CFG"
expect_rc pass.reset 0
expect_env "B A" 3 3
grep -q 'counter reset' "$WS/pass.reset.out" ||
    die "no reset message: $(cat "$WS/pass.reset.out")"
# Nothing to commit on a good slot.
run pass.commit commit -c "$CFG"
expect_rc pass.commit 0
grep -q 'nothing to commit' "$WS/pass.commit.out" ||
    die "commit on a good slot: $(cat "$WS/pass.commit.out")"

# 2. A failing check rolls back, names the check and its status, reboots.
fresh fail
check 10-ok "exit 0"
check 20-broken "exit 1"
check 30-never "echo ran >$WS/fail.never"
boot_into B
run fail.health health -c "$CFG"
expect_rc fail.health 9
expect_env "A" 3 0
[ ! -e "$WS/fail.never" ] || die "a check after the failed one ran"
[ "$(cat "$WS/rebooted")" = rebooted ] || die "rollback did not reboot"
status_has fail.status '"result":"rolled-back","reason":"check[^"]*20-broken:exitedwithstatus1"'
status_has fail.status2 '"security_floor":0'
grep -q '"bad"' "$DATA/state.json" || die "B not recorded bad"

# 3. A hanging check is killed at its timeout, with whatever it started.
# The check's background child inherits the pipe on upkit's stderr, so
# the reader sees EOF only once that child is gone too; cleanup kills it
# (.pids) if it survived.
fresh hang 1
check 10-hang "sleep 1000 & echo \$! >>$WS/.pids; exec sleep 1000"
boot_into B
start=$(date +%s)
set +e
{
	"$UPKIT" health -c "$CFG" --no-reboot 2>&1 >"$WS/hang.out"
	echo $? >"$WS/hang.rc"
} | timeout 20 cat >"$WS/hang.err"
piperc=$?
set -e
took=$(($(date +%s) - start))
[ "$piperc" -eq 0 ] || die "the check's background child survived"
RC=$(cat "$WS/hang.rc")
expect_rc hang 9
[ "$took" -le 10 ] || die "health took $took s with a 1 s timeout"
expect_env "A" 3 0
[ ! -e "$WS/rebooted" ] || die "--no-reboot rebooted"
status_has hang.status '"reason":"check[^"]*10-hang:timedoutafter1s'

# 4. Each check within its timeout, together past the deadline.
fresh deadline 5 2
check 10-slow "exec sleep 1.5"
check 20-slow "exec sleep 1.5"
boot_into B
start=$(date +%s)
run deadline.health health -c "$CFG" --no-reboot
took=$(($(date +%s) - start))
expect_rc deadline.health 9
[ "$took" -le 10 ] || die "health took $took s with a 2 s deadline"
expect_env "A" 3 0
status_has deadline.status '"reason":"check[^"]*20-slow:killedatthehealthdeadlineof2s'

# 5. Bootloader fallback: B used up its attempts, A booted.
fresh fallback
check 10-ok "exit 0"
fw_setenv -c "$ENVCFG" BOOT_B_LEFT 0
boot_into A
run fallback.health health -c "$CFG" --no-reboot
expect_rc fallback.health 0
expect_env "A" 3 0
grep -q 'slot B did not boot' "$WS/fallback.health.out" ||
    die "fallback not reported: $(cat "$WS/fallback.health.out")"
status_has fallback.status '"result":"rolled-back","reason":"slotBdidnotboot'
# Recorded once: the next boot is the fast path.
cat "$ENV" "$ENV.redund" >"$WS/env.before"
run fallback.again health -c "$CFG"
expect_rc fallback.again 0
cat "$ENV" "$ENV.redund" | cmp -s - "$WS/env.before" ||
    die "fallback recorded twice"
# Nothing left to roll back to.
run fallback.rollback rollback -c "$CFG" --no-reboot
expect_rc fallback.rollback 1
expect_msg fallback.rollback 'slot B is bad: nothing to roll back to'

# 6. Not rebooted yet: health on A leaves the armed trial alone.
fresh pending
run pending.health health -c "$CFG"
expect_rc pending.health 0
expect_env "B A" 3 3
grep -q '"trial"' "$DATA/state.json" || die "pending: trial lost"

# 7. Manual commit and rollback.
boot_into B
run manual.commit commit -c "$CFG"
expect_rc manual.commit 0
expect_env "B A" 3 3
status_has manual.status '"result":"committed"'
run manual.rollback rollback -c "$CFG"
expect_rc manual.rollback 0
expect_env "A" 3 0
[ "$(cat "$WS/rebooted")" = rebooted ] || die "rollback did not reboot"
status_has manual.status2 '"result":"rolled-back","reason":"manualrollback"'
exit 0

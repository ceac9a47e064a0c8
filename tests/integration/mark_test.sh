#!/bin/sh
# upkit mark-good / mark-bad [booted|other] as RAUC users type them
# (docs/cli.md, "mark-good and mark-bad"), on a device that ran a real
# `upkit update`. The env is read with fw_printenv, not upkit; a refusal
# must leave slots, env and state.json as they were (snapshot), and
# mark-bad never reboots (a fake reboot in PATH records any run).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv fw_setenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --linuxkit "$WS/img/lk"
mkdir -p "$WS/bin"
printf '#!/bin/sh\necho rebooted >>"%s/rebooted"\n' "$WS" >"$WS/bin/reboot"
chmod 0755 "$WS/bin/reboot"
PATH=$WS/bin:$PATH
export PATH

# installed NAME: a device booted from A with 2.0.0 armed in B.
installed()
{
	mk_device "$WS/$1" "$WS/keys/root.pem"
	run "$1.update" install -c "$CFG" "$WS/b.upk" --no-reboot
	expect_rc "$1.update" 0
	[ "$(env_get BOOT_ORDER)" = "B A" ] || die "$1: install did not arm B"
}

expect_env()
{
	[ "$(env_get BOOT_ORDER)" = "$2" ] && [ "$(env_get UPKIT_TRIAL)" = "$3" ] ||
	    die "$1: BOOT_ORDER '$(env_get BOOT_ORDER)' UPKIT_TRIAL" \
	    "'$(env_get UPKIT_TRIAL)', expected '$2' '$3'"
}

# refused NAME CODE REGEX ARG...: upkit ARG... exits CODE with one
# "upkit: " line matching REGEX, and changes nothing.
refused()
{
	_n=$1 _c=$2 _m=$3
	shift 3
	snapshot "$_n"
	run "$_n" "$@" -c "$CFG"
	expect_rc "$_n" "$_c"
	expect_msg "$_n" "^upkit: mark-(good|bad): $_m"
	[ "$(wc -l <"$WS/$_n.err")" -eq 1 ] || die "$_n: more than one line"
	same_as "$_n"
}

# A fresh device: the env offers B, which upkit never wrote: mark-good
# other leaves it so; mark-bad other takes it out of the boot order,
# once; then mark-good other will not put it back unverified.
mk_device "$WS/fresh" "$WS/keys/root.pem"
snapshot fresh
run good-fresh mark-good other -c "$CFG"
expect_rc good-fresh 0
grep -q "slot B (-) is the fallback already: nothing to do" \
    "$WS/good-fresh.out" || die "good-fresh: $(cat "$WS/good-fresh.out")"
same_as fresh
run bad-other mark-bad other -c "$CFG"
expect_rc bad-other 0
grep -q "slot B (-) marked bad: slot A boots next" "$WS/bad-other.out" ||
    die "bad-other: $(cat "$WS/bad-other.out")"
expect_env bad-other "A" ""
[ "$(env_get BOOT_B_LEFT)" = 0 ] || die "bad-other: B still has attempts"
grep -q '"status":[[:space:]]*"bad"' "$DATA/state.json" || die "bad-other: state"
run bad-again mark-bad B -c "$CFG"
expect_rc bad-again 0
grep -q "marked bad already" "$WS/bad-again.out" || die "bad-again"
refused good-bad 6 "slot B is bad: upkit never arms" mark-good other
# Booted A with nothing to fall back to: mark-bad booted would leave no
# slot that boots.
refused bad-booted 6 "slot B is bad: nothing to roll back to" mark-bad

# An armed trial in B, not booted yet: mark-good other is not a way to
# commit it unseen; mark-bad other cancels it.
installed armed
refused good-armed 6 "slot B \(2\.0\.0\) is armed for a trial boot" \
    mark-good other
run cancel mark-bad other -c "$CFG" --json
expect_rc cancel 0
grep -q '"result":"bad"' "$WS/cancel.out" || die "cancel: $(cat "$WS/cancel.out")"
expect_env cancel "A" ""
grep -q '"result":[[:space:]]*"rolled-back"' "$DATA/state.json" ||
    die "cancel: no rolled-back record: $(cat "$DATA/state.json")"

# Booted into the trial B: mark-bad other would leave it without a
# fallback; mark-good (booted) commits; mark-good other then finds A good.
installed trial
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
refused bad-trial-other 6 "slot B \(booted\) is trial: marking slot A bad" \
    mark-bad other
run good mark-good -c "$CFG"
expect_rc good 0
grep -q "slot B (2.0.0): committed" "$WS/good.out" || die "good: $(cat "$WS/good.out")"
expect_env good "B A" ""
run good-other mark-good other -c "$CFG"
expect_rc good-other 0
grep -q "slot A (-) is the fallback already" "$WS/good-other.out" ||
    die "good-other: $(cat "$WS/good-other.out")"
# mark-bad booted: back to A, without a reboot.
run bad-b mark-bad booted -c "$CFG"
expect_rc bad-b 0
grep -q "rolled back to slot A$" "$WS/bad-b.out" || die "bad-b: $(cat "$WS/bad-b.out")"
expect_env bad-b "A" ""
refused good-rolled 6 "slot B \(booted\) is marked bad" mark-good booted
[ ! -e "$WS/rebooted" ] || die "a mark command rebooted"
echo "mark: good/bad, booted/other: commit, cancel, refusals that change nothing"

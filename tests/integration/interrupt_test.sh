#!/bin/sh
# A stop signal mid-install. SIGTERM or SIGHUP: update stops at a chunk
# boundary, leaves the target marked bad (out of BOOT_ORDER, LEFT=0), the
# booted slot and its counter untouched, records last_result "failed"
# with reason "interrupted by SIGTERM", and exits 128 + the signal. A
# SIGKILL cannot be handled: state.json stays at "installing", and
# status must report that as interrupted, not as an install in progress.
#
# No sleeps: the bundle goes through a FIFO, the test writes half of it,
# reads upkit's --json progress from another FIFO until a chunk was
# written, signals, then writes the rest.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox mkfifo
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
# Small chunks: the signal lands with most of them still to come.
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --chunk-size 65536 \
    --linuxkit "$WS/img/lk"
bundle_regions "$WS/b.upk"
HALF=$((PAY_OFF + PAY_LEN / 2))

# interrupt NAME SIG: a fresh device; update from a FIFO, SIG once the
# first chunk is written; RC is update's exit code.
interrupt()
{
	mk_device "$WS/$1" "$WS/keys/root.pem"
	sha256sum "$ROOT_A" "$BOOT_A"/* >"$WS/$1.booted"
	rm -f "$WS/in" "$WS/out"
	mkfifo "$WS/in" "$WS/out"
	"$UPKIT" update -c "$CFG" --from - --no-reboot --json \
	    <"$WS/in" >"$WS/out" 2>"$WS/$1.err" &
	_pid=$!
	ws_pid "$_pid"
	exec 3>"$WS/in" 4<"$WS/out"
	head -c "$HALF" "$WS/b.upk" >&3
	_seen=0
	while IFS= read -r _line <&4; do
		echo "$_line" >>"$WS/$1.out"
		case $_line in
		*'"event":"progress","phase":"write"'*) _seen=1; break ;;
		esac
	done
	[ "$_seen" = 1 ] || die "$1: no write progress: $(cat "$WS/$1.err")"
	# Neither helper may hold the bundle FIFO open: upkit must see its
	# end once the test closes it, or a broken stop would hang here.
	cat <&4 3>&- >>"$WS/$1.out" &
	_cat=$!
	kill -s "$2" "$_pid"
	# The rest of the bundle: upkit must not take it. It may have
	# stopped reading already, so a broken pipe is expected.
	(tail -c +$((HALF + 1)) "$WS/b.upk" >&3) 2>/dev/null 4<&- &
	_tail=$!
	exec 3>&- 4<&-
	set +e
	wait "$_pid"
	RC=$?
	wait "$_cat"
	wait "$_tail"
	set -e
}

# marked_bad NAME: B out of the env's order, A's counter and content as
# they were.
marked_bad()
{
	[ "$(env_get BOOT_ORDER)" = A ] ||
	    die "$1: BOOT_ORDER '$(env_get BOOT_ORDER)', expected 'A'"
	[ "$(env_get BOOT_B_LEFT)" = 0 ] ||
	    die "$1: BOOT_B_LEFT '$(env_get BOOT_B_LEFT)', expected 0"
	[ "$(env_get BOOT_A_LEFT)" = 3 ] ||
	    die "$1: BOOT_A_LEFT '$(env_get BOOT_A_LEFT)', expected 3"
	sha256sum -c --quiet "$WS/$1.booted" >&2 ||
	    die "$1: the booted slot changed"
}

# Under nohup, SIGHUP is ignored from the start, and upkit leaves an
# ignored SIGHUP ignored, as nohup asks (agent/stop.c); a shell cannot
# undo that for its children, so the HUP case is then left out.
sigs="TERM HUP"
_ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$$/status")
case ${_ign#"${_ign%?}"} in
[13579bdfBDF])
	echo "SIGHUP is ignored (nohup?): the HUP case is left out"
	sigs=TERM ;;
esac
for sig in $sigs; do
	interrupt "$sig" "$sig"
	case $sig in
	TERM)	code=143 ;;
	HUP)	code=129 ;;
	esac
	[ "$RC" -eq "$code" ] || {
		cat "$WS/$sig.out" "$WS/$sig.err" >&2
		die "$sig: exit code $RC, expected $code"
	}
	grep -q "\"event\":\"error\",\"exit\":$code,\"message\":\"interrupted by SIG$sig\"" \
	    "$WS/$sig.out" || die "$sig: no error event: $(cat "$WS/$sig.out")"
	grep -q '"result":[[:space:]]*"failed"' "$DATA/state.json" &&
	    grep -q "\"reason\":[[:space:]]*\"interrupted by SIG$sig\"" \
	    "$DATA/state.json" ||
	    die "$sig: state.json: $(cat "$DATA/state.json")"
	marked_bad "$sig"
	grep -q '"event":"result"' "$WS/$sig.out" &&
	    die "$sig: a result after the signal: $(cat "$WS/$sig.out")"
	# It stopped at once, not after writing the rest it was sent.
	sed -n 's/.*"phase":"write".*"done":\([0-9]*\),"total":\1}.*/all/p' \
	    "$WS/$sig.out" | grep -q all &&
	    die "$sig: every chunk written after the signal"
	run "status$sig" status -c "$CFG"
	expect_rc "status$sig" 0
	grep -q "result failed" "$WS/status$sig.out" ||
	    die "$sig: status: $(cat "$WS/status$sig.out")"
	grep -q "^next boot:       A, the booted slot" "$WS/status$sig.out" ||
	    die "$sig: status: $(cat "$WS/status$sig.out")"
done

# SIGKILL: nothing runs, the lock goes with the process.
interrupt KILL KILL
[ "$RC" -eq 137 ] || die "KILL: exit code $RC"
grep -q '"result":[[:space:]]*"installing"' "$DATA/state.json" ||
    die "KILL: state.json: $(cat "$DATA/state.json")"
marked_bad KILL
run status status -c "$CFG"
expect_rc status 0
grep -q "target B, result interrupted$" "$WS/status.out" &&
    grep -q "reason .*marked bad" "$WS/status.out" &&
    grep -q "^next boot:       A, the booted slot (3 attempts left)$" \
    "$WS/status.out" || die "KILL: status: $(cat "$WS/status.out")"
run sjson status -c "$CFG" --json
expect_rc sjson 0
tr -d ' \n\t' <"$WS/sjson.out" >"$WS/sjson.flat"
grep -q '"result":"interrupted"' "$WS/sjson.flat" &&
    grep -q '"next_boot":{"slot":"A","trial":false' "$WS/sjson.flat" ||
    die "KILL: status --json: $(cat "$WS/sjson.out")"
# The next update goes through, and status says so.
run again update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc again 0
run status2 status -c "$CFG"
grep -q "result installed$" "$WS/status2.out" ||
    die "after KILL: status: $(cat "$WS/status2.out")"
exit 0

#!/bin/sh
# Reports (docs/reports.md): made only once the outcome is stored, kept
# in DATA/outbox through restarts and a server that is down, PUT to
# nginx's WebDAV and deleted only after its 2xx, capped with the oldest
# dropped first and counted, and counted too when the data directory is
# full, without changing health's outcome or exit code. Without
# [system] device-id, the first line of machine-id-file names the device.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need openssl mksquashfs fw_printenv mkenvimage busybox nginx
SHIM=${SHIM_DIR:-$TOP/build/tests}/nospace.so
[ -f "$SHIM" ] || die "$SHIM not built (make check builds it)"
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_bundle "$WS/keys" "$WS/v1.upk" 1.0.0 --linuxkit "$WS/img/lk"
mk_bundle "$WS/keys" "$WS/v2.upk" 2.0.0 --linuxkit "$WS/img/lk"
COMPATIBLE=other-board mk_bundle "$WS/keys" "$WS/other.upk" 9.0.0 \
    --linuxkit "$WS/img/lk"
mkdir -p "$WS/www"
nginx_start "$WS/www"

# device NAME: a device booted from A with device-id NAME, a health
# folder, and reports PUT to nginx, at most 3 kept.
device()
{
	mk_device "$WS/$1" "$WS/keys/root.pem"
	sed -i "/^\[system\]/a device-id = $1" "$CFG"
	mkdir -p "$DEV/health.d"
	printf '\n[health]\ndirectory = %s\n' "$DEV/health.d" >>"$CFG"
	printf '\n[server]\nreport-url = %s\noutbox-max = 3\n' \
	    "http://127.0.0.1:$NGINX_HTTP/reports/{device}/{time}-{seq}.json" \
	    >>"$CFG"
	OUTBOX=$DATA/outbox
}

# reports: the reports waiting, oldest first, one name a line.
reports()
{
	ls "$OUTBOX" 2>/dev/null | grep -E '^[0-9]{10}\.json$' || true
}

nreports()
{
	reports | wc -l | tr -d ' '
}

# field FILE KEY VALUE: FILE (cJSON's printing) has "KEY": VALUE.
field()
{
	grep -Eq "\"$2\":[[:space:]]*$3,?\$" "$1" ||
	    die "$1: no \"$2\": $3 in: $(cat "$1")"
}

boot_into()
{
	echo "console=ttyS0 upkit.slot=$1" >"$CMDLINE"
}

# 1. Install, reboot, health commits: exactly one report, and none
#    before the commit.
device dev-1
run install update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install 0
[ "$(nreports)" -eq 0 ] || die "a report before the reboot: $(reports)"
boot_into B
run status0 status -c "$CFG"
[ "$(nreports)" -eq 0 ] || die "a report before health: $(reports)"
# health writes the outbox but never loads libcurl: the dynamic
# loader's log of the files it opens names no libcurl.
LD_DEBUG=files LD_DEBUG_OUTPUT=$WS/ld.health \
    run health health -c "$CFG" --no-reboot
expect_rc health 0
[ "$(nreports)" -eq 1 ] || die "health made $(nreports) reports"
ls "$WS"/ld.health.* >/dev/null 2>&1 || die "no loader log of health"
! grep -q 'libcurl' "$WS"/ld.health.* || die "health loaded libcurl"
R=$OUTBOX/$(reports)
field "$R" result '"committed"'
field "$R" device '"dev-1"'
field "$R" compatible "\"$COMPATIBLE\""
field "$R" version '"2.0.0"'
field "$R" check null
field "$R" fetched "$(filesize "$WS/v2.upk")"
field "$R" refetched 0
field "$R" seq 1
field "$R" dropped 0
grep -Eq '"install_started":[[:space:]]*"[0-9]{4}-' "$R" ||
    die "no install start in $(cat "$R")"
cp "$R" "$WS/committed.json"
run status1 status -c "$CFG"
grep -q '^outbox: *1 report waiting (.*), 0 dropped' "$WS/status1.out" ||
    die "status: $(grep outbox "$WS/status1.out")"

# ... and send PUTs it: nginx keeps the same bytes, the outbox is empty.
LD_DEBUG=files LD_DEBUG_OUTPUT=$WS/ld.send run send1 report send -c "$CFG"
expect_rc send1 0
grep -q 'libcurl' "$WS"/ld.send.* || die "send did not load libcurl"

grep -q '^sent 1 report, 0 left' "$WS/send1.out" ||
    die "send1: $(cat "$WS/send1.out")"
[ "$(nreports)" -eq 0 ] || die "sent report still in the outbox"
stored=$(find "$WS/www/reports/dev-1" -name '*-1.json')
[ -n "$stored" ] || die "nginx stored no report: $(find "$WS/www")"
case $stored in
*/dev-1/[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-1.json) ;;
*)	die "stored as $stored, not DEVICE/YYYYMMDDTHHMMSSZ-SEQ.json" ;;
esac
files_equal "$WS/committed.json" "$stored"
run send1b report send -c "$CFG"
expect_rc send1b 0

# 2. A failing check: a rolled-back report naming it.
device dev-2
printf '#!/bin/sh\necho "the new app does not start" >&2\nexit 1\n' \
    >"$DEV/health.d/10-app"
chmod +x "$DEV/health.d/10-app"
run install2 update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install2 0
boot_into B
run health2 health -c "$CFG" --no-reboot
expect_rc health2 9
[ "$(nreports)" -eq 1 ] || die "rollback made $(nreports) reports"
R=$OUTBOX/$(reports)
field "$R" result '"rolled-back"'
field "$R" check '"10-app"'
grep -Eq '"reason":[[:space:]]*"check .*10-app: exited with status 1"' "$R" ||
    die "reason: $(grep reason "$R")"

# 3. nginx down: one clear line, the report stays; up again (a new port
#    in the config, as after a restart), the same report goes.
pid=$(cat "$NGINX_DIR/nginx.pid")
nginx_stop
# Its workers hold the port until they exit, and the master waits for
# them: once it is gone, nothing listens.
tail --pid="$pid" -f /dev/null
run down report send -c "$CFG"
expect_rc down 1
[ "$(grep -c . "$WS/down.err")" -eq 1 ] ||
    die "down: not one line: $(cat "$WS/down.err")"
expect_msg down "^upkit: report send: PUT http://127\.0\.0\.1:$NGINX_HTTP/reports/dev-2/.*(refused|connect)"
grep -q '^sent 0 reports, 1 left' "$WS/down.out" ||
    die "down: $(cat "$WS/down.out")"
[ "$(nreports)" -eq 1 ] || die "a failed send lost the report"
nginx_start "$WS/www"
sed -i "s#127.0.0.1:[0-9]*/reports#127.0.0.1:$NGINX_HTTP/reports#" "$CFG"
run up report send -c "$CFG"
expect_rc up 0
[ "$(nreports)" -eq 0 ] || die "report not sent once nginx was up"
find "$WS/www/reports/dev-2" -name '*-1.json' | grep -q . ||
    die "nginx did not store dev-2's report"

# 4. The cap: 5 refused installs (install-failed reports) into an outbox
#    of 3 drop the 2 oldest; the count is in the next report and status.
for i in 1 2 3 4 5; do
	run refused$i update -c "$CFG" --from "$WS/other.upk" --no-reboot
	expect_rc refused$i 6
done
[ "$(reports | tr '\n' ' ')" = \
    "0000000004.json 0000000005.json 0000000006.json " ] ||
    die "outbox after the cap: $(reports | tr '\n' ' ')"
field "$OUTBOX/0000000004.json" dropped 0
field "$OUTBOX/0000000005.json" dropped 1
field "$OUTBOX/0000000006.json" dropped 2
field "$OUTBOX/0000000006.json" result '"install-failed"'
field "$OUTBOX/0000000006.json" version '"9.0.0"'
run status4 status -c "$CFG" --json
grep -Eq '"dropped":[[:space:]]*2' "$WS/status4.out" ||
    die "status --json: $(cat "$WS/status4.out")"
run send4 report send -c "$CFG"
expect_rc send4 0
grep -q '^sent 3 reports, 0 left' "$WS/send4.out" ||
    die "send4: $(cat "$WS/send4.out")"

# 5. A full data directory while health writes its report: the oldest
#    waiting report goes first, then the new one is counted as dropped;
#    health still commits with exit 0.
device dev-3
run refused update -c "$CFG" --from "$WS/other.upk" --no-reboot
expect_rc refused 6
[ "$(reports)" = 0000000001.json ] || die "dev-3: $(reports)"
run install3 update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install3 0
boot_into B
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
LD_PRELOAD=$SHIM NOSPACE_PATH=$OUTBOX/0000000002.json.tmp \
    "$UPKIT" health -c "$CFG" --no-reboot >"$WS/full.out" 2>"$WS/full.err"
RC=$?
set -e
expect_rc full 0
grep -q 'committed' "$WS/full.out" || die "full: $(cat "$WS/full.out")"
[ "$(grep -c . "$WS/full.err")" -eq 1 ] ||
    die "full: not one line: $(cat "$WS/full.err")"
expect_msg full "^upkit: health: warning: outbox: report 2 dropped: .*No space left on device"
[ "$(nreports)" -eq 0 ] || die "full: $(reports) left"
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "full: B not committed"
run status5 status -c "$CFG"
grep -q '^outbox: *0 reports waiting (0 bytes), 2 dropped' \
    "$WS/status5.out" || die "status: $(grep outbox "$WS/status5.out")"
# With room again, the next report carries the count.
run refused5 update -c "$CFG" --from "$WS/other.upk" --no-reboot
expect_rc refused5 6
field "$OUTBOX/0000000003.json" dropped 2

# 6. The bootloader fell back before health ran: fell-back, for the
#    slot that did not boot; a second health run reports nothing new.
device dev-4
run install4 update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install4 0
fw_setenv -c "$ENVCFG" BOOT_B_LEFT 0
run fell health -c "$CFG" --no-reboot
expect_rc fell 0
[ "$(nreports)" -eq 1 ] || die "fallback made $(nreports) reports"
R=$OUTBOX/$(reports)
field "$R" result '"fell-back"'
field "$R" slot '"B"'
grep -Eq '"reason":[[:space:]]*"slot B did not boot' "$R" ||
    die "reason: $(grep reason "$R")"
run fell2 health -c "$CFG" --no-reboot
expect_rc fell2 0
[ "$(nreports)" -eq 1 ] || die "a good boot made a report"

# upkit commit and upkit rollback end an update by hand: reported too.
device dev-6
run install6 update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install6 0
boot_into B
run commit6 commit -c "$CFG"
expect_rc commit6 0
[ "$(reports)" = 0000000001.json ] || die "commit: $(reports)"
field "$OUTBOX/0000000001.json" result '"committed"'
run rollback6 rollback -c "$CFG" --no-reboot
expect_rc rollback6 0
field "$OUTBOX/0000000002.json" result '"rolled-back"'
field "$OUTBOX/0000000002.json" reason '"manual rollback"'

# 7. Bytes fetched again: a run cut short (a truncated copy of the same
#    bundle) is reported as install-failed; the rerun from the start
#    fetches those bytes again, and the committed report says how many.
device dev-5
size=$(filesize "$WS/v2.upk")
half=$((size / 2))
head -c "$half" "$WS/v2.upk" >"$WS/half.upk"
run cut update -c "$CFG" --from "$WS/half.upk" --no-reboot
expect_rc cut 5
field "$OUTBOX/0000000001.json" result '"install-failed"'
field "$OUTBOX/0000000001.json" fetched "$half"
field "$OUTBOX/0000000001.json" refetched 0
run whole update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc whole 0
boot_into B
run health5 health -c "$CFG" --no-reboot
expect_rc health5 0
field "$OUTBOX/0000000002.json" result '"committed"'
field "$OUTBOX/0000000002.json" fetched $((size + half))
field "$OUTBOX/0000000002.json" refetched "$half"

# 7b. A power cut right after an install-failed save of state.json
#    (badwrite.so kills upkit after the Nth rename onto it, the first N
#    whose state says "failed") still leaves its report in the outbox:
#    the report is written first.
device dev-8
BW=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
n=1
while :; do
	rm -rf "$DATA"
	set +e
	ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
	LD_PRELOAD=$BW KILLRENAME_PATH=$DATA/state.json KILLRENAME_AT=$n \
	    "$UPKIT" update -c "$CFG" --from "$WS/half.upk" --no-reboot \
	    >/dev/null 2>"$WS/kill8.err"
	RC=$?
	set -e
	[ "$RC" -eq 137 ] || die "cut at save $n: exit $RC, no kill"
	grep -q '"result":[[:space:]]*"failed"' "$DATA/state.json" && break
	n=$((n + 1))
	[ "$n" -le 10 ] || die "no save of state.json says failed"
done
[ "$(nreports)" -eq 1 ] ||
    die "cut after the failure's save (rename $n): $(nreports) reports"
field "$OUTBOX/$(reports)" result '"install-failed"'

# 8. A power cut between the commit and its report: the commit's own
#    save marks the report due, so the next health run makes it. Here
#    the save that clears the duty fails (nospace.so on state.json.tmp
#    after the commit's save), and the report is removed as if the cut
#    had come before it was written.
device dev-7
run install7 update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install7 0
boot_into B
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
LD_PRELOAD=$SHIM NOSPACE_PATH=$DATA/state.json.tmp NOSPACE_SKIP=1 \
    "$UPKIT" health -c "$CFG" --no-reboot >"$WS/cut7.out" 2>"$WS/cut7.err"
RC=$?
set -e
expect_rc cut7 0
expect_msg cut7 "^upkit: health: warning: report due: .*No space left on device"
grep -q '"report_due"' "$DATA/state.json" || die "no report due saved"
rm -f "$OUTBOX"/0*.json
run after7 health -c "$CFG" --no-reboot
expect_rc after7 0
[ "$(nreports)" -eq 1 ] || die "after the cut: $(nreports) reports"
field "$OUTBOX/$(reports)" result '"committed"'
! grep -q '"report_due"' "$DATA/state.json" || die "report still due"
run again7 health -c "$CFG" --no-reboot
[ "$(nreports)" -eq 1 ] || die "reported twice"

# 9. fleet report over a folder of reports as a store keeps them: the
#    latest report of each device counts, a malformed file is named and
#    counted, and nothing else stops the sum.
F=$WS/fleet
mkdir -p "$F/dev-1" "$F/dev-2" "$F/dev-3" "$F/dev-4/x"
cp "$WS/committed.json" "$F/dev-1/a.json"
sed 's/"seq":.*/"seq": 0,/; s/"committed"/"install-failed"/;
    s/"time":.*/"time": "2026-01-01T00:00:00Z",/' "$WS/committed.json" \
    >"$F/dev-1/older.json"
# dev-2's rolled-back report, as nginx stored it.
cp "$(find "$WS/www/reports/dev-2" -name '*-1.json')" "$F/dev-2/r.json"
cp "$WS/dev-5/data/outbox/0000000002.json" "$F/dev-3/r.json"
sed 's/"dev-5"/"dev-4"/; s/"committed"/"rolled-back"/;
    s/"check":.*/"check": "20-net",/' "$WS/dev-5/data/outbox/0000000002.json" \
    >"$F/dev-4/x/r.json"
echo '{"format": 1, "device": "broken"' >"$F/dev-4/broken.json"
echo 'not json either' >"$F/ignored.txt"
run fleet fleet report "$F"
expect_rc fleet 0
grep -q "^upkit: fleet report: $F/dev-4/broken.json: not a report" \
    "$WS/fleet.err" || die "fleet: $(cat "$WS/fleet.err")"
grep -q '^reports:  6 files, 1 malformed$' "$WS/fleet.out" ||
    die "fleet: $(head -1 "$WS/fleet.out")"
grep -q '^devices:  4$' "$WS/fleet.out" || die "fleet: devices"
grep -q '^rollout:  2 of 4 devices on 2.0.0 (50.0%)$' "$WS/fleet.out" ||
    die "fleet: $(grep rollout "$WS/fleet.out")"
grep -Eq '^committed +2$' "$WS/fleet.out" || die "fleet: committed"
grep -Eq '^rolled-back +2$' "$WS/fleet.out" || die "fleet: rolled-back"
grep -Eq '^check 10-app +1$' "$WS/fleet.out" || die "fleet: 10-app"
grep -Eq '^check 20-net +1$' "$WS/fleet.out" || die "fleet: 20-net"
grep -Eq '^unknown +2$' "$WS/fleet.out" || die "fleet: unknown version"
run fleetj fleet report "$F" --json
expect_rc fleetj 0
tr -d ' \t\n' <"$WS/fleetj.out" >"$WS/fleetj.flat"
grep -q '"files":6,"malformed":1,"devices":4,"newest":"2.0.0","on_newest":2,' \
    "$WS/fleetj.flat" || die "fleet --json: $(cat "$WS/fleetj.flat")"
grep -q '"results":{"committed":2,"rolled-back":2}' "$WS/fleetj.flat" ||
    die "fleet --json: $(cat "$WS/fleetj.flat")"
run nodir fleet report "$WS/no-such"
expect_rc nodir 4
# A daemon's refusal (docs/reports.md) is a result of its own; the
# device runs what it came from.
mkdir "$WS/fleet2"
sed 's/"committed"/"refused"/' "$WS/committed.json" >"$WS/fleet2/r.json"
run fleet2 fleet report "$WS/fleet2" --json
expect_rc fleet2 0
tr -d ' \t\n' <"$WS/fleet2.out" | grep -q '"results":{"refused":1}' ||
    die "fleet refused: $(cat "$WS/fleet2.out")"

# Without [system] device-id, the report names the device by the first
# line of [system] machine-id-file, as the daemon's rollout does
# (device_id_get(), agent/device.c).
device mid
printf 'f00dfeed\nsecond line\n' >"$DEV/machine-id"
sed -i "s|^device-id = .*|machine-id-file = $DEV/machine-id|" "$CFG"
run midu update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc midu 0
boot_into B
run midh health -c "$CFG" --no-reboot
expect_rc midh 0
[ "$(nreports)" -eq 1 ] || die "mid: $(nreports) reports"
field "$OUTBOX/$(reports)" device '"f00dfeed"'
exit 0

#!/bin/sh
# upkit daemon against nginx on 127.0.0.1 (docs/daemon.md). A full
# --once cycle: the channel is fetched, verified and accepted, the
# release selected and installed from the URL the channel names
# (relative to it), B armed; after a simulated reboot into B, upkit
# health commits. A second --once costs one request answered 304 with no
# body, installs nothing, and ends by sending the commit's report to
# /reports/ (docs/reports.md). Refusals, each with its reason in `upkit
# status` and the slots and env untouched: an expired channel, an older
# version (a replay), a changed byte (bad signature), a bundle replaced on
# the server (its id is not the channel's), a rollout of 0 %. Rollout:
# of two device ids, the one whose bucket is below 50 % takes the release,
# the other does not. SIGTERM to the daemon (parent and child) during a
# rate-limited download stops it with the journal kept; the next start
# resumes with a Range request. Between polls, the parent has not mapped
# libcurl. An install window two hours away arms B and leaves the reboot
# for later (once its time has passed, the next cycle reboots before it
# polls); one around now reboots at once. A channel that cannot be
# fetched (404, a server certificate outside [server] ca) is an error
# that changes nothing; over HTTPS with the CA it is fetched. A release
# that rolled back on the device is skipped from then on; its report,
# refused by the store (503), waits in the outbox, one warning line, and
# the cycle's outcome is unchanged.
#
# Deterministic: every wait reads a line the daemon prints (and the idle
# check reads wchan until the parent is in its wait).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need_root
need openssl fw_printenv fw_setenv mkenvimage nginx
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
    no_proxy NO_PROXY
ws_init

CHUNK=65536
MIB=1048576
SLOT_CLASSES=rootfs
mk_keys "$WS/keys"
mkdir "$WS/www" "$WS/www/bundles"
gen_bytes $((6 * MIB)) one >"$WS/one.img"
gen_bytes $((6 * MIB)) two >"$WS/two.img"
mk_bundle "$WS/keys" "$WS/www/bundles/b2.upk" 2.0.0 --level 1 \
    --chunk-size $CHUNK --image rootfs="$WS/one.img"
mk_bundle "$WS/keys" "$WS/www/bundles/b3.upk" 3.0.0 --level 1 \
    --chunk-size $CHUNK --image rootfs="$WS/two.img"
mk_bundle "$WS/keys" "$WS/other3.upk" 3.0.0 --level 1 \
    --chunk-size $CHUNK --image rootfs="$WS/one.img"
SIGN="--key $WS/keys/signer.key --cert $WS/keys/signer.pem"
SIGN="$SIGN --keyring $WS/keys/root.pem"

# channel OUT VERSION BUNDLE [OPTS [ARG...]]: a channel for $COMPATIBLE in
# www/, its release at bundles/BUNDLE (relative to the channel), OPTS
# appended to the --release (",rollout=0").
channel()
{
	_out=$1 _v=$2 _b=$3 _o=${4:-}
	shift 3
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086
	"$UPKIT" channel create $SIGN --name stable --version "$_v" \
	    --release "$COMPATIBLE=$WS/www/bundles/$_b,url=bundles/$_b$_o" \
	    "${@:---expires-in=30d}" --out "$WS/www/$_out" >/dev/null ||
	    die "channel create $_out"
	# nginx's ETag is mtime and size: two channels made in the same
	# second, of the same size, would share one.
	touch -d "@$((1700000000 + _v))" "$WS/www/$_out"
}

# device NAME URL [DEVICE-ID]: a fresh device polling URL.
device()
{
	mk_device "$WS/$1" "$WS/keys/root.pem"
	sed -i "s/^\[system\]$/[system]\ndevice-id = ${3:-dev-1}\njournal-interval-mb = 1\njournal-interval-s = 3600/" \
	    "$CFG"
	printf '\n[server]\nchannel = %s\ninterval = 10\n' "$2" >>"$CFG"
}

# untouched NAME: slot B still zeros and A still first and alone.
untouched()
{
	cmp -s "$ROOT_B" "$WS/zeros" || die "$1: slot B was written"
	[ "$(env_get BOOT_ORDER)" = "A B" ] ||
	    die "$1: BOOT_ORDER is '$(env_get BOOT_ORDER)'"
}

# polled NAME REGEX: `upkit status` shows a last poll matching REGEX.
polled()
{
	run "$1.status" status -c "$CFG"
	expect_rc "$1.status" 0
	grep -Eq -- "^last poll: +[0-9TZ:-]+: $2" "$WS/$1.status.out" ||
	    die "$1: status: $(cat "$WS/$1.status.out")"
}

# daemon_start NAME ARG...: upkit daemon in the background (DPID), its
# stderr read through a fifo by wait_line and kept in $WS/NAME.err.
daemon_start()
{
	DNAME=$1
	shift
	rm -f "$WS/daemon.fifo"
	mkfifo "$WS/daemon.fifo"
	"$UPKIT" daemon "$@" 2>"$WS/daemon.fifo" >"$WS/$DNAME.out" &
	DPID=$!
	ws_pid "$DPID"
	exec 4<"$WS/daemon.fifo"
	: >"$WS/$DNAME.err"
}

# wait_line REGEX: reads the daemon's lines until one matches.
wait_line()
{
	while read -r _l <&4; do
		printf '%s\n' "$_l" >>"$WS/$DNAME.err"
		printf '%s\n' "$_l" | grep -Eq -- "$1" && return 0
	done
	die "$DNAME: ended before a line /$1/: $(cat "$WS/$DNAME.err")"
}

# daemon_stop: SIGTERM, the rest of its lines, its exit code in RC.
daemon_stop()
{
	kill -TERM "$DPID"
	cat <&4 >>"$WS/$DNAME.err"
	exec 4<&-
	set +e
	wait "$DPID"
	RC=$?
	set -e
}

# bucket ID HEX: verify/rollout.c's bucket, computed here apart:
# SHA-256(ID, a zero byte, the bundle id's 32 bytes), its first 8 bytes
# as a big-endian u64, mod 10000 (2^32 mod 10000 is 7296).
bucket()
{
	_d=$({
		printf '%s' "$1"
		printf '\000'
		for _x in $(echo "$2" | sed 's/../& /g'); do
			# shellcheck disable=SC2059
			printf "\\$(printf %03o "0x$_x")"
		done
	} | sha256sum | cut -c1-16)
	_hi=$((0x$(echo "$_d" | cut -c1-8)))
	_lo=$((0x$(echo "$_d" | cut -c9-16)))
	echo $(((_hi % 10000 * 7296 + _lo) % 10000))
}

truncate -s 8M "$WS/zeros"

# 0. Without [server] channel there is nothing to poll: exit 3, either way.
mk_device "$WS/nochannel" "$WS/keys/root.pem"
run nochan daemon -c "$CFG" --once
expect_rc nochan 3
expect_msg nochan "\\[server\\] channel: missing"
run nochan2 daemon -c "$CFG"
expect_rc nochan2 3
expect_msg nochan2 "\\[server\\] channel: missing"
nginx_start "$WS/www"
H=http://127.0.0.1:$NGINX_HTTP
WIRE=$NGINX_DIR/wire.log

# 1. A full cycle: fetch, accept, select, install, arm.
channel stable.upc 2 b2.upk
device full "$H/stable.upc"
run once1 daemon -c "$CFG" --once --no-reboot
expect_rc once1 10
grep -q "accepted channel stable version 2" "$WS/once1.err" ||
    die "once1: $(cat "$WS/once1.err")"
prefix_equal "$WS/one.img" "$ROOT_B"
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "once1: B not armed"
grep -q "^/bundles/b2.upk 200 " "$NGINX_LOG" || die "once1: no GET of b2"
polled once1 "installed 2.0.0 into slot B"
grep -Eq "^channel: +stable version 2, accepted " "$WS/once1.status.out" ||
    die "once1: status has no channel line"
# The reboot, as the boot script would do it, then health commits.
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
fw_setenv -c "$ENVCFG" BOOT_B_LEFT 2
# ...while a poll waits on a stalled server: the daemon holds no lock
# while it fetches, so health, run at boot beside it, commits at once;
# the poll, ended by the stall's close, keeps the commit (it reads the
# state again under the lock) and changes neither env nor slots.
cutproxy_start "$NGINX_HTTP" -s 1
sed "s#^channel = .*#channel = http://127.0.0.1:$PROXY_PORT/stable.upc#" \
    "$CFG" >"$WS/stall.conf"
daemon_start stall -c "$WS/stall.conf" --once --no-reboot
[ "$(cutproxy_event)" = "stall 1" ] || die "stall: no stall"
run health health -c "$CFG" --no-reboot
expect_rc health 0
grep -q '"committed"' "$DATA/state.json" || die "health did not commit"
snapshot committed
cutproxy_stop
cat <&4 >>"$WS/stall.err"
exec 4<&-
set +e
wait "$DPID"
RC=$?
set -e
[ "$RC" -ne 0 ] && [ "$RC" -ne 10 ] ||
    die "stall: exit $RC after a failed fetch: $(cat "$WS/stall.err")"
grep -q "upkit: daemon: error: .*stable.upc" "$WS/stall.err" ||
    die "stall: $(cat "$WS/stall.err")"
grep -q '"committed"' "$DATA/state.json" ||
    die "stall: the poll undid the commit: $(cat "$DATA/state.json")"
snapshot stalled
[ "$(grep -v state.json "$WS/snap.committed")" = \
    "$(grep -v state.json "$WS/snap.stalled")" ] ||
    die "stall: env or slots changed by a failed poll"
# Its report waits in the outbox for the daemon's next cycle to send it.
[ "$(ls "$DATA/outbox" | grep -cE '^[0-9]{10}\.json$')" -eq 1 ] ||
    die "health: not one report in the outbox"
sed -i "s#^interval = 10\$#&\nreport-url = $H/reports/{device}/{seq}.json#" \
    "$CFG"

# 2. Nothing changed: one request, a 304, no body, nothing installed;
# the cycle ends by sending the outbox (docs/reports.md).
n0=$(grep -c '^/stable.upc ' "$WIRE")
snapshot before304
run once2 daemon -c "$CFG" --once --no-reboot
expect_rc once2 0
[ "$(grep -c '^/stable.upc ' "$WIRE")" -eq $((n0 + 1)) ] ||
    die "once2: not one request: $(cat "$WIRE")"
[ "$(grep -c '^/bundles/' "$WIRE")" -eq 1 ] || die "once2: a bundle GET"
set -- $(grep '^/stable.upc ' "$WIRE" | tail -n 1)
[ "$1 $2 $5" = "/stable.upc 304 0" ] || die "once2: $(tail -n 2 "$WIRE")"
[ $(($3 + $4)) -le 1024 ] || die "once2: $3 + $4 bytes on the wire"
echo "304 poll: $3 bytes of request, $4 of answer, $5 of body" >&2
polled once2 "nothing new: 2.0.0 is running \(slot B\)"
# The commit's report went to /reports/ in that cycle, and left the outbox.
grep -q '"result":[[:space:]]*"committed"' "$WS/www/reports/dev-1/1.json" ||
    die "once2: the commit's report is not on the server"
[ "$(ls "$DATA/outbox" | grep -cE '^[0-9]{10}\.json$')" -eq 0 ] ||
    die "once2: the sent report is still in the outbox"
! grep -q "report send" "$WS/once2.err" || die "once2: $(cat "$WS/once2.err")"
sha256sum "$ROOT_A" "$ROOT_B" >"$WS/slots.now"
grep -q "$(sha256sum "$ROOT_A" | cut -c1-64)" "$WS/snap.before304" ||
    die "once2: slot A changed"

# 3. Between polls the parent sleeps, without libcurl or a TLS stack.
daemon_start idle -c "$CFG" --no-reboot
wait_line "next poll in [0-9]+ s"
grep -q "nothing new: 2.0.0 is running" "$WS/idle.err" ||
    die "idle: no cycle: $(cat "$WS/idle.err")"
if grep -E 'libcurl|libssl|libcrypto\.' "/proc/$DPID/maps" >&2; then
	die "idle: the parent has mapped libcurl or OpenSSL"
fi
# Blocked in the one wait until the next poll; the line comes just
# before it, so a few reads of wchan may see it on its way there.
i=0
while ! grep -q '^do_sigtimedwait' "/proc/$DPID/wchan"; do
	i=$((i + 1))
	[ $i -lt 100000 ] || die "idle: wchan $(cat "/proc/$DPID/wchan")"
done
RSS=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status")
PSS=$(awk '$1 == "Pss:" { print $2 }' "/proc/$DPID/smaps_rollup")
echo "idle parent: VmRSS $RSS kB, Pss $PSS kB" >&2
# The target: 2 MiB (libcurl alone would add some 8). A sanitizer's
# runtime (make SAN=1, TSAN=1) has its own.
if ! grep -Eq 'lib(a|t|ub)san' "/proc/$DPID/maps"; then
	[ "$RSS" -le 2048 ] || die "idle: VmRSS $RSS kB"
fi
daemon_stop
[ "$RC" -eq 0 ] || die "idle: exit $RC after SIGTERM"
grep -q "stopped by SIGTERM" "$WS/idle.err" || die "idle: no stop line"

# refusal NAME RESULT REGEX: the outbox holds exactly N_REF reports, the
# newest with RESULT and a reason matching REGEX (docs/reports.md).
refusal()
{
	_n=$(ls "$DATA/outbox" | grep -cE '^[0-9]{10}\.json$' || true)
	[ "$_n" -eq "$N_REF" ] ||
	    die "$1: $_n reports in the outbox, expected $N_REF"
	_f=$DATA/outbox/$(ls "$DATA/outbox" | grep -E '^[0-9]{10}\.json$' |
	    tail -n 1)
	grep -Eq "\"result\":[[:space:]]*\"$2\"" "$_f" &&
	    grep -Eq "\"reason\":[[:space:]]*\"$3" "$_f" ||
	    die "$1: report: $(cat "$_f")"
}

# 4. Refusals on a device that accepted version 5. Each is in status
# and in a report, once: the same refusal at the next poll adds none.
N_REF=0
device ref "$H/ref.upc"
cp "$WS/www/bundles/b3.upk" "$WS/b3.orig"
channel ref.upc 5 b3.upk ",rollout=0"
run ref0 daemon -c "$CFG" --once --no-reboot
expect_rc ref0 0
polled ref0 "not selected: 3.0.0 is rolled out to 0% of devices"
untouched ref0
# An older version: a replay of what the server once had.
channel ref.upc 4 b3.upk
run ref1 daemon -c "$CFG" --once --no-reboot
expect_rc ref1 6
polled ref1 "refused: channel stable version 4 is older than version 5"
untouched ref1
N_REF=1
refusal ref1 refused "refused: channel stable version 4 is older than version 5"
run ref1b daemon -c "$CFG" --once --no-reboot
expect_rc ref1b 6
refusal ref1b refused "refused: channel stable version 4 is older"
# A changed byte of the body: the signature does not match.
channel ref.upc 6 b3.upk
flip_byte "$WS/www/ref.upc" 80
run ref2 daemon -c "$CFG" --once --no-reboot
expect_rc ref2 5
polled ref2 "refused: $H/ref.upc: .*signature"
untouched ref2
N_REF=2
refusal ref2 refused "refused: $H/ref.upc: .*signature"
# The bundle replaced on the server: signed, but not the channel's.
channel ref.upc 7 b3.upk
cp "$WS/other3.upk" "$WS/www/bundles/b3.upk"
run ref3 daemon -c "$CFG" --once --no-reboot
expect_rc ref3 6
polled ref3 "refused: bundle $H/bundles/b3.upk: id [0-9a-f]+ is not the channel's"
untouched ref3
# The bundle was verified before it was refused: update's own report.
N_REF=3
refusal ref3 install-failed "bundle $H/bundles/b3.upk: id [0-9a-f]+ is not the channel's"
cp "$WS/b3.orig" "$WS/www/bundles/b3.upk"
# Expired: made as of 2020, a day's validity.
channel ref.upc 8 b3.upk "" --now=2020-01-01T00:00:00Z --expires-in=1d
run ref4 daemon -c "$CFG" --once --no-reboot
expect_rc ref4 6
polled ref4 "refused: $H/ref.upc: channel stable version 8 expired at "
untouched ref4
N_REF=4
refusal ref4 refused "refused: $H/ref.upc: channel stable version 8 expired at "
# Version 7 itself was accepted: its bundle was what failed.
tr -d ' \t\n' <"$DATA/state.json" | grep -q '"channel_version":7,' ||
    die "refusals: accepted version: $(cat "$DATA/state.json")"
grep -q '"pending_bundle":.*null' "$DATA/state.json" ||
    die "refusals: a pending bundle: $(cat "$DATA/state.json")"

# A channel that cannot be fetched: an error, nothing else.
device nofile "$H/no-such.upc"
run nofile daemon -c "$CFG" --once --no-reboot
expect_rc nofile 4
polled nofile "error: GET $H/no-such.upc: 404 Not Found"
untouched nofile
# Over HTTPS with [server] ca: the fetch takes the same TLS options as
# a download.
# No [system] device-id: the machine id is the first line of its file.
device tls "https://127.0.0.1:$NGINX_HTTPS/roll.upc"
printf 'ca = %s\n' "$TLS_DIR/ca.pem" >>"$CFG"
printf 'f00dfeed\nsecond line\n' >"$DEV/machine-id"
sed -i "s|^device-id = .*|machine-id-file = $DEV/machine-id|" "$CFG"
channel roll.upc 1 b2.upk ",rollout=0"
run tls daemon -c "$CFG" --once --no-reboot
expect_rc tls 0
polled tls "not selected: 2.0.0 is rolled out to 0% of devices, not yet to f00dfeed "
device tlsbad "https://127.0.0.1:$NGINX_HTTPS/roll.upc"
run tlsbad daemon -c "$CFG" --once --no-reboot
expect_rc tlsbad 4
polled tlsbad "error: GET https://127.0.0.1:$NGINX_HTTPS/roll.upc: "

# 5. Rollout at 50 %: a device whose bucket is below 5000 takes the
# release, one whose bucket is not does not.
channel roll.upc 1 b2.upk ",rollout=50"
BID=$("$UPKIT" bundle info "$WS/www/bundles/b2.upk" |
    sed -n 's/^bundle id: *//p')
[ ${#BID} -eq 64 ] || die "no bundle id for b2.upk"
IN= OUT=
i=0
while [ -z "$IN" ] || [ -z "$OUT" ]; do
	b=$(bucket "dev-$i" "$BID")
	if [ "$b" -lt 5000 ]; then IN=${IN:-dev-$i}; else OUT=${OUT:-dev-$i}; fi
	[ -n "$OUT" ] && [ "$OUT" = "dev-$i" ] && OUTB=$b
	i=$((i + 1))
done
device rollin "$H/roll.upc" "$IN"
run rollin daemon -c "$CFG" --once --no-reboot
expect_rc rollin 10
prefix_equal "$WS/one.img" "$ROOT_B"
device rollout "$H/roll.upc" "$OUT"
run rollout daemon -c "$CFG" --once --no-reboot
expect_rc rollout 0
polled rollout "not selected: 2.0.0 is rolled out to 50% of devices, not yet to $OUT \\(bucket $OUTB of 10000\\)"
untouched rollout

# 6. SIGTERM to the daemon mid-download (2 MiB/s): parent and child
# stop, the journal stays; the next start resumes with a Range request.
nginx_start "$WS/www" 2m
device term "http://127.0.0.1:$NGINX_HTTP/roll.upc" "$IN"
daemon_start term -c "$CFG" --no-reboot
wait_line "read back ([3-9][0-9]|100)%"
daemon_stop
[ "$RC" -eq 0 ] || die "term: exit $RC: $(cat "$WS/term.err")"
grep -q "interrupted by SIGTERM" "$WS/term.err" &&
    grep -q "stopped by SIGTERM" "$WS/term.err" ||
    die "term: $(cat "$WS/term.err")"
[ "$(env_get BOOT_ORDER)" = A ] || die "term: BOOT_ORDER $(env_get BOOT_ORDER)"
F=$(sed -n '/"journal"/,/}/s/.*"chunks":[[:space:]]*\([0-9]*\).*/\1/p' \
    "$DATA/state.json")
[ -n "$F" ] && [ "$F" -gt 0 ] || die "term: journal: $(cat "$DATA/state.json")"
polled term "interrupted: the install of 2.0.0 stopped at a chunk boundary"
run resume daemon -c "$CFG" --once --no-reboot
expect_rc resume 10
grep -q "resuming slot B at chunk $F " "$WS/resume.err" ||
    die "resume: $(cat "$WS/resume.err")"
grep -q '^/bundles/b2.upk 206 .*"bytes=' "$NGINX_LOG" ||
    die "resume: no Range request: $(cat "$NGINX_LOG")"
prefix_equal "$WS/one.img" "$ROOT_B"
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "resume: B not armed"

# 7. Install windows, with a reboot command that records its run: one
# two hours away (armed, the reboot waits: state.json has its time),
# and one around now (armed and rebooted at once).
mkdir -p "$WS/bin"
printf '#!/bin/sh\necho rebooted >>"%s/rebooted"\n' "$WS" >"$WS/bin/reboot"
chmod 0755 "$WS/bin/reboot"
PATH=$WS/bin:$PATH
export PATH
m=$(($(date -u +%s) % 86400 / 60))
hhmm()
{
	printf '%02d:%02d' $(($1 % 1440 / 60)) $(($1 % 60))
}
channel later.upc 1 b2.upk ",window=$(hhmm $((m + 120)))-$(hhmm $((m + 180)))"
device later "$H/later.upc"
run later daemon -c "$CFG" --once
expect_rc later 10
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "later: B not armed"
[ ! -e "$WS/rebooted" ] || die "later: rebooted outside the window"
polled later "installed 2.0.0 into slot B; reboot at [0-9TZ:-]+, when its install window opens"
tr -d ' \t\n' <"$DATA/state.json" | grep -Eq '"reboot_at":[1-9][0-9]*,' ||
    die "later: no reboot time: $(cat "$DATA/state.json")"
# The window's time passed (state.json says so): the next cycle reboots
# before it polls.
sed -i 's/"reboot_at":[[:space:]]*[0-9]*/"reboot_at": 1000/' "$DATA/state.json"
n0=$(grep -c '^/later.upc ' "$WIRE")
run later2 daemon -c "$CFG" --once
expect_rc later2 10
[ "$(cat "$WS/rebooted")" = rebooted ] || die "later2: no reboot"
polled later2 "installed 2.0.0 in slot B: its install window is open"
[ "$(grep -c '^/later.upc ' "$WIRE")" -eq "$n0" ] || die "later2: polled"
tr -d ' \t\n' <"$DATA/state.json" | grep -q '"reboot_at":0,' ||
    die "later2: reboot time kept: $(cat "$DATA/state.json")"
rm -f "$WS/rebooted"
channel now.upc 1 b2.upk ",window=$(hhmm $((m + 1380)))-$(hhmm $((m + 60)))"
device now "$H/now.upc"
run now daemon -c "$CFG" --once
expect_rc now 10
[ "$(cat "$WS/rebooted")" = rebooted ] || die "now: no reboot"
polled now "installed 2.0.0 into slot B$"

# 8. A release that rolled back here is not installed again: B armed,
# booted, its health check fails (rolled back), A booted again.
# Its reports go to a store that answers 503: the send fails, and the
# cycle's outcome is the same.
device back "$H/stable.upc"
sed -i "s#^interval = 10\$#&\nreport-url = $H/busy/{device}/{seq}.json#" \
    "$CFG"
mkdir -p "$DEV/health.d"
printf '#!/bin/sh\nexit 1\n' >"$DEV/health.d/10-fail"
chmod 0755 "$DEV/health.d/10-fail"
printf '\n[health]\ndirectory = %s\n' "$DEV/health.d" >>"$CFG"
run back1 daemon -c "$CFG" --once --no-reboot
expect_rc back1 10
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
fw_setenv -c "$ENVCFG" BOOT_B_LEFT 2
run backh health -c "$CFG" --no-reboot
expect_rc backh 9
echo "console=ttyS0 upkit.slot=A" >"$CMDLINE"
snapshot back
run back2 daemon -c "$CFG" --once --no-reboot
expect_rc back2 0
grep -q "2.0.0 (bundle [0-9a-f]*) rolled back: it is not installed again" \
    "$WS/back2.err" || die "back2: $(cat "$WS/back2.err")"
polled back2 "skipped: 2.0.0 \\(bundle [0-9a-f]+\\) rolled back on this device"
[ "$(env_get BOOT_ORDER)" = A ] || die "back2: BOOT_ORDER $(env_get BOOT_ORDER)"
[ "$(grep -c "report send" "$WS/back2.err")" -eq 1 ] ||
    die "back2: not one report line: $(cat "$WS/back2.err")"
grep -Eq "^upkit: daemon: warning: report send: PUT $H/busy/dev-1/1\.json: answered 503" \
    "$WS/back2.err" || die "back2: $(cat "$WS/back2.err")"
[ "$(ls "$DATA/outbox" | grep -cE '^[0-9]{10}\.json$')" -eq 1 ] ||
    die "back2: the rollback's report left the outbox"
grep -q "$(sha256sum "$ROOT_B" | cut -c1-64)" "$WS/snap.back" ||
    die "back2: slot B changed"

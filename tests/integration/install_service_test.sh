#!/bin/sh
# The service files as make install writes them (docs/packaging.md):
# systemd-analyze verify has nothing to say about the units; the units,
# the OpenRC scripts and the inittab lines run the same two commands;
# the choices the units make are there; and those commands, run as the
# units run them, log plain lines and stop on the unit's KillSignal with
# exit 0 (so that Restart=on-failure leaves a stopped daemon stopped).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need make systemd-analyze timeout mkfifo mkenvimage
ws_init
UPKIT=$(cd "$(dirname "$UPKIT")" && pwd)/$(basename "$UPKIT")

# Installed under a real prefix, so that the units name a binary and man
# pages that exist, as they do once packaged.
P=$WS/prefix
make -s -C "$TOP" install PREFIX="$P" SYSCONFDIR="$P/etc" \
    UPKIT_BIN="$UPKIT" >"$WS/make.out" 2>&1 ||
    die "make install: $(cat "$WS/make.out")"
U=$P/lib/systemd/system EX=$P/share/doc/upkit/examples
MANPATH=$P/share/man systemd-analyze verify "$U/upkit-health.service" \
    "$U/upkit-daemon.service" >"$WS/verify" 2>&1 ||
    die "systemd-analyze verify: $(cat "$WS/verify")"
[ ! -s "$WS/verify" ] || die "systemd-analyze verify: $(cat "$WS/verify")"

# key UNIT KEY: the value of KEY= in the unit (the last one).
key()
{
	sed -n "s/^$2=//p" "$U/$1" | tail -n 1
}

# has UNIT KEY WORD: WORD is one of KEY='s words.
has()
{
	sed -n "s/^$2=//p" "$U/$1" | tr ' ' '\n' | grep -qx "$3" ||
	    die "$1: $2= does not have $3"
}

HEALTH="$P/bin/upkit health" DAEMON="$P/bin/upkit daemon"
[ "$(key upkit-health.service ExecStart)" = "$HEALTH" ] ||
    die "upkit-health.service: ExecStart is not $HEALTH"
[ "$(key upkit-daemon.service ExecStart)" = "$DAEMON" ] ||
    die "upkit-daemon.service: ExecStart is not $DAEMON"
# health: once per boot, after the file systems, a condition of a good
# boot; the daemon: after health, SIGTERM to the parent only, time for a
# chunk boundary, no restart loop on a bad configuration.
has upkit-health.service Type oneshot
has upkit-health.service RemainAfterExit yes
has upkit-health.service After local-fs.target
has upkit-health.service Before boot-complete.target
has upkit-health.service RequiredBy boot-complete.target
has upkit-health.service WantedBy multi-user.target
has upkit-daemon.service After upkit-health.service
has upkit-daemon.service After network-online.target
has upkit-daemon.service KillSignal SIGTERM
has upkit-daemon.service KillMode mixed
has upkit-daemon.service Restart on-failure
has upkit-daemon.service RestartPreventExitStatus 3
[ "$(key upkit-daemon.service TimeoutStopSec)" -ge 60 ] ||
    die "upkit-daemon.service: TimeoutStopSec below a minute"

# OpenRC: the scripts parse, and name the same commands. Sourced with
# stand-ins for openrc-run's functions, which record what they are told.
for s in upkit-health upkit-daemon; do
	sh -n "$EX/openrc/$s" || die "openrc/$s: sh -n failed"
	head -n 1 "$EX/openrc/$s" | grep -qx '#!/sbin/openrc-run' ||
	    die "openrc/$s: not an openrc-run script"
done
openrc()
{
	# shellcheck disable=SC2016 # expanded by the inner sh
	sh -c 'RC_SVCNAME=$1
	    need() { echo "need $*"; }
	    after() { echo "after $*"; }
	    use() { echo "use $*"; }
	    ebegin() { echo "ebegin"; }
	    eend() { echo "eend $1"; }
	    . "$2"
	    echo "command $command $command_args"
	    depend
	    [ "$3" = start ] && start
	    :' sh "$1" "$EX/openrc/$1" "${2:-}"
}
openrc upkit-daemon >"$WS/rc.daemon" || die "openrc/upkit-daemon: failed"
grep -qx "command $DAEMON" "$WS/rc.daemon" ||
    die "openrc/upkit-daemon: not $DAEMON: $(cat "$WS/rc.daemon")"
grep -qx 'after upkit-health' "$WS/rc.daemon" ||
    die "openrc/upkit-daemon: not after upkit-health"
grep -q '^need .*\<net\>' "$WS/rc.daemon" || die "openrc/upkit-daemon: no net"
grep -q '^retry="TERM/' "$EX/openrc/upkit-daemon" ||
    die "openrc/upkit-daemon: stop is not SIGTERM first"

# inittab: SysV lines, and the BusyBox ones in comments.
grep -qx "upkh:2345:once:$HEALTH" "$EX/inittab" || die "inittab: no $HEALTH"
grep -qx "upkd:2345:respawn:$DAEMON" "$EX/inittab" || die "inittab: no $DAEMON"
grep -qx "#::once:$HEALTH" "$EX/inittab" || die "inittab: no BusyBox health"
grep -qx "#::respawn:$DAEMON" "$EX/inittab" || die "inittab: no BusyBox daemon"

# A simulated device for the commands themselves; $UPKIT_CONFIG stands
# in for /etc/upkit/upkit.conf.
mk_keys "$WS/keys"
mk_device "$WS/dev" "$WS/keys/root.pem"
UPKIT_CONFIG=$CFG
export UPKIT_CONFIG

# plain FILE: one event a line, as journald and syslog keep it: no
# carriage return, no escape sequence, no empty line.
plain()
{
	! grep -q "$(printf '\r')" "$1" || die "$1: a carriage return"
	! grep -q "$(printf '\033')" "$1" || die "$1: an escape sequence"
	! grep -qx '' "$1" || die "$1: an empty line"
}

# health as OpenRC's start() runs it, then as the unit does: an
# ordinary boot, nothing to say but success.
openrc upkit-health start >"$WS/rc.health" 2>"$WS/rc.health.err" ||
    die "openrc/upkit-health start: $(cat "$WS/rc.health.err")"
grep -qx "command $HEALTH" "$WS/rc.health" ||
    die "openrc/upkit-health: not $HEALTH"
grep -qx 'eend 0' "$WS/rc.health" ||
    die "openrc/upkit-health: start did not end with 0: $(cat "$WS/rc.health")"
# shellcheck disable=SC2086 # the unit's command line, split as systemd does
$HEALTH >"$WS/health.out" 2>"$WS/health.err" || die "$HEALTH failed"
plain "$WS/health.err"

# The daemon as the unit runs it, against a channel nobody serves: its
# lines are read through a fifo until it sleeps, then it gets the unit's
# KillSignal. timeout passes the signal on, and ends a hung daemon.
sed -i "s|^\[system\]$|[system]\ndevice-id = svc-1|" "$CFG"
printf '\n[server]\nchannel = http://127.0.0.1:1/none.upc\n' >>"$CFG"
SIG=$(key upkit-daemon.service KillSignal)
mkfifo "$WS/log"
# shellcheck disable=SC2086
timeout -s KILL 60 $DAEMON >"$WS/daemon.out" 2>"$WS/log" &
pid=$!
ws_pid "$pid"
exec 3<"$WS/log"
while IFS= read -r line <&3; do
	printf '%s\n' "$line" >>"$WS/daemon.err"
	case $line in *"next poll in"*) break ;; esac
done
kill -s "${SIG#SIG}" "$pid"
cat <&3 >>"$WS/daemon.err"
exec 3<&-
set +e
wait "$pid"
RC=$?
set -e
expect_rc daemon 0
plain "$WS/daemon.err"
# "upkit daemon: " or "upkit: daemon: " (agent/cli.h's prefix).
PFX='^upkit:\{0,1\} daemon: '
grep -v "$PFX" "$WS/daemon.err" >"$WS/other" &&
    die "daemon: lines without its prefix: $(cat "$WS/other")"
for want in "polling http://127.0.0.1:1/none.upc" "error: GET" \
    "next poll in" "stopped by $SIG"; do
	grep -q "$PFX$want" "$WS/daemon.err" ||
	    die "daemon: no \"$want\" line: $(cat "$WS/daemon.err")"
done
[ ! -s "$WS/daemon.out" ] || die "daemon: wrote on stdout"
echo "service files: verified; one command each for systemd, OpenRC," \
    "inittab; plain logs; $SIG stops the daemon with 0"

#!/bin/sh
# Progress that people and machines can read: in a log or a pipe, one
# plain line every PROGRESS_LINE_STEP (10) percent of the write and one
# when the read-back is done; on a TTY, a bar with MiB, rate and time
# left; with --json, progress events on stdout and nothing but the
# result's message on stderr.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox script
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --linuxkit "$WS/img/lk" \
    --chunk-size 65536

# stderr is a file: lines.
run lines update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc lines 0
n=$(grep -c '^written [0-9]*% (' "$WS/lines.err" || true)
[ "$n" -ge 5 ] && [ "$n" -le 12 ] ||
    die "lines: $n progress lines, expected 5 to 12:
$(cat "$WS/lines.err")"
grep -q "written 100% (.*; read back 100%$" "$WS/lines.err" ||
    die "lines: no final line with the read-back done"
! grep -q "$(printf '\r')" "$WS/lines.err" || die "lines: a bar in a log"

# --json: events on stdout, stderr quiet.
mk_device "$WS/dev2" "$WS/keys/root.pem"
run json update -c "$CFG" --from "$WS/b.upk" --no-reboot --json
expect_rc json 0
grep -q '"event":"progress","phase":"write"' "$WS/json.out" ||
    die "json: no progress events"
[ ! -s "$WS/json.err" ] || die "json: stderr not empty: $(cat "$WS/json.err")"

# A TTY (script gives upkit a pseudo-terminal): the bar.
mk_device "$WS/dev3" "$WS/keys/root.pem"
script -qec "'$UPKIT' update -c '$CFG' --from '$WS/b.upk' --no-reboot" \
    "$WS/tty.log" >/dev/null </dev/null
grep -q "$(printf '\r')[a-z]* *\[.*MiB/s.*verify" "$WS/tty.log" ||
    die "tty: no bar: $(cat "$WS/tty.log")"
! grep -q '^written [0-9]*% (' "$WS/tty.log" || die "tty: log lines"
echo "progress: $n lines in a log, a bar on a TTY, events in JSON"

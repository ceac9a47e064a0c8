#!/bin/sh
# One convention for every command (agent/cmd.h): --help prints its usage
# on stdout and exits 0; an unknown option prints it on stderr and exits
# 2. keys create and bundle create once printed --help on stderr.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
ws_init

for cmd in "keys create" "bundle create" "bundle info" "bundle verify" \
    "channel create" "channel info" "channel verify" \
    update status health commit rollback daemon "report send" \
    "fleet report"; do
	# shellcheck disable=SC2086 # two words on purpose
	run help $cmd --help
	expect_rc help 0
	grep -q "^usage: upkit $cmd" "$WS/help.out" ||
	    die "$cmd --help: no usage on stdout"
	[ ! -s "$WS/help.err" ] || die "$cmd --help: wrote on stderr"
	# shellcheck disable=SC2086
	run bad $cmd --no-such-option
	expect_rc bad 2
	grep -q "usage: upkit $cmd" "$WS/bad.err" ||
	    die "$cmd --no-such-option: no usage on stderr"
	[ ! -s "$WS/bad.out" ] || die "$cmd --no-such-option: wrote on stdout"
done

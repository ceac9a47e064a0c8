#!/bin/sh
# Runs each libFuzzer target in $FUZZ_DIR for 10 s (ten targets: about
# 105 s), from its seed corpus tests/fuzz/corpus/NAME when there is one. The
# seeds named regress-* are inputs that once crashed: libFuzzer runs every
# seed first, so they replay on each run. A crash, leak or timeout fails.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
FUZZ_DIR=${FUZZ_DIR:-$TOP/build/fuzz}
ws_init

n=0
for f in "$FUZZ_DIR"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	mkdir "$WS/$name"
	seed=
	[ -d "$TESTS/fuzz/corpus/$name" ] && seed=$TESTS/fuzz/corpus/$name
	# New inputs go to the first corpus folder, so the seeds stay as
	# committed.
	# shellcheck disable=SC2086
	"$f" -max_total_time=10 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$WS/$name/" \
	    "$WS/$name" $seed >"$WS/$name.log" 2>&1 || {
		tail -n 30 "$WS/$name.log" >&2
		die "$name failed (see above)"
	}
	echo "$name: $(grep -m 1 '^stat::number_of_executed_units' \
	    "$WS/$name.log" | sed 's/.*: *//') runs"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || skip "no fuzz targets in $FUZZ_DIR (make fuzz)"
exit 0

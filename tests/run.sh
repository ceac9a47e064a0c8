#!/bin/sh
# tests/run.sh: runs each test program given as an argument. Exit 0 is a
# pass, 77 a skip, anything else a failure. The last line is the summary.
pass=0 fail=0 skip=0
log=${TMPDIR:-/tmp}/upkit-test.$$
for t in "$@"; do
	"$t" >"$log" 2>&1 </dev/null
	case $? in
	0)	pass=$((pass + 1)); echo "ok   $t" ;;
	77)	skip=$((skip + 1)); echo "skip $t: $(tail -n 1 "$log")" ;;
	*)	fail=$((fail + 1)); echo "FAIL $t"
		tail -n 40 "$log" | sed 's/^/     /' ;;
	esac
done
rm -f "$log"
[ "$skip" -eq 0 ] || echo "$skip skipped"
echo "$pass passed, $fail failed"
test "$fail" -eq 0

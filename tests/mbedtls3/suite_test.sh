#!/bin/sh
# The unit and integration tests again, against Debian 13's mbedtls 3.6
# (docs/portability.md): one entry of make check's run, so that its last
# line sums every test; this run's own lines are in the log, shown when
# one fails. make check sets M3_UPKIT, M3_UNIT (the 3.6 unit binaries)
# and MBEDTLS3_LIB. Left out: the fuzz test (its targets are the plain
# build's) and the package test (the package holds the plain binary).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
for v in M3_UPKIT M3_UNIT MBEDTLS3_LIB; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "$v: unset (make check sets it)"; exit 1; }
done
# shellcheck disable=SC2046,SC2086
UPKIT=$M3_UPKIT exec sh "$TESTS/run.sh" "$TESTS/mbedtls3/linked_test.sh" \
    $M3_UNIT $(ls "$TESTS"/integration/*_test.sh |
    grep -v -e /fuzz_test.sh -e /deb_test.sh)

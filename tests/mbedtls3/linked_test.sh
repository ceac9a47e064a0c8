#!/bin/sh
# The mbedtls 3.6 build (make mbedtls3) is what it claims to be, before
# the unit and integration tests run on it: upkit and the unit tests
# load trixie's libraries from MBEDTLS3_LIB, not the system's 2.28, and
# were compiled against 3.6's headers (mbed_test compares the two).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
[ -n "${MBEDTLS3_LIB:-}" ] || die "MBEDTLS3_LIB: unset (make check sets it)"
BIN=$(dirname "$UPKIT")/tests
[ -x "$BIN/mbed_test" ] || die "$BIN/mbed_test: missing (make mbedtls3)"
ws_init

for b in "$UPKIT" "$BIN/trust_test"; do
	ldd "$b" >"$WS/ldd" || die "$b: ldd failed"
	for l in libmbedcrypto.so.16 libmbedx509.so.7; do
		grep -q "^[[:space:]]*$l => $MBEDTLS3_LIB/$l " "$WS/ldd" ||
		    { cat "$WS/ldd" >&2; die "$b: $l not from $MBEDTLS3_LIB"; }
	done
	! grep libmbed "$WS/ldd" | grep -v "=> $MBEDTLS3_LIB/" ||
	    die "$b: loads an mbedtls from elsewhere too"
done
"$BIN/mbed_test" >"$WS/out" || die "mbed_test failed: $(cat "$WS/out")"
grep -q '^mbedtls: headers 3\.6\.[0-9]*, library 3\.6\.[0-9]*$' "$WS/out" ||
    die "not a 3.6 build: $(cat "$WS/out")"
echo "$(cat "$WS/out"): upkit and the unit tests"

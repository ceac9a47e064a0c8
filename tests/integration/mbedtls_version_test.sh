#!/bin/sh
# verify/mbed.h accepts the mbedtls versions upkit supports, 2.28 and 3.6,
# and stops the build of any other with an #error that says why: it is
# compiled here against stand-in mbedtls headers that claim each version
# on either side of every boundary (docs/portability.md). The real 2.28
# and 3.6 headers are built by make and make mbedtls3.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
CC=${CC:-cc}
need "$CC"
ws_init

I=$WS/inc/mbedtls
mkdir -p "$I"
printf 'void mbedtls_strerror(int, char *, unsigned long);\n' >"$I/error.h"
printf '#define MBEDTLS_PRIVATE(m) private_##m\n' >"$I/private_access.h"
printf '#include "verify/mbed.h"\nint main(void) { return 0; }\n' \
    >"$WS/t.c"

# build VERSION: compiles t.c against headers that say VERSION; the
# compiler's messages are in $WS/log.
build()
{
	printf '#define MBEDTLS_VERSION_NUMBER %s\n' "$1" >"$I/version.h"
	"$CC" -fsyntax-only -I"$WS/inc" -I"$TOP" "$WS/t.c" >"$WS/log" 2>&1
}

for v in 0x021C0000 0x021C0300 0x021C0900 0x03060000 0x03060600 \
    0x0306FF00; do
	build "$v" || { cat "$WS/log" >&2; die "mbedtls $v refused"; }
done
for v in "0x00000000 older than 2.28" "0x021B0000 older than 2.28" \
    "0x03000000 3.0-3.3 lack set_serial_raw" \
    "0x03030100 3.0-3.3 lack set_serial_raw" \
    "0x03040000 3.4-3.5 are end of life" \
    "0x03050200 3.4-3.5 are end of life" \
    "0x04000000 4.x has no ctr_drbg/entropy" \
    "0x04010000 4.x has no ctr_drbg/entropy"; do
	n=${v%% *} why=${v#* }
	! build "$n" || die "mbedtls $n accepted"
	grep -q "#error \"upkit needs mbedtls 2.28 or 3.6: .*$why" "$WS/log" ||
	    { cat "$WS/log" >&2; die "mbedtls $n: no \"$why\" error"; }
done
# A version.h without the number at all.
: >"$I/version.h"
! "$CC" -fsyntax-only -I"$WS/inc" -I"$TOP" "$WS/t.c" >"$WS/log" 2>&1 ||
    die "mbedtls without MBEDTLS_VERSION_NUMBER accepted"
grep -q 'no MBEDTLS_VERSION_NUMBER' "$WS/log" || die "no message for it"
echo "mbedtls 2.28 and 3.6 accepted, the others refused with a reason"

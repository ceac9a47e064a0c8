#!/bin/sh
# Integers in --json output and state.json come out digit for digit
# (json_add_uint): bundle info --json once printed a security_version of
# 2^53 - 1, the manifest's largest, as 9.00719925474099e+15. Also the
# state.json security floor, which status --json shows, at the largest
# value state.json takes (2^53: its reader goes through a double).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need fw_printenv mkenvimage
ws_init

MAX53=9007199254740991

mk_keys "$WS/keys"
gen_bytes 65536 rootfs >"$WS/rootfs.img"
mk_bundle "$WS/keys" "$WS/max.upk" 1.0.0 --security-version "$MAX53" \
    --image rootfs="$WS/rootfs.img"
run info bundle info "$WS/max.upk" --json
expect_rc info 0
grep -q "\"security_version\":$MAX53[,}]" "$WS/info.out" ||
    die "bundle info --json: security_version is not $MAX53: $(cat "$WS/info.out")"
grep -q '"size":65536[,}]' "$WS/info.out" ||
    die "bundle info --json: size is not 65536"
if grep -q '[0-9][eE][+-]' "$WS/info.out"; then
	die "bundle info --json has an exponent: $(cat "$WS/info.out")"
fi

# The bundle installs; state.json records its security_version exactly.
SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"
run up update --config "$CFG" --from "$WS/max.upk" --no-reboot --json
expect_rc up 0
grep -q '"event":"progress".*"total":65536}' "$WS/up.out" ||
    die "update --json: no progress line with total 65536"
grep -q '"attempts":3[,}]' "$WS/up.out" ||
    die "update --json: no attempts 3 in the result"
grep -q "\"security_version\":[[:space:]]*$MAX53,\$" "$DATA/state.json" ||
    die "state.json: slot B's security_version is not $MAX53"

# A floor of 2^53 goes through state.json and status --json unchanged.
sed -i 's/"security_floor":[[:space:]]*[0-9]*/"security_floor":	9007199254740992/' \
    "$DATA/state.json"
run st status --config "$CFG" --json
expect_rc st 0
grep -q '"security_floor":[[:space:]]*9007199254740992,$' "$WS/st.out" ||
    die "status --json: security_floor is not 2^53: $(cat "$WS/st.out")"

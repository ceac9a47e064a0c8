#!/bin/sh
# The example /etc/upkit/upkit.conf (dist/upkit.conf) and upkit.conf(5):
# every key of docs/configuration.md's tables is in both, in its section;
# the example parses as it is installed, and with every commented key
# put in, on a simulated device whose paths stand in for the board's.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need mkenvimage awk
ws_init
CONF=$TOP/dist/upkit.conf
MAN5=$TOP/docs/man/upkit.conf.5.scd

# docs/configuration.md: "SECTION KEY" for each row of the tables under
# the "## [section]" headings.
awk '/^## \[/ { s = $2; gsub(/[][]/, "", s); next }
    /^## / { s = "" }
    s != "" && /^\| `[a-z-]*` \|/ { k = $2; gsub(/`/, "", k); print s, k }' \
    "$TOP/docs/configuration.md" >"$WS/keys"
[ "$(wc -l <"$WS/keys")" -ge 35 ] ||
    die "docs/configuration.md: only $(wc -l <"$WS/keys") keys found"

# in_conf SECTION KEY: KEY (set or commented out) under [SECTION] of the
# example; slot.CLASS.N is the first slot section.
in_conf()
{
	awk -v s="$1" -v k="$2" '
	    /^;?\[/ { h = $0; sub(/^;?\[/, "", h); sub(/\].*/, "", h)
		on = (h == s || (s == "slot.CLASS.N" && h ~ /^slot\./ &&
		    !seen++)); next }
	    on && ($0 ~ "^;?" k " = ") { found = 1 }
	    END { exit !found }' "$CONF"
}

# in_man SECTION KEY: *KEY* under "# SECTION [SECTION]" of upkit.conf(5).
in_man()
{
	awk -v t="# SECTION [$1]" -v k="*$2*" '
	    $0 == t { on = 1; next } /^# / { on = 0 }
	    on && index($0, k) { found = 1 }
	    END { exit !found }' "$MAN5"
}

while read -r s k; do
	in_conf "$s" "$k" || die "dist/upkit.conf: [$s] $k missing"
	in_man "$s" "$k" || die "upkit.conf.5: [$s] $k missing"
done <"$WS/keys"
awk 'length > 197 { print FILENAME ":" NR ": longer than 197 bytes";
    bad = 1 } END { exit bad }' "$CONF" >"$WS/long" ||
    die "$(cat "$WS/long")"

# As installed: the configuration parses; on this machine the board's
# env is missing, which is exit 8 (EXIT_BOOTENV), never 3 (the config).
run asis status -c "$CONF"
[ "$RC" -ne 3 ] && [ "$RC" -ne 2 ] || expect_rc asis 8

# Every commented key put in, and every absolute path moved into the
# workspace, with the env and slot files made: status reads it all.
D=$WS/board
mkdir -p "$D/etc" "$D/dev" "$D/proc"
sed -e 's/^;\([a-z[]\)/\1/' -e "s|= /|= $D/|" "$CONF" >"$D/upkit.conf"
grep -q '^;[a-z[]' "$D/upkit.conf" && die "a commented key was left"
[ "$(grep -c '^\[' "$D/upkit.conf")" -gt "$(grep -c '^\[' "$CONF")" ] ||
    die "no commented section was put in"
truncate -s 1M "$D/dev/mmcblk0p2" "$D/dev/mmcblk0p3"
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' >"$D/env.txt"
mkenvimage -s 0x4000 -o "$D/uboot.env" "$D/env.txt" || die "mkenvimage"
echo "$D/uboot.env 0x0 0x4000" >"$D/etc/fw_env.config"
echo "console=ttyS0 upkit.slot=A" >"$D/proc/cmdline"
run full status -c "$D/upkit.conf" --json
expect_rc full 0
grep -q '"compatible":[[:space:]]*"example-board"' "$WS/full.out" ||
    die "status --json: not the example's compatible"
grep -q '"name":[[:space:]]*"boot.1"' "$WS/full.out" ||
    die "status --json: the commented files slots were not read"
echo "example config: $(wc -l <"$WS/keys") keys in it and in" \
    "upkit.conf(5); parses"

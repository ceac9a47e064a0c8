#!/bin/sh
# The manuals (docs/man/*.scd, built by make man with scdoc): man
# --warnings has nothing to say about them; upkit(8) has a section for
# every command of agent/main.c's table naming every option its --help
# prints, names every long option of every getopt table in the source,
# and has the global options of upkit --help.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need make man scdoc groff
ws_init
SCD=$TOP/docs/man/upkit.8.scd

make -s -C "$TOP" man >"$WS/make.out" 2>&1 || die "make man: $(cat "$WS/make.out")"
for page in upkit.8 upkit.conf.5; do
	# As lintian checks a manual page.
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 \
	    -l -Tutf8 -Z "$TOP/build/man/$page" >/dev/null 2>"$WS/warn" ||
	    die "man $page: failed: $(cat "$WS/warn")"
	[ ! -s "$WS/warn" ] || die "man --warnings $page: $(cat "$WS/warn")"
	[ "$TOP/build/man/$page" -nt "$TOP/docs/man/$page.scd" ] ||
	    die "build/man/$page is older than its source"
done

# section TITLE: the lines of upkit.8.scd under "## TITLE", up to the
# next heading.
section()
{
	awk -v t="## $1" '$0 == t { on = 1; next } /^#/ { on = 0 } on' "$SCD"
}

# options FILE: the options a usage text names (-x and --name), one a line.
options()
{
	grep -o -- '\(^\|[][ |,{(]\)--*[a-zA-Z][a-z-]*' "$1" |
	    sed 's/^[][ |,{(]*//' | sort -u
}

# The commands: agent/main.c's table rows, { GROUP|NULL, "NAME", cmd_...
sed -n 's/^[[:space:]]*{ *\(NULL\|"\([a-z-]*\)"\), *"\([a-z-]*\)", *cmd_.*/\2 \3/p' \
    "$TOP/agent/main.c" | sed 's/^ //' >"$WS/commands"
[ "$(wc -l <"$WS/commands")" -ge 15 ] ||
    die "agent/main.c: found only $(wc -l <"$WS/commands") commands"
n=0
while read -r cmd; do
	section "upkit $cmd" >"$WS/section"
	[ -s "$WS/section" ] || die "upkit.8: no section \"## upkit $cmd\""
	# shellcheck disable=SC2086 # two words on purpose
	"$UPKIT" $cmd --help >"$WS/help" 2>&1 || die "upkit $cmd --help failed"
	options "$WS/help" >"$WS/opts"
	grep -qx -- --help "$WS/opts" || echo --help >>"$WS/opts"
	while read -r o; do
		grep -qF -- "*$o*" "$WS/section" ||
		    die "upkit.8, upkit $cmd: $o (from --help) not described"
		n=$((n + 1))
	done <"$WS/opts"
done <"$WS/commands"

# Every long option any command parses, --help or not.
cat "$TOP"/agent/*.c "$TOP"/host/*.c |
    sed -n 's/.*{ *"\([a-z][a-z-]*\)", *\(no\|required\|optional\)_argument.*/\1/p' |
    sort -u >"$WS/long"
[ "$(wc -l <"$WS/long")" -ge 30 ] || die "found only $(wc -l <"$WS/long") long options"
while read -r o; do
	grep -qF -- "*--$o*" "$SCD" || die "upkit.8: --$o is not described"
done <"$WS/long"

# The global options upkit --help names (its lines but the commands').
"$UPKIT" --help >"$WS/ghelp.all" 2>&1 || die "upkit --help failed"
grep -v '^ *upkit [a-z]' "$WS/ghelp.all" >"$WS/ghelp" || true
awk '/^# GLOBAL OPTIONS$/ { on = 1; next } /^# / { on = 0 } on' "$SCD" \
    >"$WS/global"
options "$WS/ghelp" >"$WS/gopts"
while read -r o; do
	grep -qF -- "*$o*" "$WS/global" ||
	    die "upkit.8, GLOBAL OPTIONS: $o (from upkit --help) not described"
done <"$WS/gopts"
echo "man pages: no warnings; $(wc -l <"$WS/commands") commands," \
    "$n options, $(wc -l <"$WS/long") long options described"

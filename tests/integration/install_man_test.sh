#!/bin/sh
# The manuals (docs/man/*.scd, built by make man with scdoc): man
# --warnings has nothing to say about them; upkit(8) has a section for
# every command upkit --help lists, naming every option its --help
# prints, names every long option of every option table in the source,
# and has the global options of upkit --help.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need make man scdoc groff
ws_init
SCD=$TOP/docs/man/upkit.8.scd

make -s -C "$TOP" man >"$WS/make.out" 2>&1 ||
    die "make man: $(cat "$WS/make.out")"
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

# The commands, from upkit --help: of a line "  upkit WORD [WORD] ...",
# the two words, else the one, whose --help prints "usage: upkit WORDS".
is_command()
{
	# shellcheck disable=SC2086 # words on purpose
	"$UPKIT" $1 --help 2>/dev/null | head -n 1 |
	    grep -q "^usage: upkit $1\( \|\$\)"
}
"$UPKIT" --help >"$WS/ghelp.all" 2>&1 || die "upkit --help failed"
sed -n 's/^ *upkit \([a-z][a-z-]*\)  *\([a-z][a-z-]*\).*/\1 \2/p;
    s/^ *upkit \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' "$WS/ghelp.all" |
    while read -r w1 w2; do
	if [ -n "${w2:-}" ] && is_command "$w1 $w2"; then
		echo "$w1 $w2"
	elif is_command "$w1"; then
		echo "$w1"
	fi
done | sort -u >"$WS/commands"
[ "$(wc -l <"$WS/commands")" -ge 15 ] ||
    die "upkit --help: found only $(wc -l <"$WS/commands") commands"
awk '/^# GLOBAL OPTIONS$/ { on = 1; next } /^# / { on = 0 } on' "$SCD" \
    >"$WS/global"
n=0
while read -r cmd; do
	section "upkit $cmd" >"$WS/section"
	[ -s "$WS/section" ] || die "upkit.8: no section \"## upkit $cmd\""
	# shellcheck disable=SC2086 # two words on purpose
	"$UPKIT" $cmd --help >"$WS/help" 2>&1 || die "upkit $cmd --help failed"
	options "$WS/help" >"$WS/opts"
	grep -qx -- --help "$WS/opts" || echo --help >>"$WS/opts"
	# Its own options in its section; the global ones (-c, -q, -v,
	# -h, taken after the command too) there or under GLOBAL OPTIONS.
	while read -r o; do
		grep -qF -- "*$o*" "$WS/section" ||
		    grep -qF -- "*$o*" "$WS/global" ||
		    die "upkit.8, upkit $cmd: $o (from --help) not described"
		n=$((n + 1))
	done <"$WS/opts"
done <"$WS/commands"

# Every long option any command parses, --help or not.
# Rows of a struct option ({ "name", no_argument, ...) or of a struct
# cli_opt ({ "name", 'x' or O_NAME, NULL or "ARG", ...).
VAL="('.'|[A-Z_][A-Z0-9_]*|[0-9]+)"
cat "$TOP"/agent/*.c "$TOP"/host/*.c | sed -n -E \
    -e 's/.*\{ *"([a-z][a-z-]*)", *(no|required|optional)_argument.*/\1/p' \
    -e "s/.*\\{ *\"([a-z][a-z-]*)\", *$VAL, *(NULL|\").*/\\1/p" |
    sort -u >"$WS/long"
[ "$(wc -l <"$WS/long")" -ge 30 ] ||
    die "found only $(wc -l <"$WS/long") long options"
while read -r o; do
	grep -qF -- "*--$o*" "$SCD" || die "upkit.8: --$o is not described"
done <"$WS/long"

# The global options upkit --help names (its lines but the commands').
grep -v '^ *upkit [a-z]' "$WS/ghelp.all" >"$WS/ghelp" || true
options "$WS/ghelp" >"$WS/gopts"
while read -r o; do
	grep -qF -- "*$o*" "$WS/global" ||
	    die "upkit.8, GLOBAL OPTIONS: $o (from upkit --help) not described"
done <"$WS/gopts"
echo "man pages: no warnings; $(wc -l <"$WS/commands") commands," \
    "$n options, $(wc -l <"$WS/long") long options described"

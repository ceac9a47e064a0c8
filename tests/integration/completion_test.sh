#!/bin/sh
# dist/bash-completion/upkit: it names every command of upkit --help's
# table (and every group's words), and completes what a user types:
# commands, a group's words, a command's options (from its own --help),
# --progress's modes, mark-good's slots; global options before the
# command are skipped over. Plain bash, without bash-completion loaded.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need bash
ws_init
COMP=$TOP/dist/bash-completion/upkit
[ -f "$COMP" ] || die "no $COMP"

run top --help
expect_rc top 0
sed -n 's/^  upkit \([a-z-]*\( [a-z]*\)\?\)  .*/\1/p' "$WS/top.out" >"$WS/cmds"
[ "$(wc -l <"$WS/cmds")" -ge 18 ] || die "upkit --help: $(cat "$WS/cmds")"

# complete WORDS...: what _upkit offers for the last word (may be "").
complete_words()
{
	bash -c '
	. "$1"
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	_upkit
	printf "%s\n" "${COMPREPLY[@]}"
	' complete "$COMP" "$UPKIT" "$@" | sort
}

# Every command of the table, word by word.
while read -r first second; do
	complete_words "" | grep -qx "$first" ||
	    die "completion does not name '$first'"
	complete_words -q -c x.conf "" | grep -qx "$first" ||
	    die "'$first' after global options"
	[ -z "$second" ] || complete_words "$first" "" | grep -qx "$second" ||
	    die "completion does not name '$first $second'"
done <"$WS/cmds"
# Nothing it names that the table does not have (help aside).
for w in $(complete_words ""); do
	[ "$w" = help ] || grep -q "^$w\( \|$\)" "$WS/cmds" ||
	    die "completion names '$w', upkit has no such command"
done

complete_words bundle create --thr | grep -qx -- --threads ||
    die "bundle create --thr"
complete_words -c x.conf update --pro | grep -qx -- --progress ||
    die "update --pro after -c"
[ "$(complete_words update --progress "")" = "$(printf 'auto\nbar\nlines\nnone')" ] ||
    die "--progress modes"
complete_words mark-bad o | grep -qx other || die "mark-bad o"
complete_words -V | grep -qx -- -V || die "-V"
echo "completion: $(wc -l <"$WS/cmds") commands, options from --help"

#!/bin/sh
# The power-cut simulator's own parts on a known sequence of changes,
# made by ordinary tools under tests/shim/powerlog.so: dd overwrites a
# file without fsync, dd creates another with fsync, mv renames it, sync
# -f (syncfs) ends it. Then tests/tools/powercut must give exactly the
# states docs/powercut.md promises: a write not yet synced lost, landed,
# torn at a 512-byte sector; a created and fsync'd file whose folder was
# not fsync'd without its name; everything durable after the syncfs;
# under vfat's rules a name change dropped while later ones landed, and
# a rename cut between vfat_rename()'s steps.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
. "$TESTS/powercut.sh"
need dd mv sync realpath cmp
ws_init
WS=$(realpath "$WS")
pc_need

R=$WS/root
mkdir -p "$R/d"
fill_bytes 3072 157 >"$R/d/a"			# 'o'
fill_bytes 3072 156 >"$WS/new"			# 'n'
gen_bytes 2000 b >"$WS/b"
"$PC_TOOL" snap "$R" "$WS/snap"
env LD_PRELOAD="$PC_SHIM" POWERLOG_OUT="$WS/log" POWERLOG_WATCH="$R" sh -c "
	dd if='$WS/new' of='$R/d/a' bs=3072 conv=notrunc status=none
	dd if='$WS/b' of='$R/d/b' bs=4096 conv=fsync status=none
	mv '$R/d/b' '$R/d/c'
	sync -f '$R/d/c'
"
"$PC_TOOL" dump "$WS/log" >"$WS/dump"
cat >"$WS/want" <<EOF
1 W 0+3072 $R/d/a
2 C $R/d/b
3 W 0+2000 $R/d/b
4 S covers
5 N $R/d/b $R/d/c
6 F covers
EOF
sed 's/ covers .*/ covers/' "$WS/dump" >"$WS/dump.short"
diff "$WS/want" "$WS/dump.short" >&2 || die "log: $(cat "$WS/dump")"
"$PC_TOOL" plan "$WS/snap" "$WS/log" >"$WS/plan" 2>/dev/null

# apply K V: the state of cut K, variant V, into $WS/out (made afresh).
apply()
{
	rm -rf "$WS/out"
	"$PC_TOOL" apply "$WS/snap" "$WS/log" "$1" "$2" "$WS/out" >/dev/null ||
	    die "apply $1 $2"
}

# cut K V: apply, and plan lists the cut (it is a distinct state).
cut()
{
	grep -q "^$1 $2 " "$WS/plan" ||
	    die "plan has no cut $1 $2: $(cat "$WS/plan")"
	apply "$1" "$2"
}

# Cut 1, all: the overwrite landed; none: it did not; torn: the first
# sector of it landed, the rest is old.
cut 1 0
cmp "$WS/new" "$WS/out/d/a" || die "cut 1 all: a is not new"
apply 1 1
fill_bytes 3072 157 | cmp - "$WS/out/d/a" || die "cut 1 none: a changed"
v=$(sed -n 's/^1 \([0-9]*\) W tear-head 1\/6 .*/\1/p' "$WS/plan")
[ -n "$v" ] || die "no tear-head 1/6 at cut 1: $(cat "$WS/plan")"
cut 1 "$v"
{ fill_bytes 512 156; fill_bytes 2560 157; } | cmp - "$WS/out/d/a" ||
    die "cut 1 tear-head: not one new sector then old ones"
v=$(sed -n 's/^1 \([0-9]*\) W tear-tail 1\/6 .*/\1/p' "$WS/plan")
cut 1 "$v"
{ fill_bytes 2560 157; fill_bytes 512 156; } | cmp - "$WS/out/d/a" ||
    die "cut 1 tear-tail: not old sectors then one new one"

# Every state is listed once: cut 4 "all" is cut 3 "all".
grep -q '^4 0 ' "$WS/plan" && die "cut 4 all listed twice"

# Cut 4 (after b's fsync): b's data is durable but its name is not: in
# "none" no b; in "all" b whole. drop-first: the older write to a is
# lost while b landed.
apply 4 1
[ ! -e "$WS/out/d/b" ] || die "cut 4 none: b has a name"
apply 4 0
cmp "$WS/b" "$WS/out/d/b" || die "cut 4 all: b"
# (the same state as cut 3 drop-first, which plan lists instead)
apply 4 3
cmp "$WS/b" "$WS/out/d/b" && fill_bytes 3072 157 | cmp - "$WS/out/d/a" ||
    die "cut 4 drop-first: a lost and b landed expected"

# Cut 5 (after mv): in ext4's order the rename lands only with the
# creation; all: c, no b.
apply 5 0
[ ! -e "$WS/out/d/b" ] && cmp "$WS/b" "$WS/out/d/c" || die "cut 5 all"

# Cut 6 (after syncfs): everything durable, one state only.
apply 6 1
cp -r "$WS/out" "$WS/none6"
apply 6 0
diff -r "$WS/none6" "$WS/out" >&2 || die "cut 6: all and none differ"
grep -q '^6 ' "$WS/plan" && die "cut 6 is the state of cut 5, listed again"
cmp "$WS/new" "$WS/out/d/a" && cmp "$WS/b" "$WS/out/d/c" &&
    [ ! -e "$WS/out/d/b" ] || die "cut 6: not all durable"
diff -r "$R" "$WS/out" >&2 || die "cut 6 differs from the real folder"

# vfat: name changes land in any order. A file created in a new folder
# whose mkdir did not land has nowhere to be (the first full sweep found
# the replay writing into a missing folder: a regression case).
"$PC_TOOL" snap "$R" "$WS/snap2"
env LD_PRELOAD="$PC_SHIM" POWERLOG_OUT="$WS/log2" POWERLOG_WATCH="$R" sh -c "
	mkdir '$R/e'
	printf x >'$R/e/f'
"
"$PC_TOOL" plan -m vfat "$WS/snap2" "$WS/log2" >"$WS/plan2" 2>/dev/null
v=$(sed -n 's/^3 \([0-9]*\) W drop-name 1 .*/\1/p' "$WS/plan2")
[ -n "$v" ] || die "vfat: no drop-name 1 at cut 3: $(cat "$WS/plan2")"
rm -rf "$WS/out"
"$PC_TOOL" apply -m vfat "$WS/snap2" "$WS/log2" 3 "$v" "$WS/out" >/dev/null ||
    die "vfat: apply of the mkdir dropped"
[ ! -e "$WS/out/e" ] || die "vfat: e exists though its mkdir was dropped"
v=$(sed -n 's/^3 \([0-9]*\) W drop-name 2 .*/\1/p' "$WS/plan2")
rm -rf "$WS/out"
"$PC_TOOL" apply -m vfat "$WS/snap2" "$WS/log2" 3 "$v" "$WS/out" >/dev/null
[ -d "$WS/out/e" ] && [ ! -e "$WS/out/e/f" ] ||
    die "vfat: drop-name 2 should leave e without f"

# vfat: a cut inside a file's rename to a free name (cut 5 of the first
# log, mv b c): rename-empty leaves b whole and an empty c, rename-both
# b and c with the same bytes. Under ext4, and at cut 6 (not a rename),
# there is no such variant.
"$PC_TOOL" plan -m vfat "$WS/snap" "$WS/log" >"$WS/plan3" 2>/dev/null
for what in empty both; do
	v=$(sed -n "s/^5 \([0-9]*\) N rename-$what .*/\1/p" "$WS/plan3")
	[ -n "$v" ] || die "vfat: no rename-$what at cut 5: $(cat "$WS/plan3")"
	rm -rf "$WS/out"
	"$PC_TOOL" apply -m vfat "$WS/snap" "$WS/log" 5 "$v" "$WS/out" \
	    >/dev/null || die "vfat: apply rename-$what"
	cmp "$WS/b" "$WS/out/d/b" || die "vfat: rename-$what: b not whole"
	if [ "$what" = empty ]; then
		[ -f "$WS/out/d/c" ] && [ ! -s "$WS/out/d/c" ] ||
		    die "vfat: rename-empty: c is not an empty file"
	else
		cmp "$WS/b" "$WS/out/d/c" || die "vfat: rename-both: c not b"
	fi
done
grep -q ' rename-' "$WS/plan" && die "ext4: a rename-* variant"
grep -q '^6 .* rename-' "$WS/plan3" && die "vfat: rename-* at a sync"
exit 0

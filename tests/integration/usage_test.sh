#!/bin/sh
# The command line every command shares (docs/cli.md, agent/cli.h):
# - --help on stdout, exit 0; an unknown option: one "upkit: NAME: " line
#   and the usage on stderr, exit 2 (keys create and bundle create once
#   printed --help on stderr);
# - the global options before the command word and after it: -c FILE
#   (rauc --conf, mender --config), -q, -v; -V/--version;
# - a group word alone lists its commands (exit 2; with --help, 0);
# - every error line a bad command line reaches starts "upkit: ";
# - install FILE is update --from FILE.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
ws_init

# The commands, from upkit --help's own table.
run top --help
expect_rc top 0
cmds=$(sed -n 's/^  upkit \([a-z-]*\( [a-z]*\)\?\)  .*/\1/p' "$WS/top.out")
[ "$(printf '%s\n' "$cmds" | wc -l)" -ge 18 ] || die "upkit --help: $cmds"

printf '%s\n' "$cmds" | while read -r cmd; do
	# shellcheck disable=SC2086 # two words on purpose
	run help $cmd --help
	expect_rc help 0
	grep -q "^usage: upkit $cmd" "$WS/help.out" ||
	    die "$cmd --help: no usage on stdout"
	grep -q "^  -h, --help " "$WS/help.out" ||
	    die "$cmd --help: no option list"
	[ ! -s "$WS/help.err" ] || die "$cmd --help: wrote on stderr"
	# shellcheck disable=SC2086
	run help2 help $cmd
	expect_rc help2 0
	cmp -s "$WS/help.out" "$WS/help2.out" ||
	    die "upkit help $cmd is not $cmd --help"
	# shellcheck disable=SC2086
	run bad $cmd --no-such-option
	expect_rc bad 2
	head -n 1 "$WS/bad.err" |
	    grep -q "^upkit: $cmd: unknown option --no-such-option$" ||
	    die "$cmd: $(head -n 1 "$WS/bad.err")"
	grep -q "usage: upkit $cmd" "$WS/bad.err" ||
	    die "$cmd --no-such-option: no usage on stderr"
	[ ! -s "$WS/bad.out" ] || die "$cmd --no-such-option: wrote on stdout"
done

# Every error line of a bad command line starts "upkit: ", getopt's
# too, and the exit code is 2. Each case: the arguments.
while read -r args; do
	# shellcheck disable=SC2086
	run err $args
	expect_rc err 2
	# The first line is the error; the rest is usage text, where no
	# line may look like another program's message ("status: ...").
	grep -E '^[A-Za-z./-]+: ' "$WS/err.err" | grep -v '^upkit: \|^usage: ' \
	    >"$WS/stray" || true
	[ ! -s "$WS/stray" ] || die "upkit $args: a line without 'upkit: ':
$(cat "$WS/stray")"
	head -n 1 "$WS/err.err" | grep -q '^upkit: ' ||
	    die "upkit $args: $(head -n 1 "$WS/err.err")"
done <<-EOF2
	nosuch
	-x status
	--bogus
	-c
	status -x
	status --config
	status --json=1
	status extra
	update
	update --from
	update --from x --progress sideways
	update --json --progress bar --from x
	install
	install a b
	mark-good sideways
	mark-bad booted other
	commit --no-reboot
	bundle create --ver 1
	bundle create --level 99 --key k
	bundle create --key k
	bundle info
	bundle verify x
	channel verify --now yesterday --keyring k x
	channel create --out x
	keys create
	keys create --out
	fleet report
	bundle
	bundle nosuch
	keys
	channel
	report
	fleet
EOF2

# Group help: alone, exit 2 and the list on stderr; with --help, 0 and
# the list on stdout.
for g in bundle keys channel report fleet; do
	run g "$g"
	expect_rc g 2
	grep -q "^  upkit $g [a-z]" "$WS/g.err" || die "upkit $g: no list"
	run gh "$g" --help
	expect_rc gh 0
	grep -q "^  upkit $g [a-z]" "$WS/gh.out" || die "upkit $g --help"
	run ghh help "$g"
	expect_rc ghh 0
	cmp -s "$WS/gh.out" "$WS/ghh.out" || die "upkit help $g"
done

# --version, -V, before the command only (bundle create has --version).
for v in -V --version version; do
	run v "$v"
	expect_rc v 0
	grep -Eq '^upkit [0-9]+\.[0-9]+\.[0-9]+' "$WS/v.out" || die "$v"
done

# -c before the command and after it; -c after wins, as it comes later.
mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
run before -c "$CFG" status
expect_rc before 0
grep -q '^booted: *A' "$WS/before.out" || die "-c before status"
run longform --config="$CFG" status --json
expect_rc longform 0
run after -c /nonexistent status -c "$CFG"
expect_rc after 0
run nocfg -c /nonexistent/upkit.conf status
expect_rc nocfg 3
expect_msg nocfg "^upkit: status: .*/nonexistent/upkit.conf"

# install FILE is update --from FILE; -q leaves the result on stdout and
# nothing on stderr; -v names the config and each payload.
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --linuxkit "$WS/img/lk"
run inst -q install -c "$CFG" "$WS/b.upk" --no-reboot
expect_rc inst 0
grep -q "^installed 1.0.0 into slot B" "$WS/inst.out" || die "install"
[ ! -s "$WS/inst.err" ] || die "-q: stderr: $(cat "$WS/inst.err")"
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "install did not arm B"
run instbad install -c "$CFG" "$WS/no-such.upk"
expect_rc instbad 4
expect_msg instbad "^upkit: install: open $WS/no-such.upk: No such file"
mk_device "$WS/dev2" "$WS/keys/root.pem"
run verb -c "$CFG" update -v --from "$WS/b.upk" --no-reboot
expect_rc verb 0
grep -q "^upkit: update: config $CFG, booted slot A, target slot B" \
    "$WS/verb.err" || die "-v: no config line: $(cat "$WS/verb.err")"
grep -q "^payload rootfs$" "$WS/verb.err" ||
    die "-v: no payload line: $(cat "$WS/verb.err")"
run plain -c "$CFG" status
grep -q "^upkit: " "$WS/plain.err" && die "status wrote $(cat "$WS/plain.err")"
echo "usage: $(printf '%s\n' "$cmds" | wc -l) commands; globals before and after; groups; one prefix"

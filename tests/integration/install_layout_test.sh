#!/bin/sh
# make install (docs/packaging.md): what goes where, with DESTDIR and
# PREFIX; an edited configuration is kept; install-strip strips; the
# service files name the binary where it was installed; uninstall takes
# back all but the configuration.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need make install sed readelf
ws_init
UPKIT=$(cd "$(dirname "$UPKIT")" && pwd)/$(basename "$UPKIT")

# inst NAME TARGET VAR=VALUE...: make TARGET with the tested binary.
inst()
{
	_n=$1 _t=$2
	shift 2
	make -s -C "$TOP" "$_t" UPKIT_BIN="$UPKIT" "$@" \
	    >"$WS/$_n.out" 2>"$WS/$_n.err" ||
	    die "make $_t $*: $(cat "$WS/$_n.err")"
}

# mode PATH: its permission bits, octal.
mode()
{
	stat -c %a "$1"
}

R=$WS/root
inst usr install DESTDIR="$R" PREFIX=/usr
cat >"$WS/expected" <<EOF
etc/upkit/health.d/
etc/upkit/upkit.conf 644
usr/bin/upkit 755
usr/lib/systemd/system/upkit-daemon.service 644
usr/lib/systemd/system/upkit-health.service 644
usr/share/doc/upkit/README.md 644
usr/share/doc/upkit/configuration.md 644
usr/share/doc/upkit/packaging.md 644
usr/share/doc/upkit/examples/inittab 644
usr/share/doc/upkit/examples/openrc/upkit-daemon 644
usr/share/doc/upkit/examples/openrc/upkit-health 644
usr/share/doc/upkit/examples/upkit.conf 644
usr/share/man/man5/upkit.conf.5 644
usr/share/man/man8/upkit.8 644
EOF
while read -r path want; do
	case $path in
	*/)	[ -d "$R/$path" ] || die "install: no folder /$path" ;;
	*)	[ -f "$R/$path" ] || die "install: no /$path"
		[ "$(mode "$R/$path")" = "$want" ] ||
		    die "/$path: mode $(mode "$R/$path"), expected $want" ;;
	esac
done <"$WS/expected"
[ -z "$(ls -A "$R/etc/upkit/health.d")" ] || die "health.d is not empty"
cmp -s "$UPKIT" "$R/usr/bin/upkit" || die "installed binary differs"
cmp -s "$TOP/dist/upkit.conf" "$R/etc/upkit/upkit.conf" ||
    die "/etc/upkit/upkit.conf is not dist/upkit.conf"
# Every doc is there, and no service file is left unsubstituted.
for d in "$TOP"/docs/*.md; do
	[ -f "$R/usr/share/doc/upkit/$(basename "$d")" ] ||
	    die "install: no doc $(basename "$d")"
done
! grep -rl '@[A-Z][A-Z]*@' "$R/usr/lib/systemd" \
    "$R/usr/share/doc/upkit/examples" >"$WS/left" ||
    die "unsubstituted: $(cat "$WS/left")"
grep -qx 'ExecStart=/usr/bin/upkit daemon' \
    "$R/usr/lib/systemd/system/upkit-daemon.service" ||
    die "upkit-daemon.service does not run /usr/bin/upkit daemon"
# bash completion: installed exactly when the tree has it.
if [ -f "$TOP/dist/bash-completion/upkit" ]; then
	cmp -s "$TOP/dist/bash-completion/upkit" \
	    "$R/usr/share/bash-completion/completions/upkit" ||
	    die "bash completion not installed"
else
	[ ! -e "$R/usr/share/bash-completion" ] ||
	    die "a bash-completion folder without a completion"
fi

# An edited configuration survives a second install.
echo "; edited" >>"$R/etc/upkit/upkit.conf"
cp "$R/etc/upkit/upkit.conf" "$WS/edited.conf"
inst again install DESTDIR="$R" PREFIX=/usr
cmp -s "$WS/edited.conf" "$R/etc/upkit/upkit.conf" ||
    die "a second make install overwrote the edited configuration"
grep -q "kept .*/etc/upkit/upkit.conf" "$WS/again.out" ||
    die "make install did not say it kept the configuration"

# uninstall: all but the configuration (the user's), and health.d while
# it is empty.
inst un uninstall DESTDIR="$R" PREFIX=/usr
(cd "$R" && find . ! -type d | sort) >"$WS/left"
[ "$(cat "$WS/left")" = "./etc/upkit/upkit.conf" ] ||
    die "uninstall left: $(cat "$WS/left")"
[ ! -e "$R/etc/upkit/health.d" ] || die "uninstall left health.d"

# Another prefix: the binary and units move, the configuration stays in
# /etc (the agent's default path), the units name the moved binary.
O=$WS/opt
inst opt install DESTDIR="$O" PREFIX=/opt/upkit
[ -x "$O/opt/upkit/bin/upkit" ] || die "PREFIX=/opt/upkit: no bin/upkit"
[ -f "$O/etc/upkit/upkit.conf" ] || die "PREFIX=/opt/upkit: no /etc/upkit"
grep -qx 'ExecStart=/opt/upkit/bin/upkit health' \
    "$O/opt/upkit/lib/systemd/system/upkit-health.service" ||
    die "PREFIX=/opt/upkit: the unit does not name the moved binary"
grep -qx 'command="/opt/upkit/bin/upkit"' \
    "$O/opt/upkit/share/doc/upkit/examples/openrc/upkit-daemon" ||
    die "PREFIX=/opt/upkit: the OpenRC script does not name it"

# install-strip: the same binary without its symbol table.
S=$WS/strip
inst strip install-strip DESTDIR="$S" PREFIX=/usr
! readelf -S "$S/usr/bin/upkit" | grep -q '\.symtab' ||
    die "install-strip left the symbol table"
[ "$(filesize "$S/usr/bin/upkit")" -lt "$(filesize "$UPKIT")" ] ||
    die "install-strip: not smaller than $UPKIT"
"$S/usr/bin/upkit" --version >/dev/null || die "stripped binary does not run"

# install-openrc: executable scripts in /etc/init.d.
inst openrc install-openrc DESTDIR="$S" PREFIX=/usr
for s in upkit-health upkit-daemon; do
	[ "$(mode "$S/etc/init.d/$s")" = 755 ] ||
	    die "install-openrc: /etc/init.d/$s not 0755"
done
echo "make install: layout, kept config, uninstall, prefix, strip: ok"

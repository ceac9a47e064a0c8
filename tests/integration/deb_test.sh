#!/bin/sh
# The Debian package (make deb, docs/packaging.md), as a user meets it:
# apt-get install ./upkit_*.deb, upkit --version, the demo against the
# installed binary, the units verified where they were installed and not
# enabled, then remove and purge, after which nothing of it is left.
# The machine is left as it was found: the trap purges the package and
# whatever apt-get pulled in with it. make check runs this in the plain
# build only, after make deb; the package build leaves the tree as it was.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_root
need dpkg dpkg-deb apt-get systemd-analyze systemctl man
ARCH=$(dpkg --print-architecture)
set -- "$TOP"/build/deb/upkit_*_"$ARCH".deb
[ -f "$1" ] || skip "no build/deb/upkit_*_$ARCH.deb: make deb builds it"
DEB=$1

# pkg_there: dpkg knows a upkit package, installed or its configuration.
pkg_there()
{
	dpkg-query -W -f='${Status}' upkit 2>/dev/null |
	    grep -q 'installed\|config-files'
}

# What this test removes afterwards must not be there before it.
! pkg_there || skip "a upkit package is installed here: not touched"
for p in /usr/bin/upkit /etc/upkit /var/lib/upkit; do
	[ ! -e "$p" ] || skip "$p exists: not touched"
done
ws_init
APT="apt-get -o DPkg::Lock::Timeout=300 -y -q"

# The tree the package was built from holds no build output.
for f in debian/upkit debian/files debian/.debhelper debian/tmp \
    debian/upkit.substvars debian/debhelper-build-stamp; do
	[ ! -e "$TOP/$f" ] || die "make deb left $f in the tree"
done
for f in "$TOP"/../upkit_*; do
	[ ! -e "$f" ] || die "make deb left $f beside the tree"
done

# The package: version, conffile, dependencies the binary dlopen()s.
VERSION=$(dpkg-deb -f "$DEB" Version)
dpkg-deb -f "$DEB" Depends | grep -q '\<libcurl4\>' ||
    die "$DEB: no Depends on libcurl4 (dlopen'ed, not seen by shlibs)"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles >"$WS/conffiles"
grep -qx /etc/upkit/upkit.conf "$WS/conffiles" ||
    die "$DEB: /etc/upkit/upkit.conf is not a conffile"

# Whatever else apt-get would install goes again in the trap.
LANG=C $APT -s install "$DEB" >"$WS/sim" 2>&1 ||
    die "apt-get -s: $(cat "$WS/sim")"
EXTRA=$(sed -n 's/^Inst \([^ ]*\) .*/\1/p' "$WS/sim" | grep -vx upkit |
    tr '\n' ' ')
cleanup()
{
	_crc=$?
	set +e
	# shellcheck disable=SC2086 # a list of package names
	$APT purge upkit $EXTRA >"$WS/purge.trap" 2>&1
	# It was not there before (checked above), whatever purge did.
	rm -rf /var/lib/upkit
	(exit "$_crc")
	ws_cleanup
}
trap cleanup EXIT

$APT install --no-install-recommends "$DEB" >"$WS/install" 2>&1 ||
    die "apt-get install $DEB: $(tail -n 5 "$WS/install")"
dpkg-query -W -f='${Status}\n' upkit | grep -qx 'install ok installed' ||
    die "upkit is not installed"
/usr/bin/upkit --version >"$WS/version" || die "upkit --version failed"
grep -q "^upkit $VERSION\$" "$WS/version" ||
    die "upkit --version says $(cat "$WS/version"), the package $VERSION"
man -w upkit >/dev/null 2>&1 || die "man upkit: not found"
man -w upkit.conf >/dev/null 2>&1 || die "man upkit.conf: not found"
[ -d /etc/upkit/health.d ] || die "no /etc/upkit/health.d"

# The units where the package put them, with its man pages.
UNITS=$(dpkg -L upkit | grep '/systemd/system/upkit-.*\.service$')
[ "$(echo "$UNITS" | wc -l)" -eq 2 ] || die "units: $UNITS"
# shellcheck disable=SC2086
systemd-analyze verify $UNITS >"$WS/verify" 2>&1 ||
    die "systemd-analyze verify: $(cat "$WS/verify")"
[ ! -s "$WS/verify" ] || die "systemd-analyze verify: $(cat "$WS/verify")"
for u in upkit-health.service upkit-daemon.service; do
	state=$(systemctl is-enabled "$u" 2>&1 || true)
	[ "$state" = disabled ] || die "$u is $state, not disabled"
done

# The demo, with the installed binary.
sh "$TESTS/demo.sh" /usr/bin/upkit >"$WS/demo" 2>&1 ||
    die "demo with /usr/bin/upkit: $(tail -n 20 "$WS/demo")"

# Remove keeps the configuration; purge takes it, and the data
# directory the agent filled.
mkdir -p /var/lib/upkit
echo '{}' >/var/lib/upkit/state.json
$APT remove upkit >"$WS/remove" 2>&1 ||
    die "apt-get remove: $(tail -n 5 "$WS/remove")"
[ ! -e /usr/bin/upkit ] || die "remove left /usr/bin/upkit"
[ -f /etc/upkit/upkit.conf ] || die "remove took the configuration"
$APT purge upkit >"$WS/purge" 2>&1 ||
    die "apt-get purge: $(tail -n 5 "$WS/purge")"
! pkg_there || die "after purge: $(dpkg-query -W -f='${Status}' upkit)"
for p in /usr/bin/upkit /etc/upkit /var/lib/upkit \
    /usr/share/doc/upkit /usr/share/man/man8/upkit.8.gz $UNITS; do
	[ ! -e "$p" ] || die "purge left $p"
done
! find /etc/systemd -name 'upkit-*' | grep -q . || die "purge left unit links"
echo "deb $VERSION: installed, --version, units verified and disabled," \
    "demo passed, removed and purged clean"

#!/bin/sh
# tests/mbedtls3/fetch.sh DIR: Debian 13's mbedtls 3.6 for the second
# build (make mbedtls3, docs/portability.md). apt-get download fetches the
# -dev package and the three libraries it needs from trixie, through a
# sources list, state and cache of its own under DIR/apt: the machine's
# apt setup, package lists and installed packages are not touched. The
# packages are unpacked with dpkg-deb -x into DIR/root, and refused if
# their libraries need a newer glibc than this machine's, since the tests
# run them here. The archive is the one this machine's apt already uses
# for Debian (or DEBIAN_MIRROR).
set -eu
[ $# -eq 1 ] || { echo "usage: fetch.sh DIR" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
SUITE=trixie
PKGS="libmbedtls-dev libmbedcrypto16 libmbedx509-7 libmbedtls21"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
die() { echo "fetch.sh: $*" >&2; exit 1; }

mirror=${DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' \
    'Label: Debian' 'Created-By: Packages' | sort -u | head -n 1)}
[ -n "$mirror" ] || die "no Debian archive in this machine's apt sources;" \
    "set DEBIAN_MIRROR"
[ -r "$KEYRING" ] || die "$KEYRING: missing (apt-get install" \
    "debian-archive-keyring)"

A=$DIR/apt
rm -rf "$A" "$DIR/deb" "$DIR/root.new"
mkdir -p "$A/lists/partial" "$A/archives/partial" "$A/prefs.d" "$DIR/deb"
echo "deb [signed-by=$KEYRING] $mirror $SUITE main" >"$A/sources.list"
: >"$A/status"
set -- -q -o Dir::Etc::SourceList="$A/sources.list" \
    -o Dir::Etc::SourceParts=- -o Dir::Etc::Preferences="$A/prefs" \
    -o Dir::Etc::PreferencesParts="$A/prefs.d" -o Dir::State="$A" \
    -o Dir::State::Lists="$A/lists" -o Dir::State::status="$A/status" \
    -o Dir::Cache="$A" -o Dir::Cache::archives="$A/archives" \
    -o APT::Architectures::="$(dpkg --print-architecture)" \
    -o APT::Sandbox::User=root
apt-get "$@" update >"$A/update.log" 2>&1 || {
	cat "$A/update.log" >&2; die "apt-get update of $SUITE failed"; }
(cd "$DIR/deb" && apt-get "$@" download \
    $(for p in $PKGS; do echo "$p/$SUITE"; done)) ||
    die "apt-get download from $SUITE failed"
for d in "$DIR"/deb/*.deb; do
	dpkg-deb -x "$d" "$DIR/root.new"
done

# The newest glibc symbol version the libraries use, against this libc.
lib=$DIR/root.new/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
need=$(objdump -T "$lib"/libmbed*.so.*.* | grep -o 'GLIBC_[0-9.]*' |
    sed 's/GLIBC_//' | sort -uV | tail -n 1)
have=$(getconf GNU_LIBC_VERSION | sed 's/glibc //')
[ -n "$need" ] || die "$lib: no libmbed*.so with glibc symbols"
[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | tail -n 1)" = "$have" ] ||
    die "$SUITE's mbedtls needs glibc $need, this machine has $have"
rm -rf "$DIR/root"
mv "$DIR/root.new" "$DIR/root"
echo "mbedtls $(dpkg-deb -f "$DIR"/deb/libmbedtls-dev_*.deb Version)" \
    "from $SUITE in $DIR/root (glibc $need or newer; here $have)"

#!/bin/sh
# mkroot.sh UPKIT OUT: the root of the upkit LinuxKit image, from a
# built upkit on a Debian system (the Dockerfile's build stage, or the
# test that checks this script, tests/integration/linuxkit_test.sh):
# /usr/bin/upkit, every shared library it and libcurl need (upkit
# dlopen()s libcurl.so.4 for URLs, so ldd does not list it), the
# dynamic loader, busybox for health scripts and reboot, and the CA
# certificates for https. OUT must not exist.
set -eu
upkit=${1:?usage: mkroot.sh UPKIT OUT}
out=${2:?usage: mkroot.sh UPKIT OUT}
[ ! -e "$out" ] || { echo "mkroot.sh: $out exists" >&2; exit 1; }
curl=$(/sbin/ldconfig -p | awk '$1 == "libcurl.so.4" { print $NF; exit }')
[ -n "$curl" ] || { echo "mkroot.sh: no libcurl.so.4 (libcurl4)" >&2; exit 1; }
mkdir -p "$out/usr/bin" "$out/bin" "$out/etc/upkit/health.d" \
    "$out/etc/ssl/certs" "$out/var/lib/upkit" "$out/boot/efi" "$out/tmp"
cp "$upkit" "$out/usr/bin/upkit"
# Each library under the name it is asked for (the symlink's name), so
# the loader and dlopen() find it without an ld.so.cache.
{ ldd "$upkit"; ldd "$curl"; echo "	$curl"; } |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    sort -u | while read -r lib; do
	cp -L --parents "$lib" "$out"
done
cp /bin/busybox "$out/bin/busybox"
for a in $("$out/bin/busybox" --list); do
	[ -e "$out/bin/$a" ] || ln -s busybox "$out/bin/$a"
done
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	cp /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
fi
chmod 1777 "$out/tmp"

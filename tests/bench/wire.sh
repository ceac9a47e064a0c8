#!/bin/sh
# tests/bench/wire.sh UPKIT KEYS: the bytes one idle poll puts on the
# wire, TCP and IP headers and the TLS handshake included, over HTTP and
# over HTTPS. Run by tests/bench.sh inside a network namespace of its
# own (unshare -n), where the loopback device carries this script's
# packets and nothing else: its transmitted bytes (/proc/net/dev, which
# is the namespace's own, unlike /sys/class/net) then counts every
# packet of a poll once, both directions (each packet on lo is sent
# once and received once; the count includes lo's 14-byte Ethernet
# header, as a real link's would). Prints "http=N https=N", the mean
# over 20 polls of an unchanged channel, each answered 304.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
UPKIT=$1 KEYS=$2
ip link set lo up
ws_init
mkdir "$WS/www"
head -c 65536 /dev/zero >"$WS/img"
mk_bundle "$KEYS" "$WS/www/f.upk" 9.0.0 --image rootfs="$WS/img"
# Rolled out to no one: a poll that selects nothing installs nothing.
"$UPKIT" channel create --key "$KEYS/signer.key" --cert "$KEYS/signer.pem" \
    --keyring "$KEYS/root.pem" --name stable --version 1 --expires-in 30d \
    --release "$COMPATIBLE=$WS/www/f.upk,rollout=0" \
    --out "$WS/www/c.upc" >/dev/null
nginx_start "$WS/www"

# lo_tx: the bytes lo has sent, in this namespace.
lo_tx()
{
	awk -F'[: ]+' '$2 == "lo" { print $11 }' /proc/net/dev
}

# wire URL: the mean bytes of 20 idle polls of URL, after a first poll
# that fetched the channel and kept its ETag.
wire()
{
	SLOT_SIZE=64K SLOT_CLASSES=rootfs mk_device "$WS/d.$2" \
	    "$KEYS/root.pem" >/dev/null
	printf '\n[server]\nchannel = %s\ninterval = 3600\nca = %s\n' \
	    "$1" "$TLS_DIR/ca.pem" >>"$CFG"
	sed -i "s/^\[system\]\$/[system]\ndevice-id = wire-$2/" "$CFG"
	"$UPKIT" daemon -c "$CFG" --once --no-reboot >/dev/null 2>&1 ||
	    die "first poll of $1"
	_b0=$(lo_tx)
	for _i in $(seq 20); do
		"$UPKIT" daemon -c "$CFG" --once --no-reboot >/dev/null 2>&1 ||
		    die "poll of $1"
	done
	_b1=$(lo_tx)
	echo $(((_b1 - _b0) / 20))
}

http=$(wire "http://127.0.0.1:$NGINX_HTTP/c.upc" http)
https=$(wire "https://127.0.0.1:$NGINX_HTTPS/c.upc" https)
n304=$(awk '$2 == 304' "$NGINX_DIR/wire.log" | wc -l)
[ "$n304" -eq 40 ] || die "$n304 of 40 polls answered 304"
echo "http=$http https=$https"

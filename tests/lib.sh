# tests/lib.sh: helpers shared by tests/integration/*.sh, tests/demo.sh and
# tests/bench.sh. Source it after setting TESTS to the tests/ folder:
#
#	TESTS=$(cd "$(dirname "$0")/.." && pwd)
#	. "$TESTS/lib.sh"
#
# Everything a test makes lives under one workspace ($WS) that ws_init
# removes on exit, together with the loop devices, mounts and background
# processes registered here, whether the test passed or not.
# UPKIT_KEEP=1 keeps the workspace for a post-mortem.

TOP=$(dirname "$TESTS")
UPKIT=${UPKIT:-$TOP/build/upkit}
COMPATIBLE=${COMPATIBLE:-test-board}
# Raw slot size: a little larger than the busybox squashfs image.
SLOT_SIZE=${SLOT_SIZE:-8M}
# LinuxKit-like outputs and slots hold no secrets; locale-independent
# byte handling in grep, od and sort.
LC_ALL=C
export LC_ALL

die()
{
	echo "FAIL: $*" >&2
	exit 1
}

skip()
{
	# run.sh shows the last line of a skipped test's output.
	echo "skipped: $*"
	exit 77
}

# need CMD...: skips the test when a tool is missing.
need()
{
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "$_c not installed"
	done
}

need_upkit()
{
	[ -x "$UPKIT" ] || die "$UPKIT not built (make build/upkit)"
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

ws_cleanup()
{
	_rc=$?
	trap - EXIT
	set +e
	if [ -n "${WS:-}" ] && [ -d "$WS" ]; then
		if [ -s "$WS/.pids" ]; then
			while read -r _p; do
				case $_p in
				file:*)	[ ! -s "${_p#file:}" ] ||
					    kill "$(cat "${_p#file:}")" 2>/dev/null ;;
				*)	kill "$_p" 2>/dev/null ;;
				esac
			done <"$WS/.pids"
		fi
		if [ -s "$WS/.mounts" ]; then
			while read -r _m; do
				umount "$_m" 2>/dev/null
			done <"$WS/.mounts"
		fi
		if [ -s "$WS/.loops" ]; then
			while read -r _l; do
				losetup -d "$_l" 2>/dev/null
			done <"$WS/.loops"
		fi
		if [ "${UPKIT_KEEP:-0}" = 1 ]; then
			echo "workspace kept: $WS" >&2
		else
			rm -rf "$WS"
		fi
	fi
	exit "$_rc"
}

# ws_init [DIR]: a fresh workspace in $WS (a new temp folder, or DIR
# recreated), removed by the EXIT trap.
ws_init()
{
	if [ $# -gt 0 ]; then
		rm -rf "$1"
		mkdir -p "$1"
		WS=$(cd "$1" && pwd)
	else
		WS=$(mktemp -d "${TMPDIR:-/tmp}/upkit-test.XXXXXX")
	fi
	: >"$WS/.pids"
	: >"$WS/.mounts"
	: >"$WS/.loops"
	trap ws_cleanup EXIT
	# An interrupted test still cleans up: exit runs the EXIT trap.
	trap 'exit 1' INT TERM HUP
}

# The registries are files, not variables, so that helpers called in
# $(...) subshells can register too.
ws_pid()
{
	echo "$1" >>"$WS/.pids"
}

ws_mount()
{
	echo "$1" >>"$WS/.mounts"
}

# loop_attach FILE: prints the loop device now backing FILE.
loop_attach()
{
	_dev=$(losetup -f --show "$1") || die "losetup $1"
	echo "$_dev" >>"$WS/.loops"
	echo "$_dev"
}

# gen_bytes SIZE SEED: SIZE pseudo-random bytes, the same for the same
# SEED on every machine (AES-CTR keystream of a key derived from SEED).
gen_bytes()
{
	_key=$(printf '%s' "$2" | sha256sum | cut -c1-32)
	openssl enc -aes-128-ctr -nosalt -K "$_key" \
	    -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null |
	    head -c "$1"
}

# fill_bytes SIZE BYTE: SIZE copies of one byte (octal, e.g. 252).
fill_bytes()
{
	tr '\000' "\\$2" </dev/zero | head -c "$1"
}

filesize()
{
	stat -c %s "$1"
}

# mk_rootfs DIR: a minimal busybox root, the same bytes on every run.
mk_rootfs()
{
	mkdir -p "$1/bin" "$1/dev" "$1/proc" "$1/sys" "$1/etc" "$1/tmp"
	cp /bin/busybox "$1/bin/busybox"
	for _a in sh ls cat mount umount echo sleep poweroff reboot; do
		ln -sf busybox "$1/bin/$_a"
	done
	cat >"$1/init" <<-'EOF'
	#!/bin/sh
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	echo "upkit test root: $(cat /proc/cmdline)"
	exec sh
	EOF
	chmod 0755 "$1/init"
	echo test-board >"$1/etc/hostname"
	# Fixed times: cpio and squashfs record them.
	find "$1" -exec touch -h -d @0 {} +
}

# mk_images DIR NAME [SEED]: LinuxKit kernel+initrd and kernel+squashfs
# outputs: DIR/NAME-kernel, -initrd.img, -cmdline, -squashfs.img. SEED
# varies the kernel bytes so two versions differ.
mk_images()
{
	_d=$1 _n=$2 _seed=${3:-kernel}
	mkdir -p "$_d"
	_root=$_d/.root-$_n
	rm -rf "$_root"
	mk_rootfs "$_root"
	gen_bytes 393216 "$_seed" >"$_d/$_n-kernel"
	(cd "$_root" && find . | sort | busybox cpio -o -H newc -R 0:0 \
	    2>/dev/null) | gzip -n -9 >"$_d/$_n-initrd.img"
	printf 'console=ttyS0 root=/dev/vda rootfstype=squashfs\n' \
	    >"$_d/$_n-cmdline"
	mksquashfs "$_root" "$_d/$_n-squashfs.img" -noappend -all-root \
	    -mkfs-time 0 -quiet -no-progress >/dev/null ||
	    die "mksquashfs $_root"
	rm -rf "$_root"
}

# mk_keys DIR [CN]: a root, a signer certificate and their keys.
mk_keys()
{
	"$UPKIT" keys create --out "$1" --cn "${2:-upkit test}" >/dev/null ||
	    die "upkit keys create --out $1"
	for _f in root.pem root.key signer.pem signer.key; do
		[ -s "$1/$_f" ] || die "keys create: no $1/$_f"
	done
}

# mk_bundle KEYDIR OUT VERSION ARG...: signs a bundle for $COMPATIBLE;
# the ARGs are the inputs and any other bundle create options.
mk_bundle()
{
	_k=$1 _o=$2 _v=$3
	shift 3
	"$UPKIT" bundle create --key "$_k/signer.key" --cert "$_k/signer.pem" \
	    --compatible "$COMPATIBLE" --version "$_v" "$@" -o "$_o" \
	    >/dev/null || die "upkit bundle create $_o (version $_v)"
	[ -s "$_o" ] || die "bundle create wrote no $_o"
}

# mk_device DIR KEYRING [redundant]: a simulated device booted from A:
# raw rootfs slots of $SLOT_SIZE (zero-filled files), boot folders (the
# config names only the classes in $SLOT_CLASSES, default both), a
# U-Boot env (two copies if "redundant") with BOOT_ORDER="A B", the
# cmdline file, the data folder and DIR/upkit.conf. Sets DEV, CFG,
# ENVCFG, ENV, DATA, CMDLINE, ROOT_A, ROOT_B, BOOT_A, BOOT_B.
mk_device()
{
	DEV=$1
	mkdir -p "$DEV/data" "$DEV/boot/A" "$DEV/boot/B"
	CFG=$DEV/upkit.conf ENVCFG=$DEV/fw_env.config ENV=$DEV/uboot.env
	DATA=$DEV/data CMDLINE=$DEV/cmdline
	ROOT_A=$DEV/rootfs-a.img ROOT_B=$DEV/rootfs-b.img
	BOOT_A=$DEV/boot/A BOOT_B=$DEV/boot/B
	truncate -s "$SLOT_SIZE" "$ROOT_A" "$ROOT_B"
	# What the running system booted with: slot A's boot files.
	echo old-kernel >"$BOOT_A/kernel"
	echo old-initrd >"$BOOT_A/initrd.img"
	echo "console=ttyS0 upkit.slot=A" >"$BOOT_A/cmdline"
	echo "console=ttyS0 upkit.slot=A" >"$CMDLINE"
	# fw_setenv refuses a blank env without a default env file, so the
	# env starts as mkenvimage writes it (as a board image would ship).
	printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\nboard=%s\n' \
	    "$COMPATIBLE" >"$DEV/env.txt"
	echo "$ENV 0x0 0x4000" >"$ENVCFG"
	if [ "${3:-}" = redundant ]; then
		mkenvimage -r -s 0x4000 -o "$ENV" "$DEV/env.txt" ||
		    die "mkenvimage $ENV"
		cp "$ENV" "$ENV.redund"
		echo "$ENV.redund 0x0 0x4000" >>"$ENVCFG"
	else
		mkenvimage -s 0x4000 -o "$ENV" "$DEV/env.txt" ||
		    die "mkenvimage $ENV"
	fi
	cat >"$CFG" <<-EOF
	[system]
	compatible = $COMPATIBLE
	bootloader = uboot
	data-directory = $DATA
	boot-attempts = 3
	cmdline = $CMDLINE

	[keyring]
	path = $2

	[uboot]
	config = $ENVCFG
	EOF
	for _class in ${SLOT_CLASSES:-rootfs boot}; do
		case $_class in
		rootfs)	_a=$ROOT_A _b=$ROOT_B _t=raw ;;
		boot)	_a=$BOOT_A _b=$BOOT_B _t=files ;;
		*)	die "mk_device: unknown slot class $_class" ;;
		esac
		printf '\n[slot.%s.0]\ndevice = %s\ntype = %s\nbootname = A\n' \
		    "$_class" "$_a" "$_t"
		printf '\n[slot.%s.1]\ndevice = %s\ntype = %s\nbootname = B\n' \
		    "$_class" "$_b" "$_t"
	done >>"$CFG"
}

# env_get NAME: one variable of the device's U-Boot env, read by
# fw_printenv (not by upkit), empty if unset.
env_get()
{
	fw_printenv -c "$ENVCFG" -n "$1" 2>/dev/null || true
}

# snapshot NAME: records what a refused update must not change: both raw
# slots, both boot folders, the env as fw_printenv reads it, and
# state.json. same_as NAME compares the device with it.
snapshot()
{
	{
		sha256sum "$ROOT_A" "$ROOT_B"
		find "$BOOT_A" "$BOOT_B" -type f | sort | xargs -r sha256sum
		fw_printenv -c "$ENVCFG" | sort
		if [ -f "$DATA/state.json" ]; then
			sha256sum "$DATA/state.json"
		else
			echo "no state.json"
		fi
	} >"$WS/snap.$1" 2>&1
}

same_as()
{
	snapshot now
	diff -u "$WS/snap.$1" "$WS/snap.now" >&2 ||
	    die "${2:-device} changed since snapshot $1"
}

# run NAME ARG...: runs upkit with ARGs; stdout in $WS/NAME.out, stderr in
# $WS/NAME.err, exit code in $RC. Never trips set -e.
run()
{
	_name=$1
	shift
	set +e
	"$UPKIT" "$@" >"$WS/$_name.out" 2>"$WS/$_name.err"
	RC=$?
	set -e
}

# run_pipe NAME FILE ARG...: as run, with FILE fed through a pipe (which
# upkit can neither stat nor seek) on stdin.
run_pipe()
{
	_name=$1 _file=$2
	shift 2
	set +e
	cat "$_file" | "$UPKIT" "$@" >"$WS/$_name.out" 2>"$WS/$_name.err"
	RC=$?
	set -e
}

# expect_rc NAME CODE: the run NAME ended with CODE (agent/cmd.h).
expect_rc()
{
	if [ "$RC" -ne "$2" ]; then
		echo "--- stdout of $1" >&2
		cat "$WS/$1.out" >&2
		echo "--- stderr of $1" >&2
		cat "$WS/$1.err" >&2
		die "$1: exit code $RC, expected $2"
	fi
}

# expect_msg NAME REGEX: the last line on stderr of run NAME (the error
# upkit reports) matches the extended REGEX, case-insensitively.
expect_msg()
{
	_last=$(grep -v '^[[:space:]]*$' "$WS/$1.err" | tail -n 1)
	printf '%s\n' "$_last" | grep -Eqi -- "$2" ||
	    die "$1: message '$_last' does not match /$2/"
}

# Bundle layout (docs/bundle-format.md): a 64-byte header, the manifest,
# the signature block (its total length is the u32 at its offset 4), then
# the payload area. Byte offsets of the header's big-endian u64 lengths:
HDR_MANIFEST_LEN_AT=${HDR_MANIFEST_LEN_AT:-16}
HDR_PAYLOAD_LEN_AT=${HDR_PAYLOAD_LEN_AT:-24}

# be_uint FILE OFFSET N: the big-endian N-byte unsigned integer at OFFSET.
be_uint()
{
	_v=0
	for _b in $(od -An -v -tu1 -j "$2" -N "$3" "$1"); do
		_v=$((_v * 256 + _b))
	done
	echo "$_v"
}

# bundle_regions FILE: sets MAN_OFF MAN_LEN SIG_OFF SIG_LEN PAY_OFF PAY_LEN.
bundle_regions()
{
	MAN_OFF=64
	MAN_LEN=$(be_uint "$1" "$HDR_MANIFEST_LEN_AT" 8)
	PAY_LEN=$(be_uint "$1" "$HDR_PAYLOAD_LEN_AT" 8)
	SIG_OFF=$((MAN_OFF + MAN_LEN))
	SIG_LEN=$(be_uint "$1" $((SIG_OFF + 4)) 4)
	PAY_OFF=$((SIG_OFF + SIG_LEN))
	[ $((PAY_OFF + PAY_LEN)) -eq "$(filesize "$1")" ] ||
	    die "$1: regions $MAN_LEN+$SIG_LEN+$PAY_LEN do not add up"
}

# flip_byte FILE OFFSET: inverts every bit of one byte, in place.
flip_byte()
{
	_b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	[ -n "$_b" ] || die "flip_byte: $1 has no byte at $2"
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $((_b ^ 255)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# files_equal A B: cmp, with a message naming both.
files_equal()
{
	cmp "$1" "$2" >&2 || die "$1 differs from $2"
}

# prefix_equal FILE DEVICE: the first bytes of DEVICE equal FILE.
prefix_equal()
{
	cmp -n "$(filesize "$1")" "$1" "$2" >&2 ||
	    die "$2 does not start with the bytes of $1"
}

# mk_tls DIR: with openssl, into DIR (never committed): a test CA
# (ca.pem), a server certificate for 127.0.0.1 that it signed
# (server.pem, server.key), a client certificate it signed (client.pem,
# client.key), and an unrelated CA (other-ca.pem). Sets TLS_DIR.
# TLS_SAN overrides the server's subjectAltName (a QEMU guest reaches
# the host's nginx at another address).
mk_tls()
{
	TLS_DIR=$1
	mkdir -p "$TLS_DIR"
	for _n in ca other-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -days 2 -subj "/CN=upkit $_n" \
		    -keyout "$TLS_DIR/$_n.key" -out "$TLS_DIR/$_n.pem" \
		    2>/dev/null || die "openssl: $_n"
	done
	printf 'subjectAltName=%s\n' "${TLS_SAN:-IP:127.0.0.1}" \
	    >"$TLS_DIR/server.ext"
	printf 'extendedKeyUsage=clientAuth\n' >"$TLS_DIR/client.ext"
	_serial=1
	for _n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -subj "/CN=upkit $_n" -keyout "$TLS_DIR/$_n.key" \
		    -out "$TLS_DIR/$_n.csr" 2>/dev/null &&
		    openssl x509 -req -in "$TLS_DIR/$_n.csr" -days 2 \
		    -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
		    -set_serial "$_serial" -extfile "$TLS_DIR/$_n.ext" \
		    -out "$TLS_DIR/$_n.pem" 2>/dev/null ||
		    die "openssl: $_n certificate"
		_serial=$((_serial + 1))
	done
}

# tls_pin PEM: the certificate's public-key pin, "sha256//BASE64", as
# libcurl's CURLOPT_PINNEDPUBLICKEY takes it.
tls_pin()
{
	printf 'sha256//%s\n' "$(openssl x509 -in "$1" -pubkey -noout |
	    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
	    base64)"
}

# nginx_conf DOCROOT RATE: the config nginx_start writes. Three servers
# on 127.0.0.1: HTTP, HTTPS and HTTPS that wants a client certificate;
# /norange/ serves DOCROOT but ignores Range (max_ranges 0), /badrange/
# answers a Range with a wrong Content-Range (bytes 5-9/10), /noetag/
# serves it with Last-Modified but no ETag, /longetag/ with an ETag of
# 300 bytes, /trickle/ at 20 bytes a second after the first 500 of each
# answer, /busy/, /toomany/ and /nobody/ answer 503, 429 and 204 (no
# body), /short/ passes a request on to / but makes a Range that
# starts between byte 1000000 and 3999999 end at byte 3999999, and
# /reports/ takes WebDAV PUTs into DOCROOT/reports/ (the folders made as
# needed), as a report store does (docs/reports.md). Small send
# buffers keep nginx close to what the client has taken, so the bytes in
# the access log ($NGINX_LOG: URI, status, bytes sent, Range) are close
# to what a cut client fetched. $NGINX_DIR/wire.log has, per
# request, URI, status, request bytes, bytes sent and body bytes sent.
nginx_conf()
{
	[ "$(id -u)" -eq 0 ] && echo "user root;"
	cat <<-EOF
	worker_processes 1;
	pid $NGINX_DIR/nginx.pid;
	error_log $NGINX_DIR/error.log;
	events { worker_connections 128; }
	http {
		log_format upkit '\$uri \$status \$bytes_sent "\$http_range"';
		access_log $NGINX_LOG upkit;
		log_format upkitwire '\$uri \$status \$request_length \$bytes_sent \$body_bytes_sent';
		access_log $NGINX_DIR/wire.log upkitwire;
		default_type application/octet-stream;
		client_body_temp_path $NGINX_DIR/tmp/body;
		proxy_temp_path $NGINX_DIR/tmp/proxy;
		fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
		uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
		scgi_temp_path $NGINX_DIR/tmp/scgi;
		limit_rate $2;
		root $1;
		ssl_certificate $TLS_DIR/server.pem;
		ssl_certificate_key $TLS_DIR/server.key;
		map \$http_range \$short_range {
			default \$http_range;
			"~^bytes=(?<first>[1-3][0-9]{6})-\$"
			    "bytes=\$first-3999999";
		}
		server {
			listen 127.0.0.1:$NGINX_HTTP sndbuf=64k;
			location /norange/ { alias $1/; max_ranges 0; }
			location /reports/ {
				dav_methods PUT;
				create_full_put_path on;
			}
			location /badrange/ {
				alias $1/;
				if (\$http_range) {
					add_header Content-Range "bytes 5-9/10";
					return 206 "56789";
				}
			}
			location /noetag/ { alias $1/; etag off; }
			location /longetag/ {
				alias $1/;
				etag off;
				add_header ETag "\"$(printf '%0298d' 0)\"";
			}
			location /trickle/ {
				alias $1/;
				limit_rate_after 500;
				limit_rate 20;
			}
			location /busy/ { return 503; }
			location /toomany/ { return 429; }
			location /nobody/ { return 204; }
			location /short/ {
				proxy_pass http://127.0.0.1:$NGINX_HTTP/;
				proxy_set_header Range \$short_range;
			}
		}
		server { listen 127.0.0.1:$NGINX_HTTPS ssl sndbuf=64k; }
		server {
			listen 127.0.0.1:$NGINX_MTLS ssl;
			ssl_client_certificate $TLS_DIR/ca.pem;
			ssl_verify_client on;
		}
	}
	EOF
}

# nginx_start DOCROOT [RATE]: nginx serving DOCROOT on three free ports
# of 127.0.0.1 (see nginx_conf; RATE is limit_rate, e.g. 2m, 0 for
# none), stopped with the workspace whether the test passes or not.
# Makes TLS files with mk_tls unless TLS_DIR is set. Sets NGINX_HTTP,
# NGINX_HTTPS, NGINX_MTLS (ports), NGINX_DIR and NGINX_LOG. nginx runs
# as a daemon: the command returns once the ports are bound (non-zero
# when one is taken, and other ports are tried), so a request may go
# out at once, with no wait. Each start has a folder of its own, so a
# stopped nginx that is still exiting cannot remove a new one's pid file.
nginx_start()
{
	need nginx openssl shuf
	[ -n "${TLS_DIR:-}" ] || mk_tls "$WS/tls"
	NGINX_N=$((${NGINX_N:-0} + 1))
	NGINX_DIR=$WS/nginx.$NGINX_N NGINX_LOG=$WS/nginx.$NGINX_N/access.log
	mkdir -p "$NGINX_DIR/tmp"
	for _try in 1 2 3 4 5 6 7 8; do
		NGINX_HTTP=$(shuf -i 20000-60000 -n 1)
		NGINX_HTTPS=$((NGINX_HTTP + 1)) NGINX_MTLS=$((NGINX_HTTP + 2))
		nginx_conf "$1" "${2:-0}" >"$NGINX_DIR/nginx.conf"
		if nginx -e "$NGINX_DIR/error.log" -p "$NGINX_DIR" \
		    -c "$NGINX_DIR/nginx.conf" </dev/null >/dev/null 2>&1; then
			# The master writes its pid file before it starts
			# the workers, so before any request is served.
			echo "file:$NGINX_DIR/nginx.pid" >>"$WS/.pids"
			return 0
		fi
	done
	die "nginx did not start: $(tail -n 3 "$NGINX_DIR/error.log")"
}

# nginx_stop: stops nginx now (the workspace's cleanup would too).
nginx_stop()
{
	[ ! -s "$NGINX_DIR/nginx.pid" ] ||
	    kill "$(cat "$NGINX_DIR/nginx.pid")" 2>/dev/null || true
}

# nginx_bytes URI: the bytes nginx sent for URI, from its access log.
nginx_bytes()
{
	awk -v u="$1" '$1 == u { s += $3 } END { print s + 0 }' "$NGINX_LOG"
}

# The source tests' tools (make build/tests/cutproxy build/tests/fetch).
TOOL_DIR=${TOOL_DIR:-$TOP/build/tests}

# cutproxy_start PORT [ARG...]: tests/tools/cutproxy in front of
# 127.0.0.1:PORT, with the ARGs (-c/-R/-s OFF, -r SEED:COUNT:MAX). Sets
# PROXY_PORT from its first line; its later lines ("cut OFF", "stall
# OFF") are read with cutproxy_event. One proxy at a time: it talks on
# fd 3.
cutproxy_start()
{
	[ -x "$TOOL_DIR/cutproxy" ] || die "$TOOL_DIR/cutproxy not built"
	rm -f "$WS/cutproxy.fifo"
	mkfifo "$WS/cutproxy.fifo"
	_port=$1
	shift
	"$TOOL_DIR/cutproxy" "$@" "$_port" >"$WS/cutproxy.fifo" &
	PROXY_PID=$!
	ws_pid "$PROXY_PID"
	exec 3<"$WS/cutproxy.fifo"
	read -r PROXY_PORT <&3 || die "cutproxy did not start"
}

# cutproxy_event: waits for the proxy's next event line and prints it.
cutproxy_event()
{
	read -r _ev <&3 || die "cutproxy ended without an event"
	echo "$_ev"
}

cutproxy_stop()
{
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null || true
	exec 3<&-
}

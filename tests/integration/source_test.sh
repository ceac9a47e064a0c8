#!/bin/sh
# source_test: the byte source (source/) against nginx on 127.0.0.1, run
# through build/tests/fetch: HTTP and HTTPS byte for byte, cuts, resets
# and stalls through tests/tools/cutproxy, every way a server can be
# wrong, skips on a file, a pipe and HTTP, and a cancel while stalled.
# fetch exits with the errno of the error, so each case checks that too.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need nginx openssl mkfifo
FETCH=$TOOL_DIR/fetch
[ -x "$FETCH" ] || die "$FETCH not built (make $FETCH)"
# Only the proxy a case sets on purpose.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
    no_proxy NO_PROXY
ws_init

MIB=1048576
SIZE=$((6 * MIB + 12345))
mkdir "$WS/www"
gen_bytes "$SIZE" source >"$WS/www/b.upk"
for n in cut tls reset stall chg lmchg lenchg norange gone cancel skip first \
    big short; do
	cp "$WS/www/b.upk" "$WS/www/$n.upk"
done
nginx_start "$WS/www"
H=http://127.0.0.1:$NGINX_HTTP
S=https://127.0.0.1:$NGINX_HTTPS
CA=$TLS_DIR/ca.pem

# fetch NAME ARG...: runs fetch; its output in $WS/NAME, stderr in
# $WS/NAME.err, exit code in $RC.
fetch()
{
	_name=$1
	shift
	set +e
	"$FETCH" "$@" "$WS/$_name" >"$WS/$_name.out" 2>"$WS/$_name.err"
	RC=$?
	set -e
}

# swapped NAME PATH: fetches PATH through a proxy that stalls at byte
# 3000000 and, once it has, renames $WS/www/NAME.new onto NAME.upk, well
# within the 2 s stall timeout; exit code in $RC.
swapped()
{
	cutproxy_start "$NGINX_HTTP" -s 3000000
	"$FETCH" --stall 2 --backoff 5 "http://127.0.0.1:$PROXY_PORT/$2" \
	    "$WS/$1" >"$WS/$1.out" 2>"$WS/$1.err" &
	_pid=$!
	ws_pid "$_pid"
	cutproxy_event >/dev/null
	mv "$WS/www/$1.new" "$WS/www/$1.upk"
	set +e
	wait "$_pid"
	RC=$?
	set -e
	cutproxy_stop
}

# fails NAME ERRNO REGEX: fetch NAME failed with ERRNO and one message
# (besides the cut, retry and resume events) that matches REGEX, and
# wrote only a prefix of the bundle.
fails()
{
	expect_rc "$1" "$2"
	expect_msg "$1" "$3"
	_n=$(grep -Evc '^fetch: (cut|retry|resume) at ' "$WS/$1.err") || true
	[ "$_n" -eq 1 ] || die "$1: $_n messages, not one"
	prefix_equal "$WS/$1" "$WS/www/b.upk"
}

# HTTP and HTTPS with the test CA, and with the server's key pinned.
fetch http "$H/b.upk"
expect_rc http 0
files_equal "$WS/http" "$WS/www/b.upk"
fetch https --ca "$CA" "$S/b.upk"
expect_rc https 0
files_equal "$WS/https" "$WS/www/b.upk"
fetch pinned --ca "$CA" --pin "$(tls_pin "$TLS_DIR/server.pem")" "$S/b.upk"
expect_rc pinned 0
files_equal "$WS/pinned" "$WS/www/b.upk"
# Mutual TLS: with the client certificate it works, without it nginx
# says why.
fetch mtls --ca "$CA" --cert "$TLS_DIR/client.pem" \
    --key "$TLS_DIR/client.key" "https://127.0.0.1:$NGINX_MTLS/b.upk"
expect_rc mtls 0
files_equal "$WS/mtls" "$WS/www/b.upk"
fetch nocert --ca "$CA" "https://127.0.0.1:$NGINX_MTLS/b.upk"
fails nocert 5 "^fetch: GET https://127.0.0.1:$NGINX_MTLS/b.upk: 400 Bad \
Request \(No required SSL certificate was sent\)$"

# 20 cuts at seeded offsets, some of them resets: the copy completes,
# and nginx sent at most the file plus 1 MiB per cut.
cutproxy_start "$NGINX_HTTP" -r "9:17:$SIZE" -R 1500000 -R 3000000 \
    -R 4500000
fetch cut --backoff 5 --backoff-max 50 "http://127.0.0.1:$PROXY_PORT/cut.upk"
expect_rc cut 0
files_equal "$WS/cut" "$WS/www/b.upk"
[ "$(grep -c '^fetch: cut at' "$WS/cut.err")" -eq 20 ] ||
    die "cut: not 20 cuts: $(grep -c '^fetch: cut at' "$WS/cut.err")"
[ "$(grep -c '^fetch: resume at' "$WS/cut.err")" -eq 20 ] ||
    die "cut: not 20 resumes"
sent=$(nginx_bytes /cut.upk)
[ "$sent" -le $((SIZE + 20 * MIB)) ] ||
    die "cut: nginx sent $sent bytes for $SIZE and 20 cuts"
echo "20 cuts: nginx sent $sent bytes for $SIZE"
cutproxy_stop

# A cut inside an answer's headers (the resumed 206's, which start at
# byte 1000000 of what the proxy sent: its status line, before its ETag,
# after it) is a cut like any other, never "changed on the server": an
# answer is judged only once its headers have ended.
for k in 3 40 90 130 170 200 230; do
	cutproxy_start "$NGINX_HTTP" -c 1000000 -c $((1000000 + k))
	fetch hdrcut --backoff 5 "http://127.0.0.1:$PROXY_PORT/cut.upk"
	cutproxy_stop
	expect_rc hdrcut 0
	files_equal "$WS/hdrcut" "$WS/www/b.upk"
done

# Cuts in the TLS stream.
cutproxy_start "$NGINX_HTTPS" -r "3:5:$SIZE"
fetch tlscut --ca "$CA" --backoff 5 "https://127.0.0.1:$PROXY_PORT/tls.upk"
expect_rc tlscut 0
files_equal "$WS/tlscut" "$WS/www/b.upk"
[ "$(grep -c '^fetch: resume at' "$WS/tlscut.err")" -eq 5 ] ||
    die "tlscut: not 5 resumes"
cutproxy_stop

# A stall is found within the stall timeout (2 s) and resumed.
cutproxy_start "$NGINX_HTTP" -s 2000000
t0=$(date +%s%N)
fetch stall --stall 2 --backoff 5 "http://127.0.0.1:$PROXY_PORT/stall.upk"
t1=$(date +%s%N)
expect_rc stall 0
files_equal "$WS/stall" "$WS/www/b.upk"
grep -q '^fetch: cut at [0-9]*: stalled 2 s at byte' "$WS/stall.err" ||
    die "stall: no stall reported: $(cat "$WS/stall.err")"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 4500 ] || die "stall: took $ms ms with a 2 s stall timeout"
echo "a 2 s stall: $ms ms in all"
cutproxy_stop

# Stalls in a row with no byte between them: give up after the retries.
cutproxy_start "$NGINX_HTTP" -s 1000000 -s 1000100 -s 1000200
fetch stalls --stall 1 --retries 2 --backoff 5 \
    "http://127.0.0.1:$PROXY_PORT/stall.upk"
fails stalls 110 "stalled 1 s at byte [0-9]+, gave up after 3 tries$"
cutproxy_stop

# A resumed answer that ends, whole, before the end of the file (a 206
# for fewer bytes than asked): not the end, but a cut; the source asks
# again from where it ended.
cutproxy_start "$NGINX_HTTP" -c 2000000
fetch short --backoff 5 "http://127.0.0.1:$PROXY_PORT/short/short.upk"
expect_rc short 0
files_equal "$WS/short" "$WS/www/b.upk"
grep -q '^fetch: cut at 4000000: answer ended early at byte 4000000$' \
    "$WS/short.err" || die "short: no early end: $(cat "$WS/short.err")"
cutproxy_stop

# A server that ignores Range: an error, and no byte of its answer.
cutproxy_start "$NGINX_HTTP" -c 1000000
fetch norange --backoff 5 "http://127.0.0.1:$PROXY_PORT/norange/norange.upk"
fails norange 71 "/norange/norange.upk: server ignored Range \(200 for \
bytes=[0-9]+-\)$"
cutproxy_stop

# A Content-Range for other bytes than those asked for.
fetch badrange --skip 3 "$H/badrange/b.upk"
fails badrange 71 "/badrange/b.upk: Content-Range bytes 5-9/10 does not \
start at 3$"

# The bundle replaced on the server while the transfer stalls: the
# resumed answer has another ETag; an error, and no byte of it.
gen_bytes "$SIZE" other >"$WS/www/chg.new"
touch -d @1000000000 "$WS/www/chg.new"
swapped chg chg.upk
fails chg 116 "chg.upk: bundle changed on the server \(ETag \"[0-9a-f-]+\" \
is now \"[0-9a-f-]+\"\)$"
# Without an ETag, the Last-Modified tells: the same length, another
# date.
gen_bytes "$SIZE" other >"$WS/www/lmchg.new"
touch -d @1000000000 "$WS/www/lmchg.new"
swapped lmchg noetag/lmchg.upk
fails lmchg 116 "lmchg.upk: bundle changed on the server \(Last-Modified \
[^()]+ GMT is now [^()]+ GMT\)$"
# And with neither telling (the same date, no ETag), the length does.
gen_bytes $((SIZE + 1000)) other >"$WS/www/lenchg.new"
touch -r "$WS/www/lenchg.upk" "$WS/www/lenchg.new"
swapped lenchg noetag/lenchg.upk
fails lenchg 116 "lenchg.upk: bundle changed on the server \(length $SIZE \
is now $((SIZE + 1000))\)$"

# An ETag too long to keep could not be compared: refused, not ignored.
fetch longetag "$H/longetag/b.upk"
fails longetag 71 "/longetag/b.upk: a Content-Range, ETag or Last-Modified \
header is too long$"

# 503 and 429 are retried, and given up on with the status.
fetch busy --retries 2 --backoff 5 "$H/busy/b.upk"
fails busy 5 "^fetch: GET $H/busy/b.upk: 503 Service Temporarily \
Unavailable at byte 0, gave up after 3 tries$"
fetch toomany --retries 2 --backoff 5 "$H/toomany/b.upk"
fails toomany 5 "^fetch: GET $H/toomany/b.upk: 429 Too Many Requests at \
byte 0, gave up after 3 tries$"

# A trickle under 64 bytes a second is a stall, though no gap between
# its bytes reaches the stall timeout: nginx sends the first 500 bytes
# of each answer at once, then 20 a second, so the resumed answer is
# whole at once.
gen_bytes 700 small >"$WS/www/small.upk"
fetch trickle --stall 2 --backoff 5 "$H/trickle/small.upk"
expect_rc trickle 0
files_equal "$WS/trickle" "$WS/www/small.upk"
grep -q '^fetch: cut at [0-9]*: below 64 bytes/s for 2 s at byte' \
    "$WS/trickle.err" || die "trickle: no stall: $(cat "$WS/trickle.err")"

# 404, a wrong CA, a wrong pin.
fetch gone "$H/nothing.upk"
fails gone 2 "^fetch: GET $H/nothing.upk: 404 Not Found$"
# An answer without a body is checked too: not an empty file.
fetch nobody "$H/nobody/b.upk"
fails nobody 5 "^fetch: GET $H/nobody/b.upk: 204 No Content$"
fetch wrongca --ca "$TLS_DIR/other-ca.pem" "$S/b.upk"
fails wrongca 13 "^fetch: GET $S/b.upk: SSL certificate problem"
fetch wrongpin --ca "$CA" \
    --pin "sha256//$(printf 'not the key' | openssl dgst -sha256 -binary |
    base64)" "$S/b.upk"
fails wrongpin 13 "^fetch: GET $S/b.upk: .*public key does not match"

# The CA given is the only one trusted, not also the system's folder of
# them: in a private mount namespace that folder holds the test CA (a
# fetch without --ca shows it does), and --ca with another CA fails.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	mkdir "$WS/certs"
	cp "$CA" "$WS/certs/$(openssl x509 -hash -noout -in "$CA").0"
	cp "$CA" "$WS/certs/ca-certificates.crt"
	set +e
	unshare -m sh -c 'mount --bind "$1" /etc/ssl/certs || exit 99
	    "$2" "$4" "$5.sys" 2>"$5.sys.err" || exit 98
	    exec "$2" --ca "$3" "$4" "$5"' sh "$WS/certs" "$FETCH" \
	    "$TLS_DIR/other-ca.pem" "$S/b.upk" "$WS/onlyca" \
	    >"$WS/onlyca.out" 2>"$WS/onlyca.err"
	RC=$?
	set -e
	[ "$RC" -ne 98 ] || die "onlyca: the test CA in /etc/ssl/certs is \
not trusted: $(cat "$WS/onlyca.sys.err")"
	if [ "$RC" -ne 99 ]; then
		fails onlyca 13 "^fetch: GET $S/b.upk: SSL certificate problem"
		files_equal "$WS/onlyca.sys" "$WS/www/b.upk"
	fi
fi

# Skips: a file seeks, a pipe discards, HTTP reads a small gap through
# and asks again for a large one (nginx sees the Range).
tail -c +$((2 * MIB + 1)) "$WS/www/b.upk" >"$WS/tail.expect"
fetch skipfile --skip $((2 * MIB)) "$WS/www/b.upk"
expect_rc skipfile 0
files_equal "$WS/skipfile" "$WS/tail.expect"
set +e
cat "$WS/www/b.upk" | "$FETCH" --skip $((2 * MIB)) - "$WS/skippipe" \
    >"$WS/skippipe.out" 2>"$WS/skippipe.err"
RC=$?
set -e
expect_rc skippipe 0
files_equal "$WS/skippipe" "$WS/tail.expect"
fetch skipfirst --skip $((2 * MIB)) "$H/first.upk"
expect_rc skipfirst 0
files_equal "$WS/skipfirst" "$WS/tail.expect"
grep -q "^/first.upk 206 .* \"bytes=$((2 * MIB))-\"$" "$NGINX_LOG" ||
    die "skipfirst: no Range request for bytes=$((2 * MIB))-"
{ head -c 1000 "$WS/www/b.upk"; tail -c +500001 "$WS/www/b.upk"; } \
    >"$WS/small.expect"
fetch skipsmall --buf 1000 --at 1000:500000 "$H/skip.upk"
expect_rc skipsmall 0
files_equal "$WS/skipsmall" "$WS/small.expect"
[ "$(grep -c '^/skip.upk ' "$NGINX_LOG")" -eq 1 ] ||
    die "skipsmall: a small gap made a new request"
{ head -c 1000 "$WS/www/b.upk"; tail -c +$((4 * MIB + 1)) \
    "$WS/www/b.upk"; } >"$WS/big.expect"
fetch skipbig --buf 1000 --at 1000:$((4 * MIB)) "$H/big.upk"
expect_rc skipbig 0
files_equal "$WS/skipbig" "$WS/big.expect"
grep -q "^/big.upk 206 .* \"bytes=$((4 * MIB))-\"$" "$NGINX_LOG" ||
    die "skipbig: no Range request for bytes=$((4 * MIB))-"

# A proxy from http_proxy, as libcurl users expect (nginx serves the
# path of an absolute request URI).
cutproxy_start "$NGINX_HTTP"
set +e
http_proxy=http://127.0.0.1:$PROXY_PORT "$FETCH" http://upkit.invalid/b.upk \
    "$WS/proxied" >"$WS/proxied.out" 2>"$WS/proxied.err"
RC=$?
set -e
expect_rc proxied 0
files_equal "$WS/proxied" "$WS/www/b.upk"
cutproxy_stop

# cancelfd ends a read that waits on a stalled transfer, long before the
# 60 s stall timeout.
cutproxy_start "$NGINX_HTTP" -s 1500000
"$FETCH" --stall 60 "http://127.0.0.1:$PROXY_PORT/cancel.upk" \
    "$WS/cancel" >"$WS/cancel.out" 2>"$WS/cancel.err" &
fpid=$!
ws_pid "$fpid"
cutproxy_event >/dev/null
t0=$(date +%s%N)
kill -USR1 "$fpid"
set +e
wait "$fpid"
RC=$?
set -e
t1=$(date +%s%N)
fails cancel 125 "cancel.upk: cancelled at byte [0-9]+$"
[ $(((t1 - t0) / 1000000)) -lt 2000 ] || die "cancel: took too long"
cutproxy_stop

# Without libcurl (hidden in a private mount namespace): upkit still
# starts, files still read, and a URL says what is missing.
lib=$(ldconfig -p | awk '/libcurl\.so\.4 \(/ \
    { print $NF; exit }')
if [ "$(id -u)" -eq 0 ] && [ -n "$lib" ] && command -v unshare >/dev/null
then
	set +e
	unshare -m sh -c 'mount --bind /dev/null "$1" || exit 99
	    if [ -x "$2" ]; then "$2" status --help >/dev/null || exit 98; fi
	    "$3" "$4" "$5.file" || exit 97
	    exec "$3" "$6" "$5"' sh "$lib" "$UPKIT" "$FETCH" \
	    "$WS/www/b.upk" "$WS/nocurl" "$H/b.upk" \
	    >"$WS/nocurl.out" 2>"$WS/nocurl.err"
	RC=$?
	set -e
	if [ "$RC" -ne 99 ]; then
		fails nocurl 65 "^fetch: $H/b.upk: libcurl.so.4 not found \
\(apt install libcurl4\)$"
		files_equal "$WS/nocurl.file" "$WS/www/b.upk"
	fi
fi
exit 0

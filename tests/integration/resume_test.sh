#!/bin/sh
# Resume after a power loss. upkit is killed with SIGKILL (the preload
# shim kills it at a given save of state.json: after a checkpoint's
# rename, or between writing state.json.tmp and its rename), then run
# again with the same bundle: it says it resumes at the checkpoint's
# chunk, does not read the chunks below it from the source, reads them
# back from the slot all the same, and ends with the slot byte for byte
# and armed. From a file (the kept chunks of the bundle are spoiled
# before the rerun: a read of them would fail), from a pipe, and over
# HTTP (nginx's log shows the Range request and the bytes sent). A
# different bundle starts over; a slot changed between the runs is
# caught by the read-back (exit 7, not armed) and the next run starts
# over; a journal for the other target is ignored, and so is one for
# other storage (the slot's image file made anew) or one that does not
# fit the bundle's chunk count. As root, the same on a loop device.
#
# Deterministic: the kill points are counted saves, the journal interval
# is 1 MiB by size and an hour by time.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage nginx
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
    no_proxy NO_PROXY
SHIM=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
[ -f "$SHIM" ] || die "$SHIM not built (make check builds it)"
ws_init

CHUNK=65536
MIB=1048576
mk_keys "$WS/keys"
gen_bytes $((6 * MIB)) rootfs >"$WS/rootfs.img"
gen_bytes $((6 * MIB)) other >"$WS/other.img"
mkdir "$WS/bootfiles"
gen_bytes 200000 kernel >"$WS/bootfiles/kernel"
echo "console=ttyS0 upkit.slot=B" >"$WS/bootfiles/cmdline"
mkdir "$WS/www"
# The files payload first: its chunks are below every checkpoint, and
# are written again on every resume.
mk_bundle "$WS/keys" "$WS/www/b.upk" 1.0.0 --level 1 --chunk-size $CHUNK \
    --files boot="$WS/bootfiles" --image rootfs="$WS/rootfs.img"
mk_bundle "$WS/keys" "$WS/other.upk" 1.0.1 --level 1 --chunk-size $CHUNK \
    --files boot="$WS/bootfiles" --image rootfs="$WS/other.img"
B=$WS/www/b.upk
bundle_regions "$B"
BOOTLEN=$(($(filesize "$WS/bootfiles/kernel") + \
    $(filesize "$WS/bootfiles/cmdline")))
NCHUNKS=$(((BOOTLEN + CHUNK - 1) / CHUNK + 6 * MIB / CHUNK))

# device NAME: a fresh device, journal every MiB (never by time).
device()
{
	SLOT_SIZE=8M mk_device "$WS/$1" "$WS/keys/root.pem"
	sed -i 's/^\[system\]$/[system]\njournal-interval-mb = 1\njournal-interval-s = 3600/' \
	    "$CFG"
}

# killed NAME AT [before] [ARG...]: update from $B, killed at the AT-th
# rename onto state.json (1 is mark bad's save), after it or before it.
killed()
{
	_n=$1 _at=$2 _when=${3:-after}
	set +e
	ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
	LD_PRELOAD=$SHIM KILLRENAME_PATH=$DATA/state.json KILLRENAME_AT=$_at \
	KILLRENAME_WHEN=$_when \
	    "$UPKIT" update -c "$CFG" --from "$B" --no-reboot \
	    --progress=lines >"$WS/$_n.out" 2>"$WS/$_n.err"
	RC=$?
	set -e
	expect_rc "$_n" 137
	[ "$(env_get BOOT_ORDER)" = A ] || die "$_n: B armed after a kill"
}

# journal FIELD: a number of state.json's journal.
journal()
{
	sed -n "/\"journal\"/,/}/s/.*\"$1\":[[:space:]]*\([0-9]*\).*/\1/p" \
	    "$DATA/state.json"
}

# resumed NAME F: the run NAME said it resumes slot B at chunk F.
resumed()
{
	grep -q "resuming slot B at chunk $2 of $NCHUNKS (" "$WS/$1.err" ||
	    die "$1: no 'resuming at chunk $2': $(cat "$WS/$1.err")"
}

# installed NAME: the run NAME installed $WS/rootfs.img and the boot
# files into slot B and armed it, and dropped the journal.
installed()
{
	expect_rc "$1" 0
	prefix_equal "$WS/rootfs.img" "$ROOT_B"
	files_equal "$WS/bootfiles/kernel" "$BOOT_B/kernel"
	[ "$(env_get BOOT_ORDER)" = "B A" ] || die "$1: B not armed"
	grep -q '"journal"' "$DATA/state.json" &&
	    die "$1: journal left: $(cat "$DATA/state.json")"
	return 0
}

# 1. Killed after the second checkpoint's rename; from a file whose
# kept chunks are spoiled: the rerun must not read them.
device file
killed file-kill 3
F=$(journal chunks)
[ -n "$F" ] && [ "$F" -gt 2 ] && [ "$F" -lt "$NCHUNKS" ] ||
    die "file: journal chunks '$F': $(cat "$DATA/state.json")"
[ "$(journal total_chunks)" = "$NCHUNKS" ] || die "file: total_chunks"
run file-status status -c "$CFG"
grep -q "result interrupted" "$WS/file-status.out" &&
    grep -q "chunk $F of $NCHUNKS durable" "$WS/file-status.out" ||
    die "file: status: $(cat "$WS/file-status.out")"
run file-status-json status -c "$CFG" --json
tr -d ' \t\n' <"$WS/file-status-json.out" |
    grep -q "\"chunks\":$F,\"total_chunks\":$NCHUNKS" ||
    die "file: status --json: $(cat "$WS/file-status-json.out")"
cp "$B" "$WS/spoiled.upk"
# A byte of a kept rootfs chunk (past the boot chunks) spoiled.
flip_byte "$WS/spoiled.upk" $((PAY_OFF + BOOTLEN + CHUNK + CHUNK / 2))
run file-again update -c "$CFG" --from "$WS/spoiled.upk" --no-reboot \
    --progress=lines
resumed file-again "$F"
installed file-again

# 2. Killed during the third checkpoint: state.json.tmp written, not
# renamed. The rerun resumes from the second.
device tmp
killed tmp-kill 4 before
F=$(journal chunks)
[ -n "$F" ] && [ "$F" -gt 2 ] || die "tmp: journal chunks '$F'"
run tmp-again update -c "$CFG" --from "$B" --no-reboot --progress=lines
resumed tmp-again "$F"
installed tmp-again

# 3. Killed again while resumed: the checkpoints go on from the first
# run's, never back. Then from a pipe: the kept chunks are read and
# discarded.
device pipe
killed pipe-kill 2
F0=$(journal chunks)
killed pipe-kill2 2
resumed pipe-kill2 "$F0"
F=$(journal chunks)
[ "$F" -gt "$F0" ] || die "pipe: checkpoint $F after $F0"
run_pipe pipe-again "$B" update -c "$CFG" --from - --no-reboot \
    --progress=lines
resumed pipe-again "$F"
installed pipe-again

# 4. Over HTTP: one Range request from the resume point, and no more
# bytes sent than what remained plus one interval and the head.
nginx_start "$WS/www"
device http
killed http-kill 3
F=$(journal chunks)
run http-again update -c "$CFG" \
    --from "http://127.0.0.1:$NGINX_HTTP/b.upk" --no-reboot \
    --progress=lines
resumed http-again "$F"
installed http-again
grep -q '^/b.upk 206 .*"bytes=' "$NGINX_LOG" ||
    die "http: no Range request: $(cat "$NGINX_LOG")"
sent=$(nginx_bytes /b.upk)
left=$(($(filesize "$B") - PAY_OFF - F * CHUNK))
[ "$sent" -le $((left + PAY_OFF + MIB)) ] ||
    die "http: $sent bytes sent, $left left after chunk $F"

# 5. A different bundle starts over.
device other
killed other-kill 3
run other-again update -c "$CFG" --from "$WS/other.upk" --no-reboot \
    --progress=lines
grep -q "resuming" "$WS/other-again.err" &&
    die "other: resumed a different bundle"
expect_rc other-again 0
prefix_equal "$WS/other.img" "$ROOT_B"

# 6. A slot changed below the checkpoint: the read-back catches it (exit
# 7, B not armed), the journal goes, and the next run starts over.
device changed
killed changed-kill 3
F=$(journal chunks)
flip_byte "$ROOT_B" $((CHUNK + 5))
run changed-again update -c "$CFG" --from "$B" --no-reboot \
    --progress=lines
expect_rc changed-again 7
resumed changed-again "$F"
[ "$(env_get BOOT_ORDER)" = A ] || die "changed: B armed"
[ "$(journal chunks)" = 0 ] || die "changed: journal kept a checkpoint"
run changed-third update -c "$CFG" --from "$B" --no-reboot \
    --progress=lines
grep -q "resuming" "$WS/changed-third.err" &&
    die "changed: resumed after a failed read-back"
installed changed-third

# 7. A journal for the other target (A) is ignored.
device target
killed target-kill 3
sed -i 's/"target":[[:space:]]*"B"/"target": "A"/g' "$DATA/state.json"
run target-again update -c "$CFG" --from "$B" --no-reboot \
    --progress=lines
grep -q "resuming" "$WS/target-again.err" &&
    die "target: resumed a journal for A"
installed target-again

# 8. The slot's image file made anew, with the same bytes: another
# inode, other storage, so the journal is ignored (the read-back would
# not catch this: the bytes are right).
device storage
killed storage-kill 3
cp "$ROOT_B" "$ROOT_B.new"
mv "$ROOT_B.new" "$ROOT_B"
run storage-again update -c "$CFG" --from "$B" --no-reboot \
    --progress=lines
grep -q "resuming" "$WS/storage-again.err" &&
    die "storage: resumed on other storage"
installed storage-again

# 9. A journal whose chunk count is not the bundle's, or whose
# checkpoint is past its end, is ignored.
for bad in total_chunks chunks; do
	device "$bad"
	killed "$bad-kill" 3
	sed -i "s/\"$bad\":[[:space:]]*[0-9]*/\"$bad\": $((NCHUNKS + 1))/" \
	    "$DATA/state.json"
	[ "$(journal "$bad")" = $((NCHUNKS + 1)) ] ||
	    die "$bad: not set: $(cat "$DATA/state.json")"
	run "$bad-again" update -c "$CFG" --from "$B" --no-reboot \
	    --progress=lines
	grep -q "resuming" "$WS/$bad-again.err" &&
	    die "$bad: resumed a journal with $bad $((NCHUNKS + 1))"
	installed "$bad-again"
done

# 10. As root: a raw slot on a loop device, named by its device number.
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null; then
	device loop
	loop_a=$(loop_attach "$ROOT_A")
	loop_b=$(loop_attach "$ROOT_B")
	sed -i -e "s|^device = $ROOT_A\$|device = $loop_a|" \
	    -e "s|^device = $ROOT_B\$|device = $loop_b|" "$CFG"
	killed loop-kill 3
	F=$(journal chunks)
	grep -q "\"storage\":[[:space:]]*\"rootfs=blk:" "$DATA/state.json" ||
	    die "loop: journal storage: $(cat "$DATA/state.json")"
	run loop-again update -c "$CFG" --from "$B" --no-reboot \
	    --progress=lines
	resumed loop-again "$F"
	installed loop-again
	prefix_equal "$WS/rootfs.img" "$loop_b"
fi
exit 0

#!/bin/sh
# A byte flipped inside chunk K of a rootfs payload: the signature still
# holds, so upkit starts writing, but chunk K fails its signed SHA-256
# before it is decompressed. Slot B from chunk K's offset on keeps its old
# bytes, B is marked bad (not armed) in the env, and A is untouched. The
# same bundle untampered then installs: 1024 chunks, a third of them zeros,
# through all the pipeline's threads (make TSAN=1 check races them).
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage
ws_init

CHUNK=4096
NCHUNKS=1024
K=5
mk_keys "$WS/keys"
SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"
# Incompressible, so every chunk is a frame of its own clear size; every
# third chunk is zeros, which are zeroed in place rather than written.
gen_bytes $((CHUNK * NCHUNKS)) rootfs >"$WS/rootfs.img"
for i in $(seq 1 3 $((NCHUNKS - 1))); do
	dd if=/dev/zero of="$WS/rootfs.img" bs=$CHUNK seek="$i" count=1 \
	    conv=notrunc status=none
done
fill_bytes "$(filesize "$ROOT_B")" 252 >"$WS/pattern"
cp "$WS/pattern" "$ROOT_B"
sum_a=$(sha256sum <"$ROOT_A")
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --chunk-size $CHUNK \
    --image rootfs="$WS/rootfs.img"
bundle_regions "$WS/b.upk"
cp "$WS/b.upk" "$WS/good.upk"

# Each chunk is one zstd frame: find them by the frame magic, and trust
# the result only if it gives exactly one frame per chunk, the first at
# the start of the payload area.
grep -obUaP '\x28\xb5\x2f\xfd' "$WS/b.upk" | cut -d: -f1 |
    awk -v p="$PAY_OFF" '$1 >= p' >"$WS/frames"
[ "$(wc -l <"$WS/frames")" -eq $NCHUNKS ] ||
    die "b.upk: $(wc -l <"$WS/frames") zstd frames, expected $NCHUNKS"
[ "$(head -n 1 "$WS/frames")" -eq "$PAY_OFF" ] ||
    die "b.upk: first frame not at the payload area ($PAY_OFF)"
start=$(sed -n "$((K + 1))p" "$WS/frames")
end=$(sed -n "$((K + 2))p" "$WS/frames")
flip_byte "$WS/b.upk" $(((start + end) / 2))

run update update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc update 5
expect_msg update "chunk[^0-9]*$K([^0-9]|$)"
cmp -i $((K * CHUNK)) "$ROOT_B" "$WS/pattern" >&2 ||
    die "$ROOT_B written from chunk $K on"
[ "$(sha256sum <"$ROOT_A")" = "$sum_a" ] || die "booted slot $ROOT_A written"
[ "$(env_get BOOT_ORDER)" = A ] ||
    die "BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'A'"
[ "$(env_get BOOT_B_LEFT)" = 0 ] ||
    die "BOOT_B_LEFT is '$(env_get BOOT_B_LEFT)', expected 0"
[ "$(env_get BOOT_A_LEFT)" = 3 ] ||
    die "BOOT_A_LEFT is '$(env_get BOOT_A_LEFT)', expected 3"

run good update -c "$CFG" --from "$WS/good.upk" --no-reboot
expect_rc good 0
prefix_equal "$WS/rootfs.img" "$ROOT_B"
[ "$(env_get BOOT_ORDER)" = "B A" ] ||
    die "BOOT_ORDER is '$(env_get BOOT_ORDER)', expected 'B A'"
exit 0

#!/bin/sh
# Host side of the channel file (docs/channel.md): channel create from two
# bundles for two compatibles, channel info shows what each release took
# from its bundle, channel verify passes; and each refusal gives its exit
# code and one error line naming the file: a changed body byte, a signer
# outside the keyring, a revoked signer, an expired channel, a bundle given
# as a channel; channel create refuses a bundle that does not verify, is
# for another compatible, or is signed by someone else.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl
ws_init

# one_error NAME FILE: the run NAME printed exactly one line on stderr,
# and it names FILE.
one_error()
{
	[ "$(grep -c . "$WS/$1.err")" -eq 1 ] || {
		cat "$WS/$1.err" >&2
		die "$1: more than one line on stderr"
	}
	grep -qF -- "$2" "$WS/$1.err" || die "$1: message does not name $2"
}

# info_has NAME TEXT: the run NAME printed a line with TEXT exactly.
info_has()
{
	grep -qxF -- "$2" "$WS/$1.out" || {
		cat "$WS/$1.out" >&2
		die "$1: no line '$2'"
	}
}

mk_keys "$WS/keys"
mk_keys "$WS/other" "someone else"
gen_bytes 65536 a >"$WS/a.img"
gen_bytes 70000 b >"$WS/b.img"
COMPATIBLE=board-a
mk_bundle "$WS/keys" "$WS/a.upk" 1.2.0 --chunk-size 4096 \
    --image rootfs="$WS/a.img"
mk_bundle "$WS/other" "$WS/foreign.upk" 1.2.0 --chunk-size 4096 \
    --image rootfs="$WS/a.img"
COMPATIBLE=board-b
mk_bundle "$WS/keys" "$WS/b.upk" 2.0.0 --chunk-size 4096 \
    --image rootfs="$WS/b.img"

SIGN="--key $WS/keys/signer.key --cert $WS/keys/signer.pem"
SIGN="$SIGN --keyring $WS/keys/root.pem"
CH=$WS/stable.upc
# shellcheck disable=SC2086
run create channel create $SIGN --name stable --version 7 \
    --expires 2099-01-31T00:00:00Z \
    --release "board-a=$WS/a.upk,rollout=25.5,window=22:00-04:00" \
    --release "board-b=$WS/b.upk,url=https://cdn.example/x/b.upk" \
    --out "$CH"
expect_rc create 0
[ -s "$CH" ] || die "channel create wrote no $CH"

# What each release took from its bundle: version, size, bundle id.
run ainfo bundle info "$WS/a.upk"
expect_rc ainfo 0
AID=$(sed -n 's/^bundle id: *//p' "$WS/ainfo.out")
run binfo bundle info "$WS/b.upk"
BID=$(sed -n 's/^bundle id: *//p' "$WS/binfo.out")
[ ${#AID} -eq 64 ] && [ ${#BID} -eq 64 ] || die "no bundle ids"
run info channel info "$CH"
expect_rc info 0
info_has info "name:       stable"
info_has info "version:    7"
info_has info "expires:    2099-01-31T00:00:00Z"
info_has info "release board-a:"
info_has info "  version   1.2.0"
info_has info "  url       a.upk"
info_has info "  size      $(filesize "$WS/a.upk")"
info_has info "  bundle id $AID"
info_has info "  rollout   25.5%"
info_has info "  window    22:00-04:00 UTC"
info_has info "release board-b:"
info_has info "  version   2.0.0"
info_has info "  url       https://cdn.example/x/b.upk"
info_has info "  size      $(filesize "$WS/b.upk")"
info_has info "  bundle id $BID"
info_has info "  rollout   100%"
grep -q "signer: *CN=upkit test" "$WS/info.out" || die "info: no signer"
grep -q "board-a: version 1.2.0, rollout 25.5%, a.upk .*, window 22:00-04:00 UTC" \
    "$WS/create.out" || die "create: no summary of board-a"

run verify channel verify "$CH" --keyring "$WS/keys/root.pem"
expect_rc verify 0
grep -q "^OK: $CH signed by CN=upkit test" "$WS/verify.out" ||
    die "verify: no OK line"
# --expires-in: from now, so it verifies now.
# shellcheck disable=SC2086
run create2 channel create $SIGN --name beta --version 1 --expires-in 30d \
    --release "board-a=$WS/a.upk" --out "$WS/beta.upc"
expect_rc create2 0
run verify2 channel verify "$WS/beta.upc" --keyring "$WS/keys/root.pem"
expect_rc verify2 0

# A changed byte of the body: the signature does not match.
cp "$CH" "$WS/flip.upc"
flip_byte "$WS/flip.upc" 80
run flip channel verify "$WS/flip.upc" --keyring "$WS/keys/root.pem"
expect_rc flip 5
expect_msg flip "signature does not match"
one_error flip "$WS/flip.upc"

# A keyring without the signer's root.
run foreign channel verify "$CH" --keyring "$WS/other/root.pem"
expect_rc foreign 5
expect_msg foreign "signer CN=upkit test.*not correctly signed"
one_error foreign "$CH"

# The signer revoked by a CRL from the root.
CA=$WS/ca
mkdir -p "$CA"
: >"$CA/index.txt"
echo 01 >"$CA/crlnumber"
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\n%s\n%s\n%s\n' \
    'crlnumber = crlnumber' 'default_md = sha256' \
    'default_crl_days = 30' >"$CA/ca.cnf"
(cd "$CA" && openssl ca -config ca.cnf -keyfile "$WS/keys/root.key" \
    -cert "$WS/keys/root.pem" -gencrl -out "$WS/fresh.crl" 2>/dev/null) ||
    die "openssl ca -gencrl"
run unrevoked channel verify "$CH" --keyring "$WS/keys/root.pem" \
    --crl "$WS/fresh.crl"
expect_rc unrevoked 0
(cd "$CA" && openssl ca -config ca.cnf -keyfile "$WS/keys/root.key" \
    -cert "$WS/keys/root.pem" -revoke "$WS/keys/signer.pem" 2>/dev/null &&
    openssl ca -config ca.cnf -keyfile "$WS/keys/root.key" \
    -cert "$WS/keys/root.pem" -gencrl -out "$WS/revoked.crl" 2>/dev/null) ||
    die "openssl ca -revoke"
run revoked channel verify "$CH" --keyring "$WS/keys/root.pem" \
    --crl "$WS/revoked.crl"
expect_rc revoked 5
expect_msg revoked "revoked"
one_error revoked "$CH"

# Expired: signed and well formed, refused as policy (6), with the time.
run fresh channel verify "$CH" --keyring "$WS/keys/root.pem" \
    --now 2099-01-30T23:59:59Z
expect_rc fresh 0
run expired channel verify "$CH" --keyring "$WS/keys/root.pem" \
    --now 2099-01-31T00:00:00Z
expect_rc expired 6
expect_msg expired "channel stable version 7 expired at 2099-01-31T00:00:00Z"
one_error expired "$CH"

# A bundle is not a channel, nor a channel a bundle.
run isbundle channel verify "$WS/a.upk" --keyring "$WS/keys/root.pem"
expect_rc isbundle 5
expect_msg isbundle "bad magic \(this is a bundle, not a channel\)"
one_error isbundle "$WS/a.upk"
run isbundleinfo channel info "$WS/a.upk"
expect_rc isbundleinfo 5
run ischannel bundle verify "$CH" --keyring "$WS/keys/root.pem"
expect_rc ischannel 5
expect_msg ischannel "bad magic"

# A missing file is the input's fault (4).
run missing channel verify "$WS/none.upc" --keyring "$WS/keys/root.pem"
expect_rc missing 4
one_error missing "$WS/none.upc"

# channel create refuses a bundle whose signature does not verify, and
# writes nothing.
cp "$WS/a.upk" "$WS/bad.upk"
flip_byte "$WS/bad.upk" 80
# shellcheck disable=SC2086
run badsig channel create $SIGN --name stable --version 8 \
    --expires-in 1d --release "board-a=$WS/bad.upk" --out "$WS/bad.upc"
expect_rc badsig 5
expect_msg badsig "signature does not match"
one_error badsig "$WS/bad.upk"
[ ! -e "$WS/bad.upc" ] || die "channel create wrote $WS/bad.upc"
# A bundle from a signer outside --keyring.
# shellcheck disable=SC2086
run badsigner channel create $SIGN --name stable --version 8 \
    --expires-in 1d --release "board-a=$WS/foreign.upk" --out "$WS/bad.upc"
expect_rc badsigner 5
one_error badsigner "$WS/foreign.upk"
# A bundle cut short, or with bytes after it.
head -c $(($(filesize "$WS/a.upk") - 1)) "$WS/a.upk" >"$WS/cut.upk"
# shellcheck disable=SC2086
run cut channel create $SIGN --name stable --version 8 \
    --expires-in 1d --release "board-a=$WS/cut.upk" --out "$WS/bad.upc"
expect_rc cut 5
expect_msg cut "cut short"
one_error cut "$WS/cut.upk"
cat "$WS/a.upk" "$WS/a.img" >"$WS/long.upk"
# shellcheck disable=SC2086
run long channel create $SIGN --name stable --version 8 \
    --expires-in 1d --release "board-a=$WS/long.upk" --out "$WS/bad.upc"
expect_rc long 5
expect_msg long "bytes after the bundle"
one_error long "$WS/long.upk"
# A bundle for another compatible than the release names.
# shellcheck disable=SC2086
run compat channel create $SIGN --name stable --version 8 \
    --expires-in 1d --release "board-a=$WS/b.upk" --out "$WS/bad.upc"
expect_rc compat 2
expect_msg compat "is for compatible \"board-b\""
# An expiry already past, a bad rollout, a bad url.
# shellcheck disable=SC2086
run past channel create $SIGN --name stable --version 8 \
    --expires 2020-01-01T00:00:00Z --release "board-a=$WS/a.upk" \
    --out "$WS/bad.upc"
expect_rc past 2
expect_msg past "already past"
# --now moves "now": an expiry after it is made, one before it is not.
# shellcheck disable=SC2086
run made channel create $SIGN --name stable --version 8 \
    --now 2020-01-01T00:00:00Z --expires-in 1d \
    --release "board-a=$WS/a.upk" --out "$WS/old.upc"
expect_rc made 0
run oldv channel verify "$WS/old.upc" --keyring "$WS/keys/root.pem"
expect_rc oldv 6
expect_msg oldv "expired at 2020-01-02T00:00:00Z"
# shellcheck disable=SC2086
run nowpast channel create $SIGN --name stable --version 8 \
    --now 2030-01-01T00:00:00Z --expires 2029-01-01T00:00:00Z \
    --release "board-a=$WS/a.upk" --out "$WS/bad.upc"
expect_rc nowpast 2
expect_msg nowpast "already past \\(not after --now\\)"
# shellcheck disable=SC2086
run roll channel create $SIGN --name stable --version 8 --expires-in 1d \
    --release "board-a=$WS/a.upk,rollout=100.5" --out "$WS/bad.upc"
expect_rc roll 2
expect_msg roll "rollout=100.5"
# shellcheck disable=SC2086
run url channel create $SIGN --name stable --version 8 --expires-in 1d \
    --release "board-a=$WS/a.upk,url=ftp://h/a.upk" --out "$WS/bad.upc"
expect_rc url 2
expect_msg url "url: scheme is not http or https"
[ ! -e "$WS/bad.upc" ] || die "channel create wrote $WS/bad.upc"
# --out naming a bundle of a --release: refused, the bundle kept.
cp "$WS/a.upk" "$WS/keep.upk"
# shellcheck disable=SC2086
run over channel create $SIGN --name stable --version 8 --expires-in 1d \
    --release "board-a=$WS/a.upk" --out "$WS/a.upk"
expect_rc over 2
expect_msg over "is the bundle of --release"
files_equal "$WS/keep.upk" "$WS/a.upk"
exit 0

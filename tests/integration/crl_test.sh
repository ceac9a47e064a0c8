#!/bin/sh
# The CRL in [keyring] crl, on the device (update) and on the host (bundle
# verify --crl). A CRL past its nextUpdate still revokes the signers it
# lists, rejects no one else, and draws a warning that names the file and
# its nextUpdate: the update that ships a fresh CRL still installs. An
# empty CRL file (0 bytes, or only whitespace) is a configuration error
# (exit 3) that names the CRL, not revocation silently turned off.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl fw_printenv mkenvimage
ws_init

mk_keys "$WS/keys"
SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"
gen_bytes 65536 crl >"$WS/rootfs.img"
mk_bundle "$WS/keys" "$WS/b.upk" 1.0.0 --chunk-size 4096 \
    --image rootfs="$WS/rootfs.img"

# CRLs from the root with openssl ca: lastUpdate and nextUpdate in 2020.
CA=$WS/ca
mkdir -p "$CA"
: >"$CA/index.txt"
echo 01 >"$CA/crlnumber"
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\n%s\n%s\n' \
    'crlnumber = crlnumber' 'default_md = sha256' >"$CA/ca.cnf"
old_crl()
{
	(cd "$CA" && openssl ca -config ca.cnf -keyfile "$WS/keys/root.key" \
	    -cert "$WS/keys/root.pem" -crl_lastupdate 20200101000000Z \
	    -crl_nextupdate 20200201000000Z -gencrl -out "$1" 2>/dev/null) ||
	    die "openssl ca -gencrl $1"
}
old_crl "$WS/old.pem"
(cd "$CA" && openssl ca -config ca.cnf -keyfile "$WS/keys/root.key" \
    -cert "$WS/keys/root.pem" -revoke "$WS/keys/signer.pem" 2>/dev/null) ||
    die "openssl ca -revoke"
old_crl "$WS/old-revoked.pem"
: >"$WS/empty.pem"
printf '\n  \n' >"$WS/blank.pem"

crl()
{
	sed -i '/^crl = /d' "$CFG"
	sed -i "/^\[keyring\]/a crl = $1" "$CFG"
}

# An empty or blank CRL: exit 3 naming it, from both, nothing touched.
snapshot before
for f in empty blank; do
	crl "$WS/$f.pem"
	run "update-$f" update -c "$CFG" --from "$WS/b.upk" --no-reboot
	expect_rc "update-$f" 3
	expect_msg "update-$f" "CRL $WS/$f.pem: empty"
	run "verify-$f" bundle verify "$WS/b.upk" --keyring \
	    "$WS/keys/root.pem" --crl "$WS/$f.pem"
	expect_rc "verify-$f" 3
	expect_msg "verify-$f" "CRL $WS/$f.pem: empty"
done
same_as before "refused update (empty CRL)"

# Expired and listing the signer: still revoked, exit 5.
crl "$WS/old-revoked.pem"
run revoked update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc revoked 5
expect_msg revoked "revoked"
grep -q "warning: CRL $WS/old-revoked.pem is past its nextUpdate" \
    "$WS/revoked.err" || die "no warning naming $WS/old-revoked.pem"
same_as before "refused update (revoked signer)"
run verify-revoked bundle verify "$WS/b.upk" --keyring \
    "$WS/keys/root.pem" --crl "$WS/old-revoked.pem"
expect_rc verify-revoked 5

# Expired, not listing the signer: the update installs, with a warning
# naming the CRL and its nextUpdate.
crl "$WS/old.pem"
run verify-old bundle verify "$WS/b.upk" --keyring "$WS/keys/root.pem" \
    --crl "$WS/old.pem"
expect_rc verify-old 0
run old update -c "$CFG" --from "$WS/b.upk" --no-reboot
expect_rc old 0
grep -q "warning: CRL $WS/old.pem is past its nextUpdate (2020-02-01T00:00:00Z)" \
    "$WS/old.err" || die "no warning naming $WS/old.pem and its nextUpdate"
prefix_equal "$WS/rootfs.img" "$ROOT_B"
exit 0

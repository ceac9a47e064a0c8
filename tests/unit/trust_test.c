/*
 * trust_test: real keys and certificates made with mbedtls, real
 * signatures, and a CRL made by the openssl CLI when it is installed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/version.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "common/err.h"
#include "host/sign.h"
#include "tests/harness.h"
#include "verify/bundle.h"
#include "verify/digest.h"
#include "verify/trust.h"

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

static const unsigned char eku_code[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03
};
static const unsigned char eku_server[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01
};
/* SEQUENCE { anyExtendedKeyUsage (2.5.29.37.0) }, and with codeSigning. */
static const unsigned char eku_any[] = {
	0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x25, 0x00
};
static const unsigned char eku_any_code[] = {
	0x30, 0x10, 0x06, 0x04, 0x55, 0x1d, 0x25, 0x00,
	0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03
};
/* AlgorithmIdentifier ecdsa-with-SHA256 without and with a NULL. */
static const unsigned char alg_ecdsa[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
};
static const unsigned char alg_ecdsa_null[] = {
	0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
	0x05, 0x00
};

static void
parse_key(mbedtls_pk_context *pk, const char *pem)
{
	mbedtls_pk_init(pk);
#if MBEDTLS_VERSION_MAJOR >= 3
	CHECK(mbedtls_pk_parse_key(pk, (const unsigned char *)pem,
	    strlen(pem) + 1, NULL, 0, mbedtls_ctr_drbg_random, &drbg) == 0);
#else
	CHECK(mbedtls_pk_parse_key(pk, (const unsigned char *)pem,
	    strlen(pem) + 1, NULL, 0) == 0);
#endif
}

static void
gen_ec(mbedtls_pk_context *pk)
{
	mbedtls_pk_init(pk);
	CHECK(mbedtls_pk_setup(pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0);
	CHECK(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
	    mbedtls_ctr_drbg_random, &drbg) == 0);
}

static char *
key_pem(mbedtls_pk_context *pk)
{
	unsigned char buf[8192];
	char *s;

	CHECK(mbedtls_pk_write_key_pem(pk, buf, sizeof(buf)) == 0);
	CHECK((s = strdup((char *)buf)) != NULL);
	return s;
}

/* Issues a certificate; eku NULL leaves the extension out. */
static char *
mkcert(mbedtls_pk_context *subj, mbedtls_pk_context *iss, const char *sname,
    const char *iname, int ca, const unsigned char *eku, size_t ekulen,
    const char *from, const char *to)
{
	static int serial_no = 100;
	mbedtls_x509write_cert w;
	unsigned char buf[8192];
	char *s;
#if MBEDTLS_VERSION_NUMBER < 0x03040000	/* no set_serial_raw */
	mbedtls_mpi serial;

	mbedtls_mpi_init(&serial);
	CHECK(mbedtls_mpi_lset(&serial, serial_no++) == 0);
#endif
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, subj);
	mbedtls_x509write_crt_set_issuer_key(&w, iss);
	CHECK(mbedtls_x509write_crt_set_subject_name(&w, sname) == 0);
	CHECK(mbedtls_x509write_crt_set_issuer_name(&w, iname) == 0);
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
	{
		/* set_serial_raw writes the bytes as they are: DER wants
		 * no leading 0x00 before a byte below 0x80 (OpenSSL 3
		 * refuses such a certificate), so the first byte is 1. */
		unsigned char raw[2] = { 1, (unsigned char)serial_no++ };

		CHECK(mbedtls_x509write_crt_set_serial_raw(&w, raw, 2) == 0);
	}
#else
	CHECK(mbedtls_x509write_crt_set_serial(&w, &serial) == 0);
	mbedtls_mpi_free(&serial);
#endif
	CHECK(mbedtls_x509write_crt_set_validity(&w, from, to) == 0);
	CHECK(mbedtls_x509write_crt_set_basic_constraints(&w, ca, -1) == 0);
	CHECK(mbedtls_x509write_crt_set_key_usage(&w, ca ?
	    MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN :
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE) == 0);
	if (eku != NULL)
		CHECK(mbedtls_x509write_crt_set_extension(&w,
		    MBEDTLS_OID_EXTENDED_KEY_USAGE,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
		    eku, ekulen) == 0);
	CHECK(mbedtls_x509write_crt_pem(&w, buf, sizeof(buf),
	    mbedtls_ctr_drbg_random, &drbg) == 0);
	mbedtls_x509write_crt_free(&w);
	CHECK((s = strdup((char *)buf)) != NULL);
	return s;
}

/* Signs digest with key/cert/chain, then verifies against k. */
static int
sign_verify(const struct keyring *k, const char *key, const char *cert,
    const char *chain, const uint8_t digest[32], const uint8_t *check,
    struct err *e)
{
	struct sigblock s;
	uint8_t *blob;
	size_t len;
	int r;

	CHECK_OK(sign_bundle(key, strlen(key), cert, strlen(cert), chain,
	    chain != NULL ? strlen(chain) : 0, digest, &blob, &len, e), e);
	CHECK_OK(sigblock_parse(blob, len, &s, e), e);
	r = trust_verify(k, &s, check != NULL ? check : digest, e);
	free(blob);
	return r;
}

static char *
read_whole(const char *path, size_t *lenp)
{
	char *buf;
	FILE *f;
	long n;

	CHECK((f = fopen(path, "rb")) != NULL);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	CHECK((n = ftell(f)) > 0);
	rewind(f);
	CHECK((buf = malloc((size_t)n)) != NULL);
	CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*lenp = (size_t)n;
	return buf;
}

/* Makes the temp folder ready for `openssl ca` (ca.cnf, index.txt,
 * crlnumber); 0 when there is no openssl. */
static int
ca_dir(void)
{
	if (system("openssl version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "openssl not found: CRL test skipped\n");
		return 0;
	}
	tmpdir_make("trust_test");
	write_str(at("index.txt"), "");
	write_str(at("crlnumber"), "01\n");
	write_str(at("ca.cnf"), "[ca]\ndefault_ca = d\n[d]\n"
	    "database = index.txt\ncrlnumber = crlnumber\n"
	    "default_md = sha256\ndefault_crl_days = 30\n");
	return 1;
}

/* CRLs: mbedtls cannot write them, so use openssl ca with the root key. */
static void
test_crl(const char *root, const char *rootkey, const char *signer,
    const char *signerkey, const uint8_t digest[32])
{
	struct keyring *k;
	struct err e;
	const char *path;
	char *crl;
	size_t crllen;

	if (!ca_dir())
		return;
	write_str(at("root.pem"), root);
	write_str(at("rootkey.pem"), rootkey);
	write_str(at("signer.pem"), signer);
	CHECK(shell("cd %s && O='-config ca.cnf -keyfile "
	    "rootkey.pem -cert root.pem' && "
	    "openssl ca $O -gencrl -out empty.pem 2>/dev/null && "
	    "openssl ca $O -revoke signer.pem 2>/dev/null && "
	    "openssl ca $O -gencrl -out revoked.pem 2>/dev/null && "
	    "openssl crl -in revoked.pem -outform DER -out revoked.der",
	    dir) != NULL);

	/* A CRL that revokes nothing changes nothing. */
	path = at("empty.pem");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), crl, crllen, &k, &e), &e);
	CHECK_OK(sign_verify(k, signerkey, signer, NULL, digest, NULL, &e),
	    &e);
	keyring_free(k);
	free(crl);

	path = at("revoked.pem");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), crl, crllen, &k, &e), &e);
	CHECK(sign_verify(k, signerkey, signer, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strstr(e.msg, "revoked") != NULL);
	keyring_free(k);
	free(crl);

	path = at("revoked.der");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), crl, crllen, &k, &e), &e);
	CHECK(sign_verify(k, signerkey, signer, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	keyring_free(k);
	free(crl);

	/* A broken CRL is refused rather than ignored. */
	CHECK(keyring_load(root, strlen(root), "junk", 4, &k, &e) == -EINVAL);
	CHECK(k == NULL);

	/* Past its nextUpdate, a CRL still revokes what it lists, but
	 * rejects no one else, and says when it expired. */
	CHECK(shell("cd %s && O='-config ca.cnf -keyfile "
	    "rootkey.pem -cert root.pem -crl_lastupdate 20200101000000Z "
	    "-crl_nextupdate 20200201000000Z' && "
	    "openssl ca $O -gencrl -out old-revoked.pem 2>/dev/null && "
	    "cp index.txt index.keep && : > index.txt && "
	    "openssl ca $O -gencrl -out old-empty.pem 2>/dev/null && "
	    "cp index.keep index.txt", dir) != NULL);
	path = at("old-empty.pem");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e), &e);
	CHECK_OK(keyring_load_crl(k, crl, crllen, path, &e), &e);
	{
		char when[32];

		CHECK(keyring_crl_expired(k, when, sizeof(when)) == 1);
		CHECK(strcmp(when, "2020-02-01T00:00:00Z") == 0);
	}
	CHECK_OK(sign_verify(k, signerkey, signer, NULL, digest, NULL, &e),
	    &e);
	keyring_free(k);
	free(crl);
	path = at("old-revoked.pem");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e), &e);
	CHECK_OK(keyring_load_crl(k, crl, crllen, path, &e), &e);
	CHECK(sign_verify(k, signerkey, signer, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strstr(e.msg, "revoked") != NULL);
	keyring_free(k);
	free(crl);
	/* A fresh CRL does not count as expired. */
	path = at("revoked.pem");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e), &e);
	CHECK_OK(keyring_load_crl(k, crl, crllen, path, &e), &e);
	{
		char when[32];

		CHECK(keyring_crl_expired(k, when, sizeof(when)) == 0);
	}
	keyring_free(k);
	free(crl);

	/* A CRL file without a CRL is a configuration error naming it,
	 * not revocation turned off. */
	{
		static const char *const empty[] = { "", " \n\t\r\n",
		    "-----BEGIN CERTIFICATE-----\nAAAA\n"
		    "-----END CERTIFICATE-----\n" };
		size_t i;

		for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
			CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k,
			    &e), &e);
			CHECK(keyring_load_crl(k, empty[i], strlen(empty[i]),
			    "/etc/upkit/crl.pem", &e) == -EINVAL);
			CHECK(strstr(e.msg, "CRL /etc/upkit/crl.pem") != NULL);
			keyring_free(k);
		}
		CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e),
		    &e);
		CHECK(keyring_load_crl(k, NULL, 0, "/etc/upkit/crl.pem",
		    &e) == -EINVAL);
		CHECK(strstr(e.msg, "/etc/upkit/crl.pem: empty") != NULL);
		/* The root itself, PEM but no CRL. */
		CHECK(keyring_load_crl(k, root, strlen(root),
		    "/etc/upkit/crl.pem", &e) == -EINVAL);
		CHECK(strstr(e.msg, "/etc/upkit/crl.pem") != NULL);
		keyring_free(k);
	}

	tmpdir_remove();
}

/*
 * CRLs that do not verify: the error names the CRL, not the signer. One
 * from an impostor of the root (same name, other key) is refused when it
 * is loaded; one from an impostor of an intermediate, which only the
 * bundle brings, when a chain through that intermediate is checked.
 */
static void
test_crl_forged(const char *root, const char *key, const char *cert,
    const char *inter, const char *fakeroot, const char *fakerootkey,
    const char *fakeinter, const char *fakeinterkey,
    const uint8_t digest[32])
{
	struct keyring *k;
	struct err e;
	const char *path;
	char *crl;
	size_t crllen;

	if (!ca_dir())
		return;
	write_str(at("fakeroot.pem"), fakeroot);
	write_str(at("fakeroot.key"), fakerootkey);
	write_str(at("fakeinter.pem"), fakeinter);
	write_str(at("fakeinter.key"), fakeinterkey);
	CHECK(shell("cd %s && "
	    "openssl ca -config ca.cnf -keyfile fakeroot.key -cert "
	    "fakeroot.pem -gencrl -out root.crl 2>/dev/null && "
	    "openssl ca -config ca.cnf -keyfile fakeinter.key -cert "
	    "fakeinter.pem -gencrl -out inter.crl 2>/dev/null",
	    dir) != NULL);

	path = at("root.crl");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e), &e);
	CHECK(keyring_load_crl(k, crl, crllen, path, &e) == -EINVAL);
	CHECK(strstr(e.msg, path) != NULL);
	CHECK(strstr(e.msg, "does not verify") != NULL);
	keyring_free(k);
	/* In a rotation both roots may have the same name: the CRL of
	 * either one is fine. */
	{
		char both[16384];

		snprintf(both, sizeof(both), "%s%s", root, fakeroot);
		CHECK_OK(keyring_load(both, strlen(both), NULL, 0, &k, &e),
		    &e);
		CHECK_OK(keyring_load_crl(k, crl, crllen, path, &e), &e);
		keyring_free(k);
	}
	free(crl);

	path = at("inter.crl");
	crl = read_whole(path, &crllen);
	CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e), &e);
	CHECK_OK(keyring_load_crl(k, crl, crllen, path, &e), &e);
	CHECK(sign_verify(k, key, cert, inter, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strncmp(e.msg, "CRL ", 4) == 0 && strstr(e.msg, path) != NULL);
	keyring_free(k);
	free(crl);

	tmpdir_remove();
}

/* DER of a PEM certificate, in crt. */
static void
parse_cert(mbedtls_x509_crt *crt, const char *pem)
{
	mbedtls_x509_crt_init(crt);
	CHECK(mbedtls_x509_crt_parse(crt, (const unsigned char *)pem,
	    strlen(pem) + 1) == 0);
}

/* keys create writes ecdsa-with-SHA256 without parameters (RFC 5758
 * 3.2), in the signed part and outside it, and the signatures hold. */
static void
test_no_null_params(const char *root, const char *signer)
{
	mbedtls_x509_crt r, s;
	const unsigned char *p;
	uint32_t flags;
	size_t n;

	parse_cert(&r, root);
	parse_cert(&s, signer);
	CHECK(memmem(r.raw.p, r.raw.len, alg_ecdsa_null,
	    sizeof(alg_ecdsa_null)) == NULL);
	CHECK(memmem(s.raw.p, s.raw.len, alg_ecdsa_null,
	    sizeof(alg_ecdsa_null)) == NULL);
	for (n = 0, p = s.raw.p; (p = memmem(p, s.raw.len - (size_t)(p -
	    s.raw.p), alg_ecdsa, sizeof(alg_ecdsa))) != NULL; p++)
		n++;
	CHECK(n == 2);
	for (n = 0, p = r.raw.p; (p = memmem(p, r.raw.len - (size_t)(p -
	    r.raw.p), alg_ecdsa, sizeof(alg_ecdsa))) != NULL; p++)
		n++;
	CHECK(n == 2);
	CHECK(mbedtls_x509_crt_verify(&s, &r, NULL, NULL, &flags, NULL,
	    NULL) == 0);
	CHECK(mbedtls_x509_crt_verify(&r, &r, NULL, NULL, &flags, NULL,
	    NULL) == 0);
	if (system("openssl version >/dev/null 2>&1") == 0) {
		tmpdir_make("trust_test");
		write_str(at("root.pem"), root);
		write_str(at("signer.pem"), signer);
		CHECK(shell("cd %s && openssl verify "
		    "-x509_strict -CAfile root.pem signer.pem >/dev/null && "
		    "! openssl asn1parse -in signer.pem | grep -q NULL && "
		    "! openssl asn1parse -in root.pem | grep -q NULL",
		    dir) != NULL);
		tmpdir_remove();
	}
	mbedtls_x509_crt_free(&r);
	mbedtls_x509_crt_free(&s);
}

static void
test_sha256(void)
{
	static const uint8_t abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad
	};
	struct digest *h;
	struct err e;
	uint8_t md[32];

	digest_sha256("abc", 3, md);
	CHECK(memcmp(md, abc, 32) == 0);
	CHECK_OK(digest_open(&h, &e), &e);
	digest_update(h, "a", 1);
	digest_update(h, "", 0);
	digest_update(h, "bc", 2);
	digest_final(h, md);
	digest_free(h);
	digest_free(NULL);
	CHECK(memcmp(md, abc, 32) == 0);
}

int
main(void)
{
	char *root, *rootkey, *signer, *signerkey;
	char *oroot, *orootkey, *osigner, *osignerkey;
	char *cert, *key, *inter, *interkey;
	mbedtls_pk_context rk, pk, ik;
	struct keyring *k, *ko;
	struct sigblock s;
	struct err e;
	uint8_t digest[32], other[32], *blob;
	size_t len;

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	CHECK(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    NULL, 0) == 0);
	test_sha256();

	digest_sha256("header and manifest", 19, digest);
	memcpy(other, digest, 32);
	other[31] ^= 1;

	CHECK_OK(sign_keys_create("upkit test", &root, &rootkey, &signer,
	    &signerkey, &e), &e);
	CHECK(strstr(root, "BEGIN CERTIFICATE") != NULL);
	CHECK(strstr(signerkey, "PRIVATE KEY") != NULL);
	test_no_null_params(root, signer);
	CHECK(sign_keys_create("bad,cn", &cert, &key, &inter, &interkey,
	    &e) == -EINVAL);
	CHECK(cert == NULL && key == NULL);
	CHECK_OK(keyring_load(root, strlen(root), NULL, 0, &k, &e), &e);

	/* The happy path, and the signature over a different digest. */
	CHECK_OK(sign_verify(k, signerkey, signer, NULL, digest, NULL, &e),
	    &e);
	CHECK(sign_verify(k, signerkey, signer, NULL, digest, other, &e) ==
	    -EBADMSG);
	CHECK(strstr(e.msg, "CN=upkit test signer") != NULL);

	/* A flipped signature byte. */
	CHECK_OK(sign_bundle(signerkey, strlen(signerkey), signer,
	    strlen(signer), NULL, 0, digest, &blob, &len, &e), &e);
	blob[BUNDLE_SIGBLOCK_HEAD + 20] ^= 0x40;
	CHECK_OK(sigblock_parse(blob, len, &s, &e), &e);
	CHECK(s.alg == SIG_ECDSA_SHA256 && s.ncerts == 1);
	CHECK(trust_verify(k, &s, digest, &e) == -EBADMSG);
	{
		char who[128];

		CHECK_OK(trust_signer_subject(&s, who, sizeof(who), &e), &e);
		CHECK(strcmp(who, "CN=upkit test signer") == 0);
		s.certlen[0] = 10;
		CHECK(trust_signer_subject(&s, who, sizeof(who), &e) ==
		    -EBADMSG);
		s.certlen[0] = len;	/* reparsed below */
	}
	/* The same block claiming RSA-PSS. */
	blob[BUNDLE_SIGBLOCK_HEAD + 20] ^= 0x40;
	blob[9] = SIG_RSA_PSS_SHA256;
	CHECK_OK(sigblock_parse(blob, len, &s, &e), &e);
	CHECK(trust_verify(k, &s, digest, &e) == -EBADMSG);
	free(blob);

	/* Another vendor's root does not vouch for our signer. */
	CHECK_OK(sign_keys_create("other", &oroot, &orootkey, &osigner,
	    &osignerkey, &e), &e);
	CHECK_OK(keyring_load(oroot, strlen(oroot), NULL, 0, &ko, &e), &e);
	CHECK(sign_verify(ko, signerkey, signer, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strstr(e.msg, "CN=upkit test signer") != NULL);
	/* A keyring with both roots accepts both (root rotation). */
	{
		char both[16384];
		struct keyring *kb;

		snprintf(both, sizeof(both), "%s%s", root, oroot);
		CHECK_OK(keyring_load(both, strlen(both), NULL, 0, &kb, &e),
		    &e);
		CHECK_OK(sign_verify(kb, signerkey, signer, NULL, digest,
		    NULL, &e), &e);
		CHECK_OK(sign_verify(kb, osignerkey, osigner, NULL, digest,
		    NULL, &e), &e);
		keyring_free(kb);
	}
	/* The key must match the certificate. */
	CHECK(sign_bundle(osignerkey, strlen(osignerkey), signer,
	    strlen(signer), NULL, 0, digest, &blob, &len, &e) == -EINVAL);
	CHECK(blob == NULL);
	/* A self-signed root used as the signer is not in the keyring. */
	CHECK(sign_verify(k, orootkey, oroot, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);

	/* Keyring errors. */
	keyring_free(NULL);
	{
		struct keyring *kx;

		CHECK(keyring_load("", 0, NULL, 0, &kx, &e) == -EINVAL);
		CHECK(kx == NULL);

		CHECK(keyring_load("-----BEGIN CERTIFICATE-----\nAAAA\n"
		    "-----END CERTIFICATE-----\n", 54, NULL, 0, &kx, &e) ==
		    -EINVAL);
		CHECK(kx == NULL && e.msg[0] != '\0');
	}

	parse_key(&rk, rootkey);

	/* A signer for TLS servers, not for code. */
	gen_ec(&pk);
	key = key_pem(&pk);
	cert = mkcert(&pk, &rk, "CN=web", "CN=upkit test root", 0,
	    eku_server, sizeof(eku_server), "20200101000000",
	    "20991231235959");
	CHECK(sign_verify(k, key, cert, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strstr(e.msg, "codeSigning") != NULL);
	free(cert);
	/* anyExtendedKeyUsage is not codeSigning; with codeSigning, fine. */
	cert = mkcert(&pk, &rk, "CN=any", "CN=upkit test root", 0,
	    eku_any, sizeof(eku_any), "20200101000000", "20991231235959");
	CHECK(sign_verify(k, key, cert, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strstr(e.msg, "CN=any") != NULL &&
	    strstr(e.msg, "codeSigning") != NULL);
	free(cert);
	cert = mkcert(&pk, &rk, "CN=any+code", "CN=upkit test root", 0,
	    eku_any_code, sizeof(eku_any_code), "20200101000000",
	    "20991231235959");
	CHECK_OK(sign_verify(k, key, cert, NULL, digest, NULL, &e), &e);
	free(cert);
	/* No EKU at all is accepted, as the design says "where present". */
	cert = mkcert(&pk, &rk, "CN=plain", "CN=upkit test root", 0, NULL, 0,
	    "20200101000000", "20991231235959");
	CHECK_OK(sign_verify(k, key, cert, NULL, digest, NULL, &e), &e);
	free(cert);
	/* Expired is rejected; not yet valid is accepted (1970 clocks). */
	cert = mkcert(&pk, &rk, "CN=old", "CN=upkit test root", 0, eku_code,
	    sizeof(eku_code), "20000101000000", "20010101000000");
	CHECK(sign_verify(k, key, cert, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	CHECK(strstr(e.msg, "expired") != NULL);
	free(cert);
	cert = mkcert(&pk, &rk, "CN=future", "CN=upkit test root", 0,
	    eku_code, sizeof(eku_code), "20900101000000", "20991231235959");
	CHECK_OK(sign_verify(k, key, cert, NULL, digest, NULL, &e), &e);
	free(cert);

	/* root -> intermediate -> signer, intermediate in the block. */
	gen_ec(&ik);
	interkey = key_pem(&ik);
	inter = mkcert(&ik, &rk, "CN=intermediate", "CN=upkit test root", 1,
	    NULL, 0, "20200101000000", "20991231235959");
	cert = mkcert(&pk, &ik, "CN=leaf", "CN=intermediate", 0, eku_code,
	    sizeof(eku_code), "20200101000000", "20991231235959");
	CHECK_OK(sign_verify(k, key, cert, inter, digest, NULL, &e), &e);
	CHECK(sign_verify(k, key, cert, NULL, digest, NULL, &e) ==
	    -EKEYREJECTED);
	{
		char *fr, *frk, *fs, *fsk, *fi, *fik;
		mbedtls_pk_context fk;

		/* Same names as the real root and intermediate. */
		CHECK_OK(sign_keys_create("upkit test", &fr, &frk, &fs, &fsk,
		    &e), &e);
		gen_ec(&fk);
		fik = key_pem(&fk);
		fi = mkcert(&fk, &fk, "CN=intermediate", "CN=intermediate", 1,
		    NULL, 0, "20200101000000", "20991231235959");
		test_crl_forged(root, key, cert, inter, fr, frk, fi, fik,
		    digest);
		free(fr);
		free(frk);
		free(fs);
		free(fsk);
		free(fi);
		free(fik);
		mbedtls_pk_free(&fk);
	}
	free(cert);
	free(key);
	mbedtls_pk_free(&pk);

	/* RSA-PSS with a 3072-bit signer key under the EC root. */
	mbedtls_pk_init(&pk);
	CHECK(mbedtls_pk_setup(&pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) == 0);
	CHECK(mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random,
	    &drbg, 3072, 65537) == 0);
	key = key_pem(&pk);
	cert = mkcert(&pk, &rk, "CN=rsa", "CN=upkit test root", 0, eku_code,
	    sizeof(eku_code), "20200101000000", "20991231235959");
	CHECK_OK(sign_bundle(key, strlen(key), cert, strlen(cert), NULL, 0,
	    digest, &blob, &len, &e), &e);
	CHECK_OK(sigblock_parse(blob, len, &s, &e), &e);
	CHECK(s.alg == SIG_RSA_PSS_SHA256 && s.siglen == 384);
	CHECK_OK(trust_verify(k, &s, digest, &e), &e);
	CHECK(trust_verify(k, &s, other, &e) == -EBADMSG);
	/* An RSA signature claiming to be ECDSA. */
	blob[9] = SIG_ECDSA_SHA256;
	CHECK_OK(sigblock_parse(blob, len, &s, &e), &e);
	CHECK(trust_verify(k, &s, digest, &e) == -EBADMSG);
	free(blob);
	free(cert);
	free(key);
	mbedtls_pk_free(&pk);

	test_crl(root, rootkey, signer, signerkey, digest);

	free(inter);
	free(interkey);
	mbedtls_pk_free(&ik);
	mbedtls_pk_free(&rk);
	keyring_free(k);
	keyring_free(ko);
	free(root);
	free(rootkey);
	free(signer);
	free(signerkey);
	free(oroot);
	free(orootkey);
	free(osigner);
	free(osignerkey);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return 0;
}

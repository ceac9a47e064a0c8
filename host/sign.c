/*
 * host/sign: the signing side of verify/trust, for the build host only.
 * sign_bundle() signs a bundle's digest and builds its signature block;
 * sign_keys_create() makes a fleet's root and signer. Certificates are
 * written by mbedtls and then rebuilt without the NULL parameter mbedtls
 * 2.28 puts in ecdsa-with-SHA256 (RFC 5758 3.2 wants none). Written
 * against the mbedtls APIs that are the same in 2.28 and 3.6; the few
 * calls that changed are under the version that changed them (verify/mbed.h
 * lists the versions the build accepts).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/version.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER < 0x03040000	/* no set_serial_raw */
#include <mbedtls/bignum.h>
#endif

#include "common/err.h"
#include "host/sign.h"
#include "verify/bundle.h"
#include "verify/mbed.h"

#define PEM_MAX			4096

/* Random source for signing and key generation. */
struct rng {
	mbedtls_entropy_context		entropy;
	mbedtls_ctr_drbg_context	drbg;
};

/* DER of SEQUENCE { OID 1.3.6.1.5.5.7.3.3 (codeSigning) }. */
static const unsigned char eku_code_signing[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03
};

/* AlgorithmIdentifier ecdsa-with-SHA256 as RFC 5758 3.2 wants it (no
 * parameters), and as mbedtls 2.28's x509write writes it (a NULL). */
static const unsigned char alg_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
};
static const unsigned char alg_ecdsa_sha256_null[] = {
	0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
	0x05, 0x00
};

static void
rng_free(struct rng *g)
{
	mbedtls_ctr_drbg_free(&g->drbg);
	mbedtls_entropy_free(&g->entropy);
}

static int
rng_init(struct rng *g, const char *who, struct err *e)
{
	char msg[128];
	int r;

	mbedtls_entropy_init(&g->entropy);
	mbedtls_ctr_drbg_init(&g->drbg);
	if ((r = mbedtls_ctr_drbg_seed(&g->drbg, mbedtls_entropy_func,
	    &g->entropy, (const unsigned char *)who, strlen(who))) != 0)
		return err_set(e, -EIO, "%s: random seed: %s", who,
		    mbed_error(r, msg, sizeof(msg)));
	return 0;
}

/* A SHA-256 hash signed with pk, in whatever scheme pk is set up for.
 * Returns 0 or an mbedtls error code. */
static int
pk_sign_sha256(mbedtls_pk_context *pk, const unsigned char hash[32],
    unsigned char *sig, size_t size, size_t *siglen, struct rng *g)
{
#if MBEDTLS_VERSION_MAJOR >= 3	/* 3.0: the signature buffer's size */
	return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, size,
	    siglen, mbedtls_ctr_drbg_random, &g->drbg);
#else
	(void)size;
	return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, siglen,
	    mbedtls_ctr_drbg_random, &g->drbg);
#endif
}

/* The PEM private key into pk; the copy made for mbedtls is scrubbed. */
static int
load_key(mbedtls_pk_context *pk, const void *key, size_t keylen,
    struct rng *g, struct err *e)
{
	unsigned char *buf;
	char msg[128];
	int r;

	if ((buf = mbed_nul_copy(key, keylen)) == NULL)
		return err_set(e, -ENOMEM, "sign: key");
#if MBEDTLS_VERSION_MAJOR >= 3	/* 3.0: an RNG for blinding */
	r = mbedtls_pk_parse_key(pk, buf, keylen + 1, NULL, 0,
	    mbedtls_ctr_drbg_random, &g->drbg);
#else
	(void)g;
	r = mbedtls_pk_parse_key(pk, buf, keylen + 1, NULL, 0);
#endif
	mbedtls_platform_zeroize(buf, keylen + 1);
	free(buf);
	if (r != 0)
		return err_set(e, -EINVAL, "sign: private key: %s",
		    mbed_error(r, msg, sizeof(msg)));
	return 0;
}

/* The signer comes first, then the intermediates from either the
 * certificate file or the chain file, in the order given. */
static int
load_certs(mbedtls_x509_crt *crts, const void *cert, size_t certlen,
    const void *chain, size_t chainlen, struct err *e)
{
	unsigned char *buf;
	char msg[128];
	int r;

	if ((buf = mbed_nul_copy(cert, certlen)) == NULL)
		return err_set(e, -ENOMEM, "sign: certificate");
	r = mbedtls_x509_crt_parse(crts, buf, certlen + 1);
	free(buf);
	if (r != 0 || crts->version == 0)
		return err_set(e, -EINVAL, "sign: certificate: %s", r != 0 ?
		    mbed_error(r, msg, sizeof(msg)) : "no certificate");
	if (chain == NULL || chainlen == 0)
		return 0;
	if ((buf = mbed_nul_copy(chain, chainlen)) == NULL)
		return err_set(e, -ENOMEM, "sign: chain");
	r = mbedtls_x509_crt_parse(crts, buf, chainlen + 1);
	free(buf);
	if (r != 0)
		return err_set(e, -EINVAL, "sign: chain: %s", r > 0 ?
		    "a certificate did not parse" :
		    mbed_error(r, msg, sizeof(msg)));
	return 0;
}

/* Signs digest with pk, which must match the signer certificate crt,
 * into s (alg, sig, siglen; sig holds size bytes). */
static int
sign_digest(mbedtls_pk_context *pk, mbedtls_x509_crt *crt, struct rng *g,
    const uint8_t digest[32], struct sigblock *s, unsigned char *sig,
    size_t size, struct err *e)
{
	char msg[128];
	int r;

#if MBEDTLS_VERSION_MAJOR >= 3	/* 3.0: an RNG for blinding */
	r = mbedtls_pk_check_pair(&crt->pk, pk, mbedtls_ctr_drbg_random,
	    &g->drbg);
#else
	r = mbedtls_pk_check_pair(&crt->pk, pk);
#endif
	if (r != 0)
		return err_set(e, -EINVAL, "sign: the private key does not "
		    "match the certificate");
	if (mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA)) {
		s->alg = SIG_ECDSA_SHA256;
		r = pk_sign_sha256(pk, digest, sig, size, &s->siglen, g);
	} else if (mbedtls_pk_can_do(pk, MBEDTLS_PK_RSA)) {
		if (mbedtls_pk_get_bitlen(pk) < MBED_RSA_SIGN_MIN_BITS)
			return err_set(e, -EINVAL, "sign: RSA key of %zu bits, "
			    "need %d", mbedtls_pk_get_bitlen(pk),
			    MBED_RSA_SIGN_MIN_BITS);
		s->alg = SIG_RSA_PSS_SHA256;
		/* PSS with the salt as long as the hash (32 bytes), which
		 * is what the verifier expects. */
#if MBEDTLS_VERSION_NUMBER >= 0x03020000	/* pk_sign_ext: 3.2 */
		r = mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS, pk,
		    MBEDTLS_MD_SHA256, digest, 32, sig, size, &s->siglen,
		    mbedtls_ctr_drbg_random, &g->drbg);
#else
		mbedtls_rsa_set_padding(mbedtls_pk_rsa(*pk),
		    MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
		r = pk_sign_sha256(pk, digest, sig, size, &s->siglen, g);
#endif
	} else
		return err_set(e, -EINVAL, "sign: key is neither EC nor RSA");
	if (r != 0)
		return err_set(e, -EINVAL, "sign: %s",
		    mbed_error(r, msg, sizeof(msg)));
	s->sig = sig;
	return 0;
}

int
sign_bundle(const void *key, size_t keylen, const void *cert,
    size_t certlen, const void *chain, size_t chainlen,
    const uint8_t digest[32], uint8_t **out, size_t *outlen,
    struct err *e)
{
	unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	mbedtls_x509_crt crts, *c;
	mbedtls_pk_context pk;
	struct sigblock s;
	struct rng g;
	int r;

	*out = NULL;
	*outlen = 0;
	memset(&s, 0, sizeof(s));
	mbedtls_pk_init(&pk);
	mbedtls_x509_crt_init(&crts);
	if ((r = rng_init(&g, "sign", e)) < 0 ||
	    (r = load_key(&pk, key, keylen, &g, e)) < 0 ||
	    (r = load_certs(&crts, cert, certlen, chain, chainlen, e)) < 0 ||
	    (r = sign_digest(&pk, &crts, &g, digest, &s, sig, sizeof(sig),
	    e)) < 0)
		goto out;
	for (c = &crts; c != NULL && c->version != 0; c = c->next) {
		if (s.ncerts == SIGBLOCK_CERTS_MAX) {
			r = err_set(e, -EINVAL, "sign: more than %d "
			    "certificates", SIGBLOCK_CERTS_MAX);
			goto out;
		}
		s.cert[s.ncerts] = c->raw.p;
		s.certlen[s.ncerts] = c->raw.len;
		s.ncerts++;
	}
	r = sigblock_encode(&s, out, outlen, e);
out:
	mbedtls_x509_crt_free(&crts);
	mbedtls_pk_free(&pk);
	rng_free(&g);
	return r;
}


/* "YYYYMMDDhhmmss" for now + days + years, normalised by timegm() so a
 * 29 February start does not produce an invalid date. */
static void
cert_time(time_t now, int days, int years, char out[16])
{
	struct tm tm;
	time_t t;

	t = now + (time_t)days * 86400;
	gmtime_r(&t, &tm);
	tm.tm_year += years;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

static int
gen_key(mbedtls_pk_context *pk, struct rng *g)
{
	int r;

	if ((r = mbedtls_pk_setup(pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0)
		return r;
	return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
	    mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random, &g->drbg);
}

/* A positive 127-bit random serial: unique without a registry. */
static int
set_serial(mbedtls_x509write_cert *w, struct rng *g)
{
	unsigned char raw[16];
	int r;

	if ((r = mbedtls_ctr_drbg_random(&g->drbg, raw, sizeof(raw))) != 0)
		return r;
	raw[0] = (raw[0] & 0x7f) | 0x40;
#if MBEDTLS_VERSION_NUMBER >= 0x03040000	/* set_serial_raw: 3.4 */
	return mbedtls_x509write_crt_set_serial_raw(w, raw, sizeof(raw));
#else
	{
		mbedtls_mpi serial;

		mbedtls_mpi_init(&serial);
		if ((r = mbedtls_mpi_read_binary(&serial, raw,
		    sizeof(raw))) == 0)
			r = mbedtls_x509write_crt_set_serial(w, &serial);
		mbedtls_mpi_free(&serial);
		return r;
	}
#endif
}

/* A DER tag and length (below 65536) at p; returns the bytes written. */
static size_t
der_head(unsigned char *p, unsigned char tag, size_t len)
{
	size_t n = 0;

	p[n++] = tag;
	if (len < 0x80) {
		p[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		p[n++] = 0x81;
		p[n++] = (unsigned char)len;
	} else {
		p[n++] = 0x82;
		p[n++] = (unsigned char)(len >> 8);
		p[n++] = (unsigned char)len;
	}
	return n;
}

/*
 * mbedtls 2.28 writes ecdsa-with-SHA256 with a NULL parameter, both in the
 * tbsCertificate's signature field and in the signatureAlgorithm after
 * it. RFC 5758 3.2 says the parameters MUST be absent, and strict parsers
 * refuse the NULL. This rewrites the DER certificate der (len bytes) into
 * out without them and signs the new tbsCertificate with the issuer's
 * key. A certificate without the NULL (mbedtls 3.x writes none) is copied
 * as it is. Returns 0 or an mbedtls error code.
 */
static int
strip_ecdsa_null(const unsigned char *der, size_t len,
    mbedtls_pk_context *issuer, struct rng *g, unsigned char *out,
    size_t size, size_t *outlen)
{
	const size_t nl = sizeof(alg_ecdsa_sha256_null);
	const size_t al = sizeof(alg_ecdsa_sha256);
	unsigned char *p = (unsigned char *)der, *end = p + len, *q, *tbsend;
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE], *t;
	unsigned char head[4];
	size_t l, n, hn, siglen = 0;
	int r;

	if (size < len + sizeof(head) + sizeof(sig) + 8)
		return MBEDTLS_ERR_X509_BUFFER_TOO_SMALL;
	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version,
	 * serialNumber INTEGER, signature AlgorithmIdentifier, ... },
	 * signatureAlgorithm, signatureValue } */
	if ((r = mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED |
	    MBEDTLS_ASN1_SEQUENCE)) != 0)
		return r;
	end = p + l;
	if ((r = mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED |
	    MBEDTLS_ASN1_SEQUENCE)) != 0)
		return r;
	tbsend = p + l;
	q = p;
	if ((r = mbedtls_asn1_get_tag(&q, tbsend, &l,
	    MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0)) != 0)
		return r;
	q += l;
	if ((r = mbedtls_asn1_get_tag(&q, tbsend, &l,
	    MBEDTLS_ASN1_INTEGER)) != 0)
		return r;
	q += l;
	if ((size_t)(tbsend - q) < nl ||
	    memcmp(q, alg_ecdsa_sha256_null, nl) != 0 ||
	    (size_t)(end - tbsend) < nl ||
	    memcmp(tbsend, alg_ecdsa_sha256_null, nl) != 0) {
		memcpy(out, der, len);
		*outlen = len;
		return 0;
	}
	/* The new tbsCertificate, built after room for the outer header. */
	t = out + sizeof(head);
	n = der_head(t, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE,
	    (size_t)(tbsend - p) - (nl - al));
	memcpy(t + n, p, (size_t)(q - p));
	n += (size_t)(q - p);
	memcpy(t + n, alg_ecdsa_sha256, al);
	n += al;
	memcpy(t + n, q + nl, (size_t)(tbsend - q - nl));
	n += (size_t)(tbsend - q - nl);
	if ((r = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), t,
	    n, hash)) != 0 ||
	    (r = pk_sign_sha256(issuer, hash, sig, sizeof(sig), &siglen,
	    g)) != 0)
		return r;
	memcpy(t + n, alg_ecdsa_sha256, al);
	n += al;
	n += der_head(t + n, MBEDTLS_ASN1_BIT_STRING, siglen + 1);
	t[n++] = 0;		/* no unused bits */
	memcpy(t + n, sig, siglen);
	n += siglen;
	hn = der_head(head, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE,
	    n);
	memmove(out + hn, t, n);
	memcpy(out, head, hn);
	*outlen = hn + n;
	return 0;
}

/*
 * Writes one certificate: a root when subject == issuer, otherwise a
 * code-signing leaf. Returns 0 or an mbedtls error code.
 */
static int
write_cert(mbedtls_pk_context *subject, mbedtls_pk_context *issuer,
    const char *sname, const char *iname, int ca, struct rng *g,
    char **pem)
{
	mbedtls_x509write_cert w;
	unsigned char buf[PEM_MAX], der[PEM_MAX];
	char from[16], to[16];
	time_t now = time(NULL);
	size_t len, olen;
	int r;

	*pem = NULL;
	mbedtls_x509write_crt_init(&w);
	cert_time(now, -1, 0, from);
	cert_time(now, 0, ca ? 30 : 10, to);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, subject);
	mbedtls_x509write_crt_set_issuer_key(&w, issuer);
	if ((r = mbedtls_x509write_crt_set_subject_name(&w, sname)) != 0 ||
	    (r = mbedtls_x509write_crt_set_issuer_name(&w, iname)) != 0 ||
	    (r = set_serial(&w, g)) != 0 ||
	    (r = mbedtls_x509write_crt_set_validity(&w, from, to)) != 0 ||
	    (r = mbedtls_x509write_crt_set_basic_constraints(&w, ca,
	    -1)) != 0 ||
	    (r = mbedtls_x509write_crt_set_subject_key_identifier(&w)) != 0 ||
	    (r = mbedtls_x509write_crt_set_authority_key_identifier(&w)) != 0)
		goto out;
	if (ca)
		r = mbedtls_x509write_crt_set_key_usage(&w,
		    MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
	else
		r = mbedtls_x509write_crt_set_key_usage(&w,
		    MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	if (r != 0)
		goto out;
	/* mbedtls 2.28 has no EKU writer; the raw extension works on 3.x
	 * as well, so there is one code path. */
	if (!ca && (r = mbedtls_x509write_crt_set_extension(&w,
	    MBEDTLS_OID_EXTENDED_KEY_USAGE,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
	    eku_code_signing, sizeof(eku_code_signing))) != 0)
		goto out;
	/* DER at the end of buf; then without the NULL, then PEM. */
	if ((r = mbedtls_x509write_crt_der(&w, buf, sizeof(buf),
	    mbedtls_ctr_drbg_random, &g->drbg)) < 0)
		goto out;
	len = (size_t)r;
	if ((r = strip_ecdsa_null(buf + sizeof(buf) - len, len, issuer, g,
	    der, sizeof(der), &len)) != 0 ||
	    (r = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
	    "-----END CERTIFICATE-----\n", der, len, buf, sizeof(buf),
	    &olen)) != 0)
		goto out;
	if ((*pem = strdup((char *)buf)) == NULL)
		r = MBEDTLS_ERR_X509_ALLOC_FAILED;
out:
	mbedtls_x509write_crt_free(&w);
	return r;
}

static int
key_pem(mbedtls_pk_context *pk, char **pem)
{
	unsigned char buf[PEM_MAX];
	int r;

	*pem = NULL;
	if ((r = mbedtls_pk_write_key_pem(pk, buf, sizeof(buf))) == 0 &&
	    (*pem = strdup((char *)buf)) == NULL)
		r = MBEDTLS_ERR_PK_ALLOC_FAILED;
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return r;
}

/* Characters that would change the meaning of "CN=..." in mbedtls'
 * name parser, or that do not belong in a certificate name. */
static int
valid_cn(const char *cn)
{
	size_t i;

	for (i = 0; cn[i] != '\0'; i++)
		if (i >= 56 || cn[i] < 0x20 || cn[i] > 0x7e ||
		    strchr(",=+\\\"<>;#", cn[i]) != NULL)
			return 0;
	return i >= 1;
}

int
sign_keys_create(const char *cn, char **root_pem, char **root_key_pem,
    char **signer_pem, char **signer_key_pem, struct err *e)
{
	mbedtls_pk_context rk, sk;
	char rname[80], sname[80], msg[128];
	const char *what = "";
	struct rng g;
	int r;

	*root_pem = *root_key_pem = *signer_pem = *signer_key_pem = NULL;
	if (!valid_cn(cn))
		return err_set(e, -EINVAL, "keys create: common name \"%s\": "
		    "need 1..55 printable characters without ,=+\\\"<>;#", cn);
	mbedtls_pk_init(&rk);
	mbedtls_pk_init(&sk);
	if ((r = rng_init(&g, "keys create", e)) < 0)
		goto out;
	snprintf(rname, sizeof(rname), "CN=%s root", cn);
	snprintf(sname, sizeof(sname), "CN=%s signer", cn);
	if ((r = gen_key(&rk, &g)) != 0 || (r = gen_key(&sk, &g)) != 0)
		what = "generate key";
	else if ((r = write_cert(&rk, &rk, rname, rname, 1, &g,
	    root_pem)) != 0)
		what = "root certificate";
	else if ((r = write_cert(&sk, &rk, sname, rname, 0, &g,
	    signer_pem)) != 0)
		what = "signer certificate";
	else if ((r = key_pem(&rk, root_key_pem)) != 0 ||
	    (r = key_pem(&sk, signer_key_pem)) != 0)
		what = "write key";
	if (r != 0)
		r = err_set(e, -EIO, "keys create %s: %s: %s", cn, what,
		    mbed_error(r, msg, sizeof(msg)));
out:
	if (r < 0) {
		free(*root_pem);
		free(*root_key_pem);
		free(*signer_pem);
		free(*signer_key_pem);
		*root_pem = *root_key_pem = *signer_pem = *signer_key_pem =
		    NULL;
	}
	mbedtls_pk_free(&rk);
	mbedtls_pk_free(&sk);
	rng_free(&g);
	return r;
}

/*
 * verify/trust: certificate chains and signatures with mbedtls. Written
 * against the mbedtls_md/pk/x509_crt APIs that are the same in 2.28 and
 * 3.x; the few calls that changed are under MBEDTLS_VERSION_MAJOR.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/version.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_MAJOR < 3
#include <mbedtls/bignum.h>
#endif

#include "common/err.h"
#include "verify/bundle.h"
#include "verify/digest.h"
#include "verify/trust.h"

#define RSA_SIGN_MIN_BITS	3072
#define PSS_SALT_LEN		32
#define PEM_MAX			4096

struct keyring {
	mbedtls_x509_crt	roots;
	mbedtls_x509_crl	crl;
	int			have_crl;
	char			crlname[256];	/* for messages */
};

/* Random source for signing and key generation. */
struct rng {
	mbedtls_entropy_context		entropy;
	mbedtls_ctr_drbg_context	drbg;
};

/*
 * What certificates may use: SHA-2 signatures, P-256/P-384 and RSA of at
 * least 2048 bits (the bundle signature itself needs RSA 3072, checked
 * separately: a 2048-bit CA issuing a 3072-bit signer is still fine).
 */
static const mbedtls_x509_crt_profile profile = {
	MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) |
	    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
	    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
	MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) |
	    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA) |
	    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSA) |
	    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSASSA_PSS),
	MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1) |
	    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP384R1),
	2048,
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

static const char *
tls_error(int r, char *buf, size_t size)
{
	mbedtls_strerror(r, buf, size);
	return buf;
}

/* mbedtls PEM parsers want the terminating NUL inside the length. */
static unsigned char *
nul_copy(const void *buf, size_t len)
{
	unsigned char *p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, buf, len);
	p[len] = '\0';
	return p;
}

static int
is_pem(const void *buf, size_t len)
{
	return len >= 10 && memmem(buf, len, "-----BEGIN", 10) != NULL;
}

int
keyring_load(const void *pem, size_t pemlen, const void *crl,
    size_t crllen, struct keyring **kp, struct err *e)
{
	struct keyring *k;
	unsigned char *buf = NULL;
	char msg[128];
	int r;

	*kp = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return err_set(e, -ENOMEM, "keyring");
	mbedtls_x509_crt_init(&k->roots);
	mbedtls_x509_crl_init(&k->crl);
	if (pem == NULL || pemlen == 0) {
		r = err_set(e, -EINVAL, "keyring: empty");
		goto fail;
	}
	if ((buf = nul_copy(pem, pemlen)) == NULL) {
		r = err_set(e, -ENOMEM, "keyring: %zu bytes", pemlen);
		goto fail;
	}
	/* A positive return counts certificates that did not parse: a
	 * keyring with a broken root is refused, not silently shortened. */
	if ((r = mbedtls_x509_crt_parse(&k->roots, buf, pemlen + 1)) != 0) {
		if (r > 0)
			r = err_set(e, -EINVAL, "keyring: %d certificates did "
			    "not parse", r);
		else
			r = err_set(e, -EINVAL, "keyring: roots: %s",
			    tls_error(r, msg, sizeof(msg)));
		goto fail;
	}
	if (k->roots.version == 0) {
		r = err_set(e, -EINVAL, "keyring: no certificates");
		goto fail;
	}
	free(buf);
	buf = NULL;
	if (crl != NULL && crllen > 0 &&
	    (r = keyring_load_crl(k, crl, crllen, "(unnamed)", e)) < 0)
		goto fail;
	*kp = k;
	return 0;
fail:
	free(buf);
	keyring_free(k);
	return r;
}

/* Whether the CRL's signature verifies with root's key, under the same
 * profile as certificates. mbedtls checks this only while it verifies a
 * chain, where a bad CRL would look like the signer's fault. */
static int
crl_signed_by(const mbedtls_x509_crl *c, const mbedtls_x509_crt *root)
{
	const mbedtls_md_info_t *md;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];

	if ((profile.allowed_mds & MBEDTLS_X509_ID_FLAG(c->sig_md)) == 0 ||
	    (md = mbedtls_md_info_from_type(c->sig_md)) == NULL ||
	    mbedtls_md(md, c->tbs.p, c->tbs.len, hash) != 0)
		return 0;
	return mbedtls_pk_verify_ext(c->sig_pk, c->sig_opts,
	    (mbedtls_pk_context *)&root->pk, c->sig_md, hash,
	    mbedtls_md_get_size(md), c->sig.p, c->sig.len) == 0;
}

int
keyring_load_crl(struct keyring *k, const void *crl, size_t crllen,
    const char *name, struct err *e)
{
	const mbedtls_x509_crl *c;
	const mbedtls_x509_crt *root;
	unsigned char *buf;
	char msg[128], who[256];
	size_t i;
	int r, named, good;

	snprintf(k->crlname, sizeof(k->crlname), "%s", name);
	/* A CRL file that holds no CRL would turn revocation off without
	 * a word: refuse it, as an empty keyring is refused. */
	for (i = 0; crl != NULL && i < crllen; i++)
		if (strchr(" \t\r\n", ((const char *)crl)[i]) == NULL)
			break;
	if (crl == NULL || i == crllen)
		return err_set(e, -EINVAL, "CRL %s: empty", name);
	if (is_pem(crl, crllen) &&
	    memmem(crl, crllen, "-----BEGIN X509 CRL-----", 24) == NULL)
		return err_set(e, -EINVAL, "CRL %s: holds no CRL (no BEGIN "
		    "X509 CRL line)", name);
	if ((buf = nul_copy(crl, crllen)) == NULL)
		return err_set(e, -ENOMEM, "CRL %s", name);
	/* PEM needs the NUL counted; DER must be its exact length. */
	r = mbedtls_x509_crl_parse(&k->crl, buf, is_pem(crl, crllen) ?
	    crllen + 1 : crllen);
	free(buf);
	if (r != 0)
		return err_set(e, -EINVAL, "CRL %s: %s", name,
		    tls_error(r, msg, sizeof(msg)));
	if (k->crl.version == 0)
		return err_set(e, -EINVAL, "CRL %s: holds no CRL", name);
	/* A CRL in the name of a keyring root must be that root's (or, in
	 * a rotation, one of the roots of that name): checked here, so that
	 * a broken CRL is a configuration error naming the file. A CRL from
	 * another issuer (an intermediate) is checked by mbedtls against
	 * that issuer during each chain check. */
	for (c = &k->crl; c != NULL && c->version != 0; c = c->next) {
		named = good = 0;
		for (root = &k->roots; root != NULL && root->version != 0;
		    root = root->next) {
			if (c->issuer_raw.len != root->subject_raw.len ||
			    memcmp(c->issuer_raw.p, root->subject_raw.p,
			    c->issuer_raw.len) != 0)
				continue;
			named = 1;
			if (mbedtls_x509_dn_gets(who, sizeof(who),
			    &root->subject) < 0)
				strcpy(who, "?");
			if (mbedtls_x509_crt_check_key_usage(root,
			    MBEDTLS_X509_KU_CRL_SIGN) == 0 &&
			    crl_signed_by(c, root))
				good = 1;
		}
		if (named && !good)
			return err_set(e, -EINVAL, "CRL %s: signature does not "
			    "verify with keyring root %s (or the root may not "
			    "sign CRLs)", name, who);
	}
	k->have_crl = 1;
	return 0;
}

int
keyring_crl_expired(const struct keyring *k, char *when, size_t len)
{
	const mbedtls_x509_crl *c;
	const mbedtls_x509_time *t;

	if (!k->have_crl)
		return 0;
	for (c = &k->crl; c != NULL && c->version != 0; c = c->next) {
		t = &c->next_update;
		/* nextUpdate is optional; without it a CRL never expires. */
		if (t->year == 0 || !mbedtls_x509_time_is_past(t))
			continue;
		snprintf(when, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year,
		    t->mon, t->day, t->hour, t->min, t->sec);
		return 1;
	}
	return 0;
}

void
keyring_free(struct keyring *k)
{
	if (k == NULL)
		return;
	mbedtls_x509_crt_free(&k->roots);
	mbedtls_x509_crl_free(&k->crl);
	free(k);
}

static int
check_signature(const mbedtls_x509_crt *signer, const struct sigblock *s,
    const uint8_t digest[32], const char *who, struct err *e)
{
	mbedtls_pk_rsassa_pss_options pss = { MBEDTLS_MD_SHA256,
	    PSS_SALT_LEN };
	mbedtls_pk_context *pk = (mbedtls_pk_context *)&signer->pk;
	int r;

	switch (s->alg) {
	case SIG_ECDSA_SHA256:
		if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA))
			return err_set(e, -EBADMSG, "signature is ECDSA but "
			    "the signer (%s) has no EC key", who);
		r = mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, digest, 32,
		    s->sig, s->siglen);
		break;
	case SIG_RSA_PSS_SHA256:
		if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_RSA))
			return err_set(e, -EBADMSG, "signature is RSA-PSS but "
			    "the signer (%s) has no RSA key", who);
		if (mbedtls_pk_get_bitlen(pk) < RSA_SIGN_MIN_BITS)
			return err_set(e, -EKEYREJECTED, "signer %s: RSA key "
			    "of %zu bits, need %d", who,
			    mbedtls_pk_get_bitlen(pk), RSA_SIGN_MIN_BITS);
		r = mbedtls_pk_verify_ext(MBEDTLS_PK_RSASSA_PSS, &pss, pk,
		    MBEDTLS_MD_SHA256, digest, 32, s->sig, s->siglen);
		break;
	default:
		return err_set(e, -EBADMSG, "signature: unknown algorithm %d",
		    (int)s->alg);
	}
	if (r != 0)
		return err_set(e, -EBADMSG, "signature does not match "
		    "(signer %s)", who);
	return 0;
}

int
trust_signer_subject(const struct sigblock *s, char *buf, size_t len,
    struct err *e)
{
	mbedtls_x509_crt crt;
	int r = 0;

	mbedtls_x509_crt_init(&crt);
	if (s->ncerts == 0 ||
	    mbedtls_x509_crt_parse_der(&crt, s->cert[0], s->certlen[0]) != 0 ||
	    mbedtls_x509_dn_gets(buf, len, &crt.subject) < 0)
		r = err_set(e, -EBADMSG, "signature block: signer certificate "
		    "does not parse");
	mbedtls_x509_crt_free(&crt);
	return r;
}

/*
 * The signer's extended key usage, where it has one, must list
 * codeSigning itself. mbedtls_x509_crt_check_extended_key_usage() also
 * accepts anyExtendedKeyUsage, which would let a certificate issued for
 * "anything" sign firmware; an issuer who means code signing says so.
 * mbedtls refuses an empty EKU sequence, so an absent extension is the
 * only way to an empty list.
 */
static int
code_signing_ok(const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_sequence *cur;

	if (crt->ext_key_usage.buf.p == NULL)
		return 1;
	for (cur = &crt->ext_key_usage; cur != NULL; cur = cur->next)
		if (cur->buf.len == sizeof(MBEDTLS_OID_CODE_SIGNING) - 1 &&
		    memcmp(cur->buf.p, MBEDTLS_OID_CODE_SIGNING,
		    cur->buf.len) == 0)
			return 1;
	return 0;
}

int
trust_verify(const struct keyring *k, const struct sigblock *s,
    const uint8_t digest[32], struct err *e)
{
	mbedtls_x509_crt chain;
	char who[256], msg[256];
	uint32_t flags = 0;
	size_t i;
	int r;

	mbedtls_x509_crt_init(&chain);
	strcpy(who, "?");
	if (s->ncerts < 1 || s->ncerts > SIGBLOCK_CERTS_MAX) {
		r = err_set(e, -EBADMSG, "signature block: %zu certificates",
		    s->ncerts);
		goto out;
	}
	for (i = 0; i < s->ncerts; i++)
		if ((r = mbedtls_x509_crt_parse_der(&chain, s->cert[i],
		    s->certlen[i])) != 0) {
			r = err_set(e, -EBADMSG, "signature block: certificate "
			    "%zu: %s", i, tls_error(r, msg, sizeof(msg)));
			goto out;
		}
	if (mbedtls_x509_dn_gets(who, sizeof(who), &chain.subject) < 0)
		strcpy(who, "?");
	r = mbedtls_x509_crt_verify_with_profile(&chain,
	    (mbedtls_x509_crt *)&k->roots,
	    k->have_crl ? (mbedtls_x509_crl *)&k->crl : NULL, &profile, NULL,
	    &flags, NULL, NULL);
	/*
	 * Devices often boot with the clock at 1970 until NTP or an RTC sets
	 * it, so a certificate or CRL that is not valid *yet* is accepted.
	 * Certificate expiry is still enforced: a clock can be slow, not
	 * fast. A CRL past its nextUpdate still revokes what it lists
	 * (mbedtls checks the list either way) but does not by itself
	 * reject anyone: otherwise the update that ships a fresh CRL could
	 * never install. The agent warns when it loads it.
	 */
	flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_FUTURE |
	    MBEDTLS_X509_BADCRL_FUTURE | MBEDTLS_X509_BADCRL_EXPIRED);
	/* What is left of the CRL's flags is the CRL's fault, not the
	 * signer's: an intermediate's CRL that does not verify. */
	if (flags & (MBEDTLS_X509_BADCRL_NOT_TRUSTED |
	    MBEDTLS_X509_BADCRL_BAD_MD | MBEDTLS_X509_BADCRL_BAD_PK |
	    MBEDTLS_X509_BADCRL_BAD_KEY)) {
		if (mbedtls_x509_crt_verify_info(msg, sizeof(msg), "", flags &
		    (MBEDTLS_X509_BADCRL_NOT_TRUSTED |
		    MBEDTLS_X509_BADCRL_BAD_MD | MBEDTLS_X509_BADCRL_BAD_PK |
		    MBEDTLS_X509_BADCRL_BAD_KEY)) < 0)
			strcpy(msg, "does not verify");
		for (i = 0; msg[i] != '\0'; i++)
			if (msg[i] == '\n')
				msg[i] = msg[i + 1] != '\0' ? ';' : '\0';
		r = err_set(e, -EKEYREJECTED, "CRL %s: %s (checking signer "
		    "%s)", k->crlname, msg, who);
		goto out;
	}
	if (flags != 0) {
		if (mbedtls_x509_crt_verify_info(msg, sizeof(msg), "", flags) <
		    0)
			strcpy(msg, "verification failed");
		/* verify_info ends each reason with a newline; join them. */
		for (i = 0; msg[i] != '\0'; i++)
			if (msg[i] == '\n')
				msg[i] = msg[i + 1] != '\0' ? ';' : '\0';
		r = err_set(e, -EKEYREJECTED, "signer %s: %s", who, msg);
		goto out;
	}
	if (r != 0 && r != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		r = err_set(e, -EKEYREJECTED, "signer %s: %s", who,
		    tls_error(r, msg, sizeof(msg)));
		goto out;
	}
	if (!code_signing_ok(&chain)) {
		r = err_set(e, -EKEYREJECTED, "signer %s: extended key usage "
		    "lacks codeSigning (anyExtendedKeyUsage does not count)",
		    who);
		goto out;
	}
	/* Passes when the extension is absent, as intended. */
	if (mbedtls_x509_crt_check_key_usage(&chain,
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0) {
		r = err_set(e, -EKEYREJECTED, "signer %s: key usage lacks "
		    "digitalSignature", who);
		goto out;
	}
	r = check_signature(&chain, s, digest, who, e);
out:
	mbedtls_x509_crt_free(&chain);
	return r;
}

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
		    tls_error(r, msg, sizeof(msg)));
	return 0;
}

int
trust_sign(const void *key, size_t keylen, const void *cert,
    size_t certlen, const void *chain, size_t chainlen,
    const uint8_t digest[32], uint8_t **out, size_t *outlen,
    struct err *e)
{
	unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	unsigned char *buf = NULL;
	mbedtls_x509_crt crts, *c;
	mbedtls_pk_context pk;
	struct sigblock s;
	struct rng g;
	char msg[128];
	size_t siglen = 0;
	int r;

	*out = NULL;
	*outlen = 0;
	memset(&s, 0, sizeof(s));
	mbedtls_pk_init(&pk);
	mbedtls_x509_crt_init(&crts);
	if ((r = rng_init(&g, "sign", e)) < 0)
		goto out;
	if ((buf = nul_copy(key, keylen)) == NULL) {
		r = err_set(e, -ENOMEM, "sign: key");
		goto out;
	}
#if MBEDTLS_VERSION_MAJOR >= 3
	r = mbedtls_pk_parse_key(&pk, buf, keylen + 1, NULL, 0,
	    mbedtls_ctr_drbg_random, &g.drbg);
#else
	r = mbedtls_pk_parse_key(&pk, buf, keylen + 1, NULL, 0);
#endif
	mbedtls_platform_zeroize(buf, keylen + 1);
	free(buf);
	buf = NULL;
	if (r != 0) {
		r = err_set(e, -EINVAL, "sign: private key: %s",
		    tls_error(r, msg, sizeof(msg)));
		goto out;
	}
	/* The signer comes first, then the intermediates from either the
	 * certificate file or the chain file, in the order given. */
	if ((buf = nul_copy(cert, certlen)) == NULL) {
		r = err_set(e, -ENOMEM, "sign: certificate");
		goto out;
	}
	r = mbedtls_x509_crt_parse(&crts, buf, certlen + 1);
	free(buf);
	buf = NULL;
	if (r != 0 || crts.version == 0) {
		r = err_set(e, -EINVAL, "sign: certificate: %s", r != 0 ?
		    tls_error(r, msg, sizeof(msg)) : "no certificate");
		goto out;
	}
	if (chain != NULL && chainlen > 0) {
		if ((buf = nul_copy(chain, chainlen)) == NULL) {
			r = err_set(e, -ENOMEM, "sign: chain");
			goto out;
		}
		r = mbedtls_x509_crt_parse(&crts, buf, chainlen + 1);
		free(buf);
		buf = NULL;
		if (r != 0) {
			r = err_set(e, -EINVAL, "sign: chain: %s", r > 0 ?
			    "a certificate did not parse" :
			    tls_error(r, msg, sizeof(msg)));
			goto out;
		}
	}
#if MBEDTLS_VERSION_MAJOR >= 3
	r = mbedtls_pk_check_pair(&crts.pk, &pk, mbedtls_ctr_drbg_random,
	    &g.drbg);
#else
	r = mbedtls_pk_check_pair(&crts.pk, &pk);
#endif
	if (r != 0) {
		r = err_set(e, -EINVAL, "sign: the private key does not match "
		    "the certificate");
		goto out;
	}
	if (mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA)) {
		s.alg = SIG_ECDSA_SHA256;
#if MBEDTLS_VERSION_MAJOR >= 3
		r = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, digest, 32, sig,
		    sizeof(sig), &siglen, mbedtls_ctr_drbg_random, &g.drbg);
#else
		r = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, digest, 32, sig,
		    &siglen, mbedtls_ctr_drbg_random, &g.drbg);
#endif
	} else if (mbedtls_pk_can_do(&pk, MBEDTLS_PK_RSA)) {
		if (mbedtls_pk_get_bitlen(&pk) < RSA_SIGN_MIN_BITS) {
			r = err_set(e, -EINVAL, "sign: RSA key of %zu bits, "
			    "need %d", mbedtls_pk_get_bitlen(&pk),
			    RSA_SIGN_MIN_BITS);
			goto out;
		}
		s.alg = SIG_RSA_PSS_SHA256;
		/* PSS with the salt as long as the hash (32 bytes), which
		 * is what the verifier expects. */
#if MBEDTLS_VERSION_MAJOR >= 3
		r = mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS, &pk,
		    MBEDTLS_MD_SHA256, digest, 32, sig, sizeof(sig), &siglen,
		    mbedtls_ctr_drbg_random, &g.drbg);
#else
		mbedtls_rsa_set_padding(mbedtls_pk_rsa(pk),
		    MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
		r = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, digest, 32, sig,
		    &siglen, mbedtls_ctr_drbg_random, &g.drbg);
#endif
	} else {
		r = err_set(e, -EINVAL, "sign: key is neither EC nor RSA");
		goto out;
	}
	if (r != 0) {
		r = err_set(e, -EINVAL, "sign: %s",
		    tls_error(r, msg, sizeof(msg)));
		goto out;
	}
	s.sig = sig;
	s.siglen = siglen;
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
#if MBEDTLS_VERSION_MAJOR >= 3
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
	    n, hash)) != 0)
		return r;
#if MBEDTLS_VERSION_MAJOR >= 3
	r = mbedtls_pk_sign(issuer, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig,
	    sizeof(sig), &siglen, mbedtls_ctr_drbg_random, &g->drbg);
#else
	r = mbedtls_pk_sign(issuer, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig,
	    &siglen, mbedtls_ctr_drbg_random, &g->drbg);
#endif
	if (r != 0)
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
trust_keys_create(const char *cn, char **root_pem, char **root_key_pem,
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
		    tls_error(r, msg, sizeof(msg)));
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

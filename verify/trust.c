/*
 * verify/trust: certificate chains and signatures with mbedtls, the
 * checking side only (signing is host/sign.c). Written against the
 * mbedtls_md/pk/x509_crt APIs that are the same in 2.28 and 3.6; the
 * versions accepted are listed in verify/mbed.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "common/err.h"
#include "verify/bundle.h"
#include "verify/mbed.h"
#include "verify/trust.h"

#define PSS_SALT_LEN		32

struct keyring {
	mbedtls_x509_crt	roots;
	mbedtls_x509_crl	crl;
	int			have_crl;
	char			crlname[256];	/* for messages */
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
	if ((buf = mbed_nul_copy(pem, pemlen)) == NULL) {
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
			    mbed_error(r, msg, sizeof(msg)));
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
 * chain, where a bad CRL would look like the signer's fault. mbedtls 3
 * made the signature fields private and offers no accessor; they are
 * read through MBEDTLS_PRIVATE() (verify/mbed.h). */
static int
crl_signed_by(const mbedtls_x509_crl *c, const mbedtls_x509_crt *root)
{
	const mbedtls_md_type_t md_type = c->MBEDTLS_PRIVATE(sig_md);
	const mbedtls_x509_buf *sig = &c->MBEDTLS_PRIVATE(sig);
	const mbedtls_md_info_t *md;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];

	if ((profile.allowed_mds & MBEDTLS_X509_ID_FLAG(md_type)) == 0 ||
	    (md = mbedtls_md_info_from_type(md_type)) == NULL ||
	    mbedtls_md(md, c->tbs.p, c->tbs.len, hash) != 0)
		return 0;
	return mbedtls_pk_verify_ext(c->MBEDTLS_PRIVATE(sig_pk),
	    c->MBEDTLS_PRIVATE(sig_opts), (mbedtls_pk_context *)&root->pk,
	    md_type, hash, mbedtls_md_get_size(md), sig->p, sig->len) == 0;
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
	if ((buf = mbed_nul_copy(crl, crllen)) == NULL)
		return err_set(e, -ENOMEM, "CRL %s", name);
	/* PEM needs the NUL counted; DER must be its exact length. */
	r = mbedtls_x509_crl_parse(&k->crl, buf, is_pem(crl, crllen) ?
	    crllen + 1 : crllen);
	free(buf);
	if (r != 0)
		return err_set(e, -EINVAL, "CRL %s: %s", name,
		    mbed_error(r, msg, sizeof(msg)));
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
		if (mbedtls_pk_get_bitlen(pk) < MBED_RSA_SIGN_MIN_BITS)
			return err_set(e, -EKEYREJECTED, "signer %s: RSA key "
			    "of %zu bits, need %d", who,
			    mbedtls_pk_get_bitlen(pk), MBED_RSA_SIGN_MIN_BITS);
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

/* mbedtls_x509_crt_verify_info() for flags on one line: it ends each
 * reason with a newline; join them with ';'. fallback if it fails. */
static void
flags_text(char *msg, size_t size, uint32_t flags, const char *fallback)
{
	size_t i;

	if (mbedtls_x509_crt_verify_info(msg, size, "", flags) < 0)
		snprintf(msg, size, "%s", fallback);
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n')
			msg[i] = msg[i + 1] != '\0' ? ';' : '\0';
}

/* Whether chain (the signer first) chains to a root in k, unrevoked and
 * fit for code signing. -EKEYREJECTED names who, or the CRL when the
 * CRL is at fault. */
static int
check_chain(const struct keyring *k, const mbedtls_x509_crt *chain,
    const char *who, struct err *e)
{
	const uint32_t crl_bad = MBEDTLS_X509_BADCRL_NOT_TRUSTED |
	    MBEDTLS_X509_BADCRL_BAD_MD | MBEDTLS_X509_BADCRL_BAD_PK |
	    MBEDTLS_X509_BADCRL_BAD_KEY;
	char msg[256];
	uint32_t flags = 0;
	int r;

	r = mbedtls_x509_crt_verify_with_profile(
	    (mbedtls_x509_crt *)chain, (mbedtls_x509_crt *)&k->roots,
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
	if (flags & crl_bad) {
		flags_text(msg, sizeof(msg), flags & crl_bad,
		    "does not verify");
		return err_set(e, -EKEYREJECTED, "CRL %s: %s (checking signer "
		    "%s)", k->crlname, msg, who);
	}
	if (flags != 0) {
		flags_text(msg, sizeof(msg), flags, "verification failed");
		return err_set(e, -EKEYREJECTED, "signer %s: %s", who, msg);
	}
	if (r != 0 && r != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
		return err_set(e, -EKEYREJECTED, "signer %s: %s", who,
		    mbed_error(r, msg, sizeof(msg)));
	if (!code_signing_ok(chain))
		return err_set(e, -EKEYREJECTED, "signer %s: extended key "
		    "usage lacks codeSigning (anyExtendedKeyUsage does not "
		    "count)", who);
	/* Passes when the extension is absent, as intended. */
	if (mbedtls_x509_crt_check_key_usage(chain,
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
		return err_set(e, -EKEYREJECTED, "signer %s: key usage lacks "
		    "digitalSignature", who);
	return 0;
}

int
trust_verify(const struct keyring *k, const struct sigblock *s,
    const uint8_t digest[32], struct err *e)
{
	mbedtls_x509_crt chain;
	char who[256], msg[256];
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
			    "%zu: %s", i, mbed_error(r, msg, sizeof(msg)));
			goto out;
		}
	if (mbedtls_x509_dn_gets(who, sizeof(who), &chain.subject) < 0)
		strcpy(who, "?");
	if ((r = check_chain(k, &chain, who, e)) == 0)
		r = check_signature(&chain, s, digest, who, e);
out:
	mbedtls_x509_crt_free(&chain);
	return r;
}

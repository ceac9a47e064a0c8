/*
 * verify/sigblock: the self-delimiting signature block that follows the
 * manifest. It is parsed before anything in it is trusted, so every
 * length is bounded and checked against what remains of the buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/err.h"
#include "verify/bundle.h"

#define SIGBLOCK_MAGIC	"UPKS"
#define SIG_MAX		1024u
#define CERT_MAX	16384u

int
sigblock_length(const uint8_t *head, size_t *lenp, struct err *e)
{
	uint32_t len;

	*lenp = 0;
	if (memcmp(head, SIGBLOCK_MAGIC, 4) != 0)
		return err_set(e, -EBADMSG, "signature block: bad magic");
	len = get32(head + 4);
	if (len <= BUNDLE_SIGBLOCK_HEAD || len > BUNDLE_SIGBLOCK_MAX)
		return err_set(e, -EBADMSG, "signature block: block_len %u "
		    "out of range %u..%u", len, BUNDLE_SIGBLOCK_HEAD + 1,
		    BUNDLE_SIGBLOCK_MAX);
	*lenp = len;
	return 0;
}

int
sigblock_parse(const uint8_t *buf, size_t len, struct sigblock *s,
    struct err *e)
{
	size_t blen, pos, i;
	uint32_t siglen, dlen;
	uint16_t alg, ncerts;
	int r;

	memset(s, 0, sizeof(*s));
	if (len < BUNDLE_SIGBLOCK_HEAD)
		return err_set(e, -EBADMSG, "signature block: %zu bytes, "
		    "shorter than its %u-byte head", len, BUNDLE_SIGBLOCK_HEAD);
	if ((r = sigblock_length(buf, &blen, e)) < 0)
		return r;
	if (blen != len)
		return err_set(e, -EBADMSG, "signature block: block_len %zu "
		    "but %zu bytes given", blen, len);
	alg = get16(buf + 8);
	if (alg != SIG_ECDSA_SHA256 && alg != SIG_RSA_PSS_SHA256)
		return err_set(e, -EBADMSG, "signature block: unknown "
		    "algorithm %u", alg);
	ncerts = get16(buf + 10);
	if (ncerts < 1 || ncerts > SIGBLOCK_CERTS_MAX)
		return err_set(e, -EBADMSG, "signature block: ncerts %u out "
		    "of range 1..%u", ncerts, SIGBLOCK_CERTS_MAX);
	siglen = get32(buf + 12);
	if (siglen < 1 || siglen > SIG_MAX)
		return err_set(e, -EBADMSG, "signature block: siglen %u out "
		    "of range 1..%u", siglen, SIG_MAX);
	pos = BUNDLE_SIGBLOCK_HEAD;
	if (siglen > len - pos)
		return err_set(e, -EBADMSG, "signature block: signature "
		    "(%u bytes) runs past the block", siglen);
	s->alg = (enum sig_alg)alg;
	s->sig = buf + pos;
	s->siglen = siglen;
	pos += siglen;
	for (i = 0; i < ncerts; i++) {
		if (len - pos < 4)
			return err_set(e, -EBADMSG, "signature block: "
			    "certificate %zu: length runs past the block", i);
		dlen = get32(buf + pos);
		pos += 4;
		if (dlen < 1 || dlen > CERT_MAX)
			return err_set(e, -EBADMSG, "signature block: "
			    "certificate %zu: der_len %u out of range 1..%u",
			    i, dlen, CERT_MAX);
		if (dlen > len - pos)
			return err_set(e, -EBADMSG, "signature block: "
			    "certificate %zu: %u bytes run past the block",
			    i, dlen);
		s->cert[i] = buf + pos;
		s->certlen[i] = dlen;
		pos += dlen;
	}
	s->ncerts = ncerts;
	if (pos != len)
		return err_set(e, -EBADMSG, "signature block: %zu trailing "
		    "bytes after certificate %u", len - pos, ncerts - 1);
	return 0;
}

int
sigblock_encode(const struct sigblock *s, uint8_t **out, size_t *outlen,
    struct err *e)
{
	uint8_t *buf;
	size_t len, pos, i;

	*out = NULL;
	*outlen = 0;
	if (s->alg != SIG_ECDSA_SHA256 && s->alg != SIG_RSA_PSS_SHA256)
		return err_set(e, -EINVAL, "signature block: unknown "
		    "algorithm %d", (int)s->alg);
	if (s->ncerts < 1 || s->ncerts > SIGBLOCK_CERTS_MAX)
		return err_set(e, -EINVAL, "signature block: ncerts %zu out "
		    "of range 1..%u", s->ncerts, SIGBLOCK_CERTS_MAX);
	if (s->siglen < 1 || s->siglen > SIG_MAX)
		return err_set(e, -EINVAL, "signature block: siglen %zu out "
		    "of range 1..%u", s->siglen, SIG_MAX);
	len = BUNDLE_SIGBLOCK_HEAD + s->siglen;
	for (i = 0; i < s->ncerts; i++) {
		if (s->certlen[i] < 1 || s->certlen[i] > CERT_MAX)
			return err_set(e, -EINVAL, "signature block: "
			    "certificate %zu: %zu bytes out of range 1..%u",
			    i, s->certlen[i], CERT_MAX);
		len += 4 + s->certlen[i];
	}
	if (len > BUNDLE_SIGBLOCK_MAX)
		return err_set(e, -EINVAL, "signature block: %zu bytes, "
		    "more than %u", len, BUNDLE_SIGBLOCK_MAX);
	if ((buf = malloc(len)) == NULL)
		return err_set(e, -ENOMEM, "signature block: %zu bytes", len);
	memcpy(buf, SIGBLOCK_MAGIC, 4);
	put32(buf + 4, (uint32_t)len);
	put16(buf + 8, (uint16_t)s->alg);
	put16(buf + 10, (uint16_t)s->ncerts);
	put32(buf + 12, (uint32_t)s->siglen);
	pos = BUNDLE_SIGBLOCK_HEAD;
	memcpy(buf + pos, s->sig, s->siglen);
	pos += s->siglen;
	for (i = 0; i < s->ncerts; i++) {
		put32(buf + pos, (uint32_t)s->certlen[i]);
		pos += 4;
		memcpy(buf + pos, s->cert[i], s->certlen[i]);
		pos += s->certlen[i];
	}
	*out = buf;
	*outlen = len;
	return 0;
}

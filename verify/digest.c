/*
 * verify/digest: SHA-256 for the bundle reader and the bundle maker. The
 * CPU's SHA instructions where it has them (verify/sha256.c), mbedtls
 * otherwise: the same digest either way (tests/unit/sha256_test.c).
 */
#include <errno.h>
#include <stdlib.h>

#include <mbedtls/md.h>

#include "common/err.h"
#include "verify/digest.h"
#include "verify/sha256.h"

/* The CPU's SHA instructions where it has them (verify/sha256.c),
 * mbedtls otherwise: the same digest either way. */
struct digest {
	int			hw;
	struct sha256		s;
	mbedtls_md_context_t	md;
};

void
digest_sha256(const void *buf, size_t len, uint8_t out[32])
{
	struct sha256 s;

	if (sha256_hw()) {
		sha256_init(&s);
		sha256_update(&s, buf, len);
		sha256_final(&s, out);
		return;
	}
	mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), buf, len,
	    out);
}

int
digest_open(struct digest **hp, struct err *e)
{
	struct digest *h;

	*hp = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return err_set(e, -ENOMEM, "sha256: context");
	mbedtls_md_init(&h->md);
	if ((h->hw = sha256_hw()) != 0) {
		sha256_init(&h->s);
		*hp = h;
		return 0;
	}
	if (mbedtls_md_setup(&h->md,
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 0) != 0 ||
	    mbedtls_md_starts(&h->md) != 0) {
		digest_free(h);
		return err_set(e, -ENOMEM, "sha256: setup");
	}
	*hp = h;
	return 0;
}

void
digest_update(struct digest *h, const void *buf, size_t len)
{
	if (h->hw)
		sha256_update(&h->s, buf, len);
	else
		mbedtls_md_update(&h->md, buf, len);
}

void
digest_final(struct digest *h, uint8_t out[32])
{
	if (h->hw)
		sha256_final(&h->s, out);
	else
		mbedtls_md_finish(&h->md, out);
}

void
digest_free(struct digest *h)
{
	if (h == NULL)
		return;
	mbedtls_md_free(&h->md);
	free(h);
}

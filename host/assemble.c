/*
 * host/assemble: writes a whole bundle. Every payload is compressed into
 * a temporary file first (the header needs their total size and the
 * signature needs the manifest with every chunk hash), then the header,
 * manifest and signature block go into a second temporary file, the
 * payloads are copied behind them, and only a bundle fsync'd whole is
 * renamed into place. The signing key is tried before any compression.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "host/assemble.h"
#include "host/compress.h"
#include "host/plan.h"
#include "host/sign.h"
#include "verify/bundle.h"
#include "verify/digest.h"

#define PEM_MAX		(1u << 20)

/* What create_bundle() holds between its steps; released in one place. */
struct build {
	const char	*out;
	char		 ptmp[4096];	/* payloads, compressed */
	char		 btmp[4096];	/* the bundle before its rename */
	int		 pfd, bfd;
	uint64_t	 base;		/* payload bytes in ptmp */
	uint8_t		 hdr[BUNDLE_HEADER_SIZE];
	char		*json;
	size_t		 jlen;
	uint8_t		*sig;
	size_t		 siglen;
};

void
create_manifest_clear(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->npayloads; i++)
		create_payload_free(&m->payloads[i]);
	free(m->payloads);
	m->payloads = NULL;
	m->npayloads = 0;
}

/* Copies len bytes of in (from its start) to the end of out: in-kernel
 * where the filesystem allows, else through a buffer. */
static int
copy_payload(int in, int out, uint64_t len, const char *inname,
    const char *outname, struct err *e)
{
	static uint8_t buf[1 << 16];
	loff_t ioff = 0;
	ssize_t n;
	int r, plain = 0;

	while (len > 0 && !plain) {
		n = copy_file_range(in, &ioff, out, NULL,
		    len > (1u << 30) ? (1u << 30) : (size_t)len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
		    errno == EINVAL || errno == EOPNOTSUPP)) {
			plain = 1;
			break;
		}
		if (n < 0) {
			r = -errno;
			return err_set(e, r, "copy %s to %s: %s", inname,
			    outname, strerror(-r));
		}
		if (n == 0)
			return err_set(e, -EIO, "copy %s to %s: %s shrank",
			    inname, outname, inname);
		len -= (uint64_t)n;
	}
	if (lseek(in, ioff, SEEK_SET) == -1) {
		r = -errno;
		return err_set(e, r, "seek %s: %s", inname, strerror(-r));
	}
	while (len > 0) {
		n = read_full(in, buf, len < sizeof(buf) ? (size_t)len :
		    sizeof(buf));
		if (n <= 0)
			return err_set(e, n < 0 ? (int)n : -EIO, "read %s: %s",
			    inname, n < 0 ? strerror((int)-n) : "short");
		if ((r = write_all(out, buf, (size_t)n)) < 0)
			return err_set(e, r, "write %s: %s", outname,
			    strerror(-r));
		len -= (uint64_t)n;
	}
	return 0;
}

void
create_signer_clear(struct create_pems *pm)
{
	if (pm->key != NULL)
		explicit_bzero(pm->key, pm->keylen);
	free(pm->key);
	free(pm->cert);
	free(pm->chain);
}

int
create_signer_load(const struct create_signer *sg, struct create_pems *pm,
    struct err *e)
{
	uint8_t zero[32] = { 0 }, *sig = NULL;
	size_t siglen;
	int r;

	if ((r = file_read(sg->key, PEM_MAX, &pm->key, &pm->keylen, e)) < 0 ||
	    (r = file_read(sg->cert, PEM_MAX, &pm->cert, &pm->certlen,
	    e)) < 0 ||
	    (sg->chain != NULL && (r = file_read(sg->chain, PEM_MAX,
	    &pm->chain, &pm->chainlen, e)) < 0))
		return err_prefix(e, "signing key");
	/* A trial signature catches a wrong key or certificate before
	 * minutes of compression rather than after. */
	r = sign_bundle(pm->key, pm->keylen, pm->cert, pm->certlen,
	    pm->chain, pm->chainlen, zero, &sig, &siglen, e);
	free(sig);
	if (r < 0)
		return err_prefix(e, "sign with %s and %s", sg->key, sg->cert);
	return 0;
}

/* Runs compatible, version and created past the manifest parser with a
 * stand-in payload, so a bad --version fails before the compression
 * rather than after it. */
int
create_precheck(const struct manifest *m, struct err *e)
{
	char name[] = "precheck";
	struct bundle_chunk c = { .csize = 1, .usize = 1 };
	struct bundle_payload bp = { .name = name, .class = name,
	    .kind = PAYLOAD_RAW, .size = 1, .chunk_size = BUNDLE_CHUNK_MIN,
	    .csize = 1, .nchunks = 1, .chunks = &c };
	struct manifest t = *m, *parsed = NULL;
	char *json = NULL;
	size_t len;
	int r;

	t.npayloads = 1;
	t.payloads = &bp;
	if ((r = manifest_encode(&t, &json, &len, e)) == 0)
		r = manifest_parse(json, len, &parsed, e);
	manifest_free(parsed);
	free(json);
	return r;
}

/* out.payload.tmp and out.tmp. */
static int
build_names(struct build *b, const char *out, struct err *e)
{
	b->out = out;
	b->pfd = b->bfd = -1;
	if (snprintf(b->ptmp, sizeof(b->ptmp), "%s.payload.tmp", out) >=
	    (int)sizeof(b->ptmp) ||
	    snprintf(b->btmp, sizeof(b->btmp), "%s.tmp", out) >=
	    (int)sizeof(b->btmp))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", out);
	return 0;
}

/* Compresses every source of p into ptmp, one payload after the other,
 * and fills m's payloads; b->base ends as their total size. */
static int
write_payloads(struct build *b, const struct create_plan *p,
    const struct create_opts *o, struct manifest *m, struct err *e)
{
	size_t i;
	int r;

	if ((m->payloads = calloc(p->nsources, sizeof(*m->payloads))) ==
	    NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", b->out);
	/* O_NOFOLLOW: a symlink planted at a temp name is not followed. */
	if ((b->pfd = open(b->ptmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		r = -errno;
		return err_set(e, r, "create %s: %s", b->ptmp, strerror(-r));
	}
	for (i = 0; i < p->nsources; i++) {
		if ((r = create_payload(&p->sources[i], o, b->pfd, b->base,
		    &m->payloads[i], e)) < 0)
			return r;
		m->npayloads++;
		b->base += m->payloads[i].csize;
	}
	return 0;
}

/* The manifest, the header and the signature over both into b. */
static int
seal(struct build *b, const struct manifest *m, const struct create_pems *pm,
    const char *key, struct err *e)
{
	struct bundle_header bh;
	struct manifest *check = NULL;
	struct digest *h;
	uint8_t digest[32];
	int r;

	if ((r = manifest_encode(m, &b->json, &b->jlen, e)) < 0)
		return r;
	/* Never sign what a device would refuse to parse. */
	r = manifest_parse(b->json, b->jlen, &check, e);
	manifest_free(check);
	if (r < 0)
		return err_prefix(e, "%s: manifest self-check", b->out);
	bh.format = BUNDLE_FORMAT;
	bh.manifest_len = b->jlen;
	bh.payload_len = b->base;
	bundle_header_encode(&bh, b->hdr);
	if ((r = digest_open(&h, e)) < 0)
		return r;
	digest_update(h, b->hdr, sizeof(b->hdr));
	digest_update(h, b->json, b->jlen);
	digest_final(h, digest);
	digest_free(h);
	if ((r = sign_bundle(pm->key, pm->keylen, pm->cert, pm->certlen,
	    pm->chain, pm->chainlen, digest, &b->sig, &b->siglen, e)) < 0)
		return err_prefix(e, "sign %s with %s", b->out, key);
	return 0;
}

/* Header, manifest, signature and payloads into btmp, then renamed to
 * out: the bundle must be whole on disk before its name appears. */
static int
write_out(struct build *b, struct err *e)
{
	int r;

	if ((b->bfd = open(b->btmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1) {
		r = -errno;
		return err_set(e, r, "create %s: %s", b->btmp, strerror(-r));
	}
	if ((r = write_all(b->bfd, b->hdr, sizeof(b->hdr))) < 0 ||
	    (r = write_all(b->bfd, b->json, b->jlen)) < 0 ||
	    (r = write_all(b->bfd, b->sig, b->siglen)) < 0)
		return err_set(e, r, "write %s: %s", b->btmp, strerror(-r));
	if ((r = copy_payload(b->pfd, b->bfd, b->base, b->ptmp, b->btmp,
	    e)) < 0)
		return r;
	if (fsync(b->bfd) == -1) {
		r = -errno;
		return err_set(e, r, "fsync %s: %s", b->btmp, strerror(-r));
	}
	r = close(b->bfd);
	b->bfd = -1;
	if (r == -1) {
		r = -errno;
		return err_set(e, r, "close %s: %s", b->btmp, strerror(-r));
	}
	if (rename(b->btmp, b->out) == -1) {
		r = -errno;
		return err_set(e, r, "rename %s to %s: %s", b->btmp, b->out,
		    strerror(-r));
	}
	return fsync_parent(b->out, e);
}

int
create_bundle(const char *out, const struct create_plan *p,
    const struct create_opts *o, const struct create_signer *sg,
    struct manifest *m, struct err *e)
{
	struct build b = { .json = NULL };
	struct create_pems pm = { .key = NULL };
	int r;

	m->payloads = NULL;
	m->npayloads = 0;
	if ((r = build_names(&b, out, e)) < 0)
		return r;
	if (p->nsources == 0)
		return err_set(e, -EINVAL, "%s: no payloads", out);
	if ((r = create_precheck(m, e)) < 0)
		return err_prefix(e, "%s", out);
	if ((r = create_signer_load(sg, &pm, e)) < 0 ||
	    (r = write_payloads(&b, p, o, m, e)) < 0 ||
	    (r = seal(&b, m, &pm, sg->key, e)) < 0)
		goto out;
	r = write_out(&b, e);
out:
	if (b.pfd != -1)
		close(b.pfd);
	unlink(b.ptmp);
	if (b.bfd != -1)
		close(b.bfd);
	if (r < 0) {
		unlink(b.btmp);
		create_manifest_clear(m);
	}
	free(b.json);
	free(b.sig);
	create_signer_clear(&pm);
	return r;
}

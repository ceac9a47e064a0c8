/*
 * The bundle reader, in one sequential pass over a file descriptor.
 *
 * bundle_reader_open() reads header, manifest and signature block and
 * checks the signature before the manifest JSON is even parsed, so no
 * untrusted byte reaches the JSON parser on a device; then each payload's
 * sha256 against its chunk rows. bundle_reader_chunk() then reads the
 * chunks in order and checks each one's signed SHA-256 before it hands
 * it out: a tampered chunk never leaves the reader, nor does any chunk
 * after it.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "source/source.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"
#include "verify/reader.h"
#include "verify/trust.h"

struct bundle_reader {
	struct source		*src;
	char			*srcname;
	struct bundle_header	 h;
	struct manifest		*m;
	char			 id[65];
	char			 signer[256];
	int			 verified;
	int			 begun;		/* payloads are being read */
	size_t			 payload;	/* the next chunk's */
	size_t			 index;
	int			 source_failed;
	int			 cancelfd;	/* readable: stop; or -1 */
};

/* What bundle_reader_open() reads before it may trust any of it. */
struct head {
	uint8_t		 hdr[BUNDLE_HEADER_SIZE];
	char		*mbuf;		/* manifest JSON */
	uint8_t		*sbuf;		/* signature block */
	struct sigblock	 sig;		/* points into sbuf */
};

static int
read_exact(struct bundle_reader *r, void *buf, size_t len, const char *what,
    struct err *e)
{
	ssize_t n;

	/* The source's message names it and says what went wrong (a
	 * file's errno, an HTTP status): it stands as it is. */
	if ((n = source_read(r->src, buf, len, -1, e)) < 0)
		return (int)n;
	if ((size_t)n != len)
		return err_set(e, -EPIPE, "%s: truncated in %s (%zd of %zu "
		    "bytes)", r->srcname, what, n, len);
	return 0;
}

/* Reads header, manifest and signature block into hd, and parses the
 * header and the block: their bytes only, nothing trusted yet. */
static int
read_head(struct bundle_reader *r, struct head *hd, struct err *e)
{
	uint8_t shead[BUNDLE_SIGBLOCK_HEAD];
	size_t slen;
	int rc;

	if ((rc = read_exact(r, hd->hdr, sizeof(hd->hdr), "header", e)) < 0)
		return rc;
	if ((rc = bundle_header_parse(hd->hdr, &r->h, e)) < 0)
		return err_prefix(e, "%s", r->srcname);
	if ((hd->mbuf = malloc(r->h.manifest_len)) == NULL)
		return err_set(e, -ENOMEM, "%s: manifest of %llu bytes",
		    r->srcname, (unsigned long long)r->h.manifest_len);
	if ((rc = read_exact(r, hd->mbuf, r->h.manifest_len, "manifest",
	    e)) < 0)
		return rc;
	if ((rc = read_exact(r, shead, sizeof(shead), "signature block",
	    e)) < 0)
		return rc;
	if ((rc = sigblock_length(shead, &slen, e)) < 0)
		return err_prefix(e, "%s", r->srcname);
	if ((hd->sbuf = malloc(slen)) == NULL)
		return err_set(e, -ENOMEM, "%s: signature block", r->srcname);
	memcpy(hd->sbuf, shead, sizeof(shead));
	if ((rc = read_exact(r, hd->sbuf + sizeof(shead), slen -
	    sizeof(shead), "signature block", e)) < 0)
		return rc;
	if ((rc = sigblock_parse(hd->sbuf, slen, &hd->sig, e)) < 0 ||
	    (rc = trust_signer_subject(&hd->sig, r->signer,
	    sizeof(r->signer), e)) < 0)
		return err_prefix(e, "%s", r->srcname);
	return 0;
}

/* The signature (with k) over header||manifest, whose digest is the id;
 * only then the manifest, its payload area and each payload's hash. */
static int
check_head(struct bundle_reader *r, const struct head *hd,
    const struct keyring *k, struct err *e)
{
	struct digest *sha;
	uint8_t digest[32];
	uint64_t total;
	size_t i;
	int rc;

	if ((rc = digest_open(&sha, e)) < 0)
		return rc;
	digest_update(sha, hd->hdr, sizeof(hd->hdr));
	digest_update(sha, hd->mbuf, r->h.manifest_len);
	digest_final(sha, digest);
	digest_free(sha);
	bundle_hex(digest, sizeof(digest), r->id);
	if (k != NULL) {
		if ((rc = trust_verify(k, &hd->sig, digest, e)) < 0)
			return err_prefix(e, "%s", r->srcname);
		r->verified = 1;
	}
	if ((rc = manifest_parse(hd->mbuf, r->h.manifest_len, &r->m, e)) < 0)
		return err_prefix(e, "%s", r->srcname);
	total = 0;
	for (i = 0; i < r->m->npayloads; i++)
		total += r->m->payloads[i].csize;
	if (total != r->h.payload_len)
		return err_set(e, -EBADMSG, "%s: header says %llu payload "
		    "bytes, manifest %llu", r->srcname,
		    (unsigned long long)r->h.payload_len,
		    (unsigned long long)total);
	/* The payload hash is the hash of the rows' usha256 digests: it
	 * binds the chunk list, from the manifest alone, on the device and
	 * in bundle verify alike (docs/bundle-format.md). */
	for (i = 0; i < r->m->npayloads; i++)
		if ((rc = chunk_check_payload(&r->m->payloads[i], e)) < 0)
			return err_prefix(e, "%s", r->srcname);
	return 0;
}

int
bundle_reader_open(struct source *src, const struct keyring *k,
    struct bundle_reader **rp, struct err *e)
{
	const char *srcname = source_name(src);
	struct bundle_reader *r;
	struct head hd;
	int rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->srcname = strdup(srcname)) == NULL) {
		free(r);
		return err_set(e, -ENOMEM, "%s: out of memory", srcname);
	}
	r->src = src;
	r->cancelfd = -1;
	memset(&hd, 0, sizeof(hd));
	if ((rc = read_head(r, &hd, e)) == 0 &&
	    (rc = check_head(r, &hd, k, e)) == 0) {
		*rp = r;
		r = NULL;
	}
	free(hd.sbuf);
	free(hd.mbuf);
	bundle_reader_free(r);
	/* The manifest JSON and its parse tree are gone: hand the heap
	 * they used back before the chunk buffers are allocated. */
	malloc_trim(0);
	return rc;
}

const struct manifest *
bundle_reader_manifest(const struct bundle_reader *r)
{
	return r->m;
}

const char *
bundle_reader_id(const struct bundle_reader *r)
{
	return r->id;
}

const char *
bundle_reader_signer(const struct bundle_reader *r)
{
	return r->signer;
}

int
bundle_reader_verified(const struct bundle_reader *r)
{
	return r->verified;
}

const char *
bundle_reader_name(const struct bundle_reader *r)
{
	return r->srcname;
}

void
bundle_reader_set_cancel(struct bundle_reader *r, int fd)
{
	r->cancelfd = fd;
}

int
bundle_reader_begin(struct bundle_reader *r, struct err *e)
{
	if (r->begun)
		return err_set(e, -EINVAL, "%s: payloads already read",
		    r->srcname);
	r->begun = 1;
	return 0;
}

int
bundle_reader_source_failed(const struct bundle_reader *r)
{
	return r->source_failed;
}

void
bundle_reader_free(struct bundle_reader *r)
{
	if (r == NULL)
		return;
	manifest_free(r->m);
	free(r->srcname);
	free(r);
}

int
bundle_reader_chunk(struct bundle_reader *r, void *buf, size_t *payload,
    size_t *index, struct err *e)
{
	const struct bundle_payload *pl;
	size_t k;
	ssize_t n;

	while (r->payload < r->m->npayloads &&
	    r->index == r->m->payloads[r->payload].nchunks) {
		r->payload++;
		r->index = 0;
	}
	if (r->payload == r->m->npayloads)
		return err_set(e, -EINVAL, "%s: no chunk after the last "
		    "payload", r->srcname);
	pl = &r->m->payloads[r->payload];
	k = r->index;
	n = source_read(r->src, buf, pl->chunks[k].csize, r->cancelfd, e);
	if (n < 0 || (size_t)n != pl->chunks[k].csize) {
		r->source_failed = n < 0;
		if (n == -ECANCELED)
			return err_set(e, -ECANCELED, "%s: stopped before "
			    "payload %s chunk %zu", r->srcname, pl->name, k);
		if (n < 0)
			return (int)n;
		return err_set(e, -EPIPE, "%s: truncated in payload %s at "
		    "chunk %zu", r->srcname, pl->name, k);
	}
	/* Authenticated before anyone may decompress it. */
	if (chunk_check_compressed(&pl->chunks[k], k, buf, (size_t)n,
	    e) < 0) {
		r->source_failed = 0;
		return err_prefix(e, "%s: payload %s", r->srcname, pl->name);
	}
	*payload = r->payload;
	*index = k;
	r->index++;
	return 0;
}

int
bundle_reader_skip(struct bundle_reader *r, uint64_t n, struct err *e)
{
	const struct bundle_payload *pl;
	uint64_t len = 0, left = n;
	size_t payload = r->payload, index = r->index;
	int rc;

	if (!r->begun)
		return err_set(e, -EINVAL, "%s: skip before the payloads",
		    r->srcname);
	/* Where the pass will stand, from the rows' csize; nothing moves
	 * unless all n chunks are there. */
	while (left > 0 && payload < r->m->npayloads) {
		pl = &r->m->payloads[payload];
		if (index == pl->nchunks) {
			payload++;
			index = 0;
			continue;
		}
		len += pl->chunks[index++].csize;
		left--;
	}
	if (left > 0)
		return err_set(e, -EINVAL, "%s: cannot skip %llu chunks: only "
		    "%llu left", r->srcname, (unsigned long long)n,
		    (unsigned long long)(n - left));
	rc = source_skip_to(r->src, source_offset(r->src) + len, r->cancelfd,
	    e);
	r->source_failed = rc < 0;
	if (rc == -ECANCELED)
		return err_set(e, -ECANCELED, "%s: stopped while skipping "
		    "%llu chunks", r->srcname, (unsigned long long)n);
	if (rc < 0)
		return rc;
	r->payload = payload;
	r->index = index;
	return 0;
}

int
bundle_reader_end(struct bundle_reader *r, struct err *e)
{
	uint8_t extra;
	ssize_t n;

	/* A bundle ends with its last chunk: anything after it is not
	 * covered by the signature. */
	if ((n = source_read(r->src, &extra, 1, r->cancelfd, e)) == 0)
		return 0;
	r->source_failed = n < 0;
	if (n == -ECANCELED)
		return err_set(e, -ECANCELED, "%s: stopped after the last "
		    "payload", r->srcname);
	if (n < 0)
		return (int)n;
	return err_set(e, -EBADMSG, "%s: trailing data after the last "
	    "payload", r->srcname);
}

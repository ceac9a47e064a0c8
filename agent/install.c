/*
 * The bundle stream, in one sequential pass over a file descriptor.
 *
 * install_open() reads header, manifest and signature block and checks the
 * signature before the manifest JSON is even parsed, so no untrusted byte
 * reaches the JSON parser on a device; then each payload's sha256 against
 * its chunk rows. install_payloads() then runs a small pipeline: this
 * thread reads each chunk and checks its signed SHA-256, in order; worker
 * threads decompress the chunks it hands them, check the result against
 * the row's xxh3, and only then write it. A tampered chunk is
 * never handed over, nor is any chunk after it, so nothing at or after it
 * reaches the slot whatever order the workers finish in; a chunk whose
 * row disagrees with its own bytes is not written. A read-back thread
 * trails the writers. `bundle verify` runs the same pipeline without
 * writers, so both reach one verdict with the same checks.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/exitcode.h"
#include "agent/install.h"
#include "common/err.h"
#include "common/io.h"
#include "slots/slot.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"
#include "verify/frame.h"
#include "verify/trust.h"

#define WORKERS_MAX	8
#define ALIGN		4096
#define PIECE		(128u << 10)	/* read-back buffer */

/* What a failure of install_payloads() was about, for the exit code: an
 * errno alone cannot tell a read error of the source from one of a slot. */
enum fault {
	FAULT_NONE,
	FAULT_SOURCE,		/* the bundle could not be read */
	FAULT_BUNDLE,		/* its bytes are wrong or cut short */
	FAULT_SLOT,		/* a slot write, fsync or read-back */
	FAULT_OTHER,		/* memory, threads, a caller's error */
};

struct install {
	int			 fd;
	char			*srcname;
	struct bundle_header	 h;
	struct manifest		*m;
	char			 id[65];
	char			 signer[256];
	int			 verified;
	int			 consumed;	/* payloads were read */
	enum fault		 fault;		/* of install_payloads() */
	int			 cancelfd;	/* readable: stop; or -1 */
};

static int
read_exact(struct install *in, void *buf, size_t len, const char *what,
    struct err *e)
{
	ssize_t n;

	if ((n = read_full(in->fd, buf, len)) < 0)
		return err_set(e, (int)n, "%s: read %s: %s", in->srcname,
		    what, strerror((int)-n));
	if ((size_t)n != len)
		return err_set(e, -EPIPE, "%s: truncated in %s (%zd of %zu "
		    "bytes)", in->srcname, what, n, len);
	return 0;
}

int
install_open(int fd, const char *srcname, const struct keyring *k,
    struct install **ip, struct err *e)
{
	struct install *in;
	struct digest *sha = NULL;
	struct sigblock sig;
	uint8_t hdr[BUNDLE_HEADER_SIZE], shead[BUNDLE_SIGBLOCK_HEAD];
	uint8_t digest[32], *sbuf = NULL;
	char *mbuf = NULL;
	uint64_t total;
	size_t slen, i;
	int r;

	*ip = NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (in->srcname = strdup(srcname)) == NULL) {
		free(in);
		return err_set(e, -ENOMEM, "%s: out of memory", srcname);
	}
	in->fd = fd;
	in->cancelfd = -1;
	if ((r = read_exact(in, hdr, sizeof(hdr), "header", e)) < 0)
		goto fail;
	if ((r = bundle_header_parse(hdr, &in->h, e)) < 0) {
		err_prefix(e, "%s", srcname);
		goto fail;
	}
	if ((mbuf = malloc(in->h.manifest_len)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: manifest of %llu bytes", srcname,
		    (unsigned long long)in->h.manifest_len);
		goto fail;
	}
	if ((r = read_exact(in, mbuf, in->h.manifest_len, "manifest",
	    e)) < 0)
		goto fail;
	if ((r = read_exact(in, shead, sizeof(shead), "signature block",
	    e)) < 0)
		goto fail;
	if ((r = sigblock_length(shead, &slen, e)) < 0) {
		err_prefix(e, "%s", srcname);
		goto fail;
	}
	if ((sbuf = malloc(slen)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: signature block", srcname);
		goto fail;
	}
	memcpy(sbuf, shead, sizeof(shead));
	if ((r = read_exact(in, sbuf + sizeof(shead), slen - sizeof(shead),
	    "signature block", e)) < 0)
		goto fail;
	if ((r = sigblock_parse(sbuf, slen, &sig, e)) < 0 ||
	    (r = trust_signer_subject(&sig, in->signer, sizeof(in->signer),
	    e)) < 0) {
		err_prefix(e, "%s", srcname);
		goto fail;
	}

	/* The signature covers header||manifest; its digest is the id. */
	if ((r = digest_open(&sha, e)) < 0)
		goto fail;
	digest_update(sha, hdr, sizeof(hdr));
	digest_update(sha, mbuf, in->h.manifest_len);
	digest_final(sha, digest);
	bundle_hex(digest, sizeof(digest), in->id);
	if (k != NULL) {
		if ((r = trust_verify(k, &sig, digest, e)) < 0) {
			err_prefix(e, "%s", srcname);
			goto fail;
		}
		in->verified = 1;
	}

	if ((r = manifest_parse(mbuf, in->h.manifest_len, &in->m, e)) < 0) {
		err_prefix(e, "%s", srcname);
		goto fail;
	}
	total = 0;
	for (i = 0; i < in->m->npayloads; i++)
		total += in->m->payloads[i].csize;
	if (total != in->h.payload_len) {
		r = err_set(e, -EBADMSG, "%s: header says %llu payload bytes, "
		    "manifest %llu", srcname,
		    (unsigned long long)in->h.payload_len,
		    (unsigned long long)total);
		goto fail;
	}
	/* The payload hash is the hash of the rows' usha256 digests: it
	 * binds the chunk list, from the manifest alone, on the device and
	 * in bundle verify alike (docs/bundle-format.md). */
	for (i = 0; i < in->m->npayloads; i++)
		if ((r = chunk_check_payload(&in->m->payloads[i], e)) < 0) {
			err_prefix(e, "%s", srcname);
			goto fail;
		}
	*ip = in;
	r = 0;
	in = NULL;
fail:
	digest_free(sha);
	free(sbuf);
	free(mbuf);
	install_free(in);
	/* The manifest JSON and its parse tree are gone: hand the heap
	 * they used back before the chunk buffers are allocated. */
	malloc_trim(0);
	return r;
}

const struct manifest *
install_manifest(const struct install *in)
{
	return in->m;
}

const char *
install_bundle_id(const struct install *in)
{
	return in->id;
}

const char *
install_signer(const struct install *in)
{
	return in->signer;
}

int
install_verified(const struct install *in)
{
	return in->verified;
}

int
install_exit_code(const struct install *in, int r)
{
	static const enum fail_step steps[] = {
		[FAULT_NONE] = FAIL_READ,	/* install_open(): by errno */
		[FAULT_SOURCE] = FAIL_SOURCE,
		[FAULT_BUNDLE] = FAIL_BUNDLE,
		[FAULT_SLOT] = FAIL_SLOT,
		[FAULT_OTHER] = FAIL_OTHER,
	};

	return exitcode_for(steps[in != NULL ? in->fault : FAULT_NONE], r);
}

void
install_set_cancel(struct install *in, int fd)
{
	in->cancelfd = fd;
}

void
install_free(struct install *in)
{
	if (in == NULL)
		return;
	manifest_free(in->m);
	free(in->srcname);
	free(in);
}

/* A compressed chunk on its way from the stream to a worker. */
struct job {
	uint64_t		 seq;		/* chunk number over the bundle */
	size_t			 payload;
	size_t			 index;		/* chunk index in the payload */
	uint8_t			*cbuf;
	int			 busy;
};

struct pipeline {
	struct install		*in;
	struct slot_writer *const *writers;
	int			 check_only;	/* no writers: bundle verify */
	const struct install_progress *prog;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct job		*jobs;
	size_t			 njobs;
	size_t			 umax;		/* largest chunk_size */
	uint64_t		 total;		/* chunks in the bundle */
	uint64_t		 next_seq;	/* next job to hand out */
	uint64_t		 queued;	/* jobs read, verified, queued */
	uint64_t		 wfront;	/* chunks [0, wfront) written */
	uint8_t			*written;	/* bit per chunk */
	int			 eof;		/* reader is done */
	int			 stop;		/* a failure: write nothing more */
	struct err		 err;		/* the first failure */
	enum fault		 fault;		/* and what it was about */
	uint64_t		 done_bytes;
	uint64_t		 total_bytes;
};

static int
bit_get(const uint8_t *map, uint64_t i)
{
	return map[i / 8] >> (i % 8) & 1;
}

static void
bit_set(uint8_t *map, uint64_t i)
{
	map[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* The payload and chunk index of chunk seq. */
static void
seq_locate(const struct manifest *m, uint64_t seq, size_t *payload,
    size_t *index)
{
	size_t i;

	for (i = 0; i < m->npayloads && seq >= m->payloads[i].nchunks; i++)
		seq -= m->payloads[i].nchunks;
	*payload = i;
	*index = (size_t)seq;
}

/* Records the first failure and wakes everyone; call with the lock. */
static void
fail_locked(struct pipeline *p, const struct err *e, enum fault f)
{
	if (!p->stop) {
		p->stop = 1;
		p->err = *e;
		p->fault = f;
	}
	pthread_cond_broadcast(&p->cond);
}

static void
fail(struct pipeline *p, const struct err *e, enum fault f)
{
	pthread_mutex_lock(&p->lock);
	fail_locked(p, e, f);
	pthread_mutex_unlock(&p->lock);
}

/*
 * One per core: takes a verified compressed chunk, decompresses it into
 * the worker's own buffer (which frees the compressed one for the reader
 * at once), checks the result against the chunk's signed xxh3, and only
 * then writes it. A wrong row is the bundle's fault
 * (-EBADMSG), found before a byte of it reaches the slot; the read-back
 * can then only ever find the storage at fault.
 */
static void *
worker(void *arg)
{
	struct pipeline *p = arg;
	struct frame_decoder *dec = NULL;
	const struct bundle_payload *pl;
	const struct bundle_chunk *c;
	struct job *j;
	struct err e = { 0, "" };
	uint8_t *ubuf = NULL;
	uint64_t seq;
	size_t payload, index;
	int r;

	if (frame_decoder_open(&dec, &e) < 0) {
		fail(p, &e, FAULT_OTHER);
		return NULL;
	}
	/* Aligned, so that raw slots are written past the page cache. */
	if (posix_memalign((void **)&ubuf, ALIGN, p->umax) != 0) {
		ubuf = NULL;
		err_set(&e, -ENOMEM, "chunk buffer");
		fail(p, &e, FAULT_OTHER);
		goto out;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->next_seq == p->queued && !p->eof)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop || p->next_seq == p->queued)
			break;
		j = &p->jobs[p->next_seq % p->njobs];
		p->next_seq++;
		seq = j->seq;
		payload = j->payload;
		index = j->index;
		pthread_mutex_unlock(&p->lock);

		pl = &p->in->m->payloads[payload];
		c = &pl->chunks[index];
		if ((r = frame_decode(dec, j->cbuf, c->csize, ubuf, c->usize,
		    &e)) < 0)
			err_prefix(&e, "%s: payload %s: chunk %zu",
			    p->in->srcname, pl->name, index);

		pthread_mutex_lock(&p->lock);
		j->busy = 0;
		pthread_cond_broadcast(&p->cond);
		if (r < 0) {
			fail_locked(p, &e, FAULT_BUNDLE);
			break;
		}
		pthread_mutex_unlock(&p->lock);
		/* The compressed buffer is the reader's again; the bytes it
		 * decoded to are checked before a byte of them is written. */
		if ((r = chunk_check_plain(c, index, ubuf, c->usize, &e)) < 0)
			err_prefix(&e, "%s: payload %s", p->in->srcname,
			    pl->name);
		pthread_mutex_lock(&p->lock);
		if (r < 0) {
			fail_locked(p, &e, FAULT_BUNDLE);
			break;
		}
		if (p->stop)
			break;
		if (!p->check_only) {
			pthread_mutex_unlock(&p->lock);
			r = slot_writer_pwrite(p->writers[payload], ubuf,
			    c->usize, (uint64_t)index * pl->chunk_size, &e);
			pthread_mutex_lock(&p->lock);
		}
		if (r < 0) {
			fail_locked(p, &e, FAULT_SLOT);
			break;
		}
		bit_set(p->written, seq);
		while (p->wfront < p->total && bit_get(p->written, p->wfront))
			p->wfront++;
		p->done_bytes += c->usize;
		if (p->prog != NULL && p->prog->fn != NULL)
			p->prog->fn(p->prog->arg, "write", pl->name,
			    p->done_bytes, p->total_bytes);
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
out:
	free(ubuf);
	frame_decoder_free(dec);
	return NULL;
}

/* Reads chunk (payload, index) back in pieces and matches its XXH3. */
static int
readback_chunk(struct pipeline *p, struct chunk_xxh3 *h, uint8_t *buf,
    size_t payload, size_t index, struct err *e)
{
	const struct bundle_payload *pl = &p->in->m->payloads[payload];
	const struct bundle_chunk *c = &pl->chunks[index];
	uint64_t off = (uint64_t)index * pl->chunk_size;
	size_t done, n;
	int r;

	chunk_xxh3_reset(h);
	for (done = 0; done < c->usize; done += n) {
		n = c->usize - done < PIECE ? c->usize - done : PIECE;
		if ((r = slot_writer_read(p->writers[payload], buf, n,
		    off + done, e)) < 0)
			return r;
		chunk_xxh3_update(h, buf, n);
	}
	return chunk_xxh3_check(h, c, index, e);
}

/* Reads chunk seq back and reports progress; 0 or -errno. */
static int
readback_seq(struct pipeline *p, struct chunk_xxh3 *h, uint8_t *buf,
    uint64_t seq, uint64_t *done, struct err *e)
{
	const struct manifest *m = p->in->m;
	size_t payload, index;
	int r;

	seq_locate(m, seq, &payload, &index);
	if ((r = readback_chunk(p, h, buf, payload, index, e)) < 0)
		return err_prefix(e, "read back payload %s",
		    m->payloads[payload].name);
	*done += m->payloads[payload].chunks[index].usize;
	if (p->prog != NULL && p->prog->fn != NULL) {
		pthread_mutex_lock(&p->lock);
		p->prog->fn(p->prog->arg, "verify", m->payloads[payload].name,
		    *done, p->total_bytes);
		pthread_mutex_unlock(&p->lock);
	}
	return 0;
}

/* Whether chunk seq can be read back from the storage before the final
 * fsync: only through O_DIRECT, which the kernel serves from the device
 * (writing back any cached pages of the range first). */
static int
early_ok(struct pipeline *p, uint64_t seq)
{
	const struct manifest *m = p->in->m;
	size_t payload, index;

	seq_locate(m, seq, &payload, &index);
	return m->payloads[payload].chunks[index].usize % ALIGN == 0 &&
	    slot_writer_direct(p->writers[payload]);
}

/*
 * Trails the writers. A chunk written past the page cache is read back
 * and matched with its signed XXH3 as soon as it is written, while the
 * next ones are written: an fsync per batch instead would stall the
 * device queue behind each flush. Every other chunk (files slots, a
 * final partial chunk) waits for the fsync that ends the writing; then
 * it is read back with the cache dropped. So before install_payloads()
 * returns 0, every chunk is written, fsync'd, read back and matched.
 */
static void *
readback(void *arg)
{
	struct pipeline *p = arg;
	const struct manifest *m = p->in->m;
	struct chunk_xxh3 *h = NULL;
	struct err e = { 0, "" };
	uint8_t *buf = NULL, *later = NULL;
	uint64_t next = 0, end, seq, done = 0;
	size_t i;
	int r = 0, stop;

	if ((r = chunk_xxh3_open(&h, &e)) < 0 ||
	    (later = calloc(p->total / 8 + 1, 1)) == NULL ||
	    posix_memalign((void **)&buf, ALIGN, PIECE) != 0) {
		buf = NULL;
		if (r == 0)
			err_set(&e, -ENOMEM, "read-back buffer");
		fail(p, &e, FAULT_OTHER);
		goto out;
	}
	while (next < p->total) {
		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->wfront == next)
			pthread_cond_wait(&p->cond, &p->lock);
		end = p->wfront;
		stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			goto out;
		for (; next < end; next++) {
			if (!early_ok(p, next)) {
				bit_set(later, next);
				continue;
			}
			if ((r = readback_seq(p, h, buf, next, &done, &e)) < 0)
				goto fail;
			/* Refused O_DIRECT midway: the read may have come from
			 * the cache, so read it again after the fsync. */
			if (!early_ok(p, next))
				bit_set(later, next);
		}
	}
	for (i = 0; i < m->npayloads; i++)
		if ((r = slot_writer_finish(p->writers[i], &e)) < 0)
			goto fail;
	for (seq = 0; seq < p->total; seq++)
		if (bit_get(later, seq) &&
		    (r = readback_seq(p, h, buf, seq, &done, &e)) < 0)
			goto fail;
	goto out;
fail:
	fail(p, &e, FAULT_SLOT);
out:
	free(later);
	free(buf);
	chunk_xxh3_free(h);
	return NULL;
}

static int
ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > WORKERS_MAX ? WORKERS_MAX : (int)n;
}

static void
pipeline_free(struct pipeline *p)
{
	size_t i;

	if (p->jobs != NULL)
		for (i = 0; i < p->njobs; i++)
			free(p->jobs[i].cbuf);
	free(p->jobs);
	free(p->written);
}

static int
pipeline_alloc(struct pipeline *p, size_t n, struct err *e)
{
	const struct manifest *m = p->in->m;
	size_t cmax = 0, i, k;

	for (i = 0; i < m->npayloads; i++) {
		if (m->payloads[i].chunk_size > p->umax)
			p->umax = m->payloads[i].chunk_size;
		p->total += m->payloads[i].nchunks;
		p->total_bytes += m->payloads[i].size;
		for (k = 0; k < m->payloads[i].nchunks; k++)
			if (m->payloads[i].chunks[k].csize > cmax)
				cmax = m->payloads[i].chunks[k].csize;
	}
	p->njobs = n;
	if ((p->jobs = calloc(n, sizeof(*p->jobs))) == NULL ||
	    (p->written = calloc(p->total / 8 + 1, 1)) == NULL)
		return err_set(e, -ENOMEM, "chunk buffers");
	for (i = 0; i < n; i++)
		if ((p->jobs[i].cbuf = malloc(cmax)) == NULL)
			return err_set(e, -ENOMEM, "chunk buffers");
	return 0;
}

/*
 * read_full() on the stream, but with a cancel fd it waits in poll() on
 * both before every read(): a stop request ends even a wait on a stalled
 * pipe, and a regular file (always readable) stops within the chunk.
 * -ECANCELED then; what was read of the chunk is dropped.
 */
static ssize_t
read_stream(struct install *in, void *buf, size_t len)
{
	struct pollfd pfd[2];
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	if (in->cancelfd < 0)
		return read_full(in->fd, buf, len);
	pfd[0].fd = in->cancelfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = in->fd;
	pfd[1].events = POLLIN;
	while (got < len) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents != 0)
			return -ECANCELED;
		if ((n = read(in->fd, p + got, len - got)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Reads every chunk from the stream into a free job buffer, in order,
 * and hands it to the workers only once its signed SHA-256 matches. */
static void
read_chunks(struct pipeline *p)
{
	struct install *in = p->in;
	const struct bundle_payload *pl;
	struct job *j;
	struct err re;
	uint8_t extra;
	size_t i, k;
	ssize_t n;

	for (i = 0; i < in->m->npayloads; i++) {
		pl = &in->m->payloads[i];
		for (k = 0; k < pl->nchunks; k++) {
			pthread_mutex_lock(&p->lock);
			j = &p->jobs[p->queued % p->njobs];
			while (!p->stop && j->busy)
				pthread_cond_wait(&p->cond, &p->lock);
			if (p->stop) {
				pthread_mutex_unlock(&p->lock);
				return;
			}
			j->busy = 1;
			j->seq = p->queued;
			j->payload = i;
			j->index = k;
			pthread_mutex_unlock(&p->lock);

			n = read_stream(in, j->cbuf, pl->chunks[k].csize);
			if (n < 0 || (size_t)n != pl->chunks[k].csize) {
				if (n == -ECANCELED)
					err_set(&re, -ECANCELED, "%s: stopped "
					    "before payload %s chunk %zu",
					    in->srcname, pl->name, k);
				else if (n < 0)
					err_set(&re, (int)n, "%s: read payload "
					    "%s chunk %zu: %s", in->srcname,
					    pl->name, k, strerror((int)-n));
				else
					err_set(&re, -EPIPE, "%s: truncated in "
					    "payload %s at chunk %zu",
					    in->srcname, pl->name, k);
				fail(p, &re, n < 0 ? FAULT_SOURCE :
				    FAULT_BUNDLE);
				return;
			}
			/* Authenticated before any worker may decompress it. */
			if (chunk_check_compressed(&pl->chunks[k], k, j->cbuf,
			    (size_t)n, &re) < 0) {
				err_prefix(&re, "%s: payload %s", in->srcname,
				    pl->name);
				fail(p, &re, FAULT_BUNDLE);
				return;
			}
			pthread_mutex_lock(&p->lock);
			p->queued++;
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->lock);
		}
	}
	/* A bundle ends with its last chunk: anything after it is not
	 * covered by the signature. */
	if ((n = read_stream(in, &extra, 1)) != 0) {
		if (n == -ECANCELED)
			err_set(&re, -ECANCELED, "%s: stopped after the last "
			    "payload", in->srcname);
		else if (n < 0)
			err_set(&re, (int)n, "%s: read: %s", in->srcname,
			    strerror((int)-n));
		else
			err_set(&re, -EBADMSG, "%s: trailing data after the "
			    "last payload", in->srcname);
		fail(p, &re, n < 0 ? FAULT_SOURCE : FAULT_BUNDLE);
	}
}

int
install_payloads(struct install *in, struct slot_writer *const *writers,
    const struct install_progress *prog, struct err *e)
{
	struct pipeline p;
	pthread_t tids[WORKERS_MAX], rbtid;
	size_t i, nthreads, started = 0, nnull = 0;
	int r = 0, rbstarted = 0;

	in->fault = FAULT_OTHER;
	for (i = 0; i < in->m->npayloads; i++)
		nnull += writers[i] == NULL;
	/* Check-only mode skips the read-back; writes need it. The two
	 * don't mix in one pass. */
	if (nnull != 0 && nnull != in->m->npayloads)
		return err_set(e, -EINVAL, "%s: some payloads have no slot",
		    in->srcname);
	if (nnull == 0 && !in->verified)
		return err_set(e, -EPERM, "%s: refusing to write an "
		    "unverified bundle", in->srcname);
	if (in->consumed)
		return err_set(e, -EINVAL, "%s: payloads already read",
		    in->srcname);
	in->consumed = 1;

	memset(&p, 0, sizeof(p));
	p.in = in;
	p.writers = writers;
	p.check_only = nnull != 0;
	p.prog = prog;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);

	/* One worker per core; one compressed buffer more than workers
	 * keeps the reader ahead. */
	nthreads = (size_t)ncpus();
	if ((r = pipeline_alloc(&p, nthreads + 1, e)) < 0)
		goto out;
	for (started = 0; started < nthreads; started++)
		if (pthread_create(&tids[started], NULL, worker, &p) != 0)
			break;
	if (!p.check_only && started > 0 &&
	    pthread_create(&rbtid, NULL, readback, &p) == 0)
		rbstarted = 1;
	if (started == 0 || (!p.check_only && !rbstarted)) {
		struct err te;

		err_set(&te, -EAGAIN, "%s: cannot start threads", in->srcname);
		fail(&p, &te, FAULT_OTHER);
	} else {
		read_chunks(&p);
	}

	pthread_mutex_lock(&p.lock);
	p.eof = 1;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (rbstarted) {
		/* Every write is done or the pipeline stopped: wake the
		 * read-back for its last chunks and the final fsync. */
		pthread_mutex_lock(&p.lock);
		if (!p.stop && p.wfront != p.total) {
			struct err te;

			err_set(&te, -EIO, "%s: %llu of %llu chunks written",
			    in->srcname, (unsigned long long)p.wfront,
			    (unsigned long long)p.total);
			fail_locked(&p, &te, FAULT_SLOT);
		}
		pthread_cond_broadcast(&p.cond);
		pthread_mutex_unlock(&p.lock);
		pthread_join(rbtid, NULL);
	}
	if (p.stop) {
		*e = p.err;
		r = p.err.code;
		in->fault = p.fault;
	} else if (p.wfront != p.total) {
		r = err_set(e, -EIO, "%s: %llu of %llu chunks done",
		    in->srcname, (unsigned long long)p.wfront,
		    (unsigned long long)p.total);
		in->fault = p.check_only ? FAULT_OTHER : FAULT_SLOT;
	} else
		in->fault = FAULT_NONE;
out:
	pipeline_free(&p);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	return r;
}

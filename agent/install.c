/*
 * The bundle stream, in one sequential pass over a file descriptor.
 *
 * install_open() reads header, manifest and signature block and checks the
 * signature before the manifest JSON is even parsed, so no untrusted byte
 * reaches the JSON parser on a device. install_payloads() then runs a small
 * pipeline: this thread reads each chunk into a free buffer, worker threads
 * check the chunk's signed SHA-256, decompress it and write it. A chunk is
 * written only once every earlier chunk has passed its check (the verified
 * frontier), so a tampered chunk stops the install with nothing at or
 * after it on the slot, whatever order the workers finish in.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/err.h"
#include "agent/install.h"
#include "agent/util.h"
#include "slots/slot.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/trust.h"

#define WORKERS_MAX	8
#define ALIGN		4096

struct install {
	int			 fd;
	char			*srcname;
	struct bundle_header	 h;
	struct manifest		*m;
	char			 id[65];
	char			 signer[256];
	int			 verified;
	int			 consumed;	/* payloads were read */
};

/* One chunk in flight. */
struct job {
	uint64_t		 seq;		/* chunk number over the bundle */
	size_t			 payload;
	size_t			 index;		/* chunk index in the payload */
	uint8_t			*cbuf;		/* compressed, from the stream */
	uint8_t			*ubuf;		/* decompressed */
	int			 busy;
};

struct pipeline {
	struct install		*in;
	struct slot_writer *const *writers;
	const struct install_progress *prog;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct job		*jobs;
	size_t			 njobs;
	uint64_t		 next_seq;	/* next job to hand out */
	uint64_t		 queued;	/* jobs read and queued */
	uint64_t		 frontier;	/* chunks [0, frontier) verified */
	uint64_t		 written;	/* in-order count (verify mode) */
	uint8_t			*ok;		/* per job slot: verified seq+1 */
	int			 eof;		/* reader is done */
	int			 stop;		/* a failure: write nothing more */
	struct err		 err;		/* the first failure */
	uint64_t		 done_bytes;
	uint64_t		 total_bytes;
	struct trust_sha256	*psha;		/* verify mode: payload hash */
	size_t			 psha_payload;
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
	struct trust_sha256 *sha = NULL;
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
	if ((r = trust_sha256_open(&sha, e)) < 0)
		goto fail;
	trust_sha256_update(sha, hdr, sizeof(hdr));
	trust_sha256_update(sha, mbuf, in->h.manifest_len);
	trust_sha256_final(sha, digest);
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
	*ip = in;
	r = 0;
	in = NULL;
fail:
	trust_sha256_free(sha);
	free(sbuf);
	free(mbuf);
	install_free(in);
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

void
install_free(struct install *in)
{
	if (in == NULL)
		return;
	manifest_free(in->m);
	free(in->srcname);
	free(in);
}

static const struct bundle_chunk *
job_chunk(const struct pipeline *p, const struct job *j)
{
	return &p->in->m->payloads[j->payload].chunks[j->index];
}

/* Records the first failure and wakes everyone; call with the lock. */
static void
fail_locked(struct pipeline *p, const struct err *e)
{
	if (!p->stop) {
		p->stop = 1;
		p->err = *e;
	}
	pthread_cond_broadcast(&p->cond);
}

static void
release_locked(struct pipeline *p, struct job *j)
{
	j->busy = 0;
	pthread_cond_broadcast(&p->cond);
}

/* Verify mode: the uncompressed SHA-256 and XXH3 of each chunk, and the
 * SHA-256 of the whole payload, fed in order. */
static int
check_plain(struct pipeline *p, struct job *j, struct err *e)
{
	const struct bundle_payload *pl = &p->in->m->payloads[j->payload];
	const struct bundle_chunk *c = job_chunk(p, j);
	uint8_t d[32];
	int r;

	trust_sha256(j->ubuf, c->usize, d);
	if (memcmp(d, c->usha, sizeof(d)) != 0)
		return err_set(e, -EBADMSG, "payload %s: chunk %zu: "
		    "uncompressed SHA-256 mismatch", pl->name, j->index);
	if ((r = chunk_check_readback(c, j->index, j->ubuf, c->usize, e)) < 0)
		return err_prefix(e, "payload %s", pl->name);
	if (j->index == 0 && (r = trust_sha256_open(&p->psha, e)) < 0)
		return r;
	trust_sha256_update(p->psha, j->ubuf, c->usize);
	if (j->index + 1 == pl->nchunks) {
		trust_sha256_final(p->psha, d);
		trust_sha256_free(p->psha);
		p->psha = NULL;
		if (memcmp(d, pl->sha256, sizeof(d)) != 0)
			return err_set(e, -EBADMSG, "payload %s: SHA-256 "
			    "mismatch", pl->name);
	}
	return 0;
}

static void *
worker(void *arg)
{
	struct pipeline *p = arg;
	struct frame_decoder *dec = NULL;
	struct slot_writer *w;
	const struct bundle_payload *pl;
	const struct bundle_chunk *c;
	struct job *j;
	struct err e = { 0, "" };
	int r, ok;

	if (frame_decoder_open(&dec, &e) < 0) {
		pthread_mutex_lock(&p->lock);
		fail_locked(p, &e);
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->next_seq == p->queued && !p->eof)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop || p->next_seq == p->queued)
			break;
		j = &p->jobs[p->next_seq % p->njobs];
		p->next_seq++;
		pthread_mutex_unlock(&p->lock);

		pl = &p->in->m->payloads[j->payload];
		c = job_chunk(p, j);
		r = chunk_check_compressed(c, j->index, j->cbuf, c->csize, &e);
		if (r < 0)
			err_prefix(&e, "%s: payload %s", p->in->srcname,
			    pl->name);

		pthread_mutex_lock(&p->lock);
		if (r < 0) {
			fail_locked(p, &e);
			release_locked(p, j);
			break;
		}
		/* Advance the frontier over every chunk verified in order. */
		p->ok[j->seq % p->njobs] = 1;
		while (p->frontier < p->queued &&
		    p->ok[p->frontier % p->njobs] &&
		    p->jobs[p->frontier % p->njobs].seq == p->frontier) {
			p->ok[p->frontier % p->njobs] = 0;
			p->frontier++;
		}
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);

		/* Authenticated: now it may be decompressed. */
		r = frame_decode(dec, j->cbuf, c->csize, j->ubuf, c->usize,
		    &e);
		if (r < 0)
			err_prefix(&e, "%s: payload %s: chunk %zu",
			    p->in->srcname, pl->name, j->index);

		pthread_mutex_lock(&p->lock);
		/* Write only behind the frontier; in verify mode, in order. */
		while (!p->stop && (p->frontier <= j->seq ||
		    (p->writers[j->payload] == NULL && p->written != j->seq)))
			pthread_cond_wait(&p->cond, &p->lock);
		ok = !p->stop && r >= 0;
		if (r < 0)
			fail_locked(p, &e);
		if (!ok) {
			release_locked(p, j);
			break;
		}
		if ((w = p->writers[j->payload]) == NULL) {
			r = check_plain(p, j, &e);
			if (r == 0)
				p->written++;
		} else {
			pthread_mutex_unlock(&p->lock);
			r = slot_writer_pwrite(w, j->ubuf, c->usize,
			    (uint64_t)j->index * pl->chunk_size, &e);
			pthread_mutex_lock(&p->lock);
		}
		if (r < 0) {
			fail_locked(p, &e);
			release_locked(p, j);
			break;
		}
		p->done_bytes += c->usize;
		if (p->prog != NULL && p->prog->fn != NULL)
			p->prog->fn(p->prog->arg, "write", pl->name,
			    p->done_bytes, p->total_bytes);
		release_locked(p, j);
	}
	pthread_mutex_unlock(&p->lock);
	frame_decoder_free(dec);
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
jobs_free(struct pipeline *p)
{
	size_t i;

	if (p->jobs != NULL)
		for (i = 0; i < p->njobs; i++) {
			free(p->jobs[i].cbuf);
			free(p->jobs[i].ubuf);
		}
	free(p->jobs);
	free(p->ok);
}

static int
jobs_alloc(struct pipeline *p, size_t n, struct err *e)
{
	const struct manifest *m = p->in->m;
	size_t cmax = 0, umax = 0, i, k;

	for (i = 0; i < m->npayloads; i++) {
		if (m->payloads[i].chunk_size > umax)
			umax = m->payloads[i].chunk_size;
		for (k = 0; k < m->payloads[i].nchunks; k++)
			if (m->payloads[i].chunks[k].csize > cmax)
				cmax = m->payloads[i].chunks[k].csize;
	}
	p->njobs = n;
	if ((p->jobs = calloc(n, sizeof(*p->jobs))) == NULL ||
	    (p->ok = calloc(n, 1)) == NULL)
		return err_set(e, -ENOMEM, "chunk buffers");
	for (i = 0; i < n; i++) {
		/* Aligned so that slot writes can bypass the page cache. */
		if (posix_memalign((void **)&p->jobs[i].cbuf, ALIGN,
		    cmax) != 0) {
			p->jobs[i].cbuf = NULL;
			return err_set(e, -ENOMEM, "chunk buffers");
		}
		if (posix_memalign((void **)&p->jobs[i].ubuf, ALIGN,
		    umax) != 0) {
			p->jobs[i].ubuf = NULL;
			return err_set(e, -ENOMEM, "chunk buffers");
		}
	}
	return 0;
}

int
install_payloads(struct install *in, struct slot_writer *const *writers,
    const struct install_progress *prog, struct err *e)
{
	struct pipeline p;
	pthread_t tids[WORKERS_MAX];
	const struct bundle_payload *pl;
	struct job *j;
	uint8_t extra;
	size_t i, k, nthreads = 0, started = 0, nnull = 0;
	ssize_t n;
	int r = 0;

	for (i = 0; i < in->m->npayloads; i++)
		nnull += writers[i] == NULL;
	/* Check-only mode orders its chunks for the payload hash; writes
	 * need no order. The two don't mix in one pass. */
	if (nnull != 0 && nnull != in->m->npayloads)
		return err_set(e, -EINVAL, "%s: some payloads have no slot",
		    in->srcname);
	if (in->consumed)
		return err_set(e, -EINVAL, "%s: payloads already read",
		    in->srcname);
	in->consumed = 1;
	for (i = 0; i < in->m->npayloads; i++)
		if (writers[i] != NULL && !in->verified)
			return err_set(e, -EPERM, "%s: refusing to write an "
			    "unverified bundle", in->srcname);

	memset(&p, 0, sizeof(p));
	p.in = in;
	p.writers = writers;
	p.prog = prog;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	for (i = 0; i < in->m->npayloads; i++)
		p.total_bytes += in->m->payloads[i].size;

	/* One worker per core; one buffer more than workers keeps the
	 * reader ahead without holding more than a few chunks. */
	nthreads = (size_t)ncpus();
	if ((r = jobs_alloc(&p, nthreads + 1, e)) < 0)
		goto out;
	for (started = 0; started < nthreads; started++)
		if (pthread_create(&tids[started], NULL, worker, &p) != 0) {
			r = err_set(e, -EAGAIN, "cannot start worker thread");
			break;
		}
	if (started == 0)
		goto out;

	for (i = 0; r == 0 && i < in->m->npayloads; i++) {
		pl = &in->m->payloads[i];
		for (k = 0; k < pl->nchunks; k++) {
			pthread_mutex_lock(&p.lock);
			j = &p.jobs[p.queued % p.njobs];
			while (!p.stop && j->busy)
				pthread_cond_wait(&p.cond, &p.lock);
			if (p.stop) {
				pthread_mutex_unlock(&p.lock);
				goto drain;
			}
			j->busy = 1;
			j->seq = p.queued;
			j->payload = i;
			j->index = k;
			pthread_mutex_unlock(&p.lock);

			n = read_full(in->fd, j->cbuf, pl->chunks[k].csize);
			if (n < 0 || (size_t)n != pl->chunks[k].csize) {
				struct err re;

				if (n < 0)
					err_set(&re, (int)n, "%s: read payload "
					    "%s chunk %zu: %s", in->srcname,
					    pl->name, k, strerror((int)-n));
				else
					err_set(&re, -EPIPE, "%s: truncated in "
					    "payload %s at chunk %zu",
					    in->srcname, pl->name, k);
				pthread_mutex_lock(&p.lock);
				fail_locked(&p, &re);
				j->busy = 0;
				pthread_mutex_unlock(&p.lock);
				goto drain;
			}
			pthread_mutex_lock(&p.lock);
			p.queued++;
			pthread_cond_broadcast(&p.cond);
			pthread_mutex_unlock(&p.lock);
		}
	}
	/* A bundle ends with its last chunk: anything after it is not
	 * covered by the signature. */
	if ((n = read_full(in->fd, &extra, 1)) != 0) {
		struct err re;

		if (n < 0)
			err_set(&re, (int)n, "%s: read: %s", in->srcname,
			    strerror((int)-n));
		else
			err_set(&re, -EBADMSG, "%s: trailing data after the "
			    "last payload", in->srcname);
		pthread_mutex_lock(&p.lock);
		fail_locked(&p, &re);
		pthread_mutex_unlock(&p.lock);
	}
drain:
	pthread_mutex_lock(&p.lock);
	p.eof = 1;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (p.stop) {
		*e = p.err;
		r = p.err.code;
	} else if (r == 0 && p.frontier != p.queued) {
		r = err_set(e, -EIO, "%s: %llu of %llu chunks done",
		    in->srcname, (unsigned long long)p.frontier,
		    (unsigned long long)p.queued);
	}
out:
	trust_sha256_free(p.psha);
	jobs_free(&p);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	return r;
}

int
install_readback(struct install *in, struct slot_writer *const *writers,
    const struct install_progress *prog, struct err *e)
{
	const struct bundle_payload *pl;
	const struct bundle_chunk *c;
	uint64_t done = 0, total = 0;
	uint8_t *buf = NULL;
	size_t i, k, umax = 0;
	int r = 0;

	for (i = 0; i < in->m->npayloads; i++) {
		if (writers[i] == NULL)
			continue;
		total += in->m->payloads[i].size;
		if (in->m->payloads[i].chunk_size > umax)
			umax = in->m->payloads[i].chunk_size;
	}
	if (umax == 0)
		return 0;
	if (posix_memalign((void **)&buf, ALIGN, umax) != 0)
		return err_set(e, -ENOMEM, "read-back buffer");
	for (i = 0; i < in->m->npayloads; i++) {
		if (writers[i] == NULL)
			continue;
		pl = &in->m->payloads[i];
		for (k = 0; k < pl->nchunks; k++) {
			c = &pl->chunks[k];
			if ((r = slot_writer_read(writers[i], buf, c->usize,
			    (uint64_t)k * pl->chunk_size, e)) < 0 ||
			    (r = chunk_check_readback(c, k, buf, c->usize,
			    e)) < 0) {
				err_prefix(e, "read back payload %s",
				    pl->name);
				goto out;
			}
			done += c->usize;
			if (prog != NULL && prog->fn != NULL)
				prog->fn(prog->arg, "verify", pl->name, done,
				    total);
		}
	}
out:
	free(buf);
	return r;
}

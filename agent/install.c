/*
 * The install pipeline. This thread takes each chunk from the bundle
 * reader (verify/reader), which hands it over only once its signed
 * SHA-256 matches, in order; worker threads decode the chunks it queues
 * and match their XXH3 (verify/chunk), and only then write them. A
 * tampered chunk is never queued, nor is any chunk after it, so nothing
 * at or after it reaches the slot whatever order the workers finish in;
 * a chunk whose row disagrees with its own bytes is not written. A
 * read-back thread trails the writers. `bundle verify` runs the same
 * pipeline without writers, so both reach one verdict with the same
 * checks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/checkpoint.h"
#include "agent/exitcode.h"
#include "agent/install.h"
#include "common/err.h"
#include "slots/slot.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/frame.h"
#include "verify/reader.h"

#define WORKERS_MAX	8
#define ALIGN		4096
#define PIECE		(128u << 10)	/* read-back buffer */

int
install_exit_code(enum install_fault f, int rc)
{
	static const enum fail_step steps[] = {
		[INSTALL_FAULT_OPEN] = FAIL_READ,	/* by errno */
		[INSTALL_FAULT_SOURCE] = FAIL_SOURCE,
		[INSTALL_FAULT_BUNDLE] = FAIL_BUNDLE,
		[INSTALL_FAULT_SLOT] = FAIL_SLOT,
		[INSTALL_FAULT_OTHER] = FAIL_OTHER,
	};

	return exitcode_for(steps[f], rc);
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
	struct bundle_reader	*r;
	const struct manifest	*m;		/* the reader's */
	const char		*name;		/* the source, for messages */
	struct slot_writer *const *writers;
	int			 check_only;	/* no writers: bundle verify */
	const struct install_progress *prog;
	const struct install_journal *jr;	/* or NULL */
	uint64_t		 resume;	/* jr->resume, or 0 */
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
	enum install_fault	 fault;		/* and what it was about */
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

/* Whether chunk seq is kept from an earlier run: below the resume point,
 * in a raw payload (files payloads are written aside anew each time). */
static int
kept(const struct pipeline *p, uint64_t seq)
{
	size_t payload, index;

	if (seq >= p->resume)
		return 0;
	seq_locate(p->m, seq, &payload, &index);
	return p->m->payloads[payload].kind == PAYLOAD_RAW;
}

/* Records the first failure and wakes everyone; call with the lock. */
static void
fail_locked(struct pipeline *p, const struct err *e, enum install_fault f)
{
	if (!p->stop) {
		p->stop = 1;
		p->err = *e;
		p->fault = f;
	}
	pthread_cond_broadcast(&p->cond);
}

static void
fail(struct pipeline *p, const struct err *e, enum install_fault f)
{
	pthread_mutex_lock(&p->lock);
	fail_locked(p, e, f);
	pthread_mutex_unlock(&p->lock);
}

/* Records chunk seq as written, reports it and wakes the read-back;
 * call with the lock. */
static void
written_locked(struct pipeline *p, uint64_t seq, const char *payload,
    size_t usize)
{
	bit_set(p->written, seq);
	while (p->wfront < p->total && bit_get(p->written, p->wfront))
		p->wfront++;
	p->done_bytes += usize;
	if (p->prog != NULL && p->prog->fn != NULL)
		p->prog->fn(p->prog->arg, "write", payload, p->done_bytes,
		    p->total_bytes);
	pthread_cond_broadcast(&p->cond);
}

/*
 * One per core: takes a verified compressed chunk and has verify/chunk
 * decode it into the worker's own buffer and match the result with the
 * chunk's signed xxh3; that frees the compressed buffer for the reader,
 * and only then is the chunk written. A wrong row is the bundle's fault
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
		fail(p, &e, INSTALL_FAULT_OTHER);
		return NULL;
	}
	/* Aligned, so that raw slots are written past the page cache. */
	if (posix_memalign((void **)&ubuf, ALIGN, p->umax) != 0) {
		ubuf = NULL;
		err_set(&e, -ENOMEM, "chunk buffer");
		fail(p, &e, INSTALL_FAULT_OTHER);
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

		pl = &p->m->payloads[payload];
		c = &pl->chunks[index];
		if ((r = chunk_decode(dec, c, index, j->cbuf, ubuf, &e)) < 0)
			err_prefix(&e, "%s: payload %s", p->name, pl->name);

		pthread_mutex_lock(&p->lock);
		j->busy = 0;
		pthread_cond_broadcast(&p->cond);
		if (r < 0) {
			fail_locked(p, &e, INSTALL_FAULT_BUNDLE);
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
			fail_locked(p, &e, INSTALL_FAULT_SLOT);
			break;
		}
		written_locked(p, seq, pl->name, c->usize);
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
	const struct bundle_payload *pl = &p->m->payloads[payload];
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
	const struct manifest *m = p->m;
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
	const struct manifest *m = p->m;
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
	const struct manifest *m = p->m;
	struct chunk_xxh3 *h = NULL;
	struct err e = { 0, "" };
	uint8_t *buf = NULL, *later = NULL;
	uint64_t next = 0, end, seq, done = 0;
	struct checkpoint ck;
	size_t i;
	int r = 0, stop;

	if ((r = chunk_xxh3_open(&h, &e)) < 0 ||
	    (later = calloc(p->total / 8 + 1, 1)) == NULL ||
	    posix_memalign((void **)&buf, ALIGN, PIECE) != 0) {
		buf = NULL;
		if (r == 0)
			err_set(&e, -ENOMEM, "read-back buffer");
		fail(p, &e, INSTALL_FAULT_OTHER);
		goto out;
	}
	checkpoint_init(&ck, m, p->writers, p->jr);
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
			/* [0, next) written: checked per chunk, so that the
			 * checkpoints fall where the intervals say, however
			 * far the writers are ahead. */
			if ((r = checkpoint_reached(&ck, next, &e)) < 0)
				goto fail;
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
	fail(p, &e, INSTALL_FAULT_SLOT);
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
	const struct manifest *m = p->m;
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

/* The chunks kept from an earlier run count as written: the read-back
 * takes them from the start, and progress starts past them. Before the
 * threads start, so no lock. */
static void
mark_kept(struct pipeline *p)
{
	uint64_t seq;
	size_t payload, index;

	if (p->resume > p->total)
		p->resume = p->total;
	for (seq = 0; seq < p->resume; seq++)
		if (kept(p, seq)) {
			bit_set(p->written, seq);
			seq_locate(p->m, seq, &payload, &index);
			p->done_bytes +=
			    p->m->payloads[payload].chunks[index].usize;
		}
	while (p->wfront < p->total && bit_get(p->written, p->wfront))
		p->wfront++;
}

/* Takes every chunk from the reader into a free job buffer, in order:
 * the reader hands a chunk over only once its signed SHA-256 matches.
 * Then the reader checks that the stream ends there. */
static void
read_chunks(struct pipeline *p)
{
	struct job *j;
	struct err re;
	uint64_t seq, n;

	for (seq = 0; seq < p->total; seq++) {
		for (n = 0; kept(p, seq + n); n++)
			;
		if (n > 0) {
			if (bundle_reader_skip(p->r, n, &re) < 0)
				goto fail;
			seq += n - 1;
			continue;
		}
		pthread_mutex_lock(&p->lock);
		j = &p->jobs[p->queued % p->njobs];
		while (!p->stop && j->busy)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return;
		}
		j->busy = 1;
		j->seq = seq;
		pthread_mutex_unlock(&p->lock);

		if (bundle_reader_chunk(p->r, j->cbuf, &j->payload, &j->index,
		    &re) < 0)
			goto fail;
		pthread_mutex_lock(&p->lock);
		p->queued++;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	if (bundle_reader_end(p->r, &re) == 0)
		return;
fail:
	fail(p, &re, bundle_reader_source_failed(p->r) ?
	    INSTALL_FAULT_SOURCE : INSTALL_FAULT_BUNDLE);
}

/* Check-only mode skips the read-back; writes need it and a verified
 * bundle. The two don't mix in one pass. */
static int
check_writers(struct bundle_reader *r, struct slot_writer *const *writers,
    int *check_only, struct err *e)
{
	const struct manifest *m = bundle_reader_manifest(r);
	size_t i, nnull = 0;

	for (i = 0; i < m->npayloads; i++)
		nnull += writers[i] == NULL;
	if (nnull != 0 && nnull != m->npayloads)
		return err_set(e, -EINVAL, "%s: some payloads have no slot",
		    bundle_reader_name(r));
	if (nnull == 0 && !bundle_reader_verified(r))
		return err_set(e, -EPERM, "%s: refusing to write an "
		    "unverified bundle", bundle_reader_name(r));
	*check_only = nnull != 0;
	return bundle_reader_begin(r, e);
}

/* Starts the workers and the read-back, reads every chunk, and waits for
 * them all: the result is in p->stop, p->err and p->wfront. */
static void
run(struct pipeline *p, size_t nthreads)
{
	pthread_t tids[WORKERS_MAX], rbtid;
	size_t i, started;
	int rbstarted = 0;

	for (started = 0; started < nthreads; started++)
		if (pthread_create(&tids[started], NULL, worker, p) != 0)
			break;
	if (!p->check_only && started > 0 &&
	    pthread_create(&rbtid, NULL, readback, p) == 0)
		rbstarted = 1;
	if (started == 0 || (!p->check_only && !rbstarted)) {
		struct err te;

		err_set(&te, -EAGAIN, "%s: cannot start threads", p->name);
		fail(p, &te, INSTALL_FAULT_OTHER);
	} else {
		read_chunks(p);
	}

	pthread_mutex_lock(&p->lock);
	p->eof = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (!rbstarted)
		return;
	/* Every write is done or the pipeline stopped: wake the read-back
	 * for its last chunks and the final fsync. */
	pthread_mutex_lock(&p->lock);
	if (!p->stop && p->wfront != p->total) {
		struct err te;

		err_set(&te, -EIO, "%s: %llu of %llu chunks written", p->name,
		    (unsigned long long)p->wfront,
		    (unsigned long long)p->total);
		fail_locked(p, &te, INSTALL_FAULT_SLOT);
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(rbtid, NULL);
}

int
install_payloads(struct bundle_reader *r, struct slot_writer *const *writers,
    const struct install_progress *prog, const struct install_journal *jr,
    enum install_fault *faultp, struct err *e)
{
	struct pipeline p;
	size_t nthreads;
	int rc = 0, check_only = 0;

	*faultp = INSTALL_FAULT_OTHER;
	if ((rc = check_writers(r, writers, &check_only, e)) < 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.r = r;
	p.m = bundle_reader_manifest(r);
	p.name = bundle_reader_name(r);
	p.writers = writers;
	p.check_only = check_only;
	p.prog = prog;
	if (!check_only && jr != NULL) {
		p.jr = jr;
		p.resume = jr->resume;
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);

	/* One worker per core; one compressed buffer more than workers
	 * keeps the reader ahead. */
	nthreads = (size_t)ncpus();
	if ((rc = pipeline_alloc(&p, nthreads + 1, e)) < 0)
		goto out;
	mark_kept(&p);
	run(&p, nthreads);
	if (p.stop) {
		*e = p.err;
		rc = p.err.code;
		*faultp = p.fault;
	} else if (p.wfront != p.total) {
		rc = err_set(e, -EIO, "%s: %llu of %llu chunks done", p.name,
		    (unsigned long long)p.wfront,
		    (unsigned long long)p.total);
		*faultp = p.check_only ? INSTALL_FAULT_OTHER :
		    INSTALL_FAULT_SLOT;
	}
out:
	pipeline_free(&p);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	return rc;
}

/*
 * host/compress: one payload, compressed chunk by chunk. The calling
 * thread reads chunks in order (and hashes the whole payload, which must
 * be in order), a pool of workers compresses and hashes them, and the
 * calling thread writes the frames out in order. A ring of window jobs
 * bounds memory: a chunk is read only once the chunk window places
 * before it has been written.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "common/err.h"
#include "common/io.h"
#include "host/compress.h"
#include "host/plan.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"

#define WINDOW_PER_THREAD 2	/* chunks in flight per compression thread */

enum job_state {
	JOB_FREE,
	JOB_READY,
	JOB_BUSY,
	JOB_DONE,
};

struct job {
	enum job_state		 state;
	size_t			 index;
	uint8_t			*in;
	size_t			 ulen;
	uint8_t			*out;
	size_t			 clen;
	int			 r;
	struct err		 e;
	struct bundle_chunk	 c;
};

struct worker;

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a job is READY, or stop */
	pthread_cond_t	 done;		/* a job is DONE */
	struct job	*jobs;
	size_t		 njobs;
	size_t		 outcap;
	int		 stop;
	const char	*origin;
	struct worker	*workers;
	size_t		 nworkers;
};

struct worker {
	struct pool	*pool;
	ZSTD_CCtx	*cctx;
	pthread_t	 tid;
	int		 started;
};

static void
compress_job(struct worker *w, struct job *j)
{
	size_t n;

	n = ZSTD_compress2(w->cctx, j->out, w->pool->outcap, j->in, j->ulen);
	if (ZSTD_isError(n)) {
		j->r = err_set(&j->e, -EIO, "%s: chunk %zu: zstd: %s",
		    w->pool->origin, j->index, ZSTD_getErrorName(n));
		return;
	}
	j->clen = n;
	j->c.csize = (uint32_t)n;
	j->c.usize = (uint32_t)j->ulen;
	j->c.xxh3 = chunk_xxh3(j->in, j->ulen);
	digest_sha256(j->in, j->ulen, j->c.usha);
	digest_sha256(j->out, n, j->c.csha);
	j->r = 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	struct job *j;
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		j = NULL;
		while (!p->stop) {
			/* Lowest index first keeps the writer fed. */
			for (i = 0; i < p->njobs; i++)
				if (p->jobs[i].state == JOB_READY &&
				    (j == NULL || p->jobs[i].index < j->index))
					j = &p->jobs[i];
			if (j != NULL)
				break;
			pthread_cond_wait(&p->work, &p->mu);
		}
		if (j == NULL)
			break;
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&p->mu);
		compress_job(w, j);
		pthread_mutex_lock(&p->mu);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Reads the payload's bytes in order across its ranges. */
struct reader {
	const struct create_source	*s;
	size_t				 ri;	/* current range */
	uint64_t			 roff;	/* offset within it */
	int				 fd;
};

static int
reader_read(struct reader *rd, uint8_t *buf, size_t len, struct err *e)
{
	const struct create_range *rg;
	uint64_t off;
	size_t n;
	int r;

	while (len > 0) {
		rg = &rd->s->ranges[rd->ri];
		if (rd->roff == rg->size) {
			if (rd->fd != -1)
				close(rd->fd);
			rd->fd = -1;
			rd->ri++;
			rd->roff = 0;
			continue;
		}
		n = rg->size - rd->roff < len ? (size_t)(rg->size - rd->roff) :
		    len;
		if (rg->data != NULL) {	/* made by bundle create itself */
			memcpy(buf, rg->data + rd->roff, n);
			buf += n;
			len -= n;
			rd->roff += n;
			continue;
		}
		if (rd->fd == -1 && (rd->fd = open(rg->path,
		    O_RDONLY | O_CLOEXEC)) == -1) {
			r = -errno;
			return err_set(e, r, "open %s: %s", rg->path,
			    strerror(-r));
		}
		off = rg->offset + rd->roff;
		/* pread_all() says -EIO when the file ends early. */
		if ((r = pread_all(rd->fd, buf, n, off)) == -EIO)
			return err_set(e, r, "read %s at %llu: file shrank "
			    "while reading", rg->path, (unsigned long long)off);
		if (r < 0)
			return err_set(e, r, "read %s at %llu: %s", rg->path,
			    (unsigned long long)off, strerror(-r));
		buf += n;
		len -= n;
		rd->roff += n;
	}
	return 0;
}

void
create_payload_free(struct bundle_payload *bp)
{
	size_t i;

	if (bp == NULL)
		return;
	for (i = 0; i < bp->nfiles; i++)
		free(bp->files[i].name);
	free(bp->files);
	free(bp->chunks);
	free(bp->name);
	free(bp->class);
	memset(bp, 0, sizeof(*bp));
}

static int
payload_init(const struct create_source *s, uint32_t cs,
    struct bundle_payload *bp, struct err *e)
{
	size_t i;

	memset(bp, 0, sizeof(*bp));
	for (i = 0; i < s->nranges; i++)
		bp->size += s->ranges[i].size;
	if (bp->size == 0)
		return err_set(e, -EINVAL, "%s: nothing to bundle", s->origin);
	bp->kind = s->kind;
	bp->chunk_size = cs;
	bp->nchunks = (size_t)((bp->size + cs - 1) / cs);
	if ((bp->name = strdup(s->class)) == NULL ||
	    (bp->class = strdup(s->class)) == NULL ||
	    (bp->chunks = calloc(bp->nchunks, sizeof(*bp->chunks))) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", s->origin);
	if (s->kind != PAYLOAD_FILES)
		return 0;
	if ((bp->files = calloc(s->nranges, sizeof(*bp->files))) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", s->origin);
	for (i = 0; i < s->nranges; i++) {
		if ((bp->files[i].name = strdup(s->ranges[i].name)) == NULL)
			return err_set(e, -ENOMEM, "%s: out of memory",
			    s->origin);
		bp->nfiles++;
		bp->files[i].size = s->ranges[i].size;
		bp->files[i].mode = s->ranges[i].mode;
	}
	return 0;
}

/* Sizes the pool for nchunks chunks: at most one worker a chunk, and
 * WINDOW_PER_THREAD jobs a worker, each with its in and out buffers. */
static int
pool_alloc(struct pool *p, const struct create_opts *o, size_t nchunks,
    struct err *e)
{
	size_t i;

	p->nworkers = o->threads < 1 ? 1 : (size_t)o->threads;
	if (p->nworkers > nchunks)
		p->nworkers = nchunks;
	p->njobs = p->nworkers * WINDOW_PER_THREAD;
	if (p->njobs > nchunks)
		p->njobs = nchunks;
	p->outcap = ZSTD_compressBound(o->chunk_size);
	if ((p->jobs = calloc(p->njobs, sizeof(*p->jobs))) == NULL ||
	    (p->workers = calloc(p->nworkers, sizeof(*p->workers))) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", p->origin);
	for (i = 0; i < p->njobs; i++)
		if ((p->jobs[i].in = malloc(o->chunk_size)) == NULL ||
		    (p->jobs[i].out = malloc(p->outcap)) == NULL)
			return err_set(e, -ENOMEM, "%s: out of memory for %zu "
			    "chunk buffers", p->origin, p->njobs);
	return 0;
}

static int
pool_start(struct pool *p, int level, struct err *e)
{
	struct worker *w;
	size_t i;
	int r;

	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		w->pool = p;
		if ((w->cctx = ZSTD_createCCtx()) == NULL)
			return err_set(e, -ENOMEM, "%s: zstd context",
			    p->origin);
		/* No zstd checksum: the signed SHA-256 covers each frame.
		 * The content size lets the device check usize up front. */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
		    ZSTD_c_compressionLevel, level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
		    ZSTD_c_contentSizeFlag, 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
		    ZSTD_c_checksumFlag, 0)))
			return err_set(e, -EINVAL, "%s: zstd level %d",
			    p->origin, level);
		if ((r = pthread_create(&w->tid, NULL, worker_main, w)) != 0)
			return err_set(e, -r, "%s: thread: %s", p->origin,
			    strerror(r));
		w->started = 1;
	}
	return 0;
}

/* Stops and joins the workers and frees what pool_alloc() made; takes a
 * pool in any state it can reach. */
static void
pool_stop(struct pool *p)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; p->workers != NULL && i < p->nworkers; i++) {
		if (p->workers[i].started)
			pthread_join(p->workers[i].tid, NULL);
		ZSTD_freeCCtx(p->workers[i].cctx);
	}
	for (i = 0; p->jobs != NULL && i < p->njobs; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	free(p->jobs);
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
}

/* Reads chunks from *next_read on into free jobs and marks them READY,
 * up to the window past next_write (the oldest chunk not yet written). */
static int
pool_feed(struct pool *p, struct reader *rd, const struct bundle_payload *bp,
    size_t *next_read, size_t next_write, struct err *e)
{
	struct job *j;
	uint64_t left;
	int r;

	/* Jobs below next_write were written and are FREE again, so the
	 * slot of next_read is free while inside the window. */
	while (*next_read < bp->nchunks && *next_read - next_write < p->njobs) {
		j = &p->jobs[*next_read % p->njobs];
		j->index = *next_read;
		left = bp->size - (uint64_t)*next_read * bp->chunk_size;
		j->ulen = left < bp->chunk_size ? (size_t)left :
		    bp->chunk_size;
		if ((r = reader_read(rd, j->in, j->ulen, e)) < 0)
			return r;
		pthread_mutex_lock(&p->mu);
		j->state = JOB_READY;
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->mu);
		(*next_read)++;
	}
	return 0;
}

/* Waits for chunk index, writes its frame to fd at *coff and records it
 * in bp's chunk table; its job is free again after. */
static int
pool_write(struct pool *p, int fd, struct bundle_payload *bp, size_t index,
    uint64_t *coff, struct err *e)
{
	struct job *j = &p->jobs[index % p->njobs];
	int r;

	pthread_mutex_lock(&p->mu);
	while (j->state != JOB_DONE)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (j->r < 0) {
		*e = j->e;
		return j->r;
	}
	if ((r = write_all(fd, j->out, j->clen)) < 0)
		return err_set(e, r, "%s: write chunk %zu: %s", p->origin,
		    index, strerror(-r));
	bp->chunks[index] = j->c;
	bp->chunks[index].offset = *coff;
	*coff += j->clen;
	/* Workers scan every job's state under the lock. */
	pthread_mutex_lock(&p->mu);
	j->state = JOB_FREE;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int
create_payload(const struct create_source *s, const struct create_opts *o,
    int fd, uint64_t base, struct bundle_payload *bp, struct err *e)
{
	struct pool p = { .mu = PTHREAD_MUTEX_INITIALIZER,
	    .work = PTHREAD_COND_INITIALIZER,
	    .done = PTHREAD_COND_INITIALIZER, .origin = s->origin };
	struct reader rd = { .s = s, .fd = -1 };
	size_t next_read = 0, next_write;
	uint64_t coff = base;
	int r;

	if ((r = payload_init(s, o->chunk_size, bp, e)) < 0 ||
	    (r = pool_alloc(&p, o, bp->nchunks, e)) < 0 ||
	    (r = pool_start(&p, o->level, e)) < 0)
		goto out;
	for (next_write = 0; next_write < bp->nchunks; next_write++)
		if ((r = pool_feed(&p, &rd, bp, &next_read, next_write,
		    e)) < 0 ||
		    (r = pool_write(&p, fd, bp, next_write, &coff, e)) < 0)
			goto out;
	/* The hash of the chunk digests (docs/bundle-format.md): the
	 * device checks it from the manifest alone. */
	if ((r = chunk_payload_sha256(bp, bp->sha256, e)) < 0)
		goto out;
	bp->offset = base;
	bp->csize = coff - base;
out:
	pool_stop(&p);
	if (rd.fd != -1)
		close(rd.fd);
	if (r < 0)
		create_payload_free(bp);
	return r;
}

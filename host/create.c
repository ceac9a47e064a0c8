/*
 * upkit bundle create: LinuxKit outputs, images and folders in, one signed
 * bundle out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "agent/cmd.h"
#include "agent/exitcode.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "host/create.h"
#include "host/sign.h"
#include "host/tar.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"

#define PEM_MAX		(1u << 20)
#define WINDOW_PER_THREAD 2	/* chunks in flight per compression thread */

static void
source_clear(struct create_source *s)
{
	size_t i;

	for (i = 0; i < s->nranges; i++) {
		free(s->ranges[i].name);
		free(s->ranges[i].path);
	}
	free(s->ranges);
	free(s->class);
	free(s->origin);
	memset(s, 0, sizeof(*s));
}

void
create_plan_clear(struct create_plan *p)
{
	size_t i;

	for (i = 0; i < p->nsources; i++)
		source_clear(&p->sources[i]);
	p->nsources = 0;
}

/* Starts a source for class; the caller adds ranges, or drops it with
 * plan_drop() on failure. */
static int
source_new(struct create_plan *p, const char *class, enum payload_kind kind,
    const char *origin, struct create_source **sp, struct err *e)
{
	struct create_source *s;
	size_t i;

	if (!bundle_name_valid(class))
		return err_set(e, -EINVAL, "%s: class \"%s\" is not "
		    "[a-z0-9][a-z0-9._-]{0,63}", origin, class);
	for (i = 0; i < p->nsources; i++)
		if (strcmp(p->sources[i].class, class) == 0)
			return err_set(e, -EEXIST, "class %s: two sources: %s "
			    "and %s", class, p->sources[i].origin, origin);
	if (p->nsources == BUNDLE_PAYLOADS_MAX)
		return err_set(e, -E2BIG, "%s: more than %d payloads", origin,
		    BUNDLE_PAYLOADS_MAX);
	s = &p->sources[p->nsources];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if ((s->class = strdup(class)) == NULL ||
	    (s->origin = strdup(origin)) == NULL) {
		source_clear(s);
		return err_set(e, -ENOMEM, "%s: out of memory", origin);
	}
	p->nsources++;
	*sp = s;
	return 0;
}

static void
plan_drop(struct create_plan *p)
{
	source_clear(&p->sources[--p->nsources]);
}

static int
range_add(struct create_source *s, const char *name, const char *path,
    uint64_t off, uint64_t size, uint32_t mode, struct err *e)
{
	struct create_range *r;

	if (s->nranges == BUNDLE_FILES_MAX)
		return err_set(e, -E2BIG, "%s: more than %d files", s->origin,
		    BUNDLE_FILES_MAX);
	if ((r = reallocarray(s->ranges, s->nranges + 1,
	    sizeof(*r))) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	s->ranges = r;
	r = &s->ranges[s->nranges];
	memset(r, 0, sizeof(*r));
	r->offset = off;
	r->size = size;
	r->mode = mode & 07777;
	if ((r->name = strdup(name)) == NULL ||
	    (r->path = strdup(path)) == NULL) {
		free(r->name);
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	}
	s->nranges++;
	return 0;
}

static int
stat_regular(const char *path, struct stat *st, struct err *e)
{
	int r;

	if (stat(path, st) == -1) {
		r = -errno;
		return err_set(e, r, "%s: %s", path, strerror(-r));
	}
	if (!S_ISREG(st->st_mode))
		return err_set(e, -EINVAL, "%s: not a regular file", path);
	return 0;
}

int
create_add_image(struct create_plan *p, const char *class, const char *path,
    struct err *e)
{
	struct create_source *s;
	struct stat st;
	int r;

	if ((r = stat_regular(path, &st, e)) < 0)
		return r;
	if (st.st_size == 0)
		return err_set(e, -EINVAL, "%s: empty image", path);
	if ((r = source_new(p, class, PAYLOAD_RAW, path, &s, e)) < 0)
		return r;
	if ((r = range_add(s, class, path, 0, (uint64_t)st.st_size,
	    st.st_mode, e)) < 0)
		plan_drop(p);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
create_add_files(struct create_plan *p, const char *class, const char *dir,
    struct err *e)
{
	struct create_source *s = NULL;
	struct dirent *de;
	struct stat st;
	char **names = NULL, **grown, path[4096];
	size_t i, n = 0;
	uint64_t total = 0;
	DIR *d;
	int r;

	if ((d = opendir(dir)) == NULL) {
		r = -errno;
		return err_set(e, r, "%s: %s", dir, strerror(-r));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == BUNDLE_FILES_MAX) {
			r = err_set(e, -E2BIG, "%s: more than %d files", dir,
			    BUNDLE_FILES_MAX);
			goto out;
		}
		if (!bundle_file_name_valid(de->d_name)) {
			r = err_set(e, -EINVAL, "%s/%s: file names must be "
			    "[A-Za-z0-9._-]{1,64}", dir, de->d_name);
			goto out;
		}
		/* names stays valid if the array cannot grow, so out:
		 * frees what it holds. */
		if ((grown = reallocarray(names, n + 1,
		    sizeof(*names))) == NULL ||
		    ((names = grown)[n] = strdup(de->d_name)) == NULL) {
			r = err_set(e, -ENOMEM, "%s: out of memory", dir);
			goto out;
		}
		n++;
	}
	if (errno != 0) {
		r = -errno;
		err_set(e, r, "read %s: %s", dir, strerror(-r));
		goto out;
	}
	if (n == 0) {
		r = err_set(e, -ENOENT, "%s: no files", dir);
		goto out;
	}
	/* Sorted, so the same folder always gives the same bundle. */
	qsort(names, n, sizeof(*names), cmp_str);
	if ((r = source_new(p, class, PAYLOAD_FILES, dir, &s, e)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		/* lstat: a symlink would bundle whatever it points to,
		 * outside DIR too (docs/exit-codes.md, exit 2). */
		if (lstat(path, &st) == -1) {
			r = -errno;
			err_set(e, r, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			r = err_set(e, -EINVAL, "%s: %s: --files takes regular "
			    "files only (no symlinks, subfolders or special "
			    "files)", path, S_ISLNK(st.st_mode) ?
			    "a symlink" : S_ISDIR(st.st_mode) ?
			    "a subfolder" : "not a regular file");
			goto out;
		}
		total += (uint64_t)st.st_size;
		if ((r = range_add(s, names[i], path, 0, (uint64_t)st.st_size,
		    st.st_mode, e)) < 0)
			goto out;
	}
	if (total == 0)
		r = err_set(e, -EINVAL, "%s: all files are empty", dir);
out:
	if (r < 0 && s != NULL)
		plan_drop(p);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Boot files from LinuxKit's tar-kernel-initrd output. The tar may hold
 * them at the top or under a folder, with or without "./". */
static int
add_boot_tar(struct create_plan *p, const char *tarpath, struct err *e)
{
	static const char *const want[] = { "kernel", "initrd.img", "cmdline",
	    "ucode.cpio" };
	const struct tar_member *found[4] = { NULL };
	struct create_source *s = NULL;
	struct tar_member *m = NULL;
	const char *base;
	size_t i, j, n = 0;
	int r;

	if ((r = tar_list(tarpath, &m, &n, e)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (m[i].type != '0' && m[i].type != '7')
			continue;
		base = tar_basename(m[i].name);
		for (j = 0; j < 4; j++) {
			if (strcmp(base, want[j]) != 0)
				continue;
			if (found[j] != NULL) {
				r = err_set(e, -EINVAL, "%s: two members named "
				    "%s: %s and %s", tarpath, want[j],
				    found[j]->name, m[i].name);
				goto out;
			}
			found[j] = &m[i];
		}
	}
	if (found[0] == NULL) {
		r = err_set(e, -ENOENT, "%s: no kernel member", tarpath);
		goto out;
	}
	if ((r = source_new(p, "boot", PAYLOAD_FILES, tarpath, &s, e)) < 0) {
		s = NULL;
		goto out;
	}
	for (j = 0; j < 4; j++)
		if (found[j] != NULL && (r = range_add(s, want[j], tarpath,
		    found[j]->offset, found[j]->size, found[j]->mode, e)) < 0)
			goto out;
out:
	if (r < 0 && s != NULL)
		plan_drop(p);
	tar_members_free(m, n);
	return r;
}

static int
add_boot_files(struct create_plan *p, const char *prefix, struct err *e)
{
	static const char *const names[] = { "kernel", "initrd.img",
	    "cmdline" };
	struct create_source *s;
	struct stat st;
	char path[4096];
	size_t i;
	int r;

	snprintf(path, sizeof(path), "%s-kernel", prefix);
	if ((r = source_new(p, "boot", PAYLOAD_FILES, path, &s, e)) < 0)
		return r;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s-%s", prefix, names[i]);
		if (i > 0 && !exists(path))
			continue;
		if ((r = stat_regular(path, &st, e)) < 0 ||
		    (r = range_add(s, names[i], path, 0, (uint64_t)st.st_size,
		    st.st_mode, e)) < 0) {
			plan_drop(p);
			return r;
		}
	}
	return 0;
}

/* The first of the candidate suffixes that exists; -EEXIST if two do. */
static int
pick_one(const char *prefix, const char *const *suffixes, char *path,
    size_t size, struct err *e)
{
	char cand[4096];
	int found = 0;

	for (; *suffixes != NULL; suffixes++) {
		snprintf(cand, sizeof(cand), "%s%s", prefix, *suffixes);
		if (!exists(cand))
			continue;
		if (found)
			return err_set(e, -EEXIST, "linuxkit %s: both %s and "
			    "%s exist; pass one with --image", prefix, path,
			    cand);
		snprintf(path, size, "%s", cand);
		found = 1;
	}
	return found;
}

int
create_add_linuxkit(struct create_plan *p, const char *prefix,
    struct err *e)
{
	static const char *const rootfs[] = { "-squashfs.img", "-erofs.img",
	    NULL };
	static const char *const disk[] = { "-efi.img", "-bios.img", ".raw",
	    NULL };
	char kernel[4096], tarpath[4096], path[4096];
	int r, any = 0;

	snprintf(kernel, sizeof(kernel), "%s-kernel", prefix);
	snprintf(tarpath, sizeof(tarpath), "%s-initrd.tar", prefix);
	if (exists(kernel) && exists(tarpath))
		return err_set(e, -EEXIST, "linuxkit %s: both %s and %s exist; "
		    "pass one with --files boot=DIR", prefix, kernel, tarpath);
	if (exists(kernel)) {
		if ((r = add_boot_files(p, prefix, e)) < 0)
			return r;
		any = 1;
	} else if (exists(tarpath)) {
		if ((r = add_boot_tar(p, tarpath, e)) < 0)
			return r;
		any = 1;
	} else {
		snprintf(path, sizeof(path), "%s-initrd.img", prefix);
		if (exists(path))
			return err_set(e, -ENOENT, "linuxkit %s: %s without "
			    "%s", prefix, path, kernel);
	}
	if ((r = pick_one(prefix, rootfs, path, sizeof(path), e)) < 0)
		return r;
	if (r == 1) {
		if ((r = create_add_image(p, "rootfs", path, e)) < 0)
			return r;
		any = 1;
	}
	if ((r = pick_one(prefix, disk, path, sizeof(path), e)) < 0)
		return r;
	if (r == 1) {
		if ((r = create_add_image(p, "disk", path, e)) < 0)
			return r;
		any = 1;
	}
	if (!any)
		return err_set(e, -ENOENT, "linuxkit %s: found none of "
		    "%s-kernel, %s-initrd.tar, %s-squashfs.img, "
		    "%s-erofs.img, %s-efi.img, %s-bios.img, %s.raw", prefix,
		    prefix, prefix, prefix, prefix, prefix, prefix, prefix);
	return 0;
}

/*
 * Compression pipeline. The calling thread reads chunks in order (and
 * hashes the whole payload, which must be in order), workers compress
 * and hash them, and the calling thread writes the frames out in order.
 * A ring of window jobs bounds memory: a chunk is read only once the
 * chunk window places before it has been written.
 */
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

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a job is READY, or stop */
	pthread_cond_t	 done;		/* a job is DONE */
	struct job	*jobs;
	size_t		 njobs;
	size_t		 outcap;
	int		 stop;
	const char	*origin;
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
	uint64_t want;
	ssize_t n;
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
		if (rd->fd == -1 && (rd->fd = open(rg->path,
		    O_RDONLY | O_CLOEXEC)) == -1) {
			r = -errno;
			return err_set(e, r, "open %s: %s", rg->path,
			    strerror(-r));
		}
		want = rg->size - rd->roff;
		if (want > len)
			want = len;
		n = pread(rd->fd, buf, (size_t)want,
		    (off_t)(rg->offset + rd->roff));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			return err_set(e, r, "read %s at %llu: %s", rg->path,
			    (unsigned long long)(rg->offset + rd->roff),
			    strerror(-r));
		}
		if (n == 0)
			return err_set(e, -EIO, "read %s at %llu: file shrank "
			    "while reading", rg->path,
			    (unsigned long long)(rg->offset + rd->roff));
		buf += n;
		len -= (size_t)n;
		rd->roff += (uint64_t)n;
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

static int
pool_start(struct pool *p, struct worker *w, size_t nw, int level,
    struct err *e)
{
	size_t i;
	int r;

	for (i = 0; i < nw; i++) {
		w[i].pool = p;
		if ((w[i].cctx = ZSTD_createCCtx()) == NULL)
			return err_set(e, -ENOMEM, "%s: zstd context",
			    p->origin);
		/* No zstd checksum: the signed SHA-256 covers each frame.
		 * The content size lets the device check usize up front. */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(w[i].cctx,
		    ZSTD_c_compressionLevel, level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w[i].cctx,
		    ZSTD_c_contentSizeFlag, 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w[i].cctx,
		    ZSTD_c_checksumFlag, 0)))
			return err_set(e, -EINVAL, "%s: zstd level %d",
			    p->origin, level);
		if ((r = pthread_create(&w[i].tid, NULL, worker_main,
		    &w[i])) != 0)
			return err_set(e, -r, "%s: thread: %s", p->origin,
			    strerror(r));
		w[i].started = 1;
	}
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
	struct worker *w = NULL;
	struct job *j;
	size_t i, nw, next_read = 0, next_write = 0;
	uint64_t coff = base;
	int r;

	if ((r = payload_init(s, o->chunk_size, bp, e)) < 0)
		goto out;
	nw = o->threads < 1 ? 1 : (size_t)o->threads;
	if (nw > bp->nchunks)
		nw = bp->nchunks;
	p.njobs = nw * WINDOW_PER_THREAD;
	if (p.njobs > bp->nchunks)
		p.njobs = bp->nchunks;
	p.outcap = ZSTD_compressBound(o->chunk_size);
	if ((p.jobs = calloc(p.njobs, sizeof(*p.jobs))) == NULL ||
	    (w = calloc(nw, sizeof(*w))) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", s->origin);
		goto out;
	}
	for (i = 0; i < p.njobs; i++)
		if ((p.jobs[i].in = malloc(o->chunk_size)) == NULL ||
		    (p.jobs[i].out = malloc(p.outcap)) == NULL) {
			r = err_set(e, -ENOMEM, "%s: out of memory for %zu "
			    "chunk buffers", s->origin, p.njobs);
			goto out;
		}
	if ((r = pool_start(&p, w, nw, o->level, e)) < 0)
		goto out;
	while (next_write < bp->nchunks) {
		/* Jobs below next_write were written and are FREE again, so
		 * the slot of next_read is free while inside the window. */
		while (next_read < bp->nchunks &&
		    next_read - next_write < p.njobs) {
			j = &p.jobs[next_read % p.njobs];
			j->index = next_read;
			j->ulen = bp->size - (uint64_t)next_read * o->chunk_size
			    < o->chunk_size ? (size_t)(bp->size -
			    (uint64_t)next_read * o->chunk_size) :
			    o->chunk_size;
			if ((r = reader_read(&rd, j->in, j->ulen, e)) < 0)
				goto out;
			pthread_mutex_lock(&p.mu);
			j->state = JOB_READY;
			pthread_cond_signal(&p.work);
			pthread_mutex_unlock(&p.mu);
			next_read++;
		}
		j = &p.jobs[next_write % p.njobs];
		pthread_mutex_lock(&p.mu);
		while (j->state != JOB_DONE)
			pthread_cond_wait(&p.done, &p.mu);
		pthread_mutex_unlock(&p.mu);
		if (j->r < 0) {
			r = j->r;
			*e = j->e;
			goto out;
		}
		if ((r = write_all(fd, j->out, j->clen)) < 0) {
			err_set(e, r, "%s: write chunk %zu: %s", s->origin,
			    next_write, strerror(-r));
			goto out;
		}
		bp->chunks[next_write] = j->c;
		bp->chunks[next_write].offset = coff;
		coff += j->clen;
		/* Workers scan every job's state under the lock. */
		pthread_mutex_lock(&p.mu);
		j->state = JOB_FREE;
		pthread_mutex_unlock(&p.mu);
		next_write++;
	}
	/* The hash of the chunk digests (docs/bundle-format.md): the
	 * device checks it from the manifest alone. */
	if ((r = chunk_payload_sha256(bp, bp->sha256, e)) < 0)
		goto out;
	bp->offset = base;
	bp->csize = coff - base;
	r = 0;
out:
	pthread_mutex_lock(&p.mu);
	p.stop = 1;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (i = 0; w != NULL && i < nw; i++) {
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
		ZSTD_freeCCtx(w[i].cctx);
	}
	for (i = 0; p.jobs != NULL && i < p.njobs; i++) {
		free(p.jobs[i].in);
		free(p.jobs[i].out);
	}
	free(p.jobs);
	free(w);
	if (rd.fd != -1)
		close(rd.fd);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	if (r < 0)
		create_payload_free(bp);
	return r;
}

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

struct pems {
	char	*key, *cert, *chain;
	size_t	 keylen, certlen, chainlen;
};

static void
pems_free(struct pems *pm)
{
	if (pm->key != NULL)
		explicit_bzero(pm->key, pm->keylen);
	free(pm->key);
	free(pm->cert);
	free(pm->chain);
}

static int
pems_load(const struct create_signer *sg, struct pems *pm, struct err *e)
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
static int
precheck(const struct manifest *m, struct err *e)
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

int
create_bundle(const char *out, const struct create_plan *p,
    const struct create_opts *o, const struct create_signer *sg,
    struct manifest *m, struct err *e)
{
	char ptmp[4096], btmp[4096], dir[4096];
	uint8_t hdr[BUNDLE_HEADER_SIZE], digest[32], *sig = NULL;
	struct bundle_header bh;
	struct pems pm = { .key = NULL };
	struct digest *h = NULL;
	struct manifest *check = NULL;
	char *json = NULL;
	size_t i, jlen, siglen;
	uint64_t base = 0;
	int pfd = -1, bfd = -1, r;

	m->payloads = NULL;
	m->npayloads = 0;
	if (snprintf(ptmp, sizeof(ptmp), "%s.payload.tmp", out) >=
	    (int)sizeof(ptmp) ||
	    snprintf(btmp, sizeof(btmp), "%s.tmp", out) >= (int)sizeof(btmp))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", out);
	if (p->nsources == 0)
		return err_set(e, -EINVAL, "%s: no payloads", out);
	if ((r = precheck(m, e)) < 0)
		return err_prefix(e, "%s", out);
	if ((r = pems_load(sg, &pm, e)) < 0)
		goto out;
	if ((m->payloads = calloc(p->nsources, sizeof(*m->payloads))) ==
	    NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", out);
		goto out;
	}
	/* O_NOFOLLOW: a symlink planted at a temp name is not followed. */
	if ((pfd = open(ptmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		r = -errno;
		err_set(e, r, "create %s: %s", ptmp, strerror(-r));
		goto out;
	}
	for (i = 0; i < p->nsources; i++) {
		if ((r = create_payload(&p->sources[i], o, pfd, base,
		    &m->payloads[i], e)) < 0)
			goto out;
		m->npayloads++;
		base += m->payloads[i].csize;
	}
	if ((r = manifest_encode(m, &json, &jlen, e)) < 0)
		goto out;
	/* Never sign what a device would refuse to parse. */
	if ((r = manifest_parse(json, jlen, &check, e)) < 0) {
		err_prefix(e, "%s: manifest self-check", out);
		goto out;
	}
	bh.format = BUNDLE_FORMAT;
	bh.manifest_len = jlen;
	bh.payload_len = base;
	bundle_header_encode(&bh, hdr);
	if ((r = digest_open(&h, e)) < 0)
		goto out;
	digest_update(h, hdr, sizeof(hdr));
	digest_update(h, json, jlen);
	digest_final(h, digest);
	if ((r = sign_bundle(pm.key, pm.keylen, pm.cert, pm.certlen,
	    pm.chain, pm.chainlen, digest, &sig, &siglen, e)) < 0) {
		err_prefix(e, "sign %s with %s", out, sg->key);
		goto out;
	}
	if ((bfd = open(btmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		r = -errno;
		err_set(e, r, "create %s: %s", btmp, strerror(-r));
		goto out;
	}
	if ((r = write_all(bfd, hdr, sizeof(hdr))) < 0 ||
	    (r = write_all(bfd, json, jlen)) < 0 ||
	    (r = write_all(bfd, sig, siglen)) < 0) {
		err_set(e, r, "write %s: %s", btmp, strerror(-r));
		goto out;
	}
	if ((r = copy_payload(pfd, bfd, base, ptmp, btmp, e)) < 0)
		goto out;
	/* The bundle must be whole on disk before its name appears. */
	if (fsync(bfd) == -1) {
		r = -errno;
		err_set(e, r, "fsync %s: %s", btmp, strerror(-r));
		goto out;
	}
	r = close(bfd);
	bfd = -1;
	if (r == -1) {
		r = -errno;
		err_set(e, r, "close %s: %s", btmp, strerror(-r));
		goto out;
	}
	if (rename(btmp, out) == -1) {
		r = -errno;
		err_set(e, r, "rename %s to %s: %s", btmp, out, strerror(-r));
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", out);
	r = fsync_dir(dirname(dir), e);
out:
	if (pfd != -1)
		close(pfd);
	unlink(ptmp);
	if (bfd != -1)
		close(bfd);
	if (r < 0) {
		unlink(btmp);
		create_manifest_clear(m);
	}
	manifest_free(check);
	digest_free(h);
	free(json);
	free(sig);
	pems_free(&pm);
	return r;
}

/* created: SOURCE_DATE_EPOCH when set, for reproducible bundles. */
static int
created_time(char out[32], struct err *e)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	struct tm tm;
	char *end;
	time_t t;
	long long v;

	if (s == NULL || *s == '\0') {
		time_rfc3339(out);
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 253402300799LL)
		return err_set(e, -EINVAL, "SOURCE_DATE_EPOCH=%s: not a "
		    "number of seconds", s);
	t = (time_t)v;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: upkit bundle create --key KEY --cert CERT "
	    "[--chain PEM]\n"
	    "    --compatible STR --version VER [--security-version N]\n"
	    "    [--chunk-size BYTES] [--level N] [--threads N]\n"
	    "    {--linuxkit PREFIX | --image CLASS=FILE | "
	    "--files CLASS=DIR}... -o OUT.upk\n");
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *vp)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*vp = v;
	return 0;
}

/* CLASS=PATH; splits arg in place. */
static int
split_input(char *arg, char **classp, char **pathp)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || eq[1] == '\0')
		return -1;
	*eq = '\0';
	*classp = arg;
	*pathp = eq + 1;
	return 0;
}

static void
human(uint64_t n, char out[16])
{
	if (n >= (1ull << 30))
		snprintf(out, 16, "%.1f GiB", (double)n / (1ull << 30));
	else if (n >= (1u << 20))
		snprintf(out, 16, "%.1f MiB", (double)n / (1u << 20));
	else if (n >= 1024)
		snprintf(out, 16, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, 16, "%llu B", (unsigned long long)n);
}

static void
summary(const char *out, const struct manifest *m, double secs)
{
	const struct bundle_payload *bp;
	uint64_t us = 0, cs = 0;
	char a[16], b[16];
	size_t i, nch = 0;

	printf("wrote %s: version %s, compatible %s, created %s\n", out,
	    m->version, m->compatible, m->created);
	for (i = 0; i < m->npayloads; i++) {
		bp = &m->payloads[i];
		human(bp->size, a);
		human(bp->csize, b);
		printf("  %-8s %-5s %10s -> %10s (%5.1f%%) %zu chunks\n",
		    bp->name, bp->kind == PAYLOAD_FILES ? "files" : "raw", a, b,
		    100.0 * (double)bp->csize / (double)bp->size, bp->nchunks);
		us += bp->size;
		cs += bp->csize;
		nch += bp->nchunks;
	}
	human(us, a);
	human(cs, b);
	printf("  total    %s -> %s (%.1f%%), %zu chunks, %.2f s\n", a, b,
	    us ? 100.0 * (double)cs / (double)us : 0.0, nch, secs);
}

int
cmd_bundle_create(int argc, char **argv)
{
	enum { O_KEY = 256, O_CERT, O_CHAIN, O_COMPAT, O_VERSION, O_SECVER,
	    O_CHUNK, O_LEVEL, O_THREADS, O_LINUXKIT, O_IMAGE, O_FILES };
	static const struct option opts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "cert", required_argument, NULL, O_CERT },
		{ "chain", required_argument, NULL, O_CHAIN },
		{ "compatible", required_argument, NULL, O_COMPAT },
		{ "version", required_argument, NULL, O_VERSION },
		{ "security-version", required_argument, NULL, O_SECVER },
		{ "chunk-size", required_argument, NULL, O_CHUNK },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "linuxkit", required_argument, NULL, O_LINUXKIT },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "files", required_argument, NULL, O_FILES },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_plan plan = { 0 };
	struct create_signer sg = { NULL, NULL, NULL };
	struct create_opts o;
	struct manifest m = { 0 };
	struct timespec t0, t1;
	char created[32], *class, *path;
	const char *out = NULL;
	struct err e;
	uint64_t v;
	long ncpu;
	int c, r, rc = EXIT_USAGE;

	err_clear(&e);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o.chunk_size = BUNDLE_CHUNK_DEFAULT;
	o.level = 19;
	o.threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		r = 0;
		switch (c) {
		case O_KEY:
			sg.key = optarg;
			break;
		case O_CERT:
			sg.cert = optarg;
			break;
		case O_CHAIN:
			sg.chain = optarg;
			break;
		case O_COMPAT:
			m.compatible = optarg;
			break;
		case O_VERSION:
			m.version = optarg;
			break;
		case O_SECVER:
			if (parse_u64(optarg, 0, (1ull << 53) - 1,
			    &m.security_version) < 0)
				r = err_set(&e, -EINVAL, "--security-version "
				    "%s: not a number", optarg);
			break;
		case O_CHUNK:
			if (parse_u64(optarg, BUNDLE_CHUNK_MIN,
			    BUNDLE_CHUNK_MAX, &v) < 0 || v % 4096 != 0)
				r = err_set(&e, -EINVAL, "--chunk-size %s: "
				    "need a multiple of 4096 in %u..%u",
				    optarg, BUNDLE_CHUNK_MIN,
				    BUNDLE_CHUNK_MAX);
			o.chunk_size = (uint32_t)v;
			break;
		case O_LEVEL:
			if (parse_u64(optarg, 1, 22, &v) < 0)
				r = err_set(&e, -EINVAL, "--level %s: need "
				    "1..22", optarg);
			o.level = (int)v;
			break;
		case O_THREADS:
			if (parse_u64(optarg, 1, 256, &v) < 0)
				r = err_set(&e, -EINVAL, "--threads %s: need "
				    "1..256", optarg);
			o.threads = (int)v;
			break;
		case O_LINUXKIT:
			r = create_add_linuxkit(&plan, optarg, &e);
			break;
		case O_IMAGE:
		case O_FILES:
			if (split_input(optarg, &class, &path) < 0) {
				r = err_set(&e, -EINVAL, "--%s %s: expected "
				    "CLASS=%s", c == O_IMAGE ? "image" :
				    "files", optarg, c == O_IMAGE ? "FILE" :
				    "DIR");
				break;
			}
			r = c == O_IMAGE ?
			    create_add_image(&plan, class, path, &e) :
			    create_add_files(&plan, class, path, &e);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
		if (r < 0) {
			rc = exitcode_for(FAIL_CREATE_INPUT, r);
			fprintf(stderr, "upkit: bundle create: %s\n", e.msg);
			goto out;
		}
	}
	if (optind != argc || out == NULL || sg.key == NULL ||
	    sg.cert == NULL || m.compatible == NULL || m.version == NULL ||
	    plan.nsources == 0) {
		if (optind != argc)
			fprintf(stderr, "upkit: bundle create: unexpected "
			    "argument %s\n", argv[optind]);
		else
			fprintf(stderr, "upkit: bundle create: need --key, "
			    "--cert, --compatible, --version, -o and at least "
			    "one input\n");
		usage(stderr);
		goto out;
	}
	if (created_time(created, &e) < 0) {
		fprintf(stderr, "upkit: bundle create: %s\n", e.msg);
		goto out;
	}
	m.created = created;
	if (precheck(&m, &e) < 0) {
		fprintf(stderr, "upkit: bundle create: %s\n", e.msg);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = create_bundle(out, &plan, &o, &sg, &m, &e)) < 0) {
		fprintf(stderr, "upkit: bundle create: %s\n", e.msg);
		rc = exitcode_for(FAIL_CREATE, r);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	summary(out, &m, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = EXIT_OK;
out:
	create_manifest_clear(&m);
	create_plan_clear(&plan);
	return rc;
}

/*
 * source/impl.h: what the source kinds share, private to source/. Each
 * kind embeds struct source first and fills in its ops; source.c checks
 * arguments and keeps the offset promise, the kinds move the bytes.
 */
#ifndef SOURCE_IMPL_H
#define SOURCE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct source;
struct source_options;

struct source_ops {
	/* As source_read(); advances s->off by the count. */
	ssize_t	(*read)(struct source *s, void *buf, size_t len,
		    int cancelfd, struct err *e);
	/* As source_skip_to(), with off > s->off; sets s->off. */
	int	(*skip_to)(struct source *s, uint64_t off, int cancelfd,
		    struct err *e);
	void	(*close)(struct source *s);	/* frees s */
};

struct source {
	const struct source_ops	*ops;
	char		*name;		/* path, URL or "standard input" */
	uint64_t	 off;		/* next byte source_read() returns */
	uint64_t	 size;		/* 0 while unknown */
	/* Bytes taken from the file, pipe or network (reads and the reads
	 * that skip a gap); of them, those at offsets below seen. */
	uint64_t	 fetched, refetched, seen;
};

/* Counts n bytes taken at off: source.c for every read, and the kinds
 * for the bytes a skip reads through. */
void	source_count(struct source *s, uint64_t off, uint64_t n);

/* "-" or a path; "standard input" names "-". */
int	file_source_open(const char *from, struct source **sp,
	    struct err *e);
/* An http:// or https:// URL; loads libcurl on first use. */
int	http_source_open(const char *url, const struct source_options *o,
	    struct source **sp, struct err *e);

/* Waits until fd (if >= 0) is readable, cancelfd (if >= 0) is readable
 * or timeout_ms (-1: none) passed. Returns 1 when fd is readable, 0 on
 * the timeout, -ECANCELED when cancelfd is readable (it wins over fd),
 * -errno from poll. */
int	source_wait(int fd, int cancelfd, int timeout_ms);

#endif /* SOURCE_IMPL_H */

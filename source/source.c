/*
 * source: picks the kind of source from its name and keeps the promises
 * every kind shares (offsets only move forward, NULL is closed).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "source/impl.h"
#include "source/source.h"

static const struct {
	const char	*prefix;
	int		(*open)(const char *, const struct source_options *,
			    struct source **, struct err *);
} schemes[] = {
	{ "http://",	http_source_open },
	{ "https://",	http_source_open },
};

int
source_open(const char *from, const struct source_options *o,
    struct source **sp, struct err *e)
{
	static const struct source_options none;
	size_t i;

	*sp = NULL;
	if (o == NULL)
		o = &none;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(from, schemes[i].prefix,
		    strlen(schemes[i].prefix)) == 0)
			return schemes[i].open(from, o, sp, e);
	return file_source_open(from, sp, e);
}

ssize_t
source_read(struct source *s, void *buf, size_t len, int cancelfd,
    struct err *e)
{
	uint64_t off = s->off;
	ssize_t n;

	if (len == 0)
		return 0;
	if ((n = s->ops->read(s, buf, len, cancelfd, e)) > 0)
		source_count(s, off, (uint64_t)n);
	return n;
}

void
source_count(struct source *s, uint64_t off, uint64_t n)
{
	s->fetched += n;
	if (off < s->seen)
		s->refetched += s->seen - off < n ? s->seen - off : n;
}

void
source_set_seen(struct source *s, uint64_t off)
{
	s->seen = off;
}

uint64_t
source_fetched(const struct source *s)
{
	return s->fetched;
}

uint64_t
source_refetched(const struct source *s)
{
	return s->refetched;
}

int
source_skip_to(struct source *s, uint64_t off, int cancelfd, struct err *e)
{
	if (off < s->off)
		return err_set(e, -EINVAL, "%s: cannot go back from byte %ju "
		    "to %ju", s->name, (uintmax_t)s->off, (uintmax_t)off);
	if (off == s->off)
		return 0;
	return s->ops->skip_to(s, off, cancelfd, e);
}

uint64_t
source_offset(const struct source *s)
{
	return s->off;
}

uint64_t
source_size(const struct source *s)
{
	return s->size;
}

const char *
source_name(const struct source *s)
{
	return s->name;
}

const char *
source_event_name(enum source_event ev)
{
	switch (ev) {
	case SOURCE_CUT:
		return "cut";
	case SOURCE_RETRY:
		return "retry";
	case SOURCE_RESUME:
		return "resume";
	}
	return "?";
}

void
source_close(struct source *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int
source_wait(int fd, int cancelfd, int timeout_ms)
{
	struct pollfd p[2];
	nfds_t n = 0;
	int r;

	if (cancelfd >= 0)
		p[n++] = (struct pollfd){ .fd = cancelfd, .events = POLLIN };
	if (fd >= 0)
		p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		if ((r = poll(p, n, timeout_ms)) >= 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	if (r == 0)
		return 0;
	if (cancelfd >= 0 && p[0].revents != 0)
		return -ECANCELED;
	return 1;
}

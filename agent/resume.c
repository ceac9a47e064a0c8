/*
 * Resume or start over: see agent/resume.h. The storage check is what
 * makes a resume safe to try: a slot replaced by other storage (a new
 * disk, an image file recreated) starts over. A slot whose bytes were
 * changed in place is the read-back's to catch, before the arm.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/resume.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "slots/slot.h"
#include "verify/bundle.h"

/* What the raw targets are, "NAME=STORAGE ..." in payload order. */
static int
storage_of(const struct manifest *m, struct slot_writer *const *writers,
    struct resume *rs, struct err *e)
{
	char one[128];
	size_t k, len = 0;
	int n, r;

	rs->storage[0] = '\0';
	for (k = 0; k < m->npayloads; k++) {
		if ((r = slot_writer_storage(writers[k], one,
		    sizeof(one))) == -ENOTSUP)
			continue;
		if (r < 0)
			return err_set(e, r, "payload %s: storage: %s",
			    m->payloads[k].name, strerror(-r));
		n = snprintf(rs->storage + len, sizeof(rs->storage) - len,
		    "%s%s=%s", len > 0 ? " " : "", m->payloads[k].name, one);
		if (n < 0 || (size_t)n >= sizeof(rs->storage) - len)
			return err_set(e, -ENAMETOOLONG, "storage of the "
			    "target: too long");
		len += (size_t)n;
	}
	return 0;
}

int
resume_plan(const struct state *s, const struct manifest *m,
    const char *id, char target, struct slot_writer *const *writers,
    struct resume *rs, struct err *e)
{
	char tg[2] = { target, '\0' };
	size_t k;
	int r;

	memset(rs, 0, sizeof(*rs));
	for (k = 0; k < m->npayloads; k++) {
		rs->total_chunks += m->payloads[k].nchunks;
		rs->total_bytes += m->payloads[k].size;
	}
	if ((r = storage_of(m, writers, rs, e)) < 0)
		return r;
	if (s->journal_chunks == 0 || s->journal_chunks > rs->total_chunks ||
	    s->journal_total != rs->total_chunks ||
	    !str_is(s->journal_bundle, id) || !str_is(s->journal_target, tg) ||
	    !str_is(s->journal_storage, rs->storage))
		return 0;
	rs->chunks = s->journal_chunks;
	rs->bytes = s->journal_bytes;
	return 0;
}

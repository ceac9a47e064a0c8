/*
 * The install's checkpoints: see agent/checkpoint.h. The fsync runs on
 * the read-back thread while the writers go on; it makes every write
 * that returned before it durable, which is all that [0, end) needs.
 */
#include <string.h>

#include "agent/checkpoint.h"
#include "agent/install.h"
#include "common/err.h"
#include "slots/slot.h"
#include "verify/bundle.h"

static void
now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* Adds the sizes of the chunks [seen, end) to seen_bytes. */
static void
count(struct checkpoint *ck, uint64_t end)
{
	const struct manifest *m = ck->m;

	while (ck->seen < end && ck->payload < m->npayloads) {
		if (ck->index == m->payloads[ck->payload].nchunks) {
			ck->payload++;
			ck->index = 0;
			continue;
		}
		ck->seen_bytes +=
		    m->payloads[ck->payload].chunks[ck->index++].usize;
		ck->seen++;
	}
}

void
checkpoint_init(struct checkpoint *ck, const struct manifest *m,
    struct slot_writer *const *writers, const struct install_journal *jr)
{
	memset(ck, 0, sizeof(*ck));
	ck->m = m;
	ck->writers = writers;
	ck->jr = jr;
	now(&ck->at);
	/* A resumed install starts at its last checkpoint, not before. */
	if (jr != NULL) {
		count(ck, jr->resume);
		ck->chunks = ck->seen;
		ck->bytes = ck->seen_bytes;
	}
}

int
checkpoint_reached(struct checkpoint *ck, uint64_t end, struct err *e)
{
	const struct install_journal *jr = ck->jr;
	struct timespec t;
	size_t i;
	int r;

	if (jr == NULL || jr->checkpoint == NULL || end <= ck->chunks)
		return 0;
	count(ck, end);
	now(&t);
	if (ck->seen_bytes - ck->bytes < jr->every_bytes &&
	    t.tv_sec - ck->at.tv_sec < (time_t)jr->every_s)
		return 0;
	for (i = 0; i < ck->m->npayloads; i++)
		if (ck->m->payloads[i].kind == PAYLOAD_RAW &&
		    (r = slot_writer_sync(ck->writers[i], e)) < 0)
			return r;
	jr->checkpoint(jr->arg, ck->seen, ck->seen_bytes);
	ck->chunks = ck->seen;
	ck->bytes = ck->seen_bytes;
	ck->at = t;
	return 0;
}

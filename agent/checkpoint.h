/*
 * agent/checkpoint: the install's checkpoints (struct install_journal in
 * agent/install.h), for the read-back thread. Told that chunks [0, end)
 * of the bundle, in stream order, are written, it decides whether one is
 * due (every_bytes more written, or every_s seconds passed, since the
 * last) and takes it: an fsync of every raw payload's writer, then
 * jr->checkpoint(). Files payloads need no fsync: a resume writes them
 * again. No lock is held for any of it.
 */
#ifndef AGENT_CHECKPOINT_H
#define AGENT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct err;
struct install_journal;
struct manifest;
struct slot_writer;

struct checkpoint {
	const struct manifest		*m;
	struct slot_writer *const	*writers;
	const struct install_journal	*jr;	/* NULL: none */
	uint64_t	 chunks, bytes;		/* the last one recorded */
	struct timespec	 at;			/* and when */
	uint64_t	 seen, seen_bytes;	/* [0, seen) written */
	size_t		 payload, index;	/* where chunk seen is */
};

/* Starts the clock. The last checkpoint is jr->resume (an install
 * resumed there), or none. jr may be NULL. */
void	checkpoint_init(struct checkpoint *ck, const struct manifest *m,
	    struct slot_writer *const *writers,
	    const struct install_journal *jr);
/* Chunks [0, end) are written (end never goes down): records a
 * checkpoint if one is due. 0, or a writer's fsync failure (-EIO). */
int	checkpoint_reached(struct checkpoint *ck, uint64_t end,
	    struct err *e);

#endif /* AGENT_CHECKPOINT_H */

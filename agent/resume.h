/*
 * agent/resume: whether `upkit update` continues an install that a
 * restart or a power loss cut short (docs/update.md, "Resume"). It does
 * when state.json's journal names the same bundle id, the same target
 * and the same storage, with a checkpoint; otherwise the install starts
 * over, and mark bad replaces the journal. Deciding reads nothing but
 * the state, the manifest and the open writers.
 */
#ifndef AGENT_RESUME_H
#define AGENT_RESUME_H

#include <stdint.h>

struct err;
struct manifest;
struct slot_writer;
struct state;

struct resume {
	char		 storage[256];	/* the raw targets, "NAME=STORAGE
					   ..." (slot_writer_storage()) */
	uint64_t	 chunks, bytes;	/* kept from the earlier run; 0:
					   start over */
	uint64_t	 total_chunks, total_bytes;	/* the bundle's */
};

/* Fills rs for bundle id with manifest m into target, whose payloads
 * writers[] have open. Fails only if a writer's storage cannot be
 * named (its fstat fails). */
int	resume_plan(const struct state *s, const struct manifest *m,
	    const char *id, char target, struct slot_writer *const *writers,
	    struct resume *rs, struct err *e);

#endif /* AGENT_RESUME_H */

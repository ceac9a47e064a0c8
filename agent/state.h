/*
 * agent/state: DATA/state.json, replaced atomically (write aside, fsync,
 * rename, fsync the folder). Holds the installed version per boot name,
 * the security floor, the last update's result, and the install journal.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define STATE_FILE	"state.json"
#define STATE_FAILED_MAX	16	/* bundle ids kept in failed_bundles */

struct state_slot {
	char		*version;		/* NULL: unknown */
	char		*status;		/* "good", "bad", "trial", NULL */
	uint64_t	 security_version;
	char		*installed;		/* RFC 3339 time */
	char		*bundle;		/* bundle_reader_id(); NULL:
						   unknown */
};

/* Index of a boot name in state.slot[]: 'A' is 0, 'B' is 1. */
static inline int
state_slot_index(char bootname)
{
	return bootname == 'B';
}

struct state {
	uint64_t	 security_floor;
	struct state_slot slot[2];		/* [0] is A, [1] is B */
	/* last update */
	char		*last_version;
	char		*last_target;		/* "A" or "B" */
	char		*last_result;		/* installing, installed,
						   committed, rolled-back,
						   failed */
	char		*last_reason;
	char		*last_time;
	/* install journal */
	char		*journal_bundle;	/* bundle_reader_id(): hex
						   SHA-256 of header and
						   manifest */
	char		*journal_target;	/* "A" or "B" */
	/* Where the target's storage was when the journal was written
	 * (slot_writer_storage() of each raw payload's writer): a resume
	 * needs the same storage. */
	char		*journal_storage;
	/* Chunks [0, journal_chunks) of the bundle, in stream order, were
	 * written and fsync'd (a checkpoint; 0: none); journal_bytes is
	 * their uncompressed size. journal_total and journal_size are the
	 * bundle's chunks and bytes, for status. */
	uint64_t	 journal_chunks;
	uint64_t	 journal_total;
	uint64_t	 journal_bytes;
	uint64_t	 journal_size;
	/* Bytes this install's earlier runs took from their sources, of
	 * them the bytes fetched again, and the furthest offset any run
	 * reached: a rerun's bytes below it are fetched again. */
	uint64_t	 journal_fetched;
	uint64_t	 journal_refetched;
	uint64_t	 journal_reach;
	/* The last armed install, for its report (agent/report.c): when
	 * its first run started, and its bytes fetched and fetched again
	 * over all its runs. */
	char		*install_started;	/* RFC 3339 */
	uint64_t	 install_fetched;
	uint64_t	 install_refetched;
	/* An outcome stored but not yet in the outbox: set by the outcome's
	 * own save (lifecycle.c), cleared once reported, so a power cut
	 * between the two loses no report (agent/report.c). */
	char		*due_result;		/* committed, rolled-back,
						   fell-back; NULL: none */
	char		*due_slot;		/* the slot the update went to */
	char		*due_check;		/* the failing check, or NULL */
	/* upkit daemon (docs/daemon.md), the "daemon" object: the last
	 * channel accepted (its file is DATA/channel.upc, etag its ETag),
	 * the last poll, the release it installed and waits to see
	 * committed or rolled back, and the bundles that rolled back here
	 * (oldest first; at most STATE_FAILED_MAX, the oldest dropped). */
	char		*channel_name;
	uint64_t	 channel_version;	/* 0: none accepted yet */
	char		*channel_id;		/* hex SHA-256 */
	char		*channel_accepted;	/* RFC 3339 time */
	char		*channel_etag;
	char		*poll_time;
	char		*poll_result;		/* docs/daemon.md, "Status" */
	char		*pending_bundle;	/* hex bundle id */
	/* The last refusal reported (agent/report.c, "refused"): the same
	 * refusal again makes no new report; a channel that verifies
	 * clears it. */
	char		*refused;
	char		*pending_version;
	uint64_t	 reboot_at;		/* s since the epoch; 0: none */
	size_t		 nfailed;
	char		*failed[STATE_FAILED_MAX];
};

/* Loads DIR/state.json; a missing file gives an empty state (returns 0).
 * A corrupt file is -EBADMSG naming it. Free with state_free(). */
int	state_load(const char *dir, struct state **sp, struct err *e);
/* state_load() on len bytes of JSON in memory (no NUL needed); name
 * stands for the path in messages. For tests and fuzzing. */
int	state_parse(const char *name, const char *text, size_t len,
	    struct state **sp, struct err *e);
/* Replaces DIR/state.json atomically; creates DIR if needed. */
int	state_save(const char *dir, const struct state *s, struct err *e);
void	state_free(struct state *s);		/* accepts NULL */
/* Adds a bundle id to failed (once), dropping the oldest when full. */
int	state_add_failed(struct state *s, const char *id, struct err *e);
/* 1 if id is in failed, else 0. */
int	state_failed(const struct state *s, const char *id);
/* Replaces *field with a copy of val (NULL clears). -ENOMEM. */
int	state_set(char **field, const char *val, struct err *e);

#endif /* AGENT_STATE_H */

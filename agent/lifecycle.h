/*
 * agent/lifecycle: every change that pairs a boot env store with a
 * state.json save, and the two that finish such a change from what was
 * read (reconcile, rebuild). Nothing else in the agent stores the env
 * or saves the state beside it, so no command needs to know an order.
 *
 * Each transition stores the env first and state.json second, except
 * mark bad, which saves "installing" first so that a data directory that
 * cannot take it fails before anything changed (docs/update.md). A power
 * cut between the two is finished by lifecycle_reconcile() on the next
 * device_open(), or by the next health run, as each function says.
 *
 * On failure *stepp names what failed for exitcode_for(): FAIL_BOOTENV
 * for the env store, FAIL_STATE for state.json (or memory).
 */
#ifndef AGENT_LIFECYCLE_H
#define AGENT_LIFECYCLE_H

#include <stdint.h>

#include "agent/exitcode.h"

struct err;
struct device;

/* The bundle an update installs, as the lifecycle records it. */
struct lifecycle_bundle {
	const char	*version;
	uint64_t	 security_version;
	const char	*id;		/* bundle_reader_id() */
	/* The install journal mark bad records (state.h): the target's
	 * storage, the chunks and bytes kept from an earlier run of this
	 * install (0 when it starts over), and the bundle's totals. */
	const char	*storage;
	uint64_t	 chunks, bytes;
	uint64_t	 total_chunks, total_bytes;
	/* For the report (agent/report.c): when this run started, and the
	 * bytes all runs of this install fetched, and fetched again. */
	const char	*started;
	uint64_t	 fetched, refetched;
};

/*
 * Mark bad, before the first byte reaches target. 1: state.json (target
 * "bad", version cleared, its security version, last result
 * "installing", the journal naming bundle, target, storage and the
 * chunks kept, b's; its byte counts kept only for the same bundle). 2: env, one
 * store: target out of BOOT_ORDER with LEFT=0, the booted slot kept
 * selectable. A cut between them: state says "installing" while the
 * env still lists target, whose content was not touched yet; status
 * reports it as interrupted once no upkit holds the lock, and the next
 * update starts over (docs/update.md, "Order of the saves"). *savedp is
 * set once state.json says "installing".
 */
int	lifecycle_mark_bad(struct device *d, char target,
	    const struct lifecycle_bundle *b, int *savedp,
	    enum fail_step *stepp, struct err *e);
/*
 * Arm. 1: env, one store: target first with boot-attempts tries,
 * UPKIT_TRIAL=target, UPKIT_TRIAL_FLOOR raised to the bundle's security
 * version. 2: state.json: target "trial" with version, bundle id and install time,
 * last result "installed", the install's start and bytes for its report,
 * the journal cleared. A cut between them:
 * reconcile sees UPKIT_TRIAL with state "installing" for target and
 * records the trial. Once the env is stored the target boots next: a
 * failure of step 2 is left in *warn and 0 is returned.
 */
int	lifecycle_arm(struct device *d, char target,
	    const struct lifecycle_bundle *b, struct err *warn,
	    struct err *e);
/* state.json only: an update that had saved "installing" ended with
 * reason; last result "failed". The env stays as mark bad left it. The
 * journal stays, so that the next run resumes, unless restart: then its
 * checkpoint goes (chunks 0) and the next run starts over. The journal
 * takes b's fetched and refetched bytes (all runs so far) and reach,
 * the furthest source offset: a rerun's bytes below it are refetched. */
int	lifecycle_record_failed(struct device *d, char target,
	    const struct lifecycle_bundle *b, const char *reason, int restart,
	    uint64_t reach, struct err *e);
/* state.json only, during the install (a checkpoint): chunks [0, chunks)
 * of the bundle, bytes uncompressed, are written and durable in the
 * target. One atomic save: a cut leaves the last checkpoint or this
 * one. From any one thread at a time while nothing else saves. */
int	lifecycle_checkpoint(struct device *d, uint64_t chunks,
	    uint64_t bytes, struct err *e);
/* state.json only, under the lock: the daemon's object (state.h) as the
 * caller set it in d->state, everything else as loaded. No env store
 * pairs with it, so there is no order to keep. */
int	lifecycle_save_daemon(struct device *d, struct err *e);
/*
 * Commit the booted trial slot. 1: env, one store (skipped if it holds
 * it already): slot first with full counters, UPKIT_FLOOR raised to the
 * trial floor, UPKIT_TRIAL cleared. 2: state.json: slot "good", the
 * floor raised, last result "committed". A cut between them: state still
 * says "trial" (reconcile keeps it so), and the next health run checks
 * and commits again, which stores nothing new.
 */
int	lifecycle_commit(struct device *d, char slot, enum fail_step *stepp,
	    struct err *e);
/*
 * Roll back the booted slot. 1: env, one store (skipped if so already):
 * slot out of BOOT_ORDER, the other first with full counters, no trial.
 * 2: state.json: slot "bad", last result "rolled-back" with reason, and
 * check (the failing check's name, or NULL) for the report due. A
 * cut between them: the env boots the other slot, whose health run sees
 * the trial slot out of BOOT_ORDER and records it as a fallback.
 */
int	lifecycle_rollback(struct device *d, char slot, const char *reason,
	    const char *check, enum fail_step *stepp, struct err *e);
/*
 * The bootloader fell back to booted from the trial slot (the other).
 * 1: env, one store (skipped if so already): the trial slot marked bad,
 * booted first with full counters. 2: state.json: the trial slot "bad",
 * booted "good", last result "rolled-back" with reason. A cut between
 * them: state still names the trial, and the next health run records
 * the fallback again.
 */
int	lifecycle_fell_back(struct device *d, char booted, const char *reason,
	    enum fail_step *stepp, struct err *e);
/*
 * mark-bad other: the slot that is not booted, by hand. 1: env, one
 * store (skipped if so already): the other slot out of BOOT_ORDER with
 * LEFT=0 and, if it was armed, no trial; booted first with full
 * counters. 2: state.json: the other slot "bad"; if it was the trial,
 * last result "rolled-back" with reason and a report due. The caller
 * checks that booted is good. A cut between them: the env no longer
 * boots the other slot; a trial there is then recorded as a fallback by
 * the next health run, a good one stays "good" in state.json until the
 * command is run again.
 */
int	lifecycle_mark_other_bad(struct device *d, char booted,
	    const char *reason, enum fail_step *stepp, struct err *e);
/*
 * Commit, rollback and fell back each mark a report due ("report_due"
 * in state.json: the result, the slot the update went to, the check) in
 * their own state save, so that the outcome and the duty to report it
 * are stored together. state.json only: the report is in the outbox (or
 * counted as dropped); clear the duty.
 */
int	lifecycle_report_done(struct device *d, struct err *e);
/*
 * env only, for health at every boot. lifecycle_store_rebuilt() stores
 * what lifecycle_rebuild() made of a blank env (nothing if the env had
 * BOOT_ORDER); lifecycle_keep_good() fills the counter of a good booted
 * slot. Both return 1 if they stored, 0 if the env held it already.
 */
int	lifecycle_store_rebuilt(struct device *d, enum fail_step *stepp,
	    struct err *e);
int	lifecycle_keep_good(struct device *d, char slot, enum fail_step *stepp,
	    struct err *e);

/*
 * For device_open(), in memory only; the next transition stores it.
 * lifecycle_rebuild(): the env holds no BOOT_ORDER (blank or corrupt):
 * d->boot from state.json (docs/boot-selection.md). lifecycle_reconcile():
 * where env and state.json disagree the env wins: the floor, and a trial
 * the env names, recorded as the arm's state save would have (a cut
 * after the arm's env store) or as a trial of an unknown version.
 */
void	lifecycle_rebuild(struct device *d);
int	lifecycle_reconcile(struct device *d, struct err *e);

#endif /* AGENT_LIFECYCLE_H */

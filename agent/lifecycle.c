/*
 * agent/lifecycle: the paired env-and-state transitions (lifecycle.h),
 * each as its header says: which store comes first and what finishes it
 * after a power cut between the two. The env is stored with one
 * bootenv_ops.commit(), which leaves the old or the new env; state.json
 * with one state_save(), which leaves the old or the new file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/device.h"
#include "agent/lifecycle.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "slots/boot/bootenv.h"

static struct state_slot *
slot_of(const struct device *d, char bootname)
{
	return &d->state->slot[state_slot_index(bootname)];
}

/* One env store of st; d->boot follows it. */
static int
store(struct device *d, const struct bootstate *st, struct err *e)
{
	int r;

	if ((r = d->env_ops->commit(d->env, st, e)) < 0)
		return r;
	d->boot = *st;
	d->boot_unset = 0;
	return 0;
}

/* store(), skipped when the env already holds st: 1 stored, 0 not. */
static int
store_changed(struct device *d, const struct bootstate *st,
    enum fail_step *stepp, struct err *e)
{
	int r;

	if (!d->boot_unset && bootstate_equal(&d->boot, st))
		return 0;
	if ((r = store(d, st, e)) < 0) {
		*stepp = FAIL_BOOTENV;
		return err_prefix(e, "boot env");
	}
	return 1;
}

/* Drops the install journal (the install armed, or is over). */
static int
journal_clear(struct state *s, struct err *e)
{
	int r;

	if ((r = state_set(&s->journal_bundle, NULL, e)) < 0 ||
	    (r = state_set(&s->journal_target, NULL, e)) < 0 ||
	    (r = state_set(&s->journal_storage, NULL, e)) < 0)
		return r;
	s->journal_chunks = s->journal_bytes = 0;
	s->journal_total = s->journal_size = 0;
	s->journal_fetched = s->journal_refetched = s->journal_reach = 0;
	return 0;
}

/* Marks the outcome's report due, saved with the outcome (lifecycle.h). */
static int
due(struct state *s, const char *result, char slot, const char *check,
    struct err *e)
{
	char sl[2] = { slot, '\0' };
	int r;

	if ((r = state_set(&s->due_result, result, e)) < 0 ||
	    (r = state_set(&s->due_slot, sl, e)) < 0 ||
	    (r = state_set(&s->due_check, check, e)) < 0)
		return r;
	return 0;
}

/* The last update's record in state.json, then the save. */
static int
record(struct device *d, char slot, const char *version, const char *result,
    const char *reason, struct err *e)
{
	struct state *s = d->state;
	char now[32], tg[2] = { slot, '\0' };
	int r;

	time_rfc3339(now);
	if ((r = state_set(&s->last_version, version, e)) < 0 ||
	    (r = state_set(&s->last_target, tg, e)) < 0 ||
	    (r = state_set(&s->last_result, result, e)) < 0 ||
	    (r = state_set(&s->last_reason, reason, e)) < 0 ||
	    (r = state_set(&s->last_time, now, e)) < 0)
		return r;
	return state_save(d->config->data_directory, s, e);
}

int
lifecycle_mark_bad(struct device *d, char target,
    const struct lifecycle_bundle *b, int *savedp, enum fail_step *stepp,
    struct err *e)
{
	struct state *s = d->state;
	struct state_slot *t = slot_of(d, target);
	struct bootstate st = d->boot;
	char tg[2] = { target, '\0' };
	int r;

	/* From here on the target's old content is going away. What the
	 * slot will hold is known already, in case the arm is stored but
	 * its state is not (lifecycle_reconcile()). */
	*stepp = FAIL_STATE;
	t->security_version = b->security_version;
	/* Bytes fetched by earlier runs count only for the same bundle. */
	if (!str_is(s->journal_bundle, b->id))
		s->journal_fetched = s->journal_refetched =
		    s->journal_reach = 0;
	if ((r = state_set(&t->version, NULL, e)) < 0 ||
	    (r = state_set(&t->bundle, NULL, e)) < 0 ||
	    (r = state_set(&t->status, "bad", e)) < 0 ||
	    (r = state_set(&s->journal_bundle, b->id, e)) < 0 ||
	    (r = state_set(&s->journal_target, tg, e)) < 0 ||
	    (r = state_set(&s->journal_storage, b->storage, e)) < 0)
		return r;
	s->journal_chunks = b->chunks;
	s->journal_bytes = b->bytes;
	s->journal_total = b->total_chunks;
	s->journal_size = b->total_bytes;
	/* The first change. A data directory that cannot take it (full,
	 * read-only) fails here, before the env: nothing has changed and
	 * the failure is state.json's, not the env's. */
	if ((r = record(d, target, b->version, "installing", NULL, e)) < 0)
		return r;
	*savedp = 1;
	*stepp = FAIL_BOOTENV;
	bootstate_mark_bad(&st, target);
	/* We run on the booted slot, so it boots: keep it selectable. */
	if (st.left[state_slot_index(d->booted)] == 0 ||
	    strchr(st.order, d->booted) == NULL)
		bootstate_mark_good(&st, d->booted, d->config->boot_attempts);
	return store(d, &st, e);
}

int
lifecycle_arm(struct device *d, char target,
    const struct lifecycle_bundle *b, struct err *w, struct err *e)
{
	struct state *s = d->state;
	struct state_slot *t = slot_of(d, target);
	struct bootstate st = d->boot;
	char now[32];
	int r;

	/* The env first, then the state: state.json never says "trial"
	 * for a slot the env does not arm. */
	bootstate_arm(&st, target, d->config->boot_attempts);
	/* A commit raises the floor to this; the env keeps it, so a lost
	 * data directory cannot lose it. */
	if (b->security_version > st.trial_floor)
		st.trial_floor = b->security_version;
	if ((r = store(d, &st, e)) < 0)
		return r;
	/* The target boots next whatever happens to state.json now, so a
	 * failure to record it is a warning (w), never a failure. */
	time_rfc3339(now);
	t->security_version = b->security_version;
	s->install_fetched = b->fetched;
	s->install_refetched = b->refetched;
	if (state_set(&t->version, b->version, w) < 0 ||
	    state_set(&t->bundle, b->id, w) < 0 ||
	    state_set(&t->status, "trial", w) < 0 ||
	    state_set(&t->installed, now, w) < 0 ||
	    state_set(&s->install_started, b->started, w) < 0 ||
	    journal_clear(s, w) < 0)
		return 0;
	(void)record(d, target, b->version, "installed", NULL, w);
	return 0;
}

int
lifecycle_record_failed(struct device *d, char target,
    const struct lifecycle_bundle *b, const char *reason, int restart,
    uint64_t reach, struct err *e)
{
	struct state *s = d->state;

	if (restart)
		s->journal_chunks = s->journal_bytes = 0;
	s->journal_fetched = b->fetched;
	s->journal_refetched = b->refetched;
	if (reach > s->journal_reach)
		s->journal_reach = reach;
	return record(d, target, b->version, "failed", reason, e);
}

int
lifecycle_checkpoint(struct device *d, uint64_t chunks, uint64_t bytes,
    struct err *e)
{
	d->state->journal_chunks = chunks;
	d->state->journal_bytes = bytes;
	return state_save(d->config->data_directory, d->state, e);
}

int
lifecycle_save_daemon(struct device *d, struct err *e)
{
	return state_save(d->config->data_directory, d->state, e);
}

int
lifecycle_commit(struct device *d, char slot, enum fail_step *stepp,
    struct err *e)
{
	struct state *s = d->state;
	struct state_slot *b = slot_of(d, slot);
	struct bootstate st = d->boot;
	int r;

	/* The trial's floor is in the env (UPKIT_TRIAL_FLOOR) and in the
	 * state; either may be all that is left of it. */
	if (st.trial == slot && b->security_version > st.trial_floor)
		st.trial_floor = b->security_version;
	if (st.trial != slot) {
		st.trial = slot;
		st.trial_floor = b->security_version > st.floor ?
		    b->security_version : st.floor;
	}
	bootstate_commit(&st, slot, d->config->boot_attempts);
	if ((r = store_changed(d, &st, stepp, e)) < 0)
		return r;
	*stepp = FAIL_STATE;
	if ((r = state_set(&b->status, "good", e)) < 0 ||
	    (r = due(s, "committed", slot, NULL, e)) < 0)
		return r;
	if (st.floor > s->security_floor)
		s->security_floor = st.floor;
	return record(d, slot, b->version, "committed", NULL, e);
}

int
lifecycle_rollback(struct device *d, char slot, const char *reason,
    const char *check, enum fail_step *stepp, struct err *e)
{
	struct state_slot *b = slot_of(d, slot);
	struct bootstate st = d->boot;
	char other = slot == 'A' ? 'B' : 'A';
	int r;

	bootstate_mark_bad(&st, slot);
	bootstate_mark_good(&st, other, d->config->boot_attempts);
	if ((r = store_changed(d, &st, stepp, e)) < 0)
		return r;
	*stepp = FAIL_STATE;
	if ((r = state_set(&b->status, "bad", e)) < 0 ||
	    (r = due(d->state, "rolled-back", slot, check, e)) < 0)
		return r;
	return record(d, slot, b->version, "rolled-back", reason, e);
}

int
lifecycle_fell_back(struct device *d, char booted, const char *reason,
    enum fail_step *stepp, struct err *e)
{
	struct bootstate st = d->boot;
	char other = booted == 'A' ? 'B' : 'A';
	int r;

	bootstate_mark_bad(&st, other);
	bootstate_mark_good(&st, booted, d->config->boot_attempts);
	if ((r = store_changed(d, &st, stepp, e)) < 0)
		return r;
	*stepp = FAIL_STATE;
	if ((r = state_set(&slot_of(d, other)->status, "bad", e)) < 0 ||
	    (r = state_set(&slot_of(d, booted)->status, "good", e)) < 0 ||
	    (r = due(d->state, "fell-back", other, NULL, e)) < 0)
		return r;
	return record(d, other, slot_of(d, other)->version, "rolled-back",
	    reason, e);
}

int
lifecycle_mark_other_bad(struct device *d, char booted, const char *reason,
    enum fail_step *stepp, struct err *e)
{
	struct bootstate st = d->boot;
	char other = booted == 'A' ? 'B' : 'A';
	struct state_slot *o = slot_of(d, other);
	int r, trial = str_is(o->status, "trial");

	bootstate_mark_bad(&st, other);
	bootstate_mark_good(&st, booted, d->config->boot_attempts);
	if ((r = store_changed(d, &st, stepp, e)) < 0)
		return r;
	*stepp = FAIL_STATE;
	if ((r = state_set(&o->status, "bad", e)) < 0)
		return r;
	if (!trial)
		return state_save(d->config->data_directory, d->state, e);
	if ((r = due(d->state, "rolled-back", other, NULL, e)) < 0)
		return r;
	return record(d, other, o->version, "rolled-back", reason, e);
}

int
lifecycle_report_done(struct device *d, struct err *e)
{
	struct state *s = d->state;
	int r;

	if ((r = state_set(&s->due_result, NULL, e)) < 0 ||
	    (r = state_set(&s->due_slot, NULL, e)) < 0 ||
	    (r = state_set(&s->due_check, NULL, e)) < 0)
		return r;
	return state_save(d->config->data_directory, s, e);
}

int
lifecycle_store_rebuilt(struct device *d, enum fail_step *stepp,
    struct err *e)
{
	if (!d->boot_unset)
		return 0;
	return store_changed(d, &d->boot, stepp, e);
}

int
lifecycle_keep_good(struct device *d, char slot, enum fail_step *stepp,
    struct err *e)
{
	struct bootstate st = d->boot;

	bootstate_mark_good(&st, slot, d->config->boot_attempts);
	return store_changed(d, &st, stepp, e);
}

static const char *
slot_status(const struct device *d, char name)
{
	const char *s = slot_of(d, name)->status;

	return s != NULL ? s : "";
}

/*
 * The env holds no BOOT_ORDER: a board image that ships without the
 * selection variables, or an env that was blank or corrupt (libubootenv
 * cannot tell the two apart). A new device starts from the default. A
 * device with a history gets back what state.json says the env held: the
 * trial slot first (state says "trial" only after its arm was stored),
 * then the running slot, then the other one; never a slot marked "bad"
 * (upkit records "bad" each time it takes a slot out of BOOT_ORDER, so a
 * slot without a status was never taken out). The first env store of any
 * command writes it.
 */
void
lifecycle_rebuild(struct device *d)
{
	struct bootstate *st = &d->boot;
	int n = d->config->boot_attempts;
	char other = d->booted == 'A' ? 'B' : 'A', order[2 * BOOTENV_SLOTS];
	const char *so = slot_status(d, other), *sb = slot_status(d, d->booted);

	bootstate_default(st, n);
	st->floor = d->state->security_floor;
	if (*so == '\0' && *sb == '\0')
		return;
	memset(st->order, 0, sizeof(st->order));
	st->left[0] = st->left[1] = 0;
	if (strcmp(so, "bad") != 0)
		bootstate_mark_good(st, other, n);
	if (strcmp(sb, "bad") != 0 || st->order[0] == '\0')
		bootstate_mark_good(st, d->booted, n);
	if (strcmp(so, "trial") == 0) {
		bootstate_arm(st, other, n);
		st->trial_floor = slot_of(d, other)->security_version;
	}
	bootstate_order_format(st, order);
	fprintf(stderr, "upkit: boot env holds no BOOT_ORDER (blank or "
	    "corrupt); rebuilt from state.json: BOOT_ORDER=\"%s\" "
	    "BOOT_A_LEFT=%d BOOT_B_LEFT=%d\n", order, st->left[0],
	    st->left[1]);
}

/*
 * The boot env survives a reboot; the data directory may not (LinuxKit
 * mounts tmpfs on /var, and a disk can fail). Where the two disagree
 * about what must survive, the env wins (docs/boot-selection.md):
 *
 * - the security floor is the higher of UPKIT_FLOOR and state.json's;
 * - a slot the env names in UPKIT_TRIAL is on a trial boot whatever
 *   state.json says. If state.json is the one that lifecycle_mark_bad()
 *   left before lifecycle_arm() stored the env (a power cut between the
 *   arm's two stores), the trial's version is in it: finish recording
 *   it. Otherwise state.json was lost or is stale, and only what the env
 *   holds is known.
 *
 * This changes d->state in memory only; the command saves it with its
 * own transition.
 */
int
lifecycle_reconcile(struct device *d, struct err *e)
{
	struct state *s = d->state;
	struct bootstate *st = &d->boot;
	struct state_slot *t;
	char tg[2];
	int r;

	if (st->floor > s->security_floor)
		s->security_floor = st->floor;
	st->floor = s->security_floor;
	if (st->trial == 0)
		return 0;
	t = slot_of(d, st->trial);
	if (st->trial_floor > t->security_version)
		t->security_version = st->trial_floor;
	if (str_is(t->status, "trial"))
		return 0;
	tg[0] = st->trial;
	tg[1] = '\0';
	if (str_is(s->last_result, "installing") && str_is(s->journal_target, tg)) {
		if (d->loads == 0)
			fprintf(stderr, "upkit: slot %c was armed but its "
			    "state was not saved (power cut at the end of the "
			    "install): recording it as a trial of %s\n",
			    st->trial, s->last_version != NULL ?
			    s->last_version : "-");
		if ((r = state_set(&t->version, s->last_version, e)) < 0 ||
		    (r = state_set(&s->last_result, "installed", e)) < 0 ||
		    (r = journal_clear(s, e)) < 0)
			return r;
	} else if (d->loads == 0) {
		fprintf(stderr, "upkit: the boot env says slot %c is on a "
		    "trial boot, but %s/%s does not (lost or stale data "
		    "directory): treating it as a trial\n", st->trial,
		    d->config->data_directory, STATE_FILE);
	}
	return state_set(&t->status, "trial", e);
}

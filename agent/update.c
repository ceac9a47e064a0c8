/*
 * `upkit update`: the install state machine. One enum, one switch, and
 * each step is recorded before the action it names, so that a power cut
 * at any point leaves a device that boots and a state.json that says
 * what happened:
 *
 *   VERIFY    header, manifest, signature, chain, policy, slot mapping,
 *             slot sizes. Nothing on the device has changed yet; a
 *             failure here leaves slots, env and state as they were.
 *   MARK_BAD  the target leaves BOOT_ORDER (LEFT=0) in one env store, so
 *             a half-written slot can never be booted.
 *   WRITING   every chunk: check its signed SHA-256, decompress, write;
 *             behind the writing, read every chunk back and match its
 *             signed XXH3; fsync.
 *   SWAP      files slots written aside are renamed into place.
 *   ARM       one env store: the target first in BOOT_ORDER with
 *             boot-attempts tries (a trial boot); the booted slot stays
 *             behind it as the fallback.
 *
 * MARK_BAD and ARM, and the record of a failure, are agent/lifecycle.c's
 * transitions: it keeps the order of their env and state.json writes.
 *
 * The exit code says what boots next: 0 once the arm is stored (the
 * target, as a trial, even if state.json could not record it), anything
 * else the booted slot (docs/exit-codes.md). SIGTERM, SIGINT and SIGHUP
 * from MARK_BAD to ARM stop the install at a chunk or step boundary and
 * record it as failed; before MARK_BAD they end upkit as usual, which
 * changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/install.h"
#include "agent/keyfiles.h"
#include "agent/lifecycle.h"
#include "agent/progress.h"
#include "agent/report.h"
#include "agent/resume.h"
#include "agent/state.h"
#include "agent/stop.h"
#include "agent/update.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "common/json.h"
#include "slots/boot/bootenv.h"
#include "slots/slot.h"
#include "source/source.h"
#include "verify/bundle.h"
#include "verify/policy.h"
#include "verify/reader.h"
#include "verify/trust.h"


enum update_step {
	UPDATE_VERIFY,
	UPDATE_MARK_BAD,
	UPDATE_WRITING,
	UPDATE_SWAP,
	UPDATE_ARM,
	UPDATE_DONE,
	UPDATE_FAILED,
};

struct update {
	const struct update_opts *o;
	/* device */
	struct device		*dev;
	struct config		*cfg;		/* dev->config */
	struct state		*state;		/* dev->state */
	struct keyring		*keyring;
	char			 booted;
	char			 target;
	/* bundle */
	struct source_options	 srcopts;	/* from [server] */
	struct source		*src;
	struct bundle_reader	*reader;
	const struct manifest	*m;
	struct slot_writer	*writers[BUNDLE_PAYLOADS_MAX];
	struct progress		 prog;
	enum install_fault	 fault;		/* of install_payloads() */
	/* resume (docs/update.md, "Resume") */
	struct resume		 rs;
	struct install_journal	 jr;		/* jr.resume: rs.chunks */
	struct err		 ckerr;		/* a checkpoint not saved */
	/* for the report: this run's start; refetched bytes that were not
	 * (counted before mark bad, for another bundle's journal) */
	char			 started[32];
	uint64_t		 refetch_base;
	int			 exit_code;
	/* what the install changed so far */
	int			 state_saved;	/* state.json says installing */
	int			 data_refused;	/* ... could not: its first save */
	struct err		 warn;		/* after the arm: not saved */
	struct stop		 stop;		/* see catch_stop() */
};

/*
 * From here on a stop signal must not kill upkit between two changes:
 * it stops the install where the device is consistent (the target
 * marked bad, whole chunks written) and the failure is recorded. The
 * pipe wakes the reader.
 */
static int
catch_stop(struct update *u, struct err *e)
{
	int r;

	if ((r = stop_catch(&u->stop, e)) < 0)
		return r;
	bundle_reader_set_cancel(u->reader, u->stop.pipe[0]);
	return 0;
}

/* Back to the actions upkit started with: after the arm the install
 * stands, and a shutdown (the reboot's own SIGTERM) must not wait for
 * upkit. */
static void
release_stop(struct update *u)
{
	if (u->stop.pipe[1] == -1)
		return;
	if (u->reader != NULL)
		bundle_reader_set_cancel(u->reader, -1);
	stop_release(&u->stop);
}

/* The install stopped for a signal: what shells report for a process
 * the signal killed, 128 + its number. */
static int
interrupted(struct update *u, struct err *e)
{
	u->exit_code = 128 + stop_signo;
	return err_set(e, -EINTR, "interrupted by %s",
	    stop_signame(stop_signo));
}

/* A failure at step decides the exit code (agent/exitcode.c). */
static void
blame(struct update *u, enum fail_step step)
{
	u->exit_code = exitcode_for(step, 0);
}

/* Loads config, state, boot env and keyring: everything read-only. */
static int
open_device(struct update *u, struct err *e)
{
	enum device_stage stage = DEVICE_CONFIG;
	int r;

	if ((r = device_open(config_path(u->o->config), &u->dev, &stage,
	    e)) < 0) {
		u->exit_code = device_exit_code(stage);
		return r;
	}
	u->cfg = u->dev->config;
	u->state = u->dev->state;
	u->booted = u->dev->booted;
	u->target = u->booted == 'A' ? 'B' : 'A';
	blame(u, FAIL_CONFIG);
	return keyfiles_load(u->cfg->keyring_path, u->cfg->keyring_crl,
	    &u->keyring, e);
}

/* Maps each payload to the target slot of its class, and refuses a
 * bundle that would leave a class of the target group stale. */
static int
map_slots(struct update *u, struct err *e)
{
	const struct bundle_payload *pl;
	const struct slot *s;
	struct slot_file files[BUNDLE_FILES_MAX];
	size_t i, k;
	int r;

	for (i = 0; i < u->cfg->nslots; i++) {
		s = &u->cfg->slots[i];
		for (k = 0; k < u->m->npayloads; k++)
			if (strcmp(u->m->payloads[k].class, s->class) == 0)
				break;
		if (k == u->m->npayloads)
			return err_set(e, -EPERM, "bundle %s has no payload for "
			    "slot class %s: installing it would boot slot %c "
			    "with a stale %s", u->m->version, s->class,
			    u->target, s->class);
	}
	for (k = 0; k < u->m->npayloads; k++) {
		pl = &u->m->payloads[k];
		if ((s = config_slot(u->cfg, pl->class, u->target)) == NULL)
			return err_set(e, -EPERM, "payload %s: this device has "
			    "no %s slot", pl->name, pl->class);
		/* A UKI slot takes a files payload of one file (uki.c). */
		if ((pl->kind == PAYLOAD_FILES) != (s->type != SLOT_RAW))
			return err_set(e, -EPERM, "payload %s is %s but slot "
			    "%s is %s", pl->name,
			    pl->kind == PAYLOAD_FILES ? "files" : "raw",
			    s->name, s->type == SLOT_FILES ? "files" :
			    s->type == SLOT_UKI ? "uki" : "raw");
		for (i = 0; i < pl->nfiles; i++) {
			files[i].name = pl->files[i].name;
			files[i].size = pl->files[i].size;
			files[i].mode = pl->files[i].mode;
		}
		if ((r = slot_writer_open(s, pl->size, files, pl->nfiles,
		    &u->writers[k], e)) < 0) {
			blame(u, FAIL_SLOT);
			return err_prefix(e, "payload %s", pl->name);
		}
	}
	return 0;
}

/* A cut, retry or resume of the download, as progress shows it. */
static void
source_event(void *arg, enum source_event ev, uint64_t off,
    const char *detail)
{
	struct update *u = arg;

	progress_event(&u->prog, source_event_name(ev), off, "%s", detail);
}

/* [server] for the byte source; 0 in the config means its default. */
static void
server_options(struct update *u)
{
	struct source_options *o = &u->srcopts;

	device_source_options(u->cfg, o);
	o->event = source_event;
	o->event_arg = u;
}

/* The bundle a channel named (docs/daemon.md): its id and size, checked
 * once the signature is, before anything is written. A signed bundle
 * that is not the one named (the server's file replaced) is refused. */
static int
expected(struct update *u, struct err *e)
{
	const char *id = bundle_reader_id(u->reader);
	uint64_t size = source_size(u->src);

	blame(u, FAIL_POLICY);
	if (u->o->expect_id != NULL && strcmp(id, u->o->expect_id) != 0)
		return err_set(e, -EBADMSG, "bundle %s: id %s is not the "
		    "channel's %s: not the bundle the channel names",
		    u->o->from, id, u->o->expect_id);
	if (u->o->expect_size != 0 && size != 0 && size != u->o->expect_size)
		return err_set(e, -EBADMSG, "bundle %s: %ju bytes, the "
		    "channel says %ju: not the bundle the channel names",
		    u->o->from, (uintmax_t)size,
		    (uintmax_t)u->o->expect_size);
	return 0;
}


/*
 * The boot scripts boot A when the env cannot be read
 * (docs/boot-selection.md). One env copy past its first sector can be
 * torn so by a power cut, and not only during upkit's store: the
 * bootloader's own save of its counter at every boot tears it too
 * (docs/powercut.md, "Findings"). Writing A then leaves the fallback
 * nothing whole to boot, so the backend's warning refuses that install
 * before anything is written; an install into B keeps A whole.
 */
static int
fallback_safe(struct update *u, struct err *e)
{
	char *msg = NULL;
	int r = 0;

	if (u->target != 'A' || u->dev->env_ops->get(u->dev->env,
	    "upkit.warning", &msg, e) < 0 || msg == NULL) {
		err_clear(e);
		free(msg);
		return 0;
	}
	r = err_set(e, -EPERM, "slot A: not written while %s: the boot "
	    "script falls back into A when a cut tears that copy; use a "
	    "redundant env", msg);
	free(msg);
	return r;
}
static int
verify(struct update *u, struct err *e)
{
	struct policy pol;
	struct state_slot *run;
	int r;

	blame(u, FAIL_SOURCE);
	server_options(u);
	if ((r = source_open(u->o->from, &u->srcopts, &u->src, e)) < 0)
		return r;
	/* If this is the journal's bundle, an earlier run fetched up to
	 * here; mark_bad() finds out. */
	source_set_seen(u->src, u->state->journal_reach);
	if ((r = bundle_reader_open(u->src, u->keyring, &u->reader,
	    e)) < 0) {
		u->exit_code = install_exit_code(INSTALL_FAULT_OPEN, r);
		return r;
	}
	u->m = bundle_reader_manifest(u->reader);
	progress_step(&u->prog, "bundle %s %s for %s: signature and "
	    "certificate chain verified", u->o->from, u->m->version,
	    u->m->compatible);
	if ((r = expected(u, e)) < 0)
		return r;

	blame(u, FAIL_POLICY);
	run = &u->state->slot[state_slot_index(u->booted)];
	memset(&pol, 0, sizeof(pol));
	pol.compatible = u->cfg->compatible;
	pol.installed_version = run->version;
	pol.security_floor = u->state->security_floor;
	pol.allow_downgrade = u->o->allow_downgrade;
	if ((r = policy_check(&pol, u->m, e)) < 0)
		return err_prefix(e, "bundle %s", u->o->from);
	if (run->status != NULL && strcmp(run->status, "trial") == 0)
		return err_set(e, -EBUSY, "slot %c is on a trial boot: commit "
		    "or roll back before installing", u->booted);
	if ((r = fallback_safe(u, e)) < 0) {
		blame(u, FAIL_BOOTENV);
		return r;
	}
	/* Paths may name other storage than at config load: check again,
	 * before the writers open and before the env is touched. */
	if ((r = config_check_target(u->cfg, u->target, e)) < 0) {
		blame(u, FAIL_SLOT);
		return err_prefix(e, "slot %c", u->target);
	}
	return map_slots(u, e);
}

/* The bundle as agent/lifecycle records it. */
static struct lifecycle_bundle
bundle_of(const struct update *u)
{
	const struct state *s = u->state;
	const char *id = bundle_reader_id(u->reader);
	/* Earlier runs count only for their own bundle (mark_bad()). */
	int same = str_is(s->journal_bundle, id);
	struct lifecycle_bundle b = { u->m->version, u->m->security_version,
	    id, u->rs.storage, u->rs.chunks, u->rs.bytes, u->rs.total_chunks,
	    u->rs.total_bytes, u->started,
	    (same ? s->journal_fetched : 0) + source_fetched(u->src),
	    same ? s->journal_refetched + source_refetched(u->src) -
	    u->refetch_base : 0 };

	return b;
}

/* A checkpoint from the read-back thread (install.h): state.json only.
 * A failed save costs only the resume point: the first is kept for a
 * warning at the end. */
static void
checkpoint(void *arg, uint64_t chunks, uint64_t bytes)
{
	struct update *u = arg;
	struct err e = { 0, "" };

	if (lifecycle_checkpoint(u->dev, chunks, bytes, &e) < 0 &&
	    u->ckerr.code == 0)
		u->ckerr = e;
}

/* Install every payload, resumed where resume_plan() said. */
static int
write_slots(struct update *u, struct err *e)
{
	int r;

	u->jr.resume = u->rs.chunks;
	u->jr.every_bytes = (uint64_t)u->cfg->journal_mb << 20;
	u->jr.every_s = (unsigned)u->cfg->journal_s;
	u->jr.checkpoint = checkpoint;
	u->jr.arg = u;
	if (u->jr.resume > 0)
		progress_step(&u->prog, "resuming slot %c at chunk %llu of "
		    "%llu (%llu MiB already written)", u->target,
		    (unsigned long long)u->jr.resume,
		    (unsigned long long)u->rs.total_chunks,
		    (unsigned long long)(u->rs.bytes >> 20));
	else
		progress_step(&u->prog, "writing slot %c", u->target);
	r = install_payloads(u->reader, u->writers,
	    &(struct install_progress){ progress_update, &u->prog }, &u->jr,
	    &u->fault, e);
	if (u->ckerr.code != 0)
		fprintf(stderr, "upkit update: warning: checkpoint not "
		    "saved: %s\n", u->ckerr.msg);
	if (r == -ECANCELED && stop_signo != 0)
		return interrupted(u, e);
	if (r < 0)
		u->exit_code = install_exit_code(u->fault, r);
	return r;
}

static int
mark_bad(struct update *u, struct err *e)
{
	struct lifecycle_bundle b;
	enum fail_step step;
	int r;

	if ((r = resume_plan(u->state, u->m, bundle_reader_id(u->reader),
	    u->target, u->writers, &u->rs, e)) < 0) {
		blame(u, FAIL_SLOT);
		return r;
	}
	/* Another bundle than the journal's: nothing was fetched before. */
	if (!str_is(u->state->journal_bundle, bundle_reader_id(u->reader))) {
		u->refetch_base = source_refetched(u->src);
		source_set_seen(u->src, 0);
	}
	b = bundle_of(u);
	if ((r = lifecycle_mark_bad(u->dev, u->target, &b, &u->state_saved,
	    &step, e)) < 0) {
		blame(u, step);
		u->data_refused = !u->state_saved;
		return r;
	}
	progress_step(&u->prog, "slot %c marked bad for writing", u->target);
	return 0;
}

/* Files slots written aside take their place now, in one rename each. */
static int
swap(struct update *u, struct err *e)
{
	size_t k;
	int r;

	progress_end(&u->prog);
	for (k = 0; k < u->m->npayloads; k++)
		if ((r = slot_writer_commit(u->writers[k], e)) < 0)
			return r;
	return 0;
}

static int
arm(struct update *u, struct err *e)
{
	struct lifecycle_bundle b = bundle_of(u);

	return lifecycle_arm(u->dev, u->target, &b, &u->warn, e);
}

static void
report(struct update *u, const struct err *e)
{
	cJSON *o;
	char *s;

	if (u->prog.mode != PROGRESS_JSON) {
		progress_end(&u->prog);
		if (e != NULL)
			fprintf(stderr, "upkit update: %s\n", e->msg);
		else
			printf("installed %s into slot %c; it boots next as a "
			    "trial (%d attempts)\n", u->m->version, u->target,
			    u->cfg->boot_attempts);
		if (e == NULL && u->warn.code != 0)
			fprintf(stderr, "upkit update: warning: %s: slot %c "
			    "boots next as a trial all the same\n",
			    u->warn.msg, u->target);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", e ? "error" : "result");
	if (e != NULL) {
		json_add_uint(o, "exit", (uint64_t)u->exit_code);
		cJSON_AddStringToObject(o, "message", e->msg);
	} else {
		char tg[2] = { u->target, '\0' };

		cJSON_AddStringToObject(o, "result", "installed");
		cJSON_AddStringToObject(o, "version", u->m->version);
		cJSON_AddStringToObject(o, "target", tg);
		json_add_uint(o, "attempts", (uint64_t)u->cfg->boot_attempts);
		if (u->warn.code != 0)
			cJSON_AddStringToObject(o, "warning", u->warn.msg);
	}
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		cJSON_free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
}

static void
update_free(struct update *u)
{
	size_t k;

	release_stop(u);
	for (k = 0; k < BUNDLE_PAYLOADS_MAX; k++)
		slot_writer_free(u->writers[k]);
	bundle_reader_free(u->reader);
	source_close(u->src);
	keyring_free(u->keyring);
	device_free(u->dev);
}

/* The arm is stored: report, reboot unless told not to, free. */
static int
done(struct update *u, struct err *e)
{
	/* A signal during the arm's store came too late to stop it: the
	 * install stands, but nobody wants the reboot any more. */
	release_stop(u);
	report(u, NULL);
	u->exit_code = EXIT_OK;
	if (!u->o->no_reboot && stop_signo != 0) {
		fprintf(stderr, "upkit update: %s after the arm: not "
		    "rebooting\n", stop_signame(stop_signo));
	} else if (!u->o->no_reboot && device_reboot(e) < 0) {
		blame(u, FAIL_OTHER);
		report(u, e);
	}
	update_free(u);
	return u->exit_code;
}

/* A step failed with e: report, record how the install ended, free. */
static int
failed(struct update *u, const struct err *e)
{
	struct err e2 = { 0, "" };
	struct lifecycle_bundle b;

	if (u->o->err != NULL)
		*u->o->err = *e;
	report(u, e);
	/* Once state.json says "installing", it must say how that ended;
	 * before, nothing changed and a data directory that failed once is
	 * not tried again. */
	if (u->m != NULL)
		b = bundle_of(u);
	if (u->state_saved) {
		if (lifecycle_record_failed(u->dev, u->target, &b, e->msg,
		    u->fault == INSTALL_FAULT_SLOT, source_offset(u->src),
		    &e2) < 0)
			fprintf(stderr, "upkit update: warning: %s\n", e2.msg);
	}
	/* A verified bundle that did not install is an outcome, reported
	 * unless the data directory just refused its first save. */
	if (u->m != NULL && !u->data_refused)
		(void)report_install_failed(u->dev, u->target, b.version, b.id,
		    e->msg, u->started, b.fetched, b.refetched);
	update_free(u);
	return u->exit_code;
}

int
update_run(const struct update_opts *o)
{
	struct update u;
	struct err e = { 0, "" };
	enum update_step step = UPDATE_VERIFY;
	int r;

	memset(&u, 0, sizeof(u));
	u.o = o;
	u.stop.pipe[0] = u.stop.pipe[1] = -1;
	progress_init(&u.prog, o->progress);
	time_rfc3339(u.started);

	if ((r = open_device(&u, &e)) < 0 || (blame(&u, FAIL_OTHER),
	    r = device_lock(u.dev, &e)) < 0) {
		if (o->err != NULL)
			*o->err = e;
		report(&u, &e);
		update_free(&u);
		return u.exit_code;
	}
	for (;;) {
		switch (step) {
		case UPDATE_VERIFY:
			r = verify(&u, &e);
			break;
		case UPDATE_MARK_BAD:
			blame(&u, FAIL_OTHER);
			if ((r = catch_stop(&u, &e)) == 0)
				r = stop_signo != 0 ? interrupted(&u, &e) :
				    mark_bad(&u, &e);
			break;
		case UPDATE_WRITING:
			if (stop_signo != 0) {
				r = interrupted(&u, &e);
				break;
			}
			r = write_slots(&u, &e);
			break;
		case UPDATE_SWAP:
			blame(&u, FAIL_SLOT);
			r = stop_signo != 0 ? interrupted(&u, &e) :
			    swap(&u, &e);
			break;
		case UPDATE_ARM:
			blame(&u, FAIL_BOOTENV);
			r = stop_signo != 0 ? interrupted(&u, &e) :
			    arm(&u, &e);
			break;
		case UPDATE_DONE:
			return done(&u, &e);
		case UPDATE_FAILED:
			return failed(&u, &e);
		}
		if (r < 0)
			step = UPDATE_FAILED;
		else
			step++;
	}
}

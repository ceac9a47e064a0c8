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
 * The exit code says what boots next: 0 once the arm is stored (the
 * target, as a trial, even if state.json could not record it), anything
 * else the booted slot (docs/exit-codes.md). SIGTERM, SIGINT and SIGHUP
 * from MARK_BAD to ARM stop the install at a chunk or step boundary and
 * record it as failed; before MARK_BAD they end upkit as usual, which
 * changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/install.h"
#include "agent/progress.h"
#include "agent/source.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "common/json.h"
#include "slots/boot/bootenv.h"
#include "slots/slot.h"
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
	/* options */
	const char		*config_arg;
	const char		*from;
	int			 allow_downgrade;
	int			 no_reboot;
	/* device */
	struct device		*dev;
	struct config		*cfg;		/* dev->config */
	struct state		*state;		/* dev->state */
	struct keyring		*keyring;
	char			 booted;
	char			 target;
	/* bundle */
	int			 fd;
	struct bundle_reader	*reader;
	const struct manifest	*m;
	struct slot_writer	*writers[BUNDLE_PAYLOADS_MAX];
	struct progress		 prog;
	enum install_fault	 fault;		/* of install_payloads() */
	int			 exit_code;
	/* what the install changed so far */
	int			 state_saved;	/* state.json says installing */
	struct err		 warn;		/* after the arm: not saved */
	int			 stop_pipe[2];	/* see catch_stop() */
	struct sigaction	 stop_old[3];	/* as they were before */
};

/* Set by the handler of the stop signals; the only state it touches. */
static volatile sig_atomic_t stop_signo;
static volatile sig_atomic_t stop_fd = -1;

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* Async-signal-safe: a flag and a write(2) to a non-blocking pipe that
 * wakes the reader in poll() (bundle_reader_set_cancel()). */
static void
on_stop(int signo)
{
	int saved = errno;
	ssize_t n;

	if (stop_signo == 0)
		stop_signo = signo;
	n = write(stop_fd, "", 1);
	(void)n;
	errno = saved;
}

static const char *
signame(int signo)
{
	switch (signo) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

/*
 * From here on a stop signal must not kill upkit between two changes:
 * it stops the install where the device is consistent (the target
 * marked bad, whole chunks written) and the failure is recorded.
 * SA_RESTART keeps every other system call going; the pipe wakes the
 * reader. A signal upkit was started with ignored (nohup, a background
 * job's SIGINT) stays ignored.
 */
static int
catch_stop(struct update *u, struct err *e)
{
	struct sigaction sa;
	size_t i;
	int r;

	if (pipe2(u->stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		r = -errno;
		u->stop_pipe[0] = u->stop_pipe[1] = -1;
		return err_set(e, r, "stop signal pipe: %s", strerror(-r));
	}
	stop_signo = 0;
	stop_fd = u->stop_pipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigaction(stop_signals[i], NULL, &u->stop_old[i]) == 0 &&
		    u->stop_old[i].sa_handler != SIG_IGN)
			sigaction(stop_signals[i], &sa, NULL);
	bundle_reader_set_cancel(u->reader, u->stop_pipe[0]);
	return 0;
}

/* Back to the actions upkit started with: after the arm the install
 * stands, and a shutdown (the reboot's own SIGTERM) must not wait for
 * upkit. */
static void
release_stop(struct update *u)
{
	size_t i;

	if (u->stop_pipe[1] == -1)
		return;
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &u->stop_old[i], NULL);
	stop_fd = -1;
	if (u->reader != NULL)
		bundle_reader_set_cancel(u->reader, -1);
	close(u->stop_pipe[0]);
	close(u->stop_pipe[1]);
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
}

/* The install stopped for a signal: what shells report for a process
 * the signal killed, 128 + its number. */
static int
interrupted(struct update *u, struct err *e)
{
	u->exit_code = 128 + stop_signo;
	return err_set(e, -EINTR, "interrupted by %s", signame(stop_signo));
}

/* Loads config, state, boot env and keyring: everything read-only. */
static int
open_device(struct update *u, struct err *e)
{
	enum device_stage stage = DEVICE_CONFIG;
	int r;

	if ((r = device_open(config_path(u->config_arg), &u->dev, &stage,
	    e)) < 0) {
		u->exit_code = device_exit_code(stage);
		return r;
	}
	u->cfg = u->dev->config;
	u->state = u->dev->state;
	u->booted = u->dev->booted;
	u->target = u->booted == 'A' ? 'B' : 'A';
	u->exit_code = EXIT_CONFIG;
	return source_load_keyring(u->cfg->keyring_path, u->cfg->keyring_crl,
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
		if ((pl->kind == PAYLOAD_FILES) != (s->type == SLOT_FILES))
			return err_set(e, -EPERM, "payload %s is %s but slot "
			    "%s is %s", pl->name,
			    pl->kind == PAYLOAD_FILES ? "files" : "raw",
			    s->name, s->type == SLOT_FILES ? "files" : "raw");
		for (i = 0; i < pl->nfiles; i++) {
			files[i].name = pl->files[i].name;
			files[i].size = pl->files[i].size;
			files[i].mode = pl->files[i].mode;
		}
		if ((r = slot_writer_open(s, pl->size, files, pl->nfiles,
		    &u->writers[k], e)) < 0) {
			u->exit_code = EXIT_SLOT;
			return err_prefix(e, "payload %s", pl->name);
		}
	}
	return 0;
}

static int
verify(struct update *u, struct err *e)
{
	struct policy pol;
	struct state_slot *run;
	int r;

	u->exit_code = EXIT_INPUT;
	if ((r = source_open(u->from, &u->fd, e)) < 0)
		return r;
	if ((r = bundle_reader_open(u->fd, u->from, u->keyring, &u->reader,
	    e)) < 0) {
		u->exit_code = install_exit_code(INSTALL_FAULT_OPEN, r);
		return r;
	}
	u->m = bundle_reader_manifest(u->reader);
	progress_step(&u->prog, "bundle %s %s for %s: signature and "
	    "certificate chain verified", u->from, u->m->version,
	    u->m->compatible);

	u->exit_code = EXIT_POLICY;
	run = &u->state->slot[state_slot_index(u->booted)];
	memset(&pol, 0, sizeof(pol));
	pol.compatible = u->cfg->compatible;
	pol.installed_version = run->version;
	pol.security_floor = u->state->security_floor;
	pol.allow_downgrade = u->allow_downgrade;
	if ((r = policy_check(&pol, u->m, e)) < 0)
		return err_prefix(e, "bundle %s", u->from);
	if (run->status != NULL && strcmp(run->status, "trial") == 0)
		return err_set(e, -EBUSY, "slot %c is on a trial boot: commit "
		    "or roll back before installing", u->booted);
	/* Paths may name other storage than at config load: check again,
	 * before the writers open and before the env is touched. */
	if ((r = config_check_target(u->cfg, u->target, e)) < 0) {
		u->exit_code = EXIT_SLOT;
		return err_prefix(e, "slot %c", u->target);
	}
	return map_slots(u, e);
}

static int
save_state(struct update *u, const char *result, const char *reason,
    struct err *e)
{
	char now[32], target[2] = { u->target, '\0' };
	int r;

	time_rfc3339(now);
	if ((r = state_set(&u->state->last_version, u->m->version, e)) < 0 ||
	    (r = state_set(&u->state->last_target, target, e)) < 0 ||
	    (r = state_set(&u->state->last_result, result, e)) < 0 ||
	    (r = state_set(&u->state->last_reason, reason, e)) < 0 ||
	    (r = state_set(&u->state->last_time, now, e)) < 0)
		return r;
	return device_save_state(u->dev, e);
}

static int
mark_bad(struct update *u, struct err *e)
{
	struct state_slot *t = &u->state->slot[state_slot_index(u->target)];
	struct bootstate st = u->dev->boot;
	int r;

	/* From here on the target's old content is going away. What the
	 * slot will hold is known already, in case the arm is stored but
	 * its state is not (see recover_arm() in health.c). */
	t->security_version = u->m->security_version;
	if ((r = state_set(&t->version, NULL, e)) < 0 ||
	    (r = state_set(&t->status, "bad", e)) < 0 ||
	    (r = state_set(&u->state->journal_bundle,
	    bundle_reader_id(u->reader), e)) < 0)
		return r;
	u->state->journal_chunks = 0;
	{
		char tg[2] = { u->target, '\0' };

		if ((r = state_set(&u->state->journal_target, tg, e)) < 0)
			return r;
	}
	/* The first change. A data directory that cannot take it (full,
	 * read-only) fails here, before the env: nothing has changed and
	 * the failure is state.json's, not the env's. */
	u->exit_code = EXIT_FAIL;
	if ((r = save_state(u, "installing", NULL, e)) < 0)
		return r;
	u->state_saved = 1;
	u->exit_code = EXIT_BOOTENV;
	bootstate_mark_bad(&st, u->target);
	/* We run on the booted slot, so it boots: keep it selectable. */
	if (st.left[state_slot_index(u->booted)] == 0 ||
	    strchr(st.order, u->booted) == NULL)
		bootstate_mark_good(&st, u->booted, u->cfg->boot_attempts);
	if ((r = u->dev->env_ops->commit(u->dev->env, &st, e)) < 0)
		return r;
	u->dev->boot = st;
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
	struct state_slot *t = &u->state->slot[state_slot_index(u->target)];
	struct bootstate st = u->dev->boot;
	struct err *w = &u->warn;
	char now[32];
	int r;

	/* The env first, then the state: state.json never says "trial"
	 * for a slot the env does not arm. The reverse gap (armed, state
	 * still "installing") is recognised by status and health. */
	bootstate_arm(&st, u->target, u->cfg->boot_attempts);
	/* A commit raises the floor to this; the env keeps it, so a lost
	 * data directory cannot lose it. */
	if (u->m->security_version > st.trial_floor)
		st.trial_floor = u->m->security_version;
	if ((r = u->dev->env_ops->commit(u->dev->env, &st, e)) < 0)
		return r;
	u->dev->boot = st;
	/* The target boots next whatever happens to state.json now, so a
	 * failure to record it is a warning (u->warn), never a failure. */
	time_rfc3339(now);
	t->security_version = u->m->security_version;
	if (state_set(&t->version, u->m->version, w) < 0 ||
	    state_set(&t->status, "trial", w) < 0 ||
	    state_set(&t->installed, now, w) < 0 ||
	    state_set(&u->state->journal_bundle, NULL, w) < 0 ||
	    state_set(&u->state->journal_target, NULL, w) < 0)
		return 0;
	u->state->journal_chunks = 0;
	(void)save_state(u, "installed", NULL, w);
	return 0;
}

static void
report(struct update *u, const struct err *e)
{
	cJSON *o;
	char *s;

	if (!u->prog.json) {
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
usage(FILE *f)
{
	fprintf(f, "usage: upkit update [-c CONFIG] --from FILE|- "
	    "[--allow-downgrade] [--no-reboot] [--json]\n");
}

static int
parse_args(struct update *u, int argc, char **argv, int *json)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "no-reboot", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			u->config_arg = optarg;
			break;
		case 'f':
			u->from = optarg;
			break;
		case 'D':
			u->allow_downgrade = 1;
			break;
		case 'n':
			u->no_reboot = 1;
			break;
		case 'j':
			*json = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || u->from == NULL) {
		fprintf(stderr, "upkit update: %s\n", u->from == NULL ?
		    "--from is required" : "unexpected argument");
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static void
update_free(struct update *u)
{
	size_t k;

	release_stop(u);
	for (k = 0; k < BUNDLE_PAYLOADS_MAX; k++)
		slot_writer_free(u->writers[k]);
	bundle_reader_free(u->reader);
	if (u->fd > STDIN_FILENO)
		close(u->fd);
	keyring_free(u->keyring);
	device_free(u->dev);
}

int
cmd_update(int argc, char **argv)
{
	struct update u;
	struct err e = { 0, "" };
	enum update_step step = UPDATE_VERIFY;
	int json = 0, r;

	memset(&u, 0, sizeof(u));
	u.fd = -1;
	u.stop_pipe[0] = u.stop_pipe[1] = -1;
	if ((r = parse_args(&u, argc, argv, &json)) >= 0)
		return r;
	progress_init(&u.prog, json);

	if ((r = open_device(&u, &e)) < 0 || (u.exit_code = EXIT_FAIL,
	    r = device_lock(u.dev, &e)) < 0) {
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
			u.exit_code = EXIT_FAIL;
			if ((r = catch_stop(&u, &e)) == 0)
				r = stop_signo != 0 ? interrupted(&u, &e) :
				    mark_bad(&u, &e);
			break;
		case UPDATE_WRITING:
			if (stop_signo != 0) {
				r = interrupted(&u, &e);
				break;
			}
			progress_step(&u.prog, "writing slot %c", u.target);
			r = install_payloads(u.reader, u.writers,
			    &(struct install_progress){ progress_update,
			    &u.prog }, &u.fault, &e);
			if (r == -ECANCELED && stop_signo != 0)
				r = interrupted(&u, &e);
			else if (r < 0)
				u.exit_code = install_exit_code(u.fault, r);
			break;
		case UPDATE_SWAP:
			u.exit_code = EXIT_SLOT;
			r = stop_signo != 0 ? interrupted(&u, &e) :
			    swap(&u, &e);
			break;
		case UPDATE_ARM:
			u.exit_code = EXIT_BOOTENV;
			r = stop_signo != 0 ? interrupted(&u, &e) :
			    arm(&u, &e);
			break;
		case UPDATE_DONE:
			/* A signal during the arm's store came too late to
			 * stop it: the install stands, but nobody wants the
			 * reboot any more. */
			release_stop(&u);
			report(&u, NULL);
			u.exit_code = EXIT_OK;
			if (!u.no_reboot && stop_signo != 0) {
				fprintf(stderr, "upkit update: %s after the "
				    "arm: not rebooting\n",
				    signame(stop_signo));
			} else if (!u.no_reboot &&
			    (r = device_reboot(&e)) < 0) {
				u.exit_code = EXIT_FAIL;
				report(&u, &e);
			}
			update_free(&u);
			return u.exit_code;
		case UPDATE_FAILED:
			report(&u, &e);
			/* Once state.json says "installing", it must say how
			 * that ended; before, nothing changed and a data
			 * directory that failed once is not tried again. */
			if (u.state_saved) {
				struct err e2 = { 0, "" };

				if (save_state(&u, "failed", e.msg, &e2) < 0)
					fprintf(stderr, "upkit update: "
					    "warning: %s\n", e2.msg);
			}
			update_free(&u);
			return u.exit_code;
		}
		if (r < 0)
			step = UPDATE_FAILED;
		else
			step++;
	}
}

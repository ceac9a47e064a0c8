/*
 * `upkit health`, `upkit commit`, `upkit rollback`: the end of a trial
 * boot (docs/health.md). health runs at every boot and decides by the
 * booted slot's status in state.json:
 *
 *   trial      run the checks in [health] directory; all pass: commit;
 *              one fails: roll back and reboot into the other slot.
 *   otherwise  if the other slot is the trial one, the bootloader fell
 *              back (the trial slot used up its attempts): record that.
 *              Else make sure the booted slot's counter is full, writing
 *              the env only when it is not (the fast path of every boot).
 *
 * The checks run in agent/checks.c; every change of env and state is a
 * transition of agent/lifecycle.c, which says what a power cut between
 * its two stores leaves and what finishes it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/checks.h"
#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/lifecycle.h"
#include "agent/report.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/json.h"
#include "slots/boot/bootenv.h"

#define REASON_MAX	384

enum health_cmd {
	HEALTH_RUN,
	HEALTH_COMMIT,
	HEALTH_ROLLBACK,
	HEALTH_MARK_GOOD,
	HEALTH_MARK_BAD,
};

struct health {
	enum health_cmd		 cmd;
	const char		*name;		/* "health", ... */
	char			 target;	/* mark-good/bad: the slot */
	int			 no_reboot;
	int			 json;
	struct device		*dev;
	char			 booted;
	char			 other;
	cJSON			*checks;	/* --json: one per check */
	int			 npassed;
	enum fail_step		 fail;		/* what a -errno was */
	char			 reason[REASON_MAX];
	char			 check[256];	/* the failing check's name */
};

/* Runs the checks of the booted slot: 0 all passed, 1 one failed
 * (h->reason), -errno. */
static int
run_checks(struct health *h, struct err *e)
{
	const struct config *c = h->dev->config;
	struct checks ck;
	int r;

	memset(&ck, 0, sizeof(ck));
	ck.directory = c->health_directory;
	ck.timeout = c->health_timeout;
	ck.deadline = c->health_deadline;
	ck.slot = h->booted;
	ck.version = h->dev->state->slot[state_slot_index(h->booted)].version;
	ck.quiet = h->json || cli.verbosity < 0;
	ck.json = h->checks;
	ck.reason = h->reason;
	ck.reason_size = sizeof(h->reason);
	r = checks_run(&ck, e);
	h->npassed = ck.npassed;
	memcpy(h->check, ck.failed, sizeof(h->check));
	return r;
}

/* The outcome: a line of text, or one JSON object. */
static void
report(struct health *h, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct health *h, const char *result, const char *fmt, ...)
{
	const struct state_slot *b;
	va_list ap;
	cJSON *o;
	char msg[1024], bn[2] = { h->booted, '\0' }, *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!h->json) {
		printf("%s\n", msg);
		fflush(stdout);
		return;
	}
	b = &h->dev->state->slot[state_slot_index(h->booted)];
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", "result");
	cJSON_AddStringToObject(o, "result", result);
	cJSON_AddStringToObject(o, "booted", bn);
	if (b->version != NULL)
		cJSON_AddStringToObject(o, "version", b->version);
	else
		cJSON_AddNullToObject(o, "version");
	if (h->reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", h->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddStringToObject(o, "message", msg);
	if (h->checks != NULL) {
		cJSON_AddItemToObject(o, "checks", h->checks);
		h->checks = NULL;
	}
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		cJSON_free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
}

static void
report_error(struct health *h, int code, const struct err *e)
{
	cJSON *o;
	char *s;

	if (!h->json) {
		cli_error(h->name, "%s", e->msg);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", "error");
	json_add_uint(o, "exit", (uint64_t)code);
	cJSON_AddStringToObject(o, "message", e->msg);
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		cJSON_free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
}

/* Rolls back for reason, reports, reboots unless --no-reboot. */
static int
do_rollback(struct health *h, const char *reason, int code, struct err *e)
{
	const struct state_slot *b = &h->dev->state->slot[state_slot_index(h->booted)];
	int r;

	if ((r = lifecycle_rollback(h->dev, h->booted, reason,
	    h->check[0] != '\0' ? h->check : NULL, &h->fail, e)) < 0)
		return r;
	/* The outcome is stored: now, and only now, it is reported. */
	report_due(h->dev, h->name);
	report(h, "rolled-back", "slot %c (%s): %s: rolled back to slot %c%s",
	    h->booted, or_dash(b->version), reason, h->other,
	    h->no_reboot ? "" : ", rebooting");
	if (!h->no_reboot && (r = device_reboot(e)) < 0)
		return r;
	return code;
}

static int
health_run(struct health *h, struct err *e)
{
	struct state *s = h->dev->state;
	const struct state_slot *b = &s->slot[state_slot_index(h->booted)];
	const struct state_slot *o = &s->slot[state_slot_index(h->other)];
	int r;

	/* A blank or corrupt env was rebuilt from state.json when the
	 * device was opened; health runs at every boot, so it stores it. */
	if ((r = lifecycle_store_rebuilt(h->dev, &h->fail, e)) < 0)
		return r;
	/* An outcome stored before a power cut whose report was not. */
	report_due(h->dev, h->name);
	if (str_is(b->status, "trial")) {
		if (h->json && (h->checks = cJSON_CreateArray()) == NULL)
			return err_set(e, -ENOMEM, "health: out of memory");
		if ((r = run_checks(h, e)) < 0)
			return r;
		if (r == 1)
			return do_rollback(h, h->reason,
			    exitcode_for(FAIL_HEALTH, 0), e);
		if ((r = lifecycle_commit(h->dev, h->booted, &h->fail, e)) < 0)
			return r;
		report_due(h->dev, h->name);
		report(h, "committed", "slot %c (%s): %d health check%s "
		    "passed: committed", h->booted, or_dash(b->version),
		    h->npassed, h->npassed == 1 ? "" : "s");
		return EXIT_OK;
	}
	if (str_is(o->status, "trial")) {
		/*
		 * Still first with attempts left: the bootloader has not
		 * tried it yet (no reboot since the install), so there is
		 * nothing to conclude.
		 */
		if (h->dev->boot.order[0] == h->other &&
		    h->dev->boot.left[state_slot_index(h->other)] > 0) {
			report(h, "pending", "slot %c (%s) is armed for a "
			    "trial boot: it boots next", h->other,
			    or_dash(o->version));
			return EXIT_OK;
		}
		snprintf(h->reason, sizeof(h->reason), "slot %c did not boot "
		    "(bootloader fell back to %c after %d attempts)", h->other,
		    h->booted, h->dev->config->boot_attempts);
		if ((r = lifecycle_fell_back(h->dev, h->booted, h->reason,
		    &h->fail, e)) < 0)
			return r;
		report_due(h->dev, h->name);
		report(h, "rolled-back", "%s: update %s recorded as rolled "
		    "back", h->reason, or_dash(o->version));
		return EXIT_OK;
	}
	if (str_is(b->status, "bad")) {
		/* Rolled back with --no-reboot: never mark it good again. */
		report(h, "bad", "slot %c is marked bad: the next boot takes "
		    "slot %c", h->booted, h->other);
		return EXIT_OK;
	}
	/* The boot script decremented the counter of this good slot. */
	if ((r = lifecycle_keep_good(h->dev, h->booted, &h->fail, e)) < 0)
		return r;
	if (r == 1)
		report(h, "good", "slot %c (%s) is good: boot counter reset "
		    "to %d", h->booted, or_dash(b->version),
		    h->dev->config->boot_attempts);
	else
		report(h, "good", "slot %c (%s) is good", h->booted,
		    or_dash(b->version));
	return EXIT_OK;
}

static int
commit_run(struct health *h, struct err *e)
{
	const struct state_slot *b =
	    &h->dev->state->slot[state_slot_index(h->booted)];
	int r;

	if (!str_is(b->status, "trial")) {
		report(h, "none", "slot %c (%s) is not on a trial boot "
		    "(status %s): nothing to commit", h->booted,
		    or_dash(b->version), or_dash(b->status));
		return EXIT_OK;
	}
	if ((r = lifecycle_commit(h->dev, h->booted, &h->fail, e)) < 0)
		return r;
	report_due(h->dev, h->name);
	report(h, "committed", "slot %c (%s): committed without health "
	    "checks", h->booted, or_dash(b->version));
	return EXIT_OK;
}

static int
rollback_run(struct health *h, struct err *e)
{
	const struct state_slot *o = &h->dev->state->slot[state_slot_index(h->other)];
	const struct bootstate *bs = &h->dev->boot;

	/*
	 * The other slot must be something that boots: not bad, not a
	 * trial nobody checked, and not an empty slot that the env does
	 * not offer either.
	 */
	if (str_is(o->status, "bad") || str_is(o->status, "trial") ||
	    (o->status == NULL && o->version == NULL &&
	    (strchr(bs->order, h->other) == NULL ||
	    bs->left[state_slot_index(h->other)] == 0)))
		return err_set(e, -ENOENT, "slot %c is %s: nothing to roll "
		    "back to", h->other, o->status != NULL ? o->status :
		    "empty");
	return do_rollback(h, "manual rollback", EXIT_OK, e);
}

enum { O_NO_REBOOT = 256, O_JSON };

/* --no-reboot first: the tables of commit and mark start after it. */
static const struct cli_opt opts[] = {
	{ "no-reboot", O_NO_REBOOT, NULL, "record the rollback, do not "
	    "reboot" },
	{ "json", O_JSON, NULL, "one JSON object instead of text" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_health = {
	"health", "[OPTIONS]",
	"Check a trial boot: commit or roll back",
	CLI_CONFIG, opts, cmd_health,
};

const struct cli_cmd cli_commit = {
	"commit", "[OPTIONS]", "Commit the trial boot without the checks",
	CLI_CONFIG, opts + 1, cmd_commit,
};

const struct cli_cmd cli_rollback = {
	"rollback", "[OPTIONS]",
	"Boot the other slot next, and reboot",
	CLI_CONFIG, opts, cmd_rollback,
};

const struct cli_cmd cli_mark_good = {
	"mark-good", "[OPTIONS] [booted|other|A|B]",
	"RAUC's mark-good: booted commits the trial",
	CLI_CONFIG, opts + 1, cmd_mark_good,
};

const struct cli_cmd cli_mark_bad = {
	"mark-bad", "[OPTIONS] [booted|other|A|B]",
	"RAUC's mark-bad: a slot out of the boot order",
	CLI_CONFIG, opts + 1, cmd_mark_bad,
};

static int
parse_args(struct health *h, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_parse p;
	int ch, rc;

	cli_begin(&p, cmd, argc, argv);
	while ((ch = cli_next(&p)) != -1) {
		if (ch == O_NO_REBOOT)
			h->no_reboot = 1;
		else
			h->json = 1;
	}
	if (h->cmd != HEALTH_MARK_GOOD && h->cmd != HEALTH_MARK_BAD)
		return cli_end(&p, 0, 0, NULL);
	if ((rc = cli_end(&p, 0, 1, NULL)) >= 0)
		return rc;
	/* RAUC's words, or a bootname; booted and other are resolved
	 * once the device says which slot runs. */
	if (optind == argc || strcmp(argv[optind], "booted") == 0)
		h->target = 'b';
	else if (strcmp(argv[optind], "other") == 0)
		h->target = 'o';
	else if (strcmp(argv[optind], "A") == 0 ||
	    strcmp(argv[optind], "B") == 0)
		h->target = argv[optind][0];
	else
		return cli_usage_error(cmd, "%s: expected booted, other, A "
		    "or B", argv[optind]);
	return -1;
}

/* mark-good: booted commits (a trial) or finds it good; other is only
 * ever found good, as arming it would boot a slot nobody checked. */
static int
mark_good_run(struct health *h, struct err *e)
{
	const struct state_slot *t =
	    &h->dev->state->slot[state_slot_index(h->target)];
	const struct bootstate *bs = &h->dev->boot;

	h->fail = FAIL_POLICY;
	if (h->target == h->booted && !str_is(t->status, "bad"))
		return commit_run(h, e);
	if (h->target == h->booted)
		return err_set(e, -EPERM, "slot %c (booted) is marked bad: "
		    "slot %c boots next; mark-good does not undo a rollback",
		    h->booted, h->other);
	/* Good, or never touched by upkit (the factory image), and
	 * offered by the env: the fallback it already is. */
	if ((t->status == NULL || str_is(t->status, "good")) &&
	    strchr(bs->order, h->other) != NULL &&
	    bs->left[state_slot_index(h->other)] > 0) {
		report(h, "good", "slot %c (%s) is the fallback already: "
		    "nothing to do", h->other, or_dash(t->version));
		return EXIT_OK;
	}
	if (str_is(t->status, "trial"))
		return err_set(e, -EPERM, "slot %c (%s) is armed for a trial "
		    "boot already and boots next: commit it from that boot "
		    "(upkit mark-good booted)", h->other, or_dash(t->version));
	return err_set(e, -EPERM, "slot %c is %s: upkit never arms a slot "
	    "it has not verified; install a bundle into it instead "
	    "(slot %c boots next)", h->other, t->status == NULL ||
	    str_is(t->status, "good") ? "out of the boot order" : t->status,
	    h->booted);
}

/* mark-bad: booted is a rollback without a reboot; other takes the
 * other slot out of the boot order, never leaving the booted one
 * without a slot to fall back to while it is on trial. */
static int
mark_bad_run(struct health *h, struct err *e)
{
	const struct state *s = h->dev->state;
	const struct state_slot *b = &s->slot[state_slot_index(h->booted)];
	const struct state_slot *o = &s->slot[state_slot_index(h->other)];
	const struct bootstate *bs = &h->dev->boot;
	int r;

	h->fail = FAIL_POLICY;
	h->no_reboot = 1;
	if (h->target == h->booted)
		return rollback_run(h, e);
	if (str_is(b->status, "trial") || str_is(b->status, "bad"))
		return err_set(e, -EPERM, "slot %c (booted) is %s: marking "
		    "slot %c bad would leave no slot to fall back to%s",
		    h->booted, b->status, h->other,
		    str_is(b->status, "trial") ? "; mark it good first" : "");
	if (str_is(o->status, "bad") && strchr(bs->order, h->other) ==
	    NULL) {
		report(h, "bad", "slot %c is marked bad already: slot %c "
		    "boots next", h->other, h->booted);
		return EXIT_OK;
	}
	h->fail = FAIL_OTHER;
	if ((r = lifecycle_mark_other_bad(h->dev, h->booted,
	    "marked bad by hand (upkit mark-bad)", &h->fail, e)) < 0)
		return r;
	report_due(h->dev, h->name);
	report(h, "bad", "slot %c (%s) marked bad: slot %c boots next",
	    h->other, or_dash(o->version), h->booted);
	return EXIT_OK;
}

static int
health_main(const struct cli_cmd *cmd, enum health_cmd hc, int argc,
    char **argv)
{
	struct health h;
	struct err e = { 0, "" };
	enum device_stage stage = DEVICE_CONFIG;
	int rc;

	memset(&h, 0, sizeof(h));
	h.cmd = hc;
	h.name = cmd->name;
	h.fail = FAIL_OTHER;
	if ((rc = parse_args(&h, cmd, argc, argv)) >= 0)
		return rc;
	if (device_open(config_path(cli.config), &h.dev, &stage, &e) < 0) {
		rc = device_exit_code(stage);
		report_error(&h, rc, &e);
		return rc;
	}
	h.booted = h.dev->booted;
	h.other = h.booted == 'A' ? 'B' : 'A';
	if (h.target == 'b' || h.target == 'o')
		h.target = h.target == 'b' ? h.booted : h.other;
	cli_verbose(h.name, "config %s, booted slot %c",
	    h.dev->config->path, h.booted);
	rc = exitcode_for(FAIL_OTHER, 0);
	if (device_lock(h.dev, &e) < 0)
		goto fail;
	switch (hc) {
	case HEALTH_RUN:
		rc = health_run(&h, &e);
		break;
	case HEALTH_COMMIT:
		rc = commit_run(&h, &e);
		break;
	case HEALTH_ROLLBACK:
		rc = rollback_run(&h, &e);
		break;
	case HEALTH_MARK_GOOD:
		rc = mark_good_run(&h, &e);
		break;
	case HEALTH_MARK_BAD:
		rc = mark_bad_run(&h, &e);
		break;
	}
	if (rc >= 0)
		goto out;
	rc = exitcode_for(h.fail, rc);
fail:
	report_error(&h, rc, &e);
out:
	cJSON_Delete(h.checks);
	device_free(h.dev);
	return rc;
}

int
cmd_health(int argc, char **argv)
{
	return health_main(&cli_health, HEALTH_RUN, argc, argv);
}

int
cmd_commit(int argc, char **argv)
{
	return health_main(&cli_commit, HEALTH_COMMIT, argc, argv);
}

int
cmd_rollback(int argc, char **argv)
{
	return health_main(&cli_rollback, HEALTH_ROLLBACK, argc, argv);
}

int
cmd_mark_good(int argc, char **argv)
{
	return health_main(&cli_mark_good, HEALTH_MARK_GOOD, argc, argv);
}

int
cmd_mark_bad(int argc, char **argv)
{
	return health_main(&cli_mark_bad, HEALTH_MARK_BAD, argc, argv);
}

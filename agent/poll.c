/*
 * agent/poll: one cycle of upkit daemon (docs/daemon.md). Fetch the
 * channel with the last ETag (a 304 costs one request and no body, and
 * the channel kept in DATA/channel.upc stands for it), verify its
 * signature and expiry, refuse a version below the last accepted or the
 * same version signed again, select the release for this device, and
 * install it through update_run() with the bundle id and size the
 * channel names, so that no other bundle reaches a slot. Every outcome
 * is one line on stderr and the daemon object of state.json, which
 * `upkit status` shows.
 *
 * The lock (DATA/lock) is held only while the cycle reads and changes
 * the state: not while the channel is fetched or the reports are sent,
 * so that a stalled server cannot keep `upkit health` from committing a
 * trial at boot, and not during the install, which takes it itself.
 * After each wait the lock is taken again, which reads the state as it
 * is then: what another upkit did meanwhile is acted on, not undone.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/daemon.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/keyfiles.h"
#include "agent/lifecycle.h"
#include "agent/outbox.h"
#include "agent/report.h"
#include "agent/state.h"
#include "agent/stop.h"
#include "agent/update.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "source/source.h"
#include "verify/channel.h"
#include "verify/rollout.h"
#include "verify/trust.h"

struct cycle {
	const struct daemon_opts *o;
	struct device	*d;
	struct keyring	*k;
	char		 path[4096];	/* DATA/channel.upc */
	char		*buf;		/* the channel file */
	size_t		 len;
	int		 fetched;	/* buf came with a 200 */
	char		 etag[256];
	struct channel	*c;
	char		 id[65];
	const struct channel_release *rel;
	char		 bid[65];	/* rel's bundle id, hex */
	char		 url[CHANNEL_URL_MAX + CONFIG_URL_MAX];
	char		 result[512];	/* state.json poll_result */
	int		 code;
	int		 refused;	/* the outcome is a refusal */
};

/* One event: a line on stderr, and the poll's result for state.json. */
static void
outcome(struct cycle *cy, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
outcome(struct cycle *cy, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cy->result, sizeof(cy->result), fmt, ap);
	va_end(ap);
	cy->code = code;
	if (code == EXIT_OK || code == EXIT_INSTALLED)
		cli_info("daemon", "%s", cy->result);
	else
		cli_error("daemon", "%s", cy->result);
}

/*
 * The outcome just set is a refusal of what the server sent: reported
 * (docs/reports.md, "refused") unless it is the refusal reported last,
 * so that a device polling a bad channel every interval makes one
 * report, not one a poll. A report that cannot be kept is tried again
 * on the next poll.
 */
static void
refused(struct cycle *cy, const char *version)
{
	struct state *s = cy->d->state;
	struct err e = { 0, "" };

	cy->refused = 1;
	if (str_is(s->refused, cy->result))
		return;
	if (report_refused(cy->d, version, cy->result) == 0 &&
	    state_set(&s->refused, cy->result, &e) < 0)
		cli_warn("daemon", "%s", e.msg);
}

static int
open_locked(struct cycle *cy, struct err *e)
{
	enum device_stage stage = DEVICE_CONFIG;
	int r;

	if ((r = device_open(config_path(cy->o->config), &cy->d, &stage,
	    e)) < 0)
		return device_exit_code(stage);
	if ((r = device_lock(cy->d, e)) < 0)
		return exitcode_for(FAIL_OTHER, r);
	return 0;
}

/* Saves the poll's time and result with the rest of the daemon object. */
static void
record(struct cycle *cy)
{
	struct state *s = cy->d->state;
	struct err e = { 0, "" };
	char now[32];

	if (cy->d->lockfd == -1)
		return;
	time_rfc3339(now);
	if (state_set(&s->poll_time, now, &e) < 0 ||
	    state_set(&s->poll_result, cy->result, &e) < 0 ||
	    lifecycle_save_daemon(cy->d, &e) < 0)
		cli_warn("daemon", "%s", e.msg);
}

/* The release installed by an earlier cycle was committed or rolled
 * back since: a rolled-back bundle is never taken again. Saved at once,
 * since the lock is let go next. */
static int
settle(struct cycle *cy, struct err *e)
{
	struct state *s = cy->d->state;
	int r;

	if (s->pending_bundle == NULL)
		return 0;
	if (str_is(s->last_result, "rolled-back") &&
	    str_is(s->last_version, s->pending_version)) {
		if ((r = state_add_failed(s, s->pending_bundle, e)) < 0)
			return r;
		cli_info("daemon", "%s (bundle %s) rolled back: "
		    "it is not installed again", or_dash(s->pending_version),
		    s->pending_bundle);
	} else if (!str_is(s->last_result, "committed"))
		return 0;
	if ((r = state_set(&s->pending_bundle, NULL, e)) < 0 ||
	    (r = state_set(&s->pending_version, NULL, e)) < 0)
		return r;
	return lifecycle_save_daemon(cy->d, e);
}

/* The channel's bytes into cy->buf: fetched, or the kept copy for a
 * 304. 0, or 1 with the outcome set. */
static int
fetch(struct cycle *cy, struct err *e)
{
	const struct config *cfg = cy->d->config;
	struct source_options so;
	struct source_fetched f;
	const char *etag = cy->d->state->channel_etag;
	int r;

	/* Without the kept copy a 304 would leave nothing to act on. */
	if (access(cy->path, R_OK) != 0)
		etag = NULL;
	device_source_options(cfg, &so);
	if ((r = source_fetch(cfg->server_channel, &so, etag,
	    CHANNEL_FILE_MAX, &f, e)) < 0) {
		outcome(cy, exitcode_for(FAIL_SOURCE, r), "error: %s", e->msg);
		return 1;
	}
	if (f.status == 304 && etag == NULL) {
		outcome(cy, exitcode_for(FAIL_SOURCE, -EIO), "error: GET %s: "
		    "304 Not Modified to a request without If-None-Match",
		    cfg->server_channel);
		return 1;
	}
	if (f.status == 304) {
		snprintf(cy->etag, sizeof(cy->etag), "%s", etag);
		if ((r = file_read(cy->path, CHANNEL_FILE_MAX, &cy->buf,
		    &cy->len, e)) < 0) {
			outcome(cy, exitcode_for(FAIL_STATE, r), "error: %s",
			    e->msg);
			return 1;
		}
		return 0;
	}
	cy->buf = (char *)f.body;
	cy->len = f.len;
	cy->fetched = 1;
	snprintf(cy->etag, sizeof(cy->etag), "%s", f.etag);
	return 0;
}

/* fetch(), without the lock, which is taken again after: the state is
 * read anew then. 0 (locked), or 1 with the outcome set (locked if the
 * lock could be taken again: record() skips a cycle without it). */
static int
fetch_unlocked(struct cycle *cy, struct err *e)
{
	struct err le = { 0, "" };
	int r, rf;

	device_unlock(cy->d);
	rf = fetch(cy, e);
	if ((r = device_lock(cy->d, &le)) < 0) {
		if (rf == 0)
			outcome(cy, exitcode_for(FAIL_OTHER, r), "%s: the "
			    "channel is fetched again next cycle", le.msg);
		return 1;
	}
	return rf;
}

/* Signature, chain, expiry, and no going back. 0, or 1 refused. */
static int
check(struct cycle *cy, struct err *e)
{
	const struct config *cfg = cy->d->config;
	const struct state *s = cy->d->state;
	int r;

	if ((r = keyfiles_load(cfg->channel_keyring != NULL ?
	    cfg->channel_keyring : cfg->keyring_path, cfg->keyring_crl,
	    &cy->k, e)) < 0) {
		outcome(cy, exitcode_for(FAIL_CONFIG, r), "error: %s",
		    e->msg);
		return 1;
	}
	if ((r = channel_open((const uint8_t *)cy->buf, cy->len, cy->k,
	    &cy->c, cy->id, NULL, 0, e)) < 0 ||
	    (r = channel_check_fresh(cy->c, (int64_t)time(NULL), e)) < 0) {
		outcome(cy, exitcode_for(FAIL_CHANNEL, r), "refused: %s: %s",
		    cy->d->config->server_channel, e->msg);
		refused(cy, NULL);
		return 1;
	}
	if (cy->c->version < s->channel_version)
		r = err_set(e, -ESTALE, "channel %s version %ju is older than "
		    "version %ju accepted at %s (a freeze or a replay)",
		    cy->c->name, (uintmax_t)cy->c->version,
		    (uintmax_t)s->channel_version, or_dash(s->channel_accepted));
	else if (cy->c->version == s->channel_version &&
	    s->channel_id != NULL && strcmp(cy->id, s->channel_id) != 0)
		r = err_set(e, -ESTALE, "channel %s version %ju was accepted "
		    "with another channel id (%.16s...): the same version "
		    "signed again", cy->c->name, (uintmax_t)cy->c->version,
		    s->channel_id);
	if (r < 0) {
		outcome(cy, exitcode_for(FAIL_CHANNEL, r), "refused: %s",
		    e->msg);
		refused(cy, NULL);
		return 1;
	}
	return 0;
}

/* A new channel is kept (DATA/channel.upc first: the ETag in state.json
 * must never name a file that is not there) and recorded. */
static int
accept_channel(struct cycle *cy, struct err *e)
{
	struct state *s = cy->d->state;
	char now[32];
	int r;

	if (!cy->fetched)
		return 0;
	if (!str_is(s->channel_id, cy->id)) {
		time_rfc3339(now);
		if ((r = mkdir_p(cy->d->config->data_directory, 0755,
		    e)) < 0 ||
		    (r = file_write_atomic(cy->path, cy->buf, cy->len, 0644,
		    e)) < 0 ||
		    (r = state_set(&s->channel_name, cy->c->name, e)) < 0 ||
		    (r = state_set(&s->channel_id, cy->id, e)) < 0 ||
		    (r = state_set(&s->channel_accepted, now, e)) < 0)
			return r;
		s->channel_version = cy->c->version;
		cli_info("daemon", "accepted channel %s version "
		    "%ju (%s)", cy->c->name, (uintmax_t)cy->c->version,
		    cy->id);
	}
	return state_set(&s->channel_etag, cy->etag[0] != '\0' ? cy->etag :
	    NULL, e);
}

/* Whether this device takes cy->rel now: 1 to install, 0 with the
 * outcome set. */
static int
select_release(struct cycle *cy, struct err *e)
{
	const struct config *cfg = cy->d->config;
	const struct state *s = cy->d->state;
	char booted = cy->d->booted, other = booted == 'A' ? 'B' : 'A';
	const struct state_slot *run = &s->slot[state_slot_index(booted)];
	const struct state_slot *next = &s->slot[state_slot_index(other)];
	const struct channel_release *rel;
	char devid[CONFIG_DEVICE_ID_MAX + 1], pct[16];
	int r;

	if ((rel = cy->rel = channel_find(cy->c, cfg->compatible)) == NULL) {
		outcome(cy, EXIT_OK, "nothing new: channel %s version %ju has "
		    "no release for %s", cy->c->name,
		    (uintmax_t)cy->c->version, cfg->compatible);
		return 0;
	}
	bundle_hex(rel->bundle_id, 32, cy->bid);
	if (str_is(run->version, rel->version))
		outcome(cy, EXIT_OK, "nothing new: %s is running (slot %c)",
		    rel->version, booted);
	else if (str_is(next->status, "trial") &&
	    str_is(next->version, rel->version))
		outcome(cy, EXIT_OK, "nothing new: %s is installed in slot %c "
		    "and boots next", rel->version, other);
	else if (state_failed(s, cy->bid))
		outcome(cy, EXIT_OK, "skipped: %s (bundle %s) rolled back on "
		    "this device", rel->version, cy->bid);
	else if ((r = device_id_get(cfg, devid, sizeof(devid), e)) < 0)
		outcome(cy, exitcode_for(FAIL_CONFIG, r), "error: %s", e->msg);
	else if (!rollout_selected(devid, rel->bundle_id, rel->rollout)) {
		channel_rollout_format(rel->rollout, pct);
		outcome(cy, EXIT_OK, "not selected: %s is rolled out to %s%% "
		    "of devices, not yet to %s (bucket %u of %u)",
		    rel->version, pct, devid,
		    rollout_bucket(devid, rel->bundle_id), ROLLOUT_BUCKETS);
	} else if (daemon_url_resolve(cfg->server_channel, rel->url, cy->url,
	    sizeof(cy->url)) < 0) {
		outcome(cy, EXIT_BUNDLE, "refused: release %s: url %s cannot "
		    "be resolved against %s", rel->version, rel->url,
		    cfg->server_channel);
		refused(cy, rel->version);
	} else
		return 1;
	return 0;
}

/* When rel's install window is next open, from now (seconds since the
 * epoch): now itself without a window or inside it, else the first
 * minute that is. */
static int64_t
window_opens(const struct channel_release *rel, int64_t now)
{
	uint32_t m = (uint32_t)((now % 86400) / 60), i;

	if (!rel->has_window || channel_window_open(rel, m))
		return now;
	for (i = 1; i < 1440; i++)
		if (channel_window_open(rel, (m + i) % 1440))
			return now - now % 60 + (int64_t)i * 60;
	return now;
}

/* Saves the outcome first: a reboot that works does not return. */
static void
reboot(struct cycle *cy, struct err *e)
{
	int r;

	record(cy);
	if (cy->o->no_reboot)
		return;
	cli_info("daemon", "rebooting");
	if ((r = device_reboot(e)) < 0)
		outcome(cy, exitcode_for(FAIL_OTHER, r), "error: %s", e->msg);
}

/* A release armed by an earlier cycle waits for its window: 1 once it
 * has opened (and the reboot was asked for), else 0. */
static int
reboot_due(struct cycle *cy, struct err *e)
{
	struct state *s = cy->d->state;
	char other = cy->d->booted == 'A' ? 'B' : 'A';

	if (s->reboot_at == 0 || (int64_t)s->reboot_at > (int64_t)time(NULL))
		return 0;
	s->reboot_at = 0;
	if (!str_is(s->slot[state_slot_index(other)].status, "trial"))
		return 0;
	outcome(cy, EXIT_INSTALLED, "installed %s in slot %c: its install "
	    "window is open%s", or_dash(s->slot[state_slot_index(other)].
	    version), other, cy->o->no_reboot ? "; reboot skipped "
	    "(--no-reboot)" : "");
	reboot(cy, e);
	return 1;
}

/* The outcome of update_run() that ended with r (not 0). */
static void
install_failed(struct cycle *cy, int r, const struct err *ue)
{
	if (r > 128)
		outcome(cy, r, "interrupted: the install of %s stopped at a "
		    "chunk boundary; the next cycle resumes it",
		    cy->rel->version);
	else if (r == EXIT_POLICY)
		outcome(cy, r, "refused: %s", ue->msg);
	else
		outcome(cy, r, "install failed: %s", ue->msg);
}

/* The install, without the lock (update_run() takes it), then the
 * reboot if the window allows. */
static void
install(struct cycle *cy, struct err *e)
{
	const struct channel_release *rel = cy->rel;
	struct state *s = cy->d->state;
	struct update_opts uo;
	struct err ue = { 0, "" };
	char target = cy->d->booted == 'A' ? 'B' : 'A', when[21];
	int64_t now, at;
	int r, r2;

	if ((r = state_set(&s->pending_bundle, cy->bid, e)) < 0 ||
	    (r = state_set(&s->pending_version, rel->version, e)) < 0) {
		outcome(cy, exitcode_for(FAIL_OTHER, r), "error: %s", e->msg);
		return;
	}
	outcome(cy, EXIT_OK, "installing %s from %s", rel->version, cy->url);
	record(cy);
	device_free(cy->d);
	cy->d = NULL;
	memset(&uo, 0, sizeof(uo));
	uo.config = cy->o->config;
	uo.from = cy->url;
	uo.no_reboot = 1;
	uo.progress = PROGRESS_LINES;
	uo.expect_id = cy->bid;
	uo.expect_size = rel->size;
	uo.err = &ue;
	r = update_run(&uo);
	fflush(stdout);
	if ((r2 = open_locked(cy, e)) != 0) {
		cli_error("daemon", "%s", e->msg);
		cy->code = r != 0 ? r : r2;
		return;
	}
	if (r != 0) {
		/* Not armed: nothing waits for a commit or a rollback. */
		s = cy->d->state;
		if ((r2 = state_set(&s->pending_bundle, NULL, e)) < 0 ||
		    (r2 = state_set(&s->pending_version, NULL, e)) < 0)
			cli_warn("daemon", "%s", e->msg);
		install_failed(cy, r, &ue);
		return;
	}
	now = (int64_t)time(NULL);
	if ((at = window_opens(rel, now)) == now) {
		outcome(cy, EXIT_INSTALLED, "installed %s into slot %c%s",
		    rel->version, target, cy->o->no_reboot ? "; reboot "
		    "skipped (--no-reboot)" : "");
		reboot(cy, e);
		return;
	}
	cy->d->state->reboot_at = (uint64_t)at;
	channel_time_format(at, when);
	outcome(cy, EXIT_INSTALLED, "installed %s into slot %c; reboot at %s, "
	    "when its install window opens", rel->version, target, when);
}

/*
 * Reports (docs/reports.md): the outbox is sent once per cycle, after the
 * cycle's state is saved, so this cycle's own install-failed report and
 * those health, commit and rollback left since go too. A failure is one
 * line and changes nothing: the reports wait for the next cycle, and the
 * cycle's outcome and exit code stay what they were. Without
 * [server] report-url they wait in the outbox, as documented.
 */
static void
send_reports(const struct config *cfg)
{
	struct outbox_sent st;
	struct err e = { 0, "" };

	if (cfg->report_url == NULL)
		return;
	if (outbox_send(cfg, &st, &e) < 0)
		cli_warn("daemon", "report send: %s (%u "
		    "sent, %u left in the outbox)", e.msg, st.sent, st.left);
	else if (st.bad > 0)
		cli_warn("daemon", "report send: %u "
		    "unreadable report%s dropped and counted", st.bad,
		    st.bad == 1 ? "" : "s");
}

static void
cycle_free(struct cycle *cy)
{
	channel_free(cy->c);
	keyring_free(cy->k);
	free(cy->buf);
	device_free(cy->d);
}

int
daemon_cycle(const struct daemon_opts *o)
{
	struct cycle cy;
	struct err e = { 0, "" };
	int r;

	memset(&cy, 0, sizeof(cy));
	cy.o = o;
	if ((r = open_locked(&cy, &e)) != 0) {
		cli_error("daemon", "%s", e.msg);
		cycle_free(&cy);
		return r;
	}
	if (cy.d->config->server_channel == NULL) {
		cli_error("daemon", "%s: [server] channel: missing "
		    "(the URL of the channel file to poll)",
		    cy.d->config->path);
		cycle_free(&cy);
		return EXIT_CONFIG;
	}
	snprintf(cy.path, sizeof(cy.path), "%s/%s",
	    cy.d->config->data_directory, DAEMON_CHANNEL_FILE);
	if ((r = settle(&cy, &e)) < 0)
		outcome(&cy, exitcode_for(FAIL_OTHER, r), "error: %s", e.msg);
	else if (reboot_due(&cy, &e))
		;
	else if (fetch_unlocked(&cy, &e) == 0 && check(&cy, &e) == 0) {
		if ((r = accept_channel(&cy, &e)) < 0)
			outcome(&cy, exitcode_for(FAIL_STATE, r), "error: %s",
			    e.msg);
		else if (select_release(&cy, &e))
			install(&cy, &e);
		/* A channel that verifies ends the refusals reported: the
		 * next one is news again. */
		if (!cy.refused && cy.d != NULL &&
		    state_set(&cy.d->state->refused, NULL, &e) < 0)
			cli_warn("daemon", "%s", e.msg);
	}
	if (cy.d != NULL) {
		record(&cy);
		device_unlock(cy.d);
		send_reports(cy.d->config);
	}
	r = cy.code;
	cycle_free(&cy);
	return r;
}

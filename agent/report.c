/*
 * agent/report: the report document and its way into the outbox
 * (report.h). The values come from state.json as the transition just
 * saved it, so a report says nothing that state.json does not.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent/cli.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/lifecycle.h"
#include "agent/outbox.h"
#include "agent/report.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "common/json.h"


const char *
report_result_name(enum report_result r)
{
	switch (r) {
	case REPORT_COMMITTED:
		return "committed";
	case REPORT_ROLLED_BACK:
		return "rolled-back";
	case REPORT_FELL_BACK:
		return "fell-back";
	case REPORT_INSTALL_FAILED:
		return "install-failed";
	case REPORT_REFUSED:
		return "refused";
	}
	return "?";
}

static int
add_str(cJSON *o, const char *key, const char *v)
{
	cJSON *it = v != NULL ? cJSON_CreateString(v) : cJSON_CreateNull();

	if (it == NULL || !cJSON_AddItemToObject(o, key, it)) {
		cJSON_Delete(it);
		return -1;
	}
	return 0;
}

/* A number of seconds, or null when unknown. */
static int
add_secs(cJSON *o, const char *key, int64_t v)
{
	if (v < 0)
		return cJSON_AddNullToObject(o, key) != NULL ? 0 : -1;
	return json_add_uint(o, key, (uint64_t)v);
}

static int
add_side(cJSON *root, const char *key, char slot, const char *version,
    const char *bundle)
{
	char sl[2] = { slot, '\0' };
	cJSON *o;

	if ((o = cJSON_AddObjectToObject(root, key)) == NULL ||
	    add_str(o, "slot", slot != 0 ? sl : NULL) < 0 ||
	    add_str(o, "version", version) < 0 ||
	    add_str(o, "bundle", bundle) < 0)
		return -1;
	return 0;
}

cJSON *
report_json(const struct report_doc *d)
{
	cJSON *root, *o;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	if (json_add_uint(root, "format", REPORT_FORMAT) < 0 ||
	    add_str(root, "device", d->device) < 0 ||
	    add_str(root, "compatible", d->compatible) < 0 ||
	    add_str(root, "result", report_result_name(d->result)) < 0 ||
	    add_str(root, "reason", d->reason) < 0 ||
	    add_str(root, "check", d->check) < 0 ||
	    add_side(root, "from", d->from_slot, d->from_version,
	    d->from_bundle) < 0 ||
	    add_side(root, "to", d->to_slot, d->to_version, d->to_bundle) < 0 ||
	    add_str(root, "time", d->time) < 0 ||
	    (o = cJSON_AddObjectToObject(root, "timings")) == NULL ||
	    add_str(o, "install_started", d->started) < 0 ||
	    add_str(o, "install_ended", d->ended) < 0 ||
	    add_secs(o, "arm_to_outcome_s", d->arm_to_outcome) < 0 ||
	    add_secs(o, "boot_to_outcome_s", d->boot_to_outcome) < 0 ||
	    (o = cJSON_AddObjectToObject(root, "bytes")) == NULL ||
	    json_add_uint(o, "fetched", d->fetched) < 0 ||
	    json_add_uint(o, "refetched", d->refetched) < 0) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Seconds from RFC 3339 time since to now; -1 if since is unknown. */
static int64_t
seconds_since(const char *since, time_t now)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (since == NULL || (end = strptime(since, "%Y-%m-%dT%H:%M:%SZ",
	    &tm)) == NULL || *end != '\0' || timegm(&tm) > now)
		return -1;
	return (int64_t)(now - timegm(&tm));
}

/* Seconds since this boot, from /proc/uptime; -1 if unknown. */
static int64_t
uptime(void)
{
	char buf[64];
	size_t len = 0;
	double up;

	(void)read_upto("/proc/uptime", buf, sizeof(buf) - 1, &len);
	buf[len] = '\0';
	if (sscanf(buf, "%lf", &up) != 1 || up < 0)
		return -1;
	return (int64_t)up;
}

/* Builds the report of doc and puts it into the outbox. */
static int
keep(struct device *d, const char *cmd, struct report_doc *doc)
{
	const struct config *c = d->config;
	struct err e = { 0, "" };
	char id[CONFIG_DEVICE_ID_MAX + 1];
	cJSON *j;
	int r;

	/* Without one, the report still goes, as "unknown". */
	if (device_id_get(c, id, sizeof(id), &e) < 0)
		snprintf(id, sizeof(id), "unknown");
	e = (struct err){ 0, "" };
	doc->device = id;
	doc->compatible = c->compatible;
	if ((j = report_json(doc)) == NULL)
		r = err_set(&e, -ENOMEM, "report lost: out of memory");
	else
		r = outbox_put(c->data_directory, (unsigned)c->outbox_max,
		    (uint64_t)c->outbox_max_kb * 1024, j, &e);
	cJSON_Delete(j);
	if (r < 0)
		cli_warn(cmd, "outbox: %s", e.msg);
	return r;
}

static int
report_outcome(struct device *d, const char *cmd, enum report_result result,
    char to_slot, const char *reason, const char *check)
{
	const struct state *s = d->state;
	char from_slot = to_slot == 'A' ? 'B' : 'A', now[32];
	const struct state_slot *to = &s->slot[state_slot_index(to_slot)];
	const struct state_slot *from = &s->slot[state_slot_index(from_slot)];
	struct report_doc doc;

	memset(&doc, 0, sizeof(doc));
	time_rfc3339(now);
	doc.result = result;
	doc.reason = reason;
	doc.check = check != NULL && check[0] != '\0' ? check : NULL;
	doc.from_slot = from_slot;
	doc.to_slot = to_slot;
	doc.from_version = from->version;
	doc.from_bundle = from->bundle;
	doc.to_version = to->version;
	doc.to_bundle = to->bundle;
	doc.time = now;
	doc.started = s->install_started;
	doc.ended = to->installed;
	doc.arm_to_outcome = seconds_since(to->installed, time(NULL));
	doc.boot_to_outcome = result == REPORT_INSTALL_FAILED ? -1 : uptime();
	doc.fetched = s->install_fetched;
	doc.refetched = s->install_refetched;
	return keep(d, cmd, &doc);
}

void
report_due(struct device *d, const char *cmd)
{
	static const enum report_result results[] = { REPORT_COMMITTED,
	    REPORT_ROLLED_BACK, REPORT_FELL_BACK };
	const struct state *s = d->state;
	struct err e = { 0, "" };
	size_t i;

	if (s->due_result == NULL)
		return;
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		if (strcmp(s->due_result, report_result_name(results[i])) == 0)
			break;
	/* An unknown result (a newer upkit's) or slot is dropped with the
	 * duty: it cannot be reported truthfully. */
	if (i < sizeof(results) / sizeof(results[0]) &&
	    s->due_slot != NULL && (s->due_slot[0] == 'A' ||
	    s->due_slot[0] == 'B') && s->due_slot[1] == '\0')
		(void)report_outcome(d, cmd, results[i], s->due_slot[0],
		    results[i] == REPORT_COMMITTED ? NULL : s->last_reason,
		    s->due_check);
	if (lifecycle_report_done(d, &e) < 0)
		cli_warn(cmd, "report due: %s", e.msg);
}

/* A report of what did not happen, from the slot that runs, at now
 * (RFC 3339, the caller's): no arm, no boot to time. */
static void
not_armed(struct device *d, struct report_doc *doc, enum report_result r,
    const char *reason, const char *now)
{
	const struct state_slot *from =
	    &d->state->slot[state_slot_index(d->booted)];

	memset(doc, 0, sizeof(*doc));
	doc->result = r;
	doc->reason = reason;
	doc->from_slot = d->booted;
	doc->from_version = from->version;
	doc->from_bundle = from->bundle;
	doc->time = now;
	doc->arm_to_outcome = doc->boot_to_outcome = -1;
}

int
report_install_failed(struct device *d, char target, const char *version,
    const char *bundle, const char *reason, const char *started,
    uint64_t fetched, uint64_t refetched)
{
	struct report_doc doc;
	char now[32];

	time_rfc3339(now);
	not_armed(d, &doc, REPORT_INSTALL_FAILED, reason, now);
	doc.to_slot = target;
	doc.to_version = version;
	doc.to_bundle = bundle;
	doc.started = started;
	doc.ended = now;
	doc.fetched = fetched;
	doc.refetched = refetched;
	return keep(d, "update", &doc);
}

int
report_refused(struct device *d, const char *version, const char *reason)
{
	struct report_doc doc;
	char now[32];

	time_rfc3339(now);
	not_armed(d, &doc, REPORT_REFUSED, reason, now);
	doc.to_version = version;
	return keep(d, "daemon", &doc);
}

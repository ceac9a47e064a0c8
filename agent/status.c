/*
 * upkit status: what the device runs and what it will boot next, from the
 * config, state.json and the bootloader env. Reads only; safe to run at
 * any time, including before the first update wrote anything, and never
 * waits for another upkit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/lifecycle.h"
#include "agent/outbox.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/json.h"

static const char *const type_names[] = {
	[SLOT_RAW] = "raw",
	[SLOT_FILES] = "files",
	[SLOT_UKI] = "uki",
};

enum { O_JSON = 256 };

static const struct cli_opt opts[] = {
	{ "json", O_JSON, NULL, "one JSON object instead of text" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_status = {
	"status", "[OPTIONS]",
	"Slots, boot env, next boot and last update",
	CLI_CONFIG, opts, cmd_status,
};

/*
 * What the install lock adds to state.json as device_open() reconciled
 * it with the env (agent/lifecycle.c). A state.json that still says
 * "installing" while no upkit holds DATA/lock was left by an update that
 * was killed (SIGKILL, a power cut) or could not record its end: if the
 * env still has the target out of BOOT_ORDER, the install was cut. An
 * arm stored with UPKIT_TRIAL never gets here (the reconcile recorded
 * it); one stored without it (an env an older upkit wrote) puts the
 * target first with attempts left, and only its record is missing.
 */
struct view {
	const struct device *d;
	const char	*result;	/* last_result, or what it means */
	const char	*reason;	/* last_reason, or an explanation */
	char		 armed;		/* an arm not recorded: its slot */
	char		 next;		/* the slot the boot script takes */
	int		 next_left;	/* its counter; 0: a fallback boot */
	char		 why[128];
	struct outbox_stat ob;		/* reports waiting, dropped */
	int		 ob_ok;		/* ob could be read */
};

/*
 * The boot script skips a slot that is out of BOOT_ORDER or has no
 * attempts left, so that is "bad" whatever state.json says; the env is
 * the truth about what boots next.
 */
static const char *
slot_state(const struct view *v, char bootname)
{
	const struct device *d = v->d;
	const char *status = d->state->slot[bootname - 'A'].status;

	if (strchr(d->boot.order, bootname) == NULL ||
	    d->boot.left[bootname - 'A'] == 0)
		return "bad";
	if (str_is(status, "trial") || v->armed == bootname)
		return "trial";
	return "good";
}

static const char *
slot_version(const struct view *v, char bootname)
{
	const char *ver = v->d->state->slot[bootname - 'A'].version;

	/* Cleared when the slot was marked bad for writing; the arm that
	 * followed carries the last update's version. */
	if (ver == NULL && v->armed == bootname)
		return v->d->state->last_version;
	return ver;
}

/*
 * Whether state.json says "installing" while no upkit holds DATA/lock
 * (device_lock()). The lock is probed with a shared lock that is never
 * waited for, and state.json is read again under it: an update that
 * ended between the first read and the probe is not reported as cut. An
 * update starting within that read fails at once as "another upkit is
 * installing", as with any other upkit holding the lock.
 */
static int
install_cut(struct device *d)
{
	struct state *s = NULL;
	struct err e = { 0, "" };
	char path[4096];
	int fd, cut;

	if (!str_is(d->state->last_result, "installing"))
		return 0;
	snprintf(path, sizeof(path), "%s/lock", d->config->data_directory);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT;	/* update creates it first */
	if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		close(fd);
		return 0;		/* held: the install is running */
	}
	/* The env wins over the state read now as over the first one. */
	if (state_load(d->config->data_directory, &s, &e) == 0) {
		state_free(d->state);
		d->state = s;
		(void)lifecycle_reconcile(d, &e);
	}
	cut = str_is(d->state->last_result, "installing");
	close(fd);
	return cut;
}

static void
view_init(struct view *v, struct device *d)
{
	const struct state *s;
	struct bootstate none;
	const char *t;

	memset(v, 0, sizeof(*v));
	v->d = d;
	if (install_cut(d)) {
		s = d->state;
		t = s->journal_target != NULL ? s->journal_target :
		    s->last_target;
		if (t != NULL && (t[0] == 'A' || t[0] == 'B') &&
		    t[1] == '\0' && strchr(d->boot.order, t[0]) != NULL &&
		    d->boot.left[t[0] - 'A'] > 0) {
			v->armed = t[0];
			v->result = "installed";
			v->reason = "armed, but state.json was not updated";
		} else {
			v->result = "interrupted";
			v->reason = "upkit stopped during the install; the "
			    "target stays marked bad";
		}
	}
	s = d->state;
	if (v->result == NULL) {
		v->result = s->last_result;
		v->reason = s->last_reason;
	}

	/* With no BOOT_ORDER in the env, the script sees an empty one:
	 * d->boot is only what the next env store will write. */
	memset(&none, 0, sizeof(none));
	v->next = bootstate_next(d->boot_unset ? &none : &d->boot,
	    &v->next_left);
	if (d->boot_unset)
		snprintf(v->why, sizeof(v->why), "fallback boot: the env "
		    "has no BOOT_ORDER");
	else if (v->next_left == 0)
		snprintf(v->why, sizeof(v->why), "fallback boot: no slot in "
		    "BOOT_ORDER has attempts left");
	else if (strcmp(slot_state(v, v->next), "trial") == 0)
		snprintf(v->why, sizeof(v->why), "trial of %s",
		    or_dash(slot_version(v, v->next)));
	else if (v->next == d->booted)
		snprintf(v->why, sizeof(v->why), "the booted slot");
	else
		snprintf(v->why, sizeof(v->why), "first in BOOT_ORDER with "
		    "attempts left");
}

/* The journal of an install that has not armed (interrupted, failed,
 * or running): how far the target is durable, where a rerun of the same
 * bundle resumes. NULL when there is none to show. */
static const struct state *
journal_of(const struct view *v)
{
	const struct state *s = v->d->state;

	if (s->journal_bundle == NULL || s->journal_total == 0 ||
	    v->armed != 0)
		return NULL;
	return s;
}

static void
print_journal(const struct view *v)
{
	const struct state *s;

	if ((s = journal_of(v)) == NULL)
		return;
	printf("                 chunk %" PRIu64 " of %" PRIu64 " durable "
	    "(%" PRIu64 " of %" PRIu64 " MiB): the same bundle resumes "
	    "there\n", s->journal_chunks, s->journal_total,
	    s->journal_bytes >> 20, s->journal_size >> 20);
}

static int
width(int w, const char *s)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

/* upkit daemon's channel and last poll, once it has polled. */
static void
print_daemon(const struct state *s)
{
	if (s->poll_time == NULL && s->channel_version == 0)
		return;
	if (s->channel_version != 0)
		printf("\nchannel:         %s version %" PRIu64 ", accepted %s\n",
		    or_dash(s->channel_name), s->channel_version,
		    or_dash(s->channel_accepted));
	else
		printf("\nchannel:         none accepted yet\n");
	printf("last poll:       %s: %s\n", or_dash(s->poll_time),
	    or_dash(s->poll_result));
}

static void
print_text(const struct view *v)
{
	const struct device *d = v->d;
	const struct config *c = d->config;
	const struct state *s = d->state;
	const struct slot *sl;
	char order[2 * BOOTENV_SLOTS];
	size_t i;
	int wn = 4, wc = 5, wd = 6, wv = 7;

	printf("compatible:      %s\n", c->compatible);
	printf("bootloader:      %s\n", c->bootloader);
	printf("booted:          %c\n", d->booted);
	if (d->boot_unset) {
		printf("BOOT_ORDER:      (not set yet: the boot script's "
		    "default)\n");
		printf("BOOT_A_LEFT:     (not set)\n");
		printf("BOOT_B_LEFT:     (not set)\n");
	} else {
		bootstate_order_format(&d->boot, order);
		printf("BOOT_ORDER:      %s\n", order);
		printf("BOOT_A_LEFT:     %d\n", d->boot.left[0]);
		printf("BOOT_B_LEFT:     %d\n", d->boot.left[1]);
	}
	printf("security floor:  %" PRIu64 "\n", s->security_floor);
	if (v->next_left > 0)
		printf("next boot:       %c, %s (%d attempt%s left)\n", v->next,
		    v->why, v->next_left, v->next_left == 1 ? "" : "s");
	else
		printf("next boot:       %c, %s\n", v->next, v->why);

	for (i = 0; i < c->nslots; i++) {
		sl = &c->slots[i];
		wn = width(wn, sl->name);
		wc = width(wc, sl->class);
		wd = width(wd, sl->device);
		wv = width(wv, or_dash(slot_version(v, sl->bootname)));
	}
	printf("\n%-*s  %-*s  BOOT  TYPE   %-*s  %-*s  STATE\n", wn, "SLOT",
	    wc, "CLASS", wd, "DEVICE", wv, "VERSION");
	for (i = 0; i < c->nslots; i++) {
		sl = &c->slots[i];
		printf("%-*s  %-*s  %-4c  %-5s  %-*s  %-*s  %s%s\n", wn,
		    sl->name, wc, sl->class, sl->bootname,
		    type_names[sl->type], wd, sl->device, wv,
		    or_dash(slot_version(v, sl->bootname)),
		    slot_state(v, sl->bootname),
		    sl->bootname == d->booted ? ", booted" : "");
	}

	if (v->ob_ok)
		printf("\noutbox:          %" PRIu64 " report%s waiting "
		    "(%" PRIu64 " bytes), %" PRIu64 " dropped\n", v->ob.count,
		    v->ob.count == 1 ? "" : "s", v->ob.bytes, v->ob.dropped);
	print_daemon(s);
	if (s->last_version == NULL && s->last_result == NULL)
		return;
	printf("\nlast update:     version %s, target %s, result %s\n",
	    or_dash(s->last_version), or_dash(s->last_target), or_dash(v->result));
	printf("                 reason %s, time %s\n", or_dash(v->reason),
	    or_dash(s->last_time));
	print_journal(v);
}

static int
add_string(cJSON *o, const char *key, const char *val)
{
	cJSON *it;

	it = val != NULL ? cJSON_CreateString(val) : cJSON_CreateNull();
	if (it == NULL || !cJSON_AddItemToObject(o, key, it)) {
		cJSON_Delete(it);
		return -1;
	}
	return 0;
}

static int
add_left(cJSON *o, const char *key, const struct device *d, int i)
{
	if (d->boot_unset)
		return cJSON_AddNullToObject(o, key) != NULL ? 0 : -1;
	return json_add_uint(o, key, (uint64_t)d->boot.left[i]);
}

/* "daemon": the same as print_daemon(), or null. */
static int
add_daemon(cJSON *root, const struct state *s)
{
	cJSON *o;

	if (s->poll_time == NULL && s->channel_version == 0)
		return cJSON_AddNullToObject(root, "daemon") != NULL ? 0 : -1;
	if ((o = cJSON_AddObjectToObject(root, "daemon")) == NULL ||
	    add_string(o, "channel", s->channel_name) < 0 ||
	    json_add_uint(o, "channel_version", s->channel_version) < 0 ||
	    add_string(o, "channel_id", s->channel_id) < 0 ||
	    add_string(o, "accepted", s->channel_accepted) < 0 ||
	    add_string(o, "poll_time", s->poll_time) < 0 ||
	    add_string(o, "poll_result", s->poll_result) < 0)
		return -1;
	return 0;
}

/* "journal": journal_of(), or null. */
static int
add_journal(cJSON *root, const struct view *v)
{
	const struct state *s;
	cJSON *o;

	if ((s = journal_of(v)) == NULL)
		return cJSON_AddNullToObject(root, "journal") != NULL ? 0 : -1;
	if ((o = cJSON_AddObjectToObject(root, "journal")) == NULL ||
	    add_string(o, "bundle", s->journal_bundle) < 0 ||
	    add_string(o, "target", s->journal_target) < 0 ||
	    json_add_uint(o, "chunks", s->journal_chunks) < 0 ||
	    json_add_uint(o, "total_chunks", s->journal_total) < 0 ||
	    json_add_uint(o, "bytes", s->journal_bytes) < 0 ||
	    json_add_uint(o, "total_bytes", s->journal_size) < 0)
		return -1;
	return 0;
}

/* Builds the --json object; NULL if out of memory. */
static cJSON *
build_json(const struct view *v)
{
	const struct device *d = v->d;
	const struct config *c = d->config;
	const struct state *s = d->state;
	const struct slot *sl;
	cJSON *root, *o, *arr;
	char order[2 * BOOTENV_SLOTS], buf[32];
	size_t i;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	bootstate_order_format(&d->boot, order);
	snprintf(buf, sizeof(buf), "%c", d->booted);
	if (add_string(root, "compatible", c->compatible) < 0 ||
	    add_string(root, "bootloader", c->bootloader) < 0 ||
	    add_string(root, "booted", buf) < 0 ||
	    add_string(root, "boot_order", d->boot_unset ? NULL : order) < 0 ||
	    (o = cJSON_AddObjectToObject(root, "boot_left")) == NULL ||
	    add_left(o, "A", d, 0) < 0 || add_left(o, "B", d, 1) < 0)
		goto fail;
	if (json_add_uint(root, "security_floor", s->security_floor) < 0)
		goto fail;
	snprintf(buf, sizeof(buf), "%c", v->next);
	if ((o = cJSON_AddObjectToObject(root, "next_boot")) == NULL ||
	    add_string(o, "slot", buf) < 0 ||
	    cJSON_AddBoolToObject(o, "trial",
	    strcmp(slot_state(v, v->next), "trial") == 0 &&
	    v->next_left > 0) == NULL ||
	    cJSON_AddBoolToObject(o, "fallback", v->next_left == 0) == NULL ||
	    json_add_uint(o, "attempts_left", (uint64_t)v->next_left) < 0 ||
	    add_string(o, "why", v->why) < 0 ||
	    (arr = cJSON_AddArrayToObject(root, "slots")) == NULL)
		goto fail;
	for (i = 0; i < c->nslots; i++) {
		sl = &c->slots[i];
		snprintf(buf, sizeof(buf), "%c", sl->bootname);
		if ((o = cJSON_CreateObject()) == NULL)
			goto fail;
		if (!cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto fail;
		}
		if (add_string(o, "name", sl->name) < 0 ||
		    add_string(o, "class", sl->class) < 0 ||
		    add_string(o, "bootname", buf) < 0 ||
		    add_string(o, "type", type_names[sl->type]) < 0 ||
		    add_string(o, "device", sl->device) < 0 ||
		    add_string(o, "version", slot_version(v, sl->bootname)) <
		    0 ||
		    add_string(o, "state", slot_state(v, sl->bootname)) < 0 ||
		    cJSON_AddBoolToObject(o, "booted",
		    sl->bootname == d->booted) == NULL)
			goto fail;
	}
	if (add_journal(root, v) < 0 || add_daemon(root, s) < 0)
		goto fail;
	if (!v->ob_ok) {
		if (cJSON_AddNullToObject(root, "outbox") == NULL)
			goto fail;
	} else if ((o = cJSON_AddObjectToObject(root, "outbox")) == NULL ||
	    json_add_uint(o, "reports", v->ob.count) < 0 ||
	    json_add_uint(o, "bytes", v->ob.bytes) < 0 ||
	    json_add_uint(o, "dropped", v->ob.dropped) < 0)
		goto fail;
	if (s->last_version == NULL && s->last_result == NULL) {
		if (cJSON_AddNullToObject(root, "last_update") == NULL)
			goto fail;
		return root;
	}
	if ((o = cJSON_AddObjectToObject(root, "last_update")) == NULL ||
	    add_string(o, "version", s->last_version) < 0 ||
	    add_string(o, "target", s->last_target) < 0 ||
	    add_string(o, "result", v->result) < 0 ||
	    add_string(o, "reason", v->reason) < 0 ||
	    add_string(o, "time", s->last_time) < 0)
		goto fail;
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

static int
print_json(const struct view *v)
{
	cJSON *root;
	char *text;

	if ((root = build_json(v)) == NULL)
		return -1;
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (text == NULL)
		return -1;
	printf("%s\n", text);
	cJSON_free(text);
	return 0;
}

int
cmd_status(int argc, char **argv)
{
	struct device *d = NULL;
	struct view v;
	struct cli_parse p;
	struct err e = { 0, "" };
	enum device_stage stage = DEVICE_CONFIG;
	int json = 0, rc;

	cli_begin(&p, &cli_status, argc, argv);
	while (cli_next(&p) != -1)
		json = 1;
	if ((rc = cli_end(&p, 0, 0, NULL)) >= 0)
		return rc;
	if (device_open(config_path(cli.config), &d, &stage, &e) < 0) {
		cli_error(p.cmd->name, "%s", e.msg);
		/* The same code as every device command for the same fault:
		 * a bad upkit.slot= on the cmdline is EXIT_CONFIG. */
		return device_exit_code(stage);
	}
	view_init(&v, d);
	/* An outbox that cannot be read is shown as unknown: status is
	 * about what boots, which it does not change. */
	v.ob_ok = outbox_stat(d->config->data_directory, &v.ob, &e) == 0;
	rc = EXIT_OK;
	if (json) {
		if (print_json(&v) < 0) {
			cli_error(p.cmd->name, "out of memory");
			rc = exitcode_for(FAIL_OTHER, 0);
		}
	} else
		print_text(&v);
	if (fflush(stdout) == EOF) {
		cli_error(p.cmd->name, "stdout: %s", strerror(errno));
		rc = exitcode_for(FAIL_OTHER, 0);
	}
	device_free(d);
	return rc;
}

/*
 * agent/state: DATA/state.json with cJSON. Unknown keys are ignored so an
 * older agent can read a newer file after a rollback; a known key with
 * the wrong type makes the whole file -EBADMSG, since acting on half a
 * state (a lost security floor, say) is worse than stopping.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "agent/state.h"
#include "common/err.h"
#include "common/io.h"
#include "common/json.h"

#define STATE_MAX_SIZE	(1024 * 1024)
/* cJSON keeps numbers as doubles: integers above 2^53 would not round
 * trip, so they are refused in both directions. */
#define STATE_INT_MAX	(UINT64_C(1) << 53)

static const char *const bootnames[2] = { "A", "B" };

struct load {
	const char	*path;
	struct err	*e;
};

static int
bad(struct load *l, const char *obj, const char *key, const char *what)
{
	return err_set(l->e, -EBADMSG, "%s: %s%s%s: %s", l->path, obj,
	    obj[0] != '\0' ? "." : "", key, what);
}

/* A missing key or null leaves *field NULL. */
static int
get_string(struct load *l, const cJSON *obj, const char *objname,
    const char *key, char **field)
{
	const cJSON *it;

	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return bad(l, objname, key, "not a string");
	if ((*field = strdup(it->valuestring)) == NULL)
		return err_set(l->e, -ENOMEM, "%s: out of memory", l->path);
	return 0;
}

static int
get_uint(struct load *l, const cJSON *obj, const char *objname,
    const char *key, uint64_t *field)
{
	const cJSON *it;
	double d;

	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it))
		return bad(l, objname, key, "not a number");
	d = it->valuedouble;
	if (!(d >= 0 && d <= (double)STATE_INT_MAX) || d != (double)(uint64_t)d)
		return bad(l, objname, key, "not an integer from 0 to 2^53");
	*field = (uint64_t)d;
	return 0;
}

/* A missing key or null gives NULL; anything else must be an object. */
static int
get_object(struct load *l, const cJSON *obj, const char *objname,
    const char *key, const cJSON **itp)
{
	const cJSON *it;

	*itp = NULL;
	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsObject(it))
		return bad(l, objname, key, "not an object");
	*itp = it;
	return 0;
}

/* The install journal (state.h); every field optional. */
static int
decode_journal(struct load *l, const cJSON *jr, struct state *s)
{
	int r;

	if ((r = get_string(l, jr, "journal", "bundle",
	    &s->journal_bundle)) < 0 ||
	    (r = get_string(l, jr, "journal", "target",
	    &s->journal_target)) < 0 ||
	    (r = get_string(l, jr, "journal", "storage",
	    &s->journal_storage)) < 0 ||
	    (r = get_uint(l, jr, "journal", "chunks",
	    &s->journal_chunks)) < 0 ||
	    (r = get_uint(l, jr, "journal", "total_chunks",
	    &s->journal_total)) < 0 ||
	    (r = get_uint(l, jr, "journal", "bytes",
	    &s->journal_bytes)) < 0 ||
	    (r = get_uint(l, jr, "journal", "total_bytes",
	    &s->journal_size)) < 0 ||
	    (r = get_uint(l, jr, "journal", "fetched",
	    &s->journal_fetched)) < 0 ||
	    (r = get_uint(l, jr, "journal", "refetched",
	    &s->journal_refetched)) < 0 ||
	    (r = get_uint(l, jr, "journal", "reach",
	    &s->journal_reach)) < 0)
		return r;
	return 0;
}

/* The outcome waiting for its report (state.h). */
static int
decode_due(struct load *l, const cJSON *o, struct state *s)
{
	int r;

	if ((r = get_string(l, o, "report_due", "result",
	    &s->due_result)) < 0 ||
	    (r = get_string(l, o, "report_due", "slot", &s->due_slot)) < 0 ||
	    (r = get_string(l, o, "report_due", "check", &s->due_check)) < 0)
		return r;
	return 0;
}

/* The last armed install (state.h); every field optional. */
static int
decode_install(struct load *l, const cJSON *in, struct state *s)
{
	int r;

	if ((r = get_string(l, in, "install", "started",
	    &s->install_started)) < 0 ||
	    (r = get_uint(l, in, "install", "fetched",
	    &s->install_fetched)) < 0 ||
	    (r = get_uint(l, in, "install", "refetched",
	    &s->install_refetched)) < 0)
		return r;
	return 0;
}

/* "failed_bundles": an array of strings, at most STATE_FAILED_MAX. */
static int
decode_failed(struct load *l, const cJSON *d, struct state *s)
{
	const cJSON *a, *it;

	a = cJSON_GetObjectItemCaseSensitive(d, "failed_bundles");
	if (a == NULL || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return bad(l, "daemon", "failed_bundles", "not an array");
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it) || it->valuestring == NULL)
			return bad(l, "daemon", "failed_bundles",
			    "not an array of strings");
		if (state_add_failed(s, it->valuestring, l->e) < 0)
			return l->e->code;
	}
	return 0;
}

/* The daemon's object (state.h); every field optional. */
static int
decode_daemon(struct load *l, const cJSON *d, struct state *s)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} strs[] = {
		{ "channel", offsetof(struct state, channel_name) },
		{ "channel_id", offsetof(struct state, channel_id) },
		{ "accepted", offsetof(struct state, channel_accepted) },
		{ "etag", offsetof(struct state, channel_etag) },
		{ "poll_time", offsetof(struct state, poll_time) },
		{ "poll_result", offsetof(struct state, poll_result) },
		{ "pending_bundle", offsetof(struct state, pending_bundle) },
		{ "pending_version", offsetof(struct state, pending_version) },
		{ "refused", offsetof(struct state, refused) },
	};
	size_t i;
	int r;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((r = get_string(l, d, "daemon", strs[i].key,
		    (char **)((char *)s + strs[i].off))) < 0)
			return r;
	if ((r = get_uint(l, d, "daemon", "channel_version",
	    &s->channel_version)) < 0 ||
	    (r = get_uint(l, d, "daemon", "reboot_at", &s->reboot_at)) < 0)
		return r;
	return decode_failed(l, d, s);
}

static int
decode(struct load *l, const cJSON *root, struct state *s)
{
	const cJSON *slots, *slot, *last, *jr;
	char name[16];
	size_t i;
	int r;

	if (!cJSON_IsObject(root))
		return err_set(l->e, -EBADMSG, "%s: not a JSON object",
		    l->path);
	if ((r = get_uint(l, root, "", "security_floor",
	    &s->security_floor)) < 0 ||
	    (r = get_object(l, root, "", "slots", &slots)) < 0)
		return r;
	for (i = 0; slots != NULL && i < 2; i++) {
		if ((r = get_object(l, slots, "slots", bootnames[i],
		    &slot)) < 0)
			return r;
		if (slot == NULL)
			continue;
		snprintf(name, sizeof(name), "slots.%s", bootnames[i]);
		if ((r = get_string(l, slot, name, "version",
		    &s->slot[i].version)) < 0 ||
		    (r = get_string(l, slot, name, "status",
		    &s->slot[i].status)) < 0 ||
		    (r = get_uint(l, slot, name, "security_version",
		    &s->slot[i].security_version)) < 0 ||
		    (r = get_string(l, slot, name, "installed",
		    &s->slot[i].installed)) < 0 ||
		    (r = get_string(l, slot, name, "bundle",
		    &s->slot[i].bundle)) < 0)
			return r;
	}
	if ((r = get_object(l, root, "", "last_update", &last)) < 0)
		return r;
	if (last != NULL &&
	    ((r = get_string(l, last, "last_update", "version",
	    &s->last_version)) < 0 ||
	    (r = get_string(l, last, "last_update", "target",
	    &s->last_target)) < 0 ||
	    (r = get_string(l, last, "last_update", "result",
	    &s->last_result)) < 0 ||
	    (r = get_string(l, last, "last_update", "reason",
	    &s->last_reason)) < 0 ||
	    (r = get_string(l, last, "last_update", "time",
	    &s->last_time)) < 0))
		return r;
	if ((r = get_object(l, root, "", "journal", &jr)) < 0 ||
	    (jr != NULL && (r = decode_journal(l, jr, s)) < 0))
		return r;
	if ((r = get_object(l, root, "", "install", &jr)) < 0 ||
	    (jr != NULL && (r = decode_install(l, jr, s)) < 0))
		return r;
	if ((r = get_object(l, root, "", "report_due", &jr)) < 0 ||
	    (jr != NULL && (r = decode_due(l, jr, s)) < 0))
		return r;
	if ((r = get_object(l, root, "", "daemon", &jr)) < 0)
		return r;
	return jr != NULL ? decode_daemon(l, jr, s) : 0;
}

int
state_parse(const char *name, const char *text, size_t len,
    struct state **sp, struct err *e)
{
	struct state *s;
	struct load l;
	cJSON *root = NULL;
	char *buf;
	int r;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (buf = malloc(len + 1)) == NULL) {
		free(s);
		return err_set(e, -ENOMEM, "%s: out of memory", name);
	}
	/* len + 1 takes in the NUL, which is what cJSON checks for to
	 * refuse trailing garbage. */
	memcpy(buf, text, len);
	buf[len] = '\0';
	if ((root = cJSON_ParseWithLengthOpts(buf, len + 1, NULL, 1)) ==
	    NULL) {
		r = err_set(e, -EBADMSG, "%s: not valid JSON (near byte %td)",
		    name, cJSON_GetErrorPtr() != NULL ?
		    cJSON_GetErrorPtr() - buf : (ptrdiff_t)0);
		goto fail;
	}
	l.path = name;
	l.e = e;
	if ((r = decode(&l, root, s)) < 0)
		goto fail;
	cJSON_Delete(root);
	free(buf);
	*sp = s;
	return 0;
fail:
	cJSON_Delete(root);
	free(buf);
	state_free(s);
	return r;
}

int
state_load(const char *dir, struct state **sp, struct err *e)
{
	char path[4096], *text = NULL;
	size_t len;
	int r;

	*sp = NULL;
	if (snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE) >=
	    (int)sizeof(path))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
	if ((r = file_read(path, STATE_MAX_SIZE, &text, &len, e)) < 0) {
		/* Before the first install there is no state: that is not
		 * an error. A missing data directory is the same case. */
		if (r != -ENOENT)
			return r;
		if ((*sp = calloc(1, sizeof(**sp))) == NULL)
			return err_set(e, -ENOMEM, "%s: out of memory", path);
		return 0;
	}
	r = state_parse(path, text, len, sp, e);
	free(text);
	return r;
}

static int
add_string(cJSON *obj, const char *key, const char *val)
{
	cJSON *it;

	it = val != NULL ? cJSON_CreateString(val) : cJSON_CreateNull();
	if (it == NULL)
		return -1;
	if (!cJSON_AddItemToObject(obj, key, it)) {
		cJSON_Delete(it);
		return -1;
	}
	return 0;
}

static int
check_uint(const char *path, const char *key, uint64_t val, struct err *e)
{
	if (val > STATE_INT_MAX)
		return err_set(e, -ERANGE, "%s: %s: %" PRIu64 " is above 2^53",
		    path, key, val);
	return 0;
}

/* The daemon's object, when it has polled once. */
static int
encode_daemon(cJSON *root, const struct state *s)
{
	cJSON *o, *a, *it;
	size_t i;

	if (s->poll_time == NULL && s->channel_version == 0 &&
	    s->nfailed == 0 && s->pending_bundle == NULL &&
	    s->refused == NULL)
		return 0;
	if ((o = cJSON_AddObjectToObject(root, "daemon")) == NULL ||
	    add_string(o, "channel", s->channel_name) < 0 ||
	    json_add_uint(o, "channel_version", s->channel_version) < 0 ||
	    add_string(o, "channel_id", s->channel_id) < 0 ||
	    add_string(o, "accepted", s->channel_accepted) < 0 ||
	    add_string(o, "etag", s->channel_etag) < 0 ||
	    add_string(o, "poll_time", s->poll_time) < 0 ||
	    add_string(o, "poll_result", s->poll_result) < 0 ||
	    add_string(o, "pending_bundle", s->pending_bundle) < 0 ||
	    add_string(o, "pending_version", s->pending_version) < 0 ||
	    add_string(o, "refused", s->refused) < 0 ||
	    json_add_uint(o, "reboot_at", s->reboot_at) < 0 ||
	    (a = cJSON_AddArrayToObject(o, "failed_bundles")) == NULL)
		return -1;
	for (i = 0; i < s->nfailed; i++) {
		if ((it = cJSON_CreateString(s->failed[i])) == NULL)
			return -1;
		if (!cJSON_AddItemToArray(a, it)) {
			cJSON_Delete(it);
			return -1;
		}
	}
	return 0;
}

/* Builds the JSON text; NULL if out of memory. */
static char *
encode(const struct state *s)
{
	cJSON *root, *slots, *slot, *o;
	char *text = NULL;
	size_t i;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	if (json_add_uint(root, "security_floor", s->security_floor) < 0 ||
	    (slots = cJSON_AddObjectToObject(root, "slots")) == NULL)
		goto out;
	for (i = 0; i < 2; i++) {
		if ((slot = cJSON_AddObjectToObject(slots, bootnames[i])) ==
		    NULL ||
		    add_string(slot, "version", s->slot[i].version) < 0 ||
		    add_string(slot, "status", s->slot[i].status) < 0 ||
		    json_add_uint(slot, "security_version",
		    s->slot[i].security_version) < 0 ||
		    add_string(slot, "installed", s->slot[i].installed) < 0 ||
		    (s->slot[i].bundle != NULL &&
		    add_string(slot, "bundle", s->slot[i].bundle) < 0))
			goto out;
	}
	if (s->last_version != NULL || s->last_target != NULL ||
	    s->last_result != NULL || s->last_reason != NULL ||
	    s->last_time != NULL) {
		if ((o = cJSON_AddObjectToObject(root, "last_update")) ==
		    NULL ||
		    add_string(o, "version", s->last_version) < 0 ||
		    add_string(o, "target", s->last_target) < 0 ||
		    add_string(o, "result", s->last_result) < 0 ||
		    add_string(o, "reason", s->last_reason) < 0 ||
		    add_string(o, "time", s->last_time) < 0)
			goto out;
	}
	if (s->journal_bundle != NULL || s->journal_target != NULL ||
	    s->journal_storage != NULL || s->journal_chunks != 0 ||
	    s->journal_total != 0 || s->journal_fetched != 0 ||
	    s->journal_refetched != 0 || s->journal_reach != 0) {
		if ((o = cJSON_AddObjectToObject(root, "journal")) == NULL ||
		    add_string(o, "bundle", s->journal_bundle) < 0 ||
		    add_string(o, "target", s->journal_target) < 0 ||
		    add_string(o, "storage", s->journal_storage) < 0 ||
		    json_add_uint(o, "chunks", s->journal_chunks) < 0 ||
		    json_add_uint(o, "total_chunks", s->journal_total) < 0 ||
		    json_add_uint(o, "bytes", s->journal_bytes) < 0 ||
		    json_add_uint(o, "total_bytes", s->journal_size) < 0 ||
		    json_add_uint(o, "fetched", s->journal_fetched) < 0 ||
		    json_add_uint(o, "refetched", s->journal_refetched) < 0 ||
		    json_add_uint(o, "reach", s->journal_reach) < 0)
			goto out;
	}
	if (s->install_started != NULL || s->install_fetched != 0) {
		if ((o = cJSON_AddObjectToObject(root, "install")) == NULL ||
		    add_string(o, "started", s->install_started) < 0 ||
		    json_add_uint(o, "fetched", s->install_fetched) < 0 ||
		    json_add_uint(o, "refetched", s->install_refetched) < 0)
			goto out;
	}
	if (s->due_result != NULL &&
	    ((o = cJSON_AddObjectToObject(root, "report_due")) == NULL ||
	    add_string(o, "result", s->due_result) < 0 ||
	    add_string(o, "slot", s->due_slot) < 0 ||
	    add_string(o, "check", s->due_check) < 0))
		goto out;
	if (encode_daemon(root, s) < 0)
		goto out;
	text = cJSON_Print(root);
out:
	cJSON_Delete(root);
	return text;
}

int
state_save(const char *dir, const struct state *s, struct err *e)
{
	char path[4096], *text = NULL, *buf = NULL;
	size_t len;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE) >=
	    (int)sizeof(path))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
	if ((r = check_uint(path, "security_floor", s->security_floor,
	    e)) < 0 ||
	    (r = check_uint(path, "slots.A.security_version",
	    s->slot[0].security_version, e)) < 0 ||
	    (r = check_uint(path, "slots.B.security_version",
	    s->slot[1].security_version, e)) < 0 ||
	    (r = check_uint(path, "journal.chunks", s->journal_chunks,
	    e)) < 0 ||
	    (r = check_uint(path, "journal.total_chunks", s->journal_total,
	    e)) < 0 ||
	    (r = check_uint(path, "journal.bytes", s->journal_bytes, e)) < 0 ||
	    (r = check_uint(path, "journal.total_bytes", s->journal_size,
	    e)) < 0 ||
	    (r = check_uint(path, "journal.fetched", s->journal_fetched,
	    e)) < 0 ||
	    (r = check_uint(path, "journal.refetched", s->journal_refetched,
	    e)) < 0 ||
	    (r = check_uint(path, "journal.reach", s->journal_reach, e)) < 0 ||
	    (r = check_uint(path, "install.fetched", s->install_fetched,
	    e)) < 0 ||
	    (r = check_uint(path, "install.refetched", s->install_refetched,
	    e)) < 0 ||
	    (r = check_uint(path, "daemon.channel_version",
	    s->channel_version, e)) < 0 ||
	    (r = check_uint(path, "daemon.reboot_at", s->reboot_at, e)) < 0)
		return r;
	if ((text = encode(s)) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	len = strlen(text);
	if ((buf = malloc(len + 2)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	memcpy(buf, text, len);
	buf[len++] = '\n';
	if ((r = mkdir_p(dir, 0755, e)) < 0 ||
	    (r = file_write_atomic(path, buf, len, 0644, e)) < 0)
		err_prefix(e, "save state");
out:
	free(buf);
	cJSON_free(text);
	return r;
}

void
state_free(struct state *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < 2; i++) {
		free(s->slot[i].version);
		free(s->slot[i].status);
		free(s->slot[i].installed);
		free(s->slot[i].bundle);
	}
	free(s->last_version);
	free(s->last_target);
	free(s->last_result);
	free(s->last_reason);
	free(s->last_time);
	free(s->journal_bundle);
	free(s->journal_target);
	free(s->journal_storage);
	free(s->install_started);
	free(s->due_result);
	free(s->due_slot);
	free(s->due_check);
	free(s->channel_name);
	free(s->channel_id);
	free(s->channel_accepted);
	free(s->channel_etag);
	free(s->poll_time);
	free(s->poll_result);
	free(s->pending_bundle);
	free(s->pending_version);
	free(s->refused);
	for (i = 0; i < s->nfailed; i++)
		free(s->failed[i]);
	free(s);
}

int
state_failed(const struct state *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->nfailed; i++)
		if (strcmp(s->failed[i], id) == 0)
			return 1;
	return 0;
}

int
state_add_failed(struct state *s, const char *id, struct err *e)
{
	char *copy;

	if (state_failed(s, id))
		return 0;
	if ((copy = strdup(id)) == NULL)
		return err_set(e, -ENOMEM, "state: out of memory");
	/* Bounded: the oldest goes; its bundle is long superseded. */
	if (s->nfailed == STATE_FAILED_MAX) {
		free(s->failed[0]);
		memmove(&s->failed[0], &s->failed[1],
		    (STATE_FAILED_MAX - 1) * sizeof(s->failed[0]));
		s->nfailed--;
	}
	s->failed[s->nfailed++] = copy;
	return 0;
}

int
state_set(char **field, const char *val, struct err *e)
{
	char *copy = NULL;

	if (val != NULL && (copy = strdup(val)) == NULL)
		return err_set(e, -ENOMEM, "state: out of memory copying "
		    "\"%.32s\"", val);
	free(*field);
	*field = copy;
	return 0;
}

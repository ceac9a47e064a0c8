/*
 * state_test: agent/state.c on a real data directory: round trip, missing
 * file and directory, corrupt files, and the atomic replace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/state.h"
#include "common/err.h"
#include "tests/harness.h"

static char datadir[128], path[160];

static void
fill(struct state *s, const char *version)
{
	struct err e = { 0, "" };

	s->security_floor = 7;
	CHECK_OK(state_set(&s->slot[0].version, "1.0.0", &e), &e);
	CHECK_OK(state_set(&s->slot[0].status, "good", &e), &e);
	s->slot[0].security_version = 7;
	CHECK_OK(state_set(&s->slot[0].installed, "2026-01-02T03:04:05Z", &e),
	    &e);
	CHECK_OK(state_set(&s->slot[1].version, version, &e), &e);
	CHECK_OK(state_set(&s->slot[1].status, "trial", &e), &e);
	s->slot[1].security_version = 9007199254740992ULL;
	CHECK_OK(state_set(&s->last_version, version, &e), &e);
	CHECK_OK(state_set(&s->last_target, "B", &e), &e);
	CHECK_OK(state_set(&s->last_result, "installed", &e), &e);
	CHECK_OK(state_set(&s->last_reason, "quoted \"reason\"\n", &e), &e);
	CHECK_OK(state_set(&s->last_time, "2026-02-03T04:05:06Z", &e), &e);
	CHECK_OK(state_set(&s->journal_bundle, "ab12", &e), &e);
	CHECK_OK(state_set(&s->journal_target, "B", &e), &e);
	CHECK_OK(state_set(&s->journal_storage, "rootfs=blk:7:3", &e), &e);
	s->journal_chunks = 42;
	s->journal_total = 512;
	s->journal_bytes = 44040192;
	s->journal_size = 536870912;
	/* What reports need after the reboot (agent/report.c). */
	CHECK_OK(state_set(&s->slot[1].bundle, "cd34", &e), &e);
	s->journal_fetched = 1000;
	s->journal_refetched = 10;
	s->journal_reach = 900;
	CHECK_OK(state_set(&s->install_started, "2026-02-03T04:00:00Z", &e),
	    &e);
	s->install_fetched = 2000;
	s->install_refetched = 900;
	CHECK_OK(state_set(&s->due_result, "rolled-back", &e), &e);
	CHECK_OK(state_set(&s->due_slot, "B", &e), &e);
	CHECK_OK(state_set(&s->due_check, "10-app", &e), &e);
	CHECK_OK(state_set(&s->channel_name, "stable", &e), &e);
	s->channel_version = 7;
	CHECK_OK(state_set(&s->channel_id, "cd34", &e), &e);
	CHECK_OK(state_set(&s->channel_accepted, "2026-02-03T04:05:06Z", &e),
	    &e);
	CHECK_OK(state_set(&s->channel_etag, "\"5f-3a\"", &e), &e);
	CHECK_OK(state_set(&s->poll_time, "2026-02-03T04:05:07Z", &e), &e);
	CHECK_OK(state_set(&s->poll_result, "refused: expired", &e), &e);
	CHECK_OK(state_set(&s->pending_bundle, "ef56", &e), &e);
	CHECK_OK(state_set(&s->pending_version, version, &e), &e);
	s->reboot_at = 1800000000;
	CHECK_OK(state_add_failed(s, "0a", &e), &e);
	CHECK_OK(state_add_failed(s, "0b", &e), &e);
	CHECK_OK(state_add_failed(s, "0a", &e), &e);	/* once only */
	CHECK(s->nfailed == 2);
}

static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
same(const struct state *a, const struct state *b)
{
	size_t i;

	CHECK(a->security_floor == b->security_floor);
	for (i = 0; i < 2; i++) {
		CHECK(streq(a->slot[i].version, b->slot[i].version));
		CHECK(streq(a->slot[i].status, b->slot[i].status));
		CHECK(a->slot[i].security_version ==
		    b->slot[i].security_version);
		CHECK(streq(a->slot[i].installed, b->slot[i].installed));
		CHECK(streq(a->slot[i].bundle, b->slot[i].bundle));
	}
	CHECK(streq(a->last_version, b->last_version));
	CHECK(streq(a->last_target, b->last_target));
	CHECK(streq(a->last_result, b->last_result));
	CHECK(streq(a->last_reason, b->last_reason));
	CHECK(streq(a->last_time, b->last_time));
	CHECK(streq(a->journal_bundle, b->journal_bundle));
	CHECK(streq(a->journal_target, b->journal_target));
	CHECK(a->journal_chunks == b->journal_chunks);
	CHECK(streq(a->journal_storage, b->journal_storage));
	CHECK(a->journal_total == b->journal_total);
	CHECK(a->journal_bytes == b->journal_bytes);
	CHECK(a->journal_size == b->journal_size);
	CHECK(a->journal_fetched == b->journal_fetched);
	CHECK(a->journal_refetched == b->journal_refetched);
	CHECK(a->journal_reach == b->journal_reach);
	CHECK(streq(a->install_started, b->install_started));
	CHECK(a->install_fetched == b->install_fetched);
	CHECK(a->install_refetched == b->install_refetched);
	CHECK(streq(a->due_result, b->due_result));
	CHECK(streq(a->due_slot, b->due_slot));
	CHECK(streq(a->due_check, b->due_check));
	CHECK(streq(a->channel_name, b->channel_name));
	CHECK(a->channel_version == b->channel_version);
	CHECK(streq(a->channel_id, b->channel_id));
	CHECK(streq(a->channel_accepted, b->channel_accepted));
	CHECK(streq(a->channel_etag, b->channel_etag));
	CHECK(streq(a->poll_time, b->poll_time));
	CHECK(streq(a->poll_result, b->poll_result));
	CHECK(streq(a->pending_bundle, b->pending_bundle));
	CHECK(streq(a->pending_version, b->pending_version));
	CHECK(a->reboot_at == b->reboot_at);
	CHECK(a->nfailed == b->nfailed);
	for (i = 0; i < a->nfailed; i++)
		CHECK(streq(a->failed[i], b->failed[i]));
}

/* failed_bundles keeps the newest STATE_FAILED_MAX. */
static void
test_failed_bounded(void)
{
	struct state *s;
	struct err e = { 0, "" };
	char id[16];
	int i;

	CHECK((s = calloc(1, sizeof(*s))) != NULL);
	for (i = 0; i < STATE_FAILED_MAX + 3; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		CHECK_OK(state_add_failed(s, id, &e), &e);
	}
	CHECK(s->nfailed == STATE_FAILED_MAX);
	CHECK(!state_failed(s, "id2") && state_failed(s, "id3"));
	CHECK(state_failed(s, "id18") && strcmp(s->failed[0], "id3") == 0);
	state_free(s);
}

static void
test_empty(void)
{
	struct state *s;
	struct err e = { 0, "" };
	size_t i;

	/* Neither the directory nor the file exists yet. */
	CHECK_OK(state_load(datadir, &s, &e), &e);
	CHECK(s->security_floor == 0 && s->journal_chunks == 0);
	for (i = 0; i < 2; i++)
		CHECK(s->slot[i].version == NULL && s->slot[i].status == NULL);
	CHECK(s->last_result == NULL && s->journal_bundle == NULL);
	state_free(s);
	state_free(NULL);
}

static void
test_roundtrip(void)
{
	struct state *s, *t, *u;
	struct err e = { 0, "" };
	struct stat st;
	char *text;
	size_t len;
	FILE *f;
	cJSON *root;

	CHECK((s = calloc(1, sizeof(*s))) != NULL);
	fill(s, "2.0.0");
	/* state_save creates the data directory. */
	CHECK_OK(state_save(datadir, s, &e), &e);
	CHECK(stat(datadir, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_OK(state_load(datadir, &t, &e), &e);
	same(s, t);

	/* The layout is the documented one, not only self-consistent. */
	CHECK((f = fopen(path, "r")) != NULL);
	CHECK((text = calloc(1, 65536)) != NULL);
	len = fread(text, 1, 65535, f);
	fclose(f);
	CHECK(len > 0 && text[len - 1] == '\n');
	CHECK((root = cJSON_Parse(text)) != NULL);
	CHECK(cJSON_GetObjectItem(root, "security_floor")->valuedouble == 7);
	CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(root, "slots"), "B"), "status")->valuestring,
	    "trial") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(root,
	    "last_update"), "result")->valuestring, "installed") == 0);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "journal"),
	    "chunks")->valuedouble == 42);
	cJSON_Delete(root);
	free(text);

	/* Clearing fields drops the journal and last update objects. */
	CHECK_OK(state_set(&t->journal_bundle, NULL, &e), &e);
	CHECK_OK(state_set(&t->journal_target, NULL, &e), &e);
	CHECK_OK(state_set(&t->journal_storage, NULL, &e), &e);
	t->journal_chunks = t->journal_total = 0;
	t->journal_bytes = t->journal_size = 0;
	CHECK_OK(state_set(&t->slot[0].version, NULL, &e), &e);
	CHECK_OK(state_save(datadir, t, &e), &e);
	CHECK_OK(state_load(datadir, &u, &e), &e);
	same(t, u);
	CHECK(u->slot[0].version == NULL);
	CHECK(u->journal_bundle == NULL);
	state_free(u);

	/* Above 2^53 a double would round: refused, file left alone. */
	t->security_floor = 9007199254740993ULL;
	CHECK(state_save(datadir, t, &e) == -ERANGE);
	CHECK(strstr(e.msg, "security_floor") != NULL);
	CHECK_OK(state_load(datadir, &u, &e), &e);
	CHECK(u->security_floor == 7);
	state_free(u);
	state_free(t);
	state_free(s);
}

/*
 * A crash between writing state.json.tmp and the rename leaves the tmp
 * file behind: loading must still give the old state, and the next save
 * must replace both cleanly.
 */
static void
test_atomic(void)
{
	struct state *s, *t;
	struct err e = { 0, "" };
	struct stat st;
	FILE *f;
	char tmp[192], victim[128], buf[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK((s = calloc(1, sizeof(*s))) != NULL);
	fill(s, "3.0.0");
	CHECK_OK(state_save(datadir, s, &e), &e);
	CHECK(access(tmp, F_OK) == -1 && errno == ENOENT);
	write_str(tmp, "{\"security_floor\": 99, \"slots\": {\"B\": "
	    "{\"version\": \"9.9.9\"");
	CHECK_OK(state_load(datadir, &t, &e), &e);
	same(s, t);
	state_free(t);

	CHECK_OK(state_set(&s->slot[1].version, "3.0.1", &e), &e);
	CHECK_OK(state_save(datadir, s, &e), &e);
	CHECK(access(tmp, F_OK) == -1 && errno == ENOENT);
	CHECK_OK(state_load(datadir, &t, &e), &e);
	CHECK(strcmp(t->slot[1].version, "3.0.1") == 0);
	state_free(t);

	/* A symlink planted at the tmp name, to a victim file and to
	 * none: the save neither writes the victim nor makes state.json a
	 * link, and the victim keeps its bytes. */
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_str(victim, "precious\n");
	CHECK(symlink(victim, tmp) == 0);
	CHECK_OK(state_save(datadir, s, &e), &e);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(lstat(victim, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == 9);
	CHECK((f = fopen(victim, "r")) != NULL);
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	CHECK(strcmp(buf, "precious\n") == 0);
	fclose(f);
	CHECK(access(tmp, F_OK) == -1 && errno == ENOENT);
	CHECK_OK(state_load(datadir, &t, &e), &e);
	same(s, t);
	state_free(t);
	snprintf(buf, sizeof(buf), "%s/nowhere", dir);
	CHECK(symlink(buf, tmp) == 0);
	CHECK_OK(state_save(datadir, s, &e), &e);
	CHECK(access(buf, F_OK) == -1 && errno == ENOENT);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));

	/* A data directory that cannot be created: an error naming it. */
	CHECK(state_save("/proc/upkit-no-such-dir", s, &e) < 0);
	CHECK(strstr(e.msg, "/proc/upkit-no-such-dir") != NULL);
	state_free(s);
}

static const struct {
	const char	*text;
	const char	*want;
} corrupt[] = {
	{ "", "not valid JSON" },
	{ "{\"security_floor\": 1", "not valid JSON" },
	{ "{} trailing", "not valid JSON" },
	{ "[]", "not a JSON object" },
	{ "{\"security_floor\": \"1\"}", "security_floor: not a number" },
	{ "{\"security_floor\": -1}", "security_floor: not an integer" },
	{ "{\"security_floor\": 1.5}", "security_floor: not an integer" },
	{ "{\"security_floor\": 1e300}", "security_floor: not an integer" },
	{ "{\"slots\": []}", "slots: not an object" },
	{ "{\"slots\": {\"A\": 1}}", "slots.A: not an object" },
	{ "{\"slots\": {\"B\": {\"version\": 2}}}",
	    "slots.B.version: not a string" },
	{ "{\"slots\": {\"A\": {\"security_version\": true}}}",
	    "slots.A.security_version: not a number" },
	{ "{\"last_update\": \"x\"}", "last_update: not an object" },
	{ "{\"last_update\": {\"result\": false}}",
	    "last_update.result: not a string" },
	{ "{\"journal\": {\"chunks\": \"3\"}}",
	    "journal.chunks: not a number" },
	{ "{\"journal\": {\"bundle\": {}}}", "journal.bundle: not a string" },
	{ "{\"journal\": {\"storage\": 1}}", "journal.storage: not a string" },
	{ "{\"journal\": {\"total_bytes\": -1}}",
	    "journal.total_bytes: not an integer" },
	{ "{\"daemon\": []}", "daemon: not an object" },
	{ "{\"daemon\": {\"etag\": 1}}", "daemon.etag: not a string" },
	{ "{\"daemon\": {\"channel_version\": 1.5}}",
	    "daemon.channel_version: not an integer" },
	{ "{\"daemon\": {\"failed_bundles\": \"ab\"}}",
	    "daemon.failed_bundles: not an array" },
	{ "{\"daemon\": {\"failed_bundles\": [\"ab\", 1]}}",
	    "daemon.failed_bundles: not an array of strings" },
};

static void
test_corrupt(void)
{
	struct state *s;
	struct err e = { 0, "" };
	size_t i;

	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		write_str(path, corrupt[i].text);
		s = (struct state *)1;
		if (state_load(datadir, &s, &e) != -EBADMSG || s != NULL ||
		    strncmp(e.msg, path, strlen(path)) != 0 ||
		    strstr(e.msg, corrupt[i].want) == NULL) {
			fprintf(stderr, "%s: want \"%s\", got %d \"%s\"\n",
			    corrupt[i].text, corrupt[i].want, e.code, e.msg);
			exit(1);
		}
	}

	/* Unknown keys and nulls are fine: a newer agent may add keys. */
	write_str(path, "{\"future\": [1], \"slots\": {\"A\": {\"version\": "
	    "null, \"x\": 1}, \"B\": null}, \"journal\": null}");
	CHECK_OK(state_load(datadir, &s, &e), &e);
	CHECK(s->slot[0].version == NULL && s->slot[1].version == NULL);
	state_free(s);

	/* A directory where the file should be is an error, not empty. */
	CHECK(unlink(path) == 0);
	CHECK(mkdir(path, 0755) == 0);
	CHECK(state_load(datadir, &s, &e) < 0);
	CHECK(strstr(e.msg, path) != NULL);
	CHECK(rmdir(path) == 0);
}

int
main(void)
{
	tmpdir_make("state_test");
	snprintf(datadir, sizeof(datadir), "%s/data/upkit", dir);
	snprintf(path, sizeof(path), "%s/%s", datadir, STATE_FILE);
	test_empty();
	test_roundtrip();
	test_failed_bounded();
	test_atomic();
	test_corrupt();
	tmpdir_remove();
	return 0;
}

/* fuzz_state: the state.json parser. Whatever parses must save (to a
 * tmpfs folder, the real state_save) and load back to the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/state.h"
#include "common/err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	unlink(path);
	rmdir(dir);
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
state_eq(const struct state *a, const struct state *b)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (!str_eq(a->slot[i].version, b->slot[i].version) ||
		    !str_eq(a->slot[i].status, b->slot[i].status) ||
		    a->slot[i].security_version !=
		    b->slot[i].security_version ||
		    !str_eq(a->slot[i].installed, b->slot[i].installed))
			return 0;
	return a->security_floor == b->security_floor &&
	    str_eq(a->last_version, b->last_version) &&
	    str_eq(a->last_target, b->last_target) &&
	    str_eq(a->last_result, b->last_result) &&
	    str_eq(a->last_reason, b->last_reason) &&
	    str_eq(a->last_time, b->last_time) &&
	    str_eq(a->journal_bundle, b->journal_bundle) &&
	    str_eq(a->journal_target, b->journal_target) &&
	    a->journal_chunks == b->journal_chunks;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state *s, *s2;
	struct err e;

	if (dir[0] == '\0') {
		/* tmpfs when there is one: the fsyncs cost nothing. */
		snprintf(dir, sizeof(dir), "/dev/shm/fuzz_state.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof(dir), "/tmp/fuzz_state.XXXXXX");
			if (mkdtemp(dir) == NULL)
				abort();
		}
		atexit(cleanup);
	}
	if (state_parse("state.json", (const char *)data, size, &s, &e) != 0)
		return 0;
	if (state_save(dir, s, &e) != 0 || state_load(dir, &s2, &e) != 0) {
		fprintf(stderr, "round trip: %s\n", e.msg);
		abort();
	}
	if (!state_eq(s, s2))
		abort();
	state_free(s2);
	state_free(s);
	return 0;
}

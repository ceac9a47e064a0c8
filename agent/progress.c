#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/progress.h"
#include "common/json.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
progress_init(struct progress *p, int json)
{
	memset(p, 0, sizeof(p[0]));
	p->json = json;
	p->tty = !json && isatty(STDERR_FILENO);
	p->pct[0] = p->pct[1] = -1;
	p->start_ms = now_ms();
}

/* One --json progress line; none if out of memory. */
static void
print_progress(const char *phase, const char *payload, uint64_t done,
    uint64_t total)
{
	cJSON *o;
	char *s;

	if ((o = cJSON_CreateObject()) == NULL)
		return;
	if (cJSON_AddStringToObject(o, "event", "progress") != NULL &&
	    cJSON_AddStringToObject(o, "phase", phase) != NULL &&
	    cJSON_AddStringToObject(o, "payload", payload) != NULL &&
	    json_add_uint(o, "done", done) == 0 &&
	    json_add_uint(o, "total", total) == 0 &&
	    (s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		fflush(stdout);
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

/*
 * Writing and reading back run at the same time, so each phase keeps
 * its own percentage; a line goes out when either moves by a percent.
 */
void
progress_update(void *arg, const char *phase, const char *payload,
    uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	int k = strcmp(phase, "write") != 0, pct, i;
	uint64_t ms;
	double mib;

	pct = total ? (int)(done * 100 / total) : 100;
	if (pct > 100)
		pct = 100;
	if (pct == p->pct[k])
		return;
	p->pct[k] = pct;
	p->shown = 1;
	if (p->json) {
		print_progress(phase, payload, done, total);
		return;
	}
	if (!p->tty)
		return;
	if (k == 0)
		p->written = done;
	ms = now_ms() - p->start_ms;
	mib = (double)p->written / (1 << 20);
	fprintf(stderr, "\r%-8.8s [", payload);
	/* '#' written and read back, '=' written, ' ' to come. */
	for (i = 0; i < 30; i++)
		fputc(i < p->pct[1] * 30 / 100 ? '#' :
		    i < p->pct[0] * 30 / 100 ? '=' : ' ', stderr);
	fprintf(stderr, "] write %3d%% verify %3d%% %7.1f MiB/s",
	    p->pct[0] < 0 ? 0 : p->pct[0], p->pct[1] < 0 ? 0 : p->pct[1],
	    ms ? mib * 1000 / (double)ms : 0.0);
	fflush(stderr);
}

void
progress_end(struct progress *p)
{
	if (p->tty && p->shown)
		fputc('\n', stderr);
	p->shown = 0;
}

void
progress_step(struct progress *p, const char *fmt, ...)
{
	char msg[512];
	cJSON *o;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p->json) {
		progress_end(p);
		fprintf(stderr, "%s\n", msg);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", "step");
	cJSON_AddStringToObject(o, "message", msg);
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		fflush(stdout);
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/progress.h"

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
	memset(p, 0, sizeof(*p));
	p->json = json;
	p->tty = !json && isatty(STDERR_FILENO);
	p->last_pct = -1;
	p->start_ms = now_ms();
}

void
progress_update(void *arg, const char *phase, const char *payload,
    uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	uint64_t ms;
	double mib;
	int pct, i, bar;

	pct = total ? (int)(done * 100 / total) : 100;
	if (strcmp(p->last_phase, phase) != 0) {
		progress_end(p);
		snprintf(p->last_phase, sizeof(p->last_phase), "%s", phase);
		p->last_pct = -1;
		p->start_ms = now_ms();
	}
	/* One line per percent is plenty for a person or a log. */
	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	if (p->json) {
		printf("{\"event\":\"progress\",\"phase\":\"%s\","
		    "\"payload\":\"%s\",\"done\":%llu,\"total\":%llu}\n",
		    phase, payload, (unsigned long long)done,
		    (unsigned long long)total);
		fflush(stdout);
		return;
	}
	if (!p->tty)
		return;
	ms = now_ms() - p->start_ms;
	mib = (double)done / (1 << 20);
	bar = pct * 30 / 100;
	fprintf(stderr, "\r%-6s %-8.8s [", phase, payload);
	for (i = 0; i < 30; i++)
		fputc(i < bar ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%% %8.1f MiB %7.1f MiB/s", pct, mib,
	    ms ? mib * 1000 / (double)ms : 0.0);
	fflush(stderr);
}

void
progress_end(struct progress *p)
{
	if (p->tty && p->last_pct >= 0)
		fputc('\n', stderr);
	p->last_pct = -1;
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

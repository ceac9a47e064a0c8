#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cli.h"
#include "agent/progress.h"
#include "common/json.h"

#define MIB	(1024.0 * 1024.0)

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
progress_init(struct progress *p, enum progress_mode mode)
{
	memset(p, 0, sizeof(p[0]));
	if (mode == PROGRESS_AUTO)
		mode = isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_LINES;
	/* -q: nothing on stderr but errors and warnings, whatever
	 * --progress said; json is stdout's. */
	if (cli.verbosity < 0 && mode != PROGRESS_JSON)
		mode = PROGRESS_NONE;
	p->mode = mode;
	p->pct[0] = p->pct[1] = -1;
	p->line_pct = -1;
	p->start_ms = now_ms();
	p->line_ms = p->start_ms;
	p->line_every_ms = PROGRESS_LINE_SECS * 1000;
}

int
progress_mode_parse(const char *s, enum progress_mode *modep)
{
	static const struct {
		const char		*name;
		enum progress_mode	 mode;
	} names[] = {
		{ "auto", PROGRESS_AUTO }, { "bar", PROGRESS_BAR },
		{ "lines", PROGRESS_LINES }, { "none", PROGRESS_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*modep = names[i].mode;
			return 0;
		}
	return -EINVAL;
}

/* Prints o as one line on stdout and frees it; nothing if o is NULL or
 * out of memory. */
static void
print_json(cJSON *o)
{
	char *s;

	if (o != NULL && (s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		fflush(stdout);
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

static void
print_progress(const char *phase, const char *payload, uint64_t done,
    uint64_t total)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return;
	if (cJSON_AddStringToObject(o, "event", "progress") == NULL ||
	    cJSON_AddStringToObject(o, "phase", phase) == NULL ||
	    cJSON_AddStringToObject(o, "payload", payload) == NULL ||
	    json_add_uint(o, "done", done) != 0 ||
	    json_add_uint(o, "total", total) != 0) {
		cJSON_Delete(o);
		return;
	}
	print_json(o);
}

/* The write rate in MiB/s so far, and the seconds left at that rate
 * (-1 before there is a rate). */
static double
rate(const struct progress *p, long *leftp)
{
	uint64_t ms = now_ms() - p->start_ms;
	double r;

	*leftp = -1;
	if (ms == 0 || p->written == 0)
		return 0.0;
	r = (double)p->written / MIB * 1000 / (double)ms;
	*leftp = (long)((double)(p->total - p->written) / MIB / r + 0.5);
	return r;
}

static void
print_bar(struct progress *p, const char *payload)
{
	long left;
	double r = rate(p, &left);
	int i;

	fprintf(stderr, "\r%-8.8s [", payload);
	/* '#' written and read back, '=' written, ' ' to come. */
	for (i = 0; i < 24; i++)
		fputc(i < p->pct[1] * 24 / 100 ? '#' :
		    i < p->pct[0] * 24 / 100 ? '=' : ' ', stderr);
	fprintf(stderr, "] %7.1f/%.1f MiB %6.1f MiB/s", p->written / MIB,
	    p->total / MIB, r);
	if (left >= 0)
		fprintf(stderr, " %ld:%02ld left", left / 60, left % 60);
	fprintf(stderr, " verify %3d%%", p->pct[1] < 0 ? 0 : p->pct[1]);
	fflush(stderr);
	p->shown = 1;
}

/* A line each PROGRESS_LINE_STEP percent of the write, or sooner when
 * line_every_ms passed since the last (a log of a slow download shows it
 * moves), and one when the read-back is done. The percentages cover
 * every payload, so the line names none. */
static void
print_line(struct progress *p, int k)
{
	uint64_t now = now_ms();
	long left;
	double r;

	if (k == 0 && p->pct[0] < 100 && p->line_pct >= 0 &&
	    p->pct[0] / PROGRESS_LINE_STEP ==
	    p->line_pct / PROGRESS_LINE_STEP &&
	    now - p->line_ms < p->line_every_ms)
		return;
	if (k == 1 && p->pct[1] < 100)
		return;
	if (k == 0)
		p->line_pct = p->pct[0];
	p->line_ms = now;
	r = rate(p, &left);
	fprintf(stderr, "%s %d%% (%.1f of %.1f MiB), %.1f MiB/s",
	    p->check_only ? "checked" : "written",
	    p->pct[0] < 0 ? 0 : p->pct[0], p->written / MIB,
	    p->total / MIB, r);
	if (left >= 0 && p->pct[0] < 100)
		fprintf(stderr, ", %ld s left", left);
	if (p->check_only)
		fputc('\n', stderr);
	else
		fprintf(stderr, "; read back %d%%\n",
		    p->pct[1] < 0 ? 0 : p->pct[1]);
}

/*
 * Writing and reading back run at the same time, so each phase keeps
 * its own percentage; something is shown when either moves by a percent.
 */
void
progress_update(void *arg, const char *phase, const char *payload,
    uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	int k = strcmp(phase, "write") != 0, pct;

	if (k == 0 && cli.verbosity > 0 && p->mode != PROGRESS_JSON &&
	    strncmp(p->payload, payload, sizeof(p->payload)) != 0) {
		snprintf(p->payload, sizeof(p->payload), "%s", payload);
		progress_step(p, "payload %s", payload);
	}
	pct = total ? (int)(done * 100 / total) : 100;
	if (pct > 100)
		pct = 100;
	if (pct == p->pct[k])
		return;
	p->pct[k] = pct;
	if (k == 0) {
		p->written = done;
		p->total = total;
	}
	switch (p->mode) {
	case PROGRESS_JSON:
		print_progress(phase, payload, done, total);
		break;
	case PROGRESS_BAR:
		print_bar(p, payload);
		break;
	case PROGRESS_LINES:
		print_line(p, k);
		break;
	case PROGRESS_AUTO:
	case PROGRESS_NONE:
		break;
	}
}

void
progress_end(struct progress *p)
{
	if (p->mode == PROGRESS_BAR && p->shown)
		fputc('\n', stderr);
	p->shown = 0;
}

/* msg as a line on stderr, or as {"event":EVENT,"offset":OFF,"message":
 * MSG} (no offset when off is NULL). */
static void
emit(struct progress *p, const char *event, const uint64_t *off,
    const char *msg)
{
	cJSON *o;

	if (p->mode != PROGRESS_JSON) {
		if (cli.verbosity < 0)
			return;
		progress_end(p);
		if (off != NULL)
			fprintf(stderr, "%s at byte %llu: %s\n", event,
			    (unsigned long long)*off, msg);
		else
			fprintf(stderr, "%s\n", msg);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	if (cJSON_AddStringToObject(o, "event", event) == NULL ||
	    (off != NULL && json_add_uint(o, "offset", *off) != 0) ||
	    cJSON_AddStringToObject(o, "message", msg) == NULL) {
		cJSON_Delete(o);
		return;
	}
	print_json(o);
}

void
progress_step(struct progress *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(p, "step", NULL, msg);
}

void
progress_event(struct progress *p, const char *event, uint64_t off,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(p, event, &off, msg);
}

void
progress_source_event(void *arg, enum source_event ev, uint64_t off,
    const char *detail)
{
	progress_event(arg, source_event_name(ev), off, "%s", detail);
}

/*
 * agent/progress: what the agent tells a person or a program while it
 * works.
 * - json: one JSON object per line on stdout ({"event":"progress",...},
 *   {"event":"step",...}, {"event":"result",...}, {"event":"error",...},
 *   and for a download {"event":"cut"|"retry"|"resume","offset":N,...}).
 * - bar: a bar on stderr, redrawn in place: payload, MiB written of the
 *   total, rate, time left, and how much is read back.
 * - lines: one plain line on stderr, no \r, each time the write passes
 *   another PROGRESS_LINE_STEP percent, and each time it moved by a
 *   percent after PROGRESS_LINE_SECS without a line (a slow download),
 *   for logs and pipes.
 * - none: only the steps.
 * PROGRESS_AUTO is bar when stderr is a TTY, lines otherwise. Steps
 * (progress_step) and download events (progress_event) are lines on
 * stderr in every mode but json. With -q (agent/cli.h) the text modes
 * print nothing; with -v they add a step line when the write moves on
 * to the next payload.
 */
#ifndef AGENT_PROGRESS_H
#define AGENT_PROGRESS_H

#include <stdint.h>

#include "source/source.h"

#define PROGRESS_LINE_STEP	10	/* percent between lines */
#define PROGRESS_LINE_SECS	30	/* at most this long without one */

enum progress_mode {
	PROGRESS_AUTO,
	PROGRESS_BAR,
	PROGRESS_LINES,
	PROGRESS_NONE,
	PROGRESS_JSON,
};

struct progress {
	enum progress_mode mode;	/* never AUTO after progress_init */
	int		pct[2];		/* write, verify; -1 before the first */
	int		line_pct;	/* lines: last write percent printed */
	uint64_t	line_ms;	/* lines: when it was printed */
	uint64_t	line_every_ms;	/* PROGRESS_LINE_SECS, in ms */
	int		check_only;	/* bundle verify: "checked", no
					   read-back */
	char		payload[64];	/* -v: the payload being written */
	int		shown;		/* a bar line is open */
	uint64_t	written;	/* bytes written, for rate and time */
	uint64_t	total;		/* bytes to write */
	uint64_t	start_ms;
};

/* mode AUTO picks bar or lines from stderr. */
void	progress_init(struct progress *p, enum progress_mode mode);
/* "auto", "bar", "lines", "none" (json comes from --json); -EINVAL. */
int	progress_mode_parse(const char *s, enum progress_mode *modep);
/* Matches install_progress.fn. */
void	progress_update(void *arg, const char *phase, const char *payload,
	    uint64_t done, uint64_t total);
/* Ends a bar line if one is showing. */
void	progress_end(struct progress *p);
/* A step message: text to stderr, or {"event":"step","message":...}. */
void	progress_step(struct progress *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Something that happened to the byte source at offset off: event is
 * "cut", "retry" or "resume". Text: "EVENT at byte OFF: MESSAGE" on
 * stderr; json: {"event":EVENT,"offset":OFF,"message":MESSAGE}. */
void	progress_event(struct progress *p, const char *event, uint64_t off,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Matches source_options.event, with arg the struct progress: the byte
 * source's events through progress_event(). */
void	progress_source_event(void *arg, enum source_event ev, uint64_t off,
	    const char *detail);

#endif /* AGENT_PROGRESS_H */

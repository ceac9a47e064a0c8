/*
 * agent/progress: what the agent tells a person or a program while it
 * works. With --json one JSON object per line on stdout
 * ({"event":"progress",...}, {"event":"step",...}, {"event":"result",...},
 * {"event":"error",...}); otherwise each step as a line on stderr, with a
 * progress bar between them when stderr is a TTY.
 */
#ifndef AGENT_PROGRESS_H
#define AGENT_PROGRESS_H

#include <stdint.h>

struct progress {
	int		json;		/* JSON lines on stdout */
	int		tty;		/* bar on stderr */
	int		pct[2];		/* write, verify; -1 before the first */
	int		shown;		/* a bar line is open */
	uint64_t	written;	/* bytes, for the rate */
	uint64_t	start_ms;
};

void	progress_init(struct progress *p, int json);
/* Matches install_progress.fn. */
void	progress_update(void *arg, const char *phase, const char *payload,
	    uint64_t done, uint64_t total);
/* Ends a bar line if one is showing. */
void	progress_end(struct progress *p);
/* A step message: text to stderr, or {"event":"step","message":...}. */
void	progress_step(struct progress *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* AGENT_PROGRESS_H */

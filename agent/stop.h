/*
 * agent/stop: SIGTERM, SIGINT and SIGHUP as a request to stop at the
 * next point where the device is consistent, instead of the end of the
 * process. While caught, the first such signal is in stop_signo and each
 * one writes a byte to a non-blocking pipe, so a poll() on pipe[0] wakes.
 * SA_RESTART keeps every other system call going; a signal the process
 * was started with ignored (nohup, a background job's SIGINT) stays
 * ignored.
 */
#ifndef AGENT_STOP_H
#define AGENT_STOP_H

#include <signal.h>

struct err;

#define STOP_SIGNALS	3	/* SIGTERM, SIGINT, SIGHUP */

struct stop {
	int			pipe[2];	/* -1 when not caught */
	struct sigaction	old[STOP_SIGNALS];	/* as they were */
};

/* The first stop signal since stop_catch(), or 0. Set by the handler
 * only; read it, never write it. */
extern volatile sig_atomic_t stop_signo;

/* Creates the pipe and installs the handler. -errno if the pipe cannot
 * be made (nothing is installed then). */
int	stop_catch(struct stop *s, struct err *e);
/* Puts the actions back as they were and closes the pipe; nothing if
 * not caught. */
void	stop_release(struct stop *s);
/* "SIGTERM", "SIGINT", "SIGHUP", or "a signal". */
const char *stop_signame(int signo);

#endif /* AGENT_STOP_H */

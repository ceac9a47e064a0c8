/*
 * agent/stop: the stop signals (stop.h). The handler touches only
 * stop_signo, stop_fd and errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agent/stop.h"
#include "common/err.h"

volatile sig_atomic_t stop_signo;
static volatile sig_atomic_t stop_fd = -1;

static const int stop_signals[STOP_SIGNALS] = { SIGTERM, SIGINT, SIGHUP };

/* Async-signal-safe: a flag and a write(2) to a non-blocking pipe. */
static void
on_stop(int signo)
{
	int saved = errno;
	ssize_t n;

	if (stop_signo == 0)
		stop_signo = signo;
	n = write(stop_fd, "", 1);
	(void)n;
	errno = saved;
}

const char *
stop_signame(int signo)
{
	switch (signo) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

int
stop_catch(struct stop *s, struct err *e)
{
	struct sigaction sa;
	size_t i;
	int r;

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		r = -errno;
		s->pipe[0] = s->pipe[1] = -1;
		return err_set(e, r, "stop signal pipe: %s", strerror(-r));
	}
	stop_signo = 0;
	stop_fd = s->pipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < STOP_SIGNALS; i++)
		if (sigaction(stop_signals[i], NULL, &s->old[i]) == 0 &&
		    s->old[i].sa_handler != SIG_IGN)
			sigaction(stop_signals[i], &sa, NULL);
	return 0;
}

void
stop_release(struct stop *s)
{
	size_t i;

	if (s->pipe[1] == -1)
		return;
	for (i = 0; i < STOP_SIGNALS; i++)
		sigaction(stop_signals[i], &s->old[i], NULL);
	stop_fd = -1;
	close(s->pipe[0]);
	close(s->pipe[1]);
	s->pipe[0] = s->pipe[1] = -1;
}

/*
 * `upkit daemon`: one process for the device's whole life. The process
 * that stays is small: it blocks every signal it cares for and waits in
 * one sigtimedwait() until the next poll, so it never wakes between
 * polls, and it never loads libcurl or a TLS stack (docs/download.md,
 * "Memory": some 10 MiB). Each cycle runs in a child it forks
 * (agent/poll.c), which fetches, verifies, installs and exits; what must
 * outlive the child is in state.json, which the parent only reads for a
 * reboot time. A stop signal is passed on to the child, whose install
 * stops at a chunk boundary with its journal kept, and the parent then
 * exits 0. --once runs one cycle in the foreground, for cron and tests.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/daemon.h"
#include "agent/state.h"
#include "agent/stop.h"
#include "common/err.h"

int
daemon_url_resolve(const char *base, const char *ref, char *out,
    size_t outsz)
{
	const char *host, *end, *slash = NULL, *p;
	int n;

	if (strncasecmp(ref, "http://", 7) == 0 ||
	    strncasecmp(ref, "https://", 8) == 0)
		n = snprintf(out, outsz, "%s", ref);
	else if (ref[0] == '/' && ref[1] == '/')
		return -EINVAL;
	else {
		if ((host = strstr(base, "://")) == NULL || host[3] == '\0' ||
		    strchr("/?#", host[3]) != NULL)
			return -EINVAL;
		host += 3;
		end = host + strcspn(host, "/?#");
		if (ref[0] == '/')
			n = snprintf(out, outsz, "%.*s%s", (int)(end - base),
			    base, ref);
		else {
			/* The path of base, up to its last segment. */
			for (p = end; *p != '\0' && *p != '?' && *p != '#'; p++)
				if (*p == '/')
					slash = p;
			if (slash == NULL)
				n = snprintf(out, outsz, "%.*s/%s",
				    (int)(end - base), base, ref);
			else
				n = snprintf(out, outsz, "%.*s%s",
				    (int)(slash + 1 - base), base, ref);
		}
	}
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	return 0;
}

unsigned
daemon_delay(unsigned interval, unsigned fails, uint64_t *rng)
{
	uint64_t d = interval, j, x;
	unsigned i;

	if (fails > 0) {
		if ((d = interval / DAEMON_BACKOFF_DIV) < 10)
			d = 10;
		for (i = 1; i < fails && d < interval; i++)
			d *= 2;
		if (d > interval)
			d = interval;
	}
	x = *rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	/* A fleet started at once (a power cut) spreads out. */
	j = d * DAEMON_JITTER_PCT / 100;
	if (j > 0)
		d = d - j + x % (2 * j + 1);
	return d < 1 ? 1 : (unsigned)d;
}

/* A child for one cycle, with the signals as upkit started with them. */
static pid_t
spawn(const struct daemon_opts *o, const sigset_t *old)
{
	pid_t pid;
	int code;

	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	sigprocmask(SIG_SETMASK, old, NULL);
	code = daemon_cycle(o);
	fflush(NULL);
	_exit(code);
}

/* Waits for the child, passing a stop signal on to it (*stopp keeps
 * the first). Returns its exit code, 128 + n if signal n ended it. */
static int
wait_child(pid_t pid, const sigset_t *set, int *stopp)
{
	int sig, st;

	for (;;) {
		if ((sig = sigwaitinfo(set, NULL)) == -1)
			continue;	/* EINTR: a signal outside set */
		if (sig != SIGCHLD) {
			if (*stopp == 0)
				*stopp = sig;
			kill(pid, sig);
			continue;
		}
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Before a sleep: the pages of upkit and its libraries that the loop will
 * not touch until the next poll leave this process; a page touched again
 * faults back in from the page cache, where the others stay for whoever
 * else maps them. Code (r-xp, from a file) is never written (a
 * debugger's breakpoints aside), so MADV_DONTNEED can drop it even where
 * other processes share it, which is most of an idle parent's RSS
 * (libc). Everything else gets
 * MADV_PAGEOUT (Linux 5.4), which only unmaps what it can put back as it
 * was: never a relocated or written page, and nothing at all without
 * swap. Best effort: an older kernel refuses, and that is all.
 */
static void
shrink(void)
{
	static struct {
		unsigned long	lo, len;
		int		advice;
	} r[256];
	unsigned long lo, hi;
	char line[512], perms[8], path[2];
	size_t i, nr = 0;
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (nr < sizeof(r) / sizeof(r[0]) &&
	    fgets(line, sizeof(line), f) != NULL) {
		path[0] = '\0';
		n = sscanf(line, "%lx-%lx %7s %*s %*s %*s %1s", &lo, &hi, perms,
		    path);
		/* [vdso], [vvar]; a sanitizer's shadow memory. */
		if (n < 3 || hi <= lo || hi - lo >= (1UL << 30) ||
		    path[0] == '[')
			continue;
		r[nr].lo = lo;
		r[nr].len = hi - lo;
		if (strcmp(perms, "r-xp") == 0 && path[0] == '/')
			r[nr++].advice = MADV_DONTNEED;
#ifdef MADV_PAGEOUT
		else
			r[nr++].advice = MADV_PAGEOUT;
#endif
	}
	fclose(f);
	/* Only now: reading and parsing would fault the code back in. */
	for (i = 0; i < nr; i++)
		madvise((void *)r[i].lo, r[i].len, r[i].advice);
}

/* Sleeps s seconds in one sigtimedwait() (again only if a stray signal
 * cut it short). Returns the stop signal that ended it, or 0. */
static int
sleep_for(unsigned s, const sigset_t *set)
{
	struct timespec end, now, ts;
	int64_t ns;
	int sig;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += s;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ns = (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 +
		    (end.tv_nsec - now.tv_nsec);
		if (ns <= 0)
			return 0;
		ts.tv_sec = (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		if ((sig = sigtimedwait(set, NULL, &ts)) == -1) {
			if (errno == EAGAIN)
				return 0;
			continue;
		}
		if (sig != SIGCHLD)
			return sig;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

/* wait, or less if an armed release's window opens sooner: the next
 * cycle reboots then. */
static unsigned
until_reboot(const struct config *c, unsigned wait)
{
	struct state *s = NULL;
	struct err e = { 0, "" };
	int64_t now = (int64_t)time(NULL), at;

	if (state_load(c->data_directory, &s, &e) < 0)
		return wait;
	at = (int64_t)s->reboot_at;
	state_free(s);
	if (at > now && at - now < (int64_t)wait)
		return (unsigned)(at - now);
	return wait;
}

static int
run(const struct daemon_opts *o, const struct config *c)
{
	sigset_t set, old;
	unsigned fails = 0, wait;
	uint64_t rng;
	int code, stop = 0;
	pid_t pid;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9e3779b9;
	cli_info("daemon", "polling %s every %d s",
	    c->server_channel, c->server_interval);
	for (;;) {
		if ((pid = spawn(o, &old)) == -1) {
			cli_error("daemon", "fork: %s",
			    strerror(errno));
			code = EXIT_FAIL;
		} else
			code = wait_child(pid, &set, &stop);
		/* Nothing new, installed, or refused: asking sooner would
		 * not change the answer. Anything else backs off. */
		if (code == EXIT_OK || code == EXIT_INSTALLED ||
		    code == EXIT_BUNDLE || code == EXIT_POLICY)
			fails = 0;
		else
			fails++;
		if (stop == 0) {
			wait = daemon_delay((unsigned)c->server_interval,
			    fails, &rng);
			wait = until_reboot(c, wait);
			cli_info("daemon", "next poll in %u s",
			    wait);
			/* After the line: printing would fault back in much
			 * of what shrink() dropped. */
			shrink();
			stop = sleep_for(wait, &set);
		}
		if (stop != 0) {
			cli_info("daemon", "stopped by %s",
			    stop_signame(stop));
			return EXIT_OK;
		}
	}
}

enum { O_ONCE = 256, O_NO_REBOOT };

static const struct cli_opt opts[] = {
	{ "once", O_ONCE, NULL, "one poll cycle, then exit (0: nothing "
	    "to do, 10: installed)" },
	{ "no-reboot", O_NO_REBOOT, NULL, "arm an installed release, do "
	    "not reboot" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_daemon = {
	"daemon", "[OPTIONS]",
	"Poll the channel, install, reboot",
	CLI_CONFIG, opts, cmd_daemon,
};

int
cmd_daemon(int argc, char **argv)
{
	struct daemon_opts o = { NULL, 0 };
	struct config *c = NULL;
	struct cli_parse p;
	struct err e = { 0, "" };
	int ch, once = 0, r;

	cli_begin(&p, &cli_daemon, argc, argv);
	while ((ch = cli_next(&p)) != -1) {
		if (ch == O_ONCE)
			once = 1;
		else
			o.no_reboot = 1;
	}
	if ((r = cli_end(&p, 0, 0, NULL)) >= 0)
		return r;
	o.config = cli.config;
	if (once)
		return daemon_cycle(&o);
	if (config_load(config_path(o.config), &c, &e) < 0) {
		cli_error(p.cmd->name, "%s", e.msg);
		return EXIT_CONFIG;
	}
	if (config_reimage(c)) {
		cli_error(p.cmd->name, "%s: bootloader = none: a machine "
		    "that is only reimaged has no daemon (docs/reimage.md)",
		    c->path);
		config_free(c);
		return EXIT_CONFIG;
	}
	if (c->server_channel == NULL) {
		cli_error(p.cmd->name, "%s: [server] channel: missing "
		    "(the URL of the channel file to poll)", c->path);
		config_free(c);
		return EXIT_CONFIG;
	}
	r = run(&o, c);
	config_free(c);
	return r;
}

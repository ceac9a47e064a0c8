/*
 * agent/checks: the health check runner (checks.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/checks.h"
#include "common/err.h"
#include "common/json.h"

extern char **environ;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The environment of a check: ours, with UPKIT_SLOT and UPKIT_VERSION
 * replaced. The strings stay owned by environ and slotvar/vervar. */
static char **
check_env(char *slotvar, char *vervar)
{
	char **envp;
	size_t i, n = 0;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	if ((envp = calloc(n + 3, sizeof(*envp))) == NULL)
		return NULL;
	for (i = 0, n = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "UPKIT_SLOT=", 11) != 0 &&
		    strncmp(environ[i], "UPKIT_VERSION=", 14) != 0)
			envp[n++] = environ[i];
	envp[n++] = slotvar;
	envp[n++] = vervar;
	envp[n] = NULL;
	return envp;
}

/*
 * Starts path in its own process group (so a timeout kills whatever it
 * started too), stdin from /dev/null and stdout onto our stderr (so a
 * check cannot corrupt --json output).
 */
static int
spawn_check(const char *path, char **envp, pid_t *pidp, struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *argv[] = { (char *)path, NULL };
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return err_set(e, -r, "check %s: %s", path, strerror(r));
	if ((r = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err_set(e, -r, "check %s: %s", path, strerror(r));
	}
	if ((r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
	    "/dev/null", O_RDONLY, 0)) == 0 &&
	    (r = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO,
	    STDOUT_FILENO)) == 0 &&
	    (r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (r = posix_spawnattr_setpgroup(&at, 0)) == 0 &&
	    (r = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (r = posix_spawnattr_setsigdefault(&at, &all)) == 0)
		r = posix_spawn(pidp, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return err_set(e, -r, "check %s: cannot run: %s", path,
		    strerror(r));
	return 0;
}

/*
 * Waits for pid until the monotonic time limit. A pidfd makes the wait
 * one poll() with a timeout: no signal handler, no sleep loop. Returns
 * 0 with *statusp, or 1 if the limit came first (the group is killed and
 * reaped), or -errno.
 */
static int
wait_check(const char *path, pid_t pid, long long limit, int *statusp,
    struct err *e)
{
	struct pollfd pfd;
	long long left;
	int fd, n, r, timedout = 0;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		r = -errno;
		kill(-pid, SIGKILL);
		waitpid(pid, statusp, 0);
		return err_set(e, r, "check %s: pidfd_open: %s (Linux 5.3 or "
		    "later is needed)", path, strerror(-r));
	}
	for (;;) {
		left = limit - now_ms();
		if (left <= 0) {
			timedout = 1;
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			break;
		if (n == -1 && errno != EINTR) {
			r = -errno;
			close(fd);
			kill(-pid, SIGKILL);
			waitpid(pid, statusp, 0);
			return err_set(e, r, "check %s: poll: %s", path,
			    strerror(-r));
		}
	}
	close(fd);
	if (timedout)
		kill(-pid, SIGKILL);
	while (waitpid(pid, statusp, 0) == -1) {
		if (errno != EINTR) {
			r = -errno;
			return err_set(e, r, "check %s: waitpid: %s", path,
			    strerror(-r));
		}
	}
	/* Whatever the check left running in its group goes too: a
	 * leftover would outlive the decision it was part of. */
	kill(-pid, SIGKILL);
	return timedout;
}

static void
add_check_json(struct checks *ck, const char *path, const char *result,
    int status, long long ms)
{
	cJSON *o;

	if (ck->json == NULL || (o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "result", result);
	if (status >= 0)
		json_add_uint(o, "status", (uint64_t)status);
	cJSON_AddNumberToObject(o, "seconds", (double)ms / 1000);
	if (!cJSON_AddItemToArray(ck->json, o))
		cJSON_Delete(o);
}

/*
 * Runs one check within its timeout and what is left of the deadline.
 * Returns 0 if it passed, 1 if it failed (ck->reason says how), -errno if
 * it could not be waited for.
 */
static int
run_check(struct checks *ck, const char *path, char **envp,
    long long deadline, struct err *e)
{
	long long start = now_ms(), limit;
	pid_t pid;
	int by_deadline, r, status = 0;

	limit = start + (long long)ck->timeout * 1000;
	by_deadline = deadline < limit;
	if (by_deadline)
		limit = deadline;
	if ((r = spawn_check(path, envp, &pid, e)) < 0) {
		/* Not runnable (bad interpreter, no permission) is a failed
		 * check, not an agent error: the image is what is wrong. */
		size_t n = strnlen(e->msg, ck->reason_size - 1);

		memcpy(ck->reason, e->msg, n);
		ck->reason[n] = '\0';
		err_clear(e);
		add_check_json(ck, path, "failed", -1, 0);
		return 1;
	}
	if ((r = wait_check(path, pid, limit, &status, e)) < 0)
		return r;
	if (r == 1) {
		if (by_deadline)
			snprintf(ck->reason, ck->reason_size, "check %.300s: "
			    "killed at the health deadline of %d s", path,
			    ck->deadline);
		else
			snprintf(ck->reason, ck->reason_size, "check %.300s: "
			    "timed out after %d s, killed", path,
			    ck->timeout);
		add_check_json(ck, path, "timeout", -1, now_ms() - start);
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		add_check_json(ck, path, "passed", 0, now_ms() - start);
		if (!ck->quiet)
			printf("check %s: passed (%.2f s)\n", path,
			    (double)(now_ms() - start) / 1000);
		ck->npassed++;
		return 0;
	}
	if (WIFEXITED(status))
		snprintf(ck->reason, ck->reason_size, "check %.300s: exited "
		    "with status %d", path, WEXITSTATUS(status));
	else
		snprintf(ck->reason, ck->reason_size, "check %.300s: killed "
		    "by signal %d (%s)", path, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	add_check_json(ck, path, "failed", WIFEXITED(status) ?
	    WEXITSTATUS(status) : -1, now_ms() - start);
	return 1;
}

static int
skip_hidden(const struct dirent *d)
{
	/* Dot files are editor backups and package manager leftovers. */
	return d->d_name[0] != '.';
}

/* strcmp, not strcoll: the order must not depend on the locale. */
static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/*
 * Runs every executable regular file in [health] directory, in name
 * order, stopping at the first failure. Returns 0 if all passed (or
 * there are none), 1 if one failed (ck->reason), -errno on an agent error.
 */
int
checks_run(struct checks *ck, struct err *e)
{
	struct dirent **list = NULL;
	struct stat sb;
	char **envp = NULL, slotvar[16], *vervar = NULL, path[4096];
	long long deadline;
	int i, n, r = 0;

	if ((n = scandir(ck->directory, &list, skip_hidden,
	    by_name)) == -1) {
		if (errno == ENOENT)
			return 0;
		/* An unreadable folder is not "no checks": never commit
		 * without having run them. */
		snprintf(ck->reason, ck->reason_size, "health directory "
		    "%s: %s", ck->directory, strerror(errno));
		return 1;
	}
	snprintf(slotvar, sizeof(slotvar), "UPKIT_SLOT=%c", ck->slot);
	if (asprintf(&vervar, "UPKIT_VERSION=%s",
	    ck->version != NULL ? ck->version : "") == -1) {
		vervar = NULL;
		r = err_set(e, -ENOMEM, "health: out of memory");
		goto out;
	}
	if ((envp = check_env(slotvar, vervar)) == NULL) {
		r = err_set(e, -ENOMEM, "health: out of memory");
		goto out;
	}
	deadline = now_ms() + (long long)ck->deadline * 1000;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", ck->directory,
		    list[i]->d_name);
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    (sb.st_mode & 0111) == 0) {
			if (!ck->quiet)
				printf("check %s: skipped (not an executable "
				    "file)\n", path);
			continue;
		}
		if (now_ms() >= deadline) {
			snprintf(ck->reason, ck->reason_size, "health "
			    "deadline of %d s reached before check %.300s",
			    ck->deadline, path);
			r = 1;
			break;
		}
		if ((r = run_check(ck, path, envp, deadline, e)) != 0)
			break;
	}
	/* The report names the check by its file name (docs/reports.md). */
	if (r == 1 && i < n)
		snprintf(ck->failed, sizeof(ck->failed), "%s",
		    list[i]->d_name);
out:
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	free(envp);
	free(vervar);
	return r;
}

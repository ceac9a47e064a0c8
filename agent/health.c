/*
 * `upkit health`, `upkit commit`, `upkit rollback`: the end of a trial
 * boot (docs/health.md). health runs at every boot and decides by the
 * booted slot's status in state.json:
 *
 *   trial      run the checks in [health] directory; all pass: commit;
 *              one fails: roll back and reboot into the other slot.
 *   otherwise  if the other slot is the trial one, the bootloader fell
 *              back (the trial slot used up its attempts): record that.
 *              Else make sure the booted slot's counter is full, writing
 *              the env only when it is not (the fast path of every boot).
 *
 * Every transition writes the env first and state.json second: a power
 * cut in between leaves a state that still says "trial" (or names the
 * trial slot), so the next health run redoes the step, and every step is
 * idempotent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/state.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/json.h"
#include "slots/boot/bootenv.h"

extern char **environ;

#define REASON_MAX	384

enum health_cmd {
	HEALTH_RUN,
	HEALTH_COMMIT,
	HEALTH_ROLLBACK,
};

struct health {
	enum health_cmd		 cmd;
	const char		*name;		/* "health", ... */
	const char		*config_arg;
	int			 no_reboot;
	int			 json;
	struct device		*dev;
	char			 booted;
	char			 other;
	cJSON			*checks;	/* --json: one per check */
	int			 npassed;
	int			 fail_code;	/* exit code for -errno */
	char			 reason[REASON_MAX];
};

static int
is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

static const char *
dash(const char *s)
{
	return s != NULL ? s : "-";
}

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
add_check_json(struct health *h, const char *path, const char *result,
    int status, long long ms)
{
	cJSON *o;

	if (h->checks == NULL || (o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "result", result);
	if (status >= 0)
		json_add_uint(o, "status", (uint64_t)status);
	cJSON_AddNumberToObject(o, "seconds", (double)ms / 1000);
	if (!cJSON_AddItemToArray(h->checks, o))
		cJSON_Delete(o);
}

/*
 * Runs one check within its timeout and what is left of the deadline.
 * Returns 0 if it passed, 1 if it failed (h->reason says how), -errno if
 * it could not be waited for.
 */
static int
run_check(struct health *h, const char *path, char **envp,
    long long deadline, struct err *e)
{
	const struct config *c = h->dev->config;
	long long start = now_ms(), limit;
	pid_t pid;
	int by_deadline, r, status = 0;

	limit = start + (long long)c->health_timeout * 1000;
	by_deadline = deadline < limit;
	if (by_deadline)
		limit = deadline;
	if ((r = spawn_check(path, envp, &pid, e)) < 0) {
		/* Not runnable (bad interpreter, no permission) is a failed
		 * check, not an agent error: the image is what is wrong. */
		size_t n = strnlen(e->msg, sizeof(h->reason) - 1);

		memcpy(h->reason, e->msg, n);
		h->reason[n] = '\0';
		err_clear(e);
		add_check_json(h, path, "failed", -1, 0);
		return 1;
	}
	if ((r = wait_check(path, pid, limit, &status, e)) < 0)
		return r;
	if (r == 1) {
		if (by_deadline)
			snprintf(h->reason, sizeof(h->reason), "check %.300s: "
			    "killed at the health deadline of %d s", path,
			    c->health_deadline);
		else
			snprintf(h->reason, sizeof(h->reason), "check %.300s: "
			    "timed out after %d s, killed", path,
			    c->health_timeout);
		add_check_json(h, path, "timeout", -1, now_ms() - start);
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		add_check_json(h, path, "passed", 0, now_ms() - start);
		if (!h->json)
			printf("check %s: passed (%.2f s)\n", path,
			    (double)(now_ms() - start) / 1000);
		h->npassed++;
		return 0;
	}
	if (WIFEXITED(status))
		snprintf(h->reason, sizeof(h->reason), "check %.300s: exited "
		    "with status %d", path, WEXITSTATUS(status));
	else
		snprintf(h->reason, sizeof(h->reason), "check %.300s: killed "
		    "by signal %d (%s)", path, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	add_check_json(h, path, "failed", WIFEXITED(status) ?
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
 * there are none), 1 if one failed (h->reason), -errno on an agent error.
 */
static int
run_checks(struct health *h, struct err *e)
{
	const struct config *c = h->dev->config;
	const struct state_slot *b = &h->dev->state->slot[state_slot_index(h->booted)];
	struct dirent **list = NULL;
	struct stat sb;
	char **envp = NULL, slotvar[16], *vervar = NULL, path[4096];
	long long deadline;
	int i, n, r = 0;

	if ((n = scandir(c->health_directory, &list, skip_hidden,
	    by_name)) == -1) {
		if (errno == ENOENT)
			return 0;
		/* An unreadable folder is not "no checks": never commit
		 * without having run them. */
		snprintf(h->reason, sizeof(h->reason), "health directory "
		    "%s: %s", c->health_directory, strerror(errno));
		return 1;
	}
	snprintf(slotvar, sizeof(slotvar), "UPKIT_SLOT=%c", h->booted);
	if (asprintf(&vervar, "UPKIT_VERSION=%s",
	    b->version != NULL ? b->version : "") == -1) {
		vervar = NULL;
		r = err_set(e, -ENOMEM, "health: out of memory");
		goto out;
	}
	if ((envp = check_env(slotvar, vervar)) == NULL) {
		r = err_set(e, -ENOMEM, "health: out of memory");
		goto out;
	}
	deadline = now_ms() + (long long)c->health_deadline * 1000;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", c->health_directory,
		    list[i]->d_name);
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    (sb.st_mode & 0111) == 0) {
			if (!h->json)
				printf("check %s: skipped (not an executable "
				    "file)\n", path);
			continue;
		}
		if (now_ms() >= deadline) {
			snprintf(h->reason, sizeof(h->reason), "health "
			    "deadline of %d s reached before check %.300s",
			    c->health_deadline, path);
			r = 1;
			break;
		}
		if ((r = run_check(h, path, envp, deadline, e)) != 0)
			break;
	}
out:
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	free(envp);
	free(vervar);
	return r;
}

/* One env store of st, skipped when the env already holds it. */
static int
store_env(struct health *h, const struct bootstate *st, struct err *e)
{
	struct device *d = h->dev;
	int r;

	if (!d->boot_unset && bootstate_equal(&d->boot, st))
		return 0;
	if ((r = d->env_ops->commit(d->env, st, e)) < 0) {
		h->fail_code = EXIT_BOOTENV;
		return err_prefix(e, "boot env");
	}
	d->boot = *st;
	d->boot_unset = 0;
	return 1;
}

static int
record(struct health *h, char slot, const char *result, const char *reason,
    struct err *e)
{
	struct state *s = h->dev->state;
	char now[32], tg[2] = { slot, '\0' };
	int r;

	time_rfc3339(now);
	if ((r = state_set(&s->last_version, s->slot[state_slot_index(slot)].version,
	    e)) < 0 ||
	    (r = state_set(&s->last_target, tg, e)) < 0 ||
	    (r = state_set(&s->last_result, result, e)) < 0 ||
	    (r = state_set(&s->last_reason, reason, e)) < 0 ||
	    (r = state_set(&s->last_time, now, e)) < 0)
		return r;
	return device_save_state(h->dev, e);
}

/* The booted trial slot becomes good; the security floor rises to it. */
static int
commit(struct health *h, struct err *e)
{
	struct state *s = h->dev->state;
	struct state_slot *b = &s->slot[state_slot_index(h->booted)];
	struct bootstate st = h->dev->boot;
	int r;

	/* The trial's floor is in the env (UPKIT_TRIAL_FLOOR) and in the
	 * state; either may be all that is left of it. */
	if (st.trial == h->booted && b->security_version > st.trial_floor)
		st.trial_floor = b->security_version;
	if (st.trial != h->booted) {
		st.trial = h->booted;
		st.trial_floor = b->security_version > st.floor ?
		    b->security_version : st.floor;
	}
	bootstate_commit(&st, h->booted, h->dev->config->boot_attempts);
	if ((r = store_env(h, &st, e)) < 0)
		return r;
	if ((r = state_set(&b->status, "good", e)) < 0)
		return r;
	if (st.floor > s->security_floor)
		s->security_floor = st.floor;
	return record(h, h->booted, "committed", NULL, e);
}

/* The booted slot becomes bad, the other one first with full counters. */
static int
rollback(struct health *h, const char *reason, struct err *e)
{
	struct state_slot *b = &h->dev->state->slot[state_slot_index(h->booted)];
	struct bootstate st = h->dev->boot;
	int r;

	bootstate_mark_bad(&st, h->booted);
	bootstate_mark_good(&st, h->other, h->dev->config->boot_attempts);
	if ((r = store_env(h, &st, e)) < 0)
		return r;
	if ((r = state_set(&b->status, "bad", e)) < 0)
		return r;
	return record(h, h->booted, "rolled-back", reason, e);
}

/* The other slot was on trial but this one booted: it never got to run
 * health, so the bootloader gave up on it. */
static int
fell_back(struct health *h, struct err *e)
{
	struct state *s = h->dev->state;
	struct bootstate st = h->dev->boot;
	int attempts = h->dev->config->boot_attempts, r;

	bootstate_mark_bad(&st, h->other);
	bootstate_mark_good(&st, h->booted, attempts);
	if ((r = store_env(h, &st, e)) < 0)
		return r;
	snprintf(h->reason, sizeof(h->reason), "slot %c did not boot "
	    "(bootloader fell back to %c after %d attempts)", h->other,
	    h->booted, attempts);
	if ((r = state_set(&s->slot[state_slot_index(h->other)].status, "bad",
	    e)) < 0 ||
	    (r = state_set(&s->slot[state_slot_index(h->booted)].status, "good",
	    e)) < 0)
		return r;
	return record(h, h->other, "rolled-back", h->reason, e);
}

/* The outcome: a line of text, or one JSON object. */
static void
report(struct health *h, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct health *h, const char *result, const char *fmt, ...)
{
	const struct state_slot *b;
	va_list ap;
	cJSON *o;
	char msg[1024], bn[2] = { h->booted, '\0' }, *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!h->json) {
		printf("%s\n", msg);
		fflush(stdout);
		return;
	}
	b = &h->dev->state->slot[state_slot_index(h->booted)];
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", "result");
	cJSON_AddStringToObject(o, "result", result);
	cJSON_AddStringToObject(o, "booted", bn);
	if (b->version != NULL)
		cJSON_AddStringToObject(o, "version", b->version);
	else
		cJSON_AddNullToObject(o, "version");
	if (h->reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", h->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddStringToObject(o, "message", msg);
	if (h->checks != NULL) {
		cJSON_AddItemToObject(o, "checks", h->checks);
		h->checks = NULL;
	}
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		cJSON_free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
}

static void
report_error(struct health *h, int code, const struct err *e)
{
	cJSON *o;
	char *s;

	if (!h->json) {
		fprintf(stderr, "upkit %s: %s\n", h->name, e->msg);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", "error");
	json_add_uint(o, "exit", (uint64_t)code);
	cJSON_AddStringToObject(o, "message", e->msg);
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		cJSON_free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
}

/* Rolls back for reason, reports, reboots unless --no-reboot. */
static int
do_rollback(struct health *h, const char *reason, int code, struct err *e)
{
	const struct state_slot *b = &h->dev->state->slot[state_slot_index(h->booted)];
	int r;

	if ((r = rollback(h, reason, e)) < 0)
		return r;
	report(h, "rolled-back", "slot %c (%s): %s: rolled back to slot %c%s",
	    h->booted, dash(b->version), reason, h->other,
	    h->no_reboot ? "" : ", rebooting");
	if (!h->no_reboot && (r = device_reboot(e)) < 0)
		return r;
	return code;
}

static int
health_run(struct health *h, struct err *e)
{
	struct state *s = h->dev->state;
	const struct state_slot *b = &s->slot[state_slot_index(h->booted)];
	const struct state_slot *o = &s->slot[state_slot_index(h->other)];
	struct bootstate st;
	int r;

	/* A blank or corrupt env was rebuilt from state.json when the
	 * device was opened; health runs at every boot, so it stores it. */
	if (h->dev->boot_unset && (r = store_env(h, &h->dev->boot, e)) < 0)
		return r;
	if (is(b->status, "trial")) {
		if (h->json && (h->checks = cJSON_CreateArray()) == NULL)
			return err_set(e, -ENOMEM, "health: out of memory");
		if ((r = run_checks(h, e)) < 0)
			return r;
		if (r == 1)
			return do_rollback(h, h->reason, EXIT_HEALTH, e);
		if ((r = commit(h, e)) < 0)
			return r;
		report(h, "committed", "slot %c (%s): %d health check%s "
		    "passed: committed", h->booted, dash(b->version),
		    h->npassed, h->npassed == 1 ? "" : "s");
		return EXIT_OK;
	}
	if (is(o->status, "trial")) {
		/*
		 * Still first with attempts left: the bootloader has not
		 * tried it yet (no reboot since the install), so there is
		 * nothing to conclude.
		 */
		if (h->dev->boot.order[0] == h->other &&
		    h->dev->boot.left[state_slot_index(h->other)] > 0) {
			report(h, "pending", "slot %c (%s) is armed for a "
			    "trial boot: it boots next", h->other,
			    dash(o->version));
			return EXIT_OK;
		}
		if ((r = fell_back(h, e)) < 0)
			return r;
		report(h, "rolled-back", "%s: update %s recorded as rolled "
		    "back", h->reason, dash(o->version));
		return EXIT_OK;
	}
	if (is(b->status, "bad")) {
		/* Rolled back with --no-reboot: never mark it good again. */
		report(h, "bad", "slot %c is marked bad: the next boot takes "
		    "slot %c", h->booted, h->other);
		return EXIT_OK;
	}
	/* The boot script decremented the counter of this good slot. */
	st = h->dev->boot;
	bootstate_mark_good(&st, h->booted, h->dev->config->boot_attempts);
	if ((r = store_env(h, &st, e)) < 0)
		return r;
	if (r == 1)
		report(h, "good", "slot %c (%s) is good: boot counter reset "
		    "to %d", h->booted, dash(b->version),
		    h->dev->config->boot_attempts);
	else
		report(h, "good", "slot %c (%s) is good", h->booted,
		    dash(b->version));
	return EXIT_OK;
}

static int
commit_run(struct health *h, struct err *e)
{
	const struct state_slot *b =
	    &h->dev->state->slot[state_slot_index(h->booted)];
	int r;

	if (!is(b->status, "trial")) {
		report(h, "none", "slot %c (%s) is not on a trial boot "
		    "(status %s): nothing to commit", h->booted,
		    dash(b->version), dash(b->status));
		return EXIT_OK;
	}
	if ((r = commit(h, e)) < 0)
		return r;
	report(h, "committed", "slot %c (%s): committed without health "
	    "checks", h->booted, dash(b->version));
	return EXIT_OK;
}

static int
rollback_run(struct health *h, struct err *e)
{
	const struct state_slot *o = &h->dev->state->slot[state_slot_index(h->other)];
	const struct bootstate *bs = &h->dev->boot;

	/*
	 * The other slot must be something that boots: not bad, not a
	 * trial nobody checked, and not an empty slot that the env does
	 * not offer either.
	 */
	if (is(o->status, "bad") || is(o->status, "trial") ||
	    (o->status == NULL && o->version == NULL &&
	    (strchr(bs->order, h->other) == NULL ||
	    bs->left[state_slot_index(h->other)] == 0)))
		return err_set(e, -ENOENT, "slot %c is %s: nothing to roll "
		    "back to", h->other, o->status != NULL ? o->status :
		    "empty");
	return do_rollback(h, "manual rollback", EXIT_OK, e);
}

static void
usage(const struct health *h, FILE *f)
{
	fprintf(f, "usage: upkit %s [-c FILE] %s[--json]\n", h->name,
	    h->cmd == HEALTH_COMMIT ? "" : "[--no-reboot] ");
}

static int
parse_args(struct health *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-reboot", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			h->config_arg = optarg;
			break;
		case 'n':
			if (h->cmd == HEALTH_COMMIT) {
				usage(h, stderr);
				return EXIT_USAGE;
			}
			h->no_reboot = 1;
			break;
		case 'j':
			h->json = 1;
			break;
		case 'h':
			usage(h, stdout);
			return EXIT_OK;
		default:
			usage(h, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "upkit %s: unexpected argument \"%s\"\n",
		    h->name, argv[optind]);
		usage(h, stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static int
health_main(enum health_cmd cmd, int argc, char **argv)
{
	static const char *const names[] = {
		[HEALTH_RUN] = "health",
		[HEALTH_COMMIT] = "commit",
		[HEALTH_ROLLBACK] = "rollback",
	};
	struct health h;
	struct err e = { 0, "" };
	enum device_stage stage = DEVICE_CONFIG;
	int rc;

	memset(&h, 0, sizeof(h));
	h.cmd = cmd;
	h.name = names[cmd];
	h.fail_code = EXIT_FAIL;
	if ((rc = parse_args(&h, argc, argv)) >= 0)
		return rc;
	if (device_open(config_path(h.config_arg), &h.dev, &stage, &e) < 0) {
		rc = device_exit_code(stage);
		report_error(&h, rc, &e);
		return rc;
	}
	h.booted = h.dev->booted;
	h.other = h.booted == 'A' ? 'B' : 'A';
	rc = EXIT_FAIL;
	if (device_lock(h.dev, &e) < 0)
		goto fail;
	switch (cmd) {
	case HEALTH_RUN:
		rc = health_run(&h, &e);
		break;
	case HEALTH_COMMIT:
		rc = commit_run(&h, &e);
		break;
	case HEALTH_ROLLBACK:
		rc = rollback_run(&h, &e);
		break;
	}
	if (rc >= 0)
		goto out;
	rc = h.fail_code;
fail:
	report_error(&h, rc, &e);
out:
	cJSON_Delete(h.checks);
	device_free(h.dev);
	return rc;
}

int
cmd_health(int argc, char **argv)
{
	return health_main(HEALTH_RUN, argc, argv);
}

int
cmd_commit(int argc, char **argv)
{
	return health_main(HEALTH_COMMIT, argc, argv);
}

int
cmd_rollback(int argc, char **argv)
{
	return health_main(HEALTH_ROLLBACK, argc, argv);
}

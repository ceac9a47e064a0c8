/*
 * agent/checks: the health checks of a trial boot (docs/health.md). Every
 * executable regular file in a folder runs, in name order (strcmp, not
 * the locale's), each in its own process group with stdin from /dev/null
 * and stdout onto our stderr, within its own timeout and what is left of
 * the overall deadline; the first failure stops the run. Dot files are
 * skipped. No env, no state: what a result means is agent/health.c's.
 */
#ifndef AGENT_CHECKS_H
#define AGENT_CHECKS_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct err;

struct checks {
	/* in */
	const char	*directory;	/* [health] directory */
	int		 timeout;	/* seconds, per check */
	int		 deadline;	/* seconds, for them all */
	char		 slot;		/* UPKIT_SLOT: the booted slot */
	const char	*version;	/* UPKIT_VERSION; NULL: "" */
	int		 quiet;		/* no text line per check (--json) */
	cJSON		*json;		/* NULL, or an array that gets one
					   object per check run */
	/* out */
	int		 npassed;
	char		*reason;	/* the caller's buffer: how the run */
	size_t		 reason_size;	/* failed, when it returns 1 */
	char		 failed[256];	/* the failing check's file name;
					   "" if none (a folder that cannot
					   be read) */
};

/* Runs the checks in c->directory; a missing folder has none. Returns 0
 * if all passed, 1 if one failed or the folder cannot be read (reason
 * says which), -errno if upkit itself failed (e). */
int	checks_run(struct checks *c, struct err *e);

#endif /* AGENT_CHECKS_H */

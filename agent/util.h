/*
 * agent/util: small helpers shared by the agent's commands. Whole reads
 * and writes are common/io's, JSON integers common/json's.
 */
#ifndef AGENT_UTIL_H
#define AGENT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* Whether s is set and equals want: for state.json's optional strings. */
int	str_is(const char *s, const char *want);
/* s, or "-" when it is not set: for display. */
const char *or_dash(const char *s);
/* Current UTC time as RFC 3339 ("2026-11-28T01:02:03Z"). */
void	time_rfc3339(char out[32]);
/* The booted boot name from upkit.slot=X in the kernel command line file
 * (default 'A' when absent). -EBADMSG if X is not A or B. */
int	booted_slot(const char *cmdline_path, char *bootnamep, struct err *e);

#endif /* AGENT_UTIL_H */

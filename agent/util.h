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

/* Whether the open fd can be read as a bundle stream: a regular file, a
 * FIFO, a socket or a character device. -EISDIR ("NAME: is a directory")
 * or -EINVAL for anything else, so that the reason is not a read error
 * blamed on the bundle later. */
int	source_check(int fd, const char *name, struct err *e);
/* Current UTC time as RFC 3339 ("2026-11-28T01:02:03Z"). */
void	time_rfc3339(char out[32]);
/* The booted boot name from upkit.slot=X in the kernel command line file
 * (default 'A' when absent). -EBADMSG if X is not A or B. */
int	booted_slot(const char *cmdline_path, char *bootnamep, struct err *e);

#endif /* AGENT_UTIL_H */

/*
 * agent/util: small helpers shared by the agent's commands. The file
 * helpers retry EINTR and short transfers and name the path in errors;
 * json_add_uint() is the one way an integer goes into JSON.
 */
#ifndef AGENT_UTIL_H
#define AGENT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cJSON;
struct err;

/* Reads a whole file of at most max bytes into a malloc'd buffer with a
 * NUL after the last byte (*lenp excludes it). -EFBIG if larger. */
int	file_read(const char *path, size_t max, char **bufp, size_t *lenp,
	    struct err *e);
/* Replaces path atomically: writes path.tmp, fsyncs, renames, fsyncs
 * the folder. path.tmp is always a new file: anything there, a symlink
 * included, is removed first, never written through. */
int	file_write_atomic(const char *path, const void *buf, size_t len,
	    mode_t mode, struct err *e);
/* fsyncs the folder that holds path (or path itself if a folder). */
int	fsync_dir(const char *dir, struct err *e);
/* mkdir -p with mode. */
int	mkdir_p(const char *dir, mode_t mode, struct err *e);
/* Writes all of buf; -errno. */
int	write_all(int fd, const void *buf, size_t len);
/* Reads up to len bytes, fewer only at end of file. Returns the count
 * or -errno. */
ssize_t	read_full(int fd, void *buf, size_t len);
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
/* Adds v to obj under name as a JSON integer, digit for digit: upkit's
 * one way to write an integer into JSON. cJSON keeps numbers as doubles
 * and prints 15 significant digits, so 2^53 - 1 would come out as
 * 9.00719925474099e+15; this is exact up to 2^64 - 1. -ENOMEM. */
int	json_add_uint(struct cJSON *obj, const char *name, uint64_t v);

#endif /* AGENT_UTIL_H */

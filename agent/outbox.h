/*
 * agent/outbox: reports waiting to be sent, in DATA/outbox/, one file
 * each (docs/reports.md). A report is written atomically and named by a
 * sequence number (0000000042.json), so that name order is creation
 * order. The outbox is capped by a count and a size: making room drops
 * the oldest reports first, and every report dropped, for the cap or
 * because the data directory is full, is counted. The two counters live
 * in the names of empty files (seq.N, dropped.N), moved on by a rename,
 * which needs no free block: they keep counting on a full file system.
 * No network here: sending is agent/report.c's.
 */
#ifndef AGENT_OUTBOX_H
#define AGENT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct err;

#define OUTBOX_DIR	"outbox"

struct outbox_stat {
	uint64_t	count;		/* reports waiting */
	uint64_t	bytes;		/* their size */
	uint64_t	dropped;	/* dropped since the outbox began */
	uint64_t	seq;		/* the last sequence number given */
};

/* What DATA/outbox holds; an outbox not made yet is empty (0). */
int	outbox_stat(const char *datadir, struct outbox_stat *st,
	    struct err *e);
/*
 * Adds report: sets its "seq" (the next number) and "dropped" (the
 * counter, after any drop this put made) and writes it. Before, the
 * oldest reports are dropped until it fits within max_count reports and
 * max_bytes. A write that fails for lack of room (ENOSPC, EDQUOT) drops
 * the oldest and tries again; with none left to drop, the report itself
 * is counted as dropped. Returns 0 if the report is in the outbox, else
 * -errno with e saying what was lost.
 */
int	outbox_put(const char *datadir, unsigned max_count, uint64_t max_bytes,
	    cJSON *report, struct err *e);
/* The waiting reports' file names, oldest first, as a malloc'd array
 * of *np malloc'd strings; free with outbox_names_free(). */
int	outbox_names(const char *datadir, char ***namesp, size_t *np,
	    struct err *e);
void	outbox_names_free(char **names, size_t n);
/* Deletes one report durably (unlink, fsync of the folder); one that
 * is gone already is not an error. */
int	outbox_remove(const char *datadir, const char *name, struct err *e);
/* Counts one report as dropped, then deletes it: for a report that can
 * never be sent (not a report any more). */
int	outbox_drop(const char *datadir, const char *name, struct err *e);

struct config;

struct outbox_sent {
	unsigned	sent;		/* PUT with a 2xx answer, deleted */
	unsigned	bad;		/* unreadable, dropped and counted */
	unsigned	left;		/* still waiting */
};

/*
 * agent/outbox_send.c: sends the outbox once, oldest first: each report
 * with an HTTP PUT to c->report_url expanded with the report's own
 * device, time, seq and result (agent/reporturl.h), over [server]'s TLS
 * options. A report is deleted only after a 2xx answer; the first
 * failure stops the run, keeping it and every later report. Loads
 * libcurl (source_put()). -ENOENT without a report-url.
 */
int	outbox_send(const struct config *c, struct outbox_sent *st,
	    struct err *e);

#endif /* AGENT_OUTBOX_H */

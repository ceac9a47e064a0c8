/*
 * agent/report: the report of an update's outcome (docs/reports.md), made
 * only once the outcome is stored: after lifecycle_commit(),
 * lifecycle_rollback() or lifecycle_fell_back() in health, and after a
 * verified bundle failed to install in update. It goes into the outbox
 * (agent/outbox.h); nothing here touches the network, so health never
 * loads libcurl. A report that cannot be kept never changes the
 * command's outcome or exit code: report_due() and
 * report_install_failed() say so in one line on stderr.
 */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <stdint.h>

#include <cjson/cJSON.h>

struct device;
struct err;

#define REPORT_FORMAT	1

enum report_result {
	REPORT_COMMITTED,	/* health passed; the slot is committed */
	REPORT_ROLLED_BACK,	/* a check failed, or a manual rollback */
	REPORT_FELL_BACK,	/* the bootloader fell back before health */
	REPORT_INSTALL_FAILED,	/* a verified bundle did not install */
	REPORT_REFUSED,		/* the daemon refused a channel or a
				   release: nothing was written */
};

/* Every field of a report but seq and dropped (the outbox's). Strings
 * may be NULL (JSON null). */
struct report_doc {
	const char		*device;
	const char		*compatible;
	enum report_result	 result;
	const char		*reason;
	const char		*check;		/* failing check's file name */
	char			 from_slot, to_slot;
	const char		*from_version, *from_bundle;
	const char		*to_version, *to_bundle;
	const char		*time;		/* the outcome, RFC 3339 */
	const char		*started;	/* the install's start */
	const char		*ended;		/* its end: the arm or the
						   failure */
	int64_t			 arm_to_outcome;  /* s; -1: unknown */
	int64_t			 boot_to_outcome; /* s; -1: unknown */
	uint64_t		 fetched, refetched;
};

/* "committed", "rolled-back", "fell-back", "install-failed",
 * "refused". */
const char *report_result_name(enum report_result r);
/* The document as JSON; NULL if out of memory. Free with cJSON_Delete. */
cJSON	*report_json(const struct report_doc *doc);

/*
 * Health, commit, rollback: the report that state.json says is due
 * (lifecycle.h, "report_due": set by the outcome's own save), from what
 * state.json holds, into the outbox; then the duty is cleared. Nothing
 * due: nothing done. A power cut before the clear makes the next call
 * report it again: at least once, never lost. cmd names the command in
 * the warning lines.
 */
void	report_due(struct device *d, const char *cmd);
/* Update: a verified bundle (version, id) failed with reason on its way
 * into slot target, after fetched bytes (refetched of them again) from
 * a start at started. */
int	report_install_failed(struct device *d, char target,
	    const char *version, const char *bundle, const char *reason,
	    const char *started, uint64_t fetched, uint64_t refetched);
/* The daemon: it refused a channel or a release (version, when one was
 * named) for reason; nothing reached a slot. */
int	report_refused(struct device *d, const char *version,
	    const char *reason);

#endif /* AGENT_REPORT_H */

/*
 * agent/update: the install state machine (update.c) as a function, for
 * `upkit update` (update_cmd.c parses its command line) and for the
 * daemon, which installs the release a channel names and must be sure
 * the bundle it gets is that one.
 */
#ifndef AGENT_UPDATE_H
#define AGENT_UPDATE_H

#include <stdint.h>

#include "agent/progress.h"

struct err;

struct update_opts {
	const char		*config;	/* -c; NULL: config_path() */
	const char		*name;		/* in messages ("upkit: NAME:
						   ..."); NULL: "update" */
	const char		*from;		/* path, "-" or URL */
	int			 allow_downgrade;
	int			 no_reboot;
	enum progress_mode	 progress;
	/* From a channel: the bundle must have this id (hex, as
	 * bundle_reader_id()) and, where the source knows it, this size;
	 * checked after the signature, before anything is written, else
	 * EXIT_POLICY. NULL and 0: not checked. */
	const char		*expect_id;
	uint64_t		 expect_size;
	struct err		*err;	/* if not NULL: the failure's message */
};

/* Installs o->from into the inactive slots and arms them (reboots
 * unless o->no_reboot). Prints its steps, result or error. Returns the
 * exit code (docs/exit-codes.md): 0 once armed, 128 + n for a stop
 * signal n. */
int	update_run(const struct update_opts *o);

#endif /* AGENT_UPDATE_H */

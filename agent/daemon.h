/*
 * agent/daemon: `upkit daemon` (docs/daemon.md). daemon.c is the long
 * lived parent: it sleeps until the next poll and forks a child for each
 * cycle, so that libcurl and its TLS stack are never loaded into the
 * process that stays. poll.c is one cycle: fetch the channel, verify and
 * accept it, select the release, install it, reboot when allowed; what
 * must persist goes to state.json's daemon object.
 */
#ifndef AGENT_DAEMON_H
#define AGENT_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#define DAEMON_CHANNEL_FILE	"channel.upc"	/* in the data directory */
#define DAEMON_JITTER_PCT	10	/* ± of every wait */
#define DAEMON_BACKOFF_DIV	16	/* first wait after a failure:
					   interval / 16, at least 10 s */

struct daemon_opts {
	const char	*config;	/* -c; NULL: config_path() */
	int		 no_reboot;
};

/* One cycle. Returns its exit code (docs/daemon.md, "Exit codes"):
 * EXIT_OK nothing to install, EXIT_INSTALLED a release armed, 5 or 6 a
 * channel or bundle refused, 128 + n stopped by signal n, others an
 * error. Prints one line per event on stderr. */
int	daemon_cycle(const struct daemon_opts *o);

/* ref resolved against base (an http(s) URL) into out: ref itself when
 * absolute (a scheme), base's scheme and host with ref when ref starts
 * with "/", else base up to its last "/" with ref (RFC 3986, 5.2, for
 * the forms a channel allows; dot segments are left to the server).
 * Query and fragment of base are dropped. -ENAMETOOLONG, or -EINVAL for
 * a "//host" ref or a base without a host. */
int	daemon_url_resolve(const char *base, const char *ref, char *out,
	    size_t outsz);

/* Seconds to wait before the next poll: interval ± DAEMON_JITTER_PCT,
 * or after fails failed polls in a row, from interval /
 * DAEMON_BACKOFF_DIV (at least 10 s) doubled per failure up to interval,
 * with the same jitter. rng is a xorshift state (nonzero). */
unsigned daemon_delay(unsigned interval, unsigned fails, uint64_t *rng);

#endif /* AGENT_DAEMON_H */

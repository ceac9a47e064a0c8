/*
 * `upkit report send`: sends the outbox once (agent/outbox_send.c), for
 * cron, tests and the daemon's loop alike. Needs only the config: not
 * the boot env, not the lock (a report is deleted only after its 2xx,
 * and a PUT sent twice lands on the same name).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/exitcode.h"
#include "agent/outbox.h"
#include "common/err.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: upkit report send [-c FILE]\n"
	    "  -c, --config FILE  config file (default $UPKIT_CONFIG or "
	    CONFIG_DEFAULT_PATH ")\n"
	    "  -h, --help         this help\n");
}

static int
parse_args(int argc, char **argv, const char **cfgp)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*cfgp = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "upkit report send: unexpected argument "
		    "\"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_report_send(int argc, char **argv)
{
	struct config *c = NULL;
	struct outbox_sent st;
	struct err e = { 0, "" };
	const char *cfg = NULL;
	int r, rc;

	if ((rc = parse_args(argc, argv, &cfg)) >= 0)
		return rc;
	if ((r = config_load(config_path(cfg), &c, &e)) < 0) {
		fprintf(stderr, "upkit report send: %s\n", e.msg);
		return exitcode_for(FAIL_CONFIG, r);
	}
	r = outbox_send(c, &st, &e);
	printf("sent %u report%s, %u left in the outbox\n", st.sent,
	    st.sent == 1 ? "" : "s", st.left);
	if (st.bad > 0)
		fprintf(stderr, "upkit report send: warning: %u unreadable "
		    "report%s dropped and counted\n", st.bad,
		    st.bad == 1 ? "" : "s");
	rc = EXIT_OK;
	if (r < 0) {
		fprintf(stderr, "upkit report send: %s\n", e.msg);
		/* No report-url is the config's fault; anything else
		 * (the server, the network, the disk) is 1. */
		rc = exitcode_for(r == -ENOENT && c->report_url == NULL ?
		    FAIL_CONFIG : FAIL_OTHER, r);
	}
	config_free(c);
	return rc;
}

/*
 * `upkit report send`: sends the outbox once (agent/outbox_send.c), for
 * cron, tests and the daemon's loop alike. Needs only the config: not
 * the boot env, not the lock (a report is deleted only after its 2xx,
 * and a PUT sent twice lands on the same name).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/exitcode.h"
#include "agent/outbox.h"
#include "common/err.h"

const struct cli_cmd cli_report_send = {
	"report send", "[OPTIONS]",
	"PUT the outbox's reports to the server",
	CLI_CONFIG, NULL, cmd_report_send,
};

int
cmd_report_send(int argc, char **argv)
{
	struct config *c = NULL;
	struct outbox_sent st;
	struct err e = { 0, "" };
	struct cli_parse p;
	int r, rc;

	cli_begin(&p, &cli_report_send, argc, argv);
	while (cli_next(&p) != -1)
		;
	if ((rc = cli_end(&p, 0, 0, NULL)) >= 0)
		return rc;
	if ((r = config_load(config_path(cli.config), &c, &e)) < 0) {
		cli_error(p.cmd->name, "%s", e.msg);
		return exitcode_for(FAIL_CONFIG, r);
	}
	r = outbox_send(c, &st, &e);
	printf("sent %u report%s, %u left in the outbox\n", st.sent,
	    st.sent == 1 ? "" : "s", st.left);
	if (st.bad > 0)
		cli_warn(p.cmd->name, "%u unreadable "
		    "report%s dropped and counted", st.bad,
		    st.bad == 1 ? "" : "s");
	rc = EXIT_OK;
	if (r < 0) {
		cli_error(p.cmd->name, "%s", e.msg);
		/* No report-url is the config's fault; anything else
		 * (the server, the network, the disk) is 1. */
		rc = exitcode_for(r == -ENOENT && c->report_url == NULL ?
		    FAIL_CONFIG : FAIL_OTHER, r);
	}
	config_free(c);
	return rc;
}

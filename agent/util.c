#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"

int
str_is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

void
time_rfc3339(char out[32])
{
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
booted_slot(const char *cmdline_path, char *bootnamep, struct err *e)
{
	char *buf, *p, *tok, *save = NULL;
	size_t len;
	int r;

	*bootnamep = 'A';
	if ((r = file_read(cmdline_path, 64 * 1024, &buf, &len, e)) < 0)
		return err_prefix(e, "kernel command line");
	for (p = buf; (tok = strtok_r(p, " \t\n", &save)) != NULL; p = NULL) {
		if (strncmp(tok, "upkit.slot=", 11) != 0)
			continue;
		if ((tok[11] != 'A' && tok[11] != 'B') || tok[12] != '\0') {
			r = err_set(e, -EBADMSG, "%s: upkit.slot=%s: "
			    "expected A or B", cmdline_path, tok + 11);
			break;
		}
		*bootnamep = tok[11];
	}
	free(buf);
	return r;
}

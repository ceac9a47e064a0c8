/*
 * cli_test: the command line every command shares (agent/cli.c), for
 * every command in cli_commands[]:
 * - --help exits 0 and names every long option of the getopt table the
 *   command parses with (cli_begin() builds it, globals included), and
 *   its short letter where it has one;
 * - every --option its --help names is one getopt takes;
 * - an unknown option, one missing its argument and one given a value
 *   it does not take each exit 2 with one line that starts "upkit: NAME: ";
 * - no command gives q, v, h (or c, when it reads upkit.conf) a meaning
 *   of its own, nor two options the same name, and none has more
 *   options than the table holds.
 */
#include <ctype.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "tests/harness.h"

/* argv[0] of cmd: the last word of its name. */
static char *
word(const struct cli_cmd *cmd)
{
	const char *sp = strrchr(cmd->name, ' ');

	return (char *)(sp != NULL ? sp + 1 : cmd->name);
}

static int
run(const struct cli_cmd *cmd, const char *a1, const char *a2)
{
	return capture_args(cmd->fn, word(cmd), a1, a2, NULL);
}

/* "--name" in text as a word of its own: not inside --name-more. */
static int
names(const char *text, const char *opt)
{
	const char *s = text;
	size_t n = strlen(opt);

	while ((s = strstr(s, opt)) != NULL) {
		if (s[n] != '-' && !isalnum((unsigned char)s[n]) &&
		    (s == text || s[-1] == ' ' || s[-1] == '['))
			return 1;
		s += n;
	}
	return 0;
}

/* The first line of errout starts "upkit: NAME: " and has what in it;
 * the usage follows. */
static void
check_error(const struct cli_cmd *cmd, const char *what)
{
	char head[80];

	snprintf(head, sizeof(head), "upkit: %s: ", cmd->name);
	if (strncmp(errout, head, strlen(head)) != 0 ||
	    strstr(errout, what) == NULL ||
	    strstr(errout, what) > strchr(errout, '\n')) {
		fprintf(stderr, "%s: expected '%s...%s', got: %s\n",
		    cmd->name, head, what, errout);
		CHECK(0);
	}
	CHECK(strstr(errout, "\nusage: upkit ") != NULL);
	CHECK(out[0] == '\0');
}

static void
check_table(const struct cli_cmd *cmd, const struct cli_parse *p)
{
	size_t i, j, n = 0;

	for (i = 0; cmd->opts != NULL && cmd->opts[i].name != NULL; i++) {
		CHECK(cmd->opts[i].val != 'q' && cmd->opts[i].val != 'v' &&
		    cmd->opts[i].val != 'h');
		CHECK(cmd->opts[i].val != 'c' || !(cmd->flags & CLI_CONFIG));
		CHECK(cmd->opts[i].help != NULL && cmd->opts[i].val != 0);
	}
	/* cli_begin() drops what does not fit; all of it must. */
	n = i + 3 + (cmd->flags & CLI_CONFIG ? 1 : 0);
	CHECK(n <= CLI_MAX_OPTS);
	for (i = 0; p->lo[i].name != NULL; i++)
		for (j = i + 1; p->lo[j].name != NULL; j++)
			CHECK(strcmp(p->lo[i].name, p->lo[j].name) != 0 &&
			    p->lo[i].val != p->lo[j].val);
	CHECK(i == n);
}

/* Every long option of the getopt table in --help. */
static void
check_help(const struct cli_cmd *cmd)
{
	struct cli_parse p;
	char opt[80], label[84];
	size_t i;

	cli_begin(&p, cmd, 1, (char *[]){ word(cmd), NULL });
	check_table(cmd, &p);
	CHECK(run(cmd, "--help", NULL) == EXIT_OK);
	CHECK(errout[0] == '\0');
	snprintf(label, sizeof(label), "usage: upkit %s ", cmd->name);
	CHECK(strncmp(out, label, strlen(label)) == 0);
	for (i = 0; p.lo[i].name != NULL; i++) {
		snprintf(opt, sizeof(opt), "--%s", p.lo[i].name);
		if (!names(out, opt)) {
			fprintf(stderr, "%s --help does not list %s:\n%s",
			    cmd->name, opt, out);
			CHECK(0);
		}
		if (p.lo[i].val > 0 && p.lo[i].val < 128) {
			snprintf(label, sizeof(label), "-%c, --%s",
			    p.lo[i].val, p.lo[i].name);
			CHECK(strstr(out, label) != NULL);
		}
	}
}

/* Every --option that --help names is taken: given (with an argument
 * when --help shows one) before --help, the command still prints its
 * help, or at worst refuses the value (bundle create --image x: no
 * such file), never the option. */
static void
check_accepted(const struct cli_cmd *cmd)
{
	char help[sizeof(out)], opt[80], *s, *t;
	size_t n;
	int rc;

	CHECK(run(cmd, "--help", NULL) == EXIT_OK);
	memcpy(help, out, sizeof(help));
	for (s = strstr(help, "\n  "); s != NULL; s = strstr(s + 1, "\n  ")) {
		if ((t = strstr(s, "--")) == NULL || t > strchr(s + 1, '\n'))
			continue;
		n = strcspn(t, " \n");
		snprintf(opt, sizeof(opt), "%.*s", (int)n, t);
		/* "--from FILE|URL|-": a word after one space is its
		 * argument; two spaces start the description. */
		if (t[n] == ' ' && t[n + 1] != ' ')
			rc = capture_args(cmd->fn, word(cmd), opt, "x",
			    "--help", NULL);
		else
			rc = capture_args(cmd->fn, word(cmd), opt, "--help",
			    NULL);
		if (strstr(errout, "unknown option") != NULL ||
		    strstr(errout, "needs an argument") != NULL ||
		    strstr(errout, "takes no argument") != NULL) {
			fprintf(stderr, "%s: %s from --help refused (%d): %s",
			    cmd->name, opt, rc, errout);
			CHECK(0);
		}
	}
}

static void
check_errors(const struct cli_cmd *cmd)
{
	struct cli_parse p;
	char opt[80];
	size_t i;

	CHECK(run(cmd, "--no-such-option", NULL) == EXIT_USAGE);
	check_error(cmd, "unknown option --no-such-option");
	CHECK(run(cmd, "-Z", NULL) == EXIT_USAGE);
	check_error(cmd, "unknown option -Z");
	CHECK(run(cmd, "--help=x", NULL) == EXIT_USAGE);
	check_error(cmd, "option --help takes no argument");
	cli_begin(&p, cmd, 1, (char *[]){ word(cmd), NULL });
	for (i = 0; p.lo[i].name != NULL; i++) {
		if (p.lo[i].has_arg != required_argument)
			continue;
		snprintf(opt, sizeof(opt), "--%s", p.lo[i].name);
		CHECK(run(cmd, opt, NULL) == EXIT_USAGE);
		snprintf(opt, sizeof(opt), "option --%s needs an argument",
		    p.lo[i].name);
		check_error(cmd, opt);
	}
}

int
main(void)
{
	const struct cli_cmd *const *c;
	int n = 0;

	/* No command may find a real config by accident. */
	setenv("UPKIT_CONFIG", "/nonexistent/upkit.conf", 1);
	for (c = cli_commands; *c != NULL; c++, n++) {
		check_help(*c);
		check_accepted(*c);
		check_errors(*c);
	}
	CHECK(n >= 18);
	printf("cli: %d commands: --help lists their getopt tables, every "
	    "error starts \"upkit: \"\n", n);
	return 0;
}

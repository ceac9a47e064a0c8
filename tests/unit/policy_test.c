/* policy_test: version order and every way a bundle is refused. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "tests/check.h"
#include "verify/bundle.h"
#include "verify/policy.h"

/* Each pair is strictly increasing: a < b. */
static const char *const less[][2] = {
	{ "1.0.0", "2.0.0" },
	{ "2.0.0", "2.1.0" },
	{ "2.1.0", "2.1.1" },
	{ "1.9.0", "1.10.0" },
	{ "1.0.0-alpha", "1.0.0" },
	/* The SemVer 2.0 precedence example, in order. */
	{ "1.0.0-alpha", "1.0.0-alpha.1" },
	{ "1.0.0-alpha.1", "1.0.0-alpha.beta" },
	{ "1.0.0-alpha.beta", "1.0.0-beta" },
	{ "1.0.0-beta", "1.0.0-beta.2" },
	{ "1.0.0-beta.2", "1.0.0-beta.11" },
	{ "1.0.0-beta.11", "1.0.0-rc.1" },
	{ "1.0.0-rc.1", "1.0.0" },
	{ "1.0.0-rc.1+build.9", "1.0.0" },
	{ "99999999999999999999.0.0", "100000000000000000000.0.0" },
	/* Not SemVer: piecewise. */
	{ "1.0", "1.2" },
	{ "1.2", "1.2.0" },
	{ "1.2", "1.10" },
	{ "2023.9", "2023.10" },
	{ "1.2.3.4", "1.2.3.5" },
	{ "1.2.3a", "1.2.rc" },		/* mixed pieces: ASCII order */
	{ "1.2.3", "1.2.3.1" },
	{ "1.2.3", "1.2.x" },		/* numeric < alpha */
	{ "1.0~a", "1.0~b" },
	{ "1.0-1", "1.0-2" },
	{ "a", "b" },
};

static const char *const same[][2] = {
	{ "1.2.3", "1.2.3" },
	{ "1.2.3+a", "1.2.3+b" },	/* build metadata is ignored */
	{ "1.2.3-rc.1+x", "1.2.3-rc.1" },
	{ "1.02", "1.2" },
	{ "1_2", "1.2" },
};

static struct manifest *
mk(struct manifest *m, const char *compatible, const char *version,
    uint64_t sv)
{
	memset(m, 0, sizeof(*m));
	m->compatible = (char *)(uintptr_t)compatible;
	m->version = (char *)(uintptr_t)version;
	m->security_version = sv;
	return m;
}

int
main(void)
{
	struct policy p = { "qemu-aarch64", "1.2", 3, 0 };
	struct manifest m;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(less) / sizeof(less[0]); i++) {
		if (version_compare(less[i][0], less[i][1]) >= 0 ||
		    version_compare(less[i][1], less[i][0]) <= 0) {
			fprintf(stderr, "%s < %s\n", less[i][0], less[i][1]);
			CHECK(0);
		}
	}
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (version_compare(same[i][0], same[i][1]) != 0) {
			fprintf(stderr, "%s == %s\n", same[i][0], same[i][1]);
			CHECK(0);
		}
	}

	CHECK_OK(policy_check(&p, mk(&m, "qemu-aarch64", "1.3", 3), &e), &e);
	CHECK(policy_check(&p, mk(&m, "foo", "1.3", 3), &e) == -EPERM);
	CHECK(strcmp(e.msg, "compatible \"foo\" does not match this device "
	    "(\"qemu-aarch64\")") == 0);
	CHECK(policy_check(&p, mk(&m, "qemu-aarch64", "1.0", 3), &e) ==
	    -EPERM);
	CHECK(strcmp(e.msg, "version 1.0 is not newer than the installed 1.2 "
	    "(use --allow-downgrade)") == 0);
	CHECK(policy_check(&p, mk(&m, "qemu-aarch64", "1.2", 3), &e) ==
	    -EPERM);
	CHECK(policy_check(&p, mk(&m, "qemu-aarch64", "1.3", 2), &e) ==
	    -EPERM);
	CHECK(strcmp(e.msg, "security_version 2 is below this device's "
	    "floor 3") == 0);

	p.allow_downgrade = 1;
	CHECK_OK(policy_check(&p, mk(&m, "qemu-aarch64", "1.0", 3), &e), &e);
	/* No flag lowers the security floor. */
	CHECK(policy_check(&p, mk(&m, "qemu-aarch64", "1.0", 2), &e) ==
	    -EPERM);
	CHECK(strstr(e.msg, "security_version") != NULL);
	CHECK(policy_check(&p, mk(&m, "other", "1.3", 3), &e) == -EPERM);

	/* Nothing installed: any version. */
	p.allow_downgrade = 0;
	p.installed_version = NULL;
	CHECK_OK(policy_check(&p, mk(&m, "qemu-aarch64", "0.0.1", 3), &e),
	    &e);
	CHECK_OK(policy_check(&p, mk(&m, "qemu-aarch64", "0.0.1", 9), &e),
	    &e);
	return 0;
}

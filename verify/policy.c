/*
 * verify/policy: version ordering and the acceptance checks made before
 * anything is written. The security floor is checked regardless of
 * allow_downgrade: it is what stops a signed but vulnerable old release
 * from being installed again.
 */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "verify/bundle.h"
#include "verify/policy.h"

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Numeric strings of any length, so "99999999999999999999" cannot
 * overflow into a small number. */
static int
cmp_num(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	while (an > 1 && *a == '0')
		a++, an--;
	while (bn > 1 && *b == '0')
		b++, bn--;
	if (an != bn)
		return an < bn ? -1 : 1;
	c = memcmp(a, b, an);
	return (c > 0) - (c < 0);
}

/* Alphanumeric identifiers: ASCII order, a prefix sorts first. */
static int
cmp_alpha(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	c = memcmp(a, b, an < bn ? an : bn);
	if (c != 0)
		return (c > 0) - (c < 0);
	return (an > bn) - (an < bn);
}

/* Numeric identifiers sort before alphanumeric ones, in SemVer and in
 * the fallback alike. */
static int
cmp_ident(const char *a, size_t an, const char *b, size_t bn)
{
	int na = all_digits(a, an), nb = all_digits(b, bn);

	if (na && nb)
		return cmp_num(a, an, b, bn);
	if (na != nb)
		return na ? -1 : 1;
	return cmp_alpha(a, an, b, bn);
}

/* A numeric SemVer field: digits, no leading zero unless just "0". */
static size_t
semver_num(const char *s)
{
	size_t n = 0;

	while (is_digit((unsigned char)s[n]))
		n++;
	if (n > 1 && s[0] == '0')
		return 0;
	return n;
}

/*
 * Checks s is MAJOR.MINOR.PATCH[-PRE][+BUILD]; sets *pre to the
 * pre-release (length *prelen, 0 if none). Returns the length of the
 * core, or 0 if s is not SemVer.
 */
static size_t
semver_split(const char *s, const char **pre, size_t *prelen)
{
	const char *p = s, *id;
	size_t n, core;
	int i;

	for (i = 0; i < 3; i++) {
		if ((n = semver_num(p)) == 0)
			return 0;
		p += n;
		if (i < 2 && *p++ != '.')
			return 0;
	}
	core = (size_t)(p - s);
	*pre = p;
	*prelen = 0;
	if (*p == '-') {
		*pre = ++p;
		for (;;) {
			id = p;
			while (is_digit((unsigned char)*p) ||
			    (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') || *p == '-')
				p++;
			if (p == id || (all_digits(id, (size_t)(p - id)) &&
			    p - id > 1 && *id == '0'))
				return 0;
			if (*p != '.')
				break;
			p++;
		}
		*prelen = (size_t)(p - *pre);
	}
	if (*p == '+') {
		/* Build metadata: validated loosely, ignored for order. */
		for (p++; *p != '\0'; p++)
			if (!is_digit((unsigned char)*p) &&
			    !(*p >= 'a' && *p <= 'z') &&
			    !(*p >= 'A' && *p <= 'Z') && *p != '-' && *p != '.')
				return 0;
	}
	return *p == '\0' ? core : 0;
}

/* Compares two strings piece by piece, pieces separated by any of seps;
 * when all pieces are equal the string with fewer sorts first. */
static int
cmp_pieces(const char *a, size_t an, const char *b, size_t bn,
    const char *seps)
{
	size_t ai = 0, bi = 0, as, bs;
	int c;

	for (;;) {
		while (ai < an && strchr(seps, a[ai]) != NULL)
			ai++;
		while (bi < bn && strchr(seps, b[bi]) != NULL)
			bi++;
		if (ai == an || bi == bn)
			return (ai < an) - (bi < bn);
		for (as = ai; ai < an && strchr(seps, a[ai]) == NULL; ai++)
			;
		for (bs = bi; bi < bn && strchr(seps, b[bi]) == NULL; bi++)
			;
		if ((c = cmp_ident(a + as, ai - as, b + bs, bi - bs)) != 0)
			return c;
	}
}

int
version_compare(const char *a, const char *b)
{
	const char *apre, *bpre;
	size_t acore, bcore, apl, bpl;
	int c;

	acore = semver_split(a, &apre, &apl);
	bcore = semver_split(b, &bpre, &bpl);
	if (acore == 0 || bcore == 0)
		return cmp_pieces(a, strlen(a), b, strlen(b), ".-+~_");
	if ((c = cmp_pieces(a, acore, b, bcore, ".")) != 0)
		return c;
	/* A release sorts after its pre-releases. */
	if (apl == 0 || bpl == 0)
		return (apl == 0) - (bpl == 0);
	return cmp_pieces(apre, apl, bpre, bpl, ".");
}

int
policy_check(const struct policy *p, const struct manifest *m,
    struct err *e)
{
	if (p->compatible == NULL || strcmp(m->compatible, p->compatible) != 0)
		return err_set(e, -EPERM, "compatible \"%s\" does not match "
		    "this device (\"%s\")", m->compatible,
		    p->compatible != NULL ? p->compatible : "");
	if (m->security_version < p->security_floor)
		return err_set(e, -EPERM, "security_version %llu is below "
		    "this device's floor %llu",
		    (unsigned long long)m->security_version,
		    (unsigned long long)p->security_floor);
	if (p->installed_version != NULL && !p->allow_downgrade &&
	    version_compare(m->version, p->installed_version) <= 0)
		return err_set(e, -EPERM, "version %s is not newer than the "
		    "installed %s (use --allow-downgrade)", m->version,
		    p->installed_version);
	return 0;
}

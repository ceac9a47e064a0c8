/*
 * verify/policy: what a device accepts, checked before any write:
 * compatible equals the device's; the version is newer than the installed
 * one unless downgrades are allowed; security_version is at least the
 * device's floor, which no flag overrides.
 */
#ifndef VERIFY_POLICY_H
#define VERIFY_POLICY_H

#include <stdint.h>

struct err;
struct manifest;

struct policy {
	const char	*compatible;		/* the device's */
	const char	*installed_version;	/* NULL: nothing installed */
	uint64_t	 security_floor;
	int		 allow_downgrade;
};

/* Compares versions: semantic versions (1.2.3-rc.1+build) by SemVer 2.0
 * precedence, other dotted strings piece by piece, numbers numerically.
 * Returns <0, 0 or >0. */
int	version_compare(const char *a, const char *b);

/* 0, or -EPERM with a message naming the field and both values. */
int	policy_check(const struct policy *p, const struct manifest *m,
	    struct err *e);

#endif /* VERIFY_POLICY_H */

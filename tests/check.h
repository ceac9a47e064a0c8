/* tests/check.h: CHECK, CHECK_OK and SKIP; tests/harness.h has the rest. */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n",		\
		    __FILE__, __LINE__, #cond);				\
		exit(1);						\
	}								\
} while (0)
/* Checks a call returning 0 or -errno and prints its struct err. */
#define CHECK_OK(call, e) do {						\
	int check_r_ = (call);						\
	if (check_r_ != 0) {						\
		fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__,	\
		    __LINE__, #call, check_r_, (e)->msg);		\
		exit(1);						\
	}								\
} while (0)
#define SKIP(why) do {							\
	fprintf(stderr, "skipped: %s\n", (why));			\
	exit(77);							\
} while (0)

#endif /* TESTS_CHECK_H */

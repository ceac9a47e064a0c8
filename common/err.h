/*
 * err: the one error type every module shares. A function that can fail
 * returns 0 or a negative errno and fills a caller-owned struct err with a
 * message that names the object. Callers add context with err_prefix().
 * This header includes nothing.
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

struct err {
	int	code;		/* negative errno; 0 means no error */
	char	msg[512];
};

/* Sets code and message; returns code. */
int	err_set(struct err *e, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the message; returns e->code. */
int	err_prefix(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Clears the error. */
void	err_clear(struct err *e);

#endif /* COMMON_ERR_H */

/*
 * host/plan: the payload sources of a bundle being made. A source is a
 * class, a kind and a list of byte ranges of host files (or of bytes
 * made here). Adding one checks names and counts only; no payload byte
 * is read here.
 */
#ifndef HOST_PLAN_H
#define HOST_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "verify/bundle.h"

struct err;

/* One stretch of a host file, or bytes made here (data); for kind files
 * it is one file. */
struct create_range {
	char		*name;		/* file path inside the payload */
	char		*path;		/* host file holding the bytes */
	uint8_t		*data;		/* or the bytes themselves (size) */
	uint64_t	 offset;	/* of the bytes in path */
	uint64_t	 size;
	uint32_t	 mode;		/* permission bits */
};

struct create_source {
	char			*class;		/* also the payload name */
	enum payload_kind	 kind;
	char			*origin;	/* what the user named */
	size_t			 nranges;
	struct create_range	*ranges;
};

struct create_plan {
	size_t			 nsources;
	struct create_source	 sources[BUNDLE_PAYLOADS_MAX];
};

/* One source of one range: a file, or a stretch of one (offset and size
 * in path), named name in the payload. */
int	create_add_range(struct create_plan *p, const char *class,
	    enum payload_kind kind, const char *origin, const char *name,
	    const char *path, uint64_t off, uint64_t size, uint32_t mode,
	    struct err *e);
void	create_plan_clear(struct create_plan *p);	/* frees, re-inits */

/* For the readers of inputs (host/inputs.c, esp.c, lkoutputs.c): a new
 * source for class (-EEXIST if the class has one, naming both; the
 * caller adds ranges, or drops it on failure), ranges added to it (the
 * data one takes data, malloc'd, also on failure; origin names it in
 * messages), and the last source dropped after a failure. */
int	create_source_new(struct create_plan *p, const char *class,
	    enum payload_kind kind, const char *origin,
	    struct create_source **sp, struct err *e);
int	create_range_add(struct create_source *s, const char *name,
	    const char *path, uint64_t off, uint64_t size, uint32_t mode,
	    struct err *e);
int	create_range_add_data(struct create_source *s, const char *name,
	    const char *origin, uint8_t *data, size_t size, uint32_t mode,
	    struct err *e);
void	create_plan_drop(struct create_plan *p);

#endif /* HOST_PLAN_H */

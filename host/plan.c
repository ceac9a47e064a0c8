/*
 * host/plan: the payload sources of a bundle being made (host/plan.h):
 * each a class, a kind and a list of byte ranges, owned here and freed
 * with the plan. The readers of inputs (host/inputs.c, esp.c,
 * lkoutputs.c) fill it; host/compress.c reads the bytes it names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "host/plan.h"
#include "verify/bundle.h"

static void
source_clear(struct create_source *s)
{
	size_t i;

	for (i = 0; i < s->nranges; i++) {
		free(s->ranges[i].name);
		free(s->ranges[i].path);
		free(s->ranges[i].data);
	}
	free(s->ranges);
	free(s->class);
	free(s->origin);
	memset(s, 0, sizeof(*s));
}

void
create_plan_clear(struct create_plan *p)
{
	size_t i;

	for (i = 0; i < p->nsources; i++)
		source_clear(&p->sources[i]);
	p->nsources = 0;
}

int
create_source_new(struct create_plan *p, const char *class, enum payload_kind kind,
    const char *origin, struct create_source **sp, struct err *e)
{
	struct create_source *s;
	size_t i;

	if (!bundle_name_valid(class))
		return err_set(e, -EINVAL, "%s: class \"%s\" is not "
		    "[a-z0-9][a-z0-9._-]{0,63}", origin, class);
	for (i = 0; i < p->nsources; i++)
		if (strcmp(p->sources[i].class, class) == 0)
			return err_set(e, -EEXIST, "class %s: two sources: %s "
			    "and %s", class, p->sources[i].origin, origin);
	if (p->nsources == BUNDLE_PAYLOADS_MAX)
		return err_set(e, -E2BIG, "%s: more than %d payloads", origin,
		    BUNDLE_PAYLOADS_MAX);
	s = &p->sources[p->nsources];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if ((s->class = strdup(class)) == NULL ||
	    (s->origin = strdup(origin)) == NULL) {
		source_clear(s);
		return err_set(e, -ENOMEM, "%s: out of memory", origin);
	}
	p->nsources++;
	*sp = s;
	return 0;
}

void
create_plan_drop(struct create_plan *p)
{
	source_clear(&p->sources[--p->nsources]);
}

int
create_range_add(struct create_source *s, const char *name, const char *path,
    uint64_t off, uint64_t size, uint32_t mode, struct err *e)
{
	struct create_range *r;

	if (s->nranges == BUNDLE_FILES_MAX)
		return err_set(e, -E2BIG, "%s: more than %d files", s->origin,
		    BUNDLE_FILES_MAX);
	if ((r = reallocarray(s->ranges, s->nranges + 1,
	    sizeof(*r))) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	s->ranges = r;
	r = &s->ranges[s->nranges];
	memset(r, 0, sizeof(*r));
	r->offset = off;
	r->size = size;
	r->mode = mode & 07777;
	if ((r->name = strdup(name)) == NULL ||
	    (r->path = strdup(path)) == NULL) {
		free(r->name);
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	}
	s->nranges++;
	return 0;
}

int
create_add_range(struct create_plan *p, const char *class,
    enum payload_kind kind, const char *origin, const char *name,
    const char *path, uint64_t off, uint64_t size, uint32_t mode,
    struct err *e)
{
	struct create_source *s;
	int r;

	if ((r = create_source_new(p, class, kind, origin, &s, e)) < 0)
		return r;
	if ((r = create_range_add(s, name, path, off, size, mode, e)) < 0)
		create_plan_drop(p);
	return r;
}

int
create_range_add_data(struct create_source *s, const char *name,
    const char *origin, uint8_t *data, size_t size, uint32_t mode,
    struct err *e)
{
	int r;

	if ((r = create_range_add(s, name, origin, 0, size, mode, e)) < 0) {
		free(data);
		return r;
	}
	s->ranges[s->nranges - 1].data = data;
	return 0;
}

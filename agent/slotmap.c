/*
 * agent/slotmap: which slot takes which payload of a bundle, for update
 * (the inactive group) and reimage (the only one). See slotmap.h.
 */
#include <errno.h>
#include <string.h>

#include "agent/config.h"
#include "agent/slotmap.h"
#include "common/err.h"
#include "slots/slot.h"
#include "verify/bundle.h"

int
slotmap_open(const struct config *cfg, const struct manifest *m,
    char target, struct slot_writer **writers, int *slotfailp,
    struct err *e)
{
	const struct bundle_payload *pl;
	const struct slot *s;
	struct slot_file files[BUNDLE_FILES_MAX];
	size_t i, k;
	int r;

	*slotfailp = 0;
	for (i = 0; i < cfg->nslots; i++) {
		s = &cfg->slots[i];
		for (k = 0; k < m->npayloads; k++)
			if (strcmp(m->payloads[k].class, s->class) == 0)
				break;
		if (k == m->npayloads)
			return err_set(e, -EPERM, "bundle %s has no payload for "
			    "slot class %s: installing it would boot slot %c "
			    "with a stale %s", m->version, s->class,
			    target, s->class);
	}
	for (k = 0; k < m->npayloads; k++) {
		pl = &m->payloads[k];
		if ((s = config_slot(cfg, pl->class, target)) == NULL)
			return err_set(e, -EPERM, "payload %s: this device has "
			    "no %s slot", pl->name, pl->class);
		/* A UKI slot takes a files payload of one file (uki.c). */
		if ((pl->kind == PAYLOAD_FILES) != (s->type != SLOT_RAW))
			return err_set(e, -EPERM, "payload %s is %s but slot "
			    "%s is %s", pl->name,
			    pl->kind == PAYLOAD_FILES ? "files" : "raw",
			    s->name, s->type == SLOT_FILES ? "files" :
			    s->type == SLOT_UKI ? "uki" : "raw");
		for (i = 0; i < pl->nfiles; i++) {
			files[i].name = pl->files[i].name;
			files[i].size = pl->files[i].size;
			files[i].mode = pl->files[i].mode;
		}
		if ((r = slot_writer_open(s, pl->size, files, pl->nfiles,
		    &writers[k], e)) < 0) {
			*slotfailp = 1;
			return err_prefix(e, "payload %s", pl->name);
		}
	}
	return 0;
}

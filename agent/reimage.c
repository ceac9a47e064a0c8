/*
 * `upkit update` with bootloader = none (agent/reimage.h,
 * docs/reimage.md). The steps are update.c's without the A/B half:
 *
 *   VERIFY  keyring, source, header, manifest, signature, chain,
 *           compatible; the slots apart from everything upkit owns;
 *           each writer opened: O_EXCL, not the running root nor a
 *           mounted file system, large enough. Nothing written yet.
 *   WRITE   agent/install.c's pipeline: each chunk checked against its
 *           signed SHA-256 and XXH3, all-zero chunks zeroed by the
 *           device, everything fsync'd and read back.
 *   DONE    report; reboot unless --no-reboot.
 *
 * There is no env to mark the slot bad while it is written: the exit
 * code is the only word on the disk. 0: it holds the bundle's image
 * whole; anything else after the writers opened: it may hold part of
 * it, and whatever boots the machine (a PXE server) must run the
 * installer again.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/cli.h"
#include "agent/config.h"
#include "agent/device.h"
#include "agent/exitcode.h"
#include "agent/install.h"
#include "agent/keyfiles.h"
#include "agent/progress.h"
#include "agent/reimage.h"
#include "agent/slotmap.h"
#include "agent/update.h"
#include "common/err.h"
#include "slots/slot.h"
#include "source/source.h"
#include "verify/bundle.h"
#include "verify/policy.h"
#include "verify/reader.h"
#include "verify/trust.h"

/* The one boot name of a config without boot selection (config.c). */
#define REIMAGE_BOOTNAME	'A'

struct reimage {
	const struct update_opts *o;
	struct config		*cfg;
	struct keyring		*keyring;
	struct source_options	 srcopts;
	struct source		*src;
	struct bundle_reader	*reader;
	const struct manifest	*m;
	struct slot_writer	*writers[BUNDLE_PAYLOADS_MAX];
	struct progress		 prog;
	int			 exit_code;
};

/* The bundle, opened and its signature and chain verified. */
static int
open_bundle(struct reimage *ri, struct err *e)
{
	int r;

	ri->exit_code = exitcode_for(FAIL_CONFIG, 0);
	if ((r = keyfiles_load(ri->cfg->keyring_path, ri->cfg->keyring_crl,
	    &ri->keyring, e)) < 0)
		return r;
	ri->exit_code = exitcode_for(FAIL_SOURCE, 0);
	device_source_options(ri->cfg, &ri->srcopts);
	ri->srcopts.event = progress_source_event;
	ri->srcopts.event_arg = &ri->prog;
	if ((r = source_open(ri->o->from, &ri->srcopts, &ri->src, e)) < 0)
		return r;
	if ((r = bundle_reader_open(ri->src, ri->keyring, &ri->reader,
	    e)) < 0) {
		ri->exit_code = install_exit_code(INSTALL_FAULT_OPEN, r);
		return r;
	}
	ri->m = bundle_reader_manifest(ri->reader);
	progress_step(&ri->prog, "bundle %s %s for %s: signature and "
	    "certificate chain verified", ri->o->from, ri->m->version,
	    ri->m->compatible);
	return 0;
}

/* Whether this machine takes the bundle, and its writers opened. With
 * nothing installed to compare with, only compatible is checked. */
static int
check(struct reimage *ri, struct err *e)
{
	const struct slot *s;
	struct policy pol;
	size_t k;
	int r, slotfail;

	ri->exit_code = exitcode_for(FAIL_POLICY, 0);
	memset(&pol, 0, sizeof(pol));
	pol.compatible = ri->cfg->compatible;
	if ((r = policy_check(&pol, ri->m, e)) < 0)
		return err_prefix(e, "bundle %s", ri->o->from);
	/* Paths may name other storage than at config load. */
	ri->exit_code = exitcode_for(FAIL_SLOT, 0);
	if ((r = config_check_target(ri->cfg, REIMAGE_BOOTNAME, e)) < 0)
		return r;
	r = slotmap_open(ri->cfg, ri->m, REIMAGE_BOOTNAME, ri->writers,
	    &slotfail, e);
	if (r < 0 && !slotfail)
		ri->exit_code = exitcode_for(FAIL_POLICY, 0);
	if (r < 0)
		return r;
	for (k = 0; k < ri->m->npayloads; k++) {
		s = config_slot(ri->cfg, ri->m->payloads[k].class,
		    REIMAGE_BOOTNAME);
		progress_step(&ri->prog, "writing %s (%s) with payload %s",
		    s->name, s->device, ri->m->payloads[k].name);
	}
	return 0;
}

static int
write_slots(struct reimage *ri, struct err *e)
{
	enum install_fault fault = INSTALL_FAULT_OTHER;
	size_t k;
	int r;

	r = install_payloads(ri->reader, ri->writers,
	    &(struct install_progress){ progress_update, &ri->prog }, NULL,
	    &fault, e);
	if (r < 0) {
		ri->exit_code = install_exit_code(fault, r);
		return r;
	}
	progress_end(&ri->prog);
	ri->exit_code = exitcode_for(FAIL_SLOT, 0);
	for (k = 0; k < ri->m->npayloads; k++)
		if ((r = slot_writer_commit(ri->writers[k], e)) < 0)
			return r;
	return 0;
}

/* The result or the error, as text or one JSON line. */
static void
report(struct reimage *ri, const struct err *e)
{
	cJSON *o, *a;
	size_t k;
	char *s;

	if (ri->prog.mode != PROGRESS_JSON) {
		progress_end(&ri->prog);
		if (e != NULL)
			cli_error(ri->o->name != NULL ? ri->o->name : "update",
			    "%s", e->msg);
		else
			printf("reimaged with %s: written, read back and "
			    "verified; the machine boots it when its firmware "
			    "boots that disk\n", ri->m->version);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "event", e ? "error" : "result");
	if (e != NULL) {
		cJSON_AddNumberToObject(o, "exit", ri->exit_code);
		cJSON_AddStringToObject(o, "message", e->msg);
	} else {
		cJSON_AddStringToObject(o, "result", "reimaged");
		cJSON_AddStringToObject(o, "version", ri->m->version);
		a = cJSON_AddArrayToObject(o, "slots");
		for (k = 0; a != NULL && k < ri->m->npayloads; k++)
			cJSON_AddItemToArray(a, cJSON_CreateString(config_slot(
			    ri->cfg, ri->m->payloads[k].class,
			    REIMAGE_BOOTNAME)->name));
	}
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		printf("%s\n", s);
		cJSON_free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
}

int
reimage_run(const struct update_opts *o)
{
	struct reimage ri;
	struct err e = { 0, "" };
	size_t k;
	int r;

	memset(&ri, 0, sizeof(ri));
	ri.o = o;
	if (config_load(config_path(o->config), &ri.cfg, &e) < 0 ||
	    !config_reimage(ri.cfg)) {
		config_free(ri.cfg);
		return -1;
	}
	progress_init(&ri.prog, o->progress);
	if ((r = open_bundle(&ri, &e)) == 0 && (r = check(&ri, &e)) == 0 &&
	    (r = write_slots(&ri, &e)) == 0) {
		ri.exit_code = EXIT_OK;
		report(&ri, NULL);
		if (!o->no_reboot && (r = device_reboot(&e)) < 0)
			ri.exit_code = exitcode_for(FAIL_OTHER, 0);
	}
	if (r < 0) {
		if (o->err != NULL)
			*o->err = e;
		report(&ri, &e);
	}
	for (k = 0; k < BUNDLE_PAYLOADS_MAX; k++)
		slot_writer_free(ri.writers[k]);
	bundle_reader_free(ri.reader);
	source_close(ri.src);
	keyring_free(ri.keyring);
	config_free(ri.cfg);
	return ri.exit_code;
}

/*
 * agent/slotmap: maps a bundle's payloads onto the slots of one boot
 * name and opens their writers. Shared by update.c and reimage.c so
 * that both refuse the same bundles the same way.
 */
#ifndef AGENT_SLOTMAP_H
#define AGENT_SLOTMAP_H

struct config;
struct err;
struct manifest;
struct slot_writer;

/* Opens a writer in writers[k] for payload k of m on the slot of its
 * class with bootname target, after checking that every slot class of
 * cfg has a payload, every payload a slot, and that their kinds (raw,
 * files) match: -EPERM naming the payload or class. A writer that does
 * not open (a slot in use or too small: slot_writer_open()) sets
 * *slotfailp and its error is returned. Writers already open stay in
 * writers, for the caller to free. */
int	slotmap_open(const struct config *cfg, const struct manifest *m,
	    char target, struct slot_writer **writers, int *slotfailp,
	    struct err *e);

#endif /* AGENT_SLOTMAP_H */

/*
 * agent/reimage: `upkit update` with [system] bootloader = none, the
 * installer of a machine that is reimaged whole (a PXE-booted
 * kernel+initrd writing a server's disk, docs/reimage.md). One slot a
 * class, written in place through the same verified pipeline as an
 * update: every chunk checked against its signed hashes, zero chunks
 * zeroed by the device, everything read back. No boot env, no
 * state.json, no journal: nothing selects what boots next, the
 * firmware's boot order does.
 */
#ifndef AGENT_REIMAGE_H
#define AGENT_REIMAGE_H

struct update_opts;

/* If the config o names (o->config, else config_path()) loads and says
 * bootloader = none: installs o->from into its slots and, unless
 * o->no_reboot, reboots; returns the exit code (docs/exit-codes.md): 0
 * once every slot holds the bundle's payload, written, fsync'd and read
 * back. Otherwise (another bootloader, or a config that does not load,
 * whose error update_run() reports) returns -1 having done nothing. */
int	reimage_run(const struct update_opts *o);

#endif /* AGENT_REIMAGE_H */

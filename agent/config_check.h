/*
 * agent/config_check: what config_load() checks beyond the text, for
 * config.c. The public checks (config_check_target(),
 * config_check_data_directory()) are declared in config.h.
 */
#ifndef AGENT_CONFIG_CHECK_H
#define AGENT_CONFIG_CHECK_H

struct config;
struct err;

/* Slot storage (docs/configuration.md, "Slot storage"). target '\0':
 * every slot, at config load; lines[i] is the line of slot i's device
 * key, for messages. target A or B: only the slots with that bootname,
 * against everything else, at install time (lines NULL). -EINVAL
 * naming both, or identity_open()'s error. */
int	config_check_storage(const struct config *c, const int *lines,
	    char target, struct err *e);

#endif /* AGENT_CONFIG_CHECK_H */

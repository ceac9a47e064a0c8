/* fuzz_config: the upkit.conf parser (inih plus our reader and checks),
 * from memory: config_parse() leaves out config_load()'s storage checks,
 * which look at the filesystem. What parses must be complete: every slot
 * has a device and an A/B partner, and the backend's path is set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "common/err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	struct err e;
	size_t i;

	if (config_parse("fuzz.conf", (const char *)data, size, &c, &e) != 0)
		return 0;
	if (c->compatible == NULL || c->bootloader == NULL ||
	    c->keyring_path == NULL || c->data_directory == NULL ||
	    c->nslots == 0 || c->nslots > CONFIG_SLOTS_MAX ||
	    config_bootenv_path(c) == NULL)
		abort();
	if (c->boot_attempts < 1 || c->boot_attempts > 9 ||
	    c->health_timeout < 1 || c->health_timeout > CONFIG_SECONDS_MAX ||
	    c->health_deadline < 1 || c->health_deadline > CONFIG_SECONDS_MAX)
		abort();
	for (i = 0; i < c->nslots; i++) {
		if (c->slots[i].device == NULL || c->slots[i].device[0] == '\0')
			abort();
		if (config_slot(c, c->slots[i].class, 'A') == NULL ||
		    config_slot(c, c->slots[i].class, 'B') == NULL)
			abort();
	}
	config_free(c);
	return 0;
}

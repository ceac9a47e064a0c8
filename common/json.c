#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "common/json.h"

int
json_add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];		/* 20 digits and a NUL */

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL ? 0 : -ENOMEM;
}

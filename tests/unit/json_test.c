/* tests/unit/json_test.c: json_add_uint() writes every uint64_t digit for digit. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/json.h"
#include "tests/check.h"

static void
check_uint(uint64_t v, const char *want)
{
	char expect[64], *s;
	cJSON *o;

	CHECK((o = cJSON_CreateObject()) != NULL);
	CHECK(json_add_uint(o, "n", v) == 0);
	CHECK((s = cJSON_PrintUnformatted(o)) != NULL);
	snprintf(expect, sizeof(expect), "{\"n\":%s}", want);
	if (strcmp(s, expect) != 0) {
		fprintf(stderr, "got %s, want %s\n", s, expect);
		CHECK(0);
	}
	cJSON_free(s);
	cJSON_Delete(o);
}

int
main(void)
{
	check_uint(0, "0");
	check_uint(420, "420");
	check_uint((UINT64_C(1) << 53) - 1, "9007199254740991");
	check_uint(UINT64_C(1) << 53, "9007199254740992");
	check_uint((UINT64_C(1) << 63) + 1, "9223372036854775809");
	check_uint(UINT64_MAX, "18446744073709551615");
	return 0;
}

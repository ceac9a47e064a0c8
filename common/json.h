/*
 * common/json: upkit's one way to write an integer into JSON, for the
 * agent's reports and the bundle maker's manifest alike.
 */
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <stdint.h>

struct cJSON;

/* Adds v to obj under name as a JSON integer, digit for digit. cJSON
 * keeps numbers as doubles and prints 15 significant digits, so 2^53 - 1
 * would come out as 9.00719925474099e+15; this is exact up to 2^64 - 1.
 * -ENOMEM. */
int	json_add_uint(struct cJSON *obj, const char *name, uint64_t v);

#endif /* COMMON_JSON_H */

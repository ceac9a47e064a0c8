/*
 * verify/manifest_encode: the manifest as JSON, for `bundle create` and
 * the tests: the same fields manifest_parse() reads, each chunk row as
 * [offset, csize, csha256, usha256, xxh3].
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "verify/bundle.h"

static int
add_hex(cJSON *to, const char *key, const uint8_t *bin, size_t n)
{
	char hex[65];
	cJSON *s;

	bundle_hex(bin, n, hex);
	if ((s = cJSON_CreateString(hex)) == NULL)
		return -1;
	if (key != NULL)
		cJSON_AddItemToObject(to, key, s);
	else
		cJSON_AddItemToArray(to, s);
	return 0;
}

/*
 * cJSON prints doubles with "%1.15g" and keeps that if it reads back
 * within a relative epsilon, which turns 9007199254740991 into
 * 9.00719925474099e+15. Integers are written as raw decimal text instead.
 */
static int
add_num(cJSON *to, const char *key, uint64_t v)
{
	char text[24];
	cJSON *n;

	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	if ((n = cJSON_CreateRaw(text)) == NULL)
		return -1;
	if (key != NULL)
		cJSON_AddItemToObject(to, key, n);
	else
		cJSON_AddItemToArray(to, n);
	return 0;
}

static int
encode_payload(cJSON *arr, const struct bundle_payload *p)
{
	const struct bundle_chunk *c;
	cJSON *o, *list, *item;
	uint8_t x[8];
	size_t i, k;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(arr, o);
	if (cJSON_AddStringToObject(o, "name", p->name) == NULL ||
	    cJSON_AddStringToObject(o, "class", p->class) == NULL ||
	    cJSON_AddStringToObject(o, "kind",
	    p->kind == PAYLOAD_FILES ? "files" : "raw") == NULL ||
	    add_num(o, "size", p->size) < 0 ||
	    add_hex(o, "sha256", p->sha256, 32) < 0 ||
	    add_num(o, "chunk_size", p->chunk_size) < 0 ||
	    add_num(o, "offset", p->offset) < 0 ||
	    add_num(o, "compressed_size", p->csize) < 0)
		return -1;
	if (p->kind == PAYLOAD_FILES) {
		if ((list = cJSON_AddArrayToObject(o, "files")) == NULL)
			return -1;
		for (i = 0; i < p->nfiles; i++) {
			if ((item = cJSON_CreateObject()) == NULL)
				return -1;
			cJSON_AddItemToArray(list, item);
			if (cJSON_AddStringToObject(item, "name",
			    p->files[i].name) == NULL ||
			    add_num(item, "size", p->files[i].size) < 0 ||
			    add_num(item, "mode", p->files[i].mode) < 0)
				return -1;
		}
	}
	if ((list = cJSON_AddArrayToObject(o, "chunks")) == NULL)
		return -1;
	for (i = 0; i < p->nchunks; i++) {
		c = &p->chunks[i];
		if ((item = cJSON_CreateArray()) == NULL)
			return -1;
		cJSON_AddItemToArray(list, item);
		for (k = 0; k < 8; k++)
			x[k] = (uint8_t)(c->xxh3 >> (56 - 8 * k));
		if (add_num(item, NULL, c->offset) < 0 ||
		    add_num(item, NULL, c->csize) < 0 ||
		    add_hex(item, NULL, c->csha, 32) < 0 ||
		    add_hex(item, NULL, c->usha, 32) < 0 ||
		    add_hex(item, NULL, x, 8) < 0)
			return -1;
	}
	return 0;
}

int
manifest_encode(const struct manifest *m, char **out, size_t *outlen,
    struct err *e)
{
	cJSON *root, *arr;
	size_t i;
	int r = 0;

	*out = NULL;
	*outlen = 0;
	if ((root = cJSON_CreateObject()) == NULL)
		return err_set(e, -ENOMEM, "manifest %s: encode", m->version);
	if (cJSON_AddStringToObject(root, "compatible", m->compatible) ==
	    NULL ||
	    cJSON_AddStringToObject(root, "version", m->version) == NULL ||
	    add_num(root, "security_version", m->security_version) < 0 ||
	    cJSON_AddStringToObject(root, "created", m->created) == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "payloads")) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->npayloads; i++)
		if (encode_payload(arr, &m->payloads[i]) < 0) {
			r = -ENOMEM;
			goto out;
		}
	if ((*out = cJSON_PrintUnformatted(root)) == NULL)
		r = -ENOMEM;
	else
		*outlen = strlen(*out);
out:
	cJSON_Delete(root);
	if (r < 0)
		return err_set(e, r, "manifest %s: encode: out of memory",
		    m->version);
	return 0;
}

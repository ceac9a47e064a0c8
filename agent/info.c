/*
 * upkit bundle info and upkit bundle verify: read a bundle the way a
 * device would (verify/reader, agent/install's pipeline without slots),
 * then describe it or check all of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/exitcode.h"
#include "agent/install.h"
#include "agent/keyfiles.h"
#include "agent/progress.h"
#include "common/err.h"
#include "common/json.h"
#include "source/source.h"
#include "verify/bundle.h"
#include "verify/reader.h"
#include "verify/trust.h"

static const char *
kind_name(enum payload_kind k)
{
	switch (k) {
	case PAYLOAD_RAW:
		return "raw";
	case PAYLOAD_FILES:
		return "files";
	}
	return "?";
}

static void
print_text(const char *file, const struct bundle_reader *r, const char *signer)
{
	const struct manifest *m = bundle_reader_manifest(r);
	const struct bundle_payload *p;
	char hex[65];
	size_t i, j;

	printf("bundle:           %s\n", file);
	printf("compatible:       %s\n", m->compatible);
	printf("version:          %s\n", m->version);
	printf("security_version: %llu\n",
	    (unsigned long long)m->security_version);
	printf("created:          %s\n", m->created);
	printf("bundle id:        %s\n", bundle_reader_id(r));
	if (signer != NULL)
		printf("signer:           %s\n", signer);
	printf("signature:        %s\n", bundle_reader_verified(r) ?
	    "verified" : "not checked (use bundle verify)");
	for (i = 0; i < m->npayloads; i++) {
		p = &m->payloads[i];
		bundle_hex(p->sha256, 32, hex);
		printf("payload %s: class %s, kind %s\n", p->name, p->class,
		    kind_name(p->kind));
		printf("  size %llu, compressed %llu (%.1f%%), %zu chunks of "
		    "%u\n", (unsigned long long)p->size,
		    (unsigned long long)p->csize,
		    p->size ? 100.0 * (double)p->csize / (double)p->size : 0.0,
		    p->nchunks, p->chunk_size);
		printf("  sha256 %s\n", hex);
		for (j = 0; j < p->nfiles; j++)
			printf("  file %s %llu %04o\n", p->files[j].name,
			    (unsigned long long)p->files[j].size,
			    (unsigned)p->files[j].mode);
	}
}

/* Integers go out through json_add_uint(), digit for digit. */
static int
print_json(const char *file, const struct bundle_reader *r, const char *signer)
{
	const struct manifest *m = bundle_reader_manifest(r);
	const struct bundle_payload *p;
	cJSON *root, *arr, *o, *files, *f;
	char hex[65], *s;
	size_t i, j;
	int ok = 1;

	if ((root = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	ok &= cJSON_AddStringToObject(root, "bundle", file) != NULL;
	ok &= cJSON_AddStringToObject(root, "compatible", m->compatible) !=
	    NULL;
	ok &= cJSON_AddStringToObject(root, "version", m->version) != NULL;
	ok &= json_add_uint(root, "security_version", m->security_version) ==
	    0;
	ok &= cJSON_AddStringToObject(root, "created", m->created) != NULL;
	ok &= cJSON_AddStringToObject(root, "bundle_id",
	    bundle_reader_id(r)) != NULL;
	if (signer != NULL)
		ok &= cJSON_AddStringToObject(root, "signer", signer) != NULL;
	ok &= cJSON_AddBoolToObject(root, "signature_verified",
	    bundle_reader_verified(r)) != NULL;
	if ((arr = cJSON_AddArrayToObject(root, "payloads")) == NULL)
		ok = 0;
	for (i = 0; ok && i < m->npayloads; i++) {
		p = &m->payloads[i];
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			ok = 0;
			break;
		}
		bundle_hex(p->sha256, 32, hex);
		ok &= cJSON_AddStringToObject(o, "name", p->name) != NULL;
		ok &= cJSON_AddStringToObject(o, "class", p->class) != NULL;
		ok &= cJSON_AddStringToObject(o, "kind", kind_name(p->kind)) !=
		    NULL;
		ok &= json_add_uint(o, "size", p->size) == 0;
		ok &= json_add_uint(o, "compressed_size", p->csize) == 0;
		ok &= json_add_uint(o, "chunks", p->nchunks) == 0;
		ok &= json_add_uint(o, "chunk_size", p->chunk_size) == 0;
		ok &= cJSON_AddStringToObject(o, "sha256", hex) != NULL;
		if (p->kind != PAYLOAD_FILES)
			continue;
		if ((files = cJSON_AddArrayToObject(o, "files")) == NULL) {
			ok = 0;
			break;
		}
		for (j = 0; ok && j < p->nfiles; j++) {
			if ((f = cJSON_CreateObject()) == NULL ||
			    !cJSON_AddItemToArray(files, f)) {
				cJSON_Delete(f);
				ok = 0;
				break;
			}
			ok &= cJSON_AddStringToObject(f, "name",
			    p->files[j].name) != NULL;
			ok &= json_add_uint(f, "size", p->files[j].size) == 0;
			ok &= json_add_uint(f, "mode", p->files[j].mode) == 0;
		}
	}
	if (!ok || (s = cJSON_PrintUnformatted(root)) == NULL) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	printf("%s\n", s);
	free(s);
	cJSON_Delete(root);
	return 0;
}

enum { O_JSON = 256, O_CRL };

static const struct cli_opt info_opts[] = {
	{ "json", O_JSON, NULL, "one JSON object instead of text" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt verify_opts[] = {
	{ "keyring", 'k', "PEM", "trusted root certificates (required)" },
	{ "crl", O_CRL, "CRL", "revoked signer certificates (PEM)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_cmd cli_bundle_info = {
	"bundle info", "[--json] FILE", "Show a bundle's manifest, unverified",
	0, info_opts, cmd_bundle_info,
};

const struct cli_cmd cli_bundle_verify = {
	"bundle verify", "[OPTIONS] --keyring PEM FILE",
	"Check a bundle's signature and every chunk",
	0, verify_opts, cmd_bundle_verify,
};

int
cmd_bundle_info(int argc, char **argv)
{
	struct bundle_reader *r = NULL;
	struct source *src = NULL;
	struct cli_parse p;
	const char *file;
	struct err e;
	int json = 0, rc;

	err_clear(&e);
	cli_begin(&p, &cli_bundle_info, argc, argv);
	while (cli_next(&p) != -1)
		json = 1;
	if ((rc = cli_end(&p, 1, 1, "FILE")) >= 0)
		return rc;
	file = argv[optind];
	if ((rc = source_open(file, NULL, &src, &e)) < 0) {
		cli_error(NULL, "%s", e.msg);
		return exitcode_for(FAIL_SOURCE, rc);
	}
	if ((rc = bundle_reader_open(src, NULL, &r, &e)) < 0) {
		cli_error(cli_bundle_info.name, "%s", e.msg);
		rc = install_exit_code(INSTALL_FAULT_OPEN, rc);
		goto out;
	}
	if (json) {
		rc = print_json(file, r, bundle_reader_signer(r));
		rc = rc < 0 ? exitcode_for(FAIL_OTHER, rc) : EXIT_OK;
	} else {
		print_text(file, r, bundle_reader_signer(r));
		rc = EXIT_OK;
	}
out:
	bundle_reader_free(r);
	source_close(src);
	return rc;
}

/* Every chunk of r read, checked against its signed hashes, decompressed
 * and checked again, then dropped (no writers); then the verdict. */
static int
verify_all(const char *file, struct bundle_reader *r, struct err *e)
{
	const struct manifest *m = bundle_reader_manifest(r);
	struct slot_writer **writers;
	struct progress prog;
	enum install_fault f;
	size_t i, nchunks = 0;
	uint64_t bytes = 0;
	int rc;

	if ((writers = calloc(m->npayloads + 1, sizeof(*writers))) == NULL)
		return exitcode_for(FAIL_OTHER, err_set(e, -ENOMEM,
		    "%s: out of memory", file));
	/* What update shows, for the minutes a large bundle takes. */
	progress_init(&prog, PROGRESS_AUTO);
	prog.check_only = 1;
	rc = install_payloads(r, writers,
	    &(struct install_progress){ progress_update, &prog }, NULL, &f, e);
	progress_end(&prog);
	free(writers);
	if (rc < 0)
		return install_exit_code(f, rc);
	for (i = 0; i < m->npayloads; i++) {
		nchunks += m->payloads[i].nchunks;
		bytes += m->payloads[i].size;
	}
	printf("OK: %s signed by %s; %zu payloads, %zu chunks, %llu "
	    "bytes checked\n", file, bundle_reader_signer(r), m->npayloads,
	    nchunks, (unsigned long long)bytes);
	printf("bundle id %s, version %s, compatible %s\n",
	    bundle_reader_id(r), m->version, m->compatible);
	return EXIT_OK;
}

int
cmd_bundle_verify(int argc, char **argv)
{
	struct keyring *k = NULL;
	struct bundle_reader *r = NULL;
	struct source *src = NULL;
	const char *file, *keyring = NULL, *crl = NULL;
	struct cli_parse p;
	struct err e;
	int c, rc;

	err_clear(&e);
	cli_begin(&p, &cli_bundle_verify, argc, argv);
	while ((c = cli_next(&p)) != -1) {
		if (c == 'k')
			keyring = optarg;
		else
			crl = optarg;
	}
	if ((rc = cli_end(&p, 1, 1, "FILE")) >= 0)
		return rc;
	if (keyring == NULL)
		return cli_usage_error(p.cmd, "--keyring is required");
	file = argv[optind];
	if ((rc = keyfiles_load(keyring, crl, &k, &e)) < 0) {
		cli_error(cli_bundle_verify.name, "%s", e.msg);
		return exitcode_for(FAIL_CONFIG, rc);
	}
	if ((rc = source_open(file, NULL, &src, &e)) < 0) {
		cli_error(NULL, "%s", e.msg);
		rc = exitcode_for(FAIL_SOURCE, rc);
		goto out;
	}
	if ((rc = bundle_reader_open(src, k, &r, &e)) < 0)
		rc = install_exit_code(INSTALL_FAULT_OPEN, rc);
	else
		rc = verify_all(file, r, &e);
	if (rc != EXIT_OK)
		cli_error(cli_bundle_verify.name, "FAILED: %s", e.msg);
out:
	bundle_reader_free(r);
	source_close(src);
	keyring_free(k);
	return rc;
}

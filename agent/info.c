/*
 * upkit bundle info and upkit bundle verify: read a bundle the way a
 * device would (agent/install), then describe it or check all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/cmd.h"
#include "agent/install.h"
#include "agent/util.h"
#include "common/err.h"
#include "common/io.h"
#include "common/json.h"
#include "verify/bundle.h"
#include "verify/trust.h"

#define KEYRING_MAX	(1u << 20)

static int
open_source(const char *file, int *fdp)
{
	struct err e;
	int r;

	if (strcmp(file, "-") == 0) {
		*fdp = STDIN_FILENO;
	} else if ((*fdp = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		fprintf(stderr, "upkit: open %s: %s\n", file, strerror(-r));
		return r;
	}
	/* A folder opens, but its read fails: say what it is (exit 4). */
	if ((r = source_check(*fdp, *fdp == STDIN_FILENO ? "standard input" :
	    file, &e)) < 0) {
		fprintf(stderr, "upkit: %s\n", e.msg);
		if (*fdp != STDIN_FILENO)
			close(*fdp);
		*fdp = -1;
		return r;
	}
	return 0;
}

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
print_text(const char *file, const struct install *in, const char *signer)
{
	const struct manifest *m = install_manifest(in);
	const struct bundle_payload *p;
	char hex[65];
	size_t i, j;

	printf("bundle:           %s\n", file);
	printf("compatible:       %s\n", m->compatible);
	printf("version:          %s\n", m->version);
	printf("security_version: %llu\n",
	    (unsigned long long)m->security_version);
	printf("created:          %s\n", m->created);
	printf("bundle id:        %s\n", install_bundle_id(in));
	if (signer != NULL)
		printf("signer:           %s\n", signer);
	printf("signature:        %s\n", install_verified(in) ?
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
print_json(const char *file, const struct install *in, const char *signer)
{
	const struct manifest *m = install_manifest(in);
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
	    install_bundle_id(in)) != NULL;
	if (signer != NULL)
		ok &= cJSON_AddStringToObject(root, "signer", signer) != NULL;
	ok &= cJSON_AddBoolToObject(root, "signature_verified",
	    install_verified(in)) != NULL;
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

int
cmd_bundle_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char use[] = "usage: upkit bundle info FILE [--json]\n";
	struct install *in = NULL;
	const char *file;
	struct err e;
	int c, r, fd = -1, json = 0, rc;

	err_clear(&e);
	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(use, stdout);
			return EXIT_OK;
		default:
			fputs(use, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(use, stderr);
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (open_source(file, &fd) < 0)
		return EXIT_INPUT;
	if ((r = install_open(fd, file, NULL, &in, &e)) < 0) {
		fprintf(stderr, "upkit: bundle info: %s\n", e.msg);
		rc = install_exit_code(NULL, r);
		goto out;
	}
	if (json)
		rc = print_json(file, in, install_signer(in)) < 0 ?
		    EXIT_FAIL : EXIT_OK;
	else {
		print_text(file, in, install_signer(in));
		rc = EXIT_OK;
	}
out:
	install_free(in);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

static int
load_keyring(const char *path, const char *crlpath, struct keyring **kp,
    struct err *e)
{
	char *pem = NULL, *crl = NULL, when[32];
	size_t pemlen, crllen = 0;
	int r;

	if ((r = file_read(path, KEYRING_MAX, &pem, &pemlen, e)) < 0)
		goto out;
	if (crlpath != NULL &&
	    (r = file_read(crlpath, KEYRING_MAX, &crl, &crllen, e)) < 0)
		goto out;
	if ((r = keyring_load(pem, pemlen, NULL, 0, kp, e)) < 0) {
		err_prefix(e, "keyring %s", path);
		goto out;
	}
	if (crlpath != NULL &&
	    (r = keyring_load_crl(*kp, crl, crllen, crlpath, e)) < 0) {
		keyring_free(*kp);
		*kp = NULL;
		goto out;
	}
	if (keyring_crl_expired(*kp, when, sizeof(when)))
		fprintf(stderr, "upkit: warning: CRL %s is past its nextUpdate "
		    "(%s): what it revokes stays revoked; install a fresh "
		    "one\n", crlpath, when);
out:
	free(pem);
	free(crl);
	return r;
}

int
cmd_bundle_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keyring", required_argument, NULL, 'k' },
		{ "crl", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char use[] = "usage: upkit bundle verify FILE "
	    "--keyring PEM [--crl CRL]\n";
	struct slot_writer **writers = NULL;
	const struct manifest *m;
	struct keyring *k = NULL;
	struct install *in = NULL;
	const char *file, *keyring = NULL, *crl = NULL;
	struct err e;
	size_t i, nchunks = 0;
	uint64_t bytes = 0;
	int c, r, fd = -1, rc;

	err_clear(&e);
	optind = 0;
	while ((c = getopt_long(argc, argv, "k:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keyring = optarg;
			break;
		case 'c':
			crl = optarg;
			break;
		case 'h':
			fputs(use, stdout);
			return EXIT_OK;
		default:
			fputs(use, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || keyring == NULL) {
		fputs(use, stderr);
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (load_keyring(keyring, crl, &k, &e) < 0) {
		fprintf(stderr, "upkit: bundle verify: %s\n", e.msg);
		return EXIT_CONFIG;
	}
	if (open_source(file, &fd) < 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	if ((r = install_open(fd, file, k, &in, &e)) < 0) {
		rc = install_exit_code(NULL, r);
		goto fail;
	}
	m = install_manifest(in);
	if ((writers = calloc(m->npayloads + 1, sizeof(*writers))) == NULL) {
		r = err_set(&e, -ENOMEM, "%s: out of memory", file);
		rc = EXIT_FAIL;
		goto fail;
	}
	/* No writers: every chunk is read, checked against its signed
	 * hashes, decompressed and checked again, then dropped. */
	if ((r = install_payloads(in, writers, NULL, &e)) < 0) {
		rc = install_exit_code(in, r);
		goto fail;
	}
	for (i = 0; i < m->npayloads; i++) {
		nchunks += m->payloads[i].nchunks;
		bytes += m->payloads[i].size;
	}
	printf("OK: %s signed by %s; %zu payloads, %zu chunks, %llu "
	    "bytes checked\n", file, install_signer(in), m->npayloads,
	    nchunks, (unsigned long long)bytes);
	printf("bundle id %s, version %s, compatible %s\n",
	    install_bundle_id(in), m->version, m->compatible);
	rc = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "upkit: bundle verify: FAILED: %s\n", e.msg);
out:
	free(writers);
	install_free(in);
	if (fd != -1 && fd != STDIN_FILENO)
		close(fd);
	keyring_free(k);
	return rc;
}

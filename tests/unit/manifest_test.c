/*
 * manifest_test: a valid manifest round-trips; each rule of
 * docs/bundle-format.md is broken once, by editing the valid JSON text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tests/check.h"
#include "verify/bundle.h"

#define H64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H64B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H16  "0011223344556677"

/* Two payloads: boot (files, 3 chunks of 4096/4096/100) and rootfs. */
static const char base[] =
    "{\"compatible\":\"qemu-aarch64\",\"version\":\"1.2.0\","
    "\"security_version\":3,\"created\":\"2026-11-28T01:02:03Z\","
    "\"payloads\":["
    "{\"name\":\"boot\",\"class\":\"boot\",\"kind\":\"files\","
    "\"size\":8292,\"sha256\":\"" H64A "\",\"chunk_size\":4096,"
    "\"offset\":0,\"compressed_size\":60,"
    "\"files\":[{\"name\":\"kernel\",\"size\":8000,\"mode\":420},"
    "{\"name\":\"cmdline\",\"size\":292,\"mode\":384}],"
    "\"chunks\":[[0,10,\"" H64A "\",\"" H64B "\",\"" H16 "\"],"
    "[10,20,\"" H64B "\",\"" H64A "\",\"" H16 "\"],"
    "[30,30,\"" H64A "\",\"" H64A "\",\"ffeeddccbbaa9988\"]]},"
    "{\"name\":\"rootfs\",\"class\":\"rootfs\",\"kind\":\"raw\","
    "\"size\":4096,\"sha256\":\"" H64B "\",\"chunk_size\":4096,"
    "\"offset\":60,\"compressed_size\":5,"
    "\"chunks\":[[60,5,\"" H64B "\",\"" H64B "\",\"" H16 "\"]]}]}";

#define C129 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccc" \
    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" \
    "cccccccccc"
#define N64 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
#define N65 N64 "n"
#define N60 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"

/* Replace the first `from` in base by `to`; expect -EBADMSG and `msg`
 * somewhere in the message. */
static const struct bad {
	const char	*from, *to, *msg;
} bad[] = {
	{ "\"compatible\":\"qemu-aarch64\"", "\"compatible\":\"\"",
	    "manifest: compatible: not 1..128" },
	{ "\"compatible\":\"qemu-aarch64\"", "\"compatible\":\"" C129 "\"",
	    "compatible" },
	{ "qemu-aarch64", "qemu\\u0001", "compatible" },
	{ "qemu-aarch64", "qemu\\u00e9", "compatible" },
	{ "\"compatible\":\"qemu-aarch64\"", "\"compatible\":7",
	    "manifest: compatible: not a string" },
	{ "\"compatible\"", "\"Compatible\"", "manifest: compatible: missing" },
	{ "\"1.2.0\"", "\"\"", "manifest: version:" },
	{ "\"1.2.0\"", "\"1.2 0\"", "version" },
	{ "\"1.2.0\"", "\"1/2\"", "version" },
	{ "\"1.2.0\"", "\"" N65 "\"", "version" },
	{ "\"1.2.0\"", "null", "manifest: version: not a string" },
	{ "\"security_version\":3", "\"security_version\":-1",
	    "manifest: security_version: not an integer" },
	{ "\"security_version\":3", "\"security_version\":1.5",
	    "security_version: not an integer" },
	{ "\"security_version\":3", "\"security_version\":\"3\"",
	    "security_version: not an integer" },
	{ "\"security_version\":3", "\"security_version\":9007199254740993",
	    "security_version" },
	{ "\"security_version\":3", "\"security_version\":1e300",
	    "security_version" },
	{ "\"security_version\":3", "\"security_versio\":3",
	    "manifest: security_version: missing" },
	{ "\"2026-11-28T01:02:03Z\"", "\"\"", "manifest: created:" },
	{ "\"2026-11-28T01:02:03Z\"", "\"" N65 "\"", "created" },
	{ "\"2026-11-28T01:02:03Z\"", "true", "created: not a string" },
	{ "\"payloads\":[{", "\"payloads\":[],\"x\":[{", "payloads" },
	{ "\"payloads\":[", "\"payloads\":\"x\",\"y\":[",
	    "manifest: payloads: not an array" },
	{ "\"payloads\":[{", "\"payloads\":[7,{", "payloads[0]: not an" },
	{ "\"name\":\"boot\"", "\"name\":\"Boot\"",
	    "manifest: payloads[0]: name:" },
	{ "\"name\":\"boot\"", "\"name\":\"-boot\"", "payloads[0]: name" },
	{ "\"name\":\"boot\"", "\"name\":\"" N65 "\"", "payloads[0]: name" },
	{ "\"name\":\"rootfs\"", "\"name\":\"boot\"",
	    "payloads[1]: name: duplicate" },
	{ "\"class\":\"rootfs\"", "\"class\":\"boot\"",
	    "payloads[1]: class: duplicate" },
	{ "\"class\":\"boot\"", "\"class\":\"bo/ot\"", "payloads[0]: class" },
	{ "\"class\":\"boot\"", "\"clas\":\"boot\"",
	    "payloads[0]: class: missing" },
	{ "\"kind\":\"raw\"", "\"kind\":\"disk\"", "payloads[1]: kind" },
	{ "\"size\":4096,", "\"size\":0,", "payloads[1]: size" },
	{ "\"size\":4096,", "\"size\":4096.5,",
	    "payloads[1]: size: not an integer" },
	{ "\"chunk_size\":4096,\"offset\":60", "\"chunk_size\":2048,"
	    "\"offset\":60", "payloads[1]: chunk_size" },
	{ "\"chunk_size\":4096,\"offset\":60", "\"chunk_size\":6144,"
	    "\"offset\":60",
	    "payloads[1]: chunk_size: 6144 is not a multiple" },
	{ "\"chunk_size\":4096,\"offset\":60", "\"chunk_size\":134217728,"
	    "\"offset\":60", "payloads[1]: chunk_size" },
	{ "\"chunk_size\":4096,\"offset\":0", "\"chunk_size\":8192,"
	    "\"offset\":0",
	    "payloads[0]: chunks: 3 chunks, size 8292 needs 2" },
	{ ",[30,30,\"" H64A "\",\"" H64A "\",\"ffeeddccbbaa9988\"]", "",
	    "payloads[0]: chunks:" },
	{ "\"offset\":0,", "\"offset\":1,", "payloads[0]: offset" },
	{ "\"offset\":60,", "\"offset\":61,", "payloads[1]: offset" },
	{ "[10,20,", "[11,20,", "payloads[0].chunks[1]: offset" },
	{ "[60,5,", "[61,5,", "payloads[1].chunks[0]: offset" },
	{ "[60,5,", "[60,0,", "payloads[1].chunks[0]: csize" },
	{ "[60,5,", "[60,\"5\",",
	    "manifest: payloads[1].chunks[0]: csize: not an integer" },
	/* Chunk rows are read from the text: integers as upkit writes
	 * them, keys without escapes (cJSON would read this as chunks). */
	{ "[10,20,", "[1e1,20,", "payloads[0].chunks[1]: offset: not an "
	    "integer" },
	{ "[10,20,", "[10.0,20,", "chunks[1]: offset: not an integer" },
	{ "[10,20,", "[010,20,", "chunks[1]: offset: not an integer" },
	{ "[10,20,", "[-10,20,", "chunks[1]: offset: not an integer" },
	{ "[10,20,", "[10,99999999999999999,", "chunks[1]: csize: not an "
	    "integer" },
	{ "[10,20,\"", "[10,20,\"\\u0030", "chunks[1]: csha256: not 64" },
	{ "\"chunks\":[[60", "\"chu\\u006eks\":[[60",
	    "manifest: a key with escapes" },
	{ "\"payloads\":[", "\"p\\u0061yloads\":[",
	    "manifest: a key with escapes" },
	{ "\"chunks\":[[60", "\"chunks\":{\"a\":[60",
	    "manifest: not valid JSON" },
	{ "\"chunks\":[[60", "\"chunks\":7,\"x\":[[60",
	    "payloads[1]: chunks: not an array" },
	{ "\"chunks\":[[60", "\"chunks\":[[60,[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	    "manifest: not valid JSON" },
	{ "[30,30,", "[30,200,", "payloads[0].chunks[2]: csize" },
	{ "\"compressed_size\":60", "\"compressed_size\":61",
	    "payloads[0]: compressed_size" },
	{ "\"compressed_size\":5", "\"compressed_size\":6",
	    "payloads[1]: compressed_size" },
	{ "[60,5,\"" H64B "\",", "[60,5,\"" H64B "a\",",
	    "payloads[1].chunks[0]: csha256: not 64 hex" },
	{ "[60,5,\"" H64B "\",\"" H64B "\"",
	    "[60,5,\"" H64B "\",\"" H64A "g\"", "chunks[0]: usha256" },
	{ "\"ffeeddccbbaa9988\"", "\"ffeeddccbbaa998\"",
	    "payloads[0].chunks[2]: xxh3" },
	{ "\"ffeeddccbbaa9988\"", "\"ffeeddccbbaa998x\"", "xxh3" },
	{ "\"ffeeddccbbaa9988\"", "\"ffeeddccbbaa9988\",1",
	    "payloads[0].chunks[2]: not an array of 5" },
	{ "[[60,5,\"" H64B "\",\"" H64B "\",\"" H16 "\"]]", "[7]",
	    "payloads[1].chunks[0]: not an array" },
	{ "\"sha256\":\"" H64B "\"", "\"sha256\":\"" H16 "\"",
	    "payloads[1]: sha256" },
	{ "\"kind\":\"raw\"", "\"kind\":\"files\"", "payloads[1]: files: "
	    "missing" },
	{ "\"kind\":\"raw\",", "\"kind\":\"raw\",\"files\":[],",
	    "payloads[1]: files: not allowed" },
	{ "{\"name\":\"kernel\",\"size\":8000,\"mode\":420},", "",
	    "payloads[0]: files: files add up to 292" },
	{ "\"files\":[", "\"files\":[],\"x\":[", "payloads[0]: files" },
	{ "\"kernel\"", "\"..\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\".\"", "payloads[0].files[0]: name" },
	/* Paths: the same name rule at every level, no empty, "." or ".."
	 * level, never absolute, at most 8 deep and 255 long. */
	{ "\"kernel\"", "\"/kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"kernel/\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb//kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"../kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb/../kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb/../../kernel\"", "files[0]: name" },
	{ "\"kernel\"", "\"dtb/./kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"./kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb/..\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb/.\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb/a b\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb\\\\kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"dtb/" N65 "\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"" N65 "/kernel\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"a/b/c/d/e/f/g/h/i\"", "files[0]: name: not a "
	    "relative path" },
	{ "\"kernel\"", "\"" N64 "/" N64 "/" N64 "/" N60 "x\"",
	    "files[0]: name: not a relative path" },
	{ "\"cmdline\"", "\"kernel/cmdline\"", "payloads[0].files[1]: name: "
	    "a file and a folder of the same name" },
	{ "\"kernel\"", "\"cmdline/kernel\"", "payloads[0].files[1]: name: "
	    "a file and a folder of the same name" },
	{ "\"kernel\"", "\"\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"" N65 "\"", "payloads[0].files[0]: name" },
	{ "\"kernel\"", "\"cmdline\"", "payloads[0].files[1]: name: "
	    "duplicate" },
	/* cJSON would cut the name at the NUL, to "kernel". */
	{ "\"kernel\"", "\"kernel\\u0000x\"", "\\u0000 in a string" },
	{ "\"kernel\"", "\"kernel\\u0000\"", "\\u0000 in a string" },
	{ "\"1.2.0\"", "\"1.2.0\\u0000\"", "\\u0000 in a string" },
	{ "\"2026-11-28T01:02:03Z\"", "\"a\\\"\\u0000\"",
	    "\\u0000 in a string" },
	{ "\"mode\":420", "\"mode\":4096", "payloads[0].files[0]: mode" },
	{ "\"mode\":420", "\"mode\":\"420\"", "payloads[0].files[0]: mode" },
	{ "\"mode\":420", "\"mode\":-1", "payloads[0].files[0]: mode" },
	{ "\"size\":8000", "\"size\":8001", "payloads[0]: files" },
	{ "\"size\":8000", "\"siz\":8000", "files[0]: size: missing" },
	{ "{\"name\":\"kernel\"", "7,{\"name\":\"kernel\"",
	    "payloads[0].files[0]: not an object" },
	{ "{\"compatible\"", "[{\"compatible\"", "not valid JSON" },
	{ "\"created\"", "\"created\"\"", "not valid JSON" },
};

static char *
edit(const char *from, const char *to)
{
	const char *at;
	char *s;
	size_t n;

	CHECK((at = strstr(base, from)) != NULL);
	n = strlen(base) - strlen(from) + strlen(to);
	CHECK((s = malloc(n + 1)) != NULL);
	memcpy(s, base, (size_t)(at - base));
	strcpy(s + (at - base), to);
	strcat(s, at + strlen(from));
	return s;
}

static void
expect_bad(const char *json, size_t len, const char *msg)
{
	struct manifest *m = (struct manifest *)1;
	struct err e;
	int r;

	err_clear(&e);
	r = manifest_parse(json, len, &m, &e);
	if (r != -EBADMSG || m != NULL ||
	    (msg != NULL && strstr(e.msg, msg) == NULL)) {
		fprintf(stderr, "input: %.*s\nr=%d msg: %s\nwant: %s\n",
		    (int)len, json, r, e.msg, msg != NULL ? msg : "");
		CHECK(0);
	}
}

static void
check_base(const struct manifest *m)
{
	const struct bundle_payload *p;

	CHECK(strcmp(m->compatible, "qemu-aarch64") == 0);
	CHECK(strcmp(m->version, "1.2.0") == 0);
	CHECK(m->security_version == 3);
	CHECK(strcmp(m->created, "2026-11-28T01:02:03Z") == 0);
	CHECK(m->npayloads == 2);
	p = &m->payloads[0];
	CHECK(strcmp(p->name, "boot") == 0 && strcmp(p->class, "boot") == 0);
	CHECK(p->kind == PAYLOAD_FILES && p->size == 8292);
	CHECK(p->chunk_size == 4096 && p->offset == 0 && p->csize == 60);
	CHECK(p->sha256[0] == 0xaa && p->sha256[31] == 0xaa);
	CHECK(p->nfiles == 2 && strcmp(p->files[1].name, "cmdline") == 0);
	CHECK(p->files[0].size == 8000 && p->files[0].mode == 0644);
	CHECK(p->files[1].mode == 0600);
	CHECK(p->nchunks == 3);
	CHECK(p->chunks[0].usize == 4096 && p->chunks[2].usize == 100);
	CHECK(p->chunks[1].offset == 10 && p->chunks[1].csize == 20);
	CHECK(p->chunks[0].usha[0] == 0x01 && p->chunks[0].usha[31] == 0xef);
	CHECK(p->chunks[0].xxh3 == 0x0011223344556677ull);
	CHECK(p->chunks[2].xxh3 == 0xffeeddccbbaa9988ull);
	p = &m->payloads[1];
	CHECK(p->kind == PAYLOAD_RAW && p->nfiles == 0 && p->files == NULL);
	CHECK(p->offset == 60 && p->nchunks == 1 && p->chunks[0].usize == 4096);
}

/* n payloads of one 4096-byte chunk each, csize 1. */
static char *
many_payloads(int n)
{
	char *s, item[512];
	int i;

	CHECK((s = malloc(64 + 512 * (size_t)n)) != NULL);
	strcpy(s, "{\"compatible\":\"c\",\"version\":\"1\","
	    "\"security_version\":0,\"created\":\"x\",\"payloads\":[");
	for (i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "%s{\"name\":\"p%d\",\"class\":"
		    "\"c%d\",\"kind\":\"raw\",\"size\":4096,\"sha256\":\"" H64A
		    "\",\"chunk_size\":4096,\"offset\":%d,"
		    "\"compressed_size\":1,"
		    "\"chunks\":[[%d,1,\"" H64A "\",\"" H64A "\",\"" H16
		    "\"]]}", i > 0 ? "," : "", i, i, i, i);
		strcat(s, item);
	}
	strcat(s, "]}");
	return s;
}

/* One files payload of n one-byte files. */
static char *
many_files(int n)
{
	char *s, item[64];
	int i;

	CHECK((s = malloc(1024 + 64 * (size_t)n)) != NULL);
	snprintf(s, 1024, "{\"compatible\":\"c\",\"version\":\"1\","
	    "\"security_version\":0,\"created\":\"x\",\"payloads\":["
	    "{\"name\":\"b\",\"class\":\"b\",\"kind\":\"files\",\"size\":%d,"
	    "\"sha256\":\"" H64A "\",\"chunk_size\":4096,\"offset\":0,"
	    "\"compressed_size\":1,\"chunks\":[[0,1,\"" H64A "\",\"" H64A
	    "\",\"" H16 "\"]],\"files\":[", n);
	for (i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "%s{\"name\":\"f%d\",\"size\":1}",
		    i > 0 ? "," : "", i);
		strcat(s, item);
	}
	strcat(s, "]}]}");
	return s;
}

int
main(void)
{
	struct manifest *m, *m2;
	struct err e;
	char *enc, *enc2, *s, buf[sizeof(base) + 16];
	size_t len, len2, i;

	CHECK_OK(manifest_parse(base, strlen(base), &m, &e), &e);
	check_base(m);

	/* Round trip: encode, parse, encode again gives the same bytes. */
	CHECK_OK(manifest_encode(m, &enc, &len, &e), &e);
	CHECK(len == strlen(enc));
	CHECK_OK(manifest_parse(enc, len, &m2, &e), &e);
	check_base(m2);
	CHECK_OK(manifest_encode(m2, &enc2, &len2, &e), &e);
	CHECK(len == len2 && memcmp(enc, enc2, len) == 0);
	/* The base is already in the encoder's key order and format. */
	CHECK(strcmp(enc, base) == 0);
	free(enc);
	free(enc2);
	manifest_free(m2);
	manifest_free(m);
	manifest_free(NULL);

	/* Large values survive the trip through doubles exactly. */
	s = edit("\"security_version\":3",
	    "\"security_version\":9007199254740991");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	CHECK(m->security_version == 9007199254740991ull);
	CHECK_OK(manifest_encode(m, &enc, &len, &e), &e);
	CHECK(strstr(enc, "9007199254740991") != NULL);
	free(enc);
	manifest_free(m);
	free(s);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = edit(bad[i].from, bad[i].to);
		expect_bad(s, strlen(s), bad[i].msg);
		free(s);
	}

	/* Accepted variations: unknown keys, upper-case hex, no mode. */
	s = edit("\"compatible\"", "\"future\":{\"a\":[1.5]},\"compatible\"");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	manifest_free(m);
	free(s);
	s = edit(H16 "\"]]}]", "FFEEDDCCBBAA9988\"]]}]");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	CHECK(m->payloads[1].chunks[0].xxh3 == 0xffeeddccbbaa9988ull);
	manifest_free(m);
	free(s);
	/* Whitespace anywhere JSON allows it, inside chunk rows too. */
	s = edit("\"chunks\":[[0,10,\"", "\"chunks\" :\n [ [ 0 ,\t10 ,\r\n \"");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	check_base(m);
	manifest_free(m);
	free(s);
	/* "chunks" as a value or under another key is not a chunk table;
	 * of two "chunks" keys the first counts, as in cJSON. */
	s = edit("\"compatible\"", "\"x\":{\"chunks\":[[1]]},\"y\":\"chunks\","
	    "\"compatible\"");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	check_base(m);
	manifest_free(m);
	free(s);
	s = edit(H16 "\"]]}]", H16 "\"]],\"chunks\":[]}]");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	check_base(m);
	manifest_free(m);
	free(s);
	/* An escaped backslash before "u0000" is no NUL. */
	s = edit("\"2026-11-28T01:02:03Z\"", "\"a\\\\u0000\"");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	CHECK(strcmp(m->created, "a\\u0000") == 0);
	manifest_free(m);
	free(s);
	/* Subfolders: 8 deep, 255 long, round trip. */
	for (i = 0; i < 3; i++) {
		static const char *const ok[] = {
			"\"dtb/broadcom/bcm2837-rpi-3-b.dtb\"",
			"\"a/b/c/d/e/f/g/h\"",
			"\"" N64 "/" N64 "/" N64 "/" N60 "\"",
		};

		s = edit("\"kernel\"", ok[i]);
		CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
		CHECK(strncmp(m->payloads[0].files[0].name, ok[i] + 1,
		    strlen(ok[i]) - 2) == 0);
		CHECK_OK(manifest_encode(m, &enc, &len, &e), &e);
		CHECK(strcmp(enc, s) == 0);
		free(enc);
		manifest_free(m);
		free(s);
	}
	CHECK(bundle_file_path_valid(N64 "/" N64 "/" N64 "/" N60));
	CHECK(!bundle_file_path_valid(N64 "/" N64 "/" N64 "/" N60 "x"));
	CHECK(bundle_file_paths_clash("dtb", "dtb/x"));
	CHECK(bundle_file_paths_clash("dtb/x", "dtb"));
	CHECK(bundle_file_paths_clash("dtb/x", "dtb/x"));
	CHECK(!bundle_file_paths_clash("dtb", "dtbx/y"));
	CHECK(!bundle_file_paths_clash("dtb/x", "dtb/xy"));
	s = edit(",\"mode\":384", "");
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	CHECK(m->payloads[0].files[1].mode == 0644);
	manifest_free(m);
	free(s);

	/* Framing: trailing bytes, an embedded NUL, truncation. */
	memcpy(buf, base, strlen(base));
	memcpy(buf + strlen(base), " x", 2);
	expect_bad(buf, strlen(base) + 2, "not valid JSON");
	buf[strlen(base)] = '\0';
	expect_bad(buf, strlen(base) + 2, "not valid JSON");
	for (i = 0; i < strlen(base); i += 7)
		expect_bad(base, i, NULL);
	memcpy(buf, base, strlen(base));
	memcpy(buf + strlen(base), " \n", 2);
	CHECK_OK(manifest_parse(buf, strlen(base) + 2, &m, &e), &e);
	manifest_free(m);
	expect_bad("[]", 2, "manifest: not a JSON object");

	/* Counts: payloads 1..16, files 1..64. */
	s = many_payloads(BUNDLE_PAYLOADS_MAX);
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	CHECK(m->npayloads == BUNDLE_PAYLOADS_MAX);
	CHECK(m->payloads[15].offset == 15);
	manifest_free(m);
	free(s);
	s = many_payloads(BUNDLE_PAYLOADS_MAX + 1);
	expect_bad(s, strlen(s), "payloads");
	free(s);
	s = many_files(BUNDLE_FILES_MAX);
	CHECK_OK(manifest_parse(s, strlen(s), &m, &e), &e);
	CHECK(m->payloads[0].nfiles == BUNDLE_FILES_MAX);
	manifest_free(m);
	free(s);
	s = many_files(BUNDLE_FILES_MAX + 1);
	expect_bad(s, strlen(s), "files");
	free(s);
	return 0;
}

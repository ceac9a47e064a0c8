/*
 * verdict_test: one bundle, one verdict. Correctly signed bundles whose
 * manifest disagrees with their own bytes (a wrong usha256 or xxh3 in one
 * chunk row, a wrong payload sha256) are built here: a good bundle's
 * manifest is edited, re-encoded and signed again with the test's signer
 * key. `upkit update` and `upkit bundle verify` run in-process on them and
 * on a device in files (upkit.conf, a libubootenv env file, raw slots in
 * image files). Both must exit 5 (EXIT_BUNDLE), and the update must not
 * have written a byte of the bad chunk; a bad payload hash stops it
 * before the env or any slot is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cmd.h"
#include "common/err.h"
#include "common/io.h"
#include "host/create.h"
#include "host/sign.h"
#include "slots/boot/bootenv.h"
#include "tests/harness.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"
#include "verify/trust.h"

#define CHUNK		4096
#define NCHUNKS		16
#define BAD		5		/* the chunk whose row is wrong */
#define SLOT_BYTES	(NCHUNKS * CHUNK + CHUNK)
#define OLD		0xfc		/* what slot B holds before */
#define ENV_SIZE	0x4000

static char cfg[128], envcfg[128];

/* The image: every chunk different and compressible, none all zeros. */
static uint8_t *
image(void)
{
	uint8_t *b;
	size_t i;

	CHECK((b = malloc(NCHUNKS * CHUNK)) != NULL);
	for (i = 0; i < NCHUNKS * CHUNK; i++)
		b[i] = (uint8_t)(1 + (i / CHUNK) * 7 + (i % 251) / 5);
	return b;
}

enum edit {
	EDIT_NONE,
	EDIT_USHA,		/* chunk BAD's usha256 (payload hash kept) */
	EDIT_XXH3,		/* chunk BAD's xxh3 */
	EDIT_PAYLOAD,		/* the payload sha256 */
};

/*
 * Reads the bundle src, edits its manifest, encodes it again and signs
 * header||manifest with the test's signer: a bundle as its vendor could
 * have made it, correctly signed, that lies about its own bytes.
 */
static void
resign(const char *src, const char *dst, enum edit ed)
{
	struct bundle_header h;
	struct manifest *m;
	struct bundle_chunk *c;
	struct err e;
	uint8_t hdr[BUNDLE_HEADER_SIZE], digest[32], *sig;
	char *buf, *key, *cert, *json, *nb;
	size_t len, keylen, certlen, jlen, siglen, slen, rest, n;
	struct digest *sha;

	CHECK_OK(file_read(src, 1 << 24, &buf, &len, &e), &e);
	CHECK_OK(file_read(at("signer.key"), 1 << 16, &key, &keylen, &e), &e);
	CHECK_OK(file_read(at("signer.pem"), 1 << 16, &cert, &certlen, &e),
	    &e);
	CHECK_OK(bundle_header_parse((uint8_t *)buf, &h, &e), &e);
	CHECK_OK(manifest_parse(buf + BUNDLE_HEADER_SIZE, h.manifest_len, &m,
	    &e), &e);
	CHECK_OK(sigblock_length((uint8_t *)buf + BUNDLE_HEADER_SIZE +
	    h.manifest_len, &slen, &e), &e);
	rest = len - BUNDLE_HEADER_SIZE - h.manifest_len - slen;
	CHECK(rest == h.payload_len);
	CHECK(m->npayloads == 1 && m->payloads[0].nchunks == NCHUNKS);
	c = &m->payloads[0].chunks[BAD];
	switch (ed) {
	case EDIT_NONE:
		break;
	case EDIT_USHA:
		c->usha[7] ^= 0x01;
		CHECK_OK(chunk_payload_sha256(&m->payloads[0],
		    m->payloads[0].sha256, &e), &e);
		break;
	case EDIT_XXH3:
		c->xxh3 ^= 0x0100;
		break;
	case EDIT_PAYLOAD:
		m->payloads[0].sha256[31] ^= 0x80;
		break;
	}
	CHECK_OK(manifest_encode(m, &json, &jlen, &e), &e);
	h.manifest_len = jlen;
	bundle_header_encode(&h, hdr);
	CHECK_OK(digest_open(&sha, &e), &e);
	digest_update(sha, hdr, sizeof(hdr));
	digest_update(sha, json, jlen);
	digest_final(sha, digest);
	digest_free(sha);
	CHECK_OK(sign_bundle(key, keylen, cert, certlen, NULL, 0, digest, &sig,
	    &siglen, &e), &e);
	n = sizeof(hdr) + jlen + siglen + rest;
	CHECK((nb = malloc(n)) != NULL);
	memcpy(nb, hdr, sizeof(hdr));
	memcpy(nb + sizeof(hdr), json, jlen);
	memcpy(nb + sizeof(hdr) + jlen, sig, siglen);
	memcpy(nb + sizeof(hdr) + jlen + siglen, buf + len - rest, rest);
	put(dst, nb, n);
	free(nb);
	free(sig);
	free(json);
	manifest_free(m);
	free(cert);
	free(key);
	free(buf);
}

/* Slot B as it was before any update: OLD everywhere. */
static void
reset_slot_b(void)
{
	uint8_t *b;

	CHECK((b = malloc(SLOT_BYTES)) != NULL);
	memset(b, OLD, SLOT_BYTES);
	put("b.img", b, SLOT_BYTES);
	free(b);
	set_env(envcfg, "A B", 3, 3);
}

/* Bytes [from, to) of slot B still hold OLD. */
static int
slot_b_old(size_t from, size_t to)
{
	char *b;
	size_t len, i;
	struct err e;
	int old = 1;

	CHECK_OK(file_read(at("b.img"), SLOT_BYTES, &b, &len, &e), &e);
	CHECK(len == SLOT_BYTES && to <= len);
	for (i = from; i < to; i++)
		if ((uint8_t)b[i] != OLD)
			old = 0;
	free(b);
	return old;
}

static void
make_device(void)
{
	char text[2048];
	uint8_t zero[ENV_SIZE];

	snprintf(cfg, sizeof(cfg), "%s", at("upkit.conf"));
	snprintf(envcfg, sizeof(envcfg), "%s", at("fw_env.config"));
	snprintf(text, sizeof(text),
	    "[system]\ncompatible = board-x\nbootloader = uboot\n"
	    "data-directory = %s\nboot-attempts = 3\ncmdline = %s\n"
	    "[keyring]\npath = %s\n"
	    "[uboot]\nconfig = %s\n"
	    "[slot.rootfs.0]\ndevice = %s\nbootname = A\n"
	    "[slot.rootfs.1]\ndevice = %s\nbootname = B\n",
	    at("data"), at("cmdline"), at("root.pem"), envcfg, at("a.img"),
	    at("b.img"));
	put("upkit.conf", text, strlen(text));
	CHECK(mkdir(at("data"), 0755) == 0);
	put("cmdline", "quiet upkit.slot=A\n", 19);
	snprintf(text, sizeof(text), "%s 0x0 0x%x\n", at("uboot.env"),
	    ENV_SIZE);
	put("fw_env.config", text, strlen(text));
	memset(zero, 0, sizeof(zero));
	put("uboot.env", zero, sizeof(zero));
	memset(zero, 0x11, sizeof(zero));
	put("a.img", zero, sizeof(zero));
	reset_slot_b();
}

static void
make_bundle(void)
{
	struct create_signer sg = { NULL, NULL, NULL };
	struct create_opts o = { CHUNK, 3, 2 };
	struct create_plan p = { 0 };
	struct manifest m = { 0 };
	char *rp, *rk, *sp, *sk, key[256], cert[256];
	uint8_t *img;
	struct err e;

	CHECK_OK(sign_keys_create("verdict", &rp, &rk, &sp, &sk, &e), &e);
	put("root.pem", rp, strlen(rp));
	put("root.key", rk, strlen(rk));
	put("signer.pem", sp, strlen(sp));
	put("signer.key", sk, strlen(sk));
	free(rp);
	free(rk);
	free(sp);
	free(sk);
	img = image();
	put("rootfs.img", img, NCHUNKS * CHUNK);
	free(img);
	CHECK_OK(create_add_image(&p, "rootfs", at("rootfs.img"), &e), &e);
	snprintf(key, sizeof(key), "%s", at("signer.key"));
	snprintf(cert, sizeof(cert), "%s", at("signer.pem"));
	sg.key = key;
	sg.cert = cert;
	m.compatible = (char *)"board-x";
	m.version = (char *)"2.0";
	m.created = (char *)"2026-01-02T03:04:05Z";
	CHECK_OK(create_bundle(at("good.upk"), &p, &o, &sg, &m, &e), &e);
	create_manifest_clear(&m);
	create_plan_clear(&p);
}

/* A CRL from the root, for nobody, in a file of more than 1 MiB: a long
 * listing before the PEM block, as `openssl crl -text` writes it. 0 when
 * there is no openssl (mbedtls cannot write a CRL). */
static int
big_crl(void)
{
	if (system("openssl version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "openssl not found: CRL part skipped\n");
		return 0;
	}
	put_str("index.txt", "");
	put_str("crlnumber", "01\n");
	put_str("ca.cnf", "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\n"
	    "crlnumber = crlnumber\ndefault_md = sha256\n"
	    "default_crl_days = 30\n");
	CHECK(shell("cd %s && openssl ca -config ca.cnf -keyfile root.key "
	    "-cert root.pem -gencrl -out crl.pem 2>/dev/null && "
	    "{ yes '    Serial Number: 0123456789ABCDEF0123' | "
	    "head -n 40000; cat crl.pem; } >big-crl.pem", dir) != NULL);
	return 1;
}

static int
verify(const char *name)
{
	return cmd(cmd_bundle_verify, "verify @%s --keyring @root.pem", name);
}

static int
update(const char *name)
{
	return cmd(cmd_update, "update -c %s --from @%s --no-reboot", cfg,
	    name);
}

static void
expect_msg(const char *what, const char *want)
{
	if (strstr(errout, want) == NULL) {
		fprintf(stderr, "%s: stderr '%s' lacks '%s'\n", what, errout,
		    want);
		exit(1);
	}
}

/* A row that lies about chunk BAD: refused by both, exit 5, and not one
 * byte of the chunk reaches slot B. */
static void
test_row(enum edit ed, const char *name, const char *msg)
{
	struct bootstate st = { 0 };

	resign(at("good.upk"), name, ed);
	CHECK(verify(name) == EXIT_BUNDLE);
	expect_msg(name, msg);
	expect_msg(name, "chunk 5");
	reset_slot_b();
	CHECK(update(name) == EXIT_BUNDLE);
	expect_msg(name, msg);
	CHECK(slot_b_old(BAD * CHUNK, (BAD + 1) * CHUNK));
	/* B was marked bad, not armed; A still boots. */
	get_env(envcfg, &st);
	CHECK(strcmp(st.order, "A") == 0 && st.left[1] == 0);
}

int
main(void)
{
	struct bootstate st = { 0 };
	char *b, *img;
	size_t len, ilen;
	struct err e;

	tmpdir_make("verdict_test");
	make_bundle();
	make_device();

	/* The tools of this test make a bundle that verifies and installs. */
	resign(at("good.upk"), "same.upk", EDIT_NONE);
	CHECK(verify("same.upk") == EXIT_OK);

	/* usha256 is an index for delta reuse, not part of the verdict
	 * (docs/bundle-format.md): both accept, and B gets the right bytes
	 * (the payload hash is kept consistent with the edited row). */
	resign(at("good.upk"), "usha.upk", EDIT_USHA);
	CHECK(verify("usha.upk") == EXIT_OK);
	reset_slot_b();
	CHECK(update("usha.upk") == EXIT_OK);
	CHECK(!slot_b_old(BAD * CHUNK, (BAD + 1) * CHUNK));
	get_env(envcfg, &st);
	CHECK(st.order[0] == 'B' && st.trial == 'B');
	CHECK(unlink(at("data/state.json")) == 0);
	test_row(EDIT_XXH3, "xxh3.upk", "uncompressed XXH3 mismatch");

	/* A payload sha256 that is not the hash of its rows is refused
	 * from the manifest, before the env or a slot is touched. */
	resign(at("good.upk"), "payload.upk", EDIT_PAYLOAD);
	CHECK(verify("payload.upk") == EXIT_BUNDLE);
	expect_msg("payload.upk", "payload rootfs: sha256 does not match");
	reset_slot_b();
	CHECK(update("payload.upk") == EXIT_BUNDLE);
	expect_msg("payload.upk", "payload rootfs: sha256 does not match");
	CHECK(slot_b_old(0, SLOT_BYTES));
	get_env(envcfg, &st);
	CHECK(strcmp(st.order, "AB") == 0);
	CHECK(st.left[0] == 3 && st.left[1] == 3);

	/* Exit 4 is for a source that cannot be read, from both. */
	CHECK(verify("data") == EXIT_INPUT);
	CHECK(update("data") == EXIT_INPUT);

	/* One CRL file, one verdict: bundle verify reads a CRL as large as
	 * update does (it used to refuse one over 1 MiB, exit 3). */
	if (big_crl()) {
		CHECK(cmd(cmd_bundle_verify, "verify @same.upk --keyring "
		    "@root.pem --crl @big-crl.pem") == EXIT_OK);
		CHECK(shell("sed -i '/^\\[keyring\\]/a crl = %s' %s",
		    at("big-crl.pem"), cfg) != NULL);
	}

	/* The re-signed good bundle installs, with that CRL if there is
	 * one. */
	reset_slot_b();
	CHECK(update("same.upk") == EXIT_OK);
	CHECK_OK(file_read(at("b.img"), SLOT_BYTES, &b, &len, &e), &e);
	CHECK_OK(file_read(at("rootfs.img"), SLOT_BYTES, &img, &ilen, &e),
	    &e);
	CHECK(ilen == NCHUNKS * CHUNK && memcmp(b, img, ilen) == 0);
	free(b);
	free(img);

	tmpdir_remove();
	return 0;
}

/*
 * install_test: agent/install writes nothing without a verified signature,
 * whoever calls it. A bundle whose reader was opened without a keyring
 * (as `bundle info` does) and handed real slot writers is refused before any byte of its
 * payloads is read from the stream or reaches a slot; the same bundle
 * opened with the keyring installs, so the refusal is the guard's alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/install.h"
#include "common/err.h"
#include "common/io.h"
#include "host/create.h"
#include "host/sign.h"
#include "slots/slot.h"
#include "source/source.h"
#include "tests/harness.h"
#include "verify/bundle.h"
#include "verify/reader.h"
#include "verify/trust.h"

#define IMAGE	100000
#define SLOTSZ	(128 * 1024)
#define FILL	0xfc

/* The raw slot still holds FILL only, and the files slot is not there. */
static int
untouched(void)
{
	struct stat st;
	char *buf;
	size_t len, i;
	struct err e;
	int ok;

	CHECK_OK(file_read(at("rootfs-b.img"), SLOTSZ, &buf, &len, &e), &e);
	ok = len == SLOTSZ;
	for (i = 0; ok && i < len; i++)
		ok = (unsigned char)buf[i] == FILL;
	free(buf);
	return ok && stat(at("boot/B"), &st) == -1 && errno == ENOENT &&
	    stat(at("boot/.B.upkit-new"), &st) == -1 && errno == ENOENT;
}

/* Opens the bundle (verified with k, parsed only without), opens a
 * writer per payload, and streams. Returns install_payloads()'s result;
 * *posp is the stream offset it left. */
static int
install(const struct keyring *k, int nwriters, off_t *posp, struct err *e)
{
	char rname[] = "rootfs.1", rclass[] = "rootfs";
	char bname[] = "boot.1", bclass[] = "boot";
	struct slot slots[2] = {
		{ rname, rclass, 'B', SLOT_RAW, NULL, 0 },
		{ bname, bclass, 'B', SLOT_FILES, NULL, 0 },
	};
	struct slot_writer *w[BUNDLE_PAYLOADS_MAX] = { NULL };
	struct slot_file files[BUNDLE_FILES_MAX];
	const struct bundle_payload *pl;
	const struct manifest *m;
	struct bundle_reader *in;
	enum install_fault f;
	char rdev[1024], bdev[1024];
	size_t i, j;
	struct source *src;
	int r;

	snprintf(rdev, sizeof(rdev), "%s", at("rootfs-b.img"));
	snprintf(bdev, sizeof(bdev), "%s", at("boot/B"));
	slots[0].device = rdev;
	slots[1].device = bdev;
	CHECK_OK(source_open(at("b.upk"), NULL, &src, e), e);
	CHECK_OK(bundle_reader_open(src, k, &in, e), e);
	CHECK(bundle_reader_verified(in) == (k != NULL));
	m = bundle_reader_manifest(in);
	CHECK(m->npayloads == 2);
	for (i = 0; i < m->npayloads && (int)i < nwriters; i++) {
		pl = &m->payloads[i];
		for (j = 0; j < pl->nfiles; j++) {
			files[j].name = pl->files[j].name;
			files[j].size = pl->files[j].size;
			files[j].mode = pl->files[j].mode;
		}
		CHECK_OK(slot_writer_open(&slots[pl->kind == PAYLOAD_FILES],
		    pl->size, files, pl->nfiles, &w[i], e), e);
	}
	r = install_payloads(in, w, NULL, NULL, &f, e);
	if (r == 0)
		for (i = 0; i < m->npayloads; i++)
			CHECK_OK(slot_writer_commit(w[i], e), e);
	*posp = (off_t)source_offset(src);
	for (i = 0; i < m->npayloads; i++)
		slot_writer_free(w[i]);
	bundle_reader_free(in);
	source_close(src);
	return r;
}

int
main(void)
{
	struct create_signer sg = { NULL, NULL, NULL };
	struct create_opts o = { 8192, 1, 2 };
	struct create_plan p = { 0 };
	struct manifest m = { 0 };
	struct keyring *k = NULL;
	struct err e;
	struct stat st;
	char *rp, *rk, *sp, *sk, *img, key[1024], cert[1024];
	uint64_t area;
	off_t pos;
	size_t i;

	tmpdir_make("install_test");
	CHECK_OK(sign_keys_create("install test", &rp, &rk, &sp, &sk, &e),
	    &e);
	CHECK_OK(keyring_load(rp, strlen(rp), NULL, 0, &k, &e), &e);
	put_pem("root.pem", rp);
	free(rk);
	put_pem("signer.pem", sp);
	put_pem("signer.key", sk);

	/* A raw and a files payload, as a LinuxKit bundle has. */
	CHECK((img = malloc(SLOTSZ)) != NULL);
	for (i = 0; i < IMAGE; i++)
		img[i] = (char)(i * 7 + i / 251);
	put("rootfs.img", img, IMAGE);
	CHECK(mkdir(at("bootdir"), 0755) == 0 && mkdir(at("boot"), 0755) == 0);
	put("bootdir/kernel", "KERNEL", 6);
	put("bootdir/cmdline", "upkit.slot=B", 12);
	CHECK_OK(create_add_image(&p, "rootfs", at("rootfs.img"), &e), &e);
	CHECK_OK(create_add_files(&p, "boot", at("bootdir"), &e), &e);
	snprintf(key, sizeof(key), "%s", at("signer.key"));
	snprintf(cert, sizeof(cert), "%s", at("signer.pem"));
	sg.key = key;
	sg.cert = cert;
	m.compatible = (char *)"board-x";
	m.version = (char *)"1.0.0";
	m.created = (char *)"2026-01-02T03:04:05Z";
	CHECK_OK(create_bundle(at("b.upk"), &p, &o, &sg, &m, &e), &e);
	area = m.payloads[0].csize + m.payloads[1].csize;
	create_manifest_clear(&m);
	create_plan_clear(&p);
	CHECK(stat(at("b.upk"), &st) == 0);

	/* Opened without a keyring: no payload byte is read, none
	 * written, and the call fails. */
	memset(img, FILL, SLOTSZ);
	put("rootfs-b.img", img, SLOTSZ);
	err_clear(&e);
	CHECK(install(NULL, 2, &pos, &e) == -EPERM);
	CHECK(strstr(e.msg, "unverified") != NULL &&
	    strstr(e.msg, "b.upk") != NULL);
	CHECK((uint64_t)pos == (uint64_t)st.st_size - area);
	CHECK(untouched());
	/* Writers for some payloads only: refused as well. */
	CHECK(install(NULL, 1, &pos, &e) < 0);
	CHECK((uint64_t)pos == (uint64_t)st.st_size - area);
	CHECK(untouched());

	/* The same bundle, verified: both slots are written. */
	CHECK_OK(install(k, 2, &pos, &e), &e);
	CHECK((uint64_t)pos == (uint64_t)st.st_size);
	CHECK(!untouched());
	{
		char *buf;
		size_t len;

		CHECK_OK(file_read(at("rootfs-b.img"), SLOTSZ, &buf, &len, &e),
		    &e);
		CHECK(len == SLOTSZ);
		for (i = 0; i < IMAGE; i++)
			CHECK(buf[i] == (char)(i * 7 + i / 251));
		free(buf);
		CHECK_OK(file_read(at("boot/B/kernel"), 64, &buf, &len, &e),
		    &e);
		CHECK(len == 6 && memcmp(buf, "KERNEL", 6) == 0);
		free(buf);
	}
	free(img);
	keyring_free(k);
	tmpdir_remove();
	return 0;
}

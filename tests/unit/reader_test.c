/*
 * reader_test: bundle_reader_skip() moves past whole chunks, across a
 * payload boundary, without reading them: the chunk after a skip is the
 * right one and matches its signed hash, the source stands where the
 * manifest's csize values say, the end check still holds, and a skip
 * before the pass or past the last chunk is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "host/create.h"
#include "host/sign.h"
#include "source/source.h"
#include "tests/harness.h"
#include "verify/bundle.h"
#include "verify/reader.h"
#include "verify/trust.h"

#define IMAGE	100000		/* 13 chunks of 8192 */

static void
make_bundle(struct keyring **kp)
{
	struct create_signer sg = { NULL, NULL, NULL };
	struct create_opts o = { 8192, 1, 2 };
	struct create_plan p = { 0 };
	struct manifest m = { 0 };
	struct err e;
	char *rp, *rk, *sp, *sk, *img, key[1024], cert[1024];
	size_t i;

	CHECK_OK(sign_keys_create("reader test", &rp, &rk, &sp, &sk, &e),
	    &e);
	CHECK_OK(keyring_load(rp, strlen(rp), NULL, 0, kp, &e), &e);
	free(rp);
	free(rk);
	put_pem("signer.pem", sp);
	put_pem("signer.key", sk);
	CHECK((img = malloc(IMAGE)) != NULL);
	for (i = 0; i < IMAGE; i++)
		img[i] = (char)(i * 7 + i / 251);
	put("rootfs.img", img, IMAGE);
	free(img);
	CHECK(mkdir(at("bootdir"), 0755) == 0);
	put("bootdir/kernel", "KERNEL", 6);
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
	create_manifest_clear(&m);
	create_plan_clear(&p);
}

int
main(void)
{
	const struct manifest *m;
	const struct bundle_payload *pl;
	struct bundle_reader *r;
	struct keyring *k = NULL;
	struct source *src;
	struct err e;
	uint64_t area, off;
	size_t payload, index, i;
	void *buf;

	tmpdir_make("reader_test");
	make_bundle(&k);
	CHECK_OK(source_open(at("b.upk"), NULL, &src, &e), &e);
	CHECK_OK(bundle_reader_open(src, k, &r, &e), &e);
	m = bundle_reader_manifest(r);
	CHECK(m->npayloads == 2 && m->payloads[0].nchunks == 13 &&
	    m->payloads[1].nchunks == 1);
	pl = &m->payloads[0];
	area = source_offset(src);
	CHECK((buf = malloc(65536)) != NULL);

	/* Not before the pass begins. */
	CHECK(bundle_reader_skip(r, 1, &e) == -EINVAL);
	CHECK_OK(bundle_reader_begin(r, &e), &e);

	/* Three chunks skipped: the fourth comes next, checked. */
	CHECK_OK(bundle_reader_skip(r, 3, &e), &e);
	off = area;
	for (i = 0; i < 3; i++)
		off += pl->chunks[i].csize;
	CHECK(source_offset(src) == off);
	CHECK_OK(bundle_reader_chunk(r, buf, &payload, &index, &e), &e);
	CHECK(payload == 0 && index == 3);

	/* Past what is left: refused, nothing moved. */
	CHECK(bundle_reader_skip(r, 11, &e) == -EINVAL);
	CHECK(strstr(e.msg, "only 10 left") != NULL);
	CHECK(source_offset(src) == off + pl->chunks[3].csize);

	/* Zero is a no-op; then to the last chunk of the payload, and from
	 * its end across the boundary into the next payload. */
	CHECK_OK(bundle_reader_skip(r, 0, &e), &e);
	CHECK_OK(bundle_reader_skip(r, 8, &e), &e);
	CHECK(source_offset(src) + pl->chunks[12].csize +
	    m->payloads[1].chunks[0].csize ==
	    area + pl->csize + m->payloads[1].csize);
	CHECK_OK(bundle_reader_chunk(r, buf, &payload, &index, &e), &e);
	CHECK(payload == 0 && index == 12);
	CHECK_OK(bundle_reader_skip(r, 1, &e), &e);
	/* The stream ends with the last chunk: the end check holds. */
	CHECK_OK(bundle_reader_end(r, &e), &e);
	CHECK(bundle_reader_chunk(r, buf, &payload, &index, &e) == -EINVAL);

	free(buf);
	bundle_reader_free(r);
	source_close(src);
	keyring_free(k);
	tmpdir_remove();
	return 0;
}

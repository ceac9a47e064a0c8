/*
 * tests/unit/create_test.c: host/create's inputs, chunking and whole
 * bundles, read back by agent/install with a real keyring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "agent/cmd.h"
#include "agent/install.h"
#include "common/err.h"
#include "common/io.h"
#include "host/create.h"
#include "host/sign.h"
#include "source/source.h"
#include "tests/harness.h"
#include "verify/bundle.h"
#include "verify/chunk.h"
#include "verify/digest.h"
#include "verify/reader.h"
#include "verify/trust.h"

/* Compressible but not trivial: so chunks differ and frames are real. */
static uint8_t *
pattern(size_t len, unsigned seed)
{
	uint8_t *b = malloc(len);
	size_t i;

	CHECK(b != NULL);
	for (i = 0; i < len; i++)
		b[i] = (uint8_t)((i / 7) * seed + (i % 13 == 0 ? i >> 9 : 0));
	return b;
}

/* Runs a shell command in the temp folder; it must succeed. */
static void
sh(const char *line)
{
	CHECK(shell("cd %s && %s", dir, line) != NULL);
}

static void
test_inputs(void)
{
	struct create_plan p = { 0 };
	struct err e;

	/* --files: sorted by name, names checked (subfolders:
	 * lkoutputs_test.c). */
	sh("mkdir -p fdir && printf bb > fdir/b && printf a > fdir/a.1");
	CHECK_OK(create_add_files(&p, "boot", at("fdir"), &e), &e);
	CHECK(p.nsources == 1 && p.sources[0].kind == PAYLOAD_FILES);
	CHECK(p.sources[0].nranges == 2);
	CHECK(strcmp(p.sources[0].ranges[0].name, "a.1") == 0);
	CHECK(p.sources[0].ranges[1].size == 2);
	/* A second source for the class names both. */
	put("img", "x", 1);
	CHECK(create_add_image(&p, "boot", at("img"), &e) == -EEXIST);
	CHECK(strstr(e.msg, "fdir") != NULL && strstr(e.msg, "img") != NULL);
	CHECK(p.nsources == 1);
	sh("mkdir -p sub/inner && printf x > sub/f");
	CHECK(create_add_files(&p, "other", at("sub"), &e) == -EINVAL);
	CHECK(strstr(e.msg, "sub/inner: an empty folder") != NULL);
	/* A symlink, even to a regular file, is refused by name: it
	 * would bundle a file from outside the folder. */
	sh("mkdir -p link && printf x > link/a && printf secret > outside && "
	    "ln -s ../outside link/b");
	CHECK(create_add_files(&p, "other", at("link"), &e) == -EINVAL);
	CHECK(strstr(e.msg, "link/b") != NULL &&
	    strstr(e.msg, "symlink") != NULL);
	sh("rm link/b && ln -s a link/b");
	CHECK(create_add_files(&p, "other", at("link"), &e) == -EINVAL);
	CHECK(strstr(e.msg, "link/b") != NULL);
	sh("rm link/b && mkfifo link/b");
	CHECK(create_add_files(&p, "other", at("link"), &e) == -EINVAL);
	CHECK(strstr(e.msg, "link/b: not a regular file") != NULL);
	sh("mkdir -p badname && printf x > 'badname/a b'");
	CHECK(create_add_files(&p, "other", at("badname"), &e) == -EINVAL);
	CHECK(strstr(e.msg, "a b") != NULL);
	CHECK(create_add_image(&p, "Bad", at("img"), &e) == -EINVAL);
	CHECK(create_add_image(&p, "disk", at("missing"), &e) == -ENOENT);
	CHECK(strstr(e.msg, "missing") != NULL);
	CHECK(p.nsources == 1);
	create_plan_clear(&p);

	/* LinuxKit: kernel+initrd+cmdline and a squashfs. */
	put("lk-kernel", "KERNEL", 6);
	put("lk-initrd.img", "INITRD", 6);
	put("lk-squashfs.img", "SQUASH", 6);
	CHECK_OK(create_add_linuxkit(&p, at("lk"), &e), &e);
	CHECK(p.nsources == 2);
	CHECK(strcmp(p.sources[0].class, "boot") == 0);
	CHECK(p.sources[0].nranges == 2);
	CHECK(strcmp(p.sources[0].ranges[1].name, "initrd.img") == 0);
	CHECK(strcmp(p.sources[1].class, "rootfs") == 0);
	CHECK(p.sources[1].kind == PAYLOAD_RAW);
	create_plan_clear(&p);
	/* Two rootfs images under one prefix is ambiguous. */
	put("lk-erofs.img", "EROFS", 5);
	CHECK(create_add_linuxkit(&p, at("lk"), &e) == -EEXIST);
	CHECK(strstr(e.msg, "lk-erofs.img") != NULL);
	create_plan_clear(&p);

	/* tar-kernel-initrd: members under ./boot/, other members ignored. */
	sh("mkdir -p t/boot && printf KKKK > t/boot/kernel && "
	    "printf CMD > t/boot/cmdline && printf x > t/boot/README && "
	    "printf II > t/boot/initrd.img && "
	    "tar -C t -cf tk-initrd.tar ./boot && printf D > tk.raw");
	CHECK_OK(create_add_linuxkit(&p, at("tk"), &e), &e);
	CHECK(p.nsources == 2);
	CHECK(p.sources[0].nranges == 4);	/* and cmdline.cfg */
	CHECK(strcmp(p.sources[0].ranges[0].name, "kernel") == 0);
	CHECK(p.sources[0].ranges[0].size == 4);
	CHECK(strcmp(p.sources[0].ranges[2].name, "cmdline") == 0);
	CHECK(strcmp(p.sources[1].class, "disk") == 0);
	create_plan_clear(&p);
	/* A kernel next to the tar: two sources for boot. */
	sh("printf K > tk-kernel");
	CHECK(create_add_linuxkit(&p, at("tk"), &e) == -EEXIST);
	CHECK(create_add_linuxkit(&p, at("none"), &e) == -ENOENT);
	CHECK(strstr(e.msg, "none-kernel") != NULL);
	CHECK(strstr(e.msg, "none.raw") != NULL);
	CHECK(p.nsources == 0);
}

/* Chunks are independent frames with content size and no checksum, and
 * every recorded hash matches the bytes. */
static void
test_payload(int threads)
{
	struct create_plan p = { 0 };
	struct create_opts o = { 4096, 3, threads };
	struct bundle_payload bp;
	uint8_t *a, *b, *all, *cbuf, *ubuf, sha[32];
	size_t asz = 4096 * 5 + 100, bsz = 4096 * 3 + 7, i, n;
	uint64_t off = 0;
	struct err e;
	int fd;

	a = pattern(asz, 3);
	b = pattern(bsz, 5);
	sh("mkdir -p pl");
	put("pl/a", a, asz);
	put("pl/b", b, bsz);
	CHECK_OK(create_add_files(&p, "boot", at("pl"), &e), &e);
	CHECK((fd = open(at("pl.out"), O_RDWR | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	CHECK(write(fd, "PRE", 3) == 3);	/* base: not at 0 */
	CHECK_OK(create_payload(&p.sources[0], &o, fd, 3, &bp, &e), &e);
	CHECK(bp.size == asz + bsz);
	CHECK(bp.nchunks == (asz + bsz + 4095) / 4096);
	CHECK(bp.nfiles == 2 && bp.files[1].size == bsz);
	CHECK(bp.offset == 3);
	all = malloc(asz + bsz);
	CHECK(all != NULL);
	memcpy(all, a, asz);
	memcpy(all + asz, b, bsz);
	/* The payload hash is the hash of its chunks' SHA-256 digests, in
	 * order (docs/bundle-format.md), computed here from the input. */
	{
		uint8_t list[32 * 16];

		CHECK(bp.nchunks <= 16);
		for (i = 0; i * 4096 < asz + bsz; i++)
			digest_sha256(all + 4096 * i, asz + bsz - 4096 * i <
			    4096 ? asz + bsz - 4096 * i : 4096, list + 32 * i);
		digest_sha256(list, 32 * i, sha);
		CHECK(memcmp(sha, bp.sha256, 32) == 0);
	}
	cbuf = malloc(ZSTD_compressBound(4096));
	ubuf = malloc(4096);
	CHECK(cbuf != NULL && ubuf != NULL);
	off = 3;
	for (i = 0; i < bp.nchunks; i++) {
		const struct bundle_chunk *c = &bp.chunks[i];
		size_t want = i + 1 < bp.nchunks ? 4096 :
		    (asz + bsz) - 4096 * i;

		CHECK(c->offset == off);
		CHECK(c->usize == want);
		CHECK(pread(fd, cbuf, c->csize, (off_t)c->offset) ==
		    (ssize_t)c->csize);
		CHECK_OK(chunk_check_compressed(c, i, cbuf, c->csize, &e), &e);
		CHECK(ZSTD_getFrameContentSize(cbuf, c->csize) == want);
		/* Frame header descriptor, bit 2: content checksum. */
		CHECK((cbuf[4] & 0x04) == 0);
		n = ZSTD_decompress(ubuf, 4096, cbuf, c->csize);
		CHECK(n == want);
		/* Chunk 5 spans the two files. */
		CHECK(memcmp(ubuf, all + 4096 * i, want) == 0);
		CHECK(c->xxh3 == chunk_xxh3(ubuf, n));
		digest_sha256(ubuf, n, sha);
		CHECK(memcmp(sha, c->usha, 32) == 0);
		off += c->csize;
	}
	CHECK(bp.csize == off - 3);
	CHECK(lseek(fd, 0, SEEK_END) == (off_t)off);
	close(fd);
	create_payload_free(&bp);
	create_plan_clear(&p);
	free(a);
	free(b);
	free(all);
	free(cbuf);
	free(ubuf);
}

static struct manifest
meta(void)
{
	struct manifest m = { 0 };

	m.compatible = (char *)"board-x";
	m.version = (char *)"1.0.0";
	m.security_version = 2;
	m.created = (char *)"2026-01-02T03:04:05Z";
	return m;
}

static int
verify_bundle(const char *path, struct keyring *k, struct err *e)
{
	struct slot_writer *writers[BUNDLE_PAYLOADS_MAX] = { NULL };
	struct bundle_reader *in = NULL;
	struct source *src;
	enum install_fault f;
	int r;

	CHECK_OK(source_open(path, NULL, &src, e), e);
	if ((r = bundle_reader_open(src, k, &in, e)) == 0)
		r = install_payloads(in, writers, NULL, NULL, &f, e);
	bundle_reader_free(in);
	source_close(src);
	return r;
}

static void
test_bundle(void)
{
	struct create_signer sg = { NULL, NULL, NULL };
	struct create_opts o = { 8192, 1, 2 };
	struct create_plan p = { 0 };
	struct manifest m = meta(), m2 = meta();
	struct keyring *k = NULL;
	struct bundle_header bh;
	char *rp, *rk, *sp, *sk, *b1, *b2, key[1024], cert[1024];
	size_t l1, l2;
	uint8_t *img;
	struct stat st;
	struct err e;

	CHECK_OK(sign_keys_create("create test", &rp, &rk, &sp, &sk, &e), &e);
	CHECK_OK(keyring_load(rp, strlen(rp), NULL, 0, &k, &e), &e);
	put_pem("root.pem", rp);
	put_pem("root.key", rk);
	put_pem("signer.pem", sp);
	put_pem("signer.key", sk);
	img = pattern(100000, 11);
	put("rootfs.img", img, 100000);
	free(img);
	sh("mkdir -p bootdir && printf K > bootdir/kernel && "
	    "printf C > bootdir/cmdline");
	CHECK_OK(create_add_image(&p, "rootfs", at("rootfs.img"), &e), &e);
	CHECK_OK(create_add_files(&p, "boot", at("bootdir"), &e), &e);
	/* at() reuses its buffers; the signer paths must outlive them. */
	snprintf(key, sizeof(key), "%s", at("signer.key"));
	snprintf(cert, sizeof(cert), "%s", at("signer.pem"));
	sg.key = key;
	sg.cert = cert;
	CHECK_OK(create_bundle(at("one.upk"), &p, &o, &sg, &m, &e), &e);
	CHECK(m.npayloads == 2 && m.payloads[0].nchunks == 13);
	CHECK(m.payloads[1].offset == m.payloads[0].csize);
	/* Both temporary files are gone. */
	CHECK(stat(at("one.upk.tmp"), &st) == -1 && errno == ENOENT);
	CHECK(stat(at("one.upk.payload.tmp"), &st) == -1 && errno == ENOENT);
	CHECK_OK(verify_bundle(at("one.upk"), k, &e), &e);

	/* Same inputs, other thread count: the same bytes up to the
	 * signature block, and the same payload area after it. */
	o.threads = 1;
	CHECK_OK(create_bundle(at("two.upk"), &p, &o, &sg, &m2, &e), &e);
	CHECK_OK(file_read(at("one.upk"), 1 << 22, &b1, &l1, &e), &e);
	CHECK_OK(file_read(at("two.upk"), 1 << 22, &b2, &l2, &e), &e);
	CHECK(l1 == l2);
	CHECK_OK(bundle_header_parse((uint8_t *)b1, &bh, &e), &e);
	CHECK(bh.payload_len == m.payloads[0].csize + m.payloads[1].csize);
	CHECK(memcmp(b1, b2, BUNDLE_HEADER_SIZE + bh.manifest_len) == 0);
	CHECK(memcmp(b1 + l1 - bh.payload_len, b2 + l1 - bh.payload_len,
	    bh.payload_len) == 0);

	/* One flipped bit in the last chunk fails verification. */
	b1[l1 - 3] ^= 0x10;
	put("bad.upk", b1, l1);
	CHECK(verify_bundle(at("bad.upk"), k, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "chunk") != NULL);
	free(b1);
	free(b2);
	create_manifest_clear(&m);
	create_manifest_clear(&m2);

	/* A key that does not match the certificate: no bundle, no temp
	 * files. */
	snprintf(key, sizeof(key), "%s", at("root.key"));
	CHECK(create_bundle(at("three.upk"), &p, &o, &sg, &m, &e) < 0);
	CHECK(strstr(e.msg, "root.key") != NULL);
	CHECK(stat(at("three.upk"), &st) == -1 && errno == ENOENT);
	CHECK(stat(at("three.upk.payload.tmp"), &st) == -1);
	CHECK(m.npayloads == 0);
	create_plan_clear(&p);
	keyring_free(k);
}

/* The commands themselves: keys, create with SOURCE_DATE_EPOCH, info,
 * verify, and their exit codes. */
static void
test_commands(void)
{
	struct bundle_header bh;
	struct stat st;
	char *b1, *b2;
	size_t l1, l2;
	struct err e;

	CHECK(cmd(cmd_keys_create, "create --out @k --cn cmdtest") == EXIT_OK);
	CHECK(stat(at("k/signer.key"), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	CHECK(stat(at("k/root.key"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(at("k/root.pem"), &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(stat(at("k"), &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(cmd(cmd_keys_create, "create --out @k") == EXIT_USAGE);
	CHECK(cmd(cmd_keys_create, "create --out @k --force") == EXIT_OK);
	CHECK(stat(at("k/root.key"), &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK(setenv("SOURCE_DATE_EPOCH", "1700000000", 1) == 0);
	CHECK(cmd(cmd_bundle_create, "create --key @k/signer.key --cert "
	    "@k/signer.pem --compatible c1 --version 2.0 --level 1 "
	    "--threads 1 --chunk-size 4096 --image rootfs=@rootfs.img "
	    "--files boot=@bootdir -o @r1.upk") == EXIT_OK);
	CHECK(cmd(cmd_bundle_create, "create --key @k/signer.key --cert "
	    "@k/signer.pem --compatible c1 --version 2.0 --level 1 "
	    "--threads 3 --chunk-size 4096 --image rootfs=@rootfs.img "
	    "--files boot=@bootdir -o @r2.upk") == EXIT_OK);
	CHECK(unsetenv("SOURCE_DATE_EPOCH") == 0);
	CHECK_OK(file_read(at("r1.upk"), 1 << 22, &b1, &l1, &e), &e);
	CHECK_OK(file_read(at("r2.upk"), 1 << 22, &b2, &l2, &e), &e);
	CHECK(l1 == l2);
	CHECK_OK(bundle_header_parse((uint8_t *)b1, &bh, &e), &e);
	CHECK(memcmp(b1, b2, BUNDLE_HEADER_SIZE + bh.manifest_len) == 0);
	CHECK(memmem(b1, BUNDLE_HEADER_SIZE + bh.manifest_len,
	    "\"2023-11-14T22:13:20Z\"", 22) != NULL);
	free(b1);
	free(b2);

	CHECK(cmd(cmd_bundle_info, "info @r1.upk") == EXIT_OK);
	CHECK(cmd(cmd_bundle_info, "info --json @r1.upk") == EXIT_OK);
	CHECK(cmd(cmd_bundle_info, "info @nothing.upk") == EXIT_INPUT);
	CHECK(cmd(cmd_bundle_verify, "verify @r1.upk --keyring @k/root.pem") ==
	    EXIT_OK);
	/* one.upk was signed under another root. */
	CHECK(cmd(cmd_bundle_verify, "verify @one.upk --keyring @k/root.pem") ==
	    EXIT_BUNDLE);
	CHECK(cmd(cmd_bundle_verify, "verify @bad.upk --keyring @root.pem") ==
	    EXIT_BUNDLE);
	CHECK(cmd(cmd_bundle_verify, "verify @r1.upk --keyring @rootfs.img") ==
	    EXIT_CONFIG);
	CHECK(cmd(cmd_bundle_verify, "verify @none --keyring @k/root.pem") ==
	    EXIT_INPUT);
	CHECK(cmd(cmd_bundle_verify, "verify @r1.upk") == EXIT_USAGE);
	/* Bad inputs stop before anything is written. */
	CHECK(cmd(cmd_bundle_create, "create --key @k/signer.key --cert "
	    "@k/signer.pem --compatible c1 --version 2.0 --linuxkit @nolk "
	    "-o @r3.upk") == EXIT_INPUT);
	CHECK(cmd(cmd_bundle_create, "create --key @k/signer.key --cert "
	    "@k/signer.pem --compatible c1 --version 2.0 --chunk-size 4097 "
	    "--image rootfs=@rootfs.img -o @r3.upk") == EXIT_USAGE);
	CHECK(cmd(cmd_bundle_create, "create --key @k/signer.key --cert "
	    "@k/signer.pem --compatible c1 --version 2/0 "
	    "--image rootfs=@rootfs.img -o @r3.upk") == EXIT_USAGE);
	CHECK(stat(at("r3.upk"), &st) == -1);

	/* A symlink planted at a temp name is not followed: its target
	 * keeps its bytes, whatever the create does. */
	{
		char victim[4096];
		uint8_t got[16];
		int fd;

		snprintf(victim, sizeof(victim), "%s", at("victim"));
		CHECK((fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) != -1);
		CHECK(write(fd, "precious", 8) == 8);
		CHECK(close(fd) == 0);
		CHECK(symlink(victim, at("r4.upk.tmp")) == 0);
		CHECK(symlink(victim, at("r4.upk.payload.tmp")) == 0);
		(void)cmd(cmd_bundle_create, "create --key @k/signer.key "
		    "--cert @k/signer.pem --compatible c1 --version 2.0 "
		    "--image rootfs=@rootfs.img -o @r4.upk");
		CHECK((fd = open(victim, O_RDONLY)) != -1);
		CHECK(read(fd, got, sizeof(got)) == 8);
		CHECK(memcmp(got, "precious", 8) == 0);
		CHECK(close(fd) == 0);
	}
}

int
main(void)
{
	tmpdir_make("create_test");
	test_inputs();
	test_payload(1);
	test_payload(2);
	test_payload(8);
	test_bundle();
	test_commands();
	tmpdir_remove();
	return 0;
}

/*
 * lkoutputs_test: bundle create's inputs with subfolders and LinuxKit's
 * other outputs (host/inputs.c, host/lkoutputs.c): --files walks
 * subfolders under the same name rules at every level, the rpi3 output
 * NAME.tar becomes a files payload with its folders, cmdline.cfg is a
 * GRUB line nothing in the cmdline can break res of, and every output no
 * slot can take is refused with what to build instead.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "host/inputs.h"
#include "host/lkoutputs.h"
#include "tests/harness.h"
#include "verify/bundle.h"

static void
sh(const char *line)
{
	CHECK(shell("cd %s && %s", dir, line) != NULL);
}

/* The payload names of source i, joined by spaces. */
static const char *
names(const struct create_plan *p, size_t i)
{
	static char buf[4096];
	size_t j;

	buf[0] = '\0';
	for (j = 0; j < p->sources[i].nranges; j++) {
		strcat(buf, j > 0 ? " " : "");
		strcat(buf, p->sources[i].ranges[j].name);
	}
	return buf;
}

/* err.msg must hold each of the NULL-terminated strings. */
static void
msg_has(const struct err *e, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, e);
	while ((s = va_arg(ap, const char *)) != NULL)
		if (strstr(e->msg, s) == NULL) {
			fprintf(stderr, "message \"%s\" lacks \"%s\"\n",
			    e->msg, s);
			CHECK(0);
		}
	va_end(ap);
}

static void
test_files_tree(void)
{
	struct create_plan p = { 0 };
	struct err e;

	sh("mkdir -p ft/dtb/broadcom ft/a && printf K > ft/kernel && "
	    "printf D > ft/dtb/broadcom/x.dtb && printf O > ft/dtb/o.dtbo && "
	    "printf A > ft/a/z && chmod 0600 ft/dtb/o.dtbo");
	CHECK_OK(create_add_files(&p, "boot", at("ft"), &e), &e);
	CHECK(strcmp(names(&p, 0),
	    "a/z dtb/broadcom/x.dtb dtb/o.dtbo kernel") == 0);
	CHECK(p.sources[0].ranges[2].mode == 0600);
	create_plan_clear(&p);

	/* Every rule at a lower level: a symlink, a bad name, a special
	 * file, an empty folder, too deep, too long. Each names the path. */
	sh("mkdir -p l1/sub && printf x > l1/k && ln -s ../k l1/sub/link");
	CHECK(create_add_files(&p, "boot", at("l1"), &e) == -EINVAL);
	msg_has(&e, "l1/sub/link: a symlink", NULL);
	sh("mkdir -p l2/sub && printf x > l2/k && printf x > 'l2/sub/a b'");
	CHECK(create_add_files(&p, "boot", at("l2"), &e) == -EINVAL);
	msg_has(&e, "l2/sub/a b: file names must be", NULL);
	sh("mkdir -p l3/sub && printf x > l3/k && mkfifo l3/sub/fifo");
	CHECK(create_add_files(&p, "boot", at("l3"), &e) == -EINVAL);
	msg_has(&e, "l3/sub/fifo: not a regular file", NULL);
	sh("mkdir -p l4/sub/empty && printf x > l4/k && printf x > l4/sub/f");
	CHECK(create_add_files(&p, "boot", at("l4"), &e) == -EINVAL);
	msg_has(&e, "l4/sub/empty: an empty folder", NULL);
	sh("mkdir -p l5/1/2/3/4/5/6/7/8 && printf x > l5/1/2/3/4/5/6/7/ok && "
	    "printf x > l5/1/2/3/4/5/6/7/8/nine");
	CHECK(create_add_files(&p, "boot", at("l5"), &e) == -EINVAL);
	msg_has(&e, "l5/1/2/3/4/5/6/7/8/nine: deeper than 8", NULL);
	sh("rm -r l5/1/2/3/4/5/6/7/8");
	CHECK_OK(create_add_files(&p, "boot", at("l5"), &e), &e);
	CHECK(strcmp(names(&p, 0), "1/2/3/4/5/6/7/ok") == 0);
	create_plan_clear(&p);
	sh("n=$(printf '%064d' 0) && mkdir -p l6/$n/$n/$n && "
	    "printf x > l6/$n/$n/$n/$(printf '%060d' 0) && "
	    "printf x > l6/$n/$n/$n/$(printf '%061d' 0)");
	CHECK(create_add_files(&p, "boot", at("l6"), &e) == -EINVAL);
	msg_has(&e, "longer than 255", NULL);
	CHECK(p.nsources == 0);
}

/* A tar like LinuxKit's mkimage-rpi3 writes: `cd /boot && tar cf - .` */
static void
make_rpi3(const char *name, const char *extra)
{
	sh("rm -rf rp && mkdir -p rp/dtb/broadcom && printf KU > "
	    "rp/kernel.uimg && printf IU > rp/initrd.uimg && printf S > "
	    "rp/boot.scr && printf C > rp/config.txt && printf B > "
	    "rp/bootcode.bin && printf 3 > rp/dtb/broadcom/bcm2837-rpi-3-b.dtb");
	CHECK(shell("cd %s && %s && (cd rp && tar cf - .) > %s", dir,
	    extra, name) != NULL);
}

/* tar with members named by Python, which writes any name. */
static void
py_tar(const char *res, const char *members)
{
	CHECK(shell("cd %s && python3 -c 'import io, tarfile, sys\n"
	    "t = tarfile.open(sys.argv[1], \"w\", format=tarfile.GNU_FORMAT)\n"
	    "for n in sys.argv[2:]:\n"
	    "    i = tarfile.TarInfo(n)\n"
	    "    if n.endswith(\"/\"): i.type = tarfile.DIRTYPE\n"
	    "    elif n.startswith(\"@\"):\n"
	    "        i.name = n[1:]; i.type = tarfile.SYMTYPE; i.linkname = \"/\"\n"
	    "    i.size = 0 if i.type != tarfile.REGTYPE else 1\n"
	    "    t.addfile(i, io.BytesIO(b\"x\") if i.size else None)\n"
	    "t.close()' %s %s", dir, res, members) != NULL);
}

static void
test_rpi3(void)
{
	struct create_plan p = { 0 };
	struct err e;

	make_rpi3("rpi.tar", "true");
	CHECK_OK(create_add_linuxkit(&p, at("rpi"), &e), &e);
	CHECK(p.nsources == 1 && p.sources[0].kind == PAYLOAD_FILES);
	CHECK(strcmp(p.sources[0].class, "boot") == 0);
	/* Tar order, "./" gone, folders kept in the names. */
	CHECK(strstr(names(&p, 0), "kernel.uimg") != NULL);
	CHECK(strstr(names(&p, 0), "dtb/broadcom/bcm2837-rpi-3-b.dtb") !=
	    NULL);
	CHECK(strstr(names(&p, 0), "./") == NULL);
	CHECK(p.sources[0].nranges == 6);
	create_plan_clear(&p);

	/* Next to a kernel: two sources for boot. */
	sh("printf K > rpi-kernel");
	CHECK(create_add_linuxkit(&p, at("rpi"), &e) == -EEXIST);
	msg_has(&e, "class boot: two sources", "rpi.tar", NULL);
	sh("rm rpi-kernel");
	create_plan_clear(&p);

	/* What no rpi3 tar holds, each named. */
	make_rpi3("r1.tar", "ln -s /etc/passwd rp/dtb/link");
	CHECK(create_add_linuxkit(&p, at("r1"), &e) == -EINVAL);
	msg_has(&e, "r1.tar: member \"./dtb/link\": a symlink", NULL);
	make_rpi3("r2.tar", "mkdir rp/overlays");
	CHECK(create_add_linuxkit(&p, at("r2"), &e) == -EINVAL);
	msg_has(&e, "\"./overlays/\": an empty folder", NULL);
	make_rpi3("r3.tar", "printf x > 'rp/dtb/a b'");
	CHECK(create_add_linuxkit(&p, at("r3"), &e) == -EINVAL);
	msg_has(&e, "member \"./dtb/a b\": not a relative path", NULL);
	py_tar("r4.tar", "kernel.uimg ../evil");
	CHECK(create_add_linuxkit(&p, at("r4"), &e) == -EINVAL);
	msg_has(&e, "member \"../evil\"", NULL);
	py_tar("r5.tar", "kernel.uimg /etc/evil");
	CHECK(create_add_linuxkit(&p, at("r5"), &e) == -EINVAL);
	msg_has(&e, "member \"/etc/evil\"", NULL);
	py_tar("r6.tar", "kernel.uimg dtb/../../evil");
	CHECK(create_add_linuxkit(&p, at("r6"), &e) == -EINVAL);
	msg_has(&e, "member \"dtb/../../evil\"", NULL);
	py_tar("r7.tar", "kernel.uimg dtb dtb/x.dtb");
	CHECK(create_add_linuxkit(&p, at("r7"), &e) == -EINVAL);
	msg_has(&e, "\"dtb\" and \"dtb/x.dtb\": a file and a folder", NULL);
	py_tar("r8.tar", "kernel.uimg ./x x");
	CHECK(create_add_linuxkit(&p, at("r8"), &e) == -EINVAL);
	msg_has(&e, "the same file twice", NULL);
	py_tar("r9.tar", "kernel.uimg 1/2/3/4/5/6/7/8/nine");
	CHECK(create_add_linuxkit(&p, at("r9"), &e) == -EINVAL);
	msg_has(&e, "at most 8 deep", NULL);
	py_tar("r10.tar", "kernel.uimg @dtb/l");
	CHECK(create_add_linuxkit(&p, at("r10"), &e) == -EINVAL);
	msg_has(&e, "\"dtb/l\": a symlink", NULL);
	/* LinuxKit's tar output, and a tar that is neither. */
	py_tar("root.tar", "boot/ boot/kernel boot/cmdline etc/ etc/hostname");
	CHECK(create_add_linuxkit(&p, at("root"), &e) == -EINVAL);
	msg_has(&e, "root.tar is LinuxKit's tar output", "kernel+squashfs",
	    NULL);
	py_tar("other.tar", "kernel initrd.img");
	CHECK(create_add_linuxkit(&p, at("other"), &e) == -EINVAL);
	msg_has(&e, "no kernel.uimg", NULL);
	CHECK(p.nsources == 0);
}

/* cmdline.cfg made from cmdline text c, or the error's code. */
static int
cfg_of(const char *c, size_t len, char *res, size_t size, struct err *e)
{
	struct create_plan p = { 0 };
	const struct create_range *rg;
	int r;

	put("cf-kernel", "K", 1);
	put("cf-cmdline", c, len);
	if ((r = create_add_linuxkit(&p, at("cf"), e)) < 0)
		return r;
	CHECK(p.sources[0].nranges == 3);
	rg = &p.sources[0].ranges[2];
	CHECK(strcmp(rg->name, "cmdline.cfg") == 0 && rg->data != NULL);
	CHECK(rg->size < size && rg->mode == 0644);
	memcpy(res, rg->data, rg->size);
	res[rg->size] = '\0';
	create_plan_clear(&p);
	return 0;
}

static void
test_cmdline_cfg(void)
{
	static const struct {
		const char	*in, *res;
	} ok[] = {
		{ "console=ttyS0\n", "set upkit_args='console=ttyS0'\n" },
		{ "  a  b\t\r\n", "set upkit_args='a  b'\n" },
		{ "a\nb\tc", "set upkit_args='a b c'\n" },
		{ "", "set upkit_args=''\n" },
		/* Nothing ends the quotes or runs a command. */
		{ "x='y'; reboot $z \"q\" \\ `id` ${a}",
		    "set upkit_args='x='\\''y'\\''; reboot $z \"q\" \\ `id` "
		    "${a}'\n" },
		{ "'", "set upkit_args=''\\'''\n" },
	};
	char res[8192], big[LK_CMDLINE_MAX + 2];
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_OK(cfg_of(ok[i].in, strlen(ok[i].in), res, sizeof(res),
		    &e), &e);
		if (strcmp(res, ok[i].res) != 0) {
			fprintf(stderr, "cmdline \"%s\" gave \"%s\"\n",
			    ok[i].in, res);
			CHECK(0);
		}
	}
	CHECK(cfg_of("a\0b", 3, res, sizeof(res), &e) == -EINVAL);
	msg_has(&e, "cf-cmdline: cmdline byte 1 is control character 0x00",
	    NULL);
	CHECK(cfg_of("a\033b", 3, res, sizeof(res), &e) == -EINVAL);
	memset(big, 'a', sizeof(big));
	CHECK_OK(cfg_of(big, LK_CMDLINE_MAX, res, sizeof(res), &e), &e);
	CHECK(cfg_of(big, LK_CMDLINE_MAX + 1, res, sizeof(res), &e) ==
	    -EINVAL);
	msg_has(&e, "more than 4096", NULL);
}

static void
test_unbundled(void)
{
	static const struct {
		const char	*suffix, *format, *instead;
	} res[] = {
		{ ".iso", "iso-bios or kernel+iso", "build raw-bios" },
		{ "-efi.iso", "iso-efi output", "build raw-efi" },
		{ "-efi-initrd.iso", "iso-efi-initrd", "build raw-efi" },
		{ ".qcow2", "qcow2-bios", "build raw-bios" },
		{ "-efi.qcow2", "qcow2-efi", "build raw-efi" },
		{ ".vhd", "vhd or dynamic-vhd", "build raw-bios or raw-efi" },
		{ ".vmdk", "vmdk", "build raw-bios or raw-efi" },
		{ ".img.tar.gz", "gcp", "build raw-efi or raw-bios" },
		{ ".docker", "docker", "build kernel+squashfs" },
	};
	struct create_plan p = { 0 };
	char path[64];
	struct err e;
	size_t i;

	/* Alone or next to outputs that would do: refused either way. */
	put("un-kernel", "K", 1);
	put("un-squashfs.img", "S", 1);
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		snprintf(path, sizeof(path), "un%s", res[i].suffix);
		put(path, "x", 1);
		CHECK(create_add_linuxkit(&p, at("un"), &e) == -EINVAL);
		msg_has(&e, path, res[i].format, res[i].instead, NULL);
		CHECK(p.nsources == 0);
		sh("rm -f un.* un-efi*");
	}
	CHECK_OK(create_add_linuxkit(&p, at("un"), &e), &e);
	create_plan_clear(&p);
}

int
main(void)
{
	tmpdir_make("lkoutputs_test");
	test_files_tree();
	test_rpi3();
	test_cmdline_cfg();
	test_unbundled();
	tmpdir_remove();
	return 0;
}

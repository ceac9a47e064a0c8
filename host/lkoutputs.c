/*
 * host/lkoutputs: LinuxKit's rpi3 output, cmdline.cfg for GRUB boards,
 * and the outputs no slot can take. See lkoutputs.h and docs/linuxkit.md
 * for LinuxKit's formats and the file names they write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "host/plan.h"
#include "host/lkoutputs.h"
#include "host/tar.h"
#include "verify/bundle.h"

/* LinuxKit's outputs that are not slot contents: the suffix LinuxKit
 * gives the file, the format that writes it, what to build instead. */
static const struct unbundled {
	const char	*suffix;
	const char	*format;
	const char	*instead;
} unbundled[] = {
	{ "-efi-initrd.iso", "iso-efi-initrd", "raw-efi (whole-disk slots) "
	    "or kernel+squashfs (boot folders and root partitions)" },
	{ "-efi.iso", "iso-efi", "raw-efi (whole-disk slots) or "
	    "kernel+squashfs (boot folders and root partitions)" },
	{ ".iso", "iso-bios or kernel+iso", "raw-bios (whole-disk slots) or "
	    "kernel+squashfs (boot folders and root partitions)" },
	{ "-efi.qcow2", "qcow2-efi", "raw-efi, the same disk uncompressed" },
	{ ".qcow2", "qcow2-bios", "raw-bios, the same disk uncompressed" },
	{ ".vhd", "vhd or dynamic-vhd", "raw-bios or raw-efi, a raw disk" },
	{ ".vmdk", "vmdk", "raw-bios or raw-efi, a raw disk" },
	{ ".img.tar.gz", "gcp", "raw-efi or raw-bios, a raw disk" },
	{ ".docker", "docker", "kernel+squashfs or tar-kernel-initrd" },
};

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
lk_refuse_unbundled(const char *prefix, struct err *e)
{
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(unbundled) / sizeof(unbundled[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", prefix,
		    unbundled[i].suffix);
		if (exists(path))
			return err_set(e, -EINVAL, "linuxkit %s: %s is "
			    "LinuxKit's %s output, which no A/B slot can take; "
			    "build %s instead (and move %s away: --linuxkit "
			    "takes every output of the name)", prefix, path,
			    unbundled[i].format, unbundled[i].instead, path);
	}
	return 0;
}

/* A member's path in the payload: "./" prefixes and a folder's trailing
 * '/' dropped. Points into a static buffer; NULL if too long. */
static const char *
member_path(const char *name)
{
	static char buf[TAR_NAME_MAX + 1];
	size_t n;

	while (name[0] == '.' && name[1] == '/')
		for (name += 2; *name == '/'; name++)
			;
	if ((n = strlen(name)) > TAR_NAME_MAX)
		return NULL;
	memcpy(buf, name, n + 1);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return buf;
}

/* What PREFIX.tar is: 1 for the rpi3 output (kernel.uimg at the top),
 * else -EINVAL saying what it is. */
static int
rpi3_check(const char *tarpath, const struct tar_member *m, size_t n,
    struct err *e)
{
	const char *name;
	size_t i;
	int root = 0;

	for (i = 0; i < n; i++) {
		if ((name = member_path(m[i].name)) == NULL)
			continue;
		if (strcmp(name, "kernel.uimg") == 0)
			return 1;
		root |= strcmp(name, "boot/kernel") == 0;
	}
	if (root)
		return err_set(e, -EINVAL, "%s is LinuxKit's tar output (the "
		    "whole root as a tar), which no A/B slot can take; build "
		    "kernel+squashfs or tar-kernel-initrd instead", tarpath);
	return err_set(e, -EINVAL, "%s: no kernel.uimg at its top, so not "
	    "LinuxKit's rpi3 output (the only NAME.tar --linuxkit takes)",
	    tarpath);
}

/* Checks a regular member's path against the name rules and the files
 * already added. */
static int
rpi3_file_ok(const struct create_source *s, const char *tarpath,
    const char *raw, const char *name, struct err *e)
{
	size_t j;

	if (name == NULL || !bundle_file_path_valid(name))
		return err_set(e, -EINVAL, "%s: member \"%s\": not a relative "
		    "path of names [A-Za-z0-9._-]{1,64} (not . or ..), at "
		    "most %d deep and %d long", tarpath, raw,
		    BUNDLE_FILE_DEPTH_MAX, BUNDLE_FILE_PATH_MAX);
	for (j = 0; j < s->nranges; j++)
		if (bundle_file_paths_clash(s->ranges[j].name, name))
			return err_set(e, -EINVAL, "%s: members \"%s\" and "
			    "\"%s\": %s", tarpath, s->ranges[j].name, raw,
			    strcmp(s->ranges[j].name, name) == 0 ?
			    "the same file twice" : "a file and a folder of "
			    "the same name");
	return 0;
}

/* -EINVAL if a folder member holds no file: a files payload cannot. */
static int
rpi3_no_empty(const struct create_source *s, const char *tarpath,
    const struct tar_member *m, size_t n, struct err *e)
{
	const char *dir;
	size_t i, j, len;

	for (i = 0; i < n; i++) {
		if (m[i].type != '5' || (dir = member_path(m[i].name)) ==
		    NULL || *dir == '\0' || strcmp(dir, ".") == 0)
			continue;
		len = strlen(dir);
		for (j = 0; j < s->nranges; j++)
			if (strncmp(s->ranges[j].name, dir, len) == 0 &&
			    s->ranges[j].name[len] == '/')
				break;
		if (j == s->nranges)
			return err_set(e, -EINVAL, "%s: member \"%s\": an "
			    "empty folder, which a files payload cannot hold",
			    tarpath, m[i].name);
	}
	return 0;
}

/* The regular members of the rpi3 tar, in tar order, into s. */
static int
rpi3_add(struct create_source *s, const char *tarpath,
    const struct tar_member *m, size_t n, struct err *e)
{
	const char *name;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (m[i].type == '5')
			continue;
		if (m[i].type != '0' && m[i].type != '7')
			return err_set(e, -EINVAL, "%s: member \"%s\": %s, but "
			    "a files payload holds regular files only",
			    tarpath, m[i].name, m[i].type == '2' ?
			    "a symlink" : m[i].type == '1' ? "a hard link" :
			    "not a regular file");
		name = member_path(m[i].name);
		if ((r = rpi3_file_ok(s, tarpath, m[i].name, name, e)) < 0 ||
		    (r = create_range_add(s, name, tarpath, m[i].offset,
		    m[i].size, m[i].mode, e)) < 0)
			return r;
	}
	return rpi3_no_empty(s, tarpath, m, n, e);
}

int
lk_add_rpi3(struct create_plan *p, const char *prefix, struct err *e)
{
	struct create_source *s;
	struct tar_member *m = NULL;
	char tarpath[4096];
	size_t n = 0;
	int r;

	snprintf(tarpath, sizeof(tarpath), "%s.tar", prefix);
	if (!exists(tarpath))
		return 0;
	if ((r = tar_list(tarpath, &m, &n, e)) < 0)
		return r;
	if ((r = rpi3_check(tarpath, m, n, e)) < 0 ||
	    (r = create_source_new(p, "boot", PAYLOAD_FILES, tarpath, &s,
	    e)) < 0)
		goto out;
	if ((r = rpi3_add(s, tarpath, m, n, e)) < 0)
		create_plan_drop(p);
	else
		r = 1;
out:
	tar_members_free(m, n);
	return r;
}

/* Reads the cmdline's size bytes at off of path into a buffer with a NUL
 * after them. */
static int
read_cmdline(const char *path, uint64_t off, uint64_t size, char **bufp,
    struct err *e)
{
	char *buf;
	int fd, r;

	if (size > LK_CMDLINE_MAX)
		return err_set(e, -EINVAL, "%s: cmdline of %llu bytes, more "
		    "than %d: not a kernel command line", path,
		    (unsigned long long)size, LK_CMDLINE_MAX);
	if ((buf = malloc((size_t)size + 1)) == NULL)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (r = pread_all(fd, buf, (size_t)size, off)) < 0) {
		r = fd == -1 ? -errno : r;
		if (fd != -1)
			close(fd);
		free(buf);
		return err_set(e, r, "read %s: %s", path, strerror(-r));
	}
	close(fd);
	buf[size] = '\0';
	*bufp = buf;
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "set upkit_args='CMDLINE'\n" from the cmdline text in (len bytes),
 * into out (room for 4 * len + 32). */
static int
quote_cmdline(const char *path, const char *in, size_t len, char *out,
    size_t *outlen, struct err *e)
{
	static const char head[] = "set upkit_args='";
	unsigned char c;
	size_t i, o, lead = 0;

	while (len > 0 && is_space(in[len - 1]))
		len--;
	while (lead < len && is_space(in[lead]))
		lead++;
	memcpy(out, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	for (i = lead; i < len; i++) {
		c = (unsigned char)in[i];
		if (is_space((char)c))
			c = ' ';
		if (c < 0x20 || c == 0x7f)
			return err_set(e, -EINVAL, "%s: cmdline byte %zu is "
			    "control character 0x%02x: not a kernel command "
			    "line", path, i, c);
		if (c == '\'') {
			/* Close the quotes, an escaped quote, reopen. */
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else
			out[o++] = (char)c;
	}
	memcpy(out + o, "'\n", 2);
	*outlen = o + 2;
	return 0;
}

int
lk_add_cmdline_cfg(struct create_source *s, const char *path, uint64_t off,
    uint64_t size, struct err *e)
{
	char *in = NULL, *out;
	size_t len = 0;
	int r;

	if ((r = read_cmdline(path, off, size, &in, e)) < 0)
		return r;
	if ((out = malloc(4 * (size_t)size + 32)) == NULL) {
		free(in);
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	}
	r = quote_cmdline(path, in, (size_t)size, out, &len, e);
	free(in);
	if (r < 0) {
		free(out);
		return r;
	}
	return create_range_add_data(s, "cmdline.cfg", path, (uint8_t *)out,
	    len, 0644, e);
}

/*
 * host/inputs: finds what goes into a bundle. Each --image, --files and
 * --linuxkit becomes one or more sources, each a list of byte ranges of
 * host files (a whole image, the regular files of a folder, members of
 * LinuxKit's NAME-initrd.tar located with host/tar.c), added to the plan
 * (host/plan.h); LinuxKit's other outputs are read by host/esp.c and
 * lkoutputs.c into the same plan. Nothing is read here but names, sizes
 * and tar headers; host/compress.c reads the bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "host/esp.h"
#include "host/inputs.h"
#include "host/lkoutputs.h"
#include "host/tar.h"
#include "verify/bundle.h"

static int
stat_regular(const char *path, struct stat *st, struct err *e)
{
	int r;

	if (stat(path, st) == -1) {
		r = -errno;
		return err_set(e, r, "%s: %s", path, strerror(-r));
	}
	if (!S_ISREG(st->st_mode))
		return err_set(e, -EINVAL, "%s: not a regular file", path);
	return 0;
}

int
create_add_image(struct create_plan *p, const char *class, const char *path,
    struct err *e)
{
	struct create_source *s;
	struct stat st;
	int r;

	if ((r = stat_regular(path, &st, e)) < 0)
		return r;
	if (st.st_size == 0)
		return err_set(e, -EINVAL, "%s: empty image", path);
	if ((r = create_source_new(p, class, PAYLOAD_RAW, path, &s, e)) < 0)
		return r;
	if ((r = create_range_add(s, class, path, 0, (uint64_t)st.st_size,
	    st.st_mode, e)) < 0)
		create_plan_drop(p);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The entries of dir but "." and "..", checked as bundle file names and
 * sorted, so the same folder always gives the same bundle; maybe none.
 * On success free *namesp with names_free(*namesp, *np). */
static int
list_dir(const char *dir, char ***namesp, size_t *np, struct err *e)
{
	struct dirent *de;
	char **names = NULL, **grown;
	size_t n = 0;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL) {
		r = -errno;
		return err_set(e, r, "%s: %s", dir, strerror(-r));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == BUNDLE_FILES_MAX) {
			r = err_set(e, -E2BIG, "%s: more than %d files", dir,
			    BUNDLE_FILES_MAX);
			goto out;
		}
		if (!bundle_file_name_valid(de->d_name)) {
			r = err_set(e, -EINVAL, "%s/%s: file names must be "
			    "[A-Za-z0-9._-]{1,64}", dir, de->d_name);
			goto out;
		}
		/* names stays valid if the array cannot grow, so out:
		 * frees what it holds. */
		if ((grown = reallocarray(names, n + 1,
		    sizeof(*names))) == NULL ||
		    ((names = grown)[n] = strdup(de->d_name)) == NULL) {
			r = err_set(e, -ENOMEM, "%s: out of memory", dir);
			goto out;
		}
		n++;
	}
	if (errno != 0) {
		r = -errno;
		err_set(e, r, "read %s: %s", dir, strerror(-r));
	} else if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
out:
	closedir(d);
	if (r < 0) {
		names_free(names, n);
		return r;
	}
	*namesp = names;
	*np = n;
	return 0;
}

/* Adds the files of dir, named rel/NAME in the payload (NAME at the top,
 * rel ""), and of its subfolders, each folder sorted by name. */
static int
add_tree(struct create_source *s, const char *dir, const char *rel,
    uint64_t *total, struct err *e)
{
	struct stat st;
	char **names = NULL, path[4096], name[BUNDLE_FILE_PATH_MAX + 2];
	size_t i, n = 0;
	int r;

	if ((r = list_dir(dir, &names, &n, e)) < 0)
		return r;
	if (n == 0)
		r = *rel == '\0' ? err_set(e, -ENOENT, "%s: no files", dir) :
		    err_set(e, -EINVAL, "%s: an empty folder, which a files "
		    "payload cannot hold", dir);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(name, sizeof(name), "%s%s%s", rel, *rel ? "/" : "",
		    names[i]);
		/* lstat: a symlink would bundle whatever it points to,
		 * outside DIR too (docs/exit-codes.md, exit 2). */
		if (lstat(path, &st) == -1) {
			r = -errno;
			err_set(e, r, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (!bundle_file_path_valid(name)) {
			r = err_set(e, -EINVAL, "%s: deeper than %d names or "
			    "longer than %d characters inside the folder",
			    path, BUNDLE_FILE_DEPTH_MAX, BUNDLE_FILE_PATH_MAX);
			goto out;
		}
		if (S_ISDIR(st.st_mode))
			r = add_tree(s, path, name, total, e);
		else if (S_ISREG(st.st_mode)) {
			*total += (uint64_t)st.st_size;
			r = create_range_add(s, name, path, 0, (uint64_t)st.st_size,
			    st.st_mode, e);
		} else
			r = err_set(e, -EINVAL, "%s: %s: --files takes regular "
			    "files and folders only (no symlinks or special "
			    "files)", path, S_ISLNK(st.st_mode) ?
			    "a symlink" : "not a regular file");
		if (r < 0)
			goto out;
	}
out:
	names_free(names, n);
	return r;
}

int
create_add_files(struct create_plan *p, const char *class, const char *dir,
    struct err *e)
{
	struct create_source *s = NULL;
	uint64_t total = 0;
	int r;

	if ((r = create_source_new(p, class, PAYLOAD_FILES, dir, &s, e)) < 0)
		return r;
	if ((r = add_tree(s, dir, "", &total, e)) == 0 && total == 0)
		r = err_set(e, -EINVAL, "%s: all files are empty", dir);
	if (r < 0)
		create_plan_drop(p);
	return r;
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Boot files from LinuxKit's tar-kernel-initrd output. The tar may hold
 * them at the top or under a folder, with or without "./". */
static int
add_boot_tar(struct create_plan *p, const char *tarpath, struct err *e)
{
	static const char *const want[] = { "kernel", "initrd.img", "cmdline",
	    "ucode.cpio" };
	const struct tar_member *found[4] = { NULL };
	struct create_source *s = NULL;
	struct tar_member *m = NULL;
	const char *base;
	size_t i, j, n = 0;
	int r;

	if ((r = tar_list(tarpath, &m, &n, e)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (m[i].type != '0' && m[i].type != '7')
			continue;
		base = tar_basename(m[i].name);
		for (j = 0; j < 4; j++) {
			if (strcmp(base, want[j]) != 0)
				continue;
			if (found[j] != NULL) {
				r = err_set(e, -EINVAL, "%s: two members named "
				    "%s: %s and %s", tarpath, want[j],
				    found[j]->name, m[i].name);
				goto out;
			}
			found[j] = &m[i];
		}
	}
	if (found[0] == NULL) {
		r = err_set(e, -ENOENT, "%s: no kernel member", tarpath);
		goto out;
	}
	if ((r = create_source_new(p, "boot", PAYLOAD_FILES, tarpath, &s, e)) < 0) {
		s = NULL;
		goto out;
	}
	for (j = 0; j < 4; j++)
		if (found[j] != NULL && (r = create_range_add(s, want[j], tarpath,
		    found[j]->offset, found[j]->size, found[j]->mode, e)) < 0)
			goto out;
	if (found[2] != NULL)
		r = lk_add_cmdline_cfg(s, tarpath, found[2]->offset,
		    found[2]->size, e);
out:
	if (r < 0 && s != NULL)
		create_plan_drop(p);
	tar_members_free(m, n);
	return r;
}

static int
add_boot_files(struct create_plan *p, const char *prefix, struct err *e)
{
	static const char *const names[] = { "kernel", "initrd.img",
	    "cmdline" };
	struct create_source *s;
	struct stat st;
	char path[4096];
	size_t i;
	int r;

	snprintf(path, sizeof(path), "%s-kernel", prefix);
	if ((r = create_source_new(p, "boot", PAYLOAD_FILES, path, &s, e)) < 0)
		return r;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s-%s", prefix, names[i]);
		if (i > 0 && !exists(path))
			continue;
		if ((r = stat_regular(path, &st, e)) < 0 ||
		    (r = create_range_add(s, names[i], path, 0, (uint64_t)st.st_size,
		    st.st_mode, e)) < 0 || (i == 2 &&
		    (r = lk_add_cmdline_cfg(s, path, 0, (uint64_t)st.st_size,
		    e)) < 0)) {
			create_plan_drop(p);
			return r;
		}
	}
	return 0;
}

/* The first of the candidate suffixes that exists; -EEXIST if two do. */
static int
pick_one(const char *prefix, const char *const *suffixes, char *path,
    size_t size, struct err *e)
{
	char cand[4096];
	int found = 0;

	for (; *suffixes != NULL; suffixes++) {
		snprintf(cand, sizeof(cand), "%s%s", prefix, *suffixes);
		if (!exists(cand))
			continue;
		if (found)
			return err_set(e, -EEXIST, "linuxkit %s: both %s and "
			    "%s exist; pass one with --image", prefix, path,
			    cand);
		snprintf(path, size, "%s", cand);
		found = 1;
	}
	return found;
}

int
create_add_linuxkit(struct create_plan *p, const char *prefix,
    struct err *e)
{
	static const char *const rootfs[] = { "-squashfs.img", "-erofs.img",
	    NULL };
	static const char *const disk[] = { "-efi.img", "-bios.img", ".raw",
	    NULL };
	char kernel[4096], tarpath[4096], path[4096];
	int r, any = 0;

	if ((r = lk_refuse_unbundled(prefix, e)) < 0)
		return r;
	snprintf(kernel, sizeof(kernel), "%s-kernel", prefix);
	snprintf(tarpath, sizeof(tarpath), "%s-initrd.tar", prefix);
	if (exists(kernel) && exists(tarpath))
		return err_set(e, -EEXIST, "linuxkit %s: both %s and %s exist; "
		    "pass one with --files boot=DIR", prefix, kernel, tarpath);
	if (exists(kernel)) {
		if ((r = add_boot_files(p, prefix, e)) < 0)
			return r;
		any = 1;
	} else if (exists(tarpath)) {
		if ((r = add_boot_tar(p, tarpath, e)) < 0)
			return r;
		any = 1;
	} else {
		snprintf(path, sizeof(path), "%s-initrd.img", prefix);
		if (exists(path))
			return err_set(e, -ENOENT, "linuxkit %s: %s without "
			    "%s", prefix, path, kernel);
	}
	if ((r = lk_add_rpi3(p, prefix, e)) < 0)
		return r;
	any |= r;
	if ((r = pick_one(prefix, rootfs, path, sizeof(path), e)) < 0)
		return r;
	if (r == 1) {
		if ((r = create_add_image(p, "rootfs", path, e)) < 0)
			return r;
		any = 1;
	}
	if ((r = pick_one(prefix, disk, path, sizeof(path), e)) < 0)
		return r;
	if (r == 1) {
		/* raw-efi's ESP holds the UKI: that is the payload
		 * (host/esp.h); to reimage, --image disk=FILE. */
		if (strlen(path) >= 8 &&
		    strcmp(path + strlen(path) - 8, "-efi.img") == 0)
			r = create_add_uki(p, path, e);
		else
			r = create_add_image(p, "disk", path, e);
		if (r < 0)
			return r;
		any = 1;
	}
	if (!any)
		return err_set(e, -ENOENT, "linuxkit %s: found none of "
		    "%s-kernel, %s-initrd.tar, %s.tar, %s-squashfs.img, "
		    "%s-erofs.img, %s-efi.img, %s-bios.img, %s.raw", prefix,
		    prefix, prefix, prefix, prefix, prefix, prefix, prefix,
		    prefix);
	return 0;
}

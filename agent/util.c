#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/err.h"
#include "agent/util.h"

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, p + got, len - got)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
file_read(const char *path, size_t max, char **bufp, size_t *lenp,
    struct err *e)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, r;

	*bufp = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", path, strerror(-r));
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		err_set(e, r, "stat %s: %s", path, strerror(-r));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		r = err_set(e, -EFBIG, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		r = err_set(e, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* Read one byte past max so an oversized stream is caught too. */
	if ((n = read_full(fd, buf, max + 1)) < 0) {
		r = (int)n;
		err_set(e, r, "read %s: %s", path, strerror(-r));
		goto out;
	}
	if ((size_t)n > max) {
		r = err_set(e, -EFBIG, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	buf[n] = '\0';
	*lenp = (size_t)n;
	*bufp = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int
fsync_dir(const char *dir, struct err *e)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = -errno;
		return err_set(e, r, "open %s: %s", dir, strerror(-r));
	}
	if (fsync(fd) == -1) {
		r = -errno;
		err_set(e, r, "fsync %s: %s", dir, strerror(-r));
	}
	close(fd);
	return r;
}

int
mkdir_p(const char *dir, mode_t mode, struct err *e)
{
	char path[4096];
	size_t i, n;
	int r;

	n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return err_set(e, -ENAMETOOLONG, "mkdir %s: bad path", dir);
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST) {
			r = -errno;
			return err_set(e, r, "mkdir %s: %s", path, strerror(-r));
		}
		path[i] = dir[i];
	}
	return 0;
}

int
file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, struct err *e)
{
	char tmp[4096], dir[4096];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
	/* A new file, never what a name planted at tmp points to: a
	 * symlink there would have us write its target. A stale tmp (a
	 * crash, or a plant) is removed, the link itself, not its target;
	 * O_EXCL fails if one reappears before the open. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		r = -errno;
		return err_set(e, r, "remove %s: %s", tmp, strerror(-r));
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		r = -errno;
		return err_set(e, r, "create %s: %s", tmp, strerror(-r));
	}
	if ((r = write_all(fd, buf, len)) < 0) {
		err_set(e, r, "write %s: %s", tmp, strerror(-r));
		goto fail;
	}
	/* The data must be on disk before the rename makes it visible, or a
	 * power cut can leave an empty file under the real name. */
	if (fsync(fd) == -1) {
		r = -errno;
		err_set(e, r, "fsync %s: %s", tmp, strerror(-r));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = -errno;
		err_set(e, r, "close %s: %s", tmp, strerror(-r));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		r = -errno;
		err_set(e, r, "rename %s: %s", path, strerror(-r));
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	return fsync_dir(dirname(dir), e);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return r;
}

int
source_check(int fd, const char *name, struct err *e)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) == -1) {
		r = -errno;
		return err_set(e, r, "stat %s: %s", name, strerror(-r));
	}
	if (S_ISDIR(st.st_mode))
		return err_set(e, -EISDIR, "%s: is a directory", name);
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISSOCK(st.st_mode) && !S_ISCHR(st.st_mode))
		return err_set(e, -EINVAL, "%s: not a regular file, pipe or "
		    "character device", name);
	return 0;
}

void
time_rfc3339(char out[32])
{
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
booted_slot(const char *cmdline_path, char *bootnamep, struct err *e)
{
	char *buf, *p, *tok, *save = NULL;
	size_t len;
	int r;

	*bootnamep = 'A';
	if ((r = file_read(cmdline_path, 64 * 1024, &buf, &len, e)) < 0)
		return err_prefix(e, "kernel command line");
	for (p = buf; (tok = strtok_r(p, " \t\n", &save)) != NULL; p = NULL) {
		if (strncmp(tok, "upkit.slot=", 11) != 0)
			continue;
		if ((tok[11] != 'A' && tok[11] != 'B') || tok[12] != '\0') {
			r = err_set(e, -EBADMSG, "%s: upkit.slot=%s: "
			    "expected A or B", cmdline_path, tok + 11);
			break;
		}
		*bootnamep = tok[11];
	}
	free(buf);
	return r;
}

int
json_add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];		/* 20 digits and a NUL */

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL ? 0 : -ENOMEM;
}

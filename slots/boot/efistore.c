/*
 * The systemd-boot backend's store of upkit's own variables on the ESP
 * (slots/boot/efi.h). Two copies written in place, like a redundant
 * U-Boot env: FAT has no atomic rename (a cut rename can leave two
 * directory entries sharing clusters, and a rename over an existing file
 * frees the clusters of the file it replaces), but a write of the same
 * size into an existing file changes only its data sectors and the
 * modification time in its one directory entry.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/err.h"
#include "common/io.h"
#include "slots/boot/bootenv.h"
#include "slots/boot/efi.h"

#define STORE_HEAD	"# upkit efi state: written by upkit, do not edit\n"

void
efi_store_encode(const struct efi_store *s, unsigned char *buf)
{
	char trial[2] = { s->trial, '\0' };
	int n;

	memset(buf, 0, EFI_STORE_SIZE);
	n = snprintf((char *)buf, EFI_STORE_SIZE, STORE_HEAD "seq=%" PRIu64
	    "\nUPKIT_TRIAL=%s\nUPKIT_TRIAL_FLOOR=%" PRIu64 "\nUPKIT_FLOOR=%"
	    PRIu64 "\n", s->seq, trial, s->trial != 0 ? s->trial_floor : 0,
	    s->floor);
	snprintf((char *)buf + n, EFI_STORE_SIZE - (size_t)n,
	    "xxh3=%016llx\n", (unsigned long long)XXH3_64bits(buf, (size_t)n));
}

/* The value of "name=" on its own line in text, copied into out (24
 * bytes, enough for any valid value), or NULL. */
static const char *
value(const char *text, const char *name, char *out)
{
	size_t n = strlen(name), len;
	const char *p, *nl;

	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			return NULL;
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		len = (size_t)(nl - (p + n + 1));
		if (len >= 24)
			len = 23;	/* too long to parse: fails there */
		memcpy(out, p + n + 1, len);
		out[len] = '\0';
		return out;
	}
	return NULL;
}

int
efi_store_decode(const unsigned char *buf, size_t len, struct efi_store *s,
    char *why, size_t whylen)
{
	char text[EFI_STORE_SIZE + 1], sum[32], *h;
	char v3[24], v4[24], v5[24], vs[24];
	const char *val[BOOTENV_VARS] = { "", NULL, NULL, NULL, NULL, NULL };
	const char *seq;
	struct bootstate st;
	struct err e;
	uint64_t v;
	size_t n;

	if (len != EFI_STORE_SIZE || memchr(buf, '\0', len) == NULL) {
		snprintf(why, whylen, "%zu bytes, not %d", len, EFI_STORE_SIZE);
		return -EBADMSG;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	if ((h = strstr(text, "\nxxh3=")) == NULL) {
		snprintf(why, whylen, "no checksum");
		return -EBADMSG;
	}
	n = (size_t)(h - text) + 1;
	snprintf(sum, sizeof(sum), "xxh3=%016llx\n",
	    (unsigned long long)XXH3_64bits(buf, n));
	if (strncmp(STORE_HEAD, text, strlen(STORE_HEAD)) != 0 ||
	    strcmp(h + 1, sum) != 0) {
		snprintf(why, whylen, "checksum does not match (torn write?)");
		return -EBADMSG;
	}
	h[1] = '\0';
	/* The values are bootstate's, so bootstate decodes them. */
	val[3] = value(text, "UPKIT_TRIAL", v3);
	val[4] = value(text, "UPKIT_TRIAL_FLOOR", v4);
	val[5] = value(text, "UPKIT_FLOOR", v5);
	seq = value(text, "seq", vs);
	err_clear(&e);
	if (seq == NULL || sscanf(seq, "%" SCNu64, &v) != 1 ||
	    bootstate_decode(val, &st, &e) < 0) {
		snprintf(why, whylen, "bad value: %s", seq == NULL ? "no seq" :
		    e.msg);
		return -EBADMSG;
	}
	s->seq = v;
	s->trial = st.trial;
	s->trial_floor = st.trial_floor;
	s->floor = st.floor;
	return 0;
}

int
efi_store_read(const char *dir, struct efi_store *s, char *note,
    size_t notelen, struct err *e)
{
	unsigned char buf[EFI_STORE_SIZE + 1];
	struct efi_store c;
	char path[4096], why[160];
	size_t len;
	int i, r;

	memset(s, 0, sizeof(*s));
	s->cur = -1;
	note[0] = '\0';
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/state.%d", dir, i);
		r = read_upto(path, buf, sizeof(buf), &len);
		if (r == -ENOENT)
			continue;
		if (r < 0 && r != -EFBIG)
			return err_set(e, r, "efi state %s: %s", path,
			    strerror(-r));
		if (r == -EFBIG)
			len = sizeof(buf);
		if (efi_store_decode(buf, len, &c, why, sizeof(why)) < 0) {
			snprintf(note, notelen, "efi state %s: %s; the other "
			    "copy is used", path, why);
			continue;
		}
		if (s->cur == -1 || c.seq > s->seq) {
			*s = c;
			s->cur = i;
		}
	}
	if (s->cur == -1 && note[0] != '\0')
		snprintf(note + strlen(note), notelen - strlen(note),
		    " (none is valid: no trial, floor 0)");
	return 0;
}

/* Writes buf over path's bytes in place, or creates path. */
static int
copy_write(const char *path, const unsigned char *buf, struct err *e)
{
	int fd, r = 0;

	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			r = -errno;
			return err_set(e, r, "open %s: %s", path, strerror(-r));
		}
		if ((r = file_write_new(path, buf, EFI_STORE_SIZE, 0644,
		    e)) < 0)
			return r;
		return fsync_parent(path, e);
	}
	if ((r = pwrite_all(fd, buf, EFI_STORE_SIZE, 0)) < 0 ||
	    (ftruncate(fd, EFI_STORE_SIZE) == -1 && (r = -errno) < 0) ||
	    (fsync(fd) == -1 && (r = -errno) < 0))
		err_set(e, r, "write %s: %s", path, strerror(-r));
	close(fd);
	if (r < 0)
		return r;
	/* One durable step: the syncfs also writes the time stamp. */
	return fsync_parent(path, e);
}

int
efi_store_write(const char *dir, struct efi_store *s, struct err *e)
{
	unsigned char buf[EFI_STORE_SIZE];
	struct efi_store n = *s;
	char path[4096];
	struct stat sb;
	int r;

	if (stat(dir, &sb) == -1) {
		if ((r = mkdir_p(dir, 0755, e)) < 0 ||
		    (r = fsync_parent(dir, e)) < 0)
			return err_prefix(e, "efi state");
	}
	n.seq = s->seq + 1;
	n.cur = s->cur == 0 ? 1 : 0;
	efi_store_encode(&n, buf);
	snprintf(path, sizeof(path), "%s/state.%d", dir, n.cur);
	if ((r = copy_write(path, buf, e)) < 0)
		return err_prefix(e, "efi state");
	*s = n;
	return 0;
}

/*
 * host/tar: a minimal reader of ustar and GNU tar archives, enough for
 * LinuxKit's NAME-initrd.tar. It lists members with the offset of their
 * data in the file, so callers read the bytes themselves (pread); it
 * never extracts. GNU long names ('L') and pax "path" records ('x') are
 * applied to the member that follows them. Every header checksum is
 * checked, and a member whose data runs past the end of the file is an
 * error, so a truncated archive is never mistaken for a short one.
 */
#ifndef HOST_TAR_H
#define HOST_TAR_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define TAR_MEMBERS_MAX	65536
#define TAR_NAME_MAX	4096

struct tar_member {
	char		*name;		/* as stored, with any "./" prefix */
	char		 type;		/* '0' file, '5' folder, '2' symlink */
	uint32_t	 mode;		/* permission bits */
	uint64_t	 size;		/* bytes of data */
	uint64_t	 offset;	/* of the data in the archive file */
};

/* Lists the members of the archive at path in archive order. -EBADMSG
 * names the header offset and what is wrong (checksum, number field,
 * truncation). On success free *mp with tar_members_free(*mp, *np). */
int	tar_list(const char *path, struct tar_member **mp, size_t *np,
	    struct err *e);
/* Accepts NULL. */
void	tar_members_free(struct tar_member *m, size_t n);
/* The last component of a member name ("./boot/kernel" -> "kernel"),
 * pointing into name; "" for a folder entry ending in '/'. */
const char *tar_basename(const char *name);

#endif /* HOST_TAR_H */

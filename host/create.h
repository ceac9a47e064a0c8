/*
 * host/create: builds a signed bundle from payload sources. A source is
 * a list of byte ranges of host files: a whole image file, the regular
 * files of a folder, or members of LinuxKit's NAME-initrd.tar. Payloads
 * are cut into chunks, each compressed on its own (one zstd frame) by a
 * pool of threads with a bounded window of chunks in flight, so memory
 * depends on the chunk size and the thread count, never the image.
 * cmd_bundle_create() (agent/cmd.h) is the command on top of this.
 */
#ifndef HOST_CREATE_H
#define HOST_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include "verify/bundle.h"

struct err;

/* One stretch of a host file; for kind files it is one file. */
struct create_range {
	char		*name;		/* file name inside the payload */
	char		*path;		/* host file holding the bytes */
	uint64_t	 offset;	/* of the bytes in path */
	uint64_t	 size;
	uint32_t	 mode;		/* permission bits */
};

struct create_source {
	char			*class;		/* also the payload name */
	enum payload_kind	 kind;
	char			*origin;	/* what the user named */
	size_t			 nranges;
	struct create_range	*ranges;
};

struct create_plan {
	size_t			 nsources;
	struct create_source	 sources[BUNDLE_PAYLOADS_MAX];
};

/* Each adds one or more sources; a second source for a class is an error
 * naming both. Errors name the input path. */
int	create_add_image(struct create_plan *p, const char *class,
	    const char *path, struct err *e);
int	create_add_files(struct create_plan *p, const char *class,
	    const char *dir, struct err *e);
/* PREFIX-kernel/-initrd.img/-cmdline or PREFIX-initrd.tar -> boot;
 * PREFIX-squashfs.img or -erofs.img -> rootfs; PREFIX-efi.img,
 * -bios.img or PREFIX.raw -> disk. -ENOENT if none exists. */
int	create_add_linuxkit(struct create_plan *p, const char *prefix,
	    struct err *e);
void	create_plan_clear(struct create_plan *p);	/* frees, re-inits */

struct create_opts {
	uint32_t	 chunk_size;	/* multiple of 4096 in chunk limits */
	int		 level;		/* zstd level 1..22 */
	int		 threads;	/* compression threads, >= 1 */
};

/* Compresses source s chunk by chunk into fd (at its current position)
 * and fills bp: sizes, chunk table with offsets from base, hashes, files.
 * bp's strings and arrays are malloc'd; free with create_payload_free(). */
int	create_payload(const struct create_source *s,
	    const struct create_opts *o, int fd, uint64_t base,
	    struct bundle_payload *bp, struct err *e);
void	create_payload_free(struct bundle_payload *bp);	/* accepts NULL */

struct create_signer {
	const char	*key;		/* PEM private key path */
	const char	*cert;		/* PEM signer certificate path */
	const char	*chain;		/* PEM intermediates path or NULL */
};

/* Writes the whole bundle to out (via out.payload.tmp and out.tmp, both
 * removed on every path; renamed into place after fsync). m supplies
 * compatible, version, security_version and created; create_bundle()
 * fills its payloads (free them with create_manifest_clear()). */
int	create_bundle(const char *out, const struct create_plan *p,
	    const struct create_opts *o, const struct create_signer *sg,
	    struct manifest *m, struct err *e);
void	create_manifest_clear(struct manifest *m);

#endif /* HOST_CREATE_H */

/*
 * verify/bundle: the bundle format v1 (docs/bundle-format.md). Parses and
 * encodes the fixed header, the JSON manifest and the signature block from
 * memory buffers. No files, no network, no policy: the agent reads the
 * bytes and decides. Every parser bounds every length and rejects what it
 * does not understand with -EBADMSG and a message naming the field.
 */
#ifndef VERIFY_BUNDLE_H
#define VERIFY_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define BUNDLE_MAGIC		"\x89UPK\r\n\x1a\n"	/* 8 bytes */
#define BUNDLE_FORMAT		1
#define BUNDLE_HEADER_SIZE	64
#define BUNDLE_MANIFEST_MAX	(32u << 20)	/* bytes of JSON */
#define BUNDLE_SIGBLOCK_HEAD	16		/* fixed part of the block */
#define BUNDLE_SIGBLOCK_MAX	(64u << 10)
#define BUNDLE_CHUNK_MIN	4096u
#define BUNDLE_CHUNK_MAX	(64u << 20)
#define BUNDLE_CHUNK_DEFAULT	(1u << 20)
#define BUNDLE_PAYLOADS_MAX	16
#define BUNDLE_FILES_MAX	64
#define BUNDLE_FILE_DEPTH_MAX	8	/* names in a file's path */
#define BUNDLE_FILE_PATH_MAX	255	/* characters in a file's path */

/* Fixed 64-byte header, big-endian on disk. */
struct bundle_header {
	uint32_t	format;		/* BUNDLE_FORMAT */
	uint64_t	manifest_len;	/* bytes of manifest JSON */
	uint64_t	payload_len;	/* bytes of all payloads */
};

enum payload_kind {
	PAYLOAD_RAW,
	PAYLOAD_FILES,
};

struct bundle_chunk {
	uint64_t	offset;		/* in the payload area */
	uint32_t	csize;		/* compressed bytes (one zstd frame) */
	uint32_t	usize;		/* uncompressed bytes (derived) */
	uint64_t	xxh3;		/* XXH3-64 of the uncompressed bytes */
	uint8_t		csha[32];	/* SHA-256 of the compressed bytes */
	uint8_t		usha[32];	/* SHA-256 of the uncompressed bytes */
};

struct bundle_file {
	char		*name;		/* relative path: bundle_file_path_valid */
	uint64_t	 size;
	uint32_t	 mode;		/* permission bits */
};

struct bundle_payload {
	char			*name;
	char			*class;		/* slot class: rootfs, boot, disk */
	enum payload_kind	 kind;
	uint64_t		 size;		/* uncompressed bytes */
	uint8_t			 sha256[32];	/* of the uncompressed bytes */
	uint32_t		 chunk_size;
	uint64_t		 offset;	/* of the first chunk, payload area */
	uint64_t		 csize;		/* sum of the chunks' csize */
	size_t			 nchunks;
	struct bundle_chunk	*chunks;
	size_t			 nfiles;	/* kind files: the concatenation */
	struct bundle_file	*files;		/* order of the payload bytes */
};

struct manifest {
	char			*compatible;
	char			*version;
	uint64_t		 security_version;
	char			*created;	/* RFC 3339, UTC */
	size_t			 npayloads;
	struct bundle_payload	*payloads;
};

/* Signature algorithms in the signature block. */
enum sig_alg {
	SIG_ECDSA_SHA256 = 1,
	SIG_RSA_PSS_SHA256 = 2,
};

#define SIGBLOCK_CERTS_MAX	8

/* Parsed signature block; points into the caller's buffer. */
struct sigblock {
	enum sig_alg	 alg;
	const uint8_t	*sig;
	size_t		 siglen;
	size_t		 ncerts;			/* signer first */
	const uint8_t	*cert[SIGBLOCK_CERTS_MAX];	/* DER */
	size_t		 certlen[SIGBLOCK_CERTS_MAX];
};

/* Parses exactly BUNDLE_HEADER_SIZE bytes. -EBADMSG on a bad magic,
 * format or length, naming the field. */
int	bundle_header_parse(const uint8_t *buf, struct bundle_header *h,
	    struct err *e);
void	bundle_header_encode(const struct bundle_header *h,
	    uint8_t buf[BUNDLE_HEADER_SIZE]);

/* Parses the manifest JSON (len bytes, not NUL-terminated). Checks types,
 * names, limits, that chunks are contiguous from offset 0 of the payload
 * area in payload order and that their sizes add up. On success free *mp
 * with manifest_free(). */
int	manifest_parse(const void *buf, size_t len, struct manifest **mp,
	    struct err *e);
void	manifest_free(struct manifest *m);		/* accepts NULL */
/* Encodes m as JSON; *out is malloc'd, NUL-terminated, caller frees. */
int	manifest_encode(const struct manifest *m, char **out, size_t *outlen,
	    struct err *e);

/* Reads the total length of a signature block from its first
 * BUNDLE_SIGBLOCK_HEAD bytes, so a stream knows how much to read. */
int	sigblock_length(const uint8_t *head, size_t *lenp, struct err *e);
/* Parses a whole block of len bytes; s points into buf afterwards. */
int	sigblock_parse(const uint8_t *buf, size_t len, struct sigblock *s,
	    struct err *e);
/* Encodes a block; *out is malloc'd, caller frees. */
int	sigblock_encode(const struct sigblock *s, uint8_t **out,
	    size_t *outlen, struct err *e);

/* The manifest's name rules, for tools that check their inputs first:
 * payload names and classes [a-z0-9][a-z0-9._-]{0,63}; file names
 * [A-Za-z0-9._-]{1,64} but "." and "..". 1 if valid. */
int	bundle_name_valid(const char *s);
int	bundle_file_name_valid(const char *s);
/* A files payload's file: file names joined by single '/' (subfolders),
 * the same rule at every level, so no "", ".", "..", leading or trailing
 * '/'; at most BUNDLE_FILE_DEPTH_MAX names and BUNDLE_FILE_PATH_MAX
 * characters. 1 if valid. */
int	bundle_file_path_valid(const char *s);
/* 1 if paths a and b cannot both be files of one payload: equal, or one
 * is a folder on the other's path ("dtb" and "dtb/x.dtb"). */
int	bundle_file_paths_clash(const char *a, const char *b);
/* A version: 1..64 characters from [A-Za-z0-9.+~_-]. 1 if valid. */
int	bundle_version_valid(const char *s);
/* 1..max printable ASCII characters (0x20..0x7e), so that messages and
 * logs cannot be forged. 1 if valid. */
int	bundle_text_valid(const char *s, size_t max);

/* Hex helpers shared by the manifest code and the tools. */
void	bundle_hex(const uint8_t *bin, size_t len, char *out);	/* 2*len+1 */

#endif /* VERIFY_BUNDLE_H */

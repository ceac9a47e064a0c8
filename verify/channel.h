/*
 * verify/channel: the signed channel file (docs/channel.md). Framed like a
 * bundle: a 64-byte header with its own magic, a JSON body, and a
 * signature block in the bundle's format (verify/sigblock.c) over
 * SHA-256(header || body), checked by verify/trust.c against the same
 * kind of keyring. Buffers in, results out: no files, no clock (the
 * caller passes the time), no policy beyond what the format says. Every
 * rejection is -EBADMSG with a message naming the field.
 */
#ifndef VERIFY_CHANNEL_H
#define VERIFY_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "verify/bundle.h"	/* struct sigblock */

struct err;
struct keyring;

#define CHANNEL_MAGIC		"\x89UPC\r\n\x1a\n"	/* 8 bytes */
#define CHANNEL_FORMAT		1
#define CHANNEL_HEADER_SIZE	64
#define CHANNEL_BODY_MAX	(1u << 20)	/* bytes of JSON */
#define CHANNEL_RELEASES_MAX	256
#define CHANNEL_URL_MAX		2048
/* The largest whole file: header, body, the largest signature block. */
#define CHANNEL_FILE_MAX	(CHANNEL_HEADER_SIZE + CHANNEL_BODY_MAX + \
				 BUNDLE_SIGBLOCK_MAX)
#define CHANNEL_ROLLOUT_MAX	10000	/* basis points: 100.00 % */

struct channel_release {
	char		*compatible;
	char		*version;
	char		*url;		/* absolute http(s) or relative */
	uint64_t	 size;		/* bytes of the bundle file */
	uint8_t		 bundle_id[32];	/* SHA-256(header || manifest) */
	uint32_t	 rollout;	/* basis points, 0..10000 */
	int		 has_window;
	uint32_t	 win_start;	/* minutes after 00:00 UTC, 0..1439 */
	uint32_t	 win_end;	/* != win_start; below it: wraps */
};

struct channel {
	char			*name;
	uint64_t		 version;	/* only goes up */
	int64_t			 expires;	/* seconds since the epoch */
	size_t			 nreleases;
	struct channel_release	*releases;
};

/* A whole channel file taken apart; points into the caller's buffer. */
struct channel_file {
	const uint8_t	*body;
	size_t		 body_len;
	struct sigblock	 sig;
	uint8_t		 digest[32];	/* SHA-256(header || body) */
};

/* Parses CHANNEL_HEADER_SIZE bytes: -EBADMSG on a bad magic (saying so
 * when it is a bundle's), format, header size, body_len out of
 * 2..CHANNEL_BODY_MAX or a reserved byte that is not zero. */
int	channel_header_parse(const uint8_t *buf, uint64_t *body_len,
	    struct err *e);
void	channel_header_encode(uint64_t body_len,
	    uint8_t buf[CHANNEL_HEADER_SIZE]);

/* Splits len bytes into header, body and signature block: -EBADMSG if
 * the file is cut short or has bytes after the block. */
int	channel_file_split(const uint8_t *buf, size_t len,
	    struct channel_file *f, struct err *e);

/* The JSON body (len bytes, not NUL-terminated). Free *cp with
 * channel_free(). */
int	channel_parse(const void *buf, size_t len, struct channel **cp,
	    struct err *e);
void	channel_free(struct channel *c);		/* accepts NULL */
/* Compact JSON with the keys docs/channel.md lists, in its order; *out is
 * malloc'd and NUL-terminated, caller frees. */
int	channel_encode(const struct channel *c, char **out, size_t *outlen,
	    struct err *e);

/* channel_file_split(), then with k the chain and the signature
 * (trust_verify(): -EKEYREJECTED, -EBADMSG) before the body is parsed,
 * then channel_parse(). With k NULL it only parses. id (65 bytes) gets
 * the hex digest, signer (may be NULL) the signer's subject. */
int	channel_open(const uint8_t *buf, size_t len, const struct keyring *k,
	    struct channel **cp, char id[65], char *signer, size_t signerlen,
	    struct err *e);

/* 0 if c has not expired at now (seconds since the epoch), else
 * -EKEYEXPIRED "channel NAME version N expired at T (now T)". */
int	channel_check_fresh(const struct channel *c, int64_t now,
	    struct err *e);
/* The release for compatible, or NULL. */
const struct channel_release *channel_find(const struct channel *c,
	    const char *compatible);
/* Whether minute (0..1439 after 00:00 UTC) is in r's install window;
 * always 1 without a window. */
int	channel_window_open(const struct channel_release *r, uint32_t minute);

/* "HH:MM" (00:00..23:59) to minutes after midnight; -1 if it is not
 * one. */
int	channel_minute_parse(const char *s);
/* "YYYY-MM-DDTHH:MM:SSZ" exactly (RFC 3339, UTC, no fraction) to
 * seconds since the epoch; -1 if it is not one, or not a real date. */
int	channel_time_parse(const char *s, int64_t *t);
void	channel_time_format(int64_t t, char out[21]);
/* Basis points as the body writes them: "25", "12.5", "0.01". */
void	channel_rollout_format(uint32_t bp, char out[16]);

#endif /* VERIFY_CHANNEL_H */

/*
 * verify/reader: the bundle reader. It turns a byte source (source/: a
 * file, a pipe or an HTTP(S) download) into verified compressed chunks,
 * in one sequential pass. bundle_reader_open() reads the header, the
 * manifest and the signature block and, given a keyring, checks the
 * signature and the chain before the manifest JSON is parsed, then each
 * payload's sha256 against its chunk rows: nothing has been trusted, or
 * handed anywhere, before it returns 0. bundle_reader_chunk() then hands
 * out each chunk of the payload area, in manifest order, only once its
 * signed SHA-256 matches; bundle_reader_end() checks that the bundle ends
 * with its last chunk. Decoding a chunk and matching its XXH3 is
 * verify/chunk's chunk_decode(), so that it can run on other threads.
 * The reader itself is for one thread; it writes nothing.
 */
#ifndef VERIFY_READER_H
#define VERIFY_READER_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct keyring;
struct manifest;
struct source;
struct bundle_reader;		/* opaque */

/* Reads and parses header, manifest and signature block from src, whose
 * name (source_name()) names it in messages. With k, verifies the
 * signature over header||manifest and the signer's chain (-EKEYREJECTED,
 * -EBADMSG); with k NULL, only parses (for `bundle info`). -EPIPE:
 * truncated; a read error is the source's -errno and message. src stays
 * the caller's and must outlive the reader. Free *rp with
 * bundle_reader_free(). */
int	bundle_reader_open(struct source *src, const struct keyring *k,
	    struct bundle_reader **rp, struct err *e);
const struct manifest *bundle_reader_manifest(const struct bundle_reader *r);
/* SHA-256 of header||manifest: the bundle's identity, as hex (65). */
const char *bundle_reader_id(const struct bundle_reader *r);
/* The signer certificate's subject, for display ("" if unknown). Only
 * trustworthy when bundle_reader_verified(). */
const char *bundle_reader_signer(const struct bundle_reader *r);
/* Whether bundle_reader_open() verified a signature (k was given). */
int	bundle_reader_verified(const struct bundle_reader *r);
/* The srcname given to bundle_reader_open(), for messages. */
const char *bundle_reader_name(const struct bundle_reader *r);

/* A stop request for the reads of the payload area: once fd is readable
 * (a pipe a signal handler writes to), bundle_reader_chunk() and
 * bundle_reader_end() return -ECANCELED, even from a wait on a stalled
 * pipe; what was read of the chunk is dropped. The fd stays the
 * caller's; -1 (the default) turns this off. */
void	bundle_reader_set_cancel(struct bundle_reader *r, int fd);
/* Starts the one pass over the payload area: -EINVAL ("payloads already
 * read") if it was started before. */
int	bundle_reader_begin(struct bundle_reader *r, struct err *e);
/* Reads the next chunk into buf, which has room for the largest csize of
 * the manifest, and checks it against its signed SHA-256; *payload and
 * *index say which chunk it is. -EPIPE when the stream ends early,
 * -EBADMSG when the chunk does not match its row: the bundle is wrong.
 * -ECANCELED or a read's -errno: the source failed, and
 * bundle_reader_source_failed() says so. -EINVAL past the last chunk. */
int	bundle_reader_chunk(struct bundle_reader *r, void *buf,
	    size_t *payload, size_t *index, struct err *e);
/* Moves past the next n chunks without reading them, as if
 * bundle_reader_chunk() had returned each: the source continues after
 * them (source_skip_to(): a seek, a Range request, or a pipe's bytes
 * read and discarded). Their bytes are not checked here: a caller that
 * skips chunks must have them, and check them, otherwise (an install
 * resumed reads them back from the slot). The pass stays one, in
 * order, and bundle_reader_end() still checks the end. -EINVAL if
 * fewer than n chunks are left or the pass has not begun; failures of
 * the source as bundle_reader_chunk(). */
int	bundle_reader_skip(struct bundle_reader *r, uint64_t n,
	    struct err *e);
/* After the last chunk: 0 if the stream ends there, -EBADMSG if it goes
 * on (bytes the signature does not cover), or as bundle_reader_chunk(). */
int	bundle_reader_end(struct bundle_reader *r, struct err *e);
/* Whether the last failure of bundle_reader_chunk() or bundle_reader_end()
 * was the source's (a read error, a stop request), not the bundle's. */
int	bundle_reader_source_failed(const struct bundle_reader *r);
void	bundle_reader_free(struct bundle_reader *r);	/* accepts NULL */

#endif /* VERIFY_READER_H */

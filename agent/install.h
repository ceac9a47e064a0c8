/*
 * agent/install: reads a bundle from a file descriptor (a file, a pipe,
 * later an HTTP download thread) in one sequential pass. install_open()
 * reads the header, manifest and signature block and, given a keyring,
 * verifies the signature and the certificate chain, then each payload's
 * sha256 against its chunk rows: nothing is written anywhere before it
 * returns 0. install_payloads() then streams every chunk: read, check its
 * signed compressed SHA-256, decompress (in parallel on every core), check
 * its signed uncompressed SHA-256 and XXH3, write at its offset; read
 * every chunk back behind the writing and match its signed XXH3.
 * Memory is a few chunk buffers, never proportional to the image.
 */
#ifndef AGENT_INSTALL_H
#define AGENT_INSTALL_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct keyring;
struct manifest;
struct slot_writer;
struct install;			/* opaque */

/* Progress: called from the reading thread after each chunk is written
 * (phase "write") or read back (phase "verify"); done and total count
 * uncompressed bytes over all payloads of the phase. */
struct install_progress {
	void	(*fn)(void *arg, const char *phase, const char *payload,
		    uint64_t done, uint64_t total);
	void	*arg;
};

/* Reads and parses header, manifest and signature block from fd. srcname
 * names the source in messages. With k, verifies the signature over
 * header||manifest and the signer's chain (-EKEYREJECTED, -EBADMSG);
 * with k NULL, only parses (for `bundle info`). -EPIPE: truncated.
 * fd stays the caller's. Free with install_free(). */
int	install_open(int fd, const char *srcname, const struct keyring *k,
	    struct install **ip, struct err *e);
const struct manifest *install_manifest(const struct install *in);
/* SHA-256 of header||manifest: the bundle's identity, as hex (65). */
const char *install_bundle_id(const struct install *in);
/* The signer certificate's subject, for display ("" if unknown). Only
 * trustworthy when install_verified(). */
const char *install_signer(const struct install *in);
/* Whether install_open() verified a signature (k was given). */
int	install_verified(const struct install *in);

/* Streams all payloads in manifest order. writers[i] receives payload i;
 * with every writer NULL, runs the same checks and writes nothing (bundle
 * verify). A chunk whose compressed SHA-256 does not match stops
 * everything with -EBADMSG before it or any later chunk is written; one
 * whose decompressed bytes do not match the row's usha256 or xxh3 stops
 * everything with -EBADMSG before it is written (chunks after it may be
 * written already, by other workers). With writers, returns 0 only once
 * every chunk is written, fsync'd (slot_writer_finish) and read back from
 * the slot matching its signed XXH3 (-EIO otherwise). Chunks written past
 * the page cache are read back while later ones are written, the rest
 * after the final fsync. Refuses an unverified install (k NULL) with
 * writers. */
int	install_payloads(struct install *in, struct slot_writer *const *writers,
	    const struct install_progress *prog, struct err *e);
/* The exit code (agent/cmd.h) for r, a failure of install_open() (in is
 * NULL then) or of install_payloads(in): EXIT_INPUT when the source could
 * not be read, EXIT_BUNDLE when its bytes are wrong or cut short,
 * EXIT_SLOT when a slot failed, EXIT_FAIL otherwise, from agent/exitcode's
 * table. update and bundle verify both use it, so one bundle gets one
 * exit code. */
int	install_exit_code(const struct install *in, int r);
/* A stop request for install_payloads(): once fd is readable (a pipe a
 * signal handler writes to), no further chunk is read or started; a
 * chunk being written is finished, so the slot holds whole chunks, and
 * install_payloads() returns -ECANCELED. The fd stays the caller's; -1
 * (the default) turns this off. */
void	install_set_cancel(struct install *in, int fd);
void	install_free(struct install *in);		/* accepts NULL */

#endif /* AGENT_INSTALL_H */

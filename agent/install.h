/*
 * agent/install: the install pipeline. It takes a bundle reader
 * (verify/reader) that has checked header, manifest and signature, and
 * streams every chunk: the reader reads it and checks its signed
 * SHA-256, in order; workers on every core decode it and match its
 * signed XXH3 (verify/chunk) and hand it to its slot writer
 * (slots/writer); a read-back thread reads every chunk back behind the
 * writing and matches its XXH3 again. Memory is a few chunk buffers,
 * never proportional to the image.
 */
#ifndef AGENT_INSTALL_H
#define AGENT_INSTALL_H

#include <stdint.h>

struct err;
struct bundle_reader;
struct slot_writer;

/* Progress: called with the pipeline's lock held, by the worker that
 * wrote a chunk (phase "write") or by the read-back thread once it is
 * read back (phase "verify"); done and total count uncompressed bytes
 * over all payloads of the phase. */
struct install_progress {
	void	(*fn)(void *arg, const char *phase, const char *payload,
		    uint64_t done, uint64_t total);
	void	*arg;
};

/* Resume and checkpoints (update); NULL for neither. */
struct install_journal {
	/* Chunks [0, resume) in stream order are in the slot from an
	 * earlier run: those of raw payloads are skipped in the source
	 * (bundle_reader_skip()), not written, and read back and matched
	 * like every other chunk; those of files payloads are written
	 * again. Progress starts past the kept ones. */
	uint64_t	 resume;
	/* A checkpoint once every_bytes more are durable or every_s
	 * seconds have passed since the last, whichever comes first: the
	 * read-back thread fsyncs every raw writer, with no lock held,
	 * then calls checkpoint(): chunks [0, chunks) are written and
	 * durable, and bytes is their uncompressed size. Never per chunk
	 * unless the intervals say so; the writers go on meanwhile. */
	uint64_t	 every_bytes;
	unsigned	 every_s;
	void		(*checkpoint)(void *arg, uint64_t chunks,
			    uint64_t bytes);
	void		*arg;
};

/* What a failure was about, for install_exit_code(): an errno alone
 * cannot tell a read error of the source from one of a slot. */
enum install_fault {
	INSTALL_FAULT_OPEN,	/* bundle_reader_open(): by the errno */
	INSTALL_FAULT_SOURCE,	/* the bundle could not be read */
	INSTALL_FAULT_BUNDLE,	/* its bytes are wrong or cut short */
	INSTALL_FAULT_SLOT,	/* a slot write, fsync or read-back */
	INSTALL_FAULT_OTHER,	/* memory, threads, a caller's error */
};

/* Streams all payloads of r in manifest order. writers[i] receives
 * payload i; with every writer NULL, runs the same checks and writes
 * nothing (bundle verify). A chunk whose compressed SHA-256 does not
 * match stops everything with -EBADMSG before it or any later chunk is
 * written; one whose decompressed bytes do not match the row's xxh3
 * stops everything with -EBADMSG before it is written (chunks after it
 * may be written already, by other workers). With writers, returns 0
 * only once every chunk is written, fsync'd (slot_writer_finish) and
 * read back from the slot matching its signed XXH3 (-EIO otherwise).
 * Chunks written past the page cache are read back while later ones are
 * written, the rest after the final fsync. Refuses an unverified reader
 * (opened without a keyring) with writers. A stop request on the reader
 * (bundle_reader_set_cancel()) reads or starts no further chunk; a chunk
 * being written is finished, so the slot holds whole chunks, and this
 * returns -ECANCELED. jr: see struct install_journal (writers only).
 * On failure *faultp says what it was about. */
int	install_payloads(struct bundle_reader *r,
	    struct slot_writer *const *writers,
	    const struct install_progress *prog,
	    const struct install_journal *jr, enum install_fault *faultp,
	    struct err *e);
/* The exit code (agent/cmd.h) for rc, a failure of bundle_reader_open()
 * (f is INSTALL_FAULT_OPEN then) or of install_payloads() (f is its
 * *faultp): EXIT_INPUT when the source could not be read, EXIT_BUNDLE
 * when its bytes are wrong or cut short, EXIT_SLOT when a slot failed,
 * EXIT_FAIL otherwise, from agent/exitcode's table. update and bundle
 * verify both use it, so one bundle gets one exit code. */
int	install_exit_code(enum install_fault f, int rc);

#endif /* AGENT_INSTALL_H */

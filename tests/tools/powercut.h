/*
 * tests/tools/powercut: the parts of the replay (powercut.c says what it
 * does). powercut.c: the commands, snap and the helpers; pclog.c: the
 * snapshot and the log read back, and what makes each change durable;
 * pcplan.c: the variants of a cut (what of the pending changes lands);
 * pcmodel.c: the folder a cut leaves, built in memory and written out.
 */
#ifndef TESTS_TOOLS_POWERCUT_H
#define TESTS_TOOLS_POWERCUT_H

#include <stddef.h>
#include <stdint.h>

#define SECTOR		512
#define MAXPATH		4096

struct node {
	char		 type;		/* 'f' or 'd' */
	unsigned	 mode;
	unsigned char	*data;
	size_t		 size, cap;
};

struct entry {
	char		*path;
	int		 node;
};

struct rec {
	char		 op;		/* W Z T S F C D N X U R */
	uint64_t	 at;		/* offset of the record in the log */
	unsigned long long dev, ino;
	long long	 a, b;
	char		*p1, *p2;
	const unsigned char *data;
	size_t		 len;
	int		 node;		/* the node it changes or syncs */
	long		 durable;	/* first record index making it so */
};

struct variant {
	char		 what[48];
	long		*sel;		/* the pending records that land */
	long		 nsel;
	long		 torn;		/* a record in sel, or 0 */
	int		 tail;		/* torn: its last sectors, not first */
	long long	 sectors;	/* how many of its sectors landed */
	long		 split;		/* a rename cut inside, or 0 */
	int		 both;		/* split: its new name holds the file */
};

/* pclog.c: the snapshot and the log. */
extern char root[MAXPATH];
extern struct node *snapnodes;
extern int nsnap;
extern struct entry *snapents;
extern int nsnapents;
extern struct rec *recs;
extern long nrec;
extern int nnodes;
extern int vfat;
extern const char *vfat_under;

/* pcplan.c: the pending changes of the cut last given to pending_at(). */
extern long *pend;
extern long npend;

/* pcmodel.c: the folder being built. */
extern struct node *nodes;
extern int split_done;

/* powercut.c */
void	die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void *	xalloc(size_t n);
char *	xstrdup(const char *s);
unsigned char *	slurp(const char *path, size_t *lenp);
void	spill(const char *path, const unsigned char *data, size_t len,
	    unsigned mode);

/* pclog.c */
void	snap_load(const char *dir);
void	log_load(const char *path);
int	is_data(const struct rec *r);
int	is_name(const struct rec *r);
int	on_vfat(const struct rec *r);
void	parent_of(const char *path, char *out);
void	analyse(void);

/* pcplan.c */
void	pending_at(long k);
long long	nsectors(const struct rec *r);
int	variant(long v, struct variant *out);
uint64_t	signature(long k, const struct variant *v);

/* pcmodel.c */
void	build(long k, const struct variant *v);
uint64_t	model_hash(void);
void	write_out(const char *dest);

#endif /* TESTS_TOOLS_POWERCUT_H */

/*
 * tests/tools/powercut: the variants of a cut: which pending changes
 * land, and how the newest is torn (docs/powercut.md, "Cut points").
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "tests/tools/powercut.h"

/* ---- variants ---- */


long *pend;
long npend;
static long pend_cut;			/* the cut given to pending_at() */

void
pending_at(long k)
{
	long i;

	npend = 0;
	pend_cut = k;
	for (i = 1; i <= k; i++)
		if ((is_data(&recs[i]) || is_name(&recs[i])) &&
		    recs[i].durable > k)
			pend[npend++] = i;
}

/* How many whole sectors a write spans, by absolute sector boundaries. */
long long
nsectors(const struct rec *r)
{
	long long first, last;

	if (r->op != 'W' && r->op != 'Z')
		return 0;
	if (r->b <= 0)
		return 0;
	first = r->a / SECTOR;
	last = (r->a + r->b - 1) / SECTOR;
	return last - first + 1;
}

/*
 * Variant v of cut k (pending_at(k) done). Returns 0 when v is past the
 * last one. In ext4 the name changes keep their order: a name change
 * that does not land stops every later one.
 */
int
variant(long v, struct variant *out)
{
	static long sel[1 << 16];
	long i, nv, first_data = -1, last, n = npend;
	long long ns = 0;
	int keep[1 << 12], stop;

	if (n > (long)(sizeof(keep) / sizeof(keep[0])))
		die("%s", "too many pending changes");
	memset(out, 0, sizeof(*out));
	out->sel = sel;
	last = n > 0 ? pend[n - 1] : 0;
	for (i = 0; i < n; i++)
		if (first_data == -1 && is_data(&recs[pend[i]]))
			first_data = i;
	if (last != 0)
		ns = nsectors(&recs[last]);
	/* 0 all, 1 none, 2..n prefixes, then drop-first, only-last, tears */
	nv = 0;
	if (v == nv++) {
		snprintf(out->what, sizeof(out->what), "all");
		for (i = 0; i < n; i++)
			keep[i] = 1;
		goto done;
	}
	if (v == nv++) {
		snprintf(out->what, sizeof(out->what), "none");
		for (i = 0; i < n; i++)
			keep[i] = 0;
		goto done;
	}
	if (n > 1 && v < nv + n - 1) {
		snprintf(out->what, sizeof(out->what), "prefix %ld",
		    v - nv + 1);
		for (i = 0; i < n; i++)
			keep[i] = i < v - nv + 1;
		goto done;
	}
	if (n > 1)
		nv += n - 1;
	if (v == nv++) {
		if (first_data == -1 || n < 2)
			return -1;
		snprintf(out->what, sizeof(out->what), "drop-first");
		for (i = 0; i < n; i++)
			keep[i] = i != first_data;
		goto done;
	}
	if (v == nv++) {
		if (n < 2)
			return -1;
		snprintf(out->what, sizeof(out->what), "only-last");
		for (i = 0; i < n; i++)
			keep[i] = i == n - 1;
		goto done;
	}
	if (v >= nv && v < nv + 4) {
		long long s[4] = { 1, ns / 2, ns - 1, 1 };

		if (ns < 2 || (v - nv == 1 && (ns / 2 == 1 || ns / 2 ==
		    ns - 1)) || (v - nv == 2 && ns - 1 == 1))
			return -1;
		for (i = 0; i < n; i++)
			keep[i] = 1;
		out->torn = last;
		out->tail = v - nv == 3;
		out->sectors = s[v - nv];
		snprintf(out->what, sizeof(out->what), "tear-%s %lld/%lld",
		    out->tail ? "tail" : "head", out->sectors, ns);
		goto done;
	}
	nv += 4;
	/* vfat: any one pending name change lost, the later ones landed. */
	for (i = 0; i < n; i++) {
		if (!is_name(&recs[pend[i]]) || !on_vfat(&recs[pend[i]]))
			continue;
		if (v == nv++) {
			long j;

			snprintf(out->what, sizeof(out->what),
			    "drop-name %ld", i + 1);
			for (j = 0; j < n; j++)
				keep[j] = j != i;
			goto done;
		}
	}
	/*
	 * vfat: a cut inside the rename that is record last (the newest
	 * pending change, and the cut's own record), between the steps
	 * of vfat_rename() as dirsync writes them in order.
	 */
	if (last != 0 && recs[last].op == 'N' && on_vfat(&recs[last]) &&
	    last == pend_cut && v < nv + 2) {
		for (i = 0; i < n; i++)
			keep[i] = 1;
		out->split = last;
		out->both = v - nv == 1;
		snprintf(out->what, sizeof(out->what), "rename-%s",
		    out->both ? "both" : "empty");
		goto done;
	}
	return 0;
done:
	stop = 0;
	out->nsel = 0;
	for (i = 0; i < n; i++) {
		if (is_name(&recs[pend[i]]) && !on_vfat(&recs[pend[i]])) {
			if (!keep[i])
				stop = 1;
			if (stop)
				keep[i] = 0;
		}
		if (keep[i])
			sel[out->nsel++] = pend[i];
	}
	return 1;
}

/* The state's signature: which records land, and how one is torn. */
uint64_t
signature(long k, const struct variant *v)
{
	XXH3_state_t *st = XXH3_createState();
	long i, s = 0;
	uint64_t h;

	XXH3_64bits_reset(st);
	for (i = 1; i <= k; i++) {
		int on = recs[i].durable <= k;

		if (!is_data(&recs[i]) && !is_name(&recs[i]))
			continue;
		while (!on && s < v->nsel && v->sel[s] < i)
			s++;
		if (!on && s < v->nsel && v->sel[s] == i)
			on = 1;
		if (on)
			XXH3_64bits_update(st, &i, sizeof(i));
	}
	XXH3_64bits_update(st, &v->torn, sizeof(v->torn));
	XXH3_64bits_update(st, &v->tail, sizeof(v->tail));
	XXH3_64bits_update(st, &v->sectors, sizeof(v->sectors));
	XXH3_64bits_update(st, &v->split, sizeof(v->split));
	XXH3_64bits_update(st, &v->both, sizeof(v->both));
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

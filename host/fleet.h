/*
 * host/fleet: `upkit fleet report DIR`, the sum of a folder of reports
 * (docs/reports.md). fleet_read() reads every *.json under a folder and
 * keeps the latest report of each device; the command prints the sums.
 */
#ifndef HOST_FLEET_H
#define HOST_FLEET_H

#include <stddef.h>
#include <stdint.h>

struct err;

/* Where one device stands, by its latest report. */
struct fleet_row {
	char		*device;
	char		*time;
	uint64_t	 seq;
	char		*result;
	char		*running;	/* the version it runs; NULL unknown */
	char		*target;	/* the version it went for */
	char		*failure;	/* "check NAME" or the reason; NULL
					   for committed */
};

struct fleet {
	struct fleet_row *rows;		/* one per device, by device */
	size_t		  n, cap;
	unsigned	  files;	/* *.json files read */
	unsigned	  malformed;	/* of them, not reports */
};

/* Reads dir into f (zeroed by the caller); each malformed file is named
 * on stderr. -errno only if dir itself cannot be read. Free f with
 * fleet_free(). */
int	fleet_read(const char *dir, struct fleet *f, struct err *e);
void	fleet_free(struct fleet *f);

#endif /* HOST_FLEET_H */

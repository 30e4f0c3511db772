/*
 * coverage.h - rescue coverage: the registered sites that lie outside every
 * rescue circle (救援圈), with the unit that would reach them first.
 *
 * For `hazardctl rescue-coverage` and `hazardctl stats`: loads the registry
 * snapshot exactly as the daemon does (so the town/countryside rule, the
 * units and the grid index are the daemon's) and judges every site with
 * hz_rescue_coverage (registry/rescue.h). Cost: one registry load (a few
 * bulk SELECTs; ~0.2 s for the demo, seconds for a million devices), then
 * O(sites x units near each site) in memory. Not for the hot path.
 */
#ifndef HZ_STORE_COVERAGE_H
#define HZ_STORE_COVERAGE_H

#include <libpq-fe.h>

#include "registry/rescue.h"
#include "tickets/ticket.h"

/* A site outside every circle. The nearest unit is the one with the
 * fewest estimated minutes (unit_id "" when the registry has none). */
struct hz_coverage_site {
	char site_id[HZ_ID_MAX];
	char name[96];
	char kind[32];
	char town_code[HZ_CODE_MAX];
	char town_name[64];
	char county_code[HZ_CODE_MAX];
	char area[16]; /* "town" | "countryside" */
	double lat, lon;
	struct hz_esc_unit nearest; /* distance, minutes and the circle it misses */
};

struct hz_coverage {
	int64_t registry_version;
	struct hz_coverage_stats st;      /* sites, located, inside, outside, unlocated, units */
	struct hz_coverage_site *outside; /* st.outside entries (or fewer: see max), by site id */
	size_t n_outside;
};

/* Judge every site of the registry in `pg` (idle) against `p`. Fills *cov
 * (free with hz_coverage_free); keeps at most `max` outside sites in
 * cov->outside (0: none, only the counts; SIZE_MAX: all). Returns 0,
 * HZ_ETRANSIENT, HZ_ENOMEM or HZ_ERR with err set. */
int hz_store_rescue_coverage(PGconn *pg, const struct hz_dispatch_params *p, size_t max,
			     struct hz_coverage *cov, char *err, size_t errlen);
void hz_coverage_free(struct hz_coverage *cov); /* accepts NULL and a zeroed struct */

#endif

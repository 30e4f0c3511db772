/*
 * rescue.h - dispatch suggestion: the nearest rescue unit of each kind for
 * a site, its great-circle distance, the estimated travel time at a
 * configured speed, and whether the site lies inside that unit's rescue
 * circle (救援圈: 1-3-5 minutes in towns, 15 minutes in the countryside).
 *
 * Pure functions over an immutable index built once per registry
 * snapshot; no allocation after hz_rescue_index_new, no clock, no I/O, so
 * the daemon (EscalationNotice), `hazardctl rescue-coverage` and the unit
 * tests compute the same thing. It does not route over roads: distance is
 * the haversine distance times a configured road factor.
 */
#ifndef HZ_REGISTRY_RESCUE_H
#define HZ_REGISTRY_RESCUE_H

#include "registry/registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HZ_EARTH_RADIUS_M 6371008.8 /* mean radius (IUGG) */

/* Great-circle (haversine) distance in metres between two points given in
 * degrees. Accurate to ~0.5 % (the earth is not a sphere), far better than
 * the road factor that multiplies it. */
double hz_geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/* ---- settings ---- */

/* Travel speed by area and the circle limit by area and unit kind. A limit
 * of 0 means that kind does not count for the circle in that area. */
struct hz_dispatch_params {
	const char *hazard_types;        /* comma-separated, borrowed; NULL/"": none */
	double speed_kmh[HZ_AREA_COUNT]; /* [HZ_AREA_TOWN], [HZ_AREA_COUNTRYSIDE] */
	double road_factor;              /* road distance / straight distance, >= 1 */
	double circle_min[HZ_AREA_COUNT][HZ_UNIT_KIND_COUNT];
};

/* The defaults documented in the README: 30 km/h in towns, 40 km/h in the
 * countryside, road factor 1.3; towns: micro station 3 min, full-time
 * brigade and fire rescue station 5 min; countryside: every kind 15 min. */
void hz_dispatch_params_default(struct hz_dispatch_params *p);

/* Fill p from the three circle limits and speeds (as in the config:
 * minutes and km/h). */
void hz_dispatch_params_set(struct hz_dispatch_params *p, double speed_town_kmh,
			    double speed_country_kmh, double road_factor, double micro_min,
			    double brigade_min, double country_min);

struct hz_config;
/* From the dispatch.* settings (borrows cfg's hazard_types string). */
void hz_dispatch_params_from_config(struct hz_dispatch_params *p, const struct hz_config *cfg);

/* Whether a ticket of `hazard_type` gets a suggestion: it is one of the
 * comma-separated p->hazard_types (blanks around names ignored). */
bool hz_dispatch_applies(const struct hz_dispatch_params *p, const char *hazard_type);

/* ---- the index ---- */

/* A uniform grid over the units' coordinates (cells of 0.05 degrees,
 * ~5 km), units sorted by cell. Build O(U log U), memory 40 bytes per
 * unit; a nearest query visits rings of cells around the point until no
 * closer unit can exist, and falls back to a scan of the kind's units when
 * the rings would cost more: O(units near the point) expected, O(U) worst.
 * Longitudes are not wrapped at +-180 (none of our registries crosses it).
 * Borrows `units` (they must outlive the index). NULL on allocation
 * failure; an index of 0 units is valid and finds nothing. */
struct hz_rescue_index *hz_rescue_index_new(const struct hz_rescue_unit *units, size_t n);
void hz_rescue_index_destroy(struct hz_rescue_index *ix); /* accepts NULL */

/* The nearest unit of `kind` (0: any kind) to (lat, lon); NULL when there
 * is none or the point has no coordinates (NAN). *dist_m gets its
 * distance. */
const struct hz_rescue_unit *hz_rescue_nearest(const struct hz_rescue_index *ix, double lat,
					       double lon, int kind, double *dist_m);

/* ---- the suggestion ---- */

struct hz_dispatch_pick {
	const struct hz_rescue_unit *unit; /* NULL when the registry has no unit of the kind */
	double distance_m;                 /* straight-line */
	double minutes;                    /* estimated travel: distance * road factor / speed */
	double circle_min;                 /* the limit for this kind in this area; 0 none */
	bool inside;                       /* minutes <= circle_min (and circle_min > 0) */
};

struct hz_dispatch {
	int area;           /* enum hz_area of the site */
	bool located;       /* the site has coordinates */
	bool inside_circle; /* inside the circle of at least one unit */
	size_t n;           /* picks, one per kind that has units, by minutes */
	struct hz_dispatch_pick pick[HZ_UNIT_KIND_COUNT];
};

/* The suggestion for a point in an area: the nearest unit of each kind
 * that exists, sorted by estimated minutes (pick[0] is the one to send
 * first). A point without coordinates gives located = false, n = 0. */
void hz_dispatch_suggest(const struct hz_rescue_index *ix, const struct hz_dispatch_params *p,
			 double lat, double lon, int area, struct hz_dispatch *out);

/* The same for a registry site (its area from hz_registry_site_area). */
void hz_dispatch_for_site(const struct hz_registry *reg, const struct hz_dispatch_params *p,
			  const struct hz_site *site, struct hz_dispatch *out);

/* ---- coverage ---- */

struct hz_coverage_stats {
	size_t sites;     /* in the registry */
	size_t located;   /* with coordinates */
	size_t inside;    /* inside at least one circle */
	size_t outside;   /* located and outside every circle */
	size_t unlocated; /* without coordinates: not judged */
	size_t units;     /* rescue units in the registry */
};

/* Called for each located site outside every circle, in site id order;
 * a non-zero return stops the scan and is returned. */
typedef int (*hz_coverage_fn)(void *arg, const struct hz_site *site, const struct hz_dispatch *d);

/* Judge every site of the snapshot. O(sites x units near each site). */
int hz_rescue_coverage(const struct hz_registry *reg, const struct hz_dispatch_params *p,
		       hz_coverage_fn fn, void *arg, struct hz_coverage_stats *st);

#endif

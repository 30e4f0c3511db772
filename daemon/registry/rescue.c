/*
 * rescue.c - nearest rescue unit by great-circle distance, travel time and
 * rescue circles (救援圈), over a grid index built once per snapshot.
 *
 * The grid: cells of CELL_DEG degrees in latitude and longitude; each unit
 * gets a 64-bit cell key, and an array of (key, unit index) sorted by key
 * is the whole index, so a cell is found by binary search and the index is
 * 40 bytes per unit (key, coordinates and cos(lat) copied in, so a probe
 * stays in one cache line) with no hash table to size. A query visits square
 * rings of cells around the point's cell; after ring r every unit not yet
 * seen is at least r cells away, i.e. at least r * (the smaller of a
 * cell's height and width, in metres), so the search stops as soon as the
 * best distance found is below that bound. When the rings would touch more
 * cells than there are units, a scan is cheaper and is done instead.
 * Not done: roads, one-way streets, traffic, the unit being busy.
 */
#include "registry/rescue.h"
#include "core/config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CELL_DEG 0.05
#define DEG2RAD (3.14159265358979323846 / 180.0)

struct cell_entry {
	uint64_t key;  /* kind in the top byte, then the cell */
	double coslat; /* cos of the unit's latitude, for the haversine */
	double lat, lon;
	uint32_t unit;
};

struct hz_rescue_index {
	const struct hz_rescue_unit *units;
	size_t n;
	struct cell_entry *cells;           /* sorted by key: one run per kind */
	size_t off[HZ_UNIT_KIND_COUNT + 1]; /* kind k: cells[off[k] .. off[k + 1]) */
	double max_abs_lat;                 /* for the ring bound's cell width */
};

double hz_geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * DEG2RAD, p2 = lat2 * DEG2RAD;
	double dp = (lat2 - lat1) * DEG2RAD, dl = (lon2 - lon1) * DEG2RAD;
	double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
	if (a > 1)
		a = 1;
	return 2 * HZ_EARTH_RADIUS_M * asin(sqrt(a));
}

void hz_dispatch_params_set(struct hz_dispatch_params *p, double speed_town_kmh,
			    double speed_country_kmh, double road_factor, double micro_min,
			    double brigade_min, double country_min)
{
	memset(p, 0, sizeof(*p));
	p->speed_kmh[HZ_AREA_UNSET] = speed_town_kmh;
	p->speed_kmh[HZ_AREA_TOWN] = speed_town_kmh;
	p->speed_kmh[HZ_AREA_COUNTRYSIDE] = speed_country_kmh;
	p->road_factor = road_factor >= 1 ? road_factor : 1;
	for (int a = HZ_AREA_UNSET; a <= HZ_AREA_TOWN; a++) {
		p->circle_min[a][HZ_UNIT_MICRO_STATION] = micro_min;
		p->circle_min[a][HZ_UNIT_BRIGADE] = brigade_min;
		p->circle_min[a][HZ_UNIT_FIRE_STATION] = brigade_min;
	}
	for (int k = HZ_UNIT_MICRO_STATION; k < HZ_UNIT_KIND_COUNT; k++)
		p->circle_min[HZ_AREA_COUNTRYSIDE][k] = country_min;
}

void hz_dispatch_params_default(struct hz_dispatch_params *p)
{
	hz_dispatch_params_set(p, 30, 40, 1.3, 3, 5, 15);
	p->hazard_types = "fire_smoke,fire_heat";
}

void hz_dispatch_params_from_config(struct hz_dispatch_params *p, const struct hz_config *cfg)
{
	hz_dispatch_params_set(p, cfg->dispatch_speed_town_kmh, cfg->dispatch_speed_country_kmh,
			       cfg->dispatch_road_factor,
			       (double)cfg->dispatch_micro_circle_us / 60e6,
			       (double)cfg->dispatch_brigade_circle_us / 60e6,
			       (double)cfg->dispatch_country_circle_us / 60e6);
	p->hazard_types = cfg->dispatch_hazard_types;
}

bool hz_dispatch_applies(const struct hz_dispatch_params *p, const char *hazard_type)
{
	if (!p || !p->hazard_types || !hazard_type || !*hazard_type)
		return false;
	size_t n = strlen(hazard_type);
	const char *s = p->hazard_types;
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		const char *e = s;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > s && t[-1] == ' ')
			t--;
		if ((size_t)(t - s) == n && memcmp(s, hazard_type, n) == 0)
			return true;
		s = e;
	}
	return false;
}

static int64_t cell_of(double deg) { return (int64_t)floor(deg / CELL_DEG); }

static uint64_t cell_key(int kind, int64_t y, int64_t x)
{
	/* both fit in 16 bits (|deg| <= 180 -> |cell| <= 3600); offset to
	 * keep the order of kind, y, then x */
	return ((uint64_t)kind << 56) | ((uint64_t)(y + 0x8000) << 32) | (uint64_t)(x + 0x8000);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct cell_entry *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->unit < y->unit ? -1 : x->unit > y->unit;
}

struct hz_rescue_index *hz_rescue_index_new(const struct hz_rescue_unit *units, size_t n)
{
	struct hz_rescue_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	ix->units = units;
	ix->n = n;
	ix->cells = calloc(n ? n : 1, sizeof(*ix->cells));
	if (!ix->cells) {
		free(ix);
		return NULL;
	}
	size_t count[HZ_UNIT_KIND_COUNT] = {0};
	for (size_t i = 0; i < n; i++) {
		int kind =
			units[i].kind > 0 && units[i].kind < HZ_UNIT_KIND_COUNT ? units[i].kind : 0;
		ix->cells[i].key = cell_key(kind, cell_of(units[i].lat), cell_of(units[i].lon));
		ix->cells[i].unit = (uint32_t)i;
		ix->cells[i].lat = units[i].lat;
		ix->cells[i].lon = units[i].lon;
		ix->cells[i].coslat = cos(units[i].lat * DEG2RAD);
		count[kind]++;
		if (fabs(units[i].lat) > ix->max_abs_lat)
			ix->max_abs_lat = fabs(units[i].lat);
	}
	for (int k = 0; k < HZ_UNIT_KIND_COUNT; k++)
		ix->off[k + 1] = ix->off[k] + count[k];
	if (n > 1)
		qsort(ix->cells, n, sizeof(*ix->cells), cmp_entry);
	return ix;
}

void hz_rescue_index_destroy(struct hz_rescue_index *ix)
{
	if (!ix)
		return;
	free(ix->cells);
	free(ix);
}

/* First entry in [lo, hi) with key >= k. */
static size_t lower_bound(const struct hz_rescue_index *ix, size_t lo, size_t hi, uint64_t k)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->cells[mid].key < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The query point, with its cosine computed once. Candidates are compared
 * on the haversine's `a` term (monotonic in the distance), so the asin and
 * sqrt are paid once per query, not per unit. */
struct query {
	double lat, lon, coslat;
};

struct best {
	const struct hz_rescue_unit *u;
	double a; /* haversine a = sin^2(c/2), c the central angle */
};

static double hav_a(const struct query *q, const struct cell_entry *c)
{
	double sp = sin((c->lat - q->lat) * DEG2RAD / 2), sl = sin((c->lon - q->lon) * DEG2RAD / 2);
	double a = sp * sp + q->coslat * c->coslat * sl * sl;
	return a > 1 ? 1 : a;
}

static double a_to_m(double a) { return 2 * HZ_EARTH_RADIUS_M * asin(sqrt(a)); }

static double m_to_a(double m)
{
	double h = m / (2 * HZ_EARTH_RADIUS_M);
	if (h >= 3.14159265358979323846 / 2)
		return 1;
	double s = sin(h);
	return s * s;
}

static void consider(const struct hz_rescue_index *ix, const struct cell_entry *c,
		     const struct query *q, struct best *b)
{
	const struct hz_rescue_unit *u = &ix->units[c->unit];
	double a = hav_a(q, c);
	/* ties go to the lower unit id (units are sorted by id) */
	if (!b->u || a < b->a || (a == b->a && u < b->u)) {
		b->u = u;
		b->a = a;
	}
}

/* The cells x0..x1 of row y: consecutive keys, so one binary search and a
 * walk, not one search per cell. */
static void visit_row(const struct hz_rescue_index *ix, int kind, int64_t y, int64_t x0,
		      int64_t x1, const struct query *q, struct best *b)
{
	uint64_t k0 = cell_key(kind, y, x0), k1 = cell_key(kind, y, x1);
	size_t end = ix->off[kind + 1];
	for (size_t i = lower_bound(ix, ix->off[kind], end, k0); i < end && ix->cells[i].key <= k1;
	     i++)
		consider(ix, &ix->cells[i], q, b);
}

/* The nearest unit of one kind (1..HZ_UNIT_KIND_COUNT-1). */
static void nearest_of(const struct hz_rescue_index *ix, int kind, const struct query *q,
		       struct best *b)
{
	size_t count = ix->off[kind + 1] - ix->off[kind];
	if (count == 0)
		return;
	/* The narrowest cell anywhere between the point and the units: a
	 * lower bound on the distance across one cell. */
	double maxlat = fmax(fabs(q->lat), ix->max_abs_lat) + CELL_DEG;
	if (maxlat > 89.9)
		maxlat = 89.9;
	double cell_m = CELL_DEG * DEG2RAD * HZ_EARTH_RADIUS_M * cos(maxlat * DEG2RAD);
	int64_t cy = cell_of(q->lat), cx = cell_of(q->lon);
	/* cells visited so far; once the next ring would take the visits
	 * past the kind's unit count, a scan of the kind is cheaper */
	size_t visited = 0;
	for (int64_t r = 0;; r++) {
		size_t ring_cells = r == 0 ? 1 : (size_t)(8 * r);
		if (visited + ring_cells > count || r > 7200) {
			for (size_t i = ix->off[kind]; i < ix->off[kind + 1]; i++)
				consider(ix, &ix->cells[i], q, b);
			return;
		}
		visited += ring_cells;
		for (int64_t y = cy - r; y <= cy + r; y++) {
			if (y == cy - r || y == cy + r) {
				visit_row(ix, kind, y, cx - r, cx + r, q, b);
			} else {
				visit_row(ix, kind, y, cx - r, cx - r, q, b);
				visit_row(ix, kind, y, cx + r, cx + r, q, b);
			}
		}
		/* every unit outside rings 0..r is more than r cells away */
		if (b->u && b->a <= m_to_a((double)r * cell_m))
			return;
	}
}

const struct hz_rescue_unit *hz_rescue_nearest(const struct hz_rescue_index *ix, double lat,
					       double lon, int kind, double *dist_m)
{
	*dist_m = NAN;
	if (!ix || ix->n == 0 || !isfinite(lat) || !isfinite(lon) || lat < -90 || lat > 90 ||
	    lon < -180 || lon > 180 || kind < 0 || kind >= HZ_UNIT_KIND_COUNT)
		return NULL;
	struct query q = {lat, lon, cos(lat * DEG2RAD)};
	struct best b = {NULL, 0};
	if (kind) {
		nearest_of(ix, kind, &q, &b);
	} else {
		for (int k = HZ_UNIT_MICRO_STATION; k < HZ_UNIT_KIND_COUNT; k++) {
			struct best bk = {NULL, 0};
			nearest_of(ix, k, &q, &bk);
			if (bk.u && (!b.u || bk.a < b.a || (bk.a == b.a && bk.u < b.u)))
				b = bk;
		}
	}
	if (b.u)
		*dist_m = a_to_m(b.a);
	return b.u;
}

static int cmp_pick(const void *a, const void *b)
{
	const struct hz_dispatch_pick *x = a, *y = b;
	if (x->minutes != y->minutes)
		return x->minutes < y->minutes ? -1 : 1;
	return x->unit->kind - y->unit->kind;
}

void hz_dispatch_suggest(const struct hz_rescue_index *ix, const struct hz_dispatch_params *p,
			 double lat, double lon, int area, struct hz_dispatch *out)
{
	memset(out, 0, sizeof(*out));
	if (area <= HZ_AREA_UNSET || area >= HZ_AREA_COUNT)
		area = HZ_AREA_TOWN;
	out->area = area;
	out->located = isfinite(lat) && isfinite(lon);
	if (!out->located || !ix)
		return;
	double speed = p->speed_kmh[area] > 0 ? p->speed_kmh[area] : 30;
	double m_per_min = speed * 1000.0 / 60.0;
	for (int k = HZ_UNIT_MICRO_STATION; k < HZ_UNIT_KIND_COUNT; k++) {
		double d;
		const struct hz_rescue_unit *u = hz_rescue_nearest(ix, lat, lon, k, &d);
		if (!u)
			continue;
		struct hz_dispatch_pick *pk = &out->pick[out->n++];
		pk->unit = u;
		pk->distance_m = d;
		pk->minutes = d * p->road_factor / m_per_min;
		pk->circle_min = p->circle_min[area][k];
		pk->inside = pk->circle_min > 0 && pk->minutes <= pk->circle_min;
		if (pk->inside)
			out->inside_circle = true;
	}
	if (out->n > 1)
		qsort(out->pick, out->n, sizeof(out->pick[0]), cmp_pick);
}

void hz_dispatch_for_site(const struct hz_registry *reg, const struct hz_dispatch_params *p,
			  const struct hz_site *site, struct hz_dispatch *out)
{
	if (!site) {
		memset(out, 0, sizeof(*out));
		return;
	}
	hz_dispatch_suggest(hz_registry_rescue_index(reg), p, site->lat, site->lon,
			    hz_registry_site_area(site), out);
}

int hz_rescue_coverage(const struct hz_registry *reg, const struct hz_dispatch_params *p,
		       hz_coverage_fn fn, void *arg, struct hz_coverage_stats *st)
{
	memset(st, 0, sizeof(*st));
	size_t n;
	const struct hz_site *sites = hz_registry_sites(reg, &n);
	hz_registry_rescue_units(reg, &st->units);
	st->sites = n;
	for (size_t i = 0; i < n; i++) {
		struct hz_dispatch d;
		hz_dispatch_for_site(reg, p, &sites[i], &d);
		if (!d.located) {
			st->unlocated++;
			continue;
		}
		st->located++;
		if (d.inside_circle) {
			st->inside++;
			continue;
		}
		st->outside++;
		if (fn) {
			int rc = fn(arg, &sites[i], &d);
			if (rc)
				return rc;
		}
	}
	return HZ_OK;
}

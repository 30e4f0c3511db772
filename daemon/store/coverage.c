/*
 * coverage.c - sites outside every rescue circle, from a registry snapshot
 * loaded for the purpose. Copies what it reports, so the snapshot is freed
 * before returning and the caller holds only the (small) list.
 */
#include "store/coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct collect {
	struct hz_coverage *cov;
	size_t max, cap;
};

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static int collect_one(void *arg, const struct hz_site *site, const struct hz_dispatch *d)
{
	struct collect *c = arg;
	struct hz_coverage *cov = c->cov;
	if (!site || !d || cov->n_outside >= c->max)
		return HZ_OK;
	if (cov->n_outside == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct hz_coverage_site *n = realloc(cov->outside, cap * sizeof(*n));
		if (!n)
			return HZ_ENOMEM;
		cov->outside = n;
		c->cap = cap;
	}
	struct hz_coverage_site *o = &cov->outside[cov->n_outside++];
	memset(o, 0, sizeof(*o));
	COPY(o->site_id, site->site_id);
	COPY(o->name, site->name);
	COPY(o->kind, site->kind);
	COPY(o->town_code, site->town ? site->town->code : "");
	COPY(o->town_name, site->town ? site->town->name : "");
	COPY(o->county_code, site->county ? site->county->code : "");
	COPY(o->area, hz_area_name(d->area));
	o->lat = site->lat;
	o->lon = site->lon;
	if (d->n && d->pick[0].unit) {
		const struct hz_dispatch_pick *pk = &d->pick[0];
		COPY(o->nearest.unit_id, pk->unit->unit_id);
		COPY(o->nearest.name, pk->unit->name);
		COPY(o->nearest.kind, hz_unit_kind_name(pk->unit->kind));
		COPY(o->nearest.org_code, pk->unit->org ? pk->unit->org->code : "");
		COPY(o->nearest.phone, pk->unit->phone);
		o->nearest.lat = pk->unit->lat;
		o->nearest.lon = pk->unit->lon;
		o->nearest.distance_m = (int64_t)(pk->distance_m + 0.5);
		o->nearest.minutes = pk->minutes;
		o->nearest.circle_minutes = pk->circle_min;
		o->nearest.inside = false;
	}
	return HZ_OK;
}

int hz_store_rescue_coverage(PGconn *pg, const struct hz_dispatch_params *p, size_t max,
			     struct hz_coverage *cov, char *err, size_t errlen)
{
	memset(cov, 0, sizeof(*cov));
	struct hz_registry *reg;
	int rc = hz_registry_load(pg, &reg, err, errlen);
	if (rc)
		return rc;
	cov->registry_version = hz_registry_version(reg);
	struct collect c = {cov, max, 0};
	rc = hz_rescue_coverage(reg, p, collect_one, &c, &cov->st);
	hz_registry_destroy(reg);
	if (rc) {
		hz_errf(err, errlen, "out of memory for the coverage list");
		hz_coverage_free(cov);
	}
	return rc;
}

void hz_coverage_free(struct hz_coverage *cov)
{
	if (!cov)
		return;
	free(cov->outside);
	cov->outside = NULL;
	cov->n_outside = 0;
}

/*
 * registry.h - an immutable in-memory snapshot of the registry: org units
 * (city > county > town > village > grid), sites, devices, people and the
 * duty roster, with O(1) look-ups by id.
 *
 * A snapshot is one allocation block (structs, fixed-size strings and hash
 * tables together), built once and never changed, so any number of threads
 * may read it without locks. To refresh, load a new snapshot when
 * hz_registry_poll_version() reports a new version, publish the new pointer,
 * and destroy the old one once no reader holds it. Look-ups do not allocate.
 * Pointers into a snapshot are valid until it is destroyed.
 *
 * Rescue units (brigades, micro fire stations) are kept in a second
 * allocation with a grid index over their coordinates (rescue.h).
 *
 * Two ways in: hz_registry_load() from PostgreSQL (streamed through a cursor
 * in one REPEATABLE READ snapshot, so it matches the version it reports),
 * and the builder below, which takes plain strings and is what the unit
 * tests and hz_registry_load() both use.
 */
#ifndef HZ_REGISTRY_H
#define HZ_REGISTRY_H

#include "core/event.h"

#include <libpq-fe.h>

enum hz_org_level {
	HZ_ORG_NONE = 0,
	HZ_ORG_CITY,
	HZ_ORG_COUNTY,
	HZ_ORG_TOWN,
	HZ_ORG_VILLAGE,
	HZ_ORG_GRID
};
enum hz_risk { HZ_RISK_NONE = 0, HZ_RISK_LOW, HZ_RISK_GENERAL, HZ_RISK_SIGNIFICANT, HZ_RISK_MAJOR };
/* Which rescue circle applies: towns (城镇) 1-3-5 minutes, countryside (乡村)
 * 15 minutes. HZ_AREA_UNSET on an org unit means "as its parent". */
enum hz_area { HZ_AREA_UNSET = 0, HZ_AREA_TOWN, HZ_AREA_COUNTRYSIDE, HZ_AREA_COUNT };
enum hz_unit_kind {
	HZ_UNIT_NONE = 0,
	HZ_UNIT_MICRO_STATION, /* micro_station: 微型消防站 */
	HZ_UNIT_BRIGADE,       /* full_time_brigade: 专职消防队 */
	HZ_UNIT_FIRE_STATION,  /* fire_rescue_station: 消防救援站 (state fire service) */
	HZ_UNIT_KIND_COUNT
};

#define HZ_REG_CODE_MAX 32 /* org unit codes */
#define HZ_REG_ID_MAX 64   /* site, device and person ids */

struct hz_org_unit {
	char code[HZ_REG_CODE_MAX];
	char name[64];                    /* UTF-8, truncated on a character boundary */
	int level;                        /* enum hz_org_level */
	const struct hz_org_unit *parent; /* NULL for the top */
	int area;                         /* enum hz_area as imported; UNSET: inherited */
};

struct hz_site {
	char site_id[HZ_REG_ID_MAX];
	char name[96];
	char kind[32];                 /* factory, shop, ebike_shed, ... */
	int risk;                      /* enum hz_risk */
	const struct hz_org_unit *org; /* its grid or village */
	const struct hz_org_unit *town, *county;
	const struct hz_org_unit *city; /* the county's city ancestor; NULL when none */
	double lat, lon;                /* NAN when unknown */
	int area;                       /* enum hz_area, resolved (hz_registry_site_area) */
};

/* A rescue unit: a full-time brigade, micro fire station or fire rescue
 * station, run by an org unit, at a place. */
struct hz_rescue_unit {
	char unit_id[HZ_REG_ID_MAX];
	char name[96];
	char phone[24];
	int kind;                      /* enum hz_unit_kind */
	const struct hz_org_unit *org; /* who runs it */
	double lat, lon;
};

struct hz_device {
	char device_id[HZ_REG_ID_MAX];
	char kind[32];               /* smoke_detector, gas_detector, ... */
	enum hz_metric metric;       /* HZ_METRIC_NONE when the device measures nothing */
	double range_min, range_max; /* physical range; valid when has_range */
	bool has_range;
	const struct hz_site *site;
};

struct hz_person {
	char person_id[HZ_REG_ID_MAX];
	char name[32];
	char phone[24];
	int tier; /* enum hz_tier they normally serve */
	const struct hz_org_unit *org;
};

/* One duty roster entry. Times are µs since the epoch; 0 = unbounded. */
struct hz_duty {
	const struct hz_person *person;
	char role[16]; /* "primary" sorts first, then by role, person */
	int64_t starts_us, ends_us;
};

struct hz_registry;
struct hz_rescue_index;

const char *hz_org_level_name(int level); /* "city", ..., "grid"; "none" */
int hz_org_level_parse(const char *s);    /* 0 when unknown */
const char *hz_risk_name(int risk);       /* "low", "general", "significant", "major" */
int hz_risk_parse(const char *s);         /* 0 when unknown */
const char *hz_area_name(int area);       /* "town", "countryside"; "unset" */
int hz_area_parse(const char *s);         /* 0 when unknown */
const char *hz_unit_kind_name(int kind);  /* "micro_station", "full_time_brigade", ... */
int hz_unit_kind_parse(const char *s);    /* 0 when unknown */

/* ---- loading ---- */

/* Load a snapshot from PostgreSQL: a few bulk SELECTs through cursors in a
 * read-only REPEATABLE READ transaction. `pg` must be idle. On success
 * *out is owned by the caller (hz_registry_destroy). Returns 0,
 * HZ_ETRANSIENT, HZ_ENOMEM or HZ_ERR (inconsistent data, e.g. a site whose
 * town is not a town) with err filled. */
int hz_registry_load(PGconn *pg, struct hz_registry **out, char *err, size_t errlen);

/* Read hazard.registry_version (one primary-key read). */
int hz_registry_poll_version(PGconn *pg, int64_t *version, char *err, size_t errlen);

void hz_registry_destroy(struct hz_registry *reg); /* accepts NULL */

/* ---- look-ups: O(1), no allocation; NULL when unknown or reg is NULL ---- */

const struct hz_device *hz_registry_device(const struct hz_registry *reg, const char *device_id);
const struct hz_site *hz_registry_site(const struct hz_registry *reg, const char *site_id);
const struct hz_org_unit *hz_registry_org(const struct hz_registry *reg, const char *code);
const struct hz_person *hz_registry_person(const struct hz_registry *reg, const char *person_id);

/* Everyone rostered for (org_code, tier), primary first; *n is the count
 * (0 and NULL when none). Ignores shift times; see hz_registry_duty_entries. */
const struct hz_person *const *hz_registry_duty(const struct hz_registry *reg, const char *org_code,
						int tier, size_t *n);
/* The same entries with role and shift times, in the same order. */
const struct hz_duty *hz_registry_duty_entries(const struct hz_registry *reg,
					       const struct hz_org_unit *org, int tier, size_t *n);
/* Who answers for `site` at `tier` at time `now_us` (0: ignore shifts):
 * grid tier asks the site's org unit, then its ancestors up to the town;
 * town, county and city ask site->town, ->county, ->city. Fills up to `max`
 * people into out[] (primary first) and returns how many; also sets *org
 * (may be NULL) to the unit whose roster answered. */
size_t hz_registry_duty_for_site(const struct hz_registry *reg, const struct hz_site *site,
				 int tier, int64_t now_us, const struct hz_person **out, size_t max,
				 const struct hz_org_unit **org);

/* The rescue circle area of a site: the nearest explicit `area` of its org
 * chain (site's unit, then up); else its village-level unit's name: one
 * ending in 村 (a village committee) is countryside, also any site under a
 * town named ...乡; everything else (社区, 街道, 镇 seats) is town. */
int hz_registry_site_area(const struct hz_site *site);

/* The rescue units (in load order, by unit id) and their index. */
const struct hz_rescue_unit *hz_registry_rescue_units(const struct hz_registry *reg, size_t *n);
const struct hz_rescue_index *hz_registry_rescue_index(const struct hz_registry *reg);

/* ---- whole-snapshot access ---- */

int64_t hz_registry_version(const struct hz_registry *reg);

struct hz_registry_stats {
	size_t orgs, sites, devices, people, duty, rescue_units;
	size_t bytes; /* the snapshot's allocation, rescue units included */
	int64_t version;
};
void hz_registry_stats(const struct hz_registry *reg, struct hz_registry_stats *st);

/* The arrays in load order (orgs, sites and devices ordered by id). */
const struct hz_org_unit *hz_registry_orgs(const struct hz_registry *reg, size_t *n);
const struct hz_site *hz_registry_sites(const struct hz_registry *reg, size_t *n);
const struct hz_device *hz_registry_devices(const struct hz_registry *reg, size_t *n);

/* ---- building from plain values (no PostgreSQL) ----
 *
 * Create a builder for at most the given counts, add every org unit, then
 * sites, devices, people and duty entries in that order (each refers only
 * to kinds added before it; org parents may come in any order), then
 * finish. Strings are copied; longer ones are truncated on a UTF-8
 * boundary, except ids and codes, which are refused when too long. NULL
 * and "" mean absent where a value is optional. An add_* failure leaves
 * the builder usable; destroy it to give up. */
struct hz_registry_builder;

struct hz_registry_builder *hz_registry_builder_new(size_t orgs, size_t sites, size_t devices,
						    size_t people, size_t duty);
void hz_registry_builder_destroy(struct hz_registry_builder *b); /* accepts NULL */

int hz_registry_add_org(struct hz_registry_builder *b, const char *code, const char *name,
			int level, const char *parent_code, char *err, size_t errlen);
/* town_code and county_code may be NULL/"" to derive them from org_code's
 * chain; when given they must be the town and county of that chain. */
/* Set an org unit's explicit area (enum hz_area; UNSET to inherit); call
 * after hz_registry_add_org and before the first site. */
int hz_registry_set_org_area(struct hz_registry_builder *b, const char *code, int area,
			     char *err, size_t errlen);
int hz_registry_add_site(struct hz_registry_builder *b, const char *site_id, const char *name,
			 const char *kind, int risk, const char *org_code, const char *town_code,
			 const char *county_code, double lat, double lon, char *err, size_t errlen);
int hz_registry_add_device(struct hz_registry_builder *b, const char *device_id,
			   const char *site_id, const char *kind, enum hz_metric metric,
			   bool has_range, double range_min, double range_max, char *err,
			   size_t errlen);
int hz_registry_add_person(struct hz_registry_builder *b, const char *person_id, const char *name,
			   const char *phone, const char *org_code, int tier, char *err,
			   size_t errlen);
int hz_registry_add_duty(struct hz_registry_builder *b, const char *org_code, int tier,
			 const char *person_id, const char *role, int64_t starts_us,
			 int64_t ends_us, char *err, size_t errlen);

/* A rescue unit, any time after the org units (no count announced: the
 * array grows). org_code must be a known unit; lat/lon are required. */
int hz_registry_add_rescue_unit(struct hz_registry_builder *b, const char *unit_id,
				const char *name, int kind, const char *org_code, double lat,
				double lon, const char *phone, char *err, size_t errlen);

/* Resolve, index and hand over the snapshot: *out is owned by the caller.
 * The builder is consumed (freed) whatever the result. Fails on a parent
 * that does not exist or is not of a higher level. */
int hz_registry_builder_finish(struct hz_registry_builder *b, int64_t version,
			       struct hz_registry **out, char *err, size_t errlen);

/* The default metric of a device kind ("smoke_detector" -> HZ_METRIC_SMOKE),
 * HZ_METRIC_NONE when the kind is not a known sensor. */
enum hz_metric hz_registry_kind_metric(const char *device_kind);

#endif

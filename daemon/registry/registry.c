/*
 * registry.c - the registry snapshot: one allocation block holding the
 * arrays of org units, sites, devices, people and duty entries, and an
 * open-addressing hash table per id kind.
 *
 * Tables use linear probing over 8-byte slots (index + 1, and 32 bits of
 * the hash as a tag so that a miss rarely touches a string), sized to the
 * next power of two at or above twice the count: load factor <= 0.5, probes
 * short, 8-16 bytes per entry. Nothing is ever removed, so there are no
 * tombstones. Loading from PostgreSQL lives in registry_load.c. Rescue
 * units live in their own array (they arrive without an announced count)
 * with the grid index of rescue.c, both freed with the snapshot.
 */
#include "registry/registry.h"
#include "registry/rescue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint32_t idx; /* index + 1; 0 = empty */
	uint32_t tag; /* high 32 bits of the hash */
};

struct table {
	struct slot *slots;
	uint32_t mask;
};

struct hz_registry {
	size_t bytes;
	int64_t version;
	struct hz_org_unit *orgs;
	struct hz_site *sites;
	struct hz_device *devices;
	struct hz_person *people;
	struct hz_duty *duty;                 /* sorted by (org, tier, role, person) */
	const struct hz_person **duty_people; /* duty[i].person, for hz_registry_duty */
	uint32_t *duty_off;                   /* [org * 4 + tier - 1], norgs * 4 + 1 entries */
	size_t norgs, nsites, ndevices, npeople, nduty;
	struct table t_org, t_site, t_dev, t_person;
	struct hz_rescue_unit *units; /* malloc'd, by unit id once finished */
	size_t nunits, cap_units;
	struct hz_rescue_index *rescue;
};

/* Staging for a duty entry until the org units' order is final. */
struct duty_tmp {
	uint32_t org;
	int tier;
	struct hz_duty d;
};

struct hz_registry_builder {
	struct hz_registry *reg;
	size_t cap_orgs, cap_sites, cap_devices, cap_people, cap_duty;
	char (*parent_codes)[HZ_REG_CODE_MAX];
	struct duty_tmp *duty_tmp;
	bool sealed; /* org parents resolved; no more org units */
	int seal_rc;
	char seal_err[256];
};

static const char *const level_names[] = {"none", "city", "county", "town", "village", "grid"};
static const char *const risk_names[] = {"none", "low", "general", "significant", "major"};
static const char *const area_names[] = {"unset", "town", "countryside"};
static const char *const unit_kind_names[] = {"none", "micro_station", "full_time_brigade",
					      "fire_rescue_station"};

const char *hz_org_level_name(int level)
{
	return level >= 0 && (size_t)level < HZ_ARRAY_LEN(level_names) ? level_names[level]
								       : "invalid";
}

const char *hz_risk_name(int risk)
{
	return risk >= 0 && (size_t)risk < HZ_ARRAY_LEN(risk_names) ? risk_names[risk] : "invalid";
}

static int parse_name(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 1; s && i < n; i++)
		if (strcmp(s, tab[i]) == 0)
			return (int)i;
	return 0;
}

int hz_org_level_parse(const char *s)
{
	return parse_name(level_names, HZ_ARRAY_LEN(level_names), s);
}

int hz_risk_parse(const char *s) { return parse_name(risk_names, HZ_ARRAY_LEN(risk_names), s); }

const char *hz_area_name(int area)
{
	return area >= 0 && (size_t)area < HZ_ARRAY_LEN(area_names) ? area_names[area] : "invalid";
}

int hz_area_parse(const char *s) { return parse_name(area_names, HZ_ARRAY_LEN(area_names), s); }

const char *hz_unit_kind_name(int kind)
{
	return kind >= 0 && (size_t)kind < HZ_ARRAY_LEN(unit_kind_names) ? unit_kind_names[kind]
									  : "invalid";
}

int hz_unit_kind_parse(const char *s)
{
	return parse_name(unit_kind_names, HZ_ARRAY_LEN(unit_kind_names), s);
}

enum hz_metric hz_registry_kind_metric(const char *kind)
{
	static const struct {
		const char *kind;
		enum hz_metric metric;
	} map[] = {
		{"smoke_detector", HZ_METRIC_SMOKE},
		{"heat_detector", HZ_METRIC_TEMPERATURE},
		{"gas_detector", HZ_METRIC_GAS_LEL},
		{"co_detector", HZ_METRIC_CO},
		{"charger_monitor", HZ_METRIC_CHARGER_CURRENT},
		{"electrical_monitor", HZ_METRIC_RESIDUAL_CURRENT},
		{"water_level_gauge", HZ_METRIC_WATER_LEVEL},
		{"pressure_gauge", HZ_METRIC_PRESSURE},
	};
	for (size_t i = 0; kind && i < HZ_ARRAY_LEN(map); i++)
		if (strcmp(kind, map[i].kind) == 0)
			return map[i].metric;
	return HZ_METRIC_NONE;
}

/* ---- hashing ---- */

/* FNV-1a with a murmur3 finaliser: ids share long prefixes
 * ("DEV-330106001-0001-SMK-01"), and the finaliser spreads the low bits the
 * table index uses. */
static uint64_t hash_str(const char *s, size_t *len)
{
	*len = strlen(s);
	return hz_hash(s, *len, 0);
}

static size_t table_slots(size_t n)
{
	size_t cap = 8;
	while (cap < n * 2)
		cap *= 2;
	return cap;
}

/* The key of entry i of a table, by kind. */
typedef const char *(*key_fn)(const struct hz_registry *reg, uint32_t i);

static const char *org_key(const struct hz_registry *reg, uint32_t i) { return reg->orgs[i].code; }
static const char *site_key(const struct hz_registry *reg, uint32_t i)
{
	return reg->sites[i].site_id;
}
static const char *dev_key(const struct hz_registry *reg, uint32_t i)
{
	return reg->devices[i].device_id;
}
static const char *person_key(const struct hz_registry *reg, uint32_t i)
{
	return reg->people[i].person_id;
}

/* Index of `key`, or -1. O(1) expected; no allocation. */
static long table_find(const struct hz_registry *reg, const struct table *t, key_fn key,
		       const char *s)
{
	if (!t->slots || !s)
		return -1;
	size_t len;
	uint64_t h = hash_str(s, &len);
	uint32_t tag = (uint32_t)(h >> 32);
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		const struct slot *sl = &t->slots[i];
		if (sl->idx == 0)
			return -1;
		if (sl->tag == tag && strcmp(key(reg, sl->idx - 1), s) == 0)
			return (long)sl->idx - 1;
	}
}

/* Insert entry `idx` (whose key is already stored); HZ_EDUP when present. */
static int table_insert(struct hz_registry *reg, struct table *t, key_fn key, uint32_t idx)
{
	size_t len;
	const char *s = key(reg, idx);
	uint64_t h = hash_str(s, &len);
	uint32_t tag = (uint32_t)(h >> 32);
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		struct slot *sl = &t->slots[i];
		if (sl->idx == 0) {
			sl->idx = idx + 1;
			sl->tag = tag;
			return HZ_OK;
		}
		if (sl->tag == tag && strcmp(key(reg, sl->idx - 1), s) == 0)
			return HZ_EDUP;
	}
}

/* ---- builder ---- */

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

struct hz_registry_builder *hz_registry_builder_new(size_t orgs, size_t sites, size_t devices,
						    size_t people, size_t duty)
{
	if (orgs > UINT32_MAX / 8 || sites > UINT32_MAX / 4 || devices > UINT32_MAX / 4 ||
	    people > UINT32_MAX / 4 || duty > UINT32_MAX / 4)
		return NULL;
	struct hz_registry_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	size_t so = table_slots(orgs), ss = table_slots(sites), sd = table_slots(devices),
	       sp = table_slots(people);
	size_t off_orgs = align16(sizeof(struct hz_registry));
	size_t off_sites = off_orgs + align16(orgs * sizeof(struct hz_org_unit));
	size_t off_devs = off_sites + align16(sites * sizeof(struct hz_site));
	size_t off_people = off_devs + align16(devices * sizeof(struct hz_device));
	size_t off_duty = off_people + align16(people * sizeof(struct hz_person));
	size_t off_dp = off_duty + align16(duty * sizeof(struct hz_duty));
	size_t off_doff = off_dp + align16(duty * sizeof(struct hz_person *));
	size_t off_to = off_doff + align16((orgs * 4 + 1) * sizeof(uint32_t));
	size_t off_ts = off_to + so * sizeof(struct slot);
	size_t off_td = off_ts + ss * sizeof(struct slot);
	size_t off_tp = off_td + sd * sizeof(struct slot);
	size_t total = off_tp + sp * sizeof(struct slot);

	/* calloc: empty slots and zeroed strings; pages never touched stay
	 * unmapped until written. */
	char *block = calloc(1, total);
	b->parent_codes = calloc(orgs ? orgs : 1, sizeof(*b->parent_codes));
	b->duty_tmp = calloc(duty ? duty : 1, sizeof(*b->duty_tmp));
	if (!block || !b->parent_codes || !b->duty_tmp) {
		free(block);
		free(b->parent_codes);
		free(b->duty_tmp);
		free(b);
		return NULL;
	}
	struct hz_registry *reg = (struct hz_registry *)block;
	reg->bytes = total;
	reg->orgs = (struct hz_org_unit *)(block + off_orgs);
	reg->sites = (struct hz_site *)(block + off_sites);
	reg->devices = (struct hz_device *)(block + off_devs);
	reg->people = (struct hz_person *)(block + off_people);
	reg->duty = (struct hz_duty *)(block + off_duty);
	reg->duty_people = (const struct hz_person **)(block + off_dp);
	reg->duty_off = (uint32_t *)(block + off_doff);
	reg->t_org = (struct table){(struct slot *)(block + off_to), (uint32_t)(so - 1)};
	reg->t_site = (struct table){(struct slot *)(block + off_ts), (uint32_t)(ss - 1)};
	reg->t_dev = (struct table){(struct slot *)(block + off_td), (uint32_t)(sd - 1)};
	reg->t_person = (struct table){(struct slot *)(block + off_tp), (uint32_t)(sp - 1)};
	b->reg = reg;
	b->cap_orgs = orgs;
	b->cap_sites = sites;
	b->cap_devices = devices;
	b->cap_people = people;
	b->cap_duty = duty;
	return b;
}

void hz_registry_builder_destroy(struct hz_registry_builder *b)
{
	if (!b)
		return;
	if (b->reg)
		free(b->reg->units);
	free(b->reg);
	free(b->parent_codes);
	free(b->duty_tmp);
	free(b);
}

/* Copy an id or code; refuse empty and too long ones. */
static int copy_id(char *dst, size_t size, const char *src, const char *what, char *err,
		   size_t errlen)
{
	size_t n = src ? strlen(src) : 0;
	if (n == 0) {
		hz_errf(err, errlen, "empty %s", what);
		return HZ_EINVAL;
	}
	if (n >= size) {
		hz_errf(err, errlen, "%s \"%.*s...\" is longer than %zu bytes", what, 40, src,
			size - 1);
		return HZ_EINVAL;
	}
	memcpy(dst, src, n + 1);
	return HZ_OK;
}

/* Copy display text, truncating on a UTF-8 character boundary. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int hz_registry_add_org(struct hz_registry_builder *b, const char *code, const char *name,
			int level, const char *parent_code, char *err, size_t errlen)
{
	struct hz_registry *reg = b->reg;
	if (b->sealed) {
		hz_errf(err, errlen, "org unit \"%s\" added after sites, devices or people",
			code ? code : "");
		return HZ_EINVAL;
	}
	if (reg->norgs >= b->cap_orgs) {
		hz_errf(err, errlen, "more org units than the %zu announced", b->cap_orgs);
		return HZ_EFULL;
	}
	if (level < HZ_ORG_CITY || level > HZ_ORG_GRID) {
		hz_errf(err, errlen, "org unit \"%s\": invalid level %d", code ? code : "", level);
		return HZ_EINVAL;
	}
	struct hz_org_unit *o = &reg->orgs[reg->norgs];
	int rc = copy_id(o->code, sizeof(o->code), code, "org unit code", err, errlen);
	if (rc)
		return rc;
	if (parent_code && *parent_code) {
		rc = copy_id(b->parent_codes[reg->norgs], HZ_REG_CODE_MAX, parent_code,
			     "parent code", err, errlen);
		if (rc)
			goto fail;
	}
	if (table_insert(reg, &reg->t_org, org_key, (uint32_t)reg->norgs)) {
		hz_errf(err, errlen, "duplicate org unit \"%s\"", code);
		rc = HZ_EDUP;
		goto fail;
	}
	copy_text(o->name, sizeof(o->name), name);
	o->level = level;
	reg->norgs++;
	return HZ_OK;
fail:
	memset(o, 0, sizeof(*o));
	b->parent_codes[reg->norgs][0] = '\0';
	return rc;
}

/* Resolve org parents once the org units are complete. */
static int seal(struct hz_registry_builder *b, char *err, size_t errlen)
{
	if (b->sealed) {
		if (b->seal_rc)
			hz_errf(err, errlen, "%s", b->seal_err);
		return b->seal_rc;
	}
	struct hz_registry *reg = b->reg;
	b->sealed = true;
	for (size_t i = 0; i < reg->norgs; i++) {
		const char *pc = b->parent_codes[i];
		if (!*pc)
			continue;
		long p = table_find(reg, &reg->t_org, org_key, pc);
		if (p < 0) {
			snprintf(b->seal_err, sizeof(b->seal_err),
				 "org unit \"%s\": unknown parent \"%s\"", reg->orgs[i].code, pc);
			b->seal_rc = HZ_EINVAL;
			break;
		}
		if (reg->orgs[p].level >= reg->orgs[i].level) {
			snprintf(b->seal_err, sizeof(b->seal_err),
				 "org unit \"%s\" (%s): parent \"%s\" is a %s, not a higher level",
				 reg->orgs[i].code, hz_org_level_name(reg->orgs[i].level), pc,
				 hz_org_level_name(reg->orgs[p].level));
			b->seal_rc = HZ_EINVAL;
			break;
		}
		reg->orgs[i].parent = &reg->orgs[p];
	}
	if (b->seal_rc)
		hz_errf(err, errlen, "%s", b->seal_err);
	return b->seal_rc;
}

/* The ancestor-or-self of `o` at `level`, or NULL. Levels strictly rise
 * along the chain, so this ends within five steps. */
static const struct hz_org_unit *ancestor(const struct hz_org_unit *o, int level)
{
	while (o && o->level > level)
		o = o->parent;
	return o && o->level == level ? o : NULL;
}

static const struct hz_org_unit *find_org(const struct hz_registry *reg, const char *code)
{
	long i = table_find(reg, &reg->t_org, org_key, code);
	return i < 0 ? NULL : &reg->orgs[i];
}

int hz_registry_set_org_area(struct hz_registry_builder *b, const char *code, int area,
			     char *err, size_t errlen)
{
	struct hz_registry *reg = b->reg;
	if (b->sealed) {
		hz_errf(err, errlen, "area of org unit \"%s\" set after sites, devices or people",
			code ? code : "");
		return HZ_EINVAL;
	}
	if (area < HZ_AREA_UNSET || area >= HZ_AREA_COUNT) {
		hz_errf(err, errlen, "org unit \"%s\": invalid area %d", code ? code : "", area);
		return HZ_EINVAL;
	}
	long i = table_find(reg, &reg->t_org, org_key, code);
	if (i < 0) {
		hz_errf(err, errlen, "area for unknown org unit \"%s\"", code ? code : "");
		return HZ_EINVAL;
	}
	reg->orgs[i].area = area;
	return HZ_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int hz_registry_site_area(const struct hz_site *site)
{
	if (!site)
		return HZ_AREA_TOWN;
	if (site->area != HZ_AREA_UNSET)
		return site->area;
	for (const struct hz_org_unit *o = site->org; o; o = o->parent)
		if (o->area != HZ_AREA_UNSET)
			return o->area;
	/* No explicit area: a village committee (村) is countryside, a
	 * residents' community (社区) town; a township (乡) is countryside. */
	const struct hz_org_unit *v = ancestor(site->org, HZ_ORG_VILLAGE);
	if (v && ends_with(v->name, "村"))
		return HZ_AREA_COUNTRYSIDE;
	if (site->town && ends_with(site->town->name, "乡"))
		return HZ_AREA_COUNTRYSIDE;
	return HZ_AREA_TOWN;
}

int hz_registry_add_rescue_unit(struct hz_registry_builder *b, const char *unit_id,
				const char *name, int kind, const char *org_code, double lat,
				double lon, const char *phone, char *err, size_t errlen)
{
	struct hz_registry *reg = b->reg;
	int rc = seal(b, err, errlen);
	if (rc)
		return rc;
	if (kind <= HZ_UNIT_NONE || kind >= HZ_UNIT_KIND_COUNT) {
		hz_errf(err, errlen, "rescue unit \"%s\": invalid kind %d", unit_id ? unit_id : "",
			kind);
		return HZ_EINVAL;
	}
	if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
		hz_errf(err, errlen, "rescue unit \"%s\": no valid coordinates",
			unit_id ? unit_id : "");
		return HZ_EINVAL;
	}
	const struct hz_org_unit *org = find_org(reg, org_code);
	if (!org) {
		hz_errf(err, errlen, "rescue unit \"%s\": unknown org unit \"%s\"",
			unit_id ? unit_id : "", org_code ? org_code : "");
		return HZ_EINVAL;
	}
	if (reg->nunits == reg->cap_units) {
		size_t cap = reg->cap_units ? reg->cap_units * 2 : 64;
		struct hz_rescue_unit *u = realloc(reg->units, cap * sizeof(*u));
		if (!u) {
			hz_errf(err, errlen, "out of memory for %zu rescue units", cap);
			return HZ_ENOMEM;
		}
		reg->units = u;
		reg->cap_units = cap;
	}
	struct hz_rescue_unit *u = &reg->units[reg->nunits];
	memset(u, 0, sizeof(*u));
	rc = copy_id(u->unit_id, sizeof(u->unit_id), unit_id, "rescue unit id", err, errlen);
	if (rc)
		return rc;
	copy_text(u->name, sizeof(u->name), name);
	copy_text(u->phone, sizeof(u->phone), phone);
	u->kind = kind;
	u->org = org;
	u->lat = lat;
	u->lon = lon;
	reg->nunits++;
	return HZ_OK;
}

static int cmp_unit(const void *a, const void *b)
{
	return strcmp(((const struct hz_rescue_unit *)a)->unit_id,
		      ((const struct hz_rescue_unit *)b)->unit_id);
}

int hz_registry_add_site(struct hz_registry_builder *b, const char *site_id, const char *name,
			 const char *kind, int risk, const char *org_code, const char *town_code,
			 const char *county_code, double lat, double lon, char *err, size_t errlen)
{
	struct hz_registry *reg = b->reg;
	int rc = seal(b, err, errlen);
	if (rc)
		return rc;
	if (reg->nsites >= b->cap_sites) {
		hz_errf(err, errlen, "more sites than the %zu announced", b->cap_sites);
		return HZ_EFULL;
	}
	if (reg->ndevices || reg->npeople || reg->nduty) {
		hz_errf(err, errlen, "site \"%s\" added after devices or people",
			site_id ? site_id : "");
		return HZ_EINVAL;
	}
	struct hz_site *s = &reg->sites[reg->nsites];
	rc = copy_id(s->site_id, sizeof(s->site_id), site_id, "site id", err, errlen);
	if (rc)
		return rc;
	if (risk < HZ_RISK_LOW || risk > HZ_RISK_MAJOR) {
		hz_errf(err, errlen, "site \"%s\": invalid risk grade %d", site_id, risk);
		rc = HZ_EINVAL;
		goto fail;
	}
	s->org = find_org(reg, org_code);
	if (!s->org) {
		hz_errf(err, errlen, "site \"%s\": unknown org unit \"%s\"", site_id,
			org_code ? org_code : "");
		rc = HZ_EINVAL;
		goto fail;
	}
	const struct hz_org_unit *town = ancestor(s->org, HZ_ORG_TOWN);
	const struct hz_org_unit *county = ancestor(s->org, HZ_ORG_COUNTY);
	if (town_code && *town_code && (!town || strcmp(town->code, town_code) != 0)) {
		hz_errf(err, errlen, "site \"%s\": town \"%s\" is not the town of org unit \"%s\"",
			site_id, town_code, s->org->code);
		rc = HZ_EINVAL;
		goto fail;
	}
	if (county_code && *county_code && (!county || strcmp(county->code, county_code) != 0)) {
		hz_errf(err, errlen,
			"site \"%s\": county \"%s\" is not the county of org unit \"%s\"", site_id,
			county_code, s->org->code);
		rc = HZ_EINVAL;
		goto fail;
	}
	if (!town || !county) {
		hz_errf(err, errlen, "site \"%s\": org unit \"%s\" has no %s above it", site_id,
			s->org->code, town ? "county" : "town");
		rc = HZ_EINVAL;
		goto fail;
	}
	if (table_insert(reg, &reg->t_site, site_key, (uint32_t)reg->nsites)) {
		hz_errf(err, errlen, "duplicate site \"%s\"", site_id);
		rc = HZ_EDUP;
		goto fail;
	}
	s->town = town;
	s->county = county;
	s->city = ancestor(county, HZ_ORG_CITY);
	copy_text(s->name, sizeof(s->name), name);
	copy_text(s->kind, sizeof(s->kind), kind);
	s->risk = risk;
	s->lat = lat;
	s->lon = lon;
	s->area = HZ_AREA_UNSET;
	s->area = hz_registry_site_area(s);
	reg->nsites++;
	return HZ_OK;
fail:
	memset(s, 0, sizeof(*s));
	return rc;
}

int hz_registry_add_device(struct hz_registry_builder *b, const char *device_id,
			   const char *site_id, const char *kind, enum hz_metric metric,
			   bool has_range, double range_min, double range_max, char *err,
			   size_t errlen)
{
	struct hz_registry *reg = b->reg;
	int rc = seal(b, err, errlen);
	if (rc)
		return rc;
	if (reg->ndevices >= b->cap_devices) {
		hz_errf(err, errlen, "more devices than the %zu announced", b->cap_devices);
		return HZ_EFULL;
	}
	struct hz_device *d = &reg->devices[reg->ndevices];
	rc = copy_id(d->device_id, sizeof(d->device_id), device_id, "device id", err, errlen);
	if (rc)
		return rc;
	long si = table_find(reg, &reg->t_site, site_key, site_id);
	if (si < 0) {
		hz_errf(err, errlen, "device \"%s\": unknown site \"%s\"", device_id,
			site_id ? site_id : "");
		rc = HZ_EINVAL;
		goto fail;
	}
	if ((unsigned)metric >= HZ_METRIC_COUNT) {
		hz_errf(err, errlen, "device \"%s\": invalid metric %d", device_id, (int)metric);
		rc = HZ_EINVAL;
		goto fail;
	}
	if (has_range && !(range_min < range_max)) {
		hz_errf(err, errlen, "device \"%s\": range [%g, %g] is empty", device_id, range_min,
			range_max);
		rc = HZ_EINVAL;
		goto fail;
	}
	if (table_insert(reg, &reg->t_dev, dev_key, (uint32_t)reg->ndevices)) {
		hz_errf(err, errlen, "duplicate device \"%s\"", device_id);
		rc = HZ_EDUP;
		goto fail;
	}
	copy_text(d->kind, sizeof(d->kind), kind);
	d->metric = metric;
	d->has_range = has_range;
	d->range_min = has_range ? range_min : 0;
	d->range_max = has_range ? range_max : 0;
	d->site = &reg->sites[si];
	reg->ndevices++;
	return HZ_OK;
fail:
	memset(d, 0, sizeof(*d));
	return rc;
}

int hz_registry_add_person(struct hz_registry_builder *b, const char *person_id, const char *name,
			   const char *phone, const char *org_code, int tier, char *err,
			   size_t errlen)
{
	struct hz_registry *reg = b->reg;
	int rc = seal(b, err, errlen);
	if (rc)
		return rc;
	if (reg->npeople >= b->cap_people) {
		hz_errf(err, errlen, "more people than the %zu announced", b->cap_people);
		return HZ_EFULL;
	}
	if (reg->nduty) {
		hz_errf(err, errlen, "person \"%s\" added after duty entries",
			person_id ? person_id : "");
		return HZ_EINVAL;
	}
	struct hz_person *p = &reg->people[reg->npeople];
	rc = copy_id(p->person_id, sizeof(p->person_id), person_id, "person id", err, errlen);
	if (rc)
		return rc;
	p->org = find_org(reg, org_code);
	if (!p->org) {
		hz_errf(err, errlen, "person \"%s\": unknown org unit \"%s\"", person_id,
			org_code ? org_code : "");
		rc = HZ_EINVAL;
		goto fail;
	}
	if (tier < HZ_TIER_GRID || tier > HZ_TIER_CITY) {
		hz_errf(err, errlen, "person \"%s\": invalid tier %d", person_id, tier);
		rc = HZ_EINVAL;
		goto fail;
	}
	if (table_insert(reg, &reg->t_person, person_key, (uint32_t)reg->npeople)) {
		hz_errf(err, errlen, "duplicate person \"%s\"", person_id);
		rc = HZ_EDUP;
		goto fail;
	}
	copy_text(p->name, sizeof(p->name), name);
	copy_text(p->phone, sizeof(p->phone), phone);
	p->tier = tier;
	reg->npeople++;
	return HZ_OK;
fail:
	memset(p, 0, sizeof(*p));
	return rc;
}

int hz_registry_add_duty(struct hz_registry_builder *b, const char *org_code, int tier,
			 const char *person_id, const char *role, int64_t starts_us,
			 int64_t ends_us, char *err, size_t errlen)
{
	struct hz_registry *reg = b->reg;
	int rc = seal(b, err, errlen);
	if (rc)
		return rc;
	if (reg->nduty >= b->cap_duty) {
		hz_errf(err, errlen, "more duty entries than the %zu announced", b->cap_duty);
		return HZ_EFULL;
	}
	long oi = table_find(reg, &reg->t_org, org_key, org_code);
	if (oi < 0) {
		hz_errf(err, errlen, "duty: unknown org unit \"%s\"", org_code ? org_code : "");
		return HZ_EINVAL;
	}
	long pi = table_find(reg, &reg->t_person, person_key, person_id);
	if (pi < 0) {
		hz_errf(err, errlen, "duty for \"%s\": unknown person \"%s\"", org_code,
			person_id ? person_id : "");
		return HZ_EINVAL;
	}
	if (tier < HZ_TIER_GRID || tier > HZ_TIER_CITY) {
		hz_errf(err, errlen, "duty for \"%s\": invalid tier %d", org_code, tier);
		return HZ_EINVAL;
	}
	struct duty_tmp *t = &b->duty_tmp[reg->nduty++];
	t->org = (uint32_t)oi;
	t->tier = tier;
	t->d.person = &reg->people[pi];
	copy_text(t->d.role, sizeof(t->d.role), role && *role ? role : "primary");
	t->d.starts_us = starts_us;
	t->d.ends_us = ends_us;
	return HZ_OK;
}

static int cmp_duty(const void *a, const void *b)
{
	const struct duty_tmp *x = a, *y = b;
	if (x->org != y->org)
		return x->org < y->org ? -1 : 1;
	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	bool xp = strcmp(x->d.role, "primary") == 0, yp = strcmp(y->d.role, "primary") == 0;
	if (xp != yp)
		return xp ? -1 : 1;
	int c = strcmp(x->d.role, y->d.role);
	if (c)
		return c;
	return strcmp(x->d.person->person_id, y->d.person->person_id);
}

int hz_registry_builder_finish(struct hz_registry_builder *b, int64_t version,
			       struct hz_registry **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc = seal(b, err, errlen);
	if (rc) {
		hz_registry_builder_destroy(b);
		return rc;
	}
	struct hz_registry *reg = b->reg;
	reg->version = version;
	/* Duty: sort, then a prefix-sum index per (org, tier) so a look-up is
	 * two array reads. O(n log n) once per snapshot. */
	if (reg->nduty > 1)
		qsort(b->duty_tmp, reg->nduty, sizeof(*b->duty_tmp), cmp_duty);
	size_t k = 0;
	for (size_t slot = 0; slot < reg->norgs * 4; slot++) {
		reg->duty_off[slot] = (uint32_t)k;
		while (k < reg->nduty &&
		       (size_t)b->duty_tmp[k].org * 4 + (size_t)(b->duty_tmp[k].tier - 1) == slot) {
			reg->duty[k] = b->duty_tmp[k].d;
			reg->duty_people[k] = b->duty_tmp[k].d.person;
			k++;
		}
	}
	reg->duty_off[reg->norgs * 4] = (uint32_t)k;
	/* Rescue units: by id, duplicates refused, then the grid index. */
	if (reg->nunits > 1)
		qsort(reg->units, reg->nunits, sizeof(*reg->units), cmp_unit);
	for (size_t i = 1; i < reg->nunits; i++) {
		if (strcmp(reg->units[i - 1].unit_id, reg->units[i].unit_id) == 0) {
			hz_errf(err, errlen, "duplicate rescue unit \"%s\"", reg->units[i].unit_id);
			hz_registry_builder_destroy(b);
			return HZ_EDUP;
		}
	}
	reg->rescue = hz_rescue_index_new(reg->units, reg->nunits);
	if (!reg->rescue) {
		hz_errf(err, errlen, "out of memory for the index of %zu rescue units",
			reg->nunits);
		hz_registry_builder_destroy(b);
		return HZ_ENOMEM;
	}
	reg->bytes += reg->cap_units * sizeof(*reg->units) + reg->nunits * 40;
	*out = reg;
	b->reg = NULL;
	hz_registry_builder_destroy(b);
	return HZ_OK;
}

/* ---- access ---- */

void hz_registry_destroy(struct hz_registry *reg)
{
	if (!reg)
		return;
	hz_rescue_index_destroy(reg->rescue);
	free(reg->units);
	free(reg);
}

const struct hz_rescue_unit *hz_registry_rescue_units(const struct hz_registry *reg, size_t *n)
{
	*n = reg ? reg->nunits : 0;
	return reg ? reg->units : NULL;
}

const struct hz_rescue_index *hz_registry_rescue_index(const struct hz_registry *reg)
{
	return reg ? reg->rescue : NULL;
}

const struct hz_device *hz_registry_device(const struct hz_registry *reg, const char *device_id)
{
	if (!reg)
		return NULL;
	long i = table_find(reg, &reg->t_dev, dev_key, device_id);
	return i < 0 ? NULL : &reg->devices[i];
}

const struct hz_site *hz_registry_site(const struct hz_registry *reg, const char *site_id)
{
	if (!reg)
		return NULL;
	long i = table_find(reg, &reg->t_site, site_key, site_id);
	return i < 0 ? NULL : &reg->sites[i];
}

const struct hz_org_unit *hz_registry_org(const struct hz_registry *reg, const char *code)
{
	return reg ? find_org(reg, code) : NULL;
}

const struct hz_person *hz_registry_person(const struct hz_registry *reg, const char *person_id)
{
	if (!reg)
		return NULL;
	long i = table_find(reg, &reg->t_person, person_key, person_id);
	return i < 0 ? NULL : &reg->people[i];
}

const struct hz_duty *hz_registry_duty_entries(const struct hz_registry *reg,
					       const struct hz_org_unit *org, int tier, size_t *n)
{
	*n = 0;
	if (!reg || !org || tier < HZ_TIER_GRID || tier > HZ_TIER_CITY || org < reg->orgs ||
	    org >= reg->orgs + reg->norgs)
		return NULL;
	size_t slot = (size_t)(org - reg->orgs) * 4 + (size_t)(tier - 1);
	uint32_t a = reg->duty_off[slot], z = reg->duty_off[slot + 1];
	*n = z - a;
	return z > a ? &reg->duty[a] : NULL;
}

const struct hz_person *const *hz_registry_duty(const struct hz_registry *reg, const char *org_code,
						int tier, size_t *n)
{
	const struct hz_duty *d =
		hz_registry_duty_entries(reg, hz_registry_org(reg, org_code), tier, n);
	return d ? &reg->duty_people[d - reg->duty] : NULL;
}

static size_t on_duty(const struct hz_registry *reg, const struct hz_org_unit *org, int tier,
		      int64_t now_us, const struct hz_person **out, size_t max)
{
	size_t n, k = 0;
	const struct hz_duty *d = hz_registry_duty_entries(reg, org, tier, &n);
	for (size_t i = 0; i < n; i++) {
		if (now_us && ((d[i].starts_us && now_us < d[i].starts_us) ||
			       (d[i].ends_us && now_us >= d[i].ends_us)))
			continue;
		if (k < max)
			out[k] = d[i].person;
		k++;
	}
	return HZ_MIN(k, max);
}

size_t hz_registry_duty_for_site(const struct hz_registry *reg, const struct hz_site *site,
				 int tier, int64_t now_us, const struct hz_person **out, size_t max,
				 const struct hz_org_unit **org)
{
	if (org)
		*org = NULL;
	if (!reg || !site)
		return 0;
	const struct hz_org_unit *u = NULL;
	switch (tier) {
	case HZ_TIER_GRID:
		for (u = site->org; u && u->level >= HZ_ORG_TOWN; u = u->parent) {
			size_t k = on_duty(reg, u, tier, now_us, out, max);
			if (k) {
				if (org)
					*org = u;
				return HZ_MIN(k, max);
			}
		}
		return 0;
	case HZ_TIER_TOWN: u = site->town; break;
	case HZ_TIER_COUNTY: u = site->county; break;
	case HZ_TIER_CITY: u = site->city; break;
	default: return 0;
	}
	size_t k = on_duty(reg, u, tier, now_us, out, max);
	if (k && org)
		*org = u;
	return HZ_MIN(k, max);
}

int64_t hz_registry_version(const struct hz_registry *reg) { return reg ? reg->version : 0; }

void hz_registry_stats(const struct hz_registry *reg, struct hz_registry_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!reg)
		return;
	st->orgs = reg->norgs;
	st->sites = reg->nsites;
	st->devices = reg->ndevices;
	st->people = reg->npeople;
	st->duty = reg->nduty;
	st->rescue_units = reg->nunits;
	st->bytes = reg->bytes;
	st->version = reg->version;
}

const struct hz_org_unit *hz_registry_orgs(const struct hz_registry *reg, size_t *n)
{
	*n = reg ? reg->norgs : 0;
	return reg ? reg->orgs : NULL;
}

const struct hz_site *hz_registry_sites(const struct hz_registry *reg, size_t *n)
{
	*n = reg ? reg->nsites : 0;
	return reg ? reg->sites : NULL;
}

const struct hz_device *hz_registry_devices(const struct hz_registry *reg, size_t *n)
{
	*n = reg ? reg->ndevices : 0;
	return reg ? reg->devices : NULL;
}

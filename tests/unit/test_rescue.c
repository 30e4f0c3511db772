/*
 * test_rescue.c - the dispatch suggestion without PostgreSQL: haversine
 * distances against known values, the grid index against a brute-force
 * scan (random units and points, cell edges, missing kinds), travel time
 * and the rescue circles (1-3-5 minutes in towns, 15 in the countryside)
 * at exact distances either side of each limit, the town/countryside rule,
 * rescue units in the registry snapshot, coverage counts, and the
 * EscalationNotice round trip through protobuf with its suggestion.
 */
// clang-format off: cmocka needs these first
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/outbox.h"
#include "registry/registry.h"
#include "registry/rescue.h"
#include "tickets/ticket.h"

static char err[512];

#define OK(expr)                                                                                   \
	do {                                                                                       \
		int rc_ = (expr);                                                                  \
		if (rc_ != 0)                                                                      \
			fail_msg("%s: rc %d: %s", #expr, rc_, err);                                \
	} while (0)

#define M_PER_DEG_LAT 111195.08 /* HZ_EARTH_RADIUS_M * pi / 180 */

/* The point `m` metres north of (lat, lon). */
static double north(double lat, double m) { return lat + m / M_PER_DEG_LAT; }

static void test_haversine(void **state)
{
	(void)state;
	assert_true(hz_geo_distance_m(30.0, 120.0, 30.0, 120.0) == 0);
	/* Beijing (天安门) to Shanghai (人民广场): 1,067.3 km on the sphere */
	double d = hz_geo_distance_m(39.9042, 116.4074, 31.2304, 121.4737);
	assert_true(fabs(d - 1067311.6) < 1.0);
	/* symmetric */
	assert_true(fabs(d - hz_geo_distance_m(31.2304, 121.4737, 39.9042, 116.4074)) < 1e-6);
	/* one degree of latitude anywhere; one of longitude shrinks with cos(lat) */
	assert_true(fabs(hz_geo_distance_m(0, 0, 1, 0) - M_PER_DEG_LAT) < 0.5);
	assert_true(fabs(hz_geo_distance_m(60, 10, 61, 10) - M_PER_DEG_LAT) < 0.5);
	assert_true(fabs(hz_geo_distance_m(0, 0, 0, 1) - M_PER_DEG_LAT) < 0.5);
	/* 杭州市 to 西湖区 seats in the demo registry: 2.894 km */
	assert_true(fabs(hz_geo_distance_m(30.2741, 120.1551, 30.2597, 120.13) - 2893.9) < 1.0);
	/* antipodes: half the circumference, no NaN from rounding */
	d = hz_geo_distance_m(10, 20, -10, -160);
	assert_true(fabs(d - M_PER_DEG_LAT * 180) < 1.0);
}

static struct hz_rescue_unit unit(const char *id, int kind, double lat, double lon)
{
	struct hz_rescue_unit u;
	memset(&u, 0, sizeof(u));
	snprintf(u.unit_id, sizeof(u.unit_id), "%s", id);
	snprintf(u.name, sizeof(u.name), "%s", id);
	u.kind = kind;
	u.lat = lat;
	u.lon = lon;
	return u;
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 88172645463325252ULL;
static double rnd(double lo, double hi)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	uint64_t r = rng_state * 2685821657736338717ULL;
	return lo + (hi - lo) * (double)(r >> 11) / 9007199254740992.0;
}

static const struct hz_rescue_unit *brute(const struct hz_rescue_unit *u, size_t n, double lat,
					  double lon, int kind, double *best)
{
	const struct hz_rescue_unit *b = NULL;
	for (size_t i = 0; i < n; i++) {
		if (kind && u[i].kind != kind)
			continue;
		double d = hz_geo_distance_m(lat, lon, u[i].lat, u[i].lon);
		if (!b || d < *best) {
			b = &u[i];
			*best = d;
		}
	}
	return b;
}

static void test_nearest_matches_scan(void **state)
{
	(void)state;
	/* 3,000 units over Zhejiang-sized box, clustered and sparse kinds */
	size_t n = 3000;
	struct hz_rescue_unit *u = calloc(n, sizeof(*u));
	assert_non_null(u);
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "U%05zu", i);
		int kind = i % 50 == 0  ? HZ_UNIT_FIRE_STATION
			   : i % 5 == 0 ? HZ_UNIT_BRIGADE
					: HZ_UNIT_MICRO_STATION;
		double lat = i < 2000 ? rnd(30.0, 30.6) : rnd(27.0, 31.5);
		double lon = i < 2000 ? rnd(119.8, 120.6) : rnd(118.0, 123.0);
		u[i] = unit(id, kind, lat, lon);
	}
	struct hz_rescue_index *ix = hz_rescue_index_new(u, n);
	assert_non_null(ix);
	for (int q = 0; q < 4000; q++) {
		/* some far outside the units, some exactly on cell edges */
		double lat = q % 10 == 0 ? rnd(20, 40) : rnd(27.0, 31.5);
		double lon = q % 10 == 0 ? rnd(110, 130) : rnd(118.0, 123.0);
		if (q % 7 == 0) {
			lat = round(lat * 20) / 20;
			lon = round(lon * 20) / 20;
		}
		for (int kind = 0; kind < HZ_UNIT_KIND_COUNT; kind++) {
			double dg, db = 0;
			const struct hz_rescue_unit *g = hz_rescue_nearest(ix, lat, lon, kind, &dg);
			const struct hz_rescue_unit *b = brute(u, n, lat, lon, kind, &db);
			assert_non_null(g);
			assert_non_null(b);
			if (fabs(dg - db) > 1e-6)
				fail_msg(
					"query %d (%.5f, %.5f) kind %d: grid %s at %.1f m, scan %s "
					"at %.1f m",
					q, lat, lon, kind, g->unit_id, dg, b->unit_id, db);
		}
	}
	/* no coordinates, no units of a kind, an empty index */
	double d;
	assert_null(hz_rescue_nearest(ix, NAN, 120, 0, &d));
	assert_true(isnan(d));
	hz_rescue_index_destroy(ix);
	ix = hz_rescue_index_new(u, 0);
	assert_non_null(ix);
	assert_null(hz_rescue_nearest(ix, 30, 120, 0, &d));
	hz_rescue_index_destroy(ix);
	struct hz_rescue_unit one = unit("ONLY", HZ_UNIT_BRIGADE, 30.0, 120.0);
	ix = hz_rescue_index_new(&one, 1);
	assert_null(hz_rescue_nearest(ix, 30, 120, HZ_UNIT_MICRO_STATION, &d));
	assert_ptr_equal(&one, hz_rescue_nearest(ix, 45, 100, HZ_UNIT_BRIGADE, &d));
	hz_rescue_index_destroy(ix);
	hz_rescue_index_destroy(NULL);
	free(u);
}

/* Defaults: 30 km/h in towns (500 m/min), 40 km/h in the countryside
 * (666.7 m/min), road factor 1.3; towns: micro 3 min, brigade 5 min;
 * countryside: 15 min. So in a town a micro station covers 1,153.8 m of
 * straight line, a brigade 1,923.1 m; in the countryside 7,692.3 m. */
static void test_circles(void **state)
{
	(void)state;
	struct hz_dispatch_params p;
	hz_dispatch_params_default(&p);
	double lat = 30.30, lon = 120.10;
	struct hz_rescue_unit u[3] = {
		unit("MICRO", HZ_UNIT_MICRO_STATION, north(lat, 1000), lon),
		unit("BRIGADE", HZ_UNIT_BRIGADE, north(lat, -1800), lon),
		unit("STATION", HZ_UNIT_FIRE_STATION, north(lat, 9000), lon),
	};
	struct hz_rescue_index *ix = hz_rescue_index_new(u, 3);
	struct hz_dispatch d;
	hz_dispatch_suggest(ix, &p, lat, lon, HZ_AREA_TOWN, &d);
	assert_true(d.located);
	assert_int_equal(3, d.n);
	assert_int_equal(HZ_AREA_TOWN, d.area);
	/* sorted by minutes: micro 2.6, brigade 4.68, station 23.4 */
	assert_string_equal("MICRO", d.pick[0].unit->unit_id);
	assert_true(fabs(d.pick[0].distance_m - 1000) < 0.5);
	assert_true(fabs(d.pick[0].minutes - 2.6) < 0.01);
	assert_true(d.pick[0].circle_min == 3);
	assert_true(d.pick[0].inside);
	assert_string_equal("BRIGADE", d.pick[1].unit->unit_id);
	assert_true(fabs(d.pick[1].minutes - 4.68) < 0.01);
	assert_true(d.pick[1].circle_min == 5);
	assert_true(d.pick[1].inside);
	assert_string_equal("STATION", d.pick[2].unit->unit_id);
	assert_false(d.pick[2].inside);
	assert_true(d.inside_circle);

	/* just outside: micro at 1,160 m (3.02 min), brigade at 1,930 m (5.02) */
	u[0].lat = north(lat, 1160);
	u[1].lat = north(lat, -1930);
	hz_rescue_index_destroy(ix);
	ix = hz_rescue_index_new(u, 3);
	hz_dispatch_suggest(ix, &p, lat, lon, HZ_AREA_TOWN, &d);
	assert_false(d.pick[0].inside);
	assert_false(d.pick[1].inside);
	assert_false(d.inside_circle);
	/* the same site in the countryside: 15 minutes for every kind, at
	 * 40 km/h; 9 km (17.55 min) stays outside */
	hz_dispatch_suggest(ix, &p, lat, lon, HZ_AREA_COUNTRYSIDE, &d);
	assert_int_equal(HZ_AREA_COUNTRYSIDE, d.area);
	assert_true(d.inside_circle);
	assert_true(fabs(d.pick[0].minutes - 1160 * 1.3 / (40000.0 / 60)) < 0.01);
	assert_true(d.pick[0].circle_min == 15 && d.pick[0].inside);
	assert_string_equal("STATION", d.pick[2].unit->unit_id);
	assert_true(fabs(d.pick[2].minutes - 17.55) < 0.01);
	assert_false(d.pick[2].inside);
	/* 7.6 km in the countryside: 14.82 min, inside; 7.8 km: 15.21, outside */
	struct hz_rescue_unit far = unit("FAR", HZ_UNIT_BRIGADE, north(lat, 7600), lon);
	struct hz_rescue_index *ix1 = hz_rescue_index_new(&far, 1);
	hz_dispatch_suggest(ix1, &p, lat, lon, HZ_AREA_COUNTRYSIDE, &d);
	assert_true(d.n == 1 && d.inside_circle);
	hz_rescue_index_destroy(ix1);
	far.lat = north(lat, 7800);
	ix1 = hz_rescue_index_new(&far, 1);
	hz_dispatch_suggest(ix1, &p, lat, lon, HZ_AREA_COUNTRYSIDE, &d);
	assert_true(d.n == 1 && !d.inside_circle);
	hz_rescue_index_destroy(ix1);
	/* no coordinates: nothing suggested */
	hz_dispatch_suggest(ix, &p, NAN, NAN, HZ_AREA_TOWN, &d);
	assert_false(d.located);
	assert_int_equal(0, d.n);
	/* a circle of 0 means the kind does not count */
	hz_dispatch_params_set(&p, 30, 40, 1.3, 0, 5, 15);
	u[0].lat = north(lat, 100);
	hz_rescue_index_destroy(ix);
	ix = hz_rescue_index_new(u, 3);
	hz_dispatch_suggest(ix, &p, lat, lon, HZ_AREA_TOWN, &d);
	assert_string_equal("MICRO", d.pick[0].unit->unit_id);
	assert_false(d.pick[0].inside);
	assert_false(d.inside_circle);
	hz_rescue_index_destroy(ix);
}

static void test_applies(void **state)
{
	(void)state;
	struct hz_dispatch_params p;
	hz_dispatch_params_default(&p);
	assert_true(hz_dispatch_applies(&p, "fire_smoke"));
	assert_true(hz_dispatch_applies(&p, "fire_heat"));
	assert_false(hz_dispatch_applies(&p, "fire"));
	assert_false(hz_dispatch_applies(&p, "gas_leak"));
	assert_false(hz_dispatch_applies(&p, ""));
	p.hazard_types = " fire_smoke , electrical_fire,,";
	assert_true(hz_dispatch_applies(&p, "electrical_fire"));
	assert_true(hz_dispatch_applies(&p, "fire_smoke"));
	assert_false(hz_dispatch_applies(&p, "fire_heat"));
	p.hazard_types = "";
	assert_false(hz_dispatch_applies(&p, "fire_smoke"));
	assert_false(hz_dispatch_applies(NULL, "fire_smoke"));
}

/* 西溪街道 with a community (社区) and a village (村), plus a 乡 township and
 * an explicit override; rescue units in two of them. */
static struct hz_registry *demo(void)
{
	struct hz_registry_builder *b = hz_registry_builder_new(10, 6, 0, 0, 0);
	assert_non_null(b);
	OK(hz_registry_add_org(b, "330100", "杭州市", HZ_ORG_CITY, NULL, err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106", "西湖区", HZ_ORG_COUNTY, "330100", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106001", "西溪街道", HZ_ORG_TOWN, "330106", err,
			       sizeof(err)));
	OK(hz_registry_add_org(b, "330106001001", "西溪街道古荡新村社区", HZ_ORG_VILLAGE,
			       "330106001", err, sizeof(err)));
	OK(hz_registry_add_org(b, "33010600100101", "古荡新村社区第一网格", HZ_ORG_GRID,
			       "330106001001", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106001002", "西溪街道上城埭村", HZ_ORG_VILLAGE, "330106001",
			       err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106009", "双浦乡", HZ_ORG_TOWN, "330106", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106003", "三墩镇", HZ_ORG_TOWN, "330106", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106003001", "三墩镇振华社区", HZ_ORG_VILLAGE, "330106003",
			       err, sizeof(err)));
	OK(hz_registry_set_org_area(b, "330106003", HZ_AREA_COUNTRYSIDE, err, sizeof(err)));
	assert_int_not_equal(0,
			     hz_registry_set_org_area(b, "NOPE", HZ_AREA_TOWN, err, sizeof(err)));
	double lat = 30.30, lon = 120.10;
	OK(hz_registry_add_site(b, "S-COMMUNITY", "云帆大厦", "high_rise", HZ_RISK_GENERAL,
				"33010600100101", NULL, NULL, lat, lon, err, sizeof(err)));
	OK(hz_registry_add_site(b, "S-VILLAGE", "上城埭村民宿", "homestay", HZ_RISK_GENERAL,
				"330106001002", NULL, NULL, north(lat, 7000), lon, err,
				sizeof(err)));
	OK(hz_registry_add_site(b, "S-XIANG", "双浦农贸市场", "market", HZ_RISK_LOW, "330106009",
				NULL, NULL, north(lat, 50000), lon, err, sizeof(err)));
	OK(hz_registry_add_site(b, "S-OVERRIDE", "振华大厦", "high_rise", HZ_RISK_LOW,
				"330106003001", NULL, NULL, north(lat, -3000), lon, err,
				sizeof(err)));
	OK(hz_registry_add_site(b, "S-NOWHERE", "无坐标", "shop", HZ_RISK_LOW, "330106001", NULL,
				NULL, NAN, NAN, err, sizeof(err)));
	/* a set_org_area after the first site is refused */
	assert_int_not_equal(
		0, hz_registry_set_org_area(b, "330106001", HZ_AREA_TOWN, err, sizeof(err)));
	OK(hz_registry_add_rescue_unit(b, "MS-GUDANG", "古荡新村社区微型消防站",
				       HZ_UNIT_MICRO_STATION, "330106001001", north(lat, 800), lon,
				       "0571-88000001", err, sizeof(err)));
	OK(hz_registry_add_rescue_unit(b, "FB-XIXI", "西溪街道专职消防队", HZ_UNIT_BRIGADE,
				       "330106001", north(lat, 1500), lon, NULL, err, sizeof(err)));
	assert_int_not_equal(0,
			     hz_registry_add_rescue_unit(b, "BAD-ORG", "x", HZ_UNIT_BRIGADE, "999",
							 lat, lon, NULL, err, sizeof(err)));
	assert_int_not_equal(0, hz_registry_add_rescue_unit(b, "BAD-KIND", "x", 0, "330106001", lat,
							    lon, NULL, err, sizeof(err)));
	assert_int_not_equal(0, hz_registry_add_rescue_unit(b, "BAD-LAT", "x", HZ_UNIT_BRIGADE,
							    "330106001", NAN, lon, NULL, err,
							    sizeof(err)));
	struct hz_registry *reg;
	OK(hz_registry_builder_finish(b, 7, &reg, err, sizeof(err)));
	return reg;
}

static void test_registry_units_and_areas(void **state)
{
	(void)state;
	struct hz_registry *reg = demo();
	size_t n;
	const struct hz_rescue_unit *u = hz_registry_rescue_units(reg, &n);
	assert_int_equal(2, n);
	assert_string_equal("FB-XIXI", u[0].unit_id); /* by id */
	assert_string_equal("330106001", u[0].org->code);
	assert_string_equal("0571-88000001", u[1].phone);
	struct hz_registry_stats st;
	hz_registry_stats(reg, &st);
	assert_int_equal(2, st.rescue_units);

	assert_int_equal(HZ_AREA_TOWN, hz_registry_site_area(hz_registry_site(reg, "S-COMMUNITY")));
	assert_int_equal(HZ_AREA_COUNTRYSIDE,
			 hz_registry_site_area(hz_registry_site(reg, "S-VILLAGE")));
	assert_int_equal(HZ_AREA_COUNTRYSIDE,
			 hz_registry_site_area(hz_registry_site(reg, "S-XIANG")));
	/* 三墩镇 is marked countryside: its 社区 inherits that */
	assert_int_equal(HZ_AREA_COUNTRYSIDE,
			 hz_registry_site_area(hz_registry_site(reg, "S-OVERRIDE")));

	struct hz_dispatch_params p;
	hz_dispatch_params_default(&p);
	struct hz_dispatch d;
	hz_dispatch_for_site(reg, &p, hz_registry_site(reg, "S-COMMUNITY"), &d);
	assert_true(d.inside_circle);
	assert_string_equal("MS-GUDANG", d.pick[0].unit->unit_id);
	assert_true(fabs(d.pick[0].distance_m - 800) < 0.5);
	assert_true(fabs(d.pick[0].minutes - 2.08) < 0.01);
	/* the village 7 km north: the brigade 5.5 km away, 10.7 min < 15 */
	hz_dispatch_for_site(reg, &p, hz_registry_site(reg, "S-VILLAGE"), &d);
	assert_int_equal(HZ_AREA_COUNTRYSIDE, d.area);
	assert_true(d.inside_circle);

	struct hz_coverage_stats cs;
	OK(hz_rescue_coverage(reg, &p, NULL, NULL, &cs));
	assert_int_equal(5, cs.sites);
	assert_int_equal(4, cs.located);
	assert_int_equal(1, cs.unlocated);
	/* S-XIANG is 48.5 km away (94.6 min); S-OVERRIDE 3.8 km in the
	 * countryside (7.4 min) is inside */
	assert_int_equal(1, cs.outside);
	assert_int_equal(3, cs.inside);
	assert_int_equal(2, cs.units);
	hz_registry_destroy(reg);
}

static void test_duplicate_unit(void **state)
{
	(void)state;
	struct hz_registry_builder *b = hz_registry_builder_new(1, 0, 0, 0, 0);
	OK(hz_registry_add_org(b, "330106001", "西溪街道", HZ_ORG_TOWN, NULL, err, sizeof(err)));
	OK(hz_registry_add_rescue_unit(b, "U1", "a", HZ_UNIT_BRIGADE, "330106001", 30, 120, NULL,
				       err, sizeof(err)));
	OK(hz_registry_add_rescue_unit(b, "U1", "b", HZ_UNIT_BRIGADE, "330106001", 30, 120, NULL,
				       err, sizeof(err)));
	struct hz_registry *reg;
	assert_int_not_equal(0, hz_registry_builder_finish(b, 1, &reg, err, sizeof(err)));
	assert_non_null(strstr(err, "duplicate rescue unit \"U1\""));
	assert_null(reg);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal("micro_station", hz_unit_kind_name(HZ_UNIT_MICRO_STATION));
	assert_string_equal("full_time_brigade", hz_unit_kind_name(HZ_UNIT_BRIGADE));
	assert_string_equal("fire_rescue_station", hz_unit_kind_name(HZ_UNIT_FIRE_STATION));
	assert_int_equal(HZ_UNIT_BRIGADE, hz_unit_kind_parse("full_time_brigade"));
	assert_int_equal(0, hz_unit_kind_parse("brigade"));
	assert_int_equal(HZ_AREA_COUNTRYSIDE, hz_area_parse("countryside"));
	assert_int_equal(0, hz_area_parse("rural"));
	assert_string_equal("town", hz_area_name(HZ_AREA_TOWN));
}

static void test_notice_round_trip(void **state)
{
	(void)state;
	struct hz_escalation esc, back;
	memset(&esc, 0, sizeof(esc));
	snprintf(esc.event_id, sizeof(esc.event_id), "esc-7-town-0");
	esc.emitted_us = 1764633600000000LL;
	esc.tk.ticket_id = 7;
	esc.tk.kind = HZ_KIND_ALARM;
	esc.tk.level = HZ_LEVEL_RED;
	snprintf(esc.tk.hazard_type, sizeof(esc.tk.hazard_type), "fire_smoke");
	esc.from_tier = HZ_TIER_GRID;
	esc.to_tier = HZ_TIER_TOWN;
	esc.dispatch.present = true;
	snprintf(esc.dispatch.area, sizeof(esc.dispatch.area), "town");
	esc.dispatch.inside_circle = true;
	esc.dispatch.n_units = 2;
	struct hz_esc_unit *u = &esc.dispatch.units[0];
	snprintf(u->unit_id, sizeof(u->unit_id), "MS-GUDANG");
	snprintf(u->name, sizeof(u->name), "古荡新村社区微型消防站");
	snprintf(u->kind, sizeof(u->kind), "micro_station");
	u->distance_m = 800;
	u->minutes = 2.08;
	u->circle_minutes = 3;
	u->inside = true;
	u->lat = 30.3072;
	u = &esc.dispatch.units[1];
	snprintf(u->unit_id, sizeof(u->unit_id), "FB-XIXI");
	snprintf(u->kind, sizeof(u->kind), "full_time_brigade");
	u->distance_m = 1500;
	u->minutes = 3.9;
	u->circle_minutes = 5;
	struct hz_buf b = HZ_BUF_INIT;
	OK(hz_codec_encode_escalation(&esc, HZ_CT_PROTOBUF, &b));
	OK(hz_codec_decode_escalation(b.data, b.len, &back));
	assert_true(back.dispatch.present);
	assert_string_equal("town", back.dispatch.area);
	assert_true(back.dispatch.inside_circle);
	assert_int_equal(2, back.dispatch.n_units);
	assert_string_equal("古荡新村社区微型消防站", back.dispatch.units[0].name);
	assert_int_equal(800, back.dispatch.units[0].distance_m);
	assert_true(back.dispatch.units[0].minutes == 2.08);
	assert_true(back.dispatch.units[0].inside);
	assert_true(back.dispatch.units[0].lat == 30.3072);
	assert_false(back.dispatch.units[1].inside);
	/* the JSON form names the fields */
	hz_buf_clear(&b);
	OK(hz_codec_encode_escalation(&esc, HZ_CT_JSON, &b));
	hz_buf_cstr(&b);
	assert_non_null(strstr((const char *)b.data, "\"insideCircle\":true"));
	assert_non_null(strstr((const char *)b.data, "\"unitId\":\"MS-GUDANG\""));
	/* a notice without a suggestion decodes without one */
	esc.dispatch.present = false;
	hz_buf_clear(&b);
	OK(hz_codec_encode_escalation(&esc, HZ_CT_PROTOBUF, &b));
	OK(hz_codec_decode_escalation(b.data, b.len, &back));
	assert_false(back.dispatch.present);
	assert_int_equal(0, back.dispatch.n_units);
	hz_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haversine),
		cmocka_unit_test(test_nearest_matches_scan),
		cmocka_unit_test(test_circles),
		cmocka_unit_test(test_applies),
		cmocka_unit_test(test_registry_units_and_areas),
		cmocka_unit_test(test_duplicate_unit),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_notice_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

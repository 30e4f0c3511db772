/*
 * test_registry.c - the registry snapshot without PostgreSQL: building from
 * plain values, O(1) look-ups and their misses, the chain city > county >
 * town > village > grid, duty look-ups with fallback and shifts, refusal of
 * inconsistent input, a 100k-device table (memory per device printed); the
 * CSV reader the importer uses; and the pure parts of store/pg.c (password
 * redaction, transient SQLSTATEs), which need no server either.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/csv.h"
#include "registry/registry.h"
#include "store/pg.h"

static char err[512];

#define OK(expr)                                                    \
	do {                                                        \
		int rc_ = (expr);                                   \
		if (rc_ != 0)                                       \
			fail_msg("%s: rc %d: %s", #expr, rc_, err); \
	} while (0)

/* 杭州市 > 西湖区 > 西溪街道 > 古荡新村社区 > 第一网格, plus a second town. */
static struct hz_registry *small(void)
{
	struct hz_registry_builder *b = hz_registry_builder_new(8, 4, 8, 8, 12);
	assert_non_null(b);
	/* children before parents on purpose: parents resolve at the end */
	OK(hz_registry_add_org(b, "33010600100101", "古荡新村社区第一网格", HZ_ORG_GRID,
			       "330106001001", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106001001", "古荡新村社区", HZ_ORG_VILLAGE, "330106001", err,
			       sizeof(err)));
	OK(hz_registry_add_org(b, "330106001", "西溪街道", HZ_ORG_TOWN, "330106", err,
			       sizeof(err)));
	OK(hz_registry_add_org(b, "330106", "西湖区", HZ_ORG_COUNTY, "330100", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330100", "杭州市", HZ_ORG_CITY, NULL, err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106002", "转塘街道", HZ_ORG_TOWN, "330106", err,
			       sizeof(err)));

	OK(hz_registry_add_site(b, "SITE-330106001-0001", "云帆大厦", "high_rise",
				HZ_RISK_SIGNIFICANT, "33010600100101", NULL, NULL, 30.29, 120.14,
				err, sizeof(err)));
	OK(hz_registry_add_site(b, "SITE-330106002-0001", "转塘农贸市场", "market", HZ_RISK_GENERAL,
				"330106002", "330106002", "330106", NAN, NAN, err, sizeof(err)));

	OK(hz_registry_add_device(b, "DEV-330106001-0001-SMK-01", "SITE-330106001-0001",
				  "smoke_detector", HZ_METRIC_SMOKE, false, 0, 0, err,
				  sizeof(err)));
	OK(hz_registry_add_device(b, "DEV-330106001-0001-PRS-01", "SITE-330106001-0001",
				  "pressure_gauge", HZ_METRIC_PRESSURE, true, 0, 1.6, err,
				  sizeof(err)));
	OK(hz_registry_add_device(b, "DEV-330106002-0001-GAS-01", "SITE-330106002-0001",
				  "gas_detector", HZ_METRIC_GAS_LEL, false, 0, 0, err,
				  sizeof(err)));

	OK(hz_registry_add_person(b, "P-GRID-1", "王伟", "13800000001", "33010600100101",
				  HZ_TIER_GRID, err, sizeof(err)));
	OK(hz_registry_add_person(b, "P-VIL-1", "李芳", "13800000002", "330106001001", HZ_TIER_GRID,
				  err, sizeof(err)));
	OK(hz_registry_add_person(b, "P-TOWN-1", "张强", NULL, "330106001", HZ_TIER_TOWN, err,
				  sizeof(err)));
	OK(hz_registry_add_person(b, "P-TOWN-2", "刘洋", NULL, "330106001", HZ_TIER_TOWN, err,
				  sizeof(err)));
	OK(hz_registry_add_person(b, "P-CTY-1", "陈杰", NULL, "330106", HZ_TIER_COUNTY, err,
				  sizeof(err)));
	OK(hz_registry_add_person(b, "P-CITY-1", "杨娟", NULL, "330100", HZ_TIER_CITY, err,
				  sizeof(err)));

	OK(hz_registry_add_duty(b, "33010600100101", HZ_TIER_GRID, "P-VIL-1", "backup", 0, 0, err,
				sizeof(err)));
	OK(hz_registry_add_duty(b, "33010600100101", HZ_TIER_GRID, "P-GRID-1", "primary", 0, 0, err,
				sizeof(err)));
	OK(hz_registry_add_duty(b, "330106001001", HZ_TIER_GRID, "P-VIL-1", NULL, 0, 0, err,
				sizeof(err)));
	/* town: a backup always, a primary only 1000..2000 */
	OK(hz_registry_add_duty(b, "330106001", HZ_TIER_TOWN, "P-TOWN-2", "backup", 0, 0, err,
				sizeof(err)));
	OK(hz_registry_add_duty(b, "330106001", HZ_TIER_TOWN, "P-TOWN-1", "primary", 1000, 2000,
				err, sizeof(err)));
	OK(hz_registry_add_duty(b, "330106", HZ_TIER_COUNTY, "P-CTY-1", NULL, 0, 0, err,
				sizeof(err)));
	OK(hz_registry_add_duty(b, "330100", HZ_TIER_CITY, "P-CITY-1", NULL, 0, 0, err,
				sizeof(err)));

	struct hz_registry *reg;
	OK(hz_registry_builder_finish(b, 42, &reg, err, sizeof(err)));
	return reg;
}

static void test_lookups(void **state)
{
	(void)state;
	struct hz_registry *reg = small();
	assert_int_equal(hz_registry_version(reg), 42);

	const struct hz_device *d = hz_registry_device(reg, "DEV-330106001-0001-PRS-01");
	assert_non_null(d);
	assert_string_equal(d->kind, "pressure_gauge");
	assert_int_equal(d->metric, HZ_METRIC_PRESSURE);
	assert_true(d->has_range);
	assert_true(d->range_max == 1.6);
	assert_false(hz_registry_device(reg, "DEV-330106001-0001-SMK-01")->has_range);

	const struct hz_site *s = d->site;
	assert_string_equal(s->site_id, "SITE-330106001-0001");
	assert_string_equal(s->name, "云帆大厦");
	assert_int_equal(s->risk, HZ_RISK_SIGNIFICANT);
	assert_string_equal(s->org->code, "33010600100101");
	assert_int_equal(s->org->level, HZ_ORG_GRID);
	assert_string_equal(s->org->parent->code, "330106001001");
	assert_string_equal(s->town->code, "330106001"); /* derived */
	assert_string_equal(s->county->code, "330106");
	assert_non_null(s->city);
	assert_string_equal(s->city->name, "杭州市");
	assert_null(s->city->parent);

	const struct hz_site *m = hz_registry_site(reg, "SITE-330106002-0001");
	assert_ptr_equal(m->org, m->town); /* a site directly under its town */
	assert_true(isnan(m->lat));

	assert_ptr_equal(hz_registry_org(reg, "330106"), s->county);
	assert_string_equal(hz_registry_person(reg, "P-TOWN-1")->name, "张强");

	/* misses, including near misses and empty keys */
	assert_null(hz_registry_device(reg, "DEV-330106001-0001-PRS-02"));
	assert_null(hz_registry_device(reg, "DEV-330106001-0001-PRS-0"));
	assert_null(hz_registry_device(reg, ""));
	assert_null(hz_registry_device(reg, NULL));
	assert_null(hz_registry_site(reg, "330106"));
	assert_null(hz_registry_org(reg, "SITE-330106001-0001"));
	assert_null(hz_registry_device(NULL, "x"));

	struct hz_registry_stats st;
	hz_registry_stats(reg, &st);
	assert_int_equal(st.orgs, 6);
	assert_int_equal(st.sites, 2);
	assert_int_equal(st.devices, 3);
	assert_int_equal(st.people, 6);
	assert_int_equal(st.duty, 7);
	assert_true(st.bytes > 0);
	hz_registry_destroy(reg);
	hz_registry_destroy(NULL);
}

static void test_duty(void **state)
{
	(void)state;
	struct hz_registry *reg = small();
	size_t n;
	const struct hz_person *const *p =
		hz_registry_duty(reg, "33010600100101", HZ_TIER_GRID, &n);
	assert_int_equal(n, 2);
	assert_string_equal(p[0]->person_id, "P-GRID-1"); /* primary first */
	assert_string_equal(p[1]->person_id, "P-VIL-1");
	assert_null(hz_registry_duty(reg, "33010600100101", HZ_TIER_TOWN, &n));
	assert_int_equal(n, 0);
	assert_null(hz_registry_duty(reg, "nope", HZ_TIER_GRID, &n));
	assert_null(hz_registry_duty(reg, "330106001", 9, &n));

	const struct hz_duty *de =
		hz_registry_duty_entries(reg, hz_registry_org(reg, "330106001"), HZ_TIER_TOWN, &n);
	assert_int_equal(n, 2);
	assert_string_equal(de[0].role, "primary");
	assert_int_equal(de[0].starts_us, 1000);

	const struct hz_site *s = hz_registry_site(reg, "SITE-330106001-0001");
	const struct hz_person *out[4];
	const struct hz_org_unit *org;
	/* grid tier: the site's grid answers */
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_GRID, 0, out, 4, &org), 2);
	assert_string_equal(org->code, "33010600100101");
	/* town tier: shifts apply when a time is given */
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_TOWN, 0, out, 4, &org), 2);
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_TOWN, 1500, out, 4, &org), 2);
	assert_string_equal(out[0]->person_id, "P-TOWN-1");
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_TOWN, 2000, out, 4, &org), 1);
	assert_string_equal(out[0]->person_id, "P-TOWN-2");
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_TOWN, 1500, out, 1, &org), 1);
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_COUNTY, 0, out, 4, &org), 1);
	assert_string_equal(out[0]->person_id, "P-CTY-1");
	assert_int_equal(hz_registry_duty_for_site(reg, s, HZ_TIER_CITY, 0, out, 4, &org), 1);
	assert_string_equal(org->code, "330100");
	/* the market's town has nobody at the grid or town tier */
	const struct hz_site *m = hz_registry_site(reg, "SITE-330106002-0001");
	assert_int_equal(hz_registry_duty_for_site(reg, m, HZ_TIER_GRID, 0, out, 4, &org), 0);
	assert_null(org);
	assert_int_equal(hz_registry_duty_for_site(reg, m, HZ_TIER_COUNTY, 0, out, 4, &org), 1);
	hz_registry_destroy(reg);
}

static void test_grid_falls_back_to_village(void **state)
{
	(void)state;
	struct hz_registry_builder *b = hz_registry_builder_new(5, 1, 0, 1, 1);
	OK(hz_registry_add_org(b, "1", "c", HZ_ORG_CITY, NULL, err, sizeof(err)));
	OK(hz_registry_add_org(b, "11", "k", HZ_ORG_COUNTY, "1", err, sizeof(err)));
	OK(hz_registry_add_org(b, "111", "t", HZ_ORG_TOWN, "11", err, sizeof(err)));
	OK(hz_registry_add_org(b, "1111", "v", HZ_ORG_VILLAGE, "111", err, sizeof(err)));
	OK(hz_registry_add_org(b, "111101", "g", HZ_ORG_GRID, "1111", err, sizeof(err)));
	OK(hz_registry_add_site(b, "S", "s", "shop", HZ_RISK_LOW, "111101", "", "", 0, 0, err,
				sizeof(err)));
	OK(hz_registry_add_person(b, "P", "p", "", "1111", HZ_TIER_GRID, err, sizeof(err)));
	OK(hz_registry_add_duty(b, "1111", HZ_TIER_GRID, "P", "", 0, 0, err, sizeof(err)));
	struct hz_registry *reg;
	OK(hz_registry_builder_finish(b, 1, &reg, err, sizeof(err)));
	const struct hz_person *out[2];
	const struct hz_org_unit *org;
	assert_int_equal(hz_registry_duty_for_site(reg, hz_registry_site(reg, "S"), HZ_TIER_GRID, 0,
						   out, 2, &org),
			 1);
	assert_string_equal(org->code, "1111");
	hz_registry_destroy(reg);
}

/* Each call builds a chain and expects `what` to fail with a message holding `needle`. */
static void expect_refused(int step, const char *needle)
{
	struct hz_registry_builder *b = hz_registry_builder_new(4, 2, 2, 1, 1);
	struct hz_registry *reg = NULL;
	int rc = 0;
	err[0] = '\0';
	rc = hz_registry_add_org(b, "1", "c", HZ_ORG_CITY, NULL, err, sizeof(err));
	if (!rc)
		rc = hz_registry_add_org(b, "11", "k", HZ_ORG_COUNTY, step == 1 ? "9" : "1", err,
					 sizeof(err));
	if (!rc)
		rc = hz_registry_add_org(b, "111", "t", step == 2 ? HZ_ORG_CITY : HZ_ORG_TOWN, "11",
					 err, sizeof(err));
	if (!rc && step == 3)
		rc = hz_registry_add_org(b, "1", "dup", HZ_ORG_CITY, NULL, err, sizeof(err));
	if (!rc && step == 4)
		rc = hz_registry_add_org(b, "12345678901234567890123456789012", "long", HZ_ORG_GRID,
					 "111", err, sizeof(err));
	if (!rc)
		rc = hz_registry_add_site(b, "S", "s", "shop", step == 5 ? 0 : HZ_RISK_LOW,
					  step == 6 ? "11" : "111", step == 7 ? "112" : NULL, NULL,
					  0, 0, err, sizeof(err));
	if (!rc)
		rc = hz_registry_add_device(b, "D", step == 8 ? "T" : "S", "smoke_detector",
					    HZ_METRIC_SMOKE, step == 9, 5, 5, err, sizeof(err));
	if (!rc && step == 10)
		rc = hz_registry_add_device(b, "D", "S", "x", HZ_METRIC_NONE, false, 0, 0, err,
					    sizeof(err));
	if (!rc && step == 11) {
		rc = hz_registry_add_device(b, "D2", "S", "x", HZ_METRIC_NONE, false, 0, 0, err,
					    sizeof(err));
		if (!rc)
			rc = hz_registry_add_device(b, "D3", "S", "x", HZ_METRIC_NONE, false, 0, 0,
						    err, sizeof(err));
	}
	if (!rc && step == 12)
		rc = hz_registry_add_org(b, "late", "l", HZ_ORG_GRID, "111", err, sizeof(err));
	if (!rc && step == 13)
		rc = hz_registry_add_duty(b, "111", HZ_TIER_TOWN, "nobody", NULL, 0, 0, err,
					  sizeof(err));
	if (rc) {
		hz_registry_builder_destroy(b);
	} else {
		rc = hz_registry_builder_finish(b, 1, &reg, err, sizeof(err));
		hz_registry_destroy(reg);
	}
	if (rc == 0)
		fail_msg("step %d: expected a refusal mentioning \"%s\"", step, needle);
	if (!strstr(err, needle))
		fail_msg("step %d: expected \"%s\" in \"%s\"", step, needle, err);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refused(1, "unknown parent \"9\"");
	expect_refused(2, "not a higher level");
	expect_refused(3, "duplicate org unit \"1\"");
	expect_refused(4, "longer than 31 bytes");
	expect_refused(5, "invalid risk grade");
	expect_refused(6, "has no town above it");
	expect_refused(7, "town \"112\" is not the town");
	expect_refused(8, "unknown site \"T\"");
	expect_refused(9, "range [5, 5] is empty");
	expect_refused(10, "duplicate device \"D\"");
	expect_refused(11, "more devices than the 2 announced");
	expect_refused(12, "added after sites");
	expect_refused(13, "unknown person \"nobody\"");
}

static void test_truncation(void **state)
{
	(void)state;
	struct hz_registry_builder *b = hz_registry_builder_new(1, 0, 0, 0, 0);
	/* 30 three-byte characters: 90 bytes into name[64] */
	char name[128] = "";
	for (int i = 0; i < 30; i++)
		strcat(name, "杭");
	OK(hz_registry_add_org(b, "1", name, HZ_ORG_CITY, NULL, err, sizeof(err)));
	struct hz_registry *reg;
	OK(hz_registry_builder_finish(b, 1, &reg, err, sizeof(err)));
	const char *got = hz_registry_org(reg, "1")->name;
	assert_int_equal(strlen(got), 63); /* 21 whole characters */
	assert_memory_equal(got, name, 63);
	hz_registry_destroy(reg);
}

static void test_kind_metric_and_names(void **state)
{
	(void)state;
	assert_int_equal(hz_registry_kind_metric("smoke_detector"), HZ_METRIC_SMOKE);
	assert_int_equal(hz_registry_kind_metric("charger_monitor"), HZ_METRIC_CHARGER_CURRENT);
	assert_int_equal(hz_registry_kind_metric("electrical_monitor"), HZ_METRIC_RESIDUAL_CURRENT);
	assert_int_equal(hz_registry_kind_metric("camera"), HZ_METRIC_NONE);
	assert_int_equal(hz_registry_kind_metric(NULL), HZ_METRIC_NONE);
	assert_int_equal(hz_risk_parse("major"), HZ_RISK_MAJOR);
	assert_int_equal(hz_risk_parse("high"), 0);
	assert_string_equal(hz_risk_name(HZ_RISK_SIGNIFICANT), "significant");
	assert_int_equal(hz_org_level_parse("village"), HZ_ORG_VILLAGE);
	assert_string_equal(hz_org_level_name(HZ_ORG_GRID), "grid");
	assert_string_equal(hz_org_level_name(99), "invalid");
}

/* 100,000 devices over 10,000 sites: every id found, misses missed, and the
 * snapshot's size per device reported against the ~250 B target. */
static void test_scale(void **state)
{
	(void)state;
	enum { SITES = 10000, DEVICES = 100000 };
	struct hz_registry_builder *b = hz_registry_builder_new(4, SITES, DEVICES, 0, 0);
	assert_non_null(b);
	OK(hz_registry_add_org(b, "330100", "杭州市", HZ_ORG_CITY, NULL, err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106", "西湖区", HZ_ORG_COUNTY, "330100", err, sizeof(err)));
	OK(hz_registry_add_org(b, "330106001", "西溪街道", HZ_ORG_TOWN, "330106", err,
			       sizeof(err)));
	OK(hz_registry_add_org(b, "330106001001", "社区", HZ_ORG_VILLAGE, "330106001", err,
			       sizeof(err)));
	char id[64], sid[64];
	for (int s = 0; s < SITES; s++) {
		snprintf(sid, sizeof(sid), "SITE-330106001-%05d", s);
		OK(hz_registry_add_site(b, sid, "某某有限公司", "factory", HZ_RISK_GENERAL,
					"330106001001", NULL, NULL, 30.2, 120.1, err, sizeof(err)));
	}
	for (int d = 0; d < DEVICES; d++) {
		snprintf(sid, sizeof(sid), "SITE-330106001-%05d", d / 10);
		snprintf(id, sizeof(id), "DEV-330106001-%05d-SMK-%02d", d / 10, d % 10);
		OK(hz_registry_add_device(b, id, sid, "smoke_detector", HZ_METRIC_SMOKE, false, 0,
					  0, err, sizeof(err)));
	}
	struct hz_registry *reg;
	OK(hz_registry_builder_finish(b, 7, &reg, err, sizeof(err)));
	for (int d = 0; d < DEVICES; d++) {
		snprintf(id, sizeof(id), "DEV-330106001-%05d-SMK-%02d", d / 10, d % 10);
		const struct hz_device *dev = hz_registry_device(reg, id);
		if (!dev || strcmp(dev->device_id, id) != 0)
			fail_msg("device %s not found", id);
		snprintf(id, sizeof(id), "DEV-330106001-%05d-SMK-%02d", d / 10, d % 10 + 10);
		if (hz_registry_device(reg, id))
			fail_msg("device %s found but never added", id);
	}
	struct hz_registry_stats st;
	hz_registry_stats(reg, &st);
	double per = (double)st.bytes / DEVICES;
	printf("registry: %d devices, %d sites in %zu bytes: %.1f bytes per device "
	       "(struct hz_device %zu, struct hz_site %zu)\n",
	       DEVICES, SITES, st.bytes, per, sizeof(struct hz_device), sizeof(struct hz_site));
	assert_true(per <= 250);
	hz_registry_destroy(reg);
}

/* ---- CSV reader ---- */

static FILE *mem(const char *s) { return fmemopen((void *)s, strlen(s), "r"); }

static void test_csv(void **state)
{
	(void)state;
	FILE *f = mem("\xEF\xBB\xBF"
		      "a,b,c\r\n"
		      "1,\"two, with comma\",\"say \"\"hi\"\"\"\r\n"
		      "\n"
		      "x,\"multi\nline\",\n"
		      "last,,\"\"");
	struct hz_csv c;
	hz_csv_init(&c, f);
	assert_int_equal(hz_csv_next(&c, err, sizeof(err)), 1);
	assert_int_equal(c.nfields, 3);
	assert_string_equal(hz_csv_field(&c, 0), "a"); /* BOM skipped */
	assert_int_equal(c.record_line, 1);
	assert_int_equal(hz_csv_next(&c, err, sizeof(err)), 1);
	assert_string_equal(hz_csv_field(&c, 1), "two, with comma");
	assert_string_equal(hz_csv_field(&c, 2), "say \"hi\"");
	assert_int_equal(c.record_line, 2);
	assert_int_equal(hz_csv_next(&c, err, sizeof(err)), 1);
	assert_int_equal(c.record_line, 4); /* the blank line 3 is skipped */
	assert_string_equal(hz_csv_field(&c, 1), "multi\nline");
	assert_string_equal(hz_csv_field(&c, 2), "");
	assert_int_equal(hz_csv_next(&c, err, sizeof(err)), 1);
	assert_int_equal(c.record_line, 6);
	assert_int_equal(c.nfields, 3);
	assert_string_equal(hz_csv_field(&c, 0), "last");
	assert_string_equal(hz_csv_field(&c, 5), ""); /* beyond the record */
	assert_int_equal(hz_csv_next(&c, err, sizeof(err)), 0);
	hz_csv_free(&c);
	fclose(f);

	static const char *const bad[] = {"a,\"open\n", "a,b\"c\n", "a,\"q\"x\n"};
	for (size_t i = 0; i < HZ_ARRAY_LEN(bad); i++) {
		f = mem(bad[i]);
		hz_csv_init(&c, f);
		assert_int_equal(hz_csv_next(&c, err, sizeof(err)), HZ_EINVAL);
		hz_csv_free(&c);
		fclose(f);
	}
	/* a NUL byte, quoted or not, is refused rather than cutting the field short */
	static const struct {
		const char *s;
		size_t n;
	} nul[] = {{"id\nA1\0X,n\n", 10}, {"id\n\"A1\0X\"\n", 10}};
	for (size_t i = 0; i < HZ_ARRAY_LEN(nul); i++) {
		f = fmemopen((void *)nul[i].s, nul[i].n, "r");
		hz_csv_init(&c, f);
		assert_int_equal(hz_csv_next(&c, err, sizeof(err)), 1);
		assert_int_equal(hz_csv_next(&c, err, sizeof(err)), HZ_EINVAL);
		assert_non_null(strstr(err, "NUL byte"));
		hz_csv_free(&c);
		fclose(f);
	}
}

/* ---- store/pg.c, the parts that need no server ---- */

static void test_redact(void **state)
{
	(void)state;
	char buf[256];
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"host=db1 dbname=hazard password=s3cret user=hz",
		 "host=db1 dbname=hazard password=******** user=hz"},
		{"password = 'a b\\' c' host=x", "password = ******** host=x"},
		{"PASSWORD=x", "PASSWORD=********"},
		{"host=db1 passfile=/p", "host=db1 passfile=/p"},
		{"postgresql://hz:s3cret@db1:5432/hazard?sslmode=require",
		 "postgresql://hz:********@db1:5432/hazard?sslmode=require"},
		{"postgres://hz@db1/hazard?password=s3cret&application_name=x",
		 "postgres://hz@db1/hazard?password=********&application_name=x"},
		{"postgresql://u:p@ss@h/d", "postgresql://u:********@h/d"},
		{"postgresql://h1,h2/d", "postgresql://h1,h2/d"},
		{"", ""},
		{"garbage password", "garbage ..."},
	};
	for (size_t i = 0; i < HZ_ARRAY_LEN(cases); i++)
		assert_string_equal(hz_pg_redact(cases[i].in, buf, sizeof(buf)), cases[i].out);
	assert_string_equal(hz_pg_redact(NULL, buf, sizeof(buf)), "");
	/* truncation never reveals more */
	char small_buf[20];
	hz_pg_redact("password=abcdefghijklmnopqrstuvwxyz", small_buf, sizeof(small_buf));
	assert_null(strstr(small_buf, "abc"));
}

static void test_transient(void **state)
{
	(void)state;
	static const char *const transient[] = {"08006", "08001", "40001", "40P01", "57P01",
						"57P02", "57P03", "53100", "53200", "57014",
						"55P03", "",      NULL};
	static const char *const permanent[] = {"23505", "23503", "22P02", "22021", "42P01",
						"54000", "XX000", "40002", "42501"};
	for (size_t i = 0; i < HZ_ARRAY_LEN(transient); i++)
		assert_true(hz_pg_sqlstate_is_transient(transient[i]));
	for (size_t i = 0; i < HZ_ARRAY_LEN(permanent); i++)
		if (hz_pg_sqlstate_is_transient(permanent[i]))
			fail_msg("%s counted as transient", permanent[i]);
	assert_true(hz_pg_is_transient(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_duty),
		cmocka_unit_test(test_grid_falls_back_to_village),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_kind_metric_and_names),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_transient),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

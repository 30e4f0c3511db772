/* test_cond.c - conditions over time, driven by the events' own clock (no
 * sleeps): hysteresis on a noisy signal, sustained conditions, clear
 * holds, rate of rise, counts in a window, double knock, flapping,
 * matching, the batch journal, and the rules' errors for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "registry/registry.h"
#include "rules/cond.h"
#include "rules/rules.h"
#include "tickets/merge.h"

#define S(x) ((int64_t)(x) * HZ_US_PER_SEC)
#define T0 INT64_C(1790000000000000)

static const char RULES[] =
	"version: 1\n"
	"defaults:\n"
	"  flapping: {clears: 2, within: 10m}\n"
	"thresholds:\n"
	"  - name: smoke\n"
	"    metric: smoke\n"
	"    hazard_type: fire_smoke\n"
	"    above: {yellow: 2, orange: 5, red: 10}\n"
	"    clear: 1.0\n"
	"    auto_clear: true\n"
	"    confirm: {devices: 2, within: 2m, level: red, group: fire}\n"
	"  - name: charger\n"
	"    metric: charger_current\n"
	"    hazard_type: ebike_charging\n"
	"    above: {yellow: 8}\n"
	"    for: 30s\n"
	"    clear: 6\n"
	"    clear_for: 2m\n"
	"    auto_clear: true\n"
	"    flapping: {clears: 0}\n"
	"  - name: heat-ror\n"
	"    metric: temperature\n"
	"    hazard_type: fire_heat\n"
	"    rise: {by: 10, within: 1m, level: orange}\n"
	"  - name: gas-traces\n"
	"    metric: gas_lel\n"
	"    hazard_type: gas_leak\n"
	"    site_kind: [restaurant, kitchen]\n"
	"    above: {blue: 5}\n"
	"    window: {count: 3, within: 10m, per: site}\n"
	"  - name: flood-town-only\n"
	"    metric: water_level\n"
	"    hazard_type: flood\n"
	"    org: T2\n"
	"    risk: [low, general]\n"
	"    above: {blue: 0.5}\n";

static struct hz_registry *reg;
static struct hz_rules *rules;

static int setup(void **state)
{
	(void)state;
	char err[256];
	struct hz_registry_builder *b = hz_registry_builder_new(8, 4, 8, 0, 0);
	assert_int_equal(hz_registry_add_org(b, "C1", "city", HZ_ORG_CITY, NULL, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "K1", "county", HZ_ORG_COUNTY, "C1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "T1", "town", HZ_ORG_TOWN, "K1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "T2", "town", HZ_ORG_TOWN, "K1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "G1", "grid", HZ_ORG_GRID, "T1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "G2", "grid", HZ_ORG_GRID, "T2", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_site(b, "S1", "shop", "restaurant", HZ_RISK_LOW, "G1", NULL, NULL, NAN, NAN, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_site(b, "S2", "river", "embankment", HZ_RISK_GENERAL, "G2", NULL, NULL, NAN, NAN, err, sizeof(err)), 0);
	const char *devs[][3] = {{"D-A", "S1", "smoke_detector"}, {"D-B", "S1", "smoke_detector"},
				 {"D-C", "S1", "charger_monitor"}, {"D-H", "S1", "heat_detector"},
				 {"D-G1", "S1", "gas_detector"}, {"D-G2", "S1", "gas_detector"},
				 {"D-W", "S2", "water_level_gauge"}, {"D-W1", "S1", "water_level_gauge"}};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		assert_int_equal(hz_registry_add_device(b, devs[i][0], devs[i][1], devs[i][2], HZ_METRIC_NONE,
							false, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_builder_finish(b, 1, &reg, err, sizeof(err)), 0);
	rules = hz_rules_parse("t.yaml", RULES, strlen(RULES), err, sizeof(err));
	if (!rules)
		fail_msg("rules: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hz_rules_destroy(rules);
	hz_registry_destroy(reg);
	return 0;
}

static char idbuf[64][32];
static int idn;

static enum hz_mode feed_mode; /* HZ_MODE_ACTUAL unless a test drills */

/* Evaluate one reading at T0 + t_s seconds; returns the intents. */
static size_t feed(struct hz_cond *c, const char *dev, enum hz_metric m, double v, int64_t t_s,
		   struct hz_intent *out)
{
	struct hz_event ev = {.kind = HZ_EV_READING, .at_us = T0 + S(t_s), .device_id = dev,
			      .mode = feed_mode};
	snprintf(idbuf[idn % 64], sizeof(idbuf[0]), "ev-%d", idn);
	ev.event_id = idbuf[idn++ % 64];
	ev.dev = hz_registry_device(reg, dev);
	assert_non_null(ev.dev);
	ev.site = ev.dev->site;
	ev.site_id = ev.site->site_id;
	ev.u.reading.metric = m;
	ev.u.reading.value = v;
	ev.u.reading.unit = "";
	return hz_rules_eval_cond(rules, c, &ev, out, 8);
}

/* Count the ops a sequence of readings gives. */
struct tally {
	int fire, clear, flap, confirmed;
	enum hz_level top;
};
static void count(const struct hz_intent *in, size_t n, struct tally *t)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i].op == HZ_OP_CLEAR)
			t->clear++;
		else if (in[i].op == HZ_OP_FLAP)
			t->flap++;
		else
			t->fire++;
		t->confirmed += in[i].confirmed;
		if (in[i].level > t->top)
			t->top = in[i].level;
	}
}

static void test_hysteresis_noisy_signal(void **state)
{
	(void)state;
	size_t k;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	struct tally t = {0};
	/* a smoke reading hovering around the yellow line (2.0) for ten
	 * minutes: without the clear line at 1.0 every dip would clear */
	double noise[] = {2.2, 1.8, 2.1, 1.6, 2.4, 1.9, 1.5, 2.0, 1.7, 2.3};
	for (int i = 0; i < 60; i++) {
		k = feed(c, "D-A", HZ_METRIC_SMOKE, noise[i % 10], i * 10, in);
		count(in, k, &t);
	}
	assert_int_equal(t.clear, 0);
	assert_int_equal(t.flap, 0);
	assert_true(t.fire > 0);
	assert_int_equal(t.top, HZ_LEVEL_YELLOW);
	/* back under the clear line: one clear */
	k = feed(c, "D-A", HZ_METRIC_SMOKE, 0.8, 610, in);
	count(in, k, &t);
	assert_int_equal(t.clear, 1);
	assert_int_equal(in[0].op, HZ_OP_CLEAR);
	assert_string_equal(in[0].episode_key, "S1|fire_smoke");
	assert_non_null(strstr(in[0].reason, "cleared"));
	hz_cond_destroy(c);
}

static void test_sustained_and_clear_hold(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	/* charger 9 A must hold 30 s */
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 0, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 20, in), 0);
	/* a dip below the threshold restarts the hold */
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 7, 25, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 30, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 59, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 60, in), 1);
	assert_int_equal(in[0].op, HZ_OP_JOIN);
	assert_int_equal(in[0].level, HZ_LEVEL_YELLOW);
	assert_non_null(strstr(in[0].reason, "for 30s"));
	/* clear must hold 2 minutes below 6 A; 7 A is between the lines */
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 5, 70, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 7, 100, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 5, 110, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 5, 229, in), 0);
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 5, 230, in), 1);
	assert_int_equal(in[0].op, HZ_OP_CLEAR);
	/* an out-of-order reading never moves the clock back */
	assert_int_equal(feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 0, in), 0);
	hz_cond_destroy(c);
}

static void test_rate_of_rise(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	/* a slow rise, 1 degC every 10 s: 6 degC a minute, never 10 */
	for (int i = 0; i < 30; i++)
		assert_int_equal(feed(c, "D-H", HZ_METRIC_TEMPERATURE, 20 + i, i * 10, in), 0);
	/* then faster: 9 degC within the minute to 320 s, 13 to 340 s */
	assert_int_equal(feed(c, "D-H", HZ_METRIC_TEMPERATURE, 50, 300, in), 0);
	assert_int_equal(feed(c, "D-H", HZ_METRIC_TEMPERATURE, 55, 320, in), 0);
	size_t n = feed(c, "D-H", HZ_METRIC_TEMPERATURE, 61, 340, in);
	assert_int_equal(n, 1);
	assert_int_equal(in[0].level, HZ_LEVEL_ORANGE);
	assert_string_equal(in[0].hazard_type, "fire_heat");
	assert_non_null(strstr(in[0].reason, "rose"));
	/* without state a rise rule cannot judge, and says nothing */
	assert_int_equal(feed(NULL, "D-H", HZ_METRIC_TEMPERATURE, 200, 400, in), 0);
	hz_cond_destroy(c);
}

static void test_count_in_window(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	/* per site: two gas devices of S1 count together */
	assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 0, in), 0);
	assert_int_equal(feed(c, "D-G2", HZ_METRIC_GAS_LEL, 3, 60, in), 0); /* below: no match */
	assert_int_equal(feed(c, "D-G2", HZ_METRIC_GAS_LEL, 7, 120, in), 0);
	size_t n = feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 300, in);
	assert_int_equal(n, 1);
	assert_int_equal(in[0].level, HZ_LEVEL_BLUE);
	assert_non_null(strstr(in[0].reason, "3 matches within 10m"));
	/* eleven minutes later the first ones are out of the window */
	assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 960, in), 0);
	hz_cond_destroy(c);
}

/* Drill readings keep state apart: they neither count towards a live
 * window nor complete one, and the reverse. */
static void test_drill_state_apart(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 0, in), 0);
	assert_int_equal(feed(c, "D-G2", HZ_METRIC_GAS_LEL, 7, 60, in), 0);
	feed_mode = HZ_MODE_EXERCISE;
	assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 120, in), 0); /* 1st drill match */
	assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 130, in), 0); /* 2nd */
	size_t n = feed(c, "D-G2", HZ_METRIC_GAS_LEL, 6, 140, in);           /* 3rd: the drill fires */
	assert_int_equal(n, 1);
	assert_int_equal(in[0].mode, HZ_MODE_EXERCISE);
	feed_mode = HZ_MODE_ACTUAL;
	n = feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 150, in); /* 3rd live match */
	assert_int_equal(n, 1);
	assert_int_equal(in[0].mode, HZ_MODE_ACTUAL);
	assert_non_null(strstr(in[0].reason, "3 matches within 10m"));
	hz_cond_destroy(c);
}

static void test_window_counts_an_event_once(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	struct hz_event ev = {.kind = HZ_EV_READING, .event_id = "dup-1", .device_id = "D-G1"};
	ev.dev = hz_registry_device(reg, "D-G1");
	ev.site = ev.dev->site;
	ev.u.reading.metric = HZ_METRIC_GAS_LEL;
	ev.u.reading.value = 9;
	ev.u.reading.unit = "";
	/* a producer's duplicate (MQTT QoS 1 redelivery) three times */
	for (int i = 0; i < 3; i++) {
		ev.at_us = T0 + S(i);
		assert_int_equal(hz_rules_eval_cond(rules, c, &ev, in, 8), 0);
	}
	hz_cond_destroy(c);
}

static void test_double_knock(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	size_t n = feed(c, "D-A", HZ_METRIC_SMOKE, 3, 0, in);
	assert_int_equal(n, 1);
	assert_false(in[0].confirmed);
	assert_int_equal(in[0].level, HZ_LEVEL_YELLOW);
	/* the same device again is not a second knock */
	n = feed(c, "D-A", HZ_METRIC_SMOKE, 3, 30, in);
	assert_false(in[0].confirmed);
	/* a second detector of the site within two minutes confirms a fire */
	n = feed(c, "D-B", HZ_METRIC_SMOKE, 2.5, 90, in);
	assert_int_equal(n, 1);
	assert_true(in[0].confirmed);
	assert_int_equal(in[0].level, HZ_LEVEL_RED);
	assert_non_null(strstr(in[0].reason, "double knock"));
	hz_cond_destroy(c);

	/* too far apart: no knock */
	c = hz_cond_new();
	feed(c, "D-A", HZ_METRIC_SMOKE, 3, 0, in);
	feed(c, "D-A", HZ_METRIC_SMOKE, 0.5, 10, in); /* clears */
	n = feed(c, "D-B", HZ_METRIC_SMOKE, 3, 200, in);
	assert_int_equal(n, 1);
	assert_false(in[0].confirmed);
	hz_cond_destroy(c);
}

static void test_episode_clears_with_its_last_device(void **state)
{
	(void)state;
	size_t k;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	struct tally t = {0};
	feed(c, "D-A", HZ_METRIC_SMOKE, 3, 0, in);
	feed(c, "D-B", HZ_METRIC_SMOKE, 3, 300, in); /* outside the knock window */
	k = feed(c, "D-A", HZ_METRIC_SMOKE, 0.2, 310, in);
	count(in, k, &t);
	assert_int_equal(t.clear, 0); /* D-B still in alarm */
	k = feed(c, "D-B", HZ_METRIC_SMOKE, 0.2, 320, in);
	count(in, k, &t);
	assert_int_equal(t.clear, 1);
	hz_cond_destroy(c);
}

static void test_flapping_holds_open(void **state)
{
	(void)state;
	size_t k;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	struct tally t = {0};
	/* open and clear every minute: the third clear within 10 minutes
	 * (more than the 2 allowed) flaps; later ones stay held */
	for (int i = 0; i < 5; i++) {
		k = feed(c, "D-A", HZ_METRIC_SMOKE, 3, i * 60, in);
		count(in, k, &t);
		k = feed(c, "D-A", HZ_METRIC_SMOKE, 0.1, i * 60 + 30, in);
		count(in, k, &t);
	}
	assert_int_equal(t.clear, 2);
	assert_int_equal(t.flap, 1);
	hz_cond_destroy(c);
	/* flapping off for the charger: every clear clears */
	c = hz_cond_new();
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 5; i++) {
		k = feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, i * 1000, in);
		count(in, k, &t);
		k = feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, i * 1000 + 30, in);
		count(in, k, &t);
		k = feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 1, i * 1000 + 40, in);
		count(in, k, &t);
		k = feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 1, i * 1000 + 160, in);
		count(in, k, &t);
	}
	assert_int_equal(t.clear, 5);
	assert_int_equal(t.flap, 0);
	hz_cond_destroy(c);
}

static void test_matching_site_kind_org_risk(void **state)
{
	(void)state;
	struct hz_intent in[8];
	/* water level rule: only under T2, only low/general risk */
	assert_int_equal(feed(NULL, "D-W", HZ_METRIC_WATER_LEVEL, 1, 0, in), 1);
	assert_int_equal(feed(NULL, "D-W1", HZ_METRIC_WATER_LEVEL, 1, 0, in), 0);
	/* gas traces: S1 is a restaurant (matches); nothing without state */
	struct hz_cond *c = hz_cond_new();
	for (int i = 0; i < 3; i++)
		feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, i, in);
	hz_cond_destroy(c);
}

static void test_rollback_replays_exactly(void **state)
{
	(void)state;
	struct hz_cond *c = hz_cond_new();
	struct hz_intent in[8];
	hz_cond_begin(c, 16);
	assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 0, in), 0);
	hz_cond_commit(c);
	/* a batch with the 2nd and 3rd match, rolled back, then built again:
	 * the 3rd match fires the second time too (not counted 5 times) */
	for (int round = 0; round < 3; round++) {
		hz_cond_begin(c, 16);
		assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 10, in), 0);
		assert_int_equal(feed(c, "D-G1", HZ_METRIC_GAS_LEL, 6, 20, in), 1);
		if (round < 2)
			hz_cond_rollback(c);
	}
	hz_cond_commit(c);
	/* new records made inside a rolled-back batch are gone too */
	size_t before = hz_cond_stats(c, NULL);
	hz_cond_begin(c, 16);
	feed(c, "D-A", HZ_METRIC_SMOKE, 3, 30, in);
	feed(c, "D-C", HZ_METRIC_CHARGER_CURRENT, 9, 30, in);
	assert_true(hz_cond_stats(c, NULL) > before);
	hz_cond_rollback(c);
	assert_int_equal(hz_cond_stats(c, NULL), before);
	/* and the smoke device starts afresh: no knock from the lost batch */
	hz_cond_begin(c, 16);
	feed(c, "D-B", HZ_METRIC_SMOKE, 3, 40, in);
	assert_false(in[0].confirmed);
	hz_cond_commit(c);
	hz_cond_destroy(c);
}

static void test_many_devices_grow(void **state)
{
	(void)state;
	/* the table grows outside batches and keeps every record */
	struct hz_cond *c = hz_cond_new();
	struct hz_rule r = {.name = "x", .key = 77, .metric = HZ_METRIC_SMOKE, .cmp = HZ_CMP_ABOVE,
			    .has_clear = true, .clear = 1};
	struct hz_event ev = {.kind = HZ_EV_READING, .event_id = "e"};
	ev.dev = hz_registry_device(reg, "D-A");
	ev.site = ev.dev->site;
	char id[32];
	struct hz_cond_result res;
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		ev.device_id = id;
		ev.at_us = T0;
		hz_cond_step(c, &r, &ev, 3, HZ_LEVEL_YELLOW, &res);
		assert_int_equal(res.action, HZ_COND_FIRE);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		ev.device_id = id;
		ev.at_us = T0 + 1;
		hz_cond_step(c, &r, &ev, 0.5, HZ_LEVEL_NONE, &res);
		/* active before, so it clears (no auto_clear: no intent) */
		assert_int_equal(res.action, HZ_COND_NONE);
	}
	assert_true(hz_cond_stats(c, NULL) >= 5000);
	hz_cond_destroy(c);
}

static void expect_error(const char *body, const char *want)
{
	char text[2048], err[512];
	snprintf(text, sizeof(text), "version: 1\nthresholds:\n%s", body);
	struct hz_rules *r = hz_rules_parse("bad.yaml", text, strlen(text), err, sizeof(err));
	if (r)
		fail_msg("accepted: %s", body);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	assert_non_null(strstr(err, "bad.yaml:"));
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {yellow: 2}, clear: 3}\n",
		     "clear 3 must be below the lowest threshold 2");
	expect_error("  - {name: a, metric: pressure, hazard_type: x, below: {yellow: 2}, clear: 1}\n",
		     "must be above");
	expect_error("  - {name: a, metric: temperature, hazard_type: x, above: {red: 9}, rise: {by: 1, within: 1m, level: red}}\n",
		     "rise rule has no above or below");
	expect_error("  - {name: a, metric: temperature, hazard_type: x, rise: {by: 0, within: 1m, level: red}}\n",
		     "rise needs by > 0");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, window: {count: 3, within: 1m}, clear: 1}\n",
		     "window does not combine");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, window: {count: 30, within: 1m}}\n",
		     "from 2 to 8");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, confirm: {devices: 2}}\n",
		     "confirm needs devices and within");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, auto_clear: yes}\n",
		     "expected true or false");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, risk: [huge]}\n",
		     "unknown risk grade \"huge\"");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, for: soon}\n",
		     "expected a duration");
	expect_error("  - {name: a, metric: smoke, hazard_type: x, above: {red: 9}, site_kind: []}\n",
		     "an empty list matches nothing");
	char err[512];
	const char *off = "version: 1\noffline:\n  after: 1h\n  by_kind: {smoke_detector: soon}\n";
	assert_null(hz_rules_parse("o.yaml", off, strlen(off), err, sizeof(err)));
	assert_non_null(strstr(err, "o.yaml:4:"));
}

static void test_offline_limits(void **state)
{
	(void)state;
	char err[256];
	const char *txt = "version: 1\noffline:\n  after: 2h\n  level: orange\n"
			  "  by_kind: {smoke_detector: 30m, water_level_gauge: off}\n";
	struct hz_rules *r = hz_rules_parse("o.yaml", txt, strlen(txt), err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(hz_rules_offline_after(r, "smoke_detector"), S(1800));
	assert_int_equal(hz_rules_offline_after(r, "water_level_gauge"), 0);
	assert_int_equal(hz_rules_offline_after(r, "gas_detector"), S(7200));
	assert_int_equal(hz_rules_offline_shortest(r), S(1800));
	assert_int_equal(r->offline.level, HZ_LEVEL_ORANGE);
	hz_rules_destroy(r);
}

/* ---- merge: what the conditions' intents do to tickets ---- */

static struct hz_intent mk(enum hz_intent_op op, const char *ev, enum hz_level l, int64_t at)
{
	struct hz_intent in = {.op = op, .kind = HZ_KIND_ALARM, .level = l, .tier = HZ_TIER_GRID,
			       .event_id = ev, .at_us = at, .ack_us = S(60)};
	snprintf(in.episode_key, sizeof(in.episode_key), "S1|fire_smoke");
	snprintf(in.hazard_type, sizeof(in.hazard_type), "fire_smoke");
	snprintf(in.reason, sizeof(in.reason), "r-%s", ev);
	return in;
}

static size_t merge(const struct hz_intent *in, size_t n, const struct hz_open_ticket *open,
		    size_t n_open, struct hz_merged *out)
{
	bool fresh[8] = {true, true, true, true, true, true, true, true};
	size_t order[8];
	return hz_tickets_merge(in, fresh, n, open, n_open, T0, NULL, order, out);
}

static void test_merge_conditions(void **state)
{
	(void)state;
	struct hz_merged m[8];
	struct hz_open_ticket ot = {.tk = {.ticket_id = 7, .kind = HZ_KIND_ALARM,
					   .state = HZ_STATE_DISCOVERED, .level = HZ_LEVEL_YELLOW}};
	snprintf(ot.episode_key, sizeof(ot.episode_key), "S1|fire_smoke");
	/* a clear closes an unacknowledged ticket */
	struct hz_intent in[3] = {mk(HZ_OP_CLEAR, "c1", HZ_LEVEL_NONE, T0)};
	assert_int_equal(merge(in, 1, &ot, 1, m), 1);
	assert_true(m[0].closed && m[0].cleared);
	assert_int_equal(m[0].tk.state, HZ_STATE_CLOSED);
	assert_int_equal(m[0].tk.level, HZ_LEVEL_YELLOW); /* a clear never lowers it */
	/* acknowledged: it stays open, the clear is in its history */
	ot.tk.acked_us = T0 - 1;
	assert_int_equal(merge(in, 1, &ot, 1, m), 1);
	assert_true(m[0].cleared && m[0].history);
	assert_false(m[0].closed);
	assert_int_equal(m[0].tk.state, HZ_STATE_DISCOVERED);
	ot.tk.acked_us = 0;
	/* a clear followed by a new alarm in the batch: it stays open */
	in[1] = mk(HZ_OP_JOIN, "f2", HZ_LEVEL_ORANGE, T0 + 1);
	assert_int_equal(merge(in, 2, &ot, 1, m), 1);
	assert_false(m[0].closed);
	assert_int_equal(m[0].tk.level, HZ_LEVEL_ORANGE);
	/* a clear of an episode with no open ticket does nothing */
	assert_int_equal(merge(in, 1, NULL, 0, m), 0);
	/* fired and cleared in one batch: recorded, opened and closed */
	in[0] = mk(HZ_OP_JOIN, "f1", HZ_LEVEL_YELLOW, T0);
	in[1] = mk(HZ_OP_CLEAR, "c2", HZ_LEVEL_NONE, T0 + 1);
	assert_int_equal(merge(in, 2, NULL, 0, m), 1);
	assert_true(m[0].is_new && m[0].closed && m[0].cleared);
	assert_int_equal(m[0].tk.state, HZ_STATE_CLOSED);
	assert_string_equal(m[0].clr->event_id, "c2");
	assert_int_equal(m[0].ack_due_us, 0);
	/* flapping marks it and keeps it open */
	in[0] = mk(HZ_OP_FLAP, "p1", HZ_LEVEL_NONE, T0);
	assert_int_equal(merge(in, 1, &ot, 1, m), 1);
	assert_true(m[0].flapping && m[0].history);
	assert_int_equal(m[0].tk.state, HZ_STATE_DISCOVERED);
	/* a double knock opens it confirmed, at the knock's level */
	in[0] = mk(HZ_OP_JOIN, "k1", HZ_LEVEL_YELLOW, T0);
	in[1] = mk(HZ_OP_JOIN, "k2", HZ_LEVEL_RED, T0 + 1);
	in[1].confirmed = true;
	assert_int_equal(merge(in, 2, NULL, 0, m), 1);
	assert_true(m[0].is_new && m[0].confirmed);
	assert_int_equal(m[0].tk.state, HZ_STATE_CONFIRMED);
	assert_int_equal(m[0].tk.level, HZ_LEVEL_RED);
	/* and moves an open discovered ticket to confirmed */
	assert_int_equal(merge(in, 2, &ot, 1, m), 1);
	assert_true(m[0].confirmed);
	assert_int_equal(m[0].from_state, HZ_STATE_DISCOVERED);
	assert_int_equal(m[0].tk.state, HZ_STATE_CONFIRMED);
	assert_string_equal(m[0].top->event_id, "k2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hysteresis_noisy_signal),
		cmocka_unit_test(test_sustained_and_clear_hold),
		cmocka_unit_test(test_rate_of_rise),
		cmocka_unit_test(test_count_in_window),
		cmocka_unit_test(test_window_counts_an_event_once),
		cmocka_unit_test(test_drill_state_apart),
		cmocka_unit_test(test_double_knock),
		cmocka_unit_test(test_episode_clears_with_its_last_device),
		cmocka_unit_test(test_flapping_holds_open),
		cmocka_unit_test(test_matching_site_kind_org_risk),
		cmocka_unit_test(test_rollback_replays_exactly),
		cmocka_unit_test(test_many_devices_grow),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_offline_limits),
		cmocka_unit_test(test_merge_conditions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

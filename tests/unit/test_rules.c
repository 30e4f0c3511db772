/* test_rules.c - the rules file (errors with file:line:col) and the pure
 * evaluation of readings, status, reports and warnings into intents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "registry/registry.h"
#include "rules/rules.h"

static const char RULES[] =
	"version: 1\n"
	"defaults:\n"
	"  fault_level: orange\n"
	"thresholds:\n"
	"  - name: smoke\n"
	"    metric: smoke\n"
	"    hazard_type: fire_smoke\n"
	"    above: {yellow: 2, orange: 5, red: 10}\n"
	"  - name: pressure-low\n"
	"    metric: pressure\n"
	"    hazard_type: low_pressure\n"
	"    kind: fault\n"
	"    below: {yellow: 0.1, orange: 0.05}\n"
	"  - name: heat-major-only\n"
	"    metric: temperature\n"
	"    hazard_type: fire_heat\n"
	"    min_risk: major\n"
	"    tier: town\n"
	"    above: {red: 60}\n"
	"reports:\n"
	"  blocked_exit: {level: orange, closeout: 3d, tier: town}\n";

static struct hz_registry *reg;
static struct hz_rules *rules;

static int setup(void **state)
{
	(void)state;
	char err[256];
	struct hz_registry_builder *b = hz_registry_builder_new(8, 4, 4, 0, 0);
	assert_int_equal(hz_registry_add_org(b, "C1", "city", HZ_ORG_CITY, NULL, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "K1", "county", HZ_ORG_COUNTY, "C1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "T1", "town", HZ_ORG_TOWN, "K1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "G1", "grid", HZ_ORG_GRID, "T1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_site(b, "S-LOW", "shop", "shop", HZ_RISK_LOW, "G1", NULL, NULL, NAN, NAN, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_site(b, "S-MAJ", "plant", "chemical_plant", HZ_RISK_MAJOR, "G1", NULL, NULL, NAN, NAN, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D-SMK", "S-LOW", "smoke_detector", HZ_METRIC_SMOKE, false, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D-HEAT-LOW", "S-LOW", "heat_detector", HZ_METRIC_TEMPERATURE, false, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D-HEAT-MAJ", "S-MAJ", "heat_detector", HZ_METRIC_TEMPERATURE, false, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D-PRS", "S-MAJ", "pressure_gauge", HZ_METRIC_PRESSURE, false, 0, 0, err, sizeof(err)), 0);
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

static struct hz_event reading(const char *dev, enum hz_metric m, double v)
{
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_READING;
	ev.event_id = "e1";
	ev.at_us = 1000;
	ev.device_id = dev;
	ev.site_id = ev.town_code = "";
	ev.dev = hz_registry_device(reg, dev);
	ev.site = ev.dev ? ev.dev->site : NULL;
	ev.u.reading.metric = m;
	ev.u.reading.value = v;
	ev.u.reading.unit = "";
	return ev;
}

static void test_threshold_levels(void **state)
{
	(void)state;
	struct hz_intent in[4];
	struct {
		double v;
		enum hz_level want;
	} cases[] = {{0.5, HZ_LEVEL_NONE}, {1.99, HZ_LEVEL_NONE}, {2.0, HZ_LEVEL_YELLOW},
		     {4.9, HZ_LEVEL_YELLOW}, {5, HZ_LEVEL_ORANGE}, {10, HZ_LEVEL_RED},
		     {99, HZ_LEVEL_RED}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hz_event ev = reading("D-SMK", HZ_METRIC_SMOKE, cases[i].v);
		size_t n = hz_rules_eval(rules, &ev, in, 4);
		assert_int_equal(n, cases[i].want ? 1 : 0);
		if (n) {
			assert_int_equal(in[0].level, cases[i].want);
			assert_int_equal(in[0].kind, HZ_KIND_ALARM);
			assert_string_equal(in[0].episode_key, "S-LOW|fire_smoke");
			assert_string_equal(in[0].town_code, "T1");
			assert_string_equal(in[0].county_code, "K1");
			assert_string_equal(in[0].device_id, "D-SMK");
		}
	}
}

static void test_below_and_risk_filter(void **state)
{
	(void)state;
	struct hz_intent in[4];
	struct hz_event ev = reading("D-PRS", HZ_METRIC_PRESSURE, 0.04);
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 1);
	assert_int_equal(in[0].level, HZ_LEVEL_ORANGE);
	assert_int_equal(in[0].kind, HZ_KIND_FAULT);
	ev = reading("D-PRS", HZ_METRIC_PRESSURE, 0.3);
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 0);
	/* min_risk major: the low-risk site's heat does not match */
	ev = reading("D-HEAT-LOW", HZ_METRIC_TEMPERATURE, 80);
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 0);
	ev = reading("D-HEAT-MAJ", HZ_METRIC_TEMPERATURE, 80);
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 1);
	/* rule tier town; a major-risk site is called one tier higher */
	assert_int_equal(in[0].tier, HZ_TIER_COUNTY);
	assert_int_equal(in[0].level, HZ_LEVEL_RED);
}

static void test_status_and_fault(void **state)
{
	(void)state;
	struct hz_intent in[2];
	struct hz_event ev = reading("D-SMK", HZ_METRIC_SMOKE, 0);
	ev.kind = HZ_EV_STATUS;
	ev.u.status.state = HZ_DEV_TAMPER;
	ev.u.status.detail = "cover open";
	assert_int_equal(hz_rules_eval(rules, &ev, in, 2), 1);
	assert_string_equal(in[0].hazard_type, "device_tamper");
	assert_string_equal(in[0].episode_key, "S-LOW|device_tamper|D-SMK");
	assert_int_equal(in[0].level, HZ_LEVEL_ORANGE); /* defaults.fault_level */
	ev.u.status.state = HZ_DEV_HEARTBEAT;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 2), 0);
	/* restored: close intents for each fault episode of the device */
	struct hz_intent many[4];
	ev.u.status.state = HZ_DEV_RESTORED;
	assert_int_equal(hz_rules_eval(rules, &ev, many, 4), 3);
	assert_int_equal(many[1].op, HZ_OP_CLOSE);
	assert_string_equal(many[1].episode_key, "S-LOW|device_tamper|D-SMK");
	hz_rules_fault_intent(rules, &ev, "device_fault", "NaN", &in[0]);
	assert_int_equal(in[0].kind, HZ_KIND_FAULT);
	assert_string_equal(in[0].episode_key, "S-LOW|device_fault|D-SMK");
}

/* A drill's episode is its own: it can never join, raise or close a live
 * ticket of the same site and hazard (nor a restore close a live fault). */
static void test_drill_episodes(void **state)
{
	(void)state;
	struct hz_intent in[4];
	struct hz_event ev = reading("D-SMK", HZ_METRIC_SMOKE, 12);
	ev.mode = HZ_MODE_EXERCISE;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 1);
	assert_int_equal(in[0].mode, HZ_MODE_EXERCISE);
	assert_string_equal(in[0].episode_key, "exercise|S-LOW|fire_smoke");
	ev.mode = HZ_MODE_TEST;
	hz_rules_fault_intent(rules, &ev, "device_fault", "NaN", &in[0]);
	assert_string_equal(in[0].episode_key, "test|S-LOW|device_fault|D-SMK");
	ev.kind = HZ_EV_STATUS;
	ev.u.status.state = HZ_DEV_RESTORED;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 3);
	assert_string_equal(in[1].episode_key, "test|S-LOW|device_tamper|D-SMK");
	ev.mode = HZ_MODE_ACTUAL;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 3);
	assert_string_equal(in[1].episode_key, "S-LOW|device_tamper|D-SMK");
}

static void test_report_closeout(void **state)
{
	(void)state;
	struct hz_intent in[2];
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_REPORT;
	ev.event_id = "r1";
	ev.at_us = 1000000;
	ev.device_id = "";
	ev.site = hz_registry_site(reg, "S-MAJ");
	ev.u.report.category = 1; /* blocked_exit */
	ev.u.report.inspector_id = "grid-07";
	assert_int_equal(hz_rules_eval(rules, &ev, in, 2), 1);
	assert_int_equal(in[0].kind, HZ_KIND_HAZARD);
	assert_int_equal(in[0].level, HZ_LEVEL_ORANGE);
	assert_int_equal(in[0].deadline_us, 1000000 + 3LL * 86400 * 1000000);
	ev.u.report.supervised = true; /* 15-day close-out */
	hz_rules_eval(rules, &ev, in, 2);
	assert_int_equal(in[0].deadline_us, 1000000 + 15LL * 86400 * 1000000);
	ev.u.report.level = HZ_LEVEL_RED;
	hz_rules_eval(rules, &ev, in, 2);
	assert_int_equal(in[0].level, HZ_LEVEL_RED);
}

static void test_warning_areas(void **state)
{
	(void)state;
	struct hz_intent in[4];
	const char *areas[] = {"T1", "T2"};
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_WARNING;
	ev.event_id = "w1";
	ev.device_id = "";
	ev.u.warning.warning_id = "CAP-1";
	ev.u.warning.type = HZ_WARN_ALERT;
	ev.u.warning.level = HZ_LEVEL_ORANGE;
	ev.u.warning.hazard_type = "rainstorm";
	ev.u.warning.headline = "heavy rain";
	ev.u.warning.area_codes.v = areas;
	ev.u.warning.area_codes.n = 2;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 2);
	assert_string_equal(in[1].episode_key, "warning|CAP-1|T2");
	assert_int_equal(in[1].kind, HZ_KIND_WARNING);
	assert_int_equal(in[1].op, HZ_OP_JOIN);
	/* an update or a cancel acts on the episode of the alert it references */
	const char *refs[] = {"CAP-1"};
	ev.u.warning.warning_id = "CAP-2";
	ev.u.warning.references.v = refs;
	ev.u.warning.references.n = 1;
	ev.u.warning.type = HZ_WARN_UPDATE;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 2);
	assert_string_equal(in[0].episode_key, "warning|CAP-1|T1");
	assert_int_equal(in[0].op, HZ_OP_UPDATE);
	ev.u.warning.type = HZ_WARN_CANCEL;
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 2);
	assert_int_equal(in[1].op, HZ_OP_CLOSE);
	assert_string_equal(in[1].episode_key, "warning|CAP-1|T2");
}

static void expect_rules_error(const char *text, const char *want)
{
	char err[512] = "";
	struct hz_rules *r = hz_rules_parse("bad.yaml", text, strlen(text), err, sizeof(err));
	assert_null(r);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_rule_errors(void **state)
{
	(void)state;
	expect_rules_error("version: 2\n", "bad.yaml:1:10: expected \"version: 1\"");
	expect_rules_error("version: 1\nthresholds:\n  - name: x\n    metric: smok\n", "bad.yaml:4:13: unknown metric \"smok\"");
	expect_rules_error("version: 1\nthresholds:\n  - name: x\n    metric: smoke\n    hazard_type: f\n    above: {red: 2, yellow: 5}\n", "thresholds must rise");
	expect_rules_error("version: 1\nthresholds:\n  - name: x\n    metric: smoke\n    hazard_type: f\n    above: {yellow: lots}\n", "bad.yaml:6:21: expected a finite number");
	expect_rules_error("version: 1\nthresholds: [\n", "bad.yaml:");
	expect_rules_error("version: 1\nrepotrs: {}\n", "unknown section \"repotrs\"");
	expect_rules_error("version: 1\nversion: 1\n", "duplicate key");
	expect_rules_error("version: 1\na: &x 1\nb: *x\n", "anchors are not allowed");
	expect_rules_error("version: 1\nreports: &r {}\n", "bad.yaml:2:10: anchors are not allowed");
	expect_rules_error("", "bad.yaml:1:1: empty document");
	expect_rules_error("# only a comment\n", "bad.yaml:2:1: empty document");
	expect_rules_error("version: 1\nthresholds:\n  - name: \xff\n", "bad.yaml:3:11: invalid leading UTF-8");
	expect_rules_error("version: 1\ndefaults: {supervised_closeout: nan}\n", "expected a duration");
	expect_rules_error("version: 1\nrating: {red: {open_red: 1e10}}\n", "expected a whole number");
	expect_rules_error("version: 1\nreports:\n  fire_breathing: {level: red}\n", "unknown hazard category \"fire_breathing\"");
}

#define D (86400LL * 1000000)
#define S 1000000LL

static void test_closeout_by_risk(void **state)
{
	(void)state;
	const char *text = "version: 1\n"
			   "defaults:\n"
			   "  supervised_closeout: 15d\n"
			   "  supervised_closeout_by_risk: {major: 5d, significant: 10d}\n"
			   "reports:\n"
			   "  blocked_exit: {level: orange, closeout: 3d, closeout_by_risk: {major: 1d}}\n"
			   "  other: {level: blue}\n";
	char err[512] = "";
	struct hz_rules *r = hz_rules_parse("c.yaml", text, strlen(text), err, sizeof(err));
	assert_non_null(r);
	/* blocked_exit = 1, other = 10 */
	assert_int_equal(hz_rules_closeout(r, 1, false, 4 /* major */), 1 * D);
	assert_int_equal(hz_rules_closeout(r, 1, false, 3 /* significant */), 3 * D);
	assert_int_equal(hz_rules_closeout(r, 1, false, 0 /* unknown */), 3 * D);
	assert_int_equal(hz_rules_closeout(r, 10, false, 4), 0);
	assert_int_equal(hz_rules_closeout(r, 1, true, 4), 5 * D);
	assert_int_equal(hz_rules_closeout(r, 1, true, 3), 10 * D);
	assert_int_equal(hz_rules_closeout(r, 1, true, 2 /* general */), 15 * D);
	assert_int_equal(hz_rules_closeout(r, 0, false, 4), 0);
	/* the evaluation uses the site's grade: S-MAJ is a major-risk site */
	struct hz_intent in[2];
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_REPORT;
	ev.event_id = "r1";
	ev.at_us = 1000000;
	ev.device_id = "";
	ev.site = hz_registry_site(reg, "S-MAJ");
	ev.u.report.category = 1;
	ev.u.report.inspector_id = "grid-07";
	assert_int_equal(hz_rules_eval(r, &ev, in, 2), 1);
	assert_int_equal(in[0].deadline_us, 1000000 + 1 * D);
	ev.u.report.supervised = true;
	hz_rules_eval(r, &ev, in, 2);
	assert_int_equal(in[0].deadline_us, 1000000 + 5 * D);
	/* defaults: reminders 3d and 1d */
	assert_int_equal(r->n_reminder, 2);
	assert_int_equal(r->reminder_us[0], 3 * D);
	assert_int_equal(r->reminder_us[1], 1 * D);
	hz_rules_destroy(r);
}

static void test_reminder_parse(void **state)
{
	(void)state;
	const char *text = "version: 1\ndefaults:\n  closeout_reminders: [2s, 4s, 1h]\n";
	char err[512] = "";
	struct hz_rules *r = hz_rules_parse("m.yaml", text, strlen(text), err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->n_reminder, 3);
	/* kept longest first, whatever the order written */
	assert_int_equal(r->reminder_us[0], 3600 * S);
	assert_int_equal(r->reminder_us[1], 4 * S);
	assert_int_equal(r->reminder_us[2], 2 * S);
	hz_rules_destroy(r);
	text = "version: 1\ndefaults:\n  closeout_reminders: []\n";
	r = hz_rules_parse("m.yaml", text, strlen(text), err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->n_reminder, 0);
	hz_rules_destroy(r);

	expect_rules_error("version: 1\ndefaults:\n  closeout_reminders: 3d\n",
			   "bad.yaml:3:23: closeout_reminders: expected a list of durations");
	expect_rules_error("version: 1\ndefaults:\n  closeout_reminders: [3d, soon]\n",
			   "bad.yaml:3:28: expected a duration such as 30s, 5m, 15d, got \"soon\"");
	expect_rules_error("version: 1\ndefaults:\n  closeout_reminders: [3d, 0s]\n",
			   "bad.yaml:3:28: closeout_reminders: a reminder must come before the deadline");
	expect_rules_error("version: 1\ndefaults:\n  closeout_reminders: [1d, 24h]\n",
			   "bad.yaml:3:28: closeout_reminders: \"24h\" is listed twice");
	expect_rules_error("version: 1\ndefaults:\n  closeout_reminders: [1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s]\n",
			   "at most 8 reminders");
	expect_rules_error("version: 1\nreports:\n  blocked_exit: {closeout_by_risk: {huge: 1d}}\n",
			   "bad.yaml:3:43: unknown risk grade \"huge\" in closeout_by_risk");
	expect_rules_error("version: 1\nreports:\n  blocked_exit: {closeout_by_risk: 1d}\n",
			   "bad.yaml:3:36: closeout_by_risk: expected a map of risk grade: duration");
	expect_rules_error("version: 1\ndefaults:\n  supervised_closeout_by_risk: {major: 0s}\n",
			   "bad.yaml:3:40: major: a close-out deadline must be longer than 0");
	expect_rules_error("version: 1\ndefaults:\n  supervised_closeout_by_risk: {major: 2 weeks}\n",
			   "bad.yaml:3:40: expected a duration");
}

/* The schedule, by an injected clock: no sleeps. */
static void test_reminder_schedule(void **state)
{
	(void)state;
	const int64_t sched[] = {3 * D, 1 * D};
	const int64_t open = 1000 * D, deadline = open + 15 * D;
	int64_t before;
	/* a new ticket: the 3-day reminder first */
	assert_int_equal(hz_reminder_next(sched, 2, deadline, INT64_MAX, open, &before),
			 deadline - 3 * D);
	assert_int_equal(before, 3 * D);
	/* after it fired: the 1-day one */
	assert_int_equal(hz_reminder_next(sched, 2, deadline, 3 * D, deadline - 3 * D, &before),
			 deadline - 1 * D);
	assert_int_equal(before, 1 * D);
	/* after the last: none */
	assert_int_equal(hz_reminder_next(sched, 2, deadline, 1 * D, deadline - 1 * D, &before), 0);
	assert_int_equal(before, 0);
	/* a 2-day close-out: the 3-day reminder is already past when it opens,
	 * so it is skipped, not fired late */
	assert_int_equal(hz_reminder_next(sched, 2, open + 2 * D, INT64_MAX, open, &before),
			 open + 1 * D);
	assert_int_equal(before, 1 * D);
	/* a 1-day close-out: the 1-day reminder would be due at the opening
	 * itself: skipped too */
	assert_int_equal(hz_reminder_next(sched, 2, open + 1 * D, INT64_MAX, open, &before), 0);
	/* no deadline, or no schedule: none */
	assert_int_equal(hz_reminder_next(sched, 2, 0, INT64_MAX, open, &before), 0);
	assert_int_equal(hz_reminder_next(sched, 0, deadline, INT64_MAX, open, &before), 0);

	/* firing: on time, the one claimed */
	assert_int_equal(hz_reminder_due(sched, 2, deadline, 3 * D, deadline - 3 * D), 3 * D);
	assert_int_equal(hz_reminder_due(sched, 2, deadline, 3 * D, deadline - 2 * D), 3 * D);
	/* the daemon was down across both: only the latest is fired */
	assert_int_equal(hz_reminder_due(sched, 2, deadline, 3 * D, deadline - 1 * D + S), 1 * D);
	/* and then nothing is left */
	assert_int_equal(hz_reminder_next(sched, 2, deadline, 1 * D, deadline - 1 * D + S, &before),
			 0);
	/* down past the deadline itself: no reminder, the overdue escalation
	 * takes over */
	assert_int_equal(hz_reminder_due(sched, 2, deadline, 3 * D, deadline), 0);
	assert_int_equal(hz_reminder_due(sched, 2, deadline, 3 * D, deadline + S), 0);
	/* the claimed reminder is honoured even if a reload removed it */
	const int64_t other[] = {2 * D};
	assert_int_equal(hz_reminder_due(other, 1, deadline, 3 * D, deadline - 3 * D), 3 * D);
	assert_int_equal(hz_reminder_next(other, 1, deadline, 3 * D, deadline - 3 * D, &before),
			 deadline - 2 * D);

	/* second-scale, as the integration test uses: 6 s, [4s, 2s] */
	const int64_t fast[] = {4 * S, 2 * S};
	assert_int_equal(hz_reminder_next(fast, 2, 6 * S, INT64_MAX, 0, &before), 2 * S);
	assert_int_equal(before, 4 * S);
}

static void test_duration_format(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(hz_duration_format(3 * D, b, sizeof(b)), "3d");
	assert_string_equal(hz_duration_format(36 * 3600 * S, b, sizeof(b)), "36h");
	assert_string_equal(hz_duration_format(90 * 60 * S, b, sizeof(b)), "90m");
	assert_string_equal(hz_duration_format(4 * S, b, sizeof(b)), "4s");
	assert_string_equal(hz_duration_format(1500 * 1000, b, sizeof(b)), "1500ms");
	assert_string_equal(hz_duration_format(1234567, b, sizeof(b)), "1.23s");
	assert_string_equal(hz_duration_format(250 * 1000, b, sizeof(b)), "250ms");
}

static void test_escalation_steps(void **state)
{
	(void)state;
	char err[512];
	const char *text = "version: 1\n"
			   "escalation:\n"
			   "  ack:\n"
			   "    red: {grid: 2s, town: 3s, county: 4s, city: 5s}\n"
			   "  repeat: 7s\n"
			   "  major_risk: {start_higher: false, factor: 0.5}\n";
	struct hz_rules *r = hz_rules_parse("e.yaml", text, strlen(text), err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	const int64_t s = 1000000;
	assert_int_equal(hz_escalate_ack_due(r, HZ_LEVEL_RED, HZ_TIER_GRID, HZ_RISK_LOW, 100), 100 + 2 * s);
	assert_int_equal(hz_escalate_ack_due(r, HZ_LEVEL_RED, HZ_TIER_GRID, HZ_RISK_MAJOR, 100), 100 + s);
	/* levels the file does not name keep the built-in deadlines (blue: 1 h at grid) */
	assert_int_equal(hz_escalate_ack_due(r, HZ_LEVEL_BLUE, HZ_TIER_GRID, HZ_RISK_LOW, 100), 100 + 3600 * s);
	struct hz_escalation_step st;
	hz_escalate_next(r, HZ_LEVEL_RED, HZ_TIER_GRID, 0, HZ_RISK_LOW, 1000, &st);
	assert_int_equal(st.to_tier, HZ_TIER_TOWN);
	assert_int_equal(st.repeat, 0);
	assert_int_equal(st.next_due_us, 1000 + 3 * s);
	hz_escalate_next(r, HZ_LEVEL_RED, HZ_TIER_COUNTY, 0, HZ_RISK_LOW, 1000, &st);
	assert_int_equal(st.to_tier, HZ_TIER_CITY);
	assert_int_equal(st.next_due_us, 1000 + 5 * s);
	/* the top tier repeats its notice */
	hz_escalate_next(r, HZ_LEVEL_RED, HZ_TIER_CITY, 2, HZ_RISK_LOW, 1000, &st);
	assert_int_equal(st.to_tier, HZ_TIER_CITY);
	assert_int_equal(st.repeat, 3);
	assert_int_equal(st.next_due_us, 1000 + 7 * s);
	hz_rules_destroy(r);
	/* defaults exist without an escalation section */
	assert_true(rules->esc.ack_us[HZ_LEVEL_RED][HZ_TIER_GRID] > 0);
	expect_rules_error("version: 1\nescalation:\n  ack:\n    red: {grd: 2s}\n", "unknown tier \"grd\"");
	expect_rules_error("version: 1\nescalation:\n  major_risk: {factor: 3}\n", "factor: expected a number in (0, 1]");
}

static void test_town_rating(void **state)
{
	(void)state;
	struct hz_town_counts c = {0, 0, 0, 0};
	assert_int_equal(hz_rules_rate(rules, &c), HZ_RATING_GREEN);
	c.open = 4;
	assert_int_equal(hz_rules_rate(rules, &c), HZ_RATING_GREEN);
	c.open = 5; /* default yellow: 5 open */
	assert_int_equal(hz_rules_rate(rules, &c), HZ_RATING_YELLOW);
	c = (struct hz_town_counts){0, 1, 1, 0};
	assert_int_equal(hz_rules_rate(rules, &c), HZ_RATING_YELLOW);
	c = (struct hz_town_counts){1, 0, 1, 0}; /* default red: any red ticket */
	assert_int_equal(hz_rules_rate(rules, &c), HZ_RATING_RED);
	c = (struct hz_town_counts){0, 0, 3, 3};
	assert_int_equal(hz_rules_rate(rules, &c), HZ_RATING_RED);
	char err[512];
	const char *text = "version: 1\nrating:\n  red: {overdue: 10}\n  yellow: {open: 2}\n";
	struct hz_rules *r = hz_rules_parse("r.yaml", text, strlen(text), err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	c = (struct hz_town_counts){1, 0, 1, 0}; /* red threshold replaced: a red ticket alone */
	assert_int_equal(hz_rules_rate(r, &c), HZ_RATING_GREEN);
	c.open = 2;
	assert_int_equal(hz_rules_rate(r, &c), HZ_RATING_YELLOW);
	hz_rules_destroy(r);
	expect_rules_error("version: 1\nrating:\n  red: {open: 2}\n", "unknown threshold \"open\"");
	expect_rules_error("version: 1\nrating:\n  yellow: {open: 1.5}\n", "whole number");
}

static void test_shipped_rules_load(void **state)
{
	(void)state;
	char err[512];
	struct hz_rules *r = hz_rules_load("deploy/rules.yaml", err, sizeof(err));
	if (!r)
		fail_msg("deploy/rules.yaml: %s", err);
	assert_true(r->n_rule >= 8);
	hz_rules_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold_levels),
		cmocka_unit_test(test_below_and_risk_filter),
		cmocka_unit_test(test_status_and_fault),
		cmocka_unit_test(test_drill_episodes),
		cmocka_unit_test(test_report_closeout),
		cmocka_unit_test(test_warning_areas),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_escalation_steps),
		cmocka_unit_test(test_town_rating),
		cmocka_unit_test(test_shipped_rules_load),
		cmocka_unit_test(test_closeout_by_risk),
		cmocka_unit_test(test_reminder_parse),
		cmocka_unit_test(test_reminder_schedule),
		cmocka_unit_test(test_duration_format),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

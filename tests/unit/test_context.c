/* test_context.c - silences, inhibition and area raises applied to intents
 * (rules/context.c) with an injected clock, their rule sections' errors,
 * and what merge makes of silenced and held intents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "registry/registry.h"
#include "rules/context.h"
#include "rules/rules.h"
#include "tickets/merge.h"

#define SEC HZ_US_PER_SEC
#define T0 (INT64_C(1800000000) * SEC)

static const char RULES[] =
	"version: 1\n"
	"thresholds:\n"
	"  - {name: co, metric: co, hazard_type: co_poisoning, above: {blue: 35, yellow: 50, orange: 100, red: 200}}\n"
	"  - {name: water, metric: water_level, hazard_type: flood, above: {blue: 0.5, yellow: 1.0, orange: 1.5, red: 2.0}}\n"
	"escalation:\n"
	"  major_risk: {start_higher: false}\n"
	"inhibit:\n"
	"  - name: fire-holds\n"
	"    while: {kind: alarm, hazard_type: [fire_smoke, fire_heat], min_level: orange, scope: site}\n"
	"    hold: {kind: alarm, hazard_type: [fire_heat, co_poisoning], below: holder}\n"
	"  - name: outage-holds\n"
	"    while: {kind: warning, hazard_type: power_outage, scope: area}\n"
	"    hold: {hazard_type: device_fault, below: red}\n"
	"area_raise:\n"
	"  - {name: flood-raise, warning: [flood], min_level: yellow, raises: flood, by: 1}\n";

static struct hz_registry *reg;
static struct hz_rules *rules;

static int setup(void **state)
{
	(void)state;
	char err[512];
	struct hz_registry_builder *b = hz_registry_builder_new(8, 4, 4, 0, 0);
	assert_non_null(b);
	assert_int_equal(hz_registry_add_org(b, "C", "city", HZ_ORG_CITY, NULL, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "K", "county", HZ_ORG_COUNTY, "C", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "T1", "town 1", HZ_ORG_TOWN, "K", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "T2", "town 2", HZ_ORG_TOWN, "K", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "V1", "village", HZ_ORG_VILLAGE, "T1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_org(b, "G1", "grid", HZ_ORG_GRID, "V1", err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_site(b, "S1", "shop", "shop", HZ_RISK_GENERAL, "G1", NULL, NULL,
					      NAN, NAN, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_site(b, "S2", "shed", "shop", HZ_RISK_GENERAL, "T2", NULL, NULL,
					      NAN, NAN, err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D1", "S1", "co_detector", HZ_METRIC_CO, false, 0, 0,
						err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D2", "S1", "co_detector", HZ_METRIC_CO, false, 0, 0,
						err, sizeof(err)), 0);
	assert_int_equal(hz_registry_add_device(b, "D3", "S2", "co_detector", HZ_METRIC_CO, false, 0, 0,
						err, sizeof(err)), 0);
	assert_int_equal(hz_registry_builder_finish(b, 1, &reg, err, sizeof(err)), 0);
	rules = hz_rules_parse("ctx.yaml", RULES, strlen(RULES), err, sizeof(err));
	if (!rules)
		fail_msg("%s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hz_rules_destroy(rules);
	hz_registry_destroy(reg);
	return 0;
}

/* Evaluate a CO (or water) reading from a device at time `at`. */
static size_t eval(const char *dev, enum hz_metric metric, double v, int64_t at,
		   struct hz_intent *out)
{
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_READING;
	ev.event_id = "e1";
	ev.device_id = dev;
	ev.site_id = "";
	ev.town_code = "";
	ev.at_us = at;
	ev.dev = hz_registry_device(reg, dev);
	ev.site = ev.dev->site;
	ev.u.reading.metric = metric;
	ev.u.reading.value = v;
	return hz_rules_eval(rules, &ev, out, 4);
}

static void test_silence_targets_and_window(void **state)
{
	(void)state;
	struct hz_context *c = hz_context_new();
	struct hz_silence s[] = {
		{.silence_id = 7, .kind = HZ_SILENCE_ORG, .starts_us = T0, .ends_us = T0 + 3600 * SEC},
	};
	snprintf(s[0].target, sizeof(s[0].target), "T1"); /* the town covers G1's site S1 */
	assert_int_equal(hz_context_set_silences(c, s, 1), 0);
	struct hz_intent in[4];
	const struct hz_site *s1 = hz_registry_site(reg, "S1"), *s2 = hz_registry_site(reg, "S2");
	struct hz_context_counts cnt = {0};

	assert_int_equal(eval("D1", HZ_METRIC_CO, 60, T0 + 10 * SEC, in), 1);
	assert_true(in[0].ack_us > 0);
	hz_context_apply(rules, c, s1, in, 1, T0 + 20 * SEC, &cnt);
	assert_int_equal(in[0].silence_id, 7);
	assert_int_equal(in[0].ack_us, 0);
	assert_int_equal(in[0].level, HZ_LEVEL_YELLOW);
	assert_non_null(strstr(in[0].reason, "silenced by silence 7: rule co"));
	assert_int_equal(cnt.silenced, 1);

	/* another town's site is not covered */
	eval("D3", HZ_METRIC_CO, 60, T0 + 10 * SEC, in);
	hz_context_apply(rules, c, s2, in, 1, T0 + 20 * SEC, &cnt);
	assert_int_equal(in[0].silence_id, 0);
	assert_true(in[0].ack_us > 0);

	/* the window: not before it starts, not after it ends, and not for an
	 * event from before the start processed during it */
	int64_t times[][2] = {{T0 - SEC, T0 - SEC}, {T0 + 3600 * SEC, T0 + 3600 * SEC}, {T0 - SEC, T0 + SEC}};
	for (size_t k = 0; k < HZ_ARRAY_LEN(times); k++) {
		eval("D1", HZ_METRIC_CO, 60, times[k][0], in);
		hz_context_apply(rules, c, s1, in, 1, times[k][1], NULL);
		assert_int_equal(in[0].silence_id, 0);
	}

	/* red is never silenced */
	eval("D1", HZ_METRIC_CO, 250, T0 + 10 * SEC, in);
	assert_int_equal(in[0].level, HZ_LEVEL_RED);
	hz_context_apply(rules, c, s1, in, 1, T0 + 20 * SEC, NULL);
	assert_int_equal(in[0].silence_id, 0);
	assert_true(in[0].ack_us > 0);

	/* by device and by site */
	struct hz_silence d[2] = {{.silence_id = 8, .kind = HZ_SILENCE_DEVICE, .starts_us = T0, .ends_us = T0 + 60 * SEC},
				  {.silence_id = 9, .kind = HZ_SILENCE_SITE, .starts_us = T0, .ends_us = T0 + 60 * SEC}};
	snprintf(d[0].target, sizeof(d[0].target), "D2");
	snprintf(d[1].target, sizeof(d[1].target), "S2");
	assert_int_equal(hz_context_set_silences(c, d, 2), 0);
	eval("D1", HZ_METRIC_CO, 60, T0 + SEC, in);
	hz_context_apply(rules, c, s1, in, 1, T0 + SEC, NULL);
	assert_int_equal(in[0].silence_id, 0); /* D1 is not D2 */
	eval("D2", HZ_METRIC_CO, 60, T0 + SEC, in);
	hz_context_apply(rules, c, s1, in, 1, T0 + SEC, NULL);
	assert_int_equal(in[0].silence_id, 8);
	eval("D3", HZ_METRIC_CO, 60, T0 + SEC, in);
	hz_context_apply(rules, c, s2, in, 1, T0 + SEC, NULL);
	assert_int_equal(in[0].silence_id, 9);
	hz_context_destroy(c);
}

static struct hz_ctx_ticket tk(int64_t id, enum hz_kind kind, enum hz_level l, const char *type,
			       const char *site, const char *town, const char *ep)
{
	struct hz_ctx_ticket t;
	memset(&t, 0, sizeof(t));
	t.ticket_id = id;
	t.kind = kind;
	t.level = l;
	snprintf(t.hazard_type, sizeof(t.hazard_type), "%s", type);
	snprintf(t.site_id, sizeof(t.site_id), "%s", site);
	snprintf(t.town_code, sizeof(t.town_code), "%s", town);
	snprintf(t.episode_key, sizeof(t.episode_key), "%s", ep);
	return t;
}

static void test_inhibit_redirects(void **state)
{
	(void)state;
	struct hz_context *c = hz_context_new();
	struct hz_ctx_ticket t = tk(12, HZ_KIND_ALARM, HZ_LEVEL_ORANGE, "fire_smoke", "S1", "T1", "S1|fire_smoke");
	/* own commits feed the snapshot; types no rule names are ignored */
	assert_int_equal(hz_context_note_ticket(c, rules, &t, true), 0);
	struct hz_ctx_ticket other = tk(13, HZ_KIND_ALARM, HZ_LEVEL_RED, "gas_leak", "S1", "T1", "S1|gas_leak");
	assert_int_equal(hz_context_note_ticket(c, rules, &other, true), 0);
	assert_int_equal(hz_context_count_tickets(c), 1);
	const struct hz_site *s1 = hz_registry_site(reg, "S1"), *s2 = hz_registry_site(reg, "S2");
	struct hz_intent in[4];
	struct hz_context_counts cnt = {0};

	eval("D1", HZ_METRIC_CO, 60, T0, in); /* yellow CO below the orange fire */
	hz_context_apply(rules, c, s1, in, 1, T0, &cnt);
	assert_true(in[0].held);
	assert_string_equal(in[0].episode_key, "S1|fire_smoke");
	assert_string_equal(in[0].own_episode, "S1|co_poisoning");
	assert_non_null(strstr(in[0].reason, "held by fire-holds on fire_smoke ticket 12: rule co"));
	assert_int_equal(cnt.held, 1);
	/* undone when the holder closed meanwhile */
	hz_context_unhold(&in[0]);
	assert_false(in[0].held);
	assert_string_equal(in[0].episode_key, "S1|co_poisoning");
	assert_int_equal(strncmp(in[0].reason, "rule co", 7), 0);

	eval("D1", HZ_METRIC_CO, 120, T0, in); /* orange: not lower than the holder */
	hz_context_apply(rules, c, s1, in, 1, T0, NULL);
	assert_false(in[0].held);
	eval("D1", HZ_METRIC_CO, 250, T0, in); /* red: never held */
	hz_context_apply(rules, c, s1, in, 1, T0, NULL);
	assert_false(in[0].held);
	eval("D3", HZ_METRIC_CO, 60, T0, in); /* another site */
	hz_context_apply(rules, c, s2, in, 1, T0, NULL);
	assert_false(in[0].held);

	/* a closed holder holds nothing */
	assert_int_equal(hz_context_note_ticket(c, rules, &t, false), 0);
	assert_int_equal(hz_context_count_tickets(c), 0);
	eval("D1", HZ_METRIC_CO, 60, T0, in);
	hz_context_apply(rules, c, s1, in, 1, T0, NULL);
	assert_false(in[0].held);

	/* area scope: a town's power outage holds device faults at its sites */
	struct hz_ctx_ticket w = tk(20, HZ_KIND_WARNING, HZ_LEVEL_YELLOW, "power_outage", "", "T1",
				    "warning|P1|T1");
	w.deadline_us = T0 + 60 * SEC;
	assert_int_equal(hz_context_set_tickets(c, &w, 1), 0);
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_STATUS;
	ev.event_id = "f1";
	ev.device_id = "D1";
	ev.at_us = T0;
	ev.dev = hz_registry_device(reg, "D1");
	ev.site = s1;
	ev.u.status.state = HZ_DEV_FAULT;
	ev.u.status.detail = "";
	assert_int_equal(hz_rules_eval(rules, &ev, in, 4), 1);
	hz_context_apply(rules, c, s1, in, 1, T0, NULL);
	assert_true(in[0].held);
	assert_string_equal(in[0].episode_key, "warning|P1|T1");
	/* not after the warning expired */
	hz_rules_eval(rules, &ev, in, 4);
	hz_context_apply(rules, c, s1, in, 1, T0 + 61 * SEC, NULL);
	assert_false(in[0].held);
	hz_context_destroy(c);
}

static void test_area_raise(void **state)
{
	(void)state;
	struct hz_context *c = hz_context_new();
	struct hz_ctx_ticket w[] = {
		tk(30, HZ_KIND_WARNING, HZ_LEVEL_ORANGE, "flood", "", "V1", "warning|F1|V1"),
		tk(31, HZ_KIND_WARNING, HZ_LEVEL_BLUE, "flood", "", "T2", "warning|F2|T2"),
	};
	assert_int_equal(hz_context_set_tickets(c, w, 2), 0);
	struct hz_intent in[4];
	struct hz_context_counts cnt = {0};
	/* water-level gauges: reuse the CO devices' sites with a water reading */
	eval("D1", HZ_METRIC_WATER_LEVEL, 1.1, T0, in);
	assert_int_equal(in[0].level, HZ_LEVEL_YELLOW);
	int64_t yellow_ack = in[0].ack_us;
	hz_context_apply(rules, c, hz_registry_site(reg, "S1"), in, 1, T0, &cnt);
	assert_int_equal(in[0].level, HZ_LEVEL_ORANGE); /* V1 is in S1's chain */
	assert_int_equal(in[0].raised_from, HZ_LEVEL_YELLOW);
	assert_true(in[0].ack_us < yellow_ack);          /* orange is called sooner */
	assert_non_null(strstr(in[0].reason, "raised yellow->orange by flood warning ticket 30"));
	assert_int_equal(cnt.raised, 1);
	/* a blue warning is below the rule's min_level; CO is not a raised type */
	eval("D3", HZ_METRIC_WATER_LEVEL, 1.1, T0, in);
	hz_context_apply(rules, c, hz_registry_site(reg, "S2"), in, 1, T0, NULL);
	assert_int_equal(in[0].level, HZ_LEVEL_YELLOW);
	eval("D1", HZ_METRIC_CO, 60, T0, in);
	hz_context_apply(rules, c, hz_registry_site(reg, "S1"), in, 1, T0, NULL);
	assert_int_equal(in[0].level, HZ_LEVEL_YELLOW);
	/* a raise to red escapes a silence */
	struct hz_silence s = {.silence_id = 5, .kind = HZ_SILENCE_SITE, .starts_us = T0 - SEC,
			       .ends_us = T0 + SEC};
	snprintf(s.target, sizeof(s.target), "S1");
	assert_int_equal(hz_context_set_silences(c, &s, 1), 0);
	eval("D1", HZ_METRIC_WATER_LEVEL, 1.6, T0, in); /* orange -> red */
	hz_context_apply(rules, c, hz_registry_site(reg, "S1"), in, 1, T0, NULL);
	assert_int_equal(in[0].level, HZ_LEVEL_RED);
	assert_int_equal(in[0].silence_id, 0);
	assert_true(in[0].ack_us > 0);
	hz_context_destroy(c);
}

static void expect_error(const char *section, const char *want)
{
	char text[2048], err[512];
	snprintf(text, sizeof(text), "version: 1\n%s", section);
	struct hz_rules *r = hz_rules_parse("bad.yaml", text, strlen(text), err, sizeof(err));
	if (r)
		fail_msg("accepted: %s", section);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_section_errors(void **state)
{
	(void)state;
	expect_error("inhibit: {a: 1}\n", "bad.yaml:2:10: inhibit: expected a list of rules");
	expect_error("inhibit:\n  - name: x\n    while: {hazard_type: fire_smoke}\n",
		     "bad.yaml:3:5: inhibit rule \"x\" needs while and hold");
	expect_error("inhibit:\n  - name: x\n    while: {hazard_type: fire_smoke, scope: street}\n"
		     "    hold: {hazard_type: co_poisoning}\n",
		     "bad.yaml:4:45: scope: expected site or area");
	expect_error("inhibit:\n  - name: x\n    while: {hazard_type: fire_smoke}\n"
		     "    hold: {hazard_type: co_poisoning, below: blue}\n",
		     "bad.yaml:5:46: below: blue would hold nothing");
	expect_error("inhibit:\n  - name: x\n    while: {min_level: purple, hazard_type: a}\n"
		     "    hold: {hazard_type: b}\n",
		     "bad.yaml:4:24: min_level: expected a level");
	expect_error("area_raise:\n  - {name: r, warning: flood, raises: flood}\n",
		     "bad.yaml:3:5: area_raise rule \"r\" needs either by or to");
	expect_error("area_raise:\n  - {name: r, warning: flood, raises: flood, by: 4}\n",
		     "bad.yaml:3:50: by: expected a number of levels, 1 to 3");
	expect_error("area_raise:\n  - {name: r, warning: flood, raises: [], to: warning}\n",
		     "raises: the list is empty");
	expect_error("area_raise:\n  - {name: r, warning: flood, raises: flood, to: warning, colour: red}\n",
		     "unknown setting \"colour\" in an area_raise rule");
}

static struct hz_intent mk(const char *ev, const char *ep, enum hz_level l, int64_t ack)
{
	struct hz_intent in;
	memset(&in, 0, sizeof(in));
	in.event_id = ev;
	in.kind = HZ_KIND_ALARM;
	in.level = l;
	in.tier = HZ_TIER_GRID;
	in.ack_us = ack;
	snprintf(in.episode_key, sizeof(in.episode_key), "%s", ep);
	snprintf(in.hazard_type, sizeof(in.hazard_type), "co_poisoning");
	snprintf(in.reason, sizeof(in.reason), "reason %s", ev);
	return in;
}

static void test_merge_silenced_and_held(void **state)
{
	(void)state;
	size_t order[4];
	struct hz_merged out[4];
	bool fresh[] = {true, true, true, true};
	/* a silenced event opens its ticket with no deadline */
	struct hz_intent a = mk("a", "S1|co", HZ_LEVEL_YELLOW, 0);
	a.silence_id = 7;
	assert_int_equal(hz_tickets_merge(&a, fresh, 1, NULL, 0, 100, NULL, order, out), 1);
	assert_true(out[0].is_new);
	assert_int_equal(out[0].ack_due_us, 0);
	assert_int_equal(out[0].silenced_events, 1);

	/* a later unsilenced event on the quiet ticket starts the clock */
	struct hz_open_ticket ot;
	memset(&ot, 0, sizeof(ot));
	ot.tk.ticket_id = 5;
	ot.tk.level = HZ_LEVEL_YELLOW;
	ot.tk.state = HZ_STATE_DISCOVERED;
	ot.silenced_quiet = true;
	ot.last_seq = 1;
	snprintf(ot.episode_key, sizeof(ot.episode_key), "S1|co");
	struct hz_intent b = mk("b", "S1|co", HZ_LEVEL_YELLOW, 900);
	assert_int_equal(hz_tickets_merge(&b, fresh, 1, &ot, 1, 100, NULL, order, out), 1);
	assert_int_equal(out[0].ack_due_us, 1000);
	assert_true(out[0].history);
	assert_string_equal(out[0].top->event_id, "b");
	/* another silenced one does not */
	assert_int_equal(hz_tickets_merge(&a, fresh, 1, &ot, 1, 100, NULL, order, out), 1);
	assert_int_equal(out[0].ack_due_us, 0);
	assert_false(out[0].history);

	/* a held event joins the holder: counted, recorded, level and clock untouched */
	struct hz_open_ticket fire;
	memset(&fire, 0, sizeof(fire));
	fire.tk.ticket_id = 12;
	fire.tk.level = HZ_LEVEL_ORANGE;
	fire.tk.state = HZ_STATE_DISCOVERED;
	fire.tk.event_count = 3;
	fire.last_seq = 2;
	snprintf(fire.episode_key, sizeof(fire.episode_key), "S1|fire_smoke");
	struct hz_intent h[2] = {mk("h1", "S1|fire_smoke", HZ_LEVEL_YELLOW, 900),
				 mk("h2", "S1|fire_smoke", HZ_LEVEL_YELLOW, 900)};
	h[0].held = h[1].held = true;
	snprintf(h[0].own_episode, sizeof(h[0].own_episode), "S1|co");
	snprintf(h[1].own_episode, sizeof(h[1].own_episode), "S2|co");
	hz_tickets_unhold(h, fresh, 2, &fire, 1); /* the holder is open: both stay held */
	assert_true(h[0].held && h[1].held);
	assert_int_equal(hz_tickets_merge(h, fresh, 2, &fire, 1, 100, NULL, order, out), 1);
	assert_int_equal(out[0].tk.ticket_id, 12);
	assert_int_equal(out[0].tk.level, HZ_LEVEL_ORANGE);
	assert_false(out[0].level_changed);
	assert_int_equal(out[0].ack_due_us, 0);
	assert_int_equal(out[0].held_events, 2);
	assert_int_equal(out[0].tk.event_count, 5);
	assert_true(out[0].history);
	assert_true(out[0].top->held);
	/* the holder closed: both go back to their own episodes */
	hz_tickets_unhold(h, fresh, 2, NULL, 0);
	assert_false(h[0].held);
	assert_string_equal(h[1].episode_key, "S2|co");
	assert_int_equal(hz_tickets_merge(h, fresh, 2, NULL, 0, 100, NULL, order, out), 2);
	assert_true(out[0].is_new && out[1].is_new);
	assert_int_equal(out[0].ack_due_us, 1000);
}

static void test_shipped_sections(void **state)
{
	(void)state;
	char err[1024];
	struct hz_rules *r = hz_rules_load("deploy/rules.yaml", err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->n_inhibit, 2);
	assert_int_equal(r->n_raise, 1);
	assert_true(hz_context_wants(r, "power_outage"));
	assert_false(hz_context_wants(r, "co_poisoning"));
	char lit[512];
	hz_context_types_literal(r, lit, sizeof(lit));
	assert_string_equal(lit, "{\"fire_smoke\",\"fire_heat\",\"power_outage\",\"flood\",\"rainstorm\"}");
	hz_rules_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silence_targets_and_window),
		cmocka_unit_test(test_inhibit_redirects),
		cmocka_unit_test(test_area_raise),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_merge_silenced_and_held),
		cmocka_unit_test(test_shipped_sections),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * fuzz_rules.c - hz_rules_parse (and under it hz_yaml_parse) on anything:
 * the rules file is read again on every SIGHUP, so a bad file must be
 * refused with a message, never crash, leak or stall the daemon. Beyond
 * "no sanitizer report", it checks the loader's promises: a refusal says
 * "name:line:col: reason"; an accepted set has named rules with ordered
 * thresholds in range. An accepted set is then evaluated: a reading at
 * every threshold of every rule, every status and report category, and
 * the escalation ladder, so that values the parser let through (huge
 * durations, factors) are exercised where they are used.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "registry/registry.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's ABI */

#define NAME "rules.yaml"
#define NOW_US (INT64_C(1780272000) * HZ_US_PER_SEC) /* 2026-06-01T00:00:00Z */
#define MAX_INTENTS 8

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

/* "rules.yaml:<digits>:<digits>: <something>" */
static void check_error(const char *err)
{
	size_t n = strlen(NAME);
	CHECK(strncmp(err, NAME ":", n + 1) == 0);
	const char *p = err + n + 1;
	for (int part = 0; part < 2; part++) {
		CHECK(*p >= '0' && *p <= '9');
		while (*p >= '0' && *p <= '9')
			p++;
		CHECK(*p == ':');
		p++;
	}
	CHECK(*p == ' ' && p[1] != '\0');
}

static void check_intents(const struct hz_intent *in, size_t n, size_t max)
{
	CHECK(n <= max);
	for (size_t i = 0; i < n; i++) {
		CHECK(in[i].level <= HZ_LEVEL_RED);
		CHECK(in[i].tier >= HZ_TIER_GRID && in[i].tier <= HZ_TIER_CITY);
		CHECK(in[i].ack_us >= 0 && in[i].deadline_us >= 0);
		CHECK(memchr(in[i].reason, '\0', sizeof(in[i].reason)) != NULL);
		CHECK(memchr(in[i].episode_key, '\0', sizeof(in[i].episode_key)) != NULL);
	}
}

static void exercise(const struct hz_rules *rs)
{
	struct hz_org_unit town = {0};
	struct hz_site site = {0};
	struct hz_device dev = {0};
	snprintf(town.code, sizeof(town.code), "T1");
	snprintf(site.site_id, sizeof(site.site_id), "S1");
	snprintf(site.kind, sizeof(site.kind), "factory");
	site.town = &town;
	site.lat = site.lon = NAN;
	snprintf(dev.device_id, sizeof(dev.device_id), "D1");
	dev.site = &site;
	struct hz_event ev = {.mode = HZ_MODE_ACTUAL, .at_us = NOW_US, .event_id = "e1",
			      .device_id = "D1", .site_id = "S1", .town_code = "T1",
			      .dev = &dev, .site = &site};
	struct hz_intent out[MAX_INTENTS];
	size_t n;

	for (int risk = HZ_RISK_LOW; risk <= HZ_RISK_MAJOR; risk += HZ_RISK_MAJOR - HZ_RISK_LOW) {
		site.risk = risk;
		ev.kind = HZ_EV_READING;
		for (size_t i = 0; i < rs->n_rule; i++) {
			const struct hz_rule *r = &rs->rule[i];
			snprintf(dev.kind, sizeof(dev.kind), "%s",
				 r->device_kind.n ? r->device_kind.v[0] : "any");
			snprintf(site.kind, sizeof(site.kind), "%s",
				 r->site_kind.n ? r->site_kind.v[0] : "any");
			ev.u.reading.metric = r->metric;
			ev.u.reading.unit = "";
			for (int l = 1; l < 5; l++) {
				if (isnan(r->threshold[l]))
					continue;
				ev.u.reading.value = r->threshold[l];
				n = hz_rules_eval(rs, &ev, out, MAX_INTENTS);
				/* its own rule matches, at level l or above */
				CHECK(n >= 1 || risk < r->min_risk || r->org.n || r->risk.n);
				check_intents(out, n, MAX_INTENTS);
			}
		}
		ev.kind = HZ_EV_STATUS;
		ev.u.status.detail = "";
		for (int s = HZ_DEV_NONE; s <= HZ_DEV_RESTORED; s++) {
			ev.u.status.state = (enum hz_device_state)s;
			n = hz_rules_eval(rs, &ev, out, MAX_INTENTS);
			check_intents(out, n, MAX_INTENTS);
		}
		ev.kind = HZ_EV_REPORT;
		ev.u.report.inspector_id = "I1";
		ev.u.report.description = "";
		for (int cat = 0; cat <= HZ_MAX_CATEGORY; cat++) {
			ev.u.report.category = cat;
			ev.u.report.level = HZ_LEVEL_NONE;
			ev.u.report.supervised = cat & 1;
			n = hz_rules_eval(rs, &ev, out, MAX_INTENTS);
			check_intents(out, n, MAX_INTENTS);
		}
		for (int l = HZ_LEVEL_BLUE; l <= HZ_LEVEL_RED; l++)
			for (int t = HZ_TIER_GRID; t <= HZ_TIER_CITY; t++) {
				struct hz_escalation_step st;
				int64_t due = hz_escalate_ack_due(rs, (enum hz_level)l,
								  (enum hz_tier)t, risk, NOW_US);
				CHECK(due == 0 || due > NOW_US);
				hz_escalate_next(rs, (enum hz_level)l, (enum hz_tier)t, 3, risk,
						 NOW_US, &st);
				CHECK(st.to_tier >= st.from_tier && st.to_tier <= HZ_TIER_CITY);
				CHECK(st.next_due_us == 0 || st.next_due_us > NOW_US);
			}
	}
	struct hz_town_counts tc = {1, 2, 3, 4};
	enum hz_rating rt = hz_rules_rate(rs, &tc);
	CHECK(rt >= HZ_RATING_GREEN && rt <= HZ_RATING_RED);
}

static void check_rules(const struct hz_rules *rs)
{
	CHECK(rs->n_rule == 0 || rs->rule != NULL);
	CHECK(rs->fault_level >= HZ_LEVEL_BLUE && rs->fault_level <= HZ_LEVEL_RED);
	CHECK(rs->supervised_closeout_us >= 0 && rs->esc.repeat_us >= 0);
	CHECK(rs->esc.major_factor > 0 && rs->esc.major_factor <= 1);
	for (size_t i = 0; i < rs->n_rule; i++) {
		const struct hz_rule *r = &rs->rule[i];
		CHECK(*r->name && r->metric > HZ_METRIC_NONE && *r->hazard_type);
		CHECK(r->cmp == HZ_CMP_ABOVE || r->cmp == HZ_CMP_BELOW);
		CHECK(r->tier >= HZ_TIER_GRID && r->tier <= HZ_TIER_CITY);
		int any = 0;
		for (int l = 1; l < 5; l++)
			if (!isnan(r->threshold[l])) {
				CHECK(isfinite(r->threshold[l]));
				any = 1;
			}
		CHECK(any || r->rise.within_us > 0); /* a rise rule has no thresholds */
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(r->name, rs->rule[j].name) != 0);
	}
	for (int c = 1; c < HZ_MAX_CATEGORY; c++)
		CHECK(rs->report[c].closeout_us >= 0);
	for (int l = 0; l < 5; l++)
		for (int t = 0; t < 5; t++)
			CHECK(rs->esc.ack_us[l][t] >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	memset(err, 0, sizeof(err));
	struct hz_rules *rs = hz_rules_parse(NAME, (const char *)data, size, err, sizeof(err));
	if (!rs) {
		check_error(err);
		return 0;
	}
	check_rules(rs);
	exercise(rs);
	hz_rules_destroy(rs);
	return 0;
}

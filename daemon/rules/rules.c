/*
 * rules.c - evaluate events against an immutable hz_rules (loaded by
 * rules_load.c): thresholds, conditions over time (with rules/cond.c),
 * status, reports, warnings; the escalation ladder, close-out deadlines
 * and reminders, the town rating, all pure with time passed in.
 *
 * Evaluation is O(rules for the metric) per reading, with no allocation;
 * most readings match no threshold and produce nothing.
 */
#include "rules/rules.h"
#include "rules/cond.h"
#include "registry/registry.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const category_names[] = {
	"unspecified", "blocked_exit", "ebike_indoor_charging", "expired_extinguisher",
	"illegal_wiring", "gas_leak_risk", "flammable_storage", "fire_system_disabled",
	"occupied_fire_lane", "substandard_dormitory", "other"};

const char *hz_rules_category_name(int c)
{
	return c >= 0 && (size_t)c < HZ_ARRAY_LEN(category_names) ? category_names[c] : "invalid";
}

int hz_rules_category_parse(const char *s)
{
	for (size_t i = 1; i < HZ_ARRAY_LEN(category_names); i++)
		if (!strcmp(category_names[i], s))
			return (int)i;
	return 0;
}

static bool match_one(const struct hz_match *m, const char *s)
{
	if (!m->n)
		return true;
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->v[i], s))
			return true;
	return false;
}

static bool match_org(const struct hz_match *m, const struct hz_org_unit *o)
{
	if (!m->n)
		return true;
	for (; o; o = o->parent)
		for (int i = 0; i < m->n; i++)
			if (!strcmp(m->v[i], o->code))
				return true;
	return false;
}

int64_t hz_rules_offline_shortest(const struct hz_rules *r)
{
	const struct hz_offline_rules *o = &r->offline;
	int64_t shortest = o->after_us;
	for (int i = 0; i < o->n_kind; i++)
		if (o->by_kind[i].after_us && (!shortest || o->by_kind[i].after_us < shortest))
			shortest = o->by_kind[i].after_us;
	return shortest;
}

int64_t hz_rules_offline_after(const struct hz_rules *r, const char *device_kind)
{
	const struct hz_offline_rules *o = &r->offline;
	for (int i = 0; i < o->n_kind; i++)
		if (!strcmp(o->by_kind[i].kind, device_kind))
			return o->by_kind[i].after_us;
	return o->after_us;
}

static const char *const rating_names[] = {"none", "green", "yellow", "red"};

const char *hz_rating_name(enum hz_rating r)
{
	return (unsigned)r < HZ_ARRAY_LEN(rating_names) ? rating_names[r] : "invalid";
}

static bool reached(int threshold, int count)
{
	return threshold > 0 && count >= threshold;
}

enum hz_rating hz_rules_rate(const struct hz_rules *r, const struct hz_town_counts *c)
{
	const struct hz_rating_rules *rr = &r->rating;
	if (reached(rr->red_open_red, c->open_red) || reached(rr->red_open_orange, c->open_orange) ||
	    reached(rr->red_overdue, c->overdue))
		return HZ_RATING_RED;
	if (reached(rr->yellow_open_red, c->open_red) ||
	    reached(rr->yellow_open_orange, c->open_orange) || reached(rr->yellow_open, c->open) ||
	    reached(rr->yellow_overdue, c->overdue))
		return HZ_RATING_YELLOW;
	return HZ_RATING_GREEN;
}

static void base_intent(const struct hz_event *ev, struct hz_intent *in)
{
	memset(in, 0, sizeof(*in));
	in->mode = ev->mode;
	in->event_id = ev->event_id;
	in->at_us = ev->at_us;
	const struct hz_site *s = ev->site;
	if (s) {
		in->risk = s->risk;
		snprintf(in->site_id, sizeof(in->site_id), "%s", s->site_id);
		if (s->town)
			snprintf(in->town_code, sizeof(in->town_code), "%s", s->town->code);
		if (s->county)
			snprintf(in->county_code, sizeof(in->county_code), "%s", s->county->code);
	}
	if (ev->device_id)
		snprintf(in->device_id, sizeof(in->device_id), "%s", ev->device_id);
}

/* A drill's episode is its own: a drill never joins, raises, clears or
 * closes a live ticket (nor a live event a drill's), so the mode leads
 * its episode key. */
static void drill_episode(struct hz_intent *in)
{
	if (in->mode == HZ_MODE_ACTUAL)
		return;
	char key[sizeof(in->episode_key)];
	snprintf(key, sizeof(key), "%s|%s", hz_mode_name(in->mode), in->episode_key);
	memcpy(in->episode_key, key, sizeof(key));
}

/* The fault intent before drill_episode (hz_rules_eval_cond applies that to
 * whatever it returns). */
static void fault_intent(const struct hz_rules *r, const struct hz_event *ev, const char *what,
			 const char *reason, struct hz_intent *out)
{
	base_intent(ev, out);
	out->kind = HZ_KIND_FAULT;
	out->level = r ? r->fault_level : HZ_LEVEL_YELLOW;
	out->tier = HZ_TIER_GRID;
	snprintf(out->hazard_type, sizeof(out->hazard_type), "%s", what);
	/* One open fault ticket per device and fault type. */
	snprintf(out->episode_key, sizeof(out->episode_key), "%s|%s|%s", out->site_id, what,
		 out->device_id);
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
	out->ack_us = r ? hz_escalate_ack_due(r, out->level, out->tier, out->risk, 0) : 0;
}

void hz_rules_fault_intent(const struct hz_rules *r, const struct hz_event *ev,
			   const char *what, const char *reason, struct hz_intent *out)
{
	fault_intent(r, ev, what, reason, out);
	drill_episode(out);
}

static enum hz_level threshold_level(const struct hz_rule *r, double v)
{
	for (int l = 4; l >= 1; l--) {
		double t = r->threshold[l];
		if (isnan(t))
			continue;
		if (r->cmp == HZ_CMP_ABOVE ? v >= t : v <= t)
			return (enum hz_level)l;
	}
	return HZ_LEVEL_NONE;
}

static bool rule_matches(const struct hz_rule *r, const struct hz_event *ev)
{
	const struct hz_site *site = ev->site;
	return r->metric == ev->u.reading.metric && match_one(&r->device_kind, ev->dev->kind) &&
	       match_one(&r->site_kind, site->kind) && match_org(&r->org, site->org) &&
	       (!r->min_risk || site->risk >= r->min_risk) &&
	       match_one(&r->risk, hz_risk_name(site->risk));
}

static void reading_intent(const struct hz_rule *r, const struct hz_event *ev,
			   struct hz_intent *in)
{
	base_intent(ev, in);
	in->kind = r->kind;
	in->tier = r->tier;
	snprintf(in->hazard_type, sizeof(in->hazard_type), "%s", r->hazard_type);
	snprintf(in->episode_key, sizeof(in->episode_key), "%s|%s", in->site_id, r->hazard_type);
}

static void fmt_duration(int64_t us, char *buf, size_t cap)
{
	int64_t s = us / HZ_US_PER_SEC;
	if (s % 3600 == 0 && s)
		snprintf(buf, cap, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0 && s)
		snprintf(buf, cap, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, cap, "%llds", (long long)s);
}

/* The intent a stateful rule's answer asks for; false when none. */
static bool cond_intent(const struct hz_rule *r, const struct hz_event *ev, double v,
			const struct hz_cond_result *res, struct hz_intent *in)
{
	char d[24];
	if (res->action == HZ_COND_NONE)
		return false;
	reading_intent(r, ev, in);
	if (res->action == HZ_COND_CLEAR || res->action == HZ_COND_FLAP) {
		in->op = res->action == HZ_COND_CLEAR ? HZ_OP_CLEAR : HZ_OP_FLAP;
		fmt_duration(res->action == HZ_COND_CLEAR ? r->clear_for_us : r->flap.within_us, d,
			     sizeof(d));
		if (in->op == HZ_OP_CLEAR)
			snprintf(in->reason, sizeof(in->reason),
				 "rule %s: %s %g at %s back to normal for %s: cleared", r->name,
				 hz_metric_name(r->metric), v, in->device_id, d);
		else
			snprintf(in->reason, sizeof(in->reason),
				 "rule %s: cleared %d times within %s: flapping, held open", r->name,
				 res->clears, d);
		return true;
	}
	in->level = res->level;
	in->confirmed = res->confirmed;
	if (res->confirmed) {
		fmt_duration(r->confirm.within_us, d, sizeof(d));
		snprintf(in->reason, sizeof(in->reason),
			 "rule %s: %d devices of site %s in alarm within %s (double knock): confirmed %s",
			 r->name, res->knock, in->site_id, d, hz_level_name(res->level));
	} else if (r->rise.within_us) {
		fmt_duration(r->rise.within_us, d, sizeof(d));
		snprintf(in->reason, sizeof(in->reason), "rule %s: %s at %s rose %g within %s (%g): %s",
			 r->name, hz_metric_name(r->metric), in->device_id, res->rise, d, r->rise.by,
			 hz_level_name(res->level));
	} else if (r->window.count) {
		fmt_duration(r->window.within_us, d, sizeof(d));
		snprintf(in->reason, sizeof(in->reason),
			 "rule %s: %s %g at %s, %d matches within %s: %s", r->name,
			 hz_metric_name(r->metric), v, in->device_id, res->hits, d,
			 hz_level_name(res->level));
	} else {
		fmt_duration(r->for_us, d, sizeof(d));
		snprintf(in->reason, sizeof(in->reason), "rule %s: %s %g at %s reached %s (%g)%s%s",
			 r->name, hz_metric_name(r->metric), v, in->device_id,
			 hz_level_name(res->level), r->threshold[res->level], r->for_us ? " for " : "",
			 r->for_us ? d : "");
	}
	return true;
}

static size_t eval_reading(const struct hz_rules *rs, struct hz_cond *st,
			   const struct hz_event *ev, struct hz_intent *out, size_t max)
{
	size_t n = 0;
	if (!ev->dev || !ev->site)
		return 0;
	double v = ev->u.reading.value;
	for (size_t i = 0; i < rs->n_rule && n < max; i++) {
		const struct hz_rule *r = &rs->rule[i];
		if (!rule_matches(r, ev))
			continue;
		enum hz_level l = threshold_level(r, v);
		if (st && hz_cond_needed(r)) {
			struct hz_cond_result res;
			hz_cond_step(st, r, ev, v, l, &res);
			n += cond_intent(r, ev, v, &res, &out[n]);
			continue;
		}
		if (!l)
			continue;
		struct hz_intent *in = &out[n++];
		reading_intent(r, ev, in);
		in->level = l;
		snprintf(in->reason, sizeof(in->reason), "rule %s: %s %g at %s reached %s (%g)",
			 r->name, hz_metric_name(r->metric), v, in->device_id, hz_level_name(l),
			 r->threshold[l]);
	}
	return n;
}

static size_t eval_status(const struct hz_rules *rs, const struct hz_event *ev,
			  struct hz_intent *out, size_t max)
{
	if (!ev->dev || !ev->site || max == 0)
		return 0;
	const char *what;
	switch (ev->u.status.state) {
	case HZ_DEV_FAULT:
		what = "device_fault";
		break;
	case HZ_DEV_TAMPER:
		what = "device_tamper";
		break;
	case HZ_DEV_LOW_BATTERY:
		what = "device_low_battery";
		break;
	case HZ_DEV_RESTORED: {
		/* the device says it is well again: its fault tickets close */
		static const char *const faults[] = {"device_fault", "device_tamper",
						     "device_low_battery"};
		size_t n = 0;
		for (size_t i = 0; i < HZ_ARRAY_LEN(faults) && n < max; i++) {
			char reason[HZ_REASON_MAX];
			snprintf(reason, sizeof(reason), "device %s restored", ev->device_id);
			fault_intent(rs, ev, faults[i], reason, &out[n]);
			out[n++].op = HZ_OP_CLOSE;
		}
		return n;
	}
	default:
		return 0; /* heartbeats: silence detection is not built yet */
	}
	char reason[HZ_REASON_MAX];
	snprintf(reason, sizeof(reason), "device %s reported %s%s%.100s", ev->device_id, what + 7,
		 *ev->u.status.detail ? ": " : "", ev->u.status.detail);
	fault_intent(rs, ev, what, reason, out);
	if (ev->u.status.state == HZ_DEV_LOW_BATTERY)
		out->level = HZ_LEVEL_BLUE;
	return 1;
}

static size_t eval_report(const struct hz_rules *rs, const struct hz_event *ev,
			  struct hz_intent *out, size_t max)
{
	int cat = ev->u.report.category;
	/* the decoder passes any category the proto declares; one added there
	 * but not yet named here has no rule (and no name to read past) */
	if (!ev->site || max == 0 || cat <= 0 || cat >= HZ_MAX_CATEGORY ||
	    (size_t)cat >= HZ_ARRAY_LEN(category_names))
		return 0;
	const struct hz_report_rule *rr = &rs->report[cat];
	struct hz_intent *in = out;
	base_intent(ev, in);
	in->kind = HZ_KIND_HAZARD;
	in->level = ev->u.report.level ? ev->u.report.level : rr->level;
	in->tier = rr->tier ? rr->tier : HZ_TIER_GRID;
	int64_t closeout = hz_rules_closeout(rs, cat, ev->u.report.supervised, ev->site->risk);
	in->deadline_us = closeout ? ev->at_us + closeout : 0;
	snprintf(in->hazard_type, sizeof(in->hazard_type), "%s", category_names[cat]);
	snprintf(in->episode_key, sizeof(in->episode_key), "%s|%s", in->site_id, in->hazard_type);
	snprintf(in->reason, sizeof(in->reason), "inspector %.60s reported %s", ev->u.report.inspector_id,
		 category_names[cat]);
	return 1;
}

/* A warning's episode is its first alert: updates and cancels name it in
 * `references` (CAP 1.2), and act on the tickets it opened. */
static size_t eval_warning(const struct hz_event *ev, struct hz_intent *out, size_t max)
{
	const char *base = ev->u.warning.warning_id;
	enum hz_warning_type type = ev->u.warning.type;
	if (type != HZ_WARN_ALERT && ev->u.warning.references.n)
		base = ev->u.warning.references.v[0];
	size_t n = 0;
	for (size_t i = 0; i < ev->u.warning.area_codes.n && n < max; i++) {
		struct hz_intent *in = &out[n++];
		base_intent(ev, in);
		in->kind = HZ_KIND_WARNING;
		in->level = ev->u.warning.level;
		in->tier = HZ_TIER_TOWN;
		const char *area = ev->u.warning.area_codes.v[i];
		snprintf(in->town_code, sizeof(in->town_code), "%s", area);
		snprintf(in->hazard_type, sizeof(in->hazard_type), "%s",
			 *ev->u.warning.hazard_type ? ev->u.warning.hazard_type : "warning");
		snprintf(in->episode_key, sizeof(in->episode_key), "warning|%s|%s", base, area);
		in->op = type == HZ_WARN_CANCEL	  ? HZ_OP_CLOSE
			 : type == HZ_WARN_UPDATE ? HZ_OP_UPDATE
						  : HZ_OP_JOIN;
		if (in->op == HZ_OP_CLOSE)
			snprintf(in->reason, sizeof(in->reason), "warning %.60s cancelled by %.60s",
				 base, ev->u.warning.warning_id);
		else
			snprintf(in->reason, sizeof(in->reason), "%s warning %.60s: %.80s",
				 hz_level_name(in->level), ev->u.warning.warning_id,
				 ev->u.warning.headline);
		in->deadline_us = ev->u.warning.expires_us;
	}
	return n;
}

size_t hz_rules_eval(const struct hz_rules *r, const struct hz_event *ev, struct hz_intent *out,
		     size_t max)
{
	return hz_rules_eval_cond(r, NULL, ev, out, max);
}

size_t hz_rules_eval_cond(const struct hz_rules *r, struct hz_cond *st, const struct hz_event *ev,
			  struct hz_intent *out, size_t max)
{
	size_t n;
	switch (ev->kind) {
	case HZ_EV_READING:
		n = eval_reading(r, st, ev, out, max);
		break;
	case HZ_EV_STATUS:
		n = eval_status(r, ev, out, max);
		break;
	case HZ_EV_REPORT:
		n = eval_report(r, ev, out, max);
		break;
	case HZ_EV_WARNING:
		n = eval_warning(ev, out, max);
		break;
	default:
		return 0;
	}
	/* A major-risk site starts one tier higher (and escalates faster). */
	for (size_t i = 0; i < n; i++) {
		drill_episode(&out[i]);
		if (r->esc.major_start_higher && out[i].risk == HZ_RISK_MAJOR &&
		    out[i].tier < HZ_TIER_CITY)
			out[i].tier++;
		out[i].ack_us = hz_escalate_ack_due(r, out[i].level, out[i].tier, out[i].risk, 0);
	}
	return n;
}

int64_t hz_escalate_ack_due(const struct hz_rules *r, enum hz_level level, enum hz_tier tier,
			    int risk, int64_t now_us)
{
	if ((unsigned)level > HZ_LEVEL_RED || (unsigned)tier > HZ_TIER_CITY)
		return 0;
	int64_t d = r->esc.ack_us[level][tier];
	if (!d)
		return 0;
	if (risk == HZ_RISK_MAJOR && r->esc.major_factor > 0 && r->esc.major_factor < 1)
		d = (int64_t)((double)d * r->esc.major_factor);
	return now_us + (d > 0 ? d : 1);
}

void hz_escalate_next(const struct hz_rules *r, enum hz_level level, enum hz_tier tier,
		      int repeat, int risk, int64_t now_us, struct hz_escalation_step *out)
{
	out->from_tier = tier;
	if (tier < HZ_TIER_CITY) {
		out->to_tier = tier + 1;
		out->repeat = 0;
		out->next_due_us = hz_escalate_ack_due(r, level, out->to_tier, risk, now_us);
		/* a tier with no deadline for this level still passes it on later */
		if (!out->next_due_us && r->esc.repeat_us)
			out->next_due_us = now_us + r->esc.repeat_us;
	} else {
		out->to_tier = HZ_TIER_CITY;
		out->repeat = repeat + 1;
		out->next_due_us = r->esc.repeat_us ? now_us + r->esc.repeat_us : 0;
	}
}

int64_t hz_rules_closeout(const struct hz_rules *r, int category, bool supervised, int risk)
{
	bool graded = risk > 0 && risk < 5;
	if (supervised)
		return graded && r->supervised_closeout_by_risk_us[risk]
			       ? r->supervised_closeout_by_risk_us[risk]
			       : r->supervised_closeout_us;
	if (category <= 0 || category >= HZ_MAX_CATEGORY)
		return 0;
	const struct hz_report_rule *rr = &r->report[category];
	return graded && rr->closeout_by_risk_us[risk] ? rr->closeout_by_risk_us[risk]
						       : rr->closeout_us;
}

int64_t hz_reminder_next(const int64_t *before, size_t n, int64_t deadline_us, int64_t below_us,
			 int64_t now_us, int64_t *before_us)
{
	*before_us = 0;
	if (!deadline_us)
		return 0;
	/* longest first: the first that qualifies is the next one */
	for (size_t i = 0; i < n; i++) {
		if (before[i] >= below_us || before[i] <= 0)
			continue;
		int64_t due = deadline_us - before[i];
		if (due > now_us) {
			*before_us = before[i];
			return due;
		}
	}
	return 0;
}

int64_t hz_reminder_due(const int64_t *before, size_t n, int64_t deadline_us, int64_t claimed_us,
			int64_t now_us)
{
	if (!deadline_us || deadline_us <= now_us || claimed_us <= 0)
		return 0;
	int64_t fire = claimed_us;
	for (size_t i = 0; i < n; i++)
		if (before[i] > 0 && before[i] < fire && deadline_us - before[i] <= now_us)
			fire = before[i];
	return fire;
}

char *hz_duration_format(int64_t us, char *buf, size_t len)
{
	static const struct {
		int64_t us;
		const char *unit;
	} units[] = {{86400 * HZ_US_PER_SEC, "d"}, {3600 * HZ_US_PER_SEC, "h"},
		     {60 * HZ_US_PER_SEC, "m"}, {HZ_US_PER_SEC, "s"}, {1000, "ms"}};
	/* the largest unit that divides it ("36h", not "1.5d"), else a
	 * fraction of the largest one that fits */
	for (size_t i = 0; i < HZ_ARRAY_LEN(units); i++)
		if (us >= units[i].us && us % units[i].us == 0) {
			snprintf(buf, len, "%lld%s", (long long)(us / units[i].us), units[i].unit);
			return buf;
		}
	size_t i = 0;
	while (i + 1 < HZ_ARRAY_LEN(units) && us < units[i].us)
		i++;
	snprintf(buf, len, "%.3g%s", (double)us / (double)units[i].us, units[i].unit);
	return buf;
}

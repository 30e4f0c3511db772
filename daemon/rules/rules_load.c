/*
 * rules_load.c - the rules file (YAML) into an immutable hz_rules: every
 * section's parser, the built-in defaults, and the checks that make a bad
 * file fail with "file:line:col: message" before it replaces good rules.
 * Evaluation is in rules.c.
 */
#include "rules/rules.h"
#include "rules/cond.h"
#include "rules/context.h"
#include "rules/rparse.h"
#include "rules/yaml_tree.h"
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rise: {by: 8, within: 60s, level: orange} */
static int parse_rise(struct hz_rp *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "rise: expected a map (by, within, level)");
	int v = 0;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "by"))
			hz_rp_double(c, f, &r->rise.by);
		else if (!strcmp(f->key, "within"))
			hz_rp_duration(c, f, &r->rise.within_us);
		else if (!strcmp(f->key, "level") && !hz_rp_enum(c, f, hz_rp_level, "level", &v))
			r->rise.level = (enum hz_level)v;
		else if (strcmp(f->key, "level"))
			hz_rp_bad(c, f, "unknown setting \"%s\" in rise (by, within, level)", f->key);
	}
	if (!c->failed && (r->rise.by <= 0 || r->rise.within_us <= 0 || !r->rise.level))
		return hz_rp_bad(c, m, "rise needs by > 0, within > 0 and a level");
	return c->failed ? -1 : 0;
}

/* window: {count: 3, within: 10m, per: device|site} */
static int parse_window(struct hz_rp *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "window: expected a map (count, within, per)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "count")) {
			hz_rp_count(c, f, 2, HZ_RING, &r->window.count);
		} else if (!strcmp(f->key, "within")) {
			hz_rp_duration(c, f, &r->window.within_us);
		} else if (!strcmp(f->key, "per")) {
			if (f->type != HZ_Y_SCALAR ||
			    (strcmp(f->scalar, "device") && strcmp(f->scalar, "site")))
				hz_rp_bad(c, f, "per: expected device or site");
			else
				r->window.per_site = !strcmp(f->scalar, "site");
		} else {
			hz_rp_bad(c, f, "unknown setting \"%s\" in window (count, within, per)", f->key);
		}
	}
	if (!c->failed && (!r->window.count || r->window.within_us <= 0))
		return hz_rp_bad(c, m, "window needs count and within");
	return c->failed ? -1 : 0;
}

/* confirm: {devices: 2, within: 2m, level: red, group: fire} */
static int parse_confirm(struct hz_rp *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "confirm: expected a map (devices, within, level, group)");
	int v = 0;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "devices"))
			hz_rp_count(c, f, 2, HZ_RING, &r->confirm.devices);
		else if (!strcmp(f->key, "within"))
			hz_rp_duration(c, f, &r->confirm.within_us);
		else if (!strcmp(f->key, "group"))
			hz_rp_str(c, f, r->confirm.group, sizeof(r->confirm.group));
		else if (!strcmp(f->key, "level") && !hz_rp_enum(c, f, hz_rp_level, "level", &v))
			r->confirm.level = (enum hz_level)v;
		else if (strcmp(f->key, "level"))
			hz_rp_bad(c, f, "unknown setting \"%s\" in confirm (devices, within, level, group)",
			    f->key);
	}
	if (!c->failed && (!r->confirm.devices || r->confirm.within_us <= 0))
		return hz_rp_bad(c, m, "confirm needs devices and within");
	return c->failed ? -1 : 0;
}

/* flapping: {clears: 3, within: 10m}; clears 0 turns it off */
static int parse_flap(struct hz_rp *c, const struct hz_ynode *m, int *clears, int64_t *within)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "flapping: expected a map (clears, within)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "clears"))
			hz_rp_count(c, f, 0, HZ_RING - 1, clears);
		else if (!strcmp(f->key, "within"))
			hz_rp_duration(c, f, within);
		else
			hz_rp_bad(c, f, "unknown setting \"%s\" in flapping (clears, within)", f->key);
	}
	if (!c->failed && *clears && *within <= 0)
		return hz_rp_bad(c, m, "flapping needs within");
	return c->failed ? -1 : 0;
}

static uint64_t name_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h | 1; /* never 0: that marks an unused record */
}

/* closeout_by_risk: {major: 1d, significant: 2d}: a risk grade's close-out
 * overrides the plain one for sites of that grade. */
static int get_by_risk(struct hz_rp *c, const struct hz_ynode *m, int64_t *us)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "%s: expected a map of risk grade: duration (low, general, "
			   "significant, major)", m->key);
	for (const struct hz_ynode *g = m->child; g; g = g->next) {
		int v = hz_rp_risk(g->key);
		if (v <= 0) {
			hz_rp_bad(c, g, "unknown risk grade \"%s\" in %s (low, general, significant, major)",
			    g->key, m->key);
			continue;
		}
		int64_t d = 0;
		if (hz_rp_duration(c, g, &d) == 0 && d <= 0)
			hz_rp_bad(c, g, "%s: a close-out deadline must be longer than 0", g->key);
		us[v] = d;
	}
	return c->failed ? -1 : 0;
}

/* closeout_reminders: [3d, 1d]: durations before the deadline, each
 * distinct and positive; kept longest first. [] turns reminders off. */
static int get_reminders(struct hz_rp *c, const struct hz_ynode *m, struct hz_rules *rs)
{
	if (m->type != HZ_Y_SEQ)
		return hz_rp_bad(c, m, "closeout_reminders: expected a list of durations such as [3d, 1d]");
	size_t n = 0;
	int64_t v[HZ_REMINDERS_MAX] = {0};
	for (const struct hz_ynode *e = m->child; e; e = e->next) {
		if (n == HZ_REMINDERS_MAX)
			return hz_rp_bad(c, e, "closeout_reminders: at most %d reminders", HZ_REMINDERS_MAX);
		int64_t d = 0;
		if (hz_rp_duration(c, e, &d))
			return -1;
		if (d <= 0)
			return hz_rp_bad(c, e, "closeout_reminders: a reminder must come before the deadline, "
				   "got \"%s\"", e->scalar);
		for (size_t i = 0; i < n; i++)
			if (v[i] == d)
				return hz_rp_bad(c, e, "closeout_reminders: \"%s\" is listed twice", e->scalar);
		/* insertion sort, longest first: n <= 8 */
		size_t i = n++;
		for (; i > 0 && v[i - 1] < d; i--)
			v[i] = v[i - 1];
		v[i] = d;
	}
	memcpy(rs->reminder_us, v, n * sizeof(v[0]));
	rs->n_reminder = n;
	return 0;
}

static int parse_threshold(struct hz_rp *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "expected a map of rule settings");
	for (int l = 0; l < 5; l++)
		r->threshold[l] = NAN;
	r->kind = HZ_KIND_ALARM;
	r->tier = HZ_TIER_GRID;
	r->line = m->line;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		int v = 0;
		if (!strcmp(f->key, "name")) {
			hz_rp_str(c, f, r->name, sizeof(r->name));
		} else if (!strcmp(f->key, "metric")) {
			if (!hz_rp_enum(c, f, hz_rp_metric, "metric", &v))
				r->metric = (enum hz_metric)v;
		} else if (!strcmp(f->key, "hazard_type")) {
			hz_rp_str(c, f, r->hazard_type, sizeof(r->hazard_type));
		} else if (!strcmp(f->key, "kind")) {
			if (!hz_rp_enum(c, f, hz_rp_kind, "kind", &v))
				r->kind = (enum hz_kind)v;
		} else if (!strcmp(f->key, "tier")) {
			if (!hz_rp_enum(c, f, hz_rp_tier, "tier", &v))
				r->tier = (enum hz_tier)v;
		} else if (!strcmp(f->key, "device_kind")) {
			hz_rp_match(c, f, &r->device_kind);
		} else if (!strcmp(f->key, "site_kind")) {
			hz_rp_match(c, f, &r->site_kind);
		} else if (!strcmp(f->key, "org")) {
			hz_rp_match(c, f, &r->org);
		} else if (!strcmp(f->key, "risk")) {
			if (!hz_rp_match(c, f, &r->risk))
				for (int i = 0; i < r->risk.n; i++)
					if (!hz_rp_risk(r->risk.v[i]))
						hz_rp_bad(c, f, "unknown risk grade \"%s\" (low, general, significant, major)",
						    r->risk.v[i]);
		} else if (!strcmp(f->key, "clear")) {
			if (!hz_rp_double(c, f, &r->clear))
				r->has_clear = true;
		} else if (!strcmp(f->key, "for")) {
			hz_rp_duration(c, f, &r->for_us);
		} else if (!strcmp(f->key, "clear_for")) {
			hz_rp_duration(c, f, &r->clear_for_us);
		} else if (!strcmp(f->key, "auto_clear")) {
			hz_rp_bool(c, f, &r->auto_clear);
		} else if (!strcmp(f->key, "rise")) {
			parse_rise(c, f, r);
		} else if (!strcmp(f->key, "window")) {
			parse_window(c, f, r);
		} else if (!strcmp(f->key, "confirm")) {
			parse_confirm(c, f, r);
		} else if (!strcmp(f->key, "flapping")) {
			r->flap.clears = 0;
			parse_flap(c, f, &r->flap.clears, &r->flap.within_us);
			r->flap.clears = r->flap.clears ? r->flap.clears : -1; /* -1: explicitly off */
		} else if (!strcmp(f->key, "min_risk")) {
			if (!hz_rp_enum(c, f, hz_rp_risk, "risk grade", &v))
				r->min_risk = v;
		} else if (!strcmp(f->key, "above") || !strcmp(f->key, "below")) {
			if (r->cmp)
				hz_rp_bad(c, f, "a rule has either above or below, not both");
			r->cmp = f->key[0] == 'a' ? HZ_CMP_ABOVE : HZ_CMP_BELOW;
			if (f->type != HZ_Y_MAP) {
				hz_rp_bad(c, f, "expected a map of level: threshold");
				continue;
			}
			for (const struct hz_ynode *t = f->child; t; t = t->next) {
				int l = hz_rp_level(t->key);
				if (l <= 0) {
					hz_rp_bad(c, t, "unknown level \"%s\" (blue, yellow, orange, red)",
					    t->key);
					continue;
				}
				hz_rp_double(c, t, &r->threshold[l]);
			}
		} else {
			hz_rp_bad(c, f, "unknown setting \"%s\" in a threshold rule", f->key);
		}
	}
	if (c->failed)
		return -1;
	if (!*r->name)
		return hz_rp_bad(c, m, "a threshold rule needs a name");
	if (!r->metric)
		return hz_rp_bad(c, m, "rule \"%s\" needs a metric", r->name);
	if (!*r->hazard_type)
		return hz_rp_bad(c, m, "rule \"%s\" needs a hazard_type", r->name);
	r->key = name_key(r->name);
	if (r->rise.within_us) {
		if (r->cmp)
			return hz_rp_bad(c, m, "rule \"%s\": a rise rule has no above or below thresholds",
				   r->name);
		if (r->window.count || r->has_clear || r->for_us || r->auto_clear)
			return hz_rp_bad(c, m,
				   "rule \"%s\": rise does not combine with window, clear, for or auto_clear",
				   r->name);
		r->cmp = HZ_CMP_ABOVE;
		return 0;
	}
	if (!r->cmp)
		return hz_rp_bad(c, m, "rule \"%s\" needs above or below thresholds, or rise", r->name);
	/* Thresholds must order with the level: a higher level is further out. */
	double prev = NAN;
	int any = 0;
	for (int l = 1; l < 5; l++) {
		if (isnan(r->threshold[l]))
			continue;
		any = 1;
		if (!isnan(prev) && (r->cmp == HZ_CMP_ABOVE ? r->threshold[l] <= prev
							    : r->threshold[l] >= prev))
			return hz_rp_bad(c, m,
				   "rule \"%s\": thresholds must rise with the level (fall for below)",
				   r->name);
		prev = r->threshold[l];
	}
	if (!any)
		return hz_rp_bad(c, m, "rule \"%s\" has no threshold", r->name);
	/* the clear line lies on the quiet side of the lowest threshold */
	double low = NAN;
	for (int l = 1; l < 5 && isnan(low); l++)
		low = r->threshold[l];
	if (r->has_clear && (r->cmp == HZ_CMP_ABOVE ? r->clear >= low : r->clear <= low))
		return hz_rp_bad(c, m, "rule \"%s\": clear %g must be %s the lowest threshold %g", r->name,
			   r->clear, r->cmp == HZ_CMP_ABOVE ? "below" : "above", low);
	if (r->window.count && (r->has_clear || r->for_us || r->clear_for_us || r->auto_clear))
		return hz_rp_bad(c, m, "rule \"%s\": window does not combine with clear, for or auto_clear",
			   r->name);
	return 0;
}

static int parse_reports(struct hz_rp *c, const struct hz_ynode *m, struct hz_rules *rs)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "reports: expected a map of category: settings");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		int cat = hz_rp_category(f->key);
		if (cat <= 0) {
			hz_rp_bad(c, f, "unknown hazard category \"%s\"", f->key);
			continue;
		}
		struct hz_report_rule *rr = &rs->report[cat];
		if (f->type != HZ_Y_MAP) {
			hz_rp_bad(c, f, "expected a map (level, closeout, closeout_by_risk, tier)");
			continue;
		}
		for (const struct hz_ynode *s = f->child; s; s = s->next) {
			int v = 0;
			if (!strcmp(s->key, "level")) {
				if (!hz_rp_enum(c, s, hz_rp_level, "level", &v))
					rr->level = (enum hz_level)v;
			} else if (!strcmp(s->key, "closeout")) {
				hz_rp_duration(c, s, &rr->closeout_us);
			} else if (!strcmp(s->key, "closeout_by_risk")) {
				get_by_risk(c, s, rr->closeout_by_risk_us);
			} else if (!strcmp(s->key, "tier")) {
				if (!hz_rp_enum(c, s, hz_rp_tier, "tier", &v))
					rr->tier = (enum hz_tier)v;
			} else {
				hz_rp_bad(c, s, "unknown setting \"%s\" for a report category", s->key);
			}
		}
	}
	return c->failed ? -1 : 0;
}

/* escalation: {ack: {level: {tier: duration}}, repeat: d, major_risk: {start_higher, factor}} */
static int parse_escalation(struct hz_rp *c, const struct hz_ynode *m, struct hz_escalation_rules *e)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "escalation: expected a map (ack, repeat, major_risk)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "ack")) {
			if (f->type != HZ_Y_MAP) {
				hz_rp_bad(c, f, "ack: expected a map of level: {tier: duration}");
				continue;
			}
			for (const struct hz_ynode *l = f->child; l; l = l->next) {
				int lv = hz_rp_level(l->key);
				if (lv <= 0) {
					hz_rp_bad(c, l, "unknown level \"%s\" (blue, yellow, orange, red)", l->key);
					continue;
				}
				if (l->type != HZ_Y_MAP) {
					hz_rp_bad(c, l, "%s: expected a map of tier: duration", l->key);
					continue;
				}
				for (int t = 0; t < 5; t++)
					e->ack_us[lv][t] = 0;
				for (const struct hz_ynode *t = l->child; t; t = t->next) {
					int tv = hz_rp_tier(t->key);
					if (tv <= 0) {
						hz_rp_bad(c, t, "unknown tier \"%s\" (grid, town, county, city)",
						    t->key);
						continue;
					}
					hz_rp_duration(c, t, &e->ack_us[lv][tv]);
				}
			}
		} else if (!strcmp(f->key, "repeat")) {
			hz_rp_duration(c, f, &e->repeat_us);
		} else if (!strcmp(f->key, "major_risk")) {
			if (f->type != HZ_Y_MAP) {
				hz_rp_bad(c, f, "major_risk: expected a map (start_higher, factor)");
				continue;
			}
			for (const struct hz_ynode *g = f->child; g; g = g->next) {
				if (!strcmp(g->key, "start_higher")) {
					if (g->type != HZ_Y_SCALAR || (strcmp(g->scalar, "true") &&
								       strcmp(g->scalar, "false")))
						hz_rp_bad(c, g, "start_higher: expected true or false");
					else
						e->major_start_higher = !strcmp(g->scalar, "true");
				} else if (!strcmp(g->key, "factor")) {
					double v = 1;
					if (!hz_rp_double(c, g, &v) && (v <= 0 || v > 1))
						hz_rp_bad(c, g, "factor: expected a number in (0, 1]");
					else
						e->major_factor = v;
				} else {
					hz_rp_bad(c, g, "unknown setting \"%s\" in major_risk", g->key);
				}
			}
		} else {
			hz_rp_bad(c, f, "unknown setting \"%s\" in escalation (ack, repeat, major_risk)",
			    f->key);
		}
	}
	return c->failed ? -1 : 0;
}

/* rating: {red: {open_red, open_orange, overdue}, yellow: {...}, interval} */
static int parse_rating(struct hz_rp *c, const struct hz_ynode *m, struct hz_rating_rules *rr)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "rating: expected a map (red, yellow, interval)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "interval")) {
			hz_rp_duration(c, f, &rr->interval_us);
			continue;
		}
		bool red = !strcmp(f->key, "red");
		if (!red && strcmp(f->key, "yellow")) {
			hz_rp_bad(c, f, "unknown setting \"%s\" in rating (red, yellow, interval)", f->key);
			continue;
		}
		if (f->type != HZ_Y_MAP) {
			hz_rp_bad(c, f, "%s: expected a map of count thresholds", f->key);
			continue;
		}
		if (red)
			rr->red_open_red = rr->red_open_orange = rr->red_overdue = 0;
		else
			rr->yellow_open_red = rr->yellow_open_orange = rr->yellow_open =
				rr->yellow_overdue = 0;
		for (const struct hz_ynode *g = f->child; g; g = g->next) {
			double v = 0;
			if (hz_rp_double(c, g, &v))
				continue;
			/* range first: converting a double out of int's range is undefined */
			if (!(v >= 0 && v <= INT_MAX) || v != (int)v) {
				hz_rp_bad(c, g, "%s: expected a whole number of tickets", g->key);
				continue;
			}
			int *slot = NULL;
			if (!strcmp(g->key, "open_red"))
				slot = red ? &rr->red_open_red : &rr->yellow_open_red;
			else if (!strcmp(g->key, "open_orange"))
				slot = red ? &rr->red_open_orange : &rr->yellow_open_orange;
			else if (!strcmp(g->key, "overdue"))
				slot = red ? &rr->red_overdue : &rr->yellow_overdue;
			else if (!strcmp(g->key, "open") && !red)
				slot = &rr->yellow_open;
			if (!slot)
				hz_rp_bad(c, g, "unknown threshold \"%s\" (open_red, open_orange, overdue%s)",
				    g->key, red ? "" : ", open");
			else
				*slot = (int)v;
		}
	}
	return c->failed ? -1 : 0;
}

/* offline: {after: 1h, level: yellow, by_kind: {smoke_detector: 30m, water_gauge: off}, scan: 1s} */
static int parse_offline(struct hz_rp *c, const struct hz_ynode *m, struct hz_offline_rules *o)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "offline: expected a map (after, level, by_kind, scan)");
	int v = 0;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "after")) {
			if (f->type == HZ_Y_SCALAR && !strcmp(f->scalar, "off"))
				o->after_us = 0;
			else
				hz_rp_duration(c, f, &o->after_us);
		} else if (!strcmp(f->key, "scan")) {
			hz_rp_duration(c, f, &o->scan_us);
		} else if (!strcmp(f->key, "level")) {
			if (!hz_rp_enum(c, f, hz_rp_level, "level", &v))
				o->level = (enum hz_level)v;
		} else if (!strcmp(f->key, "by_kind")) {
			if (f->type != HZ_Y_MAP) {
				hz_rp_bad(c, f, "by_kind: expected a map of device kind: duration or off");
				continue;
			}
			for (const struct hz_ynode *k = f->child; k; k = k->next) {
				if (o->n_kind == (int)HZ_ARRAY_LEN(o->by_kind)) {
					hz_rp_bad(c, k, "by_kind: at most %zu kinds", HZ_ARRAY_LEN(o->by_kind));
					break;
				}
				if (strlen(k->key) >= sizeof(o->by_kind[0].kind)) {
					hz_rp_bad(c, k, "device kind \"%s\" is too long", k->key);
					continue;
				}
				snprintf(o->by_kind[o->n_kind].kind, sizeof(o->by_kind[0].kind), "%s", k->key);
				if (k->type == HZ_Y_SCALAR && !strcmp(k->scalar, "off"))
					o->by_kind[o->n_kind].after_us = 0;
				else if (hz_rp_duration(c, k, &o->by_kind[o->n_kind].after_us))
					continue;
				o->n_kind++;
			}
		} else {
			hz_rp_bad(c, f, "unknown setting \"%s\" in offline (after, level, by_kind, scan)",
			    f->key);
		}
	}
	if (!c->failed && o->scan_us <= 0)
		return hz_rp_bad(c, m, "offline: scan must be a positive duration");
	return c->failed ? -1 : 0;
}

/* Built-in call-and-respond deadlines, used when a rules file has no
 * escalation section: a station must always escalate. */
static void default_escalation(struct hz_escalation_rules *e)
{
	static const int64_t m = 60 * HZ_US_PER_SEC;
	const int64_t ack[5][5] = {
		{0, 0, 0, 0, 0},
		{0, 60 * m, 120 * m, 240 * m, 480 * m}, /* blue */
		{0, 15 * m, 30 * m, 60 * m, 120 * m},   /* yellow */
		{0, 5 * m, 10 * m, 15 * m, 30 * m},     /* orange */
		{0, 2 * m, 3 * m, 5 * m, 10 * m},       /* red */
	};
	memcpy(e->ack_us, ack, sizeof(ack));
	e->repeat_us = 10 * m;
	e->major_start_higher = true;
	e->major_factor = 0.5;
}

struct hz_rules *hz_rules_parse(const char *name, const char *text, size_t len, char *err,
				size_t errlen)
{
	struct hz_rp c = {.name = name, .err = err, .errlen = errlen};
	struct hz_ynode *root = hz_yaml_parse(name, text, len, err, errlen);
	if (!root)
		return NULL;
	struct hz_rules *rs = calloc(1, sizeof(*rs));
	if (!rs) {
		hz_yaml_free(root);
		hz_errf(err, errlen, "%s:1:1: out of memory", name);
		return NULL;
	}
	snprintf(rs->source, sizeof(rs->source), "%s", name);
	rs->supervised_closeout_us = 15 * 86400 * HZ_US_PER_SEC;
	/* 3 days and 1 day before: time to plan the work, then a last call */
	rs->reminder_us[0] = 3 * 86400 * HZ_US_PER_SEC;
	rs->reminder_us[1] = 86400 * HZ_US_PER_SEC;
	rs->n_reminder = 2;
	rs->fault_level = HZ_LEVEL_YELLOW;
	/* silence: an hour without a word from a device is a fault */
	rs->offline = (struct hz_offline_rules){.after_us = 3600 * HZ_US_PER_SEC,
						.level = HZ_LEVEL_YELLOW,
						.scan_us = HZ_US_PER_SEC};
	int flap_clears = 3;          /* more than 3 clears in 10 minutes flaps */
	int64_t flap_within = 600 * HZ_US_PER_SEC;
	default_escalation(&rs->esc);
	/* red: a red ticket, 3 orange ones or 3 overdue; yellow: an orange
	 * ticket, 5 open ones or an overdue one */
	rs->rating = (struct hz_rating_rules){.red_open_red = 1, .red_open_orange = 3,
					      .red_overdue = 3, .yellow_open_orange = 1,
					      .yellow_open = 5, .yellow_overdue = 1,
					      .interval_us = 10 * HZ_US_PER_SEC};
	for (int i = 1; i < HZ_MAX_CATEGORY; i++)
		rs->report[i] = (struct hz_report_rule){.level = HZ_LEVEL_YELLOW, .tier = HZ_TIER_GRID};

	if (root->type != HZ_Y_MAP) {
		hz_rp_bad(&c, root, "expected a map at the top (version, defaults, thresholds, reports)");
		goto out;
	}
	const struct hz_ynode *ver = hz_yaml_get(root, "version");
	if (!ver || ver->type != HZ_Y_SCALAR || strcmp(ver->scalar, "1")) {
		hz_rp_bad(&c, ver ? ver : root, "expected \"version: 1\"");
		goto out;
	}
	for (const struct hz_ynode *s = root->child; s; s = s->next) {
		if (!strcmp(s->key, "version")) {
			continue;
		} else if (!strcmp(s->key, "defaults")) {
			if (s->type != HZ_Y_MAP) {
				hz_rp_bad(&c, s, "defaults: expected a map");
				continue;
			}
			for (const struct hz_ynode *d = s->child; d; d = d->next) {
				int v = 0;
				if (!strcmp(d->key, "fault_level")) {
					if (!hz_rp_enum(&c, d, hz_rp_level, "level", &v))
						rs->fault_level = (enum hz_level)v;
				} else if (!strcmp(d->key, "supervised_closeout")) {
					hz_rp_duration(&c, d, &rs->supervised_closeout_us);
				} else if (!strcmp(d->key, "flapping")) {
					parse_flap(&c, d, &flap_clears, &flap_within);
				} else if (!strcmp(d->key, "supervised_closeout_by_risk")) {
					get_by_risk(&c, d, rs->supervised_closeout_by_risk_us);
				} else if (!strcmp(d->key, "closeout_reminders")) {
					get_reminders(&c, d, rs);
				} else {
					hz_rp_bad(&c, d, "unknown default \"%s\"", d->key);
				}
			}
		} else if (!strcmp(s->key, "thresholds")) {
			if (s->type != HZ_Y_SEQ) {
				hz_rp_bad(&c, s, "thresholds: expected a list of rules");
				continue;
			}
			size_t n = 0;
			for (const struct hz_ynode *r = s->child; r; r = r->next)
				n++;
			rs->rule = calloc(n ? n : 1, sizeof(*rs->rule));
			if (!rs->rule) {
				hz_rp_bad(&c, s, "out of memory");
				break;
			}
			for (const struct hz_ynode *r = s->child; r; r = r->next) {
				if (parse_threshold(&c, r, &rs->rule[rs->n_rule]) == 0)
					rs->n_rule++;
			}
			for (size_t i = 0; i < rs->n_rule; i++)
				for (size_t j = 0; j < i; j++)
					if (!strcmp(rs->rule[i].name, rs->rule[j].name))
						hz_rp_bad(&c, s, "duplicate rule name \"%s\"", rs->rule[i].name);
		} else if (!strcmp(s->key, "reports")) {
			parse_reports(&c, s, rs);
		} else if (!strcmp(s->key, "escalation")) {
			parse_escalation(&c, s, &rs->esc);
		} else if (!strcmp(s->key, "rating")) {
			parse_rating(&c, s, &rs->rating);
		} else if (!strcmp(s->key, "offline")) {
			parse_offline(&c, s, &rs->offline);
		} else if (!strcmp(s->key, "inhibit") || !strcmp(s->key, "area_raise")) {
			if (!c.failed && hz_context_parse(name, s, rs, err, errlen))
				c.failed = 1;
		} else {
			hz_rp_bad(&c, s,
			    "unknown section \"%s\" (version, defaults, thresholds, reports, escalation, rating, offline, inhibit, area_raise)",
			    s->key);
		}
	}
	/* the defaults' flapping limit, for auto-clearing rules without their own */
	for (size_t i = 0; i < rs->n_rule; i++) {
		struct hz_rule *r = &rs->rule[i];
		if (!r->flap.clears) {
			r->flap.clears = flap_clears;
			r->flap.within_us = flap_within;
		} else if (r->flap.clears < 0) {
			r->flap.clears = 0;
		}
		rs->stateful |= hz_cond_needed(r);
	}
out:
	hz_yaml_free(root);
	if (c.failed) {
		hz_rules_destroy(rs);
		return NULL;
	}
	return rs;
}

struct hz_rules *hz_rules_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		hz_errf(err, errlen, "could not open rules file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16384;
			char *t = cap > (64u << 20) ? NULL : realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				hz_errf(err, errlen, "rules file \"%s\" is too large", path);
				return NULL;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	struct hz_rules *r = hz_rules_parse(path, text, len, err, errlen);
	free(text);
	return r;
}

void hz_rules_destroy(struct hz_rules *r)
{
	if (!r)
		return;
	free(r->rule);
	hz_context_rules_free(r);
	free(r);
}

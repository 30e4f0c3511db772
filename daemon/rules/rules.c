/*
 * rules.c - load the rules file (YAML) into an immutable hz_rules, and
 * evaluate events against it.
 *
 * Evaluation is O(rules for the metric) per reading, with no allocation;
 * most readings match no threshold and produce nothing.
 */
#include "rules/rules.h"
#include "rules/cond.h"
#include "rules/yaml_tree.h"
#include "rules/context.h"
#include "registry/registry.h"
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const category_names[] = {
	"unspecified", "blocked_exit", "ebike_indoor_charging", "expired_extinguisher",
	"illegal_wiring", "gas_leak_risk", "flammable_storage", "fire_system_disabled",
	"occupied_fire_lane", "substandard_dormitory", "other"};
static const char *const risk_names[] = {"none", "low", "general", "significant", "major"};

const char *hz_rules_category_name(int c)
{
	return c >= 0 && (size_t)c < HZ_ARRAY_LEN(category_names) ? category_names[c] : "invalid";
}

struct ctx {
	const char *name;
	char *err;
	size_t errlen;
	int failed;
};

static int bad(struct ctx *c, const struct hz_ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, const struct hz_ynode *n, const char *fmt, ...)
{
	if (!c->failed) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		hz_errf(c->err, c->errlen, "%s:%d:%d: %s", c->name, n ? n->line : 0, n ? n->col : 0,
			msg);
	}
	c->failed = 1;
	return -1;
}

static int want_scalar(struct ctx *c, const struct hz_ynode *n, const char *what)
{
	if (n->type != HZ_Y_SCALAR)
		return bad(c, n, "%s: expected a scalar", what);
	return 0;
}

static int get_double(struct ctx *c, const struct hz_ynode *n, double *out)
{
	if (want_scalar(c, n, n->key ? n->key : "value"))
		return -1;
	char *end;
	errno = 0;
	double v = strtod(n->scalar, &end);
	if (end == n->scalar || *end || errno || !isfinite(v))
		return bad(c, n, "expected a finite number, got \"%s\"", n->scalar);
	*out = v;
	return 0;
}

static int get_enum(struct ctx *c, const struct hz_ynode *n, int (*parse)(const char *),
		    const char *what, int *out)
{
	if (want_scalar(c, n, what))
		return -1;
	int v = parse(n->scalar);
	if (v <= 0)
		return bad(c, n, "unknown %s \"%s\"", what, n->scalar);
	*out = v;
	return 0;
}

static int parse_level(const char *s) { return (int)hz_level_parse(s); }
static int parse_metric(const char *s) { return (int)hz_metric_parse(s); }
static int parse_kind(const char *s) { return (int)hz_kind_parse(s); }
static int parse_tier(const char *s) { return (int)hz_tier_parse(s); }
static int parse_risk(const char *s)
{
	for (size_t i = 1; i < HZ_ARRAY_LEN(risk_names); i++)
		if (!strcmp(risk_names[i], s))
			return (int)i;
	return 0;
}
static int parse_category(const char *s)
{
	for (size_t i = 1; i < HZ_ARRAY_LEN(category_names); i++)
		if (!strcmp(category_names[i], s))
			return (int)i;
	return 0;
}

static int copy_str(struct ctx *c, const struct hz_ynode *n, char *dst, size_t cap)
{
	if (want_scalar(c, n, n->key ? n->key : "value"))
		return -1;
	size_t len = strlen(n->scalar);
	if (len >= cap || !len)
		return bad(c, n, "\"%s\" is empty or too long", n->scalar);
	memcpy(dst, n->scalar, len + 1);
	return 0;
}

static int get_duration(struct ctx *c, const struct hz_ynode *n, int64_t *us)
{
	if (want_scalar(c, n, n->key ? n->key : "value"))
		return -1;
	if (hz_parse_duration(n->scalar, us))
		return bad(c, n, "expected a duration such as 30s, 5m, 15d, got \"%s\"", n->scalar);
	return 0;
}

static int get_bool(struct ctx *c, const struct hz_ynode *n, bool *out)
{
	if (n->type != HZ_Y_SCALAR || (strcmp(n->scalar, "true") && strcmp(n->scalar, "false")))
		return bad(c, n, "%s: expected true or false", n->key ? n->key : "value");
	*out = !strcmp(n->scalar, "true");
	return 0;
}

static int get_count(struct ctx *c, const struct hz_ynode *n, int lo, int hi, int *out)
{
	double v = 0;
	if (get_double(c, n, &v))
		return -1;
	if (v != (int)v || v < lo || v > hi)
		return bad(c, n, "%s: expected a whole number from %d to %d", n->key, lo, hi);
	*out = (int)v;
	return 0;
}

/* A name or a list of names: "kind: x" or "kind: [x, y]". */
static int get_match(struct ctx *c, const struct hz_ynode *n, struct hz_match *m)
{
	memset(m, 0, sizeof(*m));
	if (n->type == HZ_Y_SCALAR)
		return copy_str(c, n, m->v[m->n++], sizeof(m->v[0]));
	if (n->type != HZ_Y_SEQ)
		return bad(c, n, "%s: expected a name or a list of names", n->key);
	for (const struct hz_ynode *i = n->child; i; i = i->next) {
		if (m->n == HZ_MATCH_MAX)
			return bad(c, i, "%s: at most %d names", n->key, HZ_MATCH_MAX);
		if (copy_str(c, i, m->v[m->n], sizeof(m->v[0])))
			return -1;
		m->n++;
	}
	if (!m->n)
		return bad(c, n, "%s: an empty list matches nothing", n->key);
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

/* rise: {by: 8, within: 60s, level: orange} */
static int parse_rise(struct ctx *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "rise: expected a map (by, within, level)");
	int v = 0;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "by"))
			get_double(c, f, &r->rise.by);
		else if (!strcmp(f->key, "within"))
			get_duration(c, f, &r->rise.within_us);
		else if (!strcmp(f->key, "level") && !get_enum(c, f, parse_level, "level", &v))
			r->rise.level = (enum hz_level)v;
		else if (strcmp(f->key, "level"))
			bad(c, f, "unknown setting \"%s\" in rise (by, within, level)", f->key);
	}
	if (!c->failed && (r->rise.by <= 0 || r->rise.within_us <= 0 || !r->rise.level))
		return bad(c, m, "rise needs by > 0, within > 0 and a level");
	return c->failed ? -1 : 0;
}

/* window: {count: 3, within: 10m, per: device|site} */
static int parse_window(struct ctx *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "window: expected a map (count, within, per)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "count")) {
			get_count(c, f, 2, HZ_RING, &r->window.count);
		} else if (!strcmp(f->key, "within")) {
			get_duration(c, f, &r->window.within_us);
		} else if (!strcmp(f->key, "per")) {
			if (f->type != HZ_Y_SCALAR ||
			    (strcmp(f->scalar, "device") && strcmp(f->scalar, "site")))
				bad(c, f, "per: expected device or site");
			else
				r->window.per_site = !strcmp(f->scalar, "site");
		} else {
			bad(c, f, "unknown setting \"%s\" in window (count, within, per)", f->key);
		}
	}
	if (!c->failed && (!r->window.count || r->window.within_us <= 0))
		return bad(c, m, "window needs count and within");
	return c->failed ? -1 : 0;
}

/* confirm: {devices: 2, within: 2m, level: red, group: fire} */
static int parse_confirm(struct ctx *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "confirm: expected a map (devices, within, level, group)");
	int v = 0;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "devices"))
			get_count(c, f, 2, HZ_RING, &r->confirm.devices);
		else if (!strcmp(f->key, "within"))
			get_duration(c, f, &r->confirm.within_us);
		else if (!strcmp(f->key, "group"))
			copy_str(c, f, r->confirm.group, sizeof(r->confirm.group));
		else if (!strcmp(f->key, "level") && !get_enum(c, f, parse_level, "level", &v))
			r->confirm.level = (enum hz_level)v;
		else if (strcmp(f->key, "level"))
			bad(c, f, "unknown setting \"%s\" in confirm (devices, within, level, group)",
			    f->key);
	}
	if (!c->failed && (!r->confirm.devices || r->confirm.within_us <= 0))
		return bad(c, m, "confirm needs devices and within");
	return c->failed ? -1 : 0;
}

/* flapping: {clears: 3, within: 10m}; clears 0 turns it off */
static int parse_flap(struct ctx *c, const struct hz_ynode *m, int *clears, int64_t *within)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "flapping: expected a map (clears, within)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "clears"))
			get_count(c, f, 0, HZ_RING - 1, clears);
		else if (!strcmp(f->key, "within"))
			get_duration(c, f, within);
		else
			bad(c, f, "unknown setting \"%s\" in flapping (clears, within)", f->key);
	}
	if (!c->failed && *clears && *within <= 0)
		return bad(c, m, "flapping needs within");
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

static int parse_threshold(struct ctx *c, const struct hz_ynode *m, struct hz_rule *r)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "expected a map of rule settings");
	for (int l = 0; l < 5; l++)
		r->threshold[l] = NAN;
	r->kind = HZ_KIND_ALARM;
	r->tier = HZ_TIER_GRID;
	r->line = m->line;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		int v = 0;
		if (!strcmp(f->key, "name")) {
			copy_str(c, f, r->name, sizeof(r->name));
		} else if (!strcmp(f->key, "metric")) {
			if (!get_enum(c, f, parse_metric, "metric", &v))
				r->metric = (enum hz_metric)v;
		} else if (!strcmp(f->key, "hazard_type")) {
			copy_str(c, f, r->hazard_type, sizeof(r->hazard_type));
		} else if (!strcmp(f->key, "kind")) {
			if (!get_enum(c, f, parse_kind, "kind", &v))
				r->kind = (enum hz_kind)v;
		} else if (!strcmp(f->key, "tier")) {
			if (!get_enum(c, f, parse_tier, "tier", &v))
				r->tier = (enum hz_tier)v;
		} else if (!strcmp(f->key, "device_kind")) {
			get_match(c, f, &r->device_kind);
		} else if (!strcmp(f->key, "site_kind")) {
			get_match(c, f, &r->site_kind);
		} else if (!strcmp(f->key, "org")) {
			get_match(c, f, &r->org);
		} else if (!strcmp(f->key, "risk")) {
			if (!get_match(c, f, &r->risk))
				for (int i = 0; i < r->risk.n; i++)
					if (!parse_risk(r->risk.v[i]))
						bad(c, f, "unknown risk grade \"%s\" (low, general, significant, major)",
						    r->risk.v[i]);
		} else if (!strcmp(f->key, "clear")) {
			if (!get_double(c, f, &r->clear))
				r->has_clear = true;
		} else if (!strcmp(f->key, "for")) {
			get_duration(c, f, &r->for_us);
		} else if (!strcmp(f->key, "clear_for")) {
			get_duration(c, f, &r->clear_for_us);
		} else if (!strcmp(f->key, "auto_clear")) {
			get_bool(c, f, &r->auto_clear);
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
			if (!get_enum(c, f, parse_risk, "risk grade", &v))
				r->min_risk = v;
		} else if (!strcmp(f->key, "above") || !strcmp(f->key, "below")) {
			if (r->cmp)
				bad(c, f, "a rule has either above or below, not both");
			r->cmp = f->key[0] == 'a' ? HZ_CMP_ABOVE : HZ_CMP_BELOW;
			if (f->type != HZ_Y_MAP) {
				bad(c, f, "expected a map of level: threshold");
				continue;
			}
			for (const struct hz_ynode *t = f->child; t; t = t->next) {
				int l = parse_level(t->key);
				if (l <= 0) {
					bad(c, t, "unknown level \"%s\" (blue, yellow, orange, red)",
					    t->key);
					continue;
				}
				get_double(c, t, &r->threshold[l]);
			}
		} else {
			bad(c, f, "unknown setting \"%s\" in a threshold rule", f->key);
		}
	}
	if (c->failed)
		return -1;
	if (!*r->name)
		return bad(c, m, "a threshold rule needs a name");
	if (!r->metric)
		return bad(c, m, "rule \"%s\" needs a metric", r->name);
	if (!*r->hazard_type)
		return bad(c, m, "rule \"%s\" needs a hazard_type", r->name);
	r->key = name_key(r->name);
	if (r->rise.within_us) {
		if (r->cmp)
			return bad(c, m, "rule \"%s\": a rise rule has no above or below thresholds",
				   r->name);
		if (r->window.count || r->has_clear || r->for_us || r->auto_clear)
			return bad(c, m,
				   "rule \"%s\": rise does not combine with window, clear, for or auto_clear",
				   r->name);
		r->cmp = HZ_CMP_ABOVE;
		return 0;
	}
	if (!r->cmp)
		return bad(c, m, "rule \"%s\" needs above or below thresholds, or rise", r->name);
	/* Thresholds must order with the level: a higher level is further out. */
	double prev = NAN;
	int any = 0;
	for (int l = 1; l < 5; l++) {
		if (isnan(r->threshold[l]))
			continue;
		any = 1;
		if (!isnan(prev) && (r->cmp == HZ_CMP_ABOVE ? r->threshold[l] <= prev
							    : r->threshold[l] >= prev))
			return bad(c, m,
				   "rule \"%s\": thresholds must rise with the level (fall for below)",
				   r->name);
		prev = r->threshold[l];
	}
	if (!any)
		return bad(c, m, "rule \"%s\" has no threshold", r->name);
	/* the clear line lies on the quiet side of the lowest threshold */
	double low = NAN;
	for (int l = 1; l < 5 && isnan(low); l++)
		low = r->threshold[l];
	if (r->has_clear && (r->cmp == HZ_CMP_ABOVE ? r->clear >= low : r->clear <= low))
		return bad(c, m, "rule \"%s\": clear %g must be %s the lowest threshold %g", r->name,
			   r->clear, r->cmp == HZ_CMP_ABOVE ? "below" : "above", low);
	if (r->window.count && (r->has_clear || r->for_us || r->clear_for_us || r->auto_clear))
		return bad(c, m, "rule \"%s\": window does not combine with clear, for or auto_clear",
			   r->name);
	return 0;
}

static int parse_reports(struct ctx *c, const struct hz_ynode *m, struct hz_rules *rs)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "reports: expected a map of category: settings");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		int cat = parse_category(f->key);
		if (cat <= 0) {
			bad(c, f, "unknown hazard category \"%s\"", f->key);
			continue;
		}
		struct hz_report_rule *rr = &rs->report[cat];
		if (f->type != HZ_Y_MAP) {
			bad(c, f, "expected a map (level, closeout, tier)");
			continue;
		}
		for (const struct hz_ynode *s = f->child; s; s = s->next) {
			int v = 0;
			if (!strcmp(s->key, "level")) {
				if (!get_enum(c, s, parse_level, "level", &v))
					rr->level = (enum hz_level)v;
			} else if (!strcmp(s->key, "closeout")) {
				get_duration(c, s, &rr->closeout_us);
			} else if (!strcmp(s->key, "tier")) {
				if (!get_enum(c, s, parse_tier, "tier", &v))
					rr->tier = (enum hz_tier)v;
			} else {
				bad(c, s, "unknown setting \"%s\" for a report category", s->key);
			}
		}
	}
	return c->failed ? -1 : 0;
}

/* escalation: {ack: {level: {tier: duration}}, repeat: d, major_risk: {start_higher, factor}} */
static int parse_escalation(struct ctx *c, const struct hz_ynode *m, struct hz_escalation_rules *e)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "escalation: expected a map (ack, repeat, major_risk)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "ack")) {
			if (f->type != HZ_Y_MAP) {
				bad(c, f, "ack: expected a map of level: {tier: duration}");
				continue;
			}
			for (const struct hz_ynode *l = f->child; l; l = l->next) {
				int lv = parse_level(l->key);
				if (lv <= 0) {
					bad(c, l, "unknown level \"%s\" (blue, yellow, orange, red)", l->key);
					continue;
				}
				if (l->type != HZ_Y_MAP) {
					bad(c, l, "%s: expected a map of tier: duration", l->key);
					continue;
				}
				for (int t = 0; t < 5; t++)
					e->ack_us[lv][t] = 0;
				for (const struct hz_ynode *t = l->child; t; t = t->next) {
					int tv = parse_tier(t->key);
					if (tv <= 0) {
						bad(c, t, "unknown tier \"%s\" (grid, town, county, city)",
						    t->key);
						continue;
					}
					get_duration(c, t, &e->ack_us[lv][tv]);
				}
			}
		} else if (!strcmp(f->key, "repeat")) {
			get_duration(c, f, &e->repeat_us);
		} else if (!strcmp(f->key, "major_risk")) {
			if (f->type != HZ_Y_MAP) {
				bad(c, f, "major_risk: expected a map (start_higher, factor)");
				continue;
			}
			for (const struct hz_ynode *g = f->child; g; g = g->next) {
				if (!strcmp(g->key, "start_higher")) {
					if (g->type != HZ_Y_SCALAR || (strcmp(g->scalar, "true") &&
								       strcmp(g->scalar, "false")))
						bad(c, g, "start_higher: expected true or false");
					else
						e->major_start_higher = !strcmp(g->scalar, "true");
				} else if (!strcmp(g->key, "factor")) {
					double v = 1;
					if (!get_double(c, g, &v) && (v <= 0 || v > 1))
						bad(c, g, "factor: expected a number in (0, 1]");
					else
						e->major_factor = v;
				} else {
					bad(c, g, "unknown setting \"%s\" in major_risk", g->key);
				}
			}
		} else {
			bad(c, f, "unknown setting \"%s\" in escalation (ack, repeat, major_risk)",
			    f->key);
		}
	}
	return c->failed ? -1 : 0;
}

/* rating: {red: {open_red, open_orange, overdue}, yellow: {...}, interval} */
static int parse_rating(struct ctx *c, const struct hz_ynode *m, struct hz_rating_rules *rr)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "rating: expected a map (red, yellow, interval)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "interval")) {
			get_duration(c, f, &rr->interval_us);
			continue;
		}
		bool red = !strcmp(f->key, "red");
		if (!red && strcmp(f->key, "yellow")) {
			bad(c, f, "unknown setting \"%s\" in rating (red, yellow, interval)", f->key);
			continue;
		}
		if (f->type != HZ_Y_MAP) {
			bad(c, f, "%s: expected a map of count thresholds", f->key);
			continue;
		}
		if (red)
			rr->red_open_red = rr->red_open_orange = rr->red_overdue = 0;
		else
			rr->yellow_open_red = rr->yellow_open_orange = rr->yellow_open =
				rr->yellow_overdue = 0;
		for (const struct hz_ynode *g = f->child; g; g = g->next) {
			double v = 0;
			if (get_double(c, g, &v))
				continue;
			/* range first: converting a double out of int's range is undefined */
			if (!(v >= 0 && v <= INT_MAX) || v != (int)v) {
				bad(c, g, "%s: expected a whole number of tickets", g->key);
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
				bad(c, g, "unknown threshold \"%s\" (open_red, open_orange, overdue%s)",
				    g->key, red ? "" : ", open");
			else
				*slot = (int)v;
		}
	}
	return c->failed ? -1 : 0;
}

/* offline: {after: 1h, level: yellow, by_kind: {smoke_detector: 30m, water_gauge: off}, scan: 1s} */
static int parse_offline(struct ctx *c, const struct hz_ynode *m, struct hz_offline_rules *o)
{
	if (m->type != HZ_Y_MAP)
		return bad(c, m, "offline: expected a map (after, level, by_kind, scan)");
	int v = 0;
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "after")) {
			if (f->type == HZ_Y_SCALAR && !strcmp(f->scalar, "off"))
				o->after_us = 0;
			else
				get_duration(c, f, &o->after_us);
		} else if (!strcmp(f->key, "scan")) {
			get_duration(c, f, &o->scan_us);
		} else if (!strcmp(f->key, "level")) {
			if (!get_enum(c, f, parse_level, "level", &v))
				o->level = (enum hz_level)v;
		} else if (!strcmp(f->key, "by_kind")) {
			if (f->type != HZ_Y_MAP) {
				bad(c, f, "by_kind: expected a map of device kind: duration or off");
				continue;
			}
			for (const struct hz_ynode *k = f->child; k; k = k->next) {
				if (o->n_kind == (int)HZ_ARRAY_LEN(o->by_kind)) {
					bad(c, k, "by_kind: at most %zu kinds", HZ_ARRAY_LEN(o->by_kind));
					break;
				}
				if (strlen(k->key) >= sizeof(o->by_kind[0].kind)) {
					bad(c, k, "device kind \"%s\" is too long", k->key);
					continue;
				}
				snprintf(o->by_kind[o->n_kind].kind, sizeof(o->by_kind[0].kind), "%s", k->key);
				if (k->type == HZ_Y_SCALAR && !strcmp(k->scalar, "off"))
					o->by_kind[o->n_kind].after_us = 0;
				else if (get_duration(c, k, &o->by_kind[o->n_kind].after_us))
					continue;
				o->n_kind++;
			}
		} else {
			bad(c, f, "unknown setting \"%s\" in offline (after, level, by_kind, scan)",
			    f->key);
		}
	}
	if (!c->failed && o->scan_us <= 0)
		return bad(c, m, "offline: scan must be a positive duration");
	return c->failed ? -1 : 0;
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
	struct ctx c = {.name = name, .err = err, .errlen = errlen};
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
		rs->report[i] = (struct hz_report_rule){HZ_LEVEL_YELLOW, 0, HZ_TIER_GRID};

	if (root->type != HZ_Y_MAP) {
		bad(&c, root, "expected a map at the top (version, defaults, thresholds, reports)");
		goto out;
	}
	const struct hz_ynode *ver = hz_yaml_get(root, "version");
	if (!ver || ver->type != HZ_Y_SCALAR || strcmp(ver->scalar, "1")) {
		bad(&c, ver ? ver : root, "expected \"version: 1\"");
		goto out;
	}
	for (const struct hz_ynode *s = root->child; s; s = s->next) {
		if (!strcmp(s->key, "version")) {
			continue;
		} else if (!strcmp(s->key, "defaults")) {
			if (s->type != HZ_Y_MAP) {
				bad(&c, s, "defaults: expected a map");
				continue;
			}
			for (const struct hz_ynode *d = s->child; d; d = d->next) {
				int v = 0;
				if (!strcmp(d->key, "fault_level")) {
					if (!get_enum(&c, d, parse_level, "level", &v))
						rs->fault_level = (enum hz_level)v;
				} else if (!strcmp(d->key, "supervised_closeout")) {
					get_duration(&c, d, &rs->supervised_closeout_us);
				} else if (!strcmp(d->key, "flapping")) {
					parse_flap(&c, d, &flap_clears, &flap_within);
				} else {
					bad(&c, d, "unknown default \"%s\"", d->key);
				}
			}
		} else if (!strcmp(s->key, "thresholds")) {
			if (s->type != HZ_Y_SEQ) {
				bad(&c, s, "thresholds: expected a list of rules");
				continue;
			}
			size_t n = 0;
			for (const struct hz_ynode *r = s->child; r; r = r->next)
				n++;
			rs->rule = calloc(n ? n : 1, sizeof(*rs->rule));
			if (!rs->rule) {
				bad(&c, s, "out of memory");
				break;
			}
			for (const struct hz_ynode *r = s->child; r; r = r->next) {
				if (parse_threshold(&c, r, &rs->rule[rs->n_rule]) == 0)
					rs->n_rule++;
			}
			for (size_t i = 0; i < rs->n_rule; i++)
				for (size_t j = 0; j < i; j++)
					if (!strcmp(rs->rule[i].name, rs->rule[j].name))
						bad(&c, s, "duplicate rule name \"%s\"", rs->rule[i].name);
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
			bad(&c, s,
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
	       match_one(&r->risk, risk_names[site->risk > 0 && site->risk < 5 ? site->risk : 0]);
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
	int64_t closeout = ev->u.report.supervised ? rs->supervised_closeout_us : rr->closeout_us;
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

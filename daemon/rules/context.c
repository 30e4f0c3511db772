/*
 * context.c - silences, inhibition and area raises: the `inhibit:` and
 * `area_raise:` rule sections, the in-memory snapshot they are applied
 * against, and the pure application to an event's intents.
 *
 * The snapshot is two flat arrays scanned linearly: the active silences
 * (a station has a handful) and the open tickets the rules name in a
 * `while` or `warning` (open fire alarms and area warnings: tens, maybe
 * hundreds). Only events that produced intents pay the scan, and most
 * messages produce none. It does not load anything: see store/context.c.
 */
#include "rules/context.h"
#include "rules/rparse.h"
#include "core/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hz_context {
	struct hz_silence *sil;
	size_t n_sil, cap_sil;
	struct hz_ctx_ticket *tk;
	size_t n_tk, cap_tk;
};

/* ---- parsing ---- */

/* A hazard type or a list of them. */
static int type_list(struct hz_rp *c, const struct hz_ynode *n, char (*out)[HZ_TYPE_MAX],
		     size_t *n_out)
{
	*n_out = 0;
	if (n->type == HZ_Y_SCALAR)
		return hz_rp_str(c, n, out[(*n_out)++], HZ_TYPE_MAX);
	if (n->type != HZ_Y_SEQ)
		return hz_rp_bad(c, n, "%s: expected a hazard type or a list of them", n->key);
	for (const struct hz_ynode *v = n->child; v; v = v->next) {
		if (*n_out == HZ_CTX_TYPES_MAX)
			return hz_rp_bad(c, v, "%s: at most %d hazard types", n->key, HZ_CTX_TYPES_MAX);
		if (hz_rp_str(c, v, out[(*n_out)++], HZ_TYPE_MAX))
			return -1;
	}
	if (!*n_out)
		return hz_rp_bad(c, n, "%s: the list is empty", n->key);
	return 0;
}

static int level_of(struct hz_rp *c, const struct hz_ynode *n, enum hz_level *out)
{
	if (n->type != HZ_Y_SCALAR || hz_level_parse(n->scalar) <= HZ_LEVEL_NONE)
		return hz_rp_bad(c, n, "%s: expected a level (blue, yellow, orange, red)", n->key);
	*out = hz_level_parse(n->scalar);
	return 0;
}

static int kind_of(struct hz_rp *c, const struct hz_ynode *n, enum hz_kind *out)
{
	if (n->type != HZ_Y_SCALAR || hz_kind_parse(n->scalar) <= HZ_KIND_NONE)
		return hz_rp_bad(c, n, "%s: expected a kind (alarm, hazard, warning, fault)", n->key);
	*out = hz_kind_parse(n->scalar);
	return 0;
}

static int parse_while(struct hz_rp *c, const struct hz_ynode *m, struct hz_inhibit_rule *ir)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "while: expected a map (hazard_type, kind, min_level, scope)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "hazard_type")) {
			type_list(c, f, ir->while_type, &ir->n_while_type);
		} else if (!strcmp(f->key, "kind")) {
			kind_of(c, f, &ir->while_kind);
		} else if (!strcmp(f->key, "min_level")) {
			level_of(c, f, &ir->while_min);
		} else if (!strcmp(f->key, "scope")) {
			if (f->type == HZ_Y_SCALAR && !strcmp(f->scalar, "site"))
				ir->scope = HZ_SCOPE_SITE;
			else if (f->type == HZ_Y_SCALAR && !strcmp(f->scalar, "area"))
				ir->scope = HZ_SCOPE_AREA;
			else
				hz_rp_bad(c, f, "scope: expected site or area");
		} else {
			hz_rp_bad(c, f, "unknown setting \"%s\" in while (hazard_type, kind, min_level, scope)",
			    f->key);
		}
	}
	if (!c->failed && !ir->n_while_type)
		return hz_rp_bad(c, m, "while: needs a hazard_type");
	return c->failed ? -1 : 0;
}

static int parse_hold(struct hz_rp *c, const struct hz_ynode *m, struct hz_inhibit_rule *ir)
{
	if (m->type != HZ_Y_MAP)
		return hz_rp_bad(c, m, "hold: expected a map (hazard_type, kind, below)");
	for (const struct hz_ynode *f = m->child; f; f = f->next) {
		if (!strcmp(f->key, "hazard_type")) {
			type_list(c, f, ir->hold_type, &ir->n_hold_type);
		} else if (!strcmp(f->key, "kind")) {
			kind_of(c, f, &ir->hold_kind);
		} else if (!strcmp(f->key, "below")) {
			if (f->type == HZ_Y_SCALAR && !strcmp(f->scalar, "holder"))
				ir->hold_below = HZ_LEVEL_NONE;
			else if (!level_of(c, f, &ir->hold_below) && ir->hold_below == HZ_LEVEL_BLUE)
				hz_rp_bad(c, f, "below: blue would hold nothing (holder, yellow, orange, red)");
		} else {
			hz_rp_bad(c, f, "unknown setting \"%s\" in hold (hazard_type, kind, below)", f->key);
		}
	}
	if (!c->failed && !ir->n_hold_type)
		return hz_rp_bad(c, m, "hold: needs a hazard_type");
	return c->failed ? -1 : 0;
}

static int parse_inhibit(struct hz_rp *c, const struct hz_ynode *s, struct hz_rules *rs)
{
	for (const struct hz_ynode *r = s->child; r; r = r->next) {
		struct hz_inhibit_rule *ir = &rs->inhibit[rs->n_inhibit];
		memset(ir, 0, sizeof(*ir));
		ir->scope = HZ_SCOPE_SITE;
		ir->while_min = HZ_LEVEL_BLUE;
		ir->line = r->line;
		if (r->type != HZ_Y_MAP)
			return hz_rp_bad(c, r, "expected a map (name, while, hold)");
		const struct hz_ynode *w = NULL, *h = NULL;
		for (const struct hz_ynode *f = r->child; f; f = f->next) {
			if (!strcmp(f->key, "name"))
				hz_rp_str(c, f, ir->name, sizeof(ir->name));
			else if (!strcmp(f->key, "while"))
				w = f;
			else if (!strcmp(f->key, "hold"))
				h = f;
			else
				hz_rp_bad(c, f, "unknown setting \"%s\" in an inhibit rule (name, while, hold)",
				    f->key);
		}
		if (c->failed)
			return -1;
		if (!*ir->name)
			return hz_rp_bad(c, r, "an inhibit rule needs a name");
		if (!w || !h)
			return hz_rp_bad(c, r, "inhibit rule \"%s\" needs while and hold", ir->name);
		if (parse_while(c, w, ir) || parse_hold(c, h, ir))
			return -1;
		for (size_t j = 0; j < rs->n_inhibit; j++)
			if (!strcmp(rs->inhibit[j].name, ir->name))
				return hz_rp_bad(c, r, "duplicate inhibit rule name \"%s\"", ir->name);
		rs->n_inhibit++;
	}
	return 0;
}

static int parse_raise(struct hz_rp *c, const struct hz_ynode *s, struct hz_rules *rs)
{
	for (const struct hz_ynode *r = s->child; r; r = r->next) {
		struct hz_raise_rule *rr = &rs->raise[rs->n_raise];
		memset(rr, 0, sizeof(*rr));
		rr->warning_min = HZ_LEVEL_BLUE;
		rr->max_level = HZ_LEVEL_RED;
		rr->line = r->line;
		if (r->type != HZ_Y_MAP)
			return hz_rp_bad(c, r, "expected a map (name, warning, min_level, raises, by or to, max_level)");
		bool have_by = false;
		for (const struct hz_ynode *f = r->child; f; f = f->next) {
			if (!strcmp(f->key, "name")) {
				hz_rp_str(c, f, rr->name, sizeof(rr->name));
			} else if (!strcmp(f->key, "warning")) {
				type_list(c, f, rr->warning_type, &rr->n_warning_type);
			} else if (!strcmp(f->key, "min_level")) {
				level_of(c, f, &rr->warning_min);
			} else if (!strcmp(f->key, "raises")) {
				type_list(c, f, rr->raise_type, &rr->n_raise_type);
			} else if (!strcmp(f->key, "by")) {
				char *end;
				long v = f->type == HZ_Y_SCALAR ? strtol(f->scalar, &end, 10) : 0;
				if (f->type != HZ_Y_SCALAR || *end || v < 1 || v > 3)
					hz_rp_bad(c, f, "by: expected a number of levels, 1 to 3");
				rr->by = (int)v;
				have_by = true;
			} else if (!strcmp(f->key, "to")) {
				if (f->type != HZ_Y_SCALAR || strcmp(f->scalar, "warning"))
					hz_rp_bad(c, f, "to: expected \"warning\" (the warning's level)");
				rr->to_warning = true;
			} else if (!strcmp(f->key, "max_level")) {
				level_of(c, f, &rr->max_level);
			} else {
				hz_rp_bad(c, f,
				    "unknown setting \"%s\" in an area_raise rule (name, warning, min_level, "
				    "raises, by, to, max_level)",
				    f->key);
			}
		}
		if (c->failed)
			return -1;
		if (!*rr->name)
			return hz_rp_bad(c, r, "an area_raise rule needs a name");
		if (!rr->n_warning_type || !rr->n_raise_type)
			return hz_rp_bad(c, r, "area_raise rule \"%s\" needs warning and raises", rr->name);
		if (have_by == rr->to_warning)
			return hz_rp_bad(c, r, "area_raise rule \"%s\" needs either by or to, not both",
				   rr->name);
		for (size_t j = 0; j < rs->n_raise; j++)
			if (!strcmp(rs->raise[j].name, rr->name))
				return hz_rp_bad(c, r, "duplicate area_raise rule name \"%s\"", rr->name);
		rs->n_raise++;
	}
	return 0;
}

int hz_context_parse(const char *file, const struct hz_ynode *s, struct hz_rules *rs, char *err,
		     size_t errlen)
{
	struct hz_rp c = {.name = file, .err = err, .errlen = errlen};
	bool inhibit = !strcmp(s->key, "inhibit");
	if (s->type != HZ_Y_SEQ)
		return hz_rp_bad(&c, s, "%s: expected a list of rules", s->key);
	if (inhibit ? rs->inhibit != NULL : rs->raise != NULL)
		return hz_rp_bad(&c, s, "%s: given twice", s->key);
	size_t n = 0;
	for (const struct hz_ynode *r = s->child; r; r = r->next)
		n++;
	if (inhibit) {
		rs->inhibit = calloc(n ? n : 1, sizeof(*rs->inhibit));
		if (!rs->inhibit)
			return hz_rp_bad(&c, s, "out of memory");
		return parse_inhibit(&c, s, rs);
	}
	rs->raise = calloc(n ? n : 1, sizeof(*rs->raise));
	if (!rs->raise)
		return hz_rp_bad(&c, s, "out of memory");
	return parse_raise(&c, s, rs);
}

void hz_context_rules_free(struct hz_rules *rs)
{
	free(rs->inhibit);
	free(rs->raise);
	rs->inhibit = NULL;
	rs->raise = NULL;
	rs->n_inhibit = rs->n_raise = 0;
}

/* ---- the snapshot ---- */

struct hz_context *hz_context_new(void)
{
	return calloc(1, sizeof(struct hz_context));
}

void hz_context_destroy(struct hz_context *c)
{
	if (!c)
		return;
	free(c->sil);
	free(c->tk);
	free(c);
}

static int reserve(void **p, size_t *cap, size_t want, size_t size)
{
	if (want <= *cap)
		return HZ_OK;
	size_t nc = *cap ? *cap : 16;
	while (nc < want)
		nc *= 2;
	void *np = realloc(*p, nc * size);
	if (!np)
		return HZ_ENOMEM;
	*p = np;
	*cap = nc;
	return HZ_OK;
}

int hz_context_set_silences(struct hz_context *c, const struct hz_silence *s, size_t n)
{
	if (reserve((void **)&c->sil, &c->cap_sil, n, sizeof(*s)))
		return HZ_ENOMEM;
	if (n)
		memcpy(c->sil, s, n * sizeof(*s));
	c->n_sil = n;
	return HZ_OK;
}

int hz_context_set_tickets(struct hz_context *c, const struct hz_ctx_ticket *t, size_t n)
{
	if (reserve((void **)&c->tk, &c->cap_tk, n, sizeof(*t)))
		return HZ_ENOMEM;
	if (n)
		memcpy(c->tk, t, n * sizeof(*t));
	c->n_tk = n;
	return HZ_OK;
}

static bool in_types(const char (*types)[HZ_TYPE_MAX], size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(types[i], t))
			return true;
	return false;
}

bool hz_context_wants(const struct hz_rules *r, const char *hazard_type)
{
	for (size_t i = 0; i < r->n_inhibit; i++)
		if (in_types(r->inhibit[i].while_type, r->inhibit[i].n_while_type, hazard_type))
			return true;
	for (size_t i = 0; i < r->n_raise; i++)
		if (in_types(r->raise[i].warning_type, r->raise[i].n_warning_type, hazard_type))
			return true;
	return false;
}

static void append_type(char *buf, size_t len, size_t *at, const char *t)
{
	/* hazard types in rules are plain identifiers, but quote them anyway */
	int w = snprintf(buf + *at, len - *at, "%s\"%s\"", *at > 1 ? "," : "", t);
	if (w > 0 && (size_t)w < len - *at)
		*at += (size_t)w;
}

void hz_context_types_literal(const struct hz_rules *r, char *buf, size_t len)
{
	size_t at = (size_t)snprintf(buf, len, "{");
	for (size_t i = 0; i < r->n_inhibit; i++)
		for (size_t j = 0; j < r->inhibit[i].n_while_type; j++)
			append_type(buf, len - 1, &at, r->inhibit[i].while_type[j]);
	for (size_t i = 0; i < r->n_raise; i++)
		for (size_t j = 0; j < r->raise[i].n_warning_type; j++)
			append_type(buf, len - 1, &at, r->raise[i].warning_type[j]);
	snprintf(buf + at, len - at, "}");
}

int hz_context_note_ticket(struct hz_context *c, const struct hz_rules *r,
			   const struct hz_ctx_ticket *t, bool open)
{
	for (size_t i = 0; i < c->n_tk; i++) {
		if (c->tk[i].ticket_id != t->ticket_id)
			continue;
		if (open)
			c->tk[i] = *t;
		else
			c->tk[i] = c->tk[--c->n_tk];
		return HZ_OK;
	}
	if (!open || !hz_context_wants(r, t->hazard_type))
		return HZ_OK;
	if (reserve((void **)&c->tk, &c->cap_tk, c->n_tk + 1, sizeof(*t)))
		return HZ_ENOMEM;
	c->tk[c->n_tk++] = *t;
	return HZ_OK;
}

size_t hz_context_count_silences(const struct hz_context *c) { return c->n_sil; }
size_t hz_context_count_tickets(const struct hz_context *c) { return c->n_tk; }

/* ---- application ---- */

/* Is org unit `code` the site's own unit or one of its ancestors? O(depth). */
static bool in_chain(const struct hz_site *site, const char *code)
{
	for (const struct hz_org_unit *o = site->org; o; o = o->parent)
		if (!strcmp(o->code, code))
			return true;
	return (site->town && !strcmp(site->town->code, code)) ||
	       (site->county && !strcmp(site->county->code, code)) ||
	       (site->city && !strcmp(site->city->code, code));
}

/* reason = prefix + reason, cut to fit; returns the prefix's length. */
static size_t prefix_reason(struct hz_intent *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static size_t prefix_reason(struct hz_intent *in, const char *fmt, ...)
{
	char pre[HZ_REASON_MAX], old[HZ_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, in->reason, sizeof(old));
	snprintf(in->reason, sizeof(in->reason), "%s%s", pre, old);
	return n < 0 ? 0 : HZ_MIN((size_t)n, sizeof(in->reason) - 1);
}

static bool live(const struct hz_ctx_ticket *t, int64_t now_us)
{
	return !t->deadline_us || t->kind != HZ_KIND_WARNING || t->deadline_us > now_us;
}

static void apply_raise(const struct hz_rules *r, const struct hz_context *c,
			const struct hz_site *site, struct hz_intent *in, int64_t now_us,
			struct hz_context_counts *counts)
{
	enum hz_level best = in->level;
	const struct hz_ctx_ticket *why = NULL;
	const struct hz_raise_rule *rule = NULL;
	for (size_t i = 0; i < r->n_raise; i++) {
		const struct hz_raise_rule *rr = &r->raise[i];
		if (!in_types(rr->raise_type, rr->n_raise_type, in->hazard_type))
			continue;
		for (size_t k = 0; k < c->n_tk; k++) {
			const struct hz_ctx_ticket *t = &c->tk[k];
			if (t->kind != HZ_KIND_WARNING || t->mode != in->mode ||
			    t->level < rr->warning_min || !live(t, now_us) ||
			    !in_types(rr->warning_type, rr->n_warning_type, t->hazard_type) ||
			    !in_chain(site, t->town_code))
				continue;
			int to = rr->to_warning ? (int)t->level : (int)in->level + rr->by;
			if (to > (int)rr->max_level)
				to = (int)rr->max_level;
			if (to > (int)best) {
				best = (enum hz_level)to;
				why = t;
				rule = rr;
			}
		}
	}
	if (!why)
		return;
	enum hz_level from = in->level;
	if (!in->raised_from)
		in->raised_from = from;
	in->level = best;
	in->ack_us = hz_escalate_ack_due(r, best, in->tier, in->risk, 0);
	prefix_reason(in, "raised %s->%s by %s warning ticket %lld (%s): ", hz_level_name(from),
		      hz_level_name(best), why->hazard_type, (long long)why->ticket_id, rule->name);
	if (counts)
		counts->raised++;
}

static bool hold_matches(const struct hz_inhibit_rule *ir, const struct hz_intent *in)
{
	return (!ir->hold_kind || ir->hold_kind == in->kind) &&
	       (ir->hold_below == HZ_LEVEL_NONE || in->level < ir->hold_below) &&
	       in_types(ir->hold_type, ir->n_hold_type, in->hazard_type);
}

static bool holds(const struct hz_inhibit_rule *ir, const struct hz_ctx_ticket *t,
		  const struct hz_site *site, const struct hz_intent *in, int64_t now_us)
{
	if (t->mode != in->mode || t->level < ir->while_min || !live(t, now_us) ||
	    (ir->while_kind && t->kind != ir->while_kind) ||
	    !in_types(ir->while_type, ir->n_while_type, t->hazard_type) ||
	    !strcmp(t->episode_key, in->episode_key))
		return false;
	/* "lower alarms": below the holder's own level unless the rule says */
	if (ir->hold_below == HZ_LEVEL_NONE && in->level >= t->level)
		return false;
	if (ir->scope == HZ_SCOPE_SITE)
		return *t->site_id && !strcmp(t->site_id, in->site_id);
	return *t->town_code && in_chain(site, t->town_code);
}

static void apply_hold(const struct hz_rules *r, const struct hz_context *c,
		       const struct hz_site *site, struct hz_intent *in, int64_t now_us,
		       struct hz_context_counts *counts)
{
	for (size_t i = 0; i < r->n_inhibit; i++) {
		const struct hz_inhibit_rule *ir = &r->inhibit[i];
		if (!hold_matches(ir, in))
			continue;
		const struct hz_ctx_ticket *holder = NULL;
		for (size_t k = 0; k < c->n_tk; k++)
			if (holds(ir, &c->tk[k], site, in, now_us) &&
			    (!holder || c->tk[k].level > holder->level))
				holder = &c->tk[k];
		if (!holder)
			continue;
		memcpy(in->own_episode, in->episode_key, sizeof(in->own_episode));
		memcpy(in->episode_key, holder->episode_key, sizeof(in->episode_key));
		in->held = true;
		in->held_prefix = (unsigned char)prefix_reason(
			in, "held by %s on %s ticket %lld: ", ir->name, holder->hazard_type,
			(long long)holder->ticket_id);
		if (counts)
			counts->held++;
		return;
	}
}

static bool silence_covers(const struct hz_silence *s, const struct hz_site *site,
			   const struct hz_intent *in, int64_t now_us)
{
	/* active now, and the event happened inside the window: a backlog from
	 * before the window, or a silence cancelled meanwhile, silences nothing */
	if (now_us < s->starts_us || now_us >= s->ends_us || in->at_us < s->starts_us ||
	    in->at_us >= s->ends_us)
		return false;
	switch (s->kind) {
	case HZ_SILENCE_DEVICE:
		return *in->device_id && !strcmp(s->target, in->device_id);
	case HZ_SILENCE_SITE:
		return !strcmp(s->target, site->site_id);
	case HZ_SILENCE_ORG:
		return in_chain(site, s->target);
	}
	return false;
}

static void apply_silence(const struct hz_context *c, const struct hz_site *site,
			  struct hz_intent *in, int64_t now_us, struct hz_context_counts *counts)
{
	for (size_t k = 0; k < c->n_sil; k++) {
		const struct hz_silence *s = &c->sil[k];
		if (!silence_covers(s, site, in, now_us))
			continue;
		in->silence_id = s->silence_id;
		in->ack_us = 0;
		prefix_reason(in, "silenced by silence %lld: ", (long long)s->silence_id);
		if (counts)
			counts->silenced++;
		return;
	}
}

void hz_context_apply(const struct hz_rules *r, const struct hz_context *c,
		      const struct hz_site *site, struct hz_intent *intents, size_t n,
		      int64_t now_us, struct hz_context_counts *counts)
{
	if (!site || !c)
		return;
	for (size_t i = 0; i < n; i++) {
		struct hz_intent *in = &intents[i];
		if (in->op != HZ_OP_JOIN || in->kind == HZ_KIND_WARNING)
			continue;
		if (r->n_raise)
			apply_raise(r, c, site, in, now_us, counts);
		/* a red level is never held or silenced: it calls, always */
		if (in->level >= HZ_LEVEL_RED)
			continue;
		if (r->n_inhibit)
			apply_hold(r, c, site, in, now_us, counts);
		if (!in->held)
			apply_silence(c, site, in, now_us, counts);
	}
}

void hz_context_unhold(struct hz_intent *in)
{
	if (!in->held)
		return;
	memcpy(in->episode_key, in->own_episode, sizeof(in->episode_key));
	size_t p = in->held_prefix;
	memmove(in->reason, in->reason + p, sizeof(in->reason) - p);
	in->held = false;
	in->held_prefix = 0;
}

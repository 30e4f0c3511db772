/*
 * logline.c - parse, filter and format escalation-log lines for `hazardctl
 * tail`. See logline.h. jansson parses (the daemon's lines are small); a
 * line is parsed once and then matched and formatted from the struct.
 */
#include "ctl/logline.h"
#include "ctl/text.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long num(json_t *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o, k));
}

void hz_ctl_logline_clear(struct hz_ctl_logline *ll)
{
	if (ll->doc)
		json_decref(ll->doc);
	memset(ll, 0, sizeof(*ll));
}

int hz_ctl_logline_parse(const char *line, size_t len, struct hz_ctl_logline *ll)
{
	memset(ll, 0, sizeof(*ll));
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return HZ_EINVAL;
	}
	ll->doc = o;
	ll->type_name = str(o, "type");
	ll->type = strcmp(ll->type_name, "ticket") == 0	 ? HZ_CTL_L_TICKET
		   : strcmp(ll->type_name, "escalation") == 0 ? HZ_CTL_L_ESCALATION
		   : strcmp(ll->type_name, "rating") == 0	 ? HZ_CTL_L_RATING
		   : strcmp(ll->type_name, "command") == 0	 ? HZ_CTL_L_COMMAND
							 : HZ_CTL_L_OTHER;
	if (hz_time_parse(str(o, "ts"), &ll->ts_us))
		ll->ts_us = 0;
	ll->ticket_id = (int64_t)json_integer_value(json_object_get(o, "ticket_id"));
	ll->kind = str(o, "kind");
	ll->state = str(o, "state");
	ll->from_state = str(o, "from_state");
	ll->change = str(o, "change");
	ll->site = str(o, "site_id");
	ll->town = str(o, "town");
	ll->county = str(o, "county");
	ll->hazard_type = str(o, "hazard_type");
	ll->reason = str(o, "reason");
	ll->actor = str(o, "actor");
	ll->org_unit = str(o, "org_unit");
	ll->mode = str(o, "mode");
	ll->rating = str(o, "rating");
	ll->previous = str(o, "previous");
	ll->outcome = str(o, "outcome");
	ll->action = str(o, "action");
	ll->actor_tier = str(o, "actor_tier");
	ll->flags = str(o, "flags");
	ll->level = hz_level_parse(str(o, "level"));
	ll->tier = hz_tier_parse(str(o, "tier"));
	ll->from_tier = hz_tier_parse(str(o, "from_tier"));
	ll->repeat = (int)num(o, "repeat");
	ll->open_alarms = num(o, "open_alarms");
	ll->open_hazards = num(o, "open_hazards");
	ll->overdue = num(o, "overdue");
	if (ll->type == HZ_CTL_L_RATING)
		ll->level = strcmp(ll->rating, "red") == 0	 ? HZ_LEVEL_RED
			    : strcmp(ll->rating, "yellow") == 0 ? HZ_LEVEL_YELLOW
								: HZ_LEVEL_NONE;
	/* who was called: "called" objects (names, phones), else "duty" ids */
	json_t *called = json_object_get(o, "called"), *v;
	size_t i;
	if (json_is_array(called)) {
		json_array_foreach(called, i, v) {
			if (ll->n_called == HZ_CTL_CALLED_MAX || !json_is_object(v))
				break;
			ll->called[ll->n_called].id = str(v, "person_id");
			ll->called[ll->n_called].name = str(v, "name");
			ll->called[ll->n_called].phone = str(v, "phone");
			ll->n_called++;
		}
	} else if (json_is_array(json_object_get(o, "duty"))) {
		json_array_foreach(json_object_get(o, "duty"), i, v) {
			if (ll->n_called == HZ_CTL_CALLED_MAX)
				break;
			const char *id = json_string_value(v);
			ll->called[ll->n_called].id = id ? id : "";
			ll->called[ll->n_called].name = "";
			ll->called[ll->n_called].phone = "";
			ll->n_called++;
		}
	}
	return HZ_OK;
}

/* ---- sets and filters ---- */

int hz_ctl_set_add(struct hz_ctl_set *s, const char *list)
{
	const char *p = list ? list : "";
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || s->n == HZ_CTL_SET_MAX)
			return HZ_EINVAL;
		char *d = strndup(p, n);
		if (!d)
			return HZ_ENOMEM;
		s->v[s->n++] = d;
		if (!comma)
			return HZ_OK;
		p = comma + 1;
	}
}

bool hz_ctl_set_has(const struct hz_ctl_set *s, const char *v)
{
	if (!s->n)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (v && strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

void hz_ctl_set_free(struct hz_ctl_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

bool hz_ctl_logfilter_empty(const struct hz_ctl_logfilter *f)
{
	return !f->towns.n && !f->counties.n && !f->tiers.n && !f->kinds.n && !f->types.n &&
	       !f->min_level && !f->drills_only && !f->no_drills;
}

bool hz_ctl_logfilter_match(const struct hz_ctl_logfilter *f, const struct hz_ctl_logline *ll)
{
	if (!ll->doc)
		return hz_ctl_logfilter_empty(f);
	bool drill = *ll->mode && strcmp(ll->mode, "actual") != 0;
	if ((f->drills_only && !drill) || (f->no_drills && drill))
		return false;
	if (f->min_level && ll->level < f->min_level)
		return false;
	return hz_ctl_set_has(&f->types, ll->type_name) && hz_ctl_set_has(&f->towns, ll->town) &&
	       hz_ctl_set_has(&f->counties, ll->county) && hz_ctl_set_has(&f->kinds, ll->kind) &&
	       hz_ctl_set_has(&f->tiers, ll->tier ? hz_tier_name(ll->tier) : "");
}

void hz_ctl_logfilter_free(struct hz_ctl_logfilter *f)
{
	hz_ctl_set_free(&f->towns);
	hz_ctl_set_free(&f->counties);
	hz_ctl_set_free(&f->tiers);
	hz_ctl_set_free(&f->kinds);
	hz_ctl_set_free(&f->types);
}

/* ---- the human line ---- */

static void upper_word(struct hz_buf *out, const char *w)
{
	char u[16];
	size_t n = 0;
	for (; w[n] && n + 1 < sizeof(u); n++)
		u[n] = (char)(w[n] >= 'a' && w[n] <= 'z' ? w[n] - 'a' + 'A' : w[n]);
	u[n] = '\0';
	hz_buf_appendf(out, "%-6s", u);
}

static void ticket_head(const struct hz_ctl_logline *ll, struct hz_buf *out)
{
	hz_buf_appendf(out, " %s #%lld %s", *ll->kind ? ll->kind : "ticket",
		       (long long)ll->ticket_id, *ll->hazard_type ? ll->hazard_type : "-");
	if (*ll->site)
		hz_buf_appendf(out, " %s", ll->site);
	if (*ll->town)
		hz_buf_appendf(out, " town %s", ll->town);
}

static void called(const struct hz_ctl_logline *ll, struct hz_buf *out)
{
	if (!ll->n_called) {
		hz_buf_appendf(out, ", called: nobody on duty");
		return;
	}
	hz_buf_appendf(out, ", called:");
	for (size_t i = 0; i < ll->n_called; i++) {
		const char *name = *ll->called[i].name ? ll->called[i].name : ll->called[i].id;
		hz_buf_appendf(out, "%s %s", i ? "," : "", name);
		if (*ll->called[i].phone)
			hz_buf_appendf(out, " %s", ll->called[i].phone);
	}
}

void hz_ctl_logline_format(const struct hz_ctl_logline *ll, int64_t now_us, bool colour,
			   bool c256, struct hz_buf *out)
{
	char when[32];
	hz_buf_clear(out);
	hz_ctl_fmt_local(ll->ts_us, now_us, true, when, sizeof(when));
	const char *sgr = "";
	if (colour)
		sgr = ll->type == HZ_CTL_L_RATING && strcmp(ll->rating, "green") == 0
			      ? "\033[32m"
			      : hz_ctl_level_sgr(ll->level, c256);
	if (*sgr)
		hz_buf_appendf(out, "%s", sgr);
	hz_buf_appendf(out, "%s ", when);
	switch (ll->type) {
	case HZ_CTL_L_RATING:
		upper_word(out, *ll->rating ? ll->rating : "none");
		hz_buf_appendf(out, " rating town %s %s->%s (open alarms %ld, hazards %ld, overdue %ld)",
			       ll->town, *ll->previous ? ll->previous : "none", ll->rating,
			       ll->open_alarms, ll->open_hazards, ll->overdue);
		break;
	case HZ_CTL_L_ESCALATION:
		upper_word(out, hz_level_name(ll->level));
		if (*ll->mode && strcmp(ll->mode, "actual") != 0)
			hz_buf_appendf(out, " [%s]", ll->mode);
		ticket_head(ll, out);
		if (ll->repeat)
			hz_buf_appendf(out, " repeated at %s (#%d)", hz_tier_name(ll->tier),
				       ll->repeat);
		else
			hz_buf_appendf(out, " escalated %s->%s",
				       ll->from_tier ? hz_tier_name(ll->from_tier) : "-",
				       hz_tier_name(ll->tier));
		if (*ll->org_unit)
			hz_buf_appendf(out, " (%s)", ll->org_unit);
		called(ll, out);
		if (*ll->reason)
			hz_buf_appendf(out, ": %s", ll->reason);
		break;
	case HZ_CTL_L_COMMAND:
		/* an operator's command and what became of it */
		upper_word(out, "cmd");
		if (*ll->mode && strcmp(ll->mode, "actual") != 0)
			hz_buf_appendf(out, " [%s]", ll->mode);
		hz_buf_appendf(out, " %s", *ll->action ? ll->action : "command");
		if (ll->ticket_id)
			hz_buf_appendf(out, " #%lld", (long long)ll->ticket_id);
		hz_buf_appendf(out, " by %s", *ll->actor ? ll->actor : "-");
		if (*ll->actor_tier)
			hz_buf_appendf(out, " (%s)", ll->actor_tier);
		hz_buf_appendf(out, " %s", *ll->outcome ? ll->outcome : "?");
		if (*ll->from_state && *ll->state && strcmp(ll->from_state, ll->state) != 0)
			hz_buf_appendf(out, " %s->%s", ll->from_state, ll->state);
		if (*ll->reason)
			hz_buf_appendf(out, ": %s", ll->reason);
		if (*ll->flags)
			hz_buf_appendf(out, " [%s]", ll->flags);
		break;
	case HZ_CTL_L_TICKET:
		upper_word(out, hz_level_name(ll->level));
		if (*ll->mode && strcmp(ll->mode, "actual") != 0)
			hz_buf_appendf(out, " [%s]", ll->mode);
		ticket_head(ll, out);
		hz_buf_appendf(out, " %s", *ll->change ? ll->change : "changed");
		if (*ll->from_state && strcmp(ll->from_state, ll->state) != 0)
			hz_buf_appendf(out, " %s->%s", ll->from_state, ll->state);
		else if (*ll->state)
			hz_buf_appendf(out, " %s", ll->state);
		if (ll->tier)
			hz_buf_appendf(out, " at %s", hz_tier_name(ll->tier));
		if (*ll->actor && strcmp(ll->actor, "hazardd") != 0)
			hz_buf_appendf(out, " by %s", ll->actor);
		if (*ll->reason)
			hz_buf_appendf(out, ": %s", ll->reason);
		break;
	default: {
		/* an unknown type: its name and the line as it is */
		char *raw = ll->doc ? json_dumps(ll->doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		upper_word(out, *ll->type_name ? ll->type_name : "?");
		hz_buf_appendf(out, " %s", raw ? raw : "");
		free(raw);
	}
	}
	if (*sgr)
		hz_buf_appendf(out, "%s", HZ_CTL_SGR_RESET);
}

/*
 * names.c - the lowercase names of enum values used in SQL, logs and
 * config. These strings are contracts (hazard.tickets columns, escalation
 * log): change one only with a migration note.
 */
#include "core/event.h"

#include <string.h>

static const char *const level_names[] = {"none", "blue", "yellow", "orange", "red"};
static const char *const metric_names[] = {
	"none", "smoke", "temperature", "gas_lel", "co", "charger_current",
	"residual_current", "water_level", "pressure"};
static const char *const kind_names[] = {"none", "alarm", "hazard", "warning", "fault"};
static const char *const state_names[] = {"none", "discovered", "confirmed", "controlled",
					  "rectifying", "closed", "dismissed"};
static const char *const tier_names[] = {"none", "grid", "town", "county", "city"};
static const char *const mode_names[] = {"actual", "exercise", "test"};
static const char *const rectify_names[] = {"none", "on_spot", "by_deadline"};
static const char *const ev_kind_names[] = {"none", "reading", "status", "report", "warning", "command"};

#define NAME_OF(tab, v) ((unsigned)(v) < HZ_ARRAY_LEN(tab) ? tab[(unsigned)(v)] : "invalid")

const char *hz_level_name(enum hz_level l) { return NAME_OF(level_names, l); }
const char *hz_metric_name(enum hz_metric m) { return NAME_OF(metric_names, m); }
const char *hz_kind_name(enum hz_kind k) { return NAME_OF(kind_names, k); }
const char *hz_state_name(enum hz_state s) { return NAME_OF(state_names, s); }
const char *hz_tier_name(enum hz_tier t) { return NAME_OF(tier_names, t); }
const char *hz_mode_name(enum hz_mode m) { return NAME_OF(mode_names, m); }
const char *hz_ev_kind_name(enum hz_ev_kind k) { return NAME_OF(ev_kind_names, k); }
const char *hz_rectify_name(enum hz_rectify r) { return NAME_OF(rectify_names, r); }

static int lookup(const char *const *tab, size_t n, const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (strcmp(tab[i], s) == 0)
			return (int)i;
	return 0;
}

#define PARSE(tab, s) lookup(tab, HZ_ARRAY_LEN(tab), s)

enum hz_level hz_level_parse(const char *s) { return (enum hz_level)PARSE(level_names, s); }
enum hz_metric hz_metric_parse(const char *s) { return (enum hz_metric)PARSE(metric_names, s); }
enum hz_kind hz_kind_parse(const char *s) { return (enum hz_kind)PARSE(kind_names, s); }
enum hz_state hz_state_parse(const char *s) { return (enum hz_state)PARSE(state_names, s); }
enum hz_tier hz_tier_parse(const char *s) { return (enum hz_tier)PARSE(tier_names, s); }
enum hz_rectify hz_rectify_parse(const char *s) { return (enum hz_rectify)PARSE(rectify_names, s); }

/* "actual" is member 0, so it is looked up from 0, unlike the NONE-first tables. */
enum hz_mode hz_mode_parse(const char *s)
{
	for (size_t i = 0; s && i < HZ_ARRAY_LEN(mode_names); i++)
		if (strcmp(mode_names[i], s) == 0)
			return (enum hz_mode)i;
	return HZ_MODE_ACTUAL;
}

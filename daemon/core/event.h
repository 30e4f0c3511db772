/*
 * event.h - the one plain event every input becomes after decoding.
 *
 * codec/ fills it from protobuf or JSON; registry/ attaches the device and
 * site; rules/ read it. All strings are borrowed from the batch arena that
 * the decoder was given, valid until that arena is reset. Enum values are
 * the same numbers as in proto/hazard.proto.
 */
#ifndef HZ_EVENT_H
#define HZ_EVENT_H

#include "hz.h"

enum hz_ev_kind {
	HZ_EV_NONE = 0,
	HZ_EV_READING,
	HZ_EV_STATUS,
	HZ_EV_REPORT,
	HZ_EV_WARNING,
	HZ_EV_COMMAND,
};

enum hz_level { HZ_LEVEL_NONE = 0, HZ_LEVEL_BLUE, HZ_LEVEL_YELLOW, HZ_LEVEL_ORANGE, HZ_LEVEL_RED };
enum hz_mode { HZ_MODE_ACTUAL = 0, HZ_MODE_EXERCISE, HZ_MODE_TEST };
enum hz_metric {
	HZ_METRIC_NONE = 0, HZ_METRIC_SMOKE, HZ_METRIC_TEMPERATURE, HZ_METRIC_GAS_LEL,
	HZ_METRIC_CO, HZ_METRIC_CHARGER_CURRENT, HZ_METRIC_RESIDUAL_CURRENT,
	HZ_METRIC_WATER_LEVEL, HZ_METRIC_PRESSURE,
	HZ_METRIC_COUNT
};
enum hz_device_state {
	HZ_DEV_NONE = 0, HZ_DEV_HEARTBEAT, HZ_DEV_FAULT, HZ_DEV_TAMPER,
	HZ_DEV_LOW_BATTERY, HZ_DEV_RESTORED
};
enum hz_warning_type { HZ_WARN_NONE = 0, HZ_WARN_ALERT, HZ_WARN_UPDATE, HZ_WARN_CANCEL };
enum hz_action {
	HZ_ACT_NONE = 0, HZ_ACT_ACK, HZ_ACT_CONFIRM, HZ_ACT_CONTROL, HZ_ACT_DISPATCH,
	HZ_ACT_RECTIFY, HZ_ACT_VERIFY, HZ_ACT_CLOSE, HZ_ACT_DISMISS, HZ_ACT_REOPEN,
	HZ_ACT_COMMENT, HZ_ACT_SILENCE
};
enum hz_kind { HZ_KIND_NONE = 0, HZ_KIND_ALARM, HZ_KIND_HAZARD, HZ_KIND_WARNING, HZ_KIND_FAULT };
enum hz_state {
	HZ_STATE_NONE = 0, HZ_STATE_DISCOVERED, HZ_STATE_CONFIRMED, HZ_STATE_CONTROLLED,
	HZ_STATE_RECTIFYING, HZ_STATE_CLOSED, HZ_STATE_DISMISSED
};
enum hz_tier { HZ_TIER_NONE = 0, HZ_TIER_GRID, HZ_TIER_TOWN, HZ_TIER_COUNTY, HZ_TIER_CITY };

/* A list of borrowed strings. */
struct hz_strv {
	const char **v;
	size_t n;
};

struct hz_device;  /* registry/registry.h */
struct hz_site;

struct hz_event {
	enum hz_ev_kind kind;
	enum hz_mode mode;
	int64_t at_us;          /* source timestamp (observed_at, sent_at, acted_at) */
	const char *event_id;   /* command_id for commands; never NULL or empty */
	const char *device_id;  /* "" when absent */
	const char *site_id;    /* "" when absent; MQTT fills it from the topic */
	const char *town_code;  /* "" when absent */

	/* Attached by registry lookup (normalisation); NULL when unknown. */
	const struct hz_device *dev;
	const struct hz_site *site;

	union {
		struct {
			enum hz_metric metric;
			double value;      /* in `unit` as received; canonical after normalisation */
			const char *unit;  /* "" means canonical */
		} reading;
		struct {
			enum hz_device_state state;
			uint32_t battery_pct;
			const char *detail;
		} status;
		struct {
			int category;      /* HazardCategory number */
			enum hz_level level;
			const char *inspector_id;
			const char *description;
			struct hz_strv photo_urls;
			bool supervised;
		} report;
		struct {
			const char *warning_id;
			enum hz_warning_type type;
			struct hz_strv references;
			struct hz_strv area_codes;
			const char *hazard_type;
			enum hz_level level;
			int64_t onset_us;    /* 0 when absent */
			int64_t expires_us;  /* 0 when absent */
			const char *sender, *headline, *description;
		} warning;
		struct {
			const char *actor_id;
			enum hz_action action;
			int64_t ticket_id;
			const char *reason, *note, *assignee;
			struct hz_strv evidence_urls;
			int rectify_mode;    /* RectifyMode number */
			int64_t due_at_us;   /* 0 when absent */
			const char *silence_target;
			int64_t silence_until_us;
		} command;
	} u;
};

/* RectifyMode numbers of proto/hazard.proto; names as in tickets.rectify_mode. */
enum hz_rectify { HZ_RECTIFY_NONE = 0, HZ_RECTIFY_ON_SPOT = 1, HZ_RECTIFY_BY_DEADLINE = 2 };

const char *hz_level_name(enum hz_level l);    /* "blue", ..., "none" */
const char *hz_metric_name(enum hz_metric m);  /* "smoke", "temperature", ... */
const char *hz_kind_name(enum hz_kind k);      /* "alarm", "hazard", "warning", "fault" */
const char *hz_state_name(enum hz_state s);    /* "discovered", ... */
const char *hz_tier_name(enum hz_tier t);      /* "grid", "town", "county", "city" */
const char *hz_mode_name(enum hz_mode m);      /* "actual", "exercise", "test" */
const char *hz_ev_kind_name(enum hz_ev_kind k);/* "reading", "status", ... */
const char *hz_rectify_name(enum hz_rectify r);/* "on_spot", "by_deadline"; "none" */
/* Reverse look-ups: return the value, or 0 (the NONE member) when unknown. */
enum hz_level hz_level_parse(const char *s);
enum hz_metric hz_metric_parse(const char *s);
enum hz_kind hz_kind_parse(const char *s);
enum hz_state hz_state_parse(const char *s);
enum hz_tier hz_tier_parse(const char *s);
enum hz_mode hz_mode_parse(const char *s);   /* HZ_MODE_ACTUAL when unknown */
enum hz_rectify hz_rectify_parse(const char *s);

#endif

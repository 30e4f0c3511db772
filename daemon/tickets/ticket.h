/*
 * ticket.h - a ticket as the daemon holds it: fixed-size, no pointers, so
 * it can be copied, cached and encoded without allocation. Mirrors the
 * hazard.tickets row and the hazard.v1.Ticket message.
 */
#ifndef HZ_TICKET_H
#define HZ_TICKET_H

#include "core/event.h"

#define HZ_ID_MAX 64     /* ids (event, device, site) are at most 63 bytes */
#define HZ_CODE_MAX 32   /* org unit codes */
#define HZ_TYPE_MAX 48   /* hazard types */

struct hz_ticket {
	int64_t ticket_id;
	enum hz_kind kind;
	enum hz_state state;
	enum hz_level level;
	enum hz_tier tier;
	enum hz_mode mode;
	char site_id[HZ_ID_MAX];
	char town_code[HZ_CODE_MAX];
	char county_code[HZ_CODE_MAX];
	char hazard_type[HZ_TYPE_MAX];
	char device_id[HZ_ID_MAX];     /* the device that opened it; "" for reports and warnings */
	int64_t opened_us, updated_us; /* times in µs since the epoch; 0 means NULL */
	int64_t acked_us, deadline_us, closed_us;
	int64_t event_count;
};

/* One change of a ticket, as published on the tickets topic and written to
 * the escalation log. Strings are borrowed for the duration of the call
 * that takes it. */
struct hz_ticket_event {
	char event_id[HZ_ID_MAX];      /* stable output id (outbox), for de-duplication */
	int64_t emitted_us;
	struct hz_ticket tk;           /* the whole ticket after the change */
	enum hz_state from_state;      /* HZ_STATE_NONE when opened */
	const char *change;            /* "opened", "joined", "level", "state", ... */
	const char *actor;             /* "hazardd" for rule-driven changes */
	const char *reason;
	const char *cause_event_id;
	int64_t ack_deadline_us;       /* a new call-and-respond round's deadline (opened,
					* reopened); 0: none set by this change */
};

/* A town's three-colour rating changed: hazard.v1.TownRating. Rating
 * values: 1 green, 2 yellow, 3 red (enum hz_rating in rules/rules.h). */
struct hz_town_rating {
	char event_id[HZ_ID_MAX];      /* "rating-<town>-<changed at µs>" */
	int64_t emitted_us;
	char town_code[HZ_CODE_MAX];
	int rating, previous;          /* previous 0 when first computed */
	int open_alarms, open_hazards, overdue;
};

#define HZ_DUTY_MAX 4

/* A rescue unit suggested for a fire alarm (hazard.v1.RescueUnitSuggestion). */
struct hz_esc_unit {
	char unit_id[HZ_ID_MAX];
	char name[96];
	char kind[24];                 /* micro_station, full_time_brigade, fire_rescue_station */
	char org_code[HZ_CODE_MAX];
	char phone[24];
	double lat, lon;
	int64_t distance_m;
	double minutes, circle_minutes;
	bool inside;
};

#define HZ_DISPATCH_MAX 3

/* The dispatch suggestion of a fire alarm (hazard.v1.DispatchSuggestion). */
struct hz_esc_dispatch {
	bool present;                  /* a fire alarm at a located site */
	char area[16];                 /* "town" | "countryside" */
	bool inside_circle;            /* inside the circle of at least one unit */
	size_t n_units;                /* nearest of each kind, soonest first */
	struct hz_esc_unit units[HZ_DISPATCH_MAX];
};

/* One call-and-respond step: the ticket moved to `to_tier` (or the top
 * tier's notice repeated) because nobody acknowledged in time. Published
 * as hazard.v1.EscalationNotice and written to the escalation log. */
struct hz_escalation {
	char event_id[HZ_ID_MAX];      /* "esc-<ticket>-<tier>-<repeat>": the same on a re-send */
	int64_t emitted_us;
	struct hz_ticket tk;           /* the ticket after the step */
	enum hz_tier from_tier, to_tier;
	int repeat;
	char org_unit[HZ_CODE_MAX];    /* whose duty roster is called */
	struct {
		char person_id[HZ_ID_MAX];
		char name[32];
		char phone[24];
	} duty[HZ_DUTY_MAX];
	size_t n_duty;
	char reason[160];
	int64_t ack_deadline_us;       /* the new deadline; 0 for none */
	struct hz_esc_dispatch dispatch;
};

/* The outcome of one operator command: hazard.v1.CommandResult, for the
 * results topics (Kafka key = command_id, MQTT .../out/results/<actor>).
 * Its event id is the command id: a replayed command publishes the same
 * result again, recognisably. */
enum hz_outcome { HZ_OUTCOME_NONE = 0, HZ_OUTCOME_APPLIED = 1, HZ_OUTCOME_REFUSED = 2 };

struct hz_command_result {
	char command_id[HZ_ID_MAX];
	int64_t emitted_us;
	char actor_id[HZ_ID_MAX];
	enum hz_tier actor_tier;       /* HZ_TIER_NONE for an unknown actor */
	enum hz_outcome outcome;
	char reason[512];              /* refused: why; applied: what was done */
	enum hz_action action;
	int64_t ticket_id;
	bool has_ticket;               /* tk is the ticket after the command */
	struct hz_ticket tk;
	int64_t acted_us;              /* the time of action it was judged on */
	enum hz_mode mode;
	enum hz_state from_state, to_state;
	char flags[256];               /* clock skew beyond pipeline.command_skew; "" */
};

#endif

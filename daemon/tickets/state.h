/*
 * state.h - the closed loop (闭环) as one table: which operator action may
 * move a ticket from which state to which, for which kinds of ticket, who
 * may do it, and what it needs (reason, evidence, assignee, deadline).
 *
 * Pure: no I/O, no clock (now is passed in), no allocation. The store
 * (store/command.c) reads the ticket and the actor under a row lock and asks
 * hz_state_check; the daemon and hazardctl therefore apply exactly the same
 * rules. The README's transition table is generated from hz_state_table()
 * (hz_state_table_markdown), and tests/unit/test_state.c checks the two
 * agree.
 */
#ifndef HZ_TICKETS_STATE_H
#define HZ_TICKETS_STATE_H

#include "core/buf.h"
#include "core/event.h"

#define HZ_STATE_BIT(s) (1u << (unsigned)(s))
#define HZ_KIND_BIT(k) (1u << (unsigned)(k))
#define HZ_STATES_OPEN                                                                     \
	(HZ_STATE_BIT(HZ_STATE_DISCOVERED) | HZ_STATE_BIT(HZ_STATE_CONFIRMED) |            \
	 HZ_STATE_BIT(HZ_STATE_CONTROLLED) | HZ_STATE_BIT(HZ_STATE_RECTIFYING))
#define HZ_STATES_ENDED (HZ_STATE_BIT(HZ_STATE_CLOSED) | HZ_STATE_BIT(HZ_STATE_DISMISSED))
#define HZ_KINDS_ALL                                                                       \
	(HZ_KIND_BIT(HZ_KIND_ALARM) | HZ_KIND_BIT(HZ_KIND_HAZARD) |                        \
	 HZ_KIND_BIT(HZ_KIND_WARNING) | HZ_KIND_BIT(HZ_KIND_FAULT))

/* What an action needs besides a state, a kind and a tier. */
enum hz_state_need {
	HZ_NEED_REASON = 1u << 0,       /* Command.reason */
	HZ_NEED_TEXT = 1u << 1,         /* a note or a reason */
	HZ_NEED_ASSIGNEE = 1u << 2,     /* Command.assignee */
	HZ_NEED_RECTIFY = 1u << 3,      /* on the spot, or by a due time in the future */
	HZ_NEED_EVIDENCE = 1u << 4,     /* at least one evidence URL (re-inspection) */
	HZ_NEED_OTHER_ACTOR = 1u << 5,  /* not the person who rectified it */
	HZ_NEED_UNACKED = 1u << 6,      /* not acknowledged yet */
	HZ_NEED_ACKS = 1u << 7,         /* also acknowledges an unacknowledged ticket */
	HZ_NEED_RECALL = 1u << 8,       /* restarts call-and-respond: the acknowledgement is
					 * cleared and a new deadline set at the ticket's tier */
};

/* One row of the table: one action. */
struct hz_state_rule {
	enum hz_action action;
	unsigned from;           /* HZ_STATE_BIT mask of the states it applies to */
	enum hz_state to;        /* HZ_STATE_NONE: the state does not change */
	unsigned kinds;          /* HZ_KIND_BIT mask of the ticket kinds it applies to */
	bool tier_check;         /* actor tier >= the ticket's tier */
	enum hz_tier min_tier;   /* and at least this tier (HZ_TIER_NONE: no floor) */
	unsigned needs;          /* enum hz_state_need bits */
	const char *change;      /* TicketEvent.change and ticket_history.action */
	const char *kind_refusal;/* why a ticket of another kind is refused */
};

/* The table, in action order. Borrowed, static. */
const struct hz_state_rule *hz_state_table(size_t *n);
/* The row for `a`, or NULL (HZ_ACT_NONE, HZ_ACT_SILENCE, unknown). */
const struct hz_state_rule *hz_state_rule_of(enum hz_action a);

/* What the store knows about the ticket (read under FOR UPDATE). */
struct hz_state_ticket {
	int64_t ticket_id;
	enum hz_kind kind;
	enum hz_state state;
	enum hz_tier tier;
	enum hz_mode mode;
	bool acked;
	const char *rectified_by;  /* "" when nobody rectified it */
	int64_t deadline_us;       /* close-out deadline; 0 for none */
	int64_t expires_us;        /* a warning's expiry; 0 for none */
};

/* The actor: a hazard.people row. */
struct hz_state_actor {
	const char *actor_id;
	bool known;              /* false: no such person */
	enum hz_tier tier;
	const char *org_code;
	bool on_chain;           /* org_code is the ticket's grid/village, town, county or city */
};

/* Who a dispatch may name: the registry's rescue units (by their kind),
 * people and org units. */
enum hz_assignee_kind {
	HZ_ASSIGNEE_NONE = 0,          /* not in the registry */
	HZ_ASSIGNEE_MICRO_STATION,     /* rescue_units.kind micro_station (微型消防站) */
	HZ_ASSIGNEE_BRIGADE,           /* full_time_brigade (专职消防队) */
	HZ_ASSIGNEE_FIRE_STATION,      /* fire_rescue_station (消防救援站) */
	HZ_ASSIGNEE_PERSON,            /* a hazard.people row */
	HZ_ASSIGNEE_ORG_UNIT,          /* a hazard.org_units row */
};

/* A dispatch's assignee as the store found it (store/command.c reads it in
 * the command's transaction). A dispatch reaches the ticket's county: the
 * assignee's org unit (a rescue unit's or a person's unit, an org unit
 * itself) must lie in the county's subtree, or above it on the ticket's
 * chain (a city unit); see hz_state_check. */
struct hz_state_assignee {
	const char *id;                /* as the command names it */
	enum hz_assignee_kind kind;    /* HZ_ASSIGNEE_NONE: no such unit, person or org unit */
	const char *name;              /* "" when the registry has none */
	const char *org_code;          /* the org unit it belongs to (an org unit: itself) */
	const char *county;            /* the ticket's county ("" when it has none) */
	bool in_reach;                 /* org_code is under `county` or on the chain above it */
};

/* The parts of the command the table looks at. */
struct hz_state_cmd {
	enum hz_action action;
	enum hz_mode mode;       /* a drill command may only act on a drill ticket */
	bool has_reason, has_note, has_assignee;
	const struct hz_state_assignee *assignee; /* dispatch: looked up; NULL counts as unknown */
	size_t n_evidence;
	int rectify_mode;        /* enum hz_rectify */
	int64_t due_us;          /* rectify by deadline: due time; 0 absent */
	int64_t now_us;          /* the database's clock */
};

struct hz_state_verdict {
	const struct hz_state_rule *rule; /* NULL when the action is not in the table */
	enum hz_state to;                 /* the state after it (unchanged when no move) */
	bool acks;                        /* sets acked_at */
	bool recall;                      /* restarts call-and-respond (HZ_NEED_RECALL) */
	char reason[256];                 /* why it is refused; "" when allowed */
};

/* Decide. HZ_OK when the command may be applied (v->to, v->acks), HZ_EINVAL
 * with v->reason when it is refused. Checks, in order: the action, the
 * actor (known, on the ticket's chain), the mode, the state, the kind, the
 * tier, then what the action needs; the first failure is the reason. */
int hz_state_check(const struct hz_state_ticket *tk, const struct hz_state_actor *ac,
		   const struct hz_state_cmd *cmd, struct hz_state_verdict *v);

/* "micro_station", "full_time_brigade", "fire_rescue_station", "person",
 * "org_unit" (the tickets.assignee_kind values; "" for HZ_ASSIGNEE_NONE),
 * and the reverse (HZ_ASSIGNEE_NONE when unknown). */
const char *hz_assignee_kind_name(enum hz_assignee_kind k);
enum hz_assignee_kind hz_assignee_kind_parse(const char *s);
/* "micro station MS-1 (古荡微站)", "person P-1 (张三)", "org unit 330106 (西湖区)":
 * what the history and the result say a dispatch went to. Returns buf. */
const char *hz_assignee_describe(const struct hz_state_assignee *ag, char *buf, size_t len);

/* "ack", "confirm", ... ("none" for HZ_ACT_NONE, "invalid" beyond). */
const char *hz_action_name(enum hz_action a);
/* The reverse; HZ_ACT_NONE when unknown. */
enum hz_action hz_action_parse(const char *s);

/* The table as the README's Markdown table (header, separator, one row per
 * action), appended to `out`. HZ_OK or HZ_ENOMEM. */
int hz_state_table_markdown(struct hz_buf *out);

#endif

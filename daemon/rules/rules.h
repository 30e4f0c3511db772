/*
 * rules.h - the rule set and its evaluation: an event (already decoded and
 * attached to the registry) in, zero or more ticket intents out.
 *
 * This is the first stage of the engine: per-metric thresholds with four
 * levels, device status faults, inspection reports by category, warnings
 * by area. Evaluation is pure: no I/O, no clock (time comes in the event),
 * no allocation; a rule set is immutable once loaded, so a reload swaps a
 * whole new set between batches.
 */
#ifndef HZ_RULES_H
#define HZ_RULES_H

#include "core/event.h"
#include "tickets/ticket.h"

#define HZ_RULE_NAME_MAX 64
#define HZ_EPISODE_MAX 160
#define HZ_REASON_MAX 160
#define HZ_KAFKA_TOPIC_MAX 256  /* Kafka allows 249 */

enum hz_cmp { HZ_CMP_ABOVE = 1, HZ_CMP_BELOW };

#define HZ_MATCH_MAX 8
#define HZ_RING 8               /* samples kept per condition (windows, clears, knocks) */

/* A list of names a rule matches ("" entries never match); empty: any. */
struct hz_match {
	char v[HZ_MATCH_MAX][32];
	int n;
};

struct hz_rule {
	char name[HZ_RULE_NAME_MAX];
	uint64_t key;               /* hash of the name: the key of its state */
	enum hz_metric metric;
	enum hz_kind kind;
	char hazard_type[HZ_TYPE_MAX];
	enum hz_cmp cmp;
	double threshold[5];        /* by level; NAN where the level is not used */
	enum hz_tier tier;          /* the tier that is called first */
	struct hz_match device_kind, site_kind, org, risk; /* org: site's chain holds one */
	int min_risk;               /* 0 matches any; else hz_risk of the site */
	int line;                   /* where it was defined, for messages */

	/* Conditions that need state (rules/cond.c); all 0 for a plain threshold. */
	double clear;               /* hysteresis: in alarm until the value is back past this */
	bool has_clear;
	int64_t for_us;             /* sustained: must hold this long before it fires */
	int64_t clear_for_us;       /* and be clear this long before it clears */
	bool auto_clear;            /* a cleared condition closes its unacknowledged ticket */
	struct {                    /* rate of rise: a change of `by` within `within_us` */
		double by;
		int64_t within_us;
		enum hz_level level;
	} rise;
	struct {                    /* count in window: `count` matches within `within_us` */
		int count;
		int64_t within_us;
		bool per_site;
	} window;
	struct {                    /* double knock: `devices` of one site within `within_us` */
		int devices;
		int64_t within_us;
		enum hz_level level;
		char group[HZ_TYPE_MAX];/* rules with one group knock together (default hazard_type) */
	} confirm;
	struct {                    /* flapping: more than `clears` within `within_us` */
		int clears;
		int64_t within_us;
	} flap;
};

/* Device silence: no reading or heartbeat for `after` opens a
 * device_offline fault ticket; the next message from it closes it. */
struct hz_offline_rules {
	int64_t after_us;           /* every device; 0: no silence detection */
	enum hz_level level;
	struct {
		char kind[32];
		int64_t after_us;       /* 0: devices of this kind are not watched */
	} by_kind[16];
	int n_kind;
	int64_t scan_us;            /* how often the silence scan runs */
};

/* Report categories (HazardCategory numbers) -> level and close-out. */
struct hz_report_rule {
	enum hz_level level;        /* used when the report's level is unspecified */
	int64_t closeout_us;        /* deadline from discovery; 0 for none */
	enum hz_tier tier;
	int64_t closeout_by_risk_us[5]; /* [hz_risk]: overrides closeout_us; 0: not set */
};

/* Reminders before a close-out deadline, longest first. */
#define HZ_REMINDERS_MAX 8

#define HZ_MAX_CATEGORY 16

/* Call-and-respond: how long each tier has to acknowledge, by level. */
struct hz_escalation_rules {
	int64_t ack_us[5][5];       /* [level][tier]; 0: no deadline (no escalation) */
	int64_t repeat_us;          /* the top tier's notice repeats at this interval */
	bool major_start_higher;    /* major-risk sites are called one tier higher */
	double major_factor;        /* and their deadlines are multiplied by this */
};

/* The township three-colour rating: a town is red when any red threshold
 * is reached, else yellow when any yellow one is, else green. 0 disables
 * a threshold. */
struct hz_rating_rules {
	int red_open_red, red_open_orange, red_overdue;
	int yellow_open_red, yellow_open_orange, yellow_open, yellow_overdue;
	int64_t interval_us;        /* how often ratings are recomputed */
};

struct hz_town_counts {
	int open_red, open_orange, open, overdue;
};

enum hz_rating { HZ_RATING_NONE = 0, HZ_RATING_GREEN, HZ_RATING_YELLOW, HZ_RATING_RED };

struct hz_rules {
	struct hz_rule *rule;
	size_t n_rule;
	struct hz_escalation_rules esc;
	struct hz_rating_rules rating;
	struct hz_report_rule report[HZ_MAX_CATEGORY];
	int64_t supervised_closeout_us; /* 15 days by default */
	int64_t supervised_closeout_by_risk_us[5]; /* [hz_risk]; 0: supervised_closeout_us */
	int64_t reminder_us[HZ_REMINDERS_MAX]; /* durations before deadline_at, descending */
	size_t n_reminder;              /* 3d and 1d by default */
	enum hz_level fault_level;
	struct hz_offline_rules offline;
	bool stateful;                  /* some rule needs rules/cond.c */
	char source[256];               /* file it came from */
	/* inhibit: and area_raise: sections (rules/context.h) */
	struct hz_inhibit_rule *inhibit;
	size_t n_inhibit;
	struct hz_raise_rule *raise;
	size_t n_raise;
};

/* What an intent does to its episode's open ticket. */
enum hz_intent_op {
	HZ_OP_JOIN = 0,     /* open a ticket, or join the open one (the level only rises) */
	HZ_OP_UPDATE,       /* a warning update: set level and deadline as given */
	HZ_OP_CLOSE,        /* a warning cancel: close the open ticket */
	HZ_OP_CLEAR,        /* a condition cleared: close the ticket unless someone acknowledged it */
	HZ_OP_FLAP,         /* it would have cleared, but flaps: keep it open, mark it */
};

/* What a rule decided: open a ticket for this episode or join the open one. */
struct hz_intent {
	enum hz_intent_op op;
	enum hz_kind kind;
	enum hz_level level;
	enum hz_tier tier;
	enum hz_mode mode;
	const char *event_id;       /* borrowed from the event */
	int64_t at_us;
	int64_t deadline_us;        /* close-out deadline, 0 for none */
	char episode_key[HZ_EPISODE_MAX];
	char hazard_type[HZ_TYPE_MAX];
	char site_id[HZ_ID_MAX];
	char town_code[HZ_CODE_MAX];
	char county_code[HZ_CODE_MAX];
	char device_id[HZ_ID_MAX];
	char reason[HZ_REASON_MAX];
	int risk;                   /* the site's hz_risk, 0 when unknown */
	int64_t ack_us;             /* time to acknowledge at `tier`; 0: no deadline */
	bool confirmed;             /* double knock: the ticket opens (or moves) as confirmed */
	/* Set by hz_context_apply (rules/context.h) after evaluation: */
	int64_t silence_id;         /* silenced by this silence: recorded, calls nobody */
	bool held;                  /* held on another episode's ticket by an inhibit rule */
	unsigned char held_prefix;  /* length of the "held by ...: " prefix of reason */
	enum hz_level raised_from;  /* the level before an area warning raised it */
	char own_episode[HZ_EPISODE_MAX]; /* a held intent's own episode */
	/* Set by the engine, not the rules: the Kafka topic and partition of
	 * the event. When the intent opens a ticket, they own its timers
	 * (store/escalate.h). topic NULL: MQTT or hazardctl, no owner. The
	 * topic is borrowed from the source message; the batch copies it. */
	struct hz_intent_source {
		const char *topic;
		int32_t partition;
	} src;
};

/* Load and check a rules file. On error returns NULL and err holds every
 * problem found as "file:line:col: message" (first one at least). */
struct hz_rules *hz_rules_load(const char *path, char *err, size_t errlen);
struct hz_rules *hz_rules_parse(const char *name, const char *text, size_t len, char *err,
				size_t errlen);
void hz_rules_destroy(struct hz_rules *r);  /* accepts NULL */
/* "blocked_exit", ... for a HazardCategory number. */
const char *hz_rules_category_name(int category);
int hz_rules_category_parse(const char *name);   /* 0 when unknown */

/* Evaluate one event. Writes at most `max` intents; returns how many.
 * The event's dev/site must be attached where the kind needs them. */
size_t hz_rules_eval(const struct hz_rules *r, const struct hz_event *ev, struct hz_intent *out,
		     size_t max);

/* The same with condition state (rules/cond.h): stateful rules (clear,
 * for, rise, window, confirm, auto_clear) advance `st` and may answer with
 * nothing (pending), a clear or a flap. With st NULL they act as plain
 * thresholds (rise rules never fire). Not pure: `st` changes. */
struct hz_cond;
size_t hz_rules_eval_cond(const struct hz_rules *r, struct hz_cond *st, const struct hz_event *ev,
			  struct hz_intent *out, size_t max);

/* How long a device of `kind` may stay silent before it is offline; 0 when
 * devices of that kind are not watched. */
int64_t hz_rules_offline_after(const struct hz_rules *r, const char *device_kind);
/* The shortest silence limit of any kind; 0 when no device is watched. */
int64_t hz_rules_offline_shortest(const struct hz_rules *r);

/* An intent for a device fault (bad value, fault or tamper status):
 * the fail-safe path of RELIABILITY.md rule 5. */
void hz_rules_fault_intent(const struct hz_rules *r, const struct hz_event *ev,
			   const char *what, const char *reason, struct hz_intent *out);

/* The rating for a town's counts (pure). */
enum hz_rating hz_rules_rate(const struct hz_rules *r, const struct hz_town_counts *c);
const char *hz_rating_name(enum hz_rating r);  /* "green", "yellow", "red" */

/* ---- escalation (pure; time passed in) ---- */

/* The acknowledgement deadline for a ticket called at `tier` with `level`
 * at a site of `risk`, counted from now_us; 0 when that level has none. */
int64_t hz_escalate_ack_due(const struct hz_rules *r, enum hz_level level, enum hz_tier tier,
			    int risk, int64_t now_us);

/* An unacknowledged ticket's deadline passed: the next step. */
struct hz_escalation_step {
	enum hz_tier from_tier, to_tier;
	int repeat;                 /* 0 for a climb; 1, 2, ... for top-tier repeats */
	int64_t next_due_us;        /* the deadline at the new tier */
};
void hz_escalate_next(const struct hz_rules *r, enum hz_level level, enum hz_tier tier,
		      int repeat, int risk, int64_t now_us, struct hz_escalation_step *out);

/* The close-out deadline of a report of `category` (1..HZ_MAX_CATEGORY-1)
 * at a site of `risk`, as a duration from discovery; 0 for none. A
 * supervised report takes defaults.supervised_closeout(_by_risk), others
 * their category's closeout(_by_risk); a grade's entry overrides. */
int64_t hz_rules_closeout(const struct hz_rules *r, int category, bool supervised, int risk);

/* ---- close-out reminders (pure; time passed in) ----
 * A schedule is `before[0..n)`: durations before the deadline, longest
 * first. A reminder is due at deadline - before. */

/* The next reminder after the one `below_us` before the deadline (pass
 * INT64_MAX when none has fired yet): the longest before < below_us whose
 * time is still ahead of now_us. Reminders already past are skipped, never
 * fired late in a burst. Returns its due time and sets *before_us, or
 * returns 0 when there is none (or no deadline). */
int64_t hz_reminder_next(const int64_t *before, size_t n, int64_t deadline_us, int64_t below_us,
			 int64_t now_us, int64_t *before_us);

/* A reminder `claimed_us` before the deadline came due: which one to fire
 * now. After downtime several may be past: the latest of them (the
 * shortest before <= claimed_us whose time is reached) is fired alone, so
 * operators read the time actually left. Returns 0 when the deadline
 * itself has passed (the overdue escalation takes over), else the before
 * duration to record (claimed_us when no shorter one is due). */
int64_t hz_reminder_due(const int64_t *before, size_t n, int64_t deadline_us, int64_t claimed_us,
			int64_t now_us);

/* "3d", "12h", "90m", "4s", "1.5s": a duration for messages. */
char *hz_duration_format(int64_t us, char *buf, size_t len);

#endif

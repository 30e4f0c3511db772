/*
 * context.h - what the rest of the world says about an event's intents:
 * silences (maintenance windows), inhibition (a site's open fire alarm
 * holds its lower alarms; a town's power outage holds device offline
 * faults) and area warnings that raise matching alarms.
 *
 * Pure: the daemon keeps a snapshot (struct hz_context) of the active
 * silences and of the open tickets that can inhibit or raise, and
 * hz_context_apply() post-processes the intents hz_rules_eval() wrote,
 * with `now` passed in. Nothing here reads the clock, the database or
 * allocates on the apply path. Loading the snapshot from PostgreSQL is
 * store/context.h's job; keeping it fresh between loads is the engine's
 * (hz_context_note_ticket after each commit).
 *
 * What it never does: hide a red level, or drop an intent. A silenced
 * intent still opens or joins its ticket (without an acknowledgement
 * deadline); a held intent joins the holding ticket (without raising its
 * level) and falls back to its own episode when the holder has closed.
 */
#ifndef HZ_RULES_CONTEXT_H
#define HZ_RULES_CONTEXT_H

#include "registry/registry.h"
#include "rules/rules.h"
#include "rules/yaml_tree.h"

#define HZ_CTX_TYPES_MAX 8

/* inhibit: while an open ticket matches `while`, intents matching `hold`
 * in its scope join that ticket instead of opening their own. */
enum hz_inhibit_scope { HZ_SCOPE_SITE = 1, HZ_SCOPE_AREA };

struct hz_inhibit_rule {
	char name[HZ_RULE_NAME_MAX];
	/* while */
	char while_type[HZ_CTX_TYPES_MAX][HZ_TYPE_MAX];
	size_t n_while_type;
	enum hz_kind while_kind;      /* 0: any */
	enum hz_level while_min;      /* the holder's level at least this */
	enum hz_inhibit_scope scope;
	/* hold */
	char hold_type[HZ_CTX_TYPES_MAX][HZ_TYPE_MAX];
	size_t n_hold_type;
	enum hz_kind hold_kind;       /* 0: any */
	enum hz_level hold_below;     /* hold only intents below this level; NONE: below the holder's */
	int line;
};

/* area_raise: while an area warning is open, matching intents at sites
 * inside the area are raised `by` levels, or to the warning's level. */
struct hz_raise_rule {
	char name[HZ_RULE_NAME_MAX];
	char warning_type[HZ_CTX_TYPES_MAX][HZ_TYPE_MAX];
	size_t n_warning_type;
	enum hz_level warning_min;    /* the warning's level at least this */
	char raise_type[HZ_CTX_TYPES_MAX][HZ_TYPE_MAX];
	size_t n_raise_type;
	int by;                       /* levels up; 0 with to_warning */
	bool to_warning;              /* up to the warning's level */
	enum hz_level max_level;      /* never above this (default red) */
	int line;
};

/* Parse an `inhibit:` or `area_raise:` section (the node keyed by the
 * section name) into rs. Returns 0, or -1 with "file:line:col: message" in
 * err. Called by hz_rules_parse. */
int hz_context_parse(const char *file, const struct hz_ynode *section, struct hz_rules *rs,
		     char *err, size_t errlen);
/* Free what hz_context_parse added to rs (hz_rules_destroy calls it). */
void hz_context_rules_free(struct hz_rules *rs);

/* ---- the snapshot ---- */

enum hz_silence_target { HZ_SILENCE_DEVICE = 1, HZ_SILENCE_SITE, HZ_SILENCE_ORG };

struct hz_silence {
	int64_t silence_id;
	enum hz_silence_target kind;
	char target[HZ_ID_MAX];
	int64_t starts_us, ends_us;   /* [starts, ends) */
};

/* An open ticket that may inhibit or raise. town_code is the area code for
 * warning tickets. */
struct hz_ctx_ticket {
	int64_t ticket_id;
	enum hz_kind kind;
	enum hz_level level;
	enum hz_mode mode;
	char hazard_type[HZ_TYPE_MAX];
	char site_id[HZ_ID_MAX];
	char town_code[HZ_CODE_MAX];
	char episode_key[HZ_EPISODE_MAX];
	int64_t deadline_us;          /* a warning's expiry; 0 when none */
};

struct hz_context;

struct hz_context *hz_context_new(void);
void hz_context_destroy(struct hz_context *c); /* accepts NULL */

/* Replace the silences / the tickets (copied). HZ_ENOMEM leaves the old
 * ones in place. */
int hz_context_set_silences(struct hz_context *c, const struct hz_silence *s, size_t n);
int hz_context_set_tickets(struct hz_context *c, const struct hz_ctx_ticket *t, size_t n);
/* One ticket changed (the daemon's own commit): open ones the rules care
 * about are added or updated, closed ones removed. O(tickets held). */
int hz_context_note_ticket(struct hz_context *c, const struct hz_rules *r,
			   const struct hz_ctx_ticket *t, bool open);
size_t hz_context_count_silences(const struct hz_context *c);
size_t hz_context_count_tickets(const struct hz_context *c);

/* Whether the rules want tickets of this hazard type in the snapshot (a
 * `while` type or a warning type). */
bool hz_context_wants(const struct hz_rules *r, const char *hazard_type);
/* The hazard types the snapshot needs, as a PostgreSQL array literal
 * ({"fire_smoke","power_outage"}); "{}" when none. */
void hz_context_types_literal(const struct hz_rules *r, char *buf, size_t len);

struct hz_context_counts {
	uint64_t silenced, held, raised;
};

/* Apply raises, then inhibition, then silences to intents[0..n) of one
 * event at `site` (may be NULL: warnings and unknown places are left
 * alone), at time now_us. Intents other than HZ_OP_JOIN, and warnings,
 * are never touched. Adds what it did to *counts (may be NULL). Cost:
 * O(n x (tickets + silences) x chain depth); both sets are small. */
void hz_context_apply(const struct hz_rules *r, const struct hz_context *c,
		      const struct hz_site *site, struct hz_intent *intents, size_t n,
		      int64_t now_us, struct hz_context_counts *counts);

/* Undo a hold whose holder is no longer open: the intent goes back to its
 * own episode and reason. */
void hz_context_unhold(struct hz_intent *in);

#endif

/*
 * logline.h - one line of the escalation log (daemon/out/out_log.c) as
 * `hazardctl tail` sees it: parsed, matched against the operator's
 * filters, and formatted as one human line.
 *
 * Pure: no I/O, time passed in. A parsed line borrows its strings from the
 * JSON document it keeps; hz_ctl_logline_clear releases it.
 */
#ifndef HZ_CTL_LOGLINE_H
#define HZ_CTL_LOGLINE_H

#include "core/buf.h"
#include "core/event.h"
#include "core/hz.h"

enum hz_ctl_ltype {
	HZ_CTL_L_OTHER = 0, HZ_CTL_L_TICKET, HZ_CTL_L_ESCALATION, HZ_CTL_L_RATING, HZ_CTL_L_COMMAND
};

#define HZ_CTL_CALLED_MAX 8

struct hz_ctl_logline {
	void *doc; /* the json_t, owned */
	enum hz_ctl_ltype type;
	const char *type_name; /* "" when absent */
	int64_t ts_us;         /* 0 when absent or unreadable */
	int64_t ticket_id;     /* 0 when absent */
	enum hz_level level;   /* ratings: red -> red, yellow -> yellow, green -> none */
	enum hz_tier tier, from_tier;
	int repeat;
	/* "" when absent */
	const char *kind, *state, *from_state, *change, *site, *town, *county, *hazard_type;
	const char *reason, *actor, *org_unit, *mode, *rating, *previous;
	const char *outcome, *action, *actor_tier, *flags; /* command lines */
	long open_alarms, open_hazards, overdue;
	size_t n_called;
	struct {
		const char *id, *name, *phone; /* "" when absent */
	} called[HZ_CTL_CALLED_MAX]; /* "called" objects, or the "duty" ids */
};

/* Parse one line (without or with its newline). Returns 0, or HZ_EINVAL
 * when it is not a JSON object (ll is then cleared). */
int hz_ctl_logline_parse(const char *line, size_t len, struct hz_ctl_logline *ll);
void hz_ctl_logline_clear(struct hz_ctl_logline *ll); /* accepts a cleared one */

#define HZ_CTL_SET_MAX 32

/* A set of accepted values (--town A,B --town C); empty accepts anything. */
struct hz_ctl_set {
	size_t n;
	char *v[HZ_CTL_SET_MAX]; /* owned */
};

/* Add a comma-separated list. HZ_EINVAL for an empty item or too many. */
int hz_ctl_set_add(struct hz_ctl_set *s, const char *list);
bool hz_ctl_set_has(const struct hz_ctl_set *s, const char *v);
void hz_ctl_set_free(struct hz_ctl_set *s);

struct hz_ctl_logfilter {
	struct hz_ctl_set towns, counties, tiers, kinds, types;
	enum hz_level min_level; /* 0: any */
	bool drills_only, no_drills;
};

/* True when no filter is set (then even unparseable lines are shown). */
bool hz_ctl_logfilter_empty(const struct hz_ctl_logfilter *f);
/* Does the line pass every filter? A line lacking a filtered field fails
 * it (a rating has no kind or tier; --level drops green ratings). */
bool hz_ctl_logfilter_match(const struct hz_ctl_logfilter *f, const struct hz_ctl_logline *ll);
void hz_ctl_logfilter_free(struct hz_ctl_logfilter *f);

/* The human line, without newline, appended to `out` (cleared first):
 *   12:03:04 RED    alarm #42 fire_smoke SITE-1 town 330106001 escalated grid->town
 *            (330106001), called: Zhang San 13800000001: not acknowledged ...
 * Time is local, with the date when not today (`now_us`). With `colour`,
 * the level word (and for escalations the whole line's head) is coloured. */
void hz_ctl_logline_format(const struct hz_ctl_logline *ll, int64_t now_us, bool colour,
			   bool c256, struct hz_buf *out);

#endif

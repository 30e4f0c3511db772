/*
 * state.c - the ticket state machine table and its one check. Pure: the
 * caller passes the ticket, the actor and the database's clock.
 *
 * Adding an action is adding a row; the README table, the unit tests
 * (driven from the table) and both apply paths follow. The order of the
 * checks in hz_state_check is part of the contract: the first failure is
 * the reason an operator reads, so the most fundamental one comes first.
 */
#include "tickets/state.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define S(x) HZ_STATE_BIT(HZ_STATE_##x)
#define K(x) HZ_KIND_BIT(HZ_KIND_##x)

static const struct hz_state_rule table[] = {
	{HZ_ACT_ACK, HZ_STATES_OPEN, HZ_STATE_NONE, HZ_KINDS_ALL, false, HZ_TIER_NONE,
	 HZ_NEED_UNACKED, "acked", NULL},
	{HZ_ACT_CONFIRM, S(DISCOVERED), HZ_STATE_CONFIRMED, HZ_KINDS_ALL, true, HZ_TIER_NONE,
	 HZ_NEED_ACKS, "confirmed", NULL},
	{HZ_ACT_CONTROL, S(DISCOVERED) | S(CONFIRMED), HZ_STATE_CONTROLLED, HZ_KINDS_ALL, true,
	 HZ_TIER_NONE, HZ_NEED_ACKS, "controlled", NULL},
	{HZ_ACT_DISPATCH, HZ_STATES_OPEN, HZ_STATE_NONE, HZ_KINDS_ALL, false, HZ_TIER_NONE,
	 HZ_NEED_ASSIGNEE | HZ_NEED_ACKS, "dispatched", NULL},
	{HZ_ACT_RECTIFY, S(DISCOVERED) | S(CONFIRMED) | S(CONTROLLED), HZ_STATE_RECTIFYING,
	 K(ALARM) | K(HAZARD) | K(FAULT), true, HZ_TIER_NONE, HZ_NEED_RECTIFY | HZ_NEED_ACKS,
	 "rectifying", "a warning is not rectified: close it"},
	{HZ_ACT_VERIFY, S(RECTIFYING), HZ_STATE_CLOSED, K(HAZARD), true, HZ_TIER_NONE,
	 HZ_NEED_EVIDENCE | HZ_NEED_OTHER_ACTOR | HZ_NEED_ACKS, "verified",
	 "verify closes hazard tickets only: close it"},
	{HZ_ACT_CLOSE, HZ_STATES_OPEN, HZ_STATE_CLOSED, K(ALARM) | K(WARNING) | K(FAULT), true,
	 HZ_TIER_NONE, HZ_NEED_ACKS, "closed", "a hazard ticket closes only by verify"},
	{HZ_ACT_DISMISS, HZ_STATES_OPEN, HZ_STATE_DISMISSED, HZ_KINDS_ALL, true, HZ_TIER_NONE,
	 HZ_NEED_REASON | HZ_NEED_ACKS, "dismissed", NULL},
	{HZ_ACT_REOPEN, HZ_STATES_ENDED, HZ_STATE_CONFIRMED, HZ_KINDS_ALL, true, HZ_TIER_COUNTY,
	 HZ_NEED_REASON | HZ_NEED_RECALL, "reopened", NULL},
	{HZ_ACT_COMMENT, HZ_STATES_OPEN | HZ_STATES_ENDED, HZ_STATE_NONE, HZ_KINDS_ALL, false,
	 HZ_TIER_NONE, HZ_NEED_TEXT, "comment", NULL},
};

static const char *const action_names[] = {"none",    "ack",     "confirm", "control",
					   "dispatch", "rectify", "verify",  "close",
					   "dismiss", "reopen",  "comment", "silence"};

const char *hz_action_name(enum hz_action a)
{
	return (unsigned)a < HZ_ARRAY_LEN(action_names) ? action_names[(unsigned)a] : "invalid";
}

enum hz_action hz_action_parse(const char *s)
{
	for (size_t i = 1; s && i < HZ_ARRAY_LEN(action_names); i++)
		if (!strcmp(action_names[i], s))
			return (enum hz_action)i;
	return HZ_ACT_NONE;
}

const struct hz_state_rule *hz_state_table(size_t *n)
{
	*n = HZ_ARRAY_LEN(table);
	return table;
}

const struct hz_state_rule *hz_state_rule_of(enum hz_action a)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(table); i++)
		if (table[i].action == a)
			return &table[i];
	return NULL;
}

/* "discovered or confirmed" from a mask, into buf. */
static const char *names_of(unsigned mask, const char *(*name)(int), int lo, int hi,
			    const char *sep_last, char *buf, size_t len)
{
	size_t w = 0, n = 0, total = 0;
	for (int i = lo; i <= hi; i++)
		total += (mask >> i) & 1u;
	buf[0] = '\0';
	for (int i = lo; i <= hi && w < len; i++) {
		if (!((mask >> i) & 1u))
			continue;
		const char *sep = n == 0 ? "" : n + 1 == total ? sep_last : ", ";
		int k = snprintf(buf + w, len - w, "%s%s", sep, name(i));
		w += k > 0 ? (size_t)k : 0;
		n++;
	}
	return buf;
}

static const char *state_name_i(int s) { return hz_state_name((enum hz_state)s); }
static const char *kind_name_i(int k) { return hz_kind_name((enum hz_kind)k); }

static int refuse(struct hz_state_verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct hz_state_verdict *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return HZ_EINVAL;
}

static const char *a_an(const char *word)
{
	return strchr("aeiou", word[0]) ? "an" : "a";
}

/* ---- assignees ---- */

static const char *const assignee_names[] = {"",	 "micro_station", "full_time_brigade",
					     "fire_rescue_station", "person",	    "org_unit"};
static const char *const assignee_words[] = {"",		    "micro station",
					     "full-time brigade",   "fire rescue station",
					     "person",		    "org unit"};

const char *hz_assignee_kind_name(enum hz_assignee_kind k)
{
	return (unsigned)k < HZ_ARRAY_LEN(assignee_names) ? assignee_names[(unsigned)k] : "";
}

enum hz_assignee_kind hz_assignee_kind_parse(const char *s)
{
	for (size_t i = 1; s && i < HZ_ARRAY_LEN(assignee_names); i++)
		if (!strcmp(assignee_names[i], s))
			return (enum hz_assignee_kind)i;
	return HZ_ASSIGNEE_NONE;
}

static const char *assignee_word(enum hz_assignee_kind k)
{
	return (unsigned)k < HZ_ARRAY_LEN(assignee_words) && k ? assignee_words[(unsigned)k]
							       : "assignee";
}

const char *hz_assignee_describe(const struct hz_state_assignee *ag, char *buf, size_t len)
{
	const char *id = ag && ag->id ? ag->id : "";
	if (ag && ag->name && *ag->name)
		snprintf(buf, len, "%s %s (%s)", assignee_word(ag ? ag->kind : 0), id, ag->name);
	else
		snprintf(buf, len, "%s %s", assignee_word(ag ? ag->kind : 0), id);
	return buf;
}

int hz_state_check(const struct hz_state_ticket *tk, const struct hz_state_actor *ac,
		   const struct hz_state_cmd *cmd, struct hz_state_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->to = tk->state;
	const struct hz_state_rule *r = hz_state_rule_of(cmd->action);
	long long id = (long long)tk->ticket_id;
	if (!r)
		return refuse(v, "action %s is not a ticket command", hz_action_name(cmd->action));
	v->rule = r;
	const char *who = ac->actor_id ? ac->actor_id : "";
	if (!ac->known)
		return refuse(v, "unknown actor \"%s\"", who);
	if (!ac->on_chain)
		return refuse(v, "actor %s (%s) is not on the chain of ticket %lld", who,
			      ac->org_code ? ac->org_code : "?", id);
	if (cmd->mode != HZ_MODE_ACTUAL && tk->mode == HZ_MODE_ACTUAL)
		return refuse(v, "%s %s-mode command cannot act on live ticket %lld",
			      a_an(hz_mode_name(cmd->mode)), hz_mode_name(cmd->mode), id);
	if (!(r->from & HZ_STATE_BIT(tk->state))) {
		char buf[96];
		if (HZ_STATES_ENDED & HZ_STATE_BIT(tk->state))
			return refuse(v, "ticket %lld is %s", id, hz_state_name(tk->state));
		return refuse(v, "ticket %lld is %s: %s needs %s", id, hz_state_name(tk->state),
			      hz_action_name(r->action),
			      names_of(r->from, state_name_i, HZ_STATE_DISCOVERED, HZ_STATE_DISMISSED,
				       " or ", buf, sizeof(buf)));
	}
	if (!(r->kinds & HZ_KIND_BIT(tk->kind))) {
		if (r->kind_refusal)
			return refuse(v, "%s (ticket %lld is %s %s)", r->kind_refusal, id,
				      a_an(hz_kind_name(tk->kind)), hz_kind_name(tk->kind));
		char buf[64];
		return refuse(v, "%s applies to %s tickets: ticket %lld is %s %s",
			      hz_action_name(r->action),
			      names_of(r->kinds, kind_name_i, HZ_KIND_ALARM, HZ_KIND_FAULT, " and ",
				       buf, sizeof(buf)),
			      id, a_an(hz_kind_name(tk->kind)), hz_kind_name(tk->kind));
	}
	enum hz_tier need = r->tier_check ? tk->tier : HZ_TIER_NONE;
	if (r->min_tier > need)
		need = r->min_tier;
	if (ac->tier < need)
		return refuse(v, "actor lacks tier %s: %s is a %s operator (ticket %lld is at tier %s)",
			      hz_tier_name(need), who, hz_tier_name(ac->tier), id,
			      hz_tier_name(tk->tier));
	unsigned n = r->needs;
	const char *act = hz_action_name(r->action);
	if ((n & HZ_NEED_UNACKED) && tk->acked)
		return refuse(v, "ticket %lld is already acknowledged", id);
	if ((n & HZ_NEED_REASON) && !cmd->has_reason)
		return refuse(v, "%s needs a reason", act);
	if ((n & HZ_NEED_TEXT) && !cmd->has_reason && !cmd->has_note)
		return refuse(v, "%s needs a note", act);
	if ((n & HZ_NEED_ASSIGNEE) && !cmd->has_assignee)
		return refuse(v, "%s needs an assignee (a unit, brigade or person)", act);
	if (n & HZ_NEED_ASSIGNEE) {
		/* a registered rescue unit, person or org unit, within the
		 * ticket's county (see struct hz_state_assignee) */
		const struct hz_state_assignee *ag = cmd->assignee;
		if (!ag || ag->kind == HZ_ASSIGNEE_NONE)
			return refuse(v, "assignee \"%s\" is not a registered rescue unit, brigade, "
					 "person or org unit",
				      ag && ag->id ? ag->id : "");
		if (!ag->in_reach) {
			char d[160];
			hz_assignee_describe(ag, d, sizeof(d));
			if (ag->county && *ag->county)
				return refuse(v, "%s of %s is outside county %s of ticket %lld", d,
					      ag->org_code ? ag->org_code : "?", ag->county, id);
			return refuse(v, "%s of %s is not on the chain of ticket %lld", d,
				      ag->org_code ? ag->org_code : "?", id);
		}
	}
	if (n & HZ_NEED_RECTIFY) {
		if (cmd->rectify_mode == HZ_RECTIFY_ON_SPOT && cmd->due_us)
			return refuse(v, "rectify on the spot takes no due time");
		if (cmd->rectify_mode == HZ_RECTIFY_BY_DEADLINE && !cmd->due_us)
			return refuse(v, "rectify by deadline needs a due time");
		if (cmd->rectify_mode != HZ_RECTIFY_ON_SPOT &&
		    cmd->rectify_mode != HZ_RECTIFY_BY_DEADLINE)
			return refuse(v, "rectify needs a mode: on the spot, or by a deadline with a due time");
		if (cmd->rectify_mode == HZ_RECTIFY_BY_DEADLINE && cmd->due_us <= cmd->now_us)
			return refuse(v, "rectify due time must be in the future");
		if (cmd->rectify_mode == HZ_RECTIFY_BY_DEADLINE && tk->deadline_us &&
		    cmd->due_us > tk->deadline_us) {
			char t[HZ_TIME_BUFLEN];
			return refuse(v, "rectify due time is after the close-out deadline %s of ticket %lld",
				      hz_time_format(tk->deadline_us, t), id);
		}
	}
	if ((n & HZ_NEED_EVIDENCE) && cmd->n_evidence == 0)
		return refuse(v, "%s needs re-inspection evidence", act);
	if ((n & HZ_NEED_OTHER_ACTOR) && tk->rectified_by && *tk->rectified_by &&
	    !strcmp(tk->rectified_by, who))
		return refuse(v, "%s needs an actor other than %s who rectified it", act, who);
	if ((n & HZ_NEED_RECALL) && tk->expires_us && tk->expires_us <= cmd->now_us) {
		/* the expiry scan would close it again at once */
		char t[HZ_TIME_BUFLEN];
		return refuse(v, "ticket %lld is a warning that expired at %s: publish the warning "
				 "again (an update with a new expiry) instead",
			      id, hz_time_format(tk->expires_us, t));
	}
	if (r->to != HZ_STATE_NONE)
		v->to = r->to;
	v->acks = !tk->acked && ((n & HZ_NEED_ACKS) || r->action == HZ_ACT_ACK);
	v->recall = (n & HZ_NEED_RECALL) != 0;
	return HZ_OK;
}

/* ---- the README table ---- */

static const char *needs_text(unsigned n, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *text;
	} words[] = {
		{HZ_NEED_UNACKED, "not yet acknowledged"},
		{HZ_NEED_REASON, "a reason"},
		{HZ_NEED_TEXT, "a note"},
		{HZ_NEED_ASSIGNEE, "an assignee: a registered rescue unit, person or org unit of the ticket's county"},
		{HZ_NEED_RECTIFY, "on the spot, or by a due time before the close-out deadline"},
		{HZ_NEED_EVIDENCE, "re-inspection evidence"},
		{HZ_NEED_OTHER_ACTOR, "an actor other than the rectifier"},
		{HZ_NEED_ACKS, "also acknowledges"},
		{HZ_NEED_RECALL, "restarts call-and-respond"},
	};
	size_t w = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < HZ_ARRAY_LEN(words) && w < len; i++)
		if (n & words[i].bit) {
			int k = snprintf(buf + w, len - w, "%s%s", w ? "; " : "", words[i].text);
			w += k > 0 ? (size_t)k : 0;
		}
	if (!w)
		snprintf(buf, len, "-");
	return buf;
}

int hz_state_table_markdown(struct hz_buf *out)
{
	int rc = hz_buf_appendf(out, "| action | from | to | kinds | who (on the ticket's chain) | "
				     "needs |\n| --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < HZ_ARRAY_LEN(table) && !rc; i++) {
		const struct hz_state_rule *r = &table[i];
		char from[128], kinds[64], needs[256], who[64];
		names_of(r->from, state_name_i, HZ_STATE_DISCOVERED, HZ_STATE_DISMISSED, ", ", from,
			 sizeof(from));
		names_of(r->kinds, kind_name_i, HZ_KIND_ALARM, HZ_KIND_FAULT, ", ", kinds,
			 sizeof(kinds));
		if (r->tier_check && r->min_tier)
			snprintf(who, sizeof(who), "tier >= ticket's and >= %s", hz_tier_name(r->min_tier));
		else if (r->tier_check)
			snprintf(who, sizeof(who), "tier >= ticket's");
		else
			snprintf(who, sizeof(who), "any tier");
		rc = hz_buf_appendf(out, "| %s | %s | %s | %s | %s | %s |\n", hz_action_name(r->action),
				    from, r->to ? hz_state_name(r->to) : "(unchanged)", kinds, who,
				    needs_text(r->needs, needs, sizeof(needs)));
	}
	return rc;
}

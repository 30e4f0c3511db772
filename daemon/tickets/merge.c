/*
 * merge.c - batch intents -> ticket changes. O(n log n) in the batch size
 * (a sort by episode), no allocation.
 */
#include "tickets/merge.h"
#include "rules/context.h"

#include <stdlib.h>
#include <string.h>

static const struct hz_intent *sort_base;

static int by_episode(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_base[i].episode_key, sort_base[j].episode_key);
	if (c)
		return c;
	if (sort_base[i].at_us != sort_base[j].at_us)
		return sort_base[i].at_us < sort_base[j].at_us ? -1 : 1;
	return i < j ? -1 : i > j; /* stable: arrival order */
}

static const struct hz_open_ticket *find_open(const struct hz_open_ticket *open, size_t n,
					      const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(open[i].episode_key, key))
			return &open[i];
	return NULL;
}

static void ticket_from_intent(const struct hz_intent *in, int64_t now_us, struct hz_ticket *tk)
{
	memset(tk, 0, sizeof(*tk));
	tk->kind = in->kind;
	tk->state = HZ_STATE_DISCOVERED;
	tk->level = in->level;
	tk->tier = in->tier ? in->tier : HZ_TIER_GRID;
	tk->mode = in->mode;
	memcpy(tk->site_id, in->site_id, sizeof(tk->site_id));
	memcpy(tk->town_code, in->town_code, sizeof(tk->town_code));
	memcpy(tk->county_code, in->county_code, sizeof(tk->county_code));
	memcpy(tk->hazard_type, in->hazard_type, sizeof(tk->hazard_type));
	memcpy(tk->device_id, in->device_id, sizeof(tk->device_id));
	tk->opened_us = tk->updated_us = now_us;
	tk->deadline_us = in->deadline_us;
}

/* Mirror in m->tk what store/batch.c's INSERT or UPDATE writes besides
 * what the merge decided, so the TicketEvent is the row as committed. */
static void settle(struct hz_merged *m, int64_t now_us)
{
	struct hz_ticket *tk = &m->tk;
	tk->silenced_count += m->silenced_events;
	tk->held_count += m->held_events;
	if (m->flapping && !tk->flapping_us)
		tk->flapping_us = now_us;
	if (tk->state == HZ_STATE_CLOSED)
		tk->ack_due_us = 0;
	else if (m->ack_due_us && !tk->acked_us && (!tk->ack_due_us || m->ack_due_us < tk->ack_due_us))
		tk->ack_due_us = m->ack_due_us; /* the earlier call stands */
}

/* When an open ticket at `tier` must be answered after `in` raised it. */
static int64_t rise_due(const struct hz_rules *rules, const struct hz_intent *in,
			enum hz_tier tier, int64_t now_us)
{
	if (rules && tier != in->tier)
		return hz_escalate_ack_due(rules, in->level, tier, in->risk, now_us);
	return in->ack_us ? now_us + in->ack_us : 0;
}

void hz_tickets_unhold(struct hz_intent *intents, const bool *fresh, size_t n_intents,
		       const struct hz_open_ticket *open, size_t n_open)
{
	for (size_t i = 0; i < n_intents; i++)
		if (fresh[i] && intents[i].held && !find_open(open, n_open, intents[i].episode_key))
			hz_context_unhold(&intents[i]);
}

size_t hz_tickets_merge(const struct hz_intent *intents, const bool *fresh, size_t n_intents,
			const struct hz_open_ticket *open, size_t n_open, int64_t now_us,
			const struct hz_rules *rules, size_t *order, struct hz_merged *out)
{
	size_t n_order = 0;
	for (size_t i = 0; i < n_intents; i++)
		if (fresh[i])
			order[n_order++] = i;
	/* qsort is not re-entrant with a context; the engine is single-threaded
	 * per batch and this is the only user of sort_base. */
	sort_base = intents;
	qsort(order, n_order, sizeof(*order), by_episode);
	sort_base = NULL;

	size_t n_out = 0;
	for (size_t k = 0; k < n_order;) {
		const struct hz_intent *first = &intents[order[k]];
		size_t end = k;
		while (end < n_order && !strcmp(intents[order[end]].episode_key, first->episode_key))
			end++;
		struct hz_merged *m = &out[n_out++];
		memset(m, 0, sizeof(*m));
		memcpy(m->episode_key, first->episode_key, sizeof(m->episode_key));
		const struct hz_open_ticket *ot = find_open(open, n_open, first->episode_key);
		/* Within one batch an event id can appear twice (a producer's
		 * duplicate inside the batch): count it once. */
		/* Held intents never set the level (top) or the clock (esc): they
		 * are recorded on the holder, that is all. Conditions: a clear
		 * counts only when nothing fired after it. */
		const struct hz_intent *top = NULL, *esc = NULL, *held = NULL;
		const struct hz_intent *clr = NULL, *flp = NULL, *conf = NULL;
		bool fires = false;
		int64_t added = 0;
		for (size_t j = k; j < end; j++) {
			const struct hz_intent *in = &intents[order[j]];
			bool dup = false;
			for (size_t p = k; p < j && !dup; p++)
				dup = !strcmp(intents[order[p]].event_id, in->event_id);
			if (dup)
				continue;
			added++;
			m->last = in;
			if (in->held) {
				m->held_events++;
				held = in;
				continue;
			}
			if (in->op == HZ_OP_CLEAR) {
				clr = in;
				continue;
			}
			if (in->op == HZ_OP_FLAP) {
				flp = in;
				continue;
			}
			clr = NULL;
			fires = true;
			if (in->confirmed && !conf)
				conf = in;
			if (in->silence_id)
				m->silenced_events++;
			if (!top || in->level > top->level)
				top = in;
			if (!in->silence_id && in->ack_us && (!esc || in->level > esc->level))
				esc = in;
		}
		if (!top)
			top = held ? held : clr ? clr : flp ? flp : first;
		m->first = first;
		m->begin = k;
		m->end = end;
		m->top = top;
		m->added_events = added;
		/* The last update or cancel in arrival order decides. */
		const struct hz_intent *upd = NULL, *cls = NULL;
		for (size_t j = k; j < end; j++) {
			const struct hz_intent *in = &intents[order[j]];
			if (in->op == HZ_OP_UPDATE)
				upd = in;
			else if (in->op == HZ_OP_CLOSE)
				cls = in;
		}
		if (ot) {
			m->tk = ot->tk;
			m->from_state = ot->tk.state;
			m->tk.event_count += added;
			m->tk.updated_us = now_us;
			m->next_seq = ot->last_seq + 1;
			if (cls) {
				m->tk.state = HZ_STATE_CLOSED;
				m->tk.closed_us = now_us;
				m->closed = true;
				m->history = true;
				m->top = cls;
			} else if (upd) {
				if (upd->level != ot->tk.level) {
					m->tk.level = upd->level;
					m->level_changed = true;
					m->level_raised = upd->level > ot->tk.level;
					m->history = true;
					if (m->level_raised && !ot->tk.acked_us && upd->ack_us)
						m->ack_due_us = rise_due(rules, upd, ot->tk.tier, now_us);
				}
				if (upd->deadline_us) /* none given: the old one stands */
					m->tk.deadline_us = upd->deadline_us;
				m->top = upd;
			} else {
				if (fires && top->level > ot->tk.level) {
					m->tk.level = top->level;
					m->level_raised = m->level_changed = true;
					m->history = true;
					/* a rise restarts the clock, if nobody answered yet;
					 * a silenced rise calls nobody (its ack_us is 0) */
					if (!ot->tk.acked_us && top->ack_us)
						m->ack_due_us = rise_due(rules, top, ot->tk.tier, now_us);
					else if (!ot->tk.acked_us && ot->silenced_quiet && esc)
						m->ack_due_us = rise_due(rules, esc, ot->tk.tier, now_us);
				} else if (fires && ot->silenced_quiet && esc) {
					/* the first unsilenced event on a silenced ticket:
					 * the call-and-respond starts now */
					m->ack_due_us = rise_due(rules, esc, ot->tk.tier, now_us);
					m->history = true;
					m->top = esc;
				}
				if (conf && ot->tk.state == HZ_STATE_DISCOVERED) {
					m->tk.state = HZ_STATE_CONFIRMED;
					m->confirmed = m->history = true;
					m->top = conf;
				}
				if (flp) {
					m->flapping = m->history = true;
					m->top = flp;
				}
				if (clr) {
					/* someone who acknowledged it decides when it ends */
					m->cleared = m->history = true;
					m->top = clr;
					if (!ot->tk.acked_us) {
						m->tk.state = HZ_STATE_CLOSED;
						m->tk.closed_us = now_us;
						m->closed = true;
					}
				}
				if (m->held_events && !m->history) {
					m->history = true;
					m->top = held;
				}
			}
			settle(m, now_us);
		} else if (cls || (!fires && !held)) {
			/* cancelled before (or as) it opened, or a clear or flap of a
			 * ticket that is not open: nothing to do */
			n_out--;
		} else {
			if (upd)
				top = upd;
			ticket_from_intent(first, now_us, &m->tk);
			m->tk.level = top->level;
			m->tk.deadline_us = top->deadline_us;
			m->tk.event_count = added;
			m->is_new = true;
			m->history = true;
			m->ack_due_us = top->ack_us ? now_us + top->ack_us : 0;
			if (!m->ack_due_us && top->silence_id && esc)
				m->ack_due_us = now_us + esc->ack_us; /* unsilenced ones call */
			m->tk.tier = top->tier ? top->tier : HZ_TIER_GRID;
			if (conf) {
				/* double knock: a confirmed fire skips the confirm step */
				m->tk.state = HZ_STATE_CONFIRMED;
				m->confirmed = true;
				if (conf->level >= top->level)
					top = conf;
			}
			if (clr) {
				/* fired and cleared within the batch: it happened, so it
				 * is recorded, opened and closed (two history rows) */
				m->tk.state = HZ_STATE_CLOSED;
				m->tk.closed_us = now_us;
				m->closed = m->cleared = true;
				m->clr = clr;
				m->ack_due_us = 0;
			}
			m->top = top;
			m->from_state = HZ_STATE_NONE;
			m->next_seq = 1;
			settle(m, now_us);
		}
		k = end;
	}
	return n_out;
}

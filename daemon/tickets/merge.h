/*
 * merge.h - fold one batch of rule intents into ticket changes.
 *
 * Pure: given the batch's intents, which of their events were applied
 * before (replays), and the open tickets for the intents' episodes as
 * read (and locked) from PostgreSQL, decide which tickets to open, which
 * to update, which history rows to append and which changes to publish.
 * One open ticket per episode: repeats raise event_count and the level,
 * never open a second ticket. Several intents for one episode in a batch
 * become one change.
 *
 * Silenced intents (silence_id set) count and join but set no
 * acknowledgement deadline; a later unsilenced one starts the clock.
 * Held intents join the holder's ticket without changing its level or
 * its clock, with a history row saying what was held.
 */
#ifndef HZ_MERGE_H
#define HZ_MERGE_H

#include "rules/rules.h"
#include "tickets/ticket.h"

struct hz_open_ticket {
	struct hz_ticket tk;
	char episode_key[HZ_EPISODE_MAX];
	int last_seq;                 /* highest ticket_history.seq */
	bool silenced_quiet;          /* opened under a silence, no deadline yet, not acked */
};

/* One ticket touched by the batch. */
struct hz_merged {
	struct hz_ticket tk;          /* after the change; ticket_id 0 when new */
	char episode_key[HZ_EPISODE_MAX];
	bool is_new;
	bool level_raised;
	bool level_changed;           /* raised, or set by a warning update */
	bool closed;                  /* closed by a warning cancel or an auto-clear */
	bool cleared;                 /* its condition cleared (closed unless acknowledged) */
	bool confirmed;               /* moved to confirmed by a double knock */
	bool flapping;                /* held open: it clears too often */
	enum hz_state from_state;     /* NONE when new */
	int64_t added_events;         /* fresh events joined in this batch */
	int next_seq;                 /* seq for a history row, when one is due */
	bool history;                 /* append a history row (opened or level) */
	const struct hz_intent *first, *last; /* borrowed from the intents */
	const struct hz_intent *top;  /* the intent that set the level */
	const struct hz_intent *clr;  /* a new ticket that cleared in its batch: the clear */
	size_t begin, end;            /* its intents: order[begin..end) */
	int64_t ack_due_us;           /* a new acknowledgement deadline; 0: unchanged */
	int64_t silenced_events;      /* fresh events that joined under a silence */
	int64_t held_events;          /* fresh events of other episodes held on it */
};

/* `fresh[i]` is false when intents[i]'s event was applied before.
 * Writes at most n_intents entries to out; returns the count. Uses
 * `order` (n_intents entries) as scratch. */
/* Held intents (rules/context.h) whose holding ticket is not open any
 * more go back to their own episode: a hold must never make an event
 * open a ticket under another episode's key. Call after reading the
 * open tickets, before hz_tickets_merge. */
void hz_tickets_unhold(struct hz_intent *intents, const bool *fresh, size_t n_intents,
		       const struct hz_open_ticket *open, size_t n_open);

/* `rules` (NULL: use the intents' own ack_us) times a level rise on a
 * ticket that has climbed at the tier it is at, not the rule's start
 * tier: a county still answering a rise gets the county's deadline. */
size_t hz_tickets_merge(const struct hz_intent *intents, const bool *fresh, size_t n_intents,
			const struct hz_open_ticket *open, size_t n_open, int64_t now_us,
			const struct hz_rules *rules, size_t *order, struct hz_merged *out);

#endif

/*
 * remind.h - close-out reminders, fired in PostgreSQL.
 *
 * An open hazard ticket carries its next reminder (tickets.reminder_due_at,
 * reminder_before_us before deadline_at), set when it opens. Due ones
 * that are this instance's (store/pgtext.h HZ_TIMER_MINE) are claimed with
 * FOR UPDATE SKIP LOCKED and fired by a check-and-set on
 * reminder_before_us in the transaction that records the reminder
 * (hazard.closeout_reminders, unique per ticket and reminder), appends the
 * history row (state unchanged), queues the TicketEvent (change
 * "reminder") and sets the next reminder. Deadlines are the database's.
 * Not here: the schedule itself (pure, rules/rules.h hz_reminder_*), and
 * what happens at the deadline (escalate.c's overdue step).
 */
#ifndef HZ_STORE_REMIND_H
#define HZ_STORE_REMIND_H

#include <libpq-fe.h>

#include "rules/rules.h"
#include "store/escalate.h"
#include "store/pgtext.h"
#include "tickets/ticket.h"

struct hz_reminder {
	struct hz_ticket_event te;  /* te.reason points into reason */
	char reason[HZ_REASON_MAX];
	int64_t before_us;          /* which reminder: this long before the deadline */
};

/* Fire up to `max` due reminders that are this instance's. Fills
 * out[0..*n) with the ones fired and their outbox ids (a claimed reminder
 * whose deadline already passed is cleared, not fired). The schedule after
 * a fired reminder is the current rules'. Returns HZ_OK, HZ_ETRANSIENT or
 * HZ_ERR with err set; *claimed says how many rows were taken, so the
 * caller knows whether more may be due. */
int hz_remind_fire(PGconn *pg, const struct hz_rules *rules,
		   const struct hz_escalate_topics *topics, const struct hz_timer_owner *own,
		   size_t max, struct hz_reminder *out, int64_t *outbox_ids, size_t *n,
		   size_t *claimed, char *err, size_t errlen);

#endif

/*
 * escalate.h - the escalation timers, fired in PostgreSQL.
 *
 * Due tickets (ack_due_at <= now(), not acknowledged, open) are claimed
 * with FOR UPDATE SKIP LOCKED, so two daemons never take the same one,
 * and each is moved one tier up (or the top tier's notice repeated) by a
 * check-and-set on acked_at in the same transaction that records the
 * step (hazard.escalations, unique per ticket, tier and repeat), the
 * history row and the outbox row. Deadlines are compared with the
 * database's clock, so a daemon's wall clock cannot fire a timer early.
 * Each instance fires at once only the timers of tickets it owns (by
 * Kafka partition) or that have no owner; others after a grace
 * (struct hz_timer_owner in store/pgtext.h).
 */
#ifndef HZ_STORE_ESCALATE_H
#define HZ_STORE_ESCALATE_H

#include <libpq-fe.h>

#include "registry/registry.h"
#include "registry/rescue.h"
#include "store/pgtext.h"
#include "rules/rules.h"
#include "tickets/ticket.h"

struct hz_escalate_topics {
	const char *mqtt_prefix;      /* "hazard/v1" */
	const char *kafka_escalations;/* "hazard.escalations" */
	const char *kafka_tickets;    /* "hazard.tickets" */
};

/* The most timers one scan fires. */
#define HZ_ESCALATE_MAX 256

/* One fired timer: the EscalationNotice for the escalations topic and the
 * ticket's change ("escalated", or "overdue" for a close-out deadline of
 * an acknowledged ticket) for the tickets topic, each with its outbox row.
 * te's strings point into esc: keep the pair together. */
struct hz_escalate_fired {
	struct hz_escalation esc;
	struct hz_ticket_event te;
	int64_t esc_id, te_id;
};

/* Fire up to `max` (at most HZ_ESCALATE_MAX) due timers that are this
 * instance's (`own`). Fills out[0..*n). A ticket whose hazard type `dp`
 * names (NULL: none) at a site with coordinates gets the dispatch
 * suggestion: the nearest rescue unit of each kind from the snapshot.
 * Returns HZ_OK, HZ_ETRANSIENT or HZ_ERR with err set. */
int hz_escalate_fire(PGconn *pg, const struct hz_rules *rules, const struct hz_registry *reg,
		     const struct hz_dispatch_params *dp, const struct hz_escalate_topics *topics,
		     const struct hz_timer_owner *own, size_t max, struct hz_escalate_fired *out,
		     size_t *n, char *err, size_t errlen);

/* The time until the next scan is worth doing, by the database's clock:
 * the next acknowledgement, close-out, expiry or reminder deadline, or the
 * take-over time of one passed within own->grace_us. INT64_MAX when none
 * is set. O(1) index probes, whatever the number of timers. */
int hz_timers_next(PGconn *pg, const struct hz_timer_owner *own, int64_t *next_in_us, char *err,
		   size_t errlen);

/* Close up to `max` open warning tickets whose expiry (deadline_at) has
 * passed, by the database's clock: state closed, a history row, and a
 * TicketEvent in the outbox, in one transaction. Fills te[0..*n) (their
 * strings are literals) and the outbox ids. */
int hz_expire_warnings(PGconn *pg, const struct hz_escalate_topics *topics,
		       const struct hz_timer_owner *own, size_t max, struct hz_ticket_event *te,
		       int64_t *outbox_ids, size_t *n, char *err, size_t errlen);

/* Acknowledging a ticket is a command: hz_store_command_apply (store/command.h). */

#endif

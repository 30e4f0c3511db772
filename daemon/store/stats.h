/*
 * stats.h - read-only figures for duty operators (`hazardctl stats`,
 * `hazardctl tickets show`): open tickets by town and state, times to
 * acknowledge and to close, the call-and-respond record per org unit and
 * per person on duty, and a ticket's escalation steps with who was called.
 *
 * Drill tickets (mode exercise or test) are left out of every figure
 * (not out of a ticket's own timeline). Who was called is read from the
 * duty roster as it stands, for the entries valid at the step's time:
 * hazard.escalations records the org unit and tier, not the people. Every
 * result is one caller-owned block: free() it.
 */
#ifndef HZ_STORE_STATS_H
#define HZ_STORE_STATS_H

#include "core/hz.h"

#include <libpq-fe.h>

/* What became of one escalation notice (call), judged by the ticket's
 * acked_at: answered before the next step fired; missed (the next step
 * fired, or the deadline passed, first); waiting (open, deadline ahead);
 * void (acknowledged before the step, i.e. a close-out step, or closed
 * before its deadline without an answer). */
#define HZ_STORE_CALL_OUTCOME_SQL                                                        \
	"CASE WHEN e.acked_at IS NOT NULL AND e.acked_at < e.at THEN 'void'"              \
	" WHEN e.acked_at IS NOT NULL AND (e.next_at IS NULL OR e.acked_at < e.next_at)" \
	" THEN 'answered'"                                                               \
	" WHEN e.next_at IS NOT NULL OR e.acked_at IS NOT NULL"                          \
	" OR e.due_at <= coalesce(e.closed_at, now()) THEN 'missed'"                    \
	" WHEN e.closed_at IS NOT NULL THEN 'void' ELSE 'waiting' END"

struct hz_store_escalation_row {
	int64_t at_us, due_us;   /* due 0 when none */
	const char *tier, *from_tier, *level, *org_code, *org_name, *reason;
	int repeat;
	const char *outcome;     /* answered, missed, waiting, void */
	const char *called_json; /* [{"person_id","name","phone"}...], "[]" for nobody */
};

/* A ticket's escalation steps, oldest first. */
int hz_store_ticket_escalations(PGconn *pg, int64_t ticket_id, struct hz_store_escalation_row **rows,
				size_t *n, char *err, size_t errlen);

/* How a ticket's events were taken: all, silenced, held. */
int hz_store_ticket_event_counts(PGconn *pg, int64_t ticket_id, int64_t *total, int64_t *silenced,
				 int64_t *held, char *err, size_t errlen);

struct hz_store_open_row {
	const char *town_code, *town_name; /* "" when none */
	int64_t discovered, confirmed, controlled, rectifying, total, unacked, overdue;
};

struct hz_store_times_row {
	const char *kind;          /* "all" for the total row */
	int64_t opened, acked, closed, dismissed;
	double ack_median_s, close_median_s; /* < 0 when there is none */
	double ack_p90_s, close_p90_s;
};

struct hz_store_call_row {
	const char *org_code, *org_name, *tier;
	int64_t notices, answered, missed, waiting;
	double rate; /* answered / (answered + missed); < 0 when both are 0 */
};

struct hz_store_failure_row {
	const char *person_id, *name, *phone, *org_code, *tier;
	int64_t missed;
	int64_t last_us;
	const char *tickets; /* "12,15,31": the first ten */
};

struct hz_store_stats {
	int64_t since_us, now_us;
	struct hz_store_open_row *open;
	size_t n_open;
	struct hz_store_times_row *times;
	size_t n_times;
	struct hz_store_call_row *calls;
	size_t n_calls;
	struct hz_store_failure_row *failures;
	size_t n_failures;
};

/* Every figure, in one REPEATABLE READ READ ONLY transaction so they agree.
 * town_code/county_code narrow them (NULL: all). Fill `st`; free with
 * hz_store_stats_free. */
int hz_store_stats_read(PGconn *pg, int64_t since_us, const char *town_code,
			const char *county_code, struct hz_store_stats *st, char *err,
			size_t errlen);
void hz_store_stats_free(struct hz_store_stats *st);

#endif

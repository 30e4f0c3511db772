/*
 * pgtext.h - PostgreSQL's text formats, both ways: array literals for the
 * set-based statements (UNNEST over arrays), and the ticket columns that
 * several queries return in the same order. Reused buffers, no PGresult
 * kept: results are read, never stored.
 */
#ifndef HZ_STORE_PGTEXT_H
#define HZ_STORE_PGTEXT_H

#include <libpq-fe.h>

#include "core/buf.h"
#include "tickets/ticket.h"

/* Build `{a,b,...}` in `a`: begin, one call per element, end. Elements are
 * quoted and escaped; NULL (text) and 0 (time) become SQL NULL. */
void hz_pgarr_begin(struct hz_buf *a);
void hz_pgarr_text(struct hz_buf *a, const char *s);   /* NULL: SQL NULL */
void hz_pgarr_opt(struct hz_buf *a, const char *s);    /* "" or NULL: SQL NULL */
void hz_pgarr_int(struct hz_buf *a, int64_t v);
void hz_pgarr_time(struct hz_buf *a, int64_t us);      /* 0: SQL NULL */
void hz_pgarr_bytea(struct hz_buf *a, const void *p, size_t n);
/* NUL-terminate and return the literal, borrowed until the buffer changes. */
const char *hz_pgarr_end(struct hz_buf *a);

/* n array literals at once, and their release. */
void hz_pgarr_begin_all(struct hz_buf *a, int n);
void hz_pgarr_free_all(struct hz_buf *a, int n);

/* Which timers an instance fires at once. A ticket opened from a Kafka
 * partition is owned by that partition: the instance holding it fires its
 * timers when due; timers of tickets with no owner (MQTT, hazardctl) are
 * everyone's. Any other timer is fired only once it is grace_us late, so a
 * timer whose owner is gone (killed, stalled, mid-rebalance) is still
 * fired, by whoever scans first. A preference, not a lock: exactly-once
 * rests on FOR UPDATE SKIP LOCKED and the check-and-sets. The claim
 * queries see them as $2 (text[] of topics), $3 (int[] of partitions,
 * same order) and $4 (grace in microseconds). */
struct hz_timer_owner {
	const char *topics;         /* array literals; "{}" when nothing is held */
	const char *partitions;
	int64_t grace_us;
};

/* In a claim query: the timer column `due` is this instance's to fire now. */
/* Times cross the wire as integer microseconds since the epoch: these
 * turn a timestamptz column into one and back (the ::int8 cast lets a
 * text parameter through). One definition for every statement in store/. */
#define HZ_SQL_US(col) "(extract(epoch from " col ") * 1000000)::int8"
#define HZ_SQL_TS(x) "(timestamptz 'epoch' + (" x ")::int8 * interval '1 microsecond')"

#define HZ_TIMER_MINE(due)                                                              \
	"(t.source_topic IS NULL OR (t.source_topic, t.source_partition) IN "            \
	"(SELECT * FROM unnest($2::text[], $3::int[])) OR " due                           \
	" <= now() - $4::int8 * interval '1 microsecond')"

/* The two ends of a claim-and-write transaction (escalation timers,
 * expired warnings, reminders): hz_store_claim begins a transaction and
 * runs `sql` with $1 = max and `own` as $2..$4, returning its rows (the
 * caller commits at once when there are none) or NULL with *rc set and the
 * transaction rolled back;
 * hz_store_write_commit runs the set-based write over the n array literals
 * in `a` (plus `extra` parameters after them) and commits, or rolls back
 * and returns the failure. */
PGresult *hz_store_claim(PGconn *pg, const char *what, const char *sql, size_t max,
			 const struct hz_timer_owner *own, int *rc, char *err, size_t errlen);
int hz_store_write_commit(PGconn *pg, const char *what, const char *sql, struct hz_buf *a,
			  int n, const char *const *extra, int n_extra, char *err, size_t errlen);

/* Draw n values from `sequence` (e.g. "hazard.outbox_id_seq") into out,
 * so rows can be encoded with their ids before they are inserted.
 * Returns HZ_OK, HZ_ETRANSIENT or HZ_ERR with err set. */
int hz_store_draw_ids(PGconn *pg, const char *sequence, size_t n, int64_t *out, char *err,
		      size_t errlen);

/* The whole ticket row, the columns of struct hz_ticket, in the order
 * hz_store_ticket_read reads them: every statement that builds a ticket
 * for an output selects (or returns) exactly this list, so a new column
 * is added here once and no reader can blank it. `t` is the table's
 * qualifier ("t." or ""). Its extra columns come after it, from
 * HZ_TICKET_NCOLS on. */
/* clang-format off */
#define HZ_SQL_TICKET(t)                                                                   \
	t "ticket_id, " t "kind, " t "state, " t "level, " t "tier, " t "mode, "            \
	t "site_id, " t "town_code, " t "county_code, " t "hazard_type, " t "device_id, "   \
	HZ_SQL_US(t "opened_at") ", " HZ_SQL_US(t "updated_at") ", "                       \
	HZ_SQL_US(t "acked_at") ", " HZ_SQL_US(t "deadline_at") ", "                       \
	HZ_SQL_US(t "closed_at") ", " t "event_count, " HZ_SQL_US(t "ack_due_at") ", "     \
	t "escalation_repeat, " t "reopened_count, " t "rectify_mode, "                    \
	HZ_SQL_US(t "assigned_at") ", " HZ_SQL_US(t "rectify_due_at") ", "                 \
	HZ_SQL_US(t "rectified_at") ", " HZ_SQL_US(t "overdue_at") ", "                    \
	HZ_SQL_US(t "flapping_at") ", " t "silenced_count, " t "held_count, "              \
	t "acked_by, " t "assignee, " t "rectified_by, " t "verified_by, " t "closed_by"
/* clang-format on */
#define HZ_TICKET_NCOLS 33

/* Fill *tk from the HZ_SQL_TICKET columns starting at `col` (NULL: 0 or "",
 * strings cut to their fields). */
void hz_store_ticket_read(const PGresult *res, int row, int col, struct hz_ticket *tk);

#endif

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

/* The two ends of a claim-and-write transaction (escalation timers,
 * expired warnings): hz_store_claim begins a transaction and runs `sql`
 * with $1 = max, returning its rows (the caller commits at once when there
 * are none) or NULL with *rc set and the transaction rolled back;
 * hz_store_write_commit runs the set-based write over the n array literals
 * in `a` (plus `extra` parameters after them) and commits, or rolls back
 * and returns the failure. */
PGresult *hz_store_claim(PGconn *pg, const char *what, const char *sql, size_t max, int *rc,
			 char *err, size_t errlen);
int hz_store_write_commit(PGconn *pg, const char *what, const char *sql, struct hz_buf *a,
			  int n, const char *const *extra, int n_extra, char *err, size_t errlen);

/* Draw n values from `sequence` (e.g. "hazard.outbox_id_seq") into out,
 * so rows can be encoded with their ids before they are inserted.
 * Returns HZ_OK, HZ_ETRANSIENT or HZ_ERR with err set. */
int hz_store_draw_ids(PGconn *pg, const char *sequence, size_t n, int64_t *out, char *err,
		      size_t errlen);

/* Read kind, state, level, tier, mode, site_id, town_code, county_code,
 * hazard_type and device_id from ten consecutive columns starting at
 * `col` (text columns NULL-coalesced to ""). */
void hz_store_ticket_cols(const PGresult *res, int row, int col, struct hz_ticket *tk);

#endif

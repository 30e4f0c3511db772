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

/*
 * tickets_read.c - SELECTs over hazard.tickets, ticket_history and
 * dead_letters, packed into caller-owned blocks.
 *
 * Each result becomes one allocation: the row array followed by the
 * strings it points to, so a caller frees it with one free() and nothing
 * from libpq escapes this file. Filters are always bound parameters.
 */
#include "store/tickets_read.h"
#include "store/pg.h"
#include "store/pgtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Open and past the close-out deadline: marked by the timer scan
 * (overdue_at), or not yet (the daemon is down). A warning's deadline is
 * its expiry, not a close-out. */
#define OVERDUE                                                                        \
	"(t.state NOT IN ('closed', 'dismissed') AND (t.overdue_at IS NOT NULL OR"     \
	" (t.kind <> 'warning' AND t.deadline_at < now())))"

/* clang-format off */
#define TICKET_COLS                                                                   \
	HZ_SQL_TICKET("t.") ", t.episode_key, t.first_event_id, t.last_event_id,"      \
	" s.name, o.name, " OVERDUE " AS overdue"                                      \
	" FROM hazard.tickets t"                                                        \
	" LEFT JOIN hazard.sites s ON s.site_id = t.site_id"                            \
	" LEFT JOIN hazard.org_units o ON o.code = t.town_code"
/* clang-format on */

/* Column numbers in TICKET_COLS after the ticket's own. */
enum {
	C_EPISODE = HZ_TICKET_NCOLS,
	C_FIRST,
	C_LAST,
	C_SITE_NAME,
	C_TOWN_NAME,
	C_OVERDUE,
	C_NCOLS
};

static const char *val(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c);
}

static int64_t i64(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* A bump allocator over the strings area of a packed block. */
struct pack {
	char *p;
};

static const char *pack_str(struct pack *pk, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = pk->p;
	memcpy(d, s, n);
	pk->p += n;
	return d;
}

/* Bytes needed for the strings of columns `cols` over all rows. */
static size_t strings_size(const PGresult *res, const int *cols, size_t ncols)
{
	size_t total = 0;
	for (int r = 0; r < PQntuples(res); r++)
		for (size_t i = 0; i < ncols; i++)
			total += (size_t)PQgetlength(res, r, cols[i]) + 1;
	return total;
}

static void fill_ticket(const PGresult *res, int r, struct hz_ticket_row *row, struct pack *pk)
{
	memset(row, 0, sizeof(*row));
	hz_store_ticket_read(res, r, 0, &row->tk);
	row->episode_key = pack_str(pk, val(res, r, C_EPISODE));
	row->first_event_id = pack_str(pk, val(res, r, C_FIRST));
	row->last_event_id = pack_str(pk, val(res, r, C_LAST));
	row->site_name = pack_str(pk, val(res, r, C_SITE_NAME));
	row->town_name = pack_str(pk, val(res, r, C_TOWN_NAME));
	row->overdue = *val(res, r, C_OVERDUE) == 't';
}

static const int ticket_str_cols[] = {C_EPISODE, C_FIRST, C_LAST, C_SITE_NAME, C_TOWN_NAME};
static const size_t n_ticket_str_cols = HZ_ARRAY_LEN(ticket_str_cols);

/* Pack up to `max` rows of a TICKET_COLS result. */
static int pack_tickets(const PGresult *res, size_t max, struct hz_ticket_row **rows, size_t *n,
			char *err, size_t errlen)
{
	size_t nr = HZ_MIN((size_t)PQntuples(res), max);
	*rows = NULL;
	*n = 0;
	if (nr == 0)
		return HZ_OK;
	size_t head = nr * sizeof(struct hz_ticket_row);
	char *block =
		malloc(head + strings_size(res, ticket_str_cols, n_ticket_str_cols));
	if (!block) {
		hz_errf(err, errlen, "out of memory reading %zu tickets", nr);
		return HZ_ENOMEM;
	}
	struct pack pk = {block + head};
	struct hz_ticket_row *out = (struct hz_ticket_row *)block;
	for (size_t i = 0; i < nr; i++)
		fill_ticket(res, (int)i, &out[i], &pk);
	*rows = out;
	*n = nr;
	return HZ_OK;
}

static const char *state_name(int v) { return hz_state_name((enum hz_state)v); }
static const char *kind_name(int v) { return hz_kind_name((enum hz_kind)v); }

/* "{a,b}" of the names of the bits set in mask, 1..max. */
static void mask_array(char *buf, size_t len, unsigned mask, int max, const char *(*name)(int))
{
	size_t o = (size_t)snprintf(buf, len, "{");
	for (int v = 1; v <= max; v++)
		if (mask & (1u << v))
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
					      o > 1 ? "," : "", name(v));
	if (o < len)
		snprintf(buf + o, len - o, "}");
}

int hz_store_tickets_list(PGconn *pg, const struct hz_ticket_filter *f, struct hz_ticket_row **rows,
			  size_t *n, bool *more, char *err, size_t errlen)
{
	char sql[4096], num[10][32];
	const char *params[10];
	int np = 0;
	size_t len = (size_t)snprintf(sql, sizeof(sql), "SELECT " TICKET_COLS " WHERE true");
	*rows = NULL;
	*n = 0;
	if (more)
		*more = false;
#define ADD(cond, value)                                                         \
	do {                                                                     \
		params[np] = (value);                                            \
		np++;                                                            \
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, cond, np); \
	} while (0)
	if (f->town_code && *f->town_code)
		ADD(" AND t.town_code = $%d", f->town_code);
	if (f->county_code && *f->county_code)
		ADD(" AND t.county_code = $%d", f->county_code);
	if (f->state)
		ADD(" AND t.state = $%d", hz_state_name(f->state));
	if (f->kind)
		ADD(" AND t.kind = $%d", hz_kind_name(f->kind));
	if (f->level && f->level_exact)
		ADD(" AND t.level = $%d", hz_level_name(f->level));
	else if (f->level)
		ADD(" AND array_position(ARRAY['none','blue','yellow','orange','red'], t.level) >="
		    " array_position(ARRAY['none','blue','yellow','orange','red'], $%d)",
		    hz_level_name(f->level));
	char states[160], kinds[80];
	if (f->state_mask) {
		mask_array(states, sizeof(states), f->state_mask, HZ_STATE_DISMISSED, state_name);
		ADD(" AND t.state = ANY($%d::text[])", states);
	}
	if (f->kind_mask) {
		mask_array(kinds, sizeof(kinds), f->kind_mask, HZ_KIND_FAULT, kind_name);
		ADD(" AND t.kind = ANY($%d::text[])", kinds);
	}
	if (f->open_only)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					" AND t.state NOT IN ('closed', 'dismissed')");
	if (f->overdue_only)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND " OVERDUE);
	if (f->since_us) {
		snprintf(num[np], sizeof(num[np]), "%lld", (long long)f->since_us);
		ADD(" AND t.opened_at >= timestamptz 'epoch' + $%d::bigint * interval '1 "
		    "microsecond'",
		    num[np]);
	}
#undef ADD
	long limit = f->limit > 0 ? HZ_MIN(f->limit, 1000000L) : 100;
	snprintf(sql + len, sizeof(sql) - len,
		 " ORDER BY t.opened_at DESC, t.ticket_id DESC LIMIT %ld", limit + 1);
	int rc;
	PGresult *res =
		hz_pg_query(pg, "could not list tickets", sql, np, params, &rc, err, errlen);
	if (!res)
		return rc;
	if (more)
		*more = (long)PQntuples(res) > limit;
	rc = pack_tickets(res, (size_t)limit, rows, n, err, errlen);
	PQclear(res);
	return rc;
}

int hz_store_ticket_get(PGconn *pg, int64_t ticket_id, struct hz_ticket_row **row, char *err,
			size_t errlen)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)ticket_id);
	const char *params[] = {id};
	int rc;
	size_t n;
	*row = NULL;
	PGresult *res = hz_pg_query(pg, "could not read ticket",
				    "SELECT " TICKET_COLS " WHERE t.ticket_id = $1", 1, params, &rc,
				    err, errlen);
	if (!res)
		return rc;
	rc = pack_tickets(res, 1, row, &n, err, errlen);
	PQclear(res);
	if (rc == HZ_OK && n == 0) {
		hz_errf(err, errlen, "ticket %lld does not exist", (long long)ticket_id);
		return HZ_ENOTFOUND;
	}
	return rc;
}

int hz_store_ticket_history(PGconn *pg, int64_t ticket_id, struct hz_history_row **rows, size_t *n,
			    char *err, size_t errlen)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)ticket_id);
	const char *params[] = {id};
	int rc;
	*rows = NULL;
	*n = 0;
	PGresult *res = hz_pg_query(
		pg, "could not read ticket history",
		"SELECT ticket_id, seq, " HZ_SQL_US("at") ", from_state, to_state, level, tier, actor,"
						   " reason, event_id, coalesce(action, ''), coalesce(note, ''), "
						   "coalesce(array_to_json(evidence_urls)::text, '[]'), "
						   "coalesce(" HZ_SQL_US("acted_at") ", 0) FROM hazard.ticket_history "
						   "WHERE ticket_id = $1 ORDER BY seq",
		1, params, &rc, err, errlen);
	if (!res)
		return rc;
	size_t nr = (size_t)PQntuples(res);
	if (nr == 0) {
		PQclear(res);
		return HZ_OK;
	}
	static const int str_cols[] = {7, 8, 9, 10, 11, 12};
	const size_t n_str_cols = HZ_ARRAY_LEN(str_cols);
	size_t head = nr * sizeof(struct hz_history_row);
	char *block = malloc(head + strings_size(res, str_cols, n_str_cols));
	if (!block) {
		PQclear(res);
		hz_errf(err, errlen, "out of memory reading history of ticket %s", id);
		return HZ_ENOMEM;
	}
	struct pack pk = {block + head};
	struct hz_history_row *out = (struct hz_history_row *)block;
	for (size_t i = 0; i < nr; i++) {
		int r = (int)i;
		out[i] = (struct hz_history_row){
			.ticket_id = i64(res, r, 0),
			.seq = (int)i64(res, r, 1),
			.at_us = i64(res, r, 2),
			.from_state = hz_state_parse(val(res, r, 3)),
			.to_state = hz_state_parse(val(res, r, 4)),
			.level = hz_level_parse(val(res, r, 5)),
			.tier = hz_tier_parse(val(res, r, 6)),
		};
		out[i].actor = pack_str(&pk, val(res, r, 7));
		out[i].reason = pack_str(&pk, val(res, r, 8));
		out[i].event_id = pack_str(&pk, val(res, r, 9));
		out[i].action = pack_str(&pk, val(res, r, 10));
		out[i].note = pack_str(&pk, val(res, r, 11));
		out[i].evidence_json = pack_str(&pk, val(res, r, 12));
		out[i].acted_us = i64(res, r, 13);
	}
	PQclear(res);
	*rows = out;
	*n = nr;
	return HZ_OK;
}

#define DL_PAYLOAD_MAX 65536

int hz_store_dead_letters_list(PGconn *pg, long limit, struct hz_dead_letter_row **rows, size_t *n,
			       bool *more, char *err, size_t errlen)
{
	char sql[512];
	int rc;
	*rows = NULL;
	*n = 0;
	if (more)
		*more = false;
	if (limit <= 0)
		limit = 50;
	limit = HZ_MIN(limit, 100000L);
	snprintf(sql, sizeof(sql),
		 "SELECT id, " HZ_SQL_US(
			 "received_at") ", source, topic, reason, event_id,"
					" coalesce(partition, -1), coalesce(\"offset\", -1),"
					" substring(payload FROM 1 FOR %d), length(payload)"
					" FROM hazard.dead_letters ORDER BY id DESC LIMIT %ld",
		 DL_PAYLOAD_MAX, limit + 1);
	PGresult *res =
		hz_pg_query(pg, "could not list dead letters", sql, 0, NULL, &rc, err, errlen);
	if (!res)
		return rc;
	size_t nr = HZ_MIN((size_t)PQntuples(res), (size_t)limit);
	if (more)
		*more = (size_t)PQntuples(res) > nr;
	if (nr == 0) {
		PQclear(res);
		return HZ_OK;
	}
	static const int str_cols[] = {2, 3, 4, 5, 8}; /* the bytea text is longer than the bytes */
	const size_t n_str_cols = HZ_ARRAY_LEN(str_cols);
	size_t head = nr * sizeof(struct hz_dead_letter_row);
	char *block = malloc(head + strings_size(res, str_cols, n_str_cols));
	if (!block) {
		PQclear(res);
		hz_errf(err, errlen, "out of memory reading %zu dead letters", nr);
		return HZ_ENOMEM;
	}
	struct pack pk = {block + head};
	struct hz_dead_letter_row *out = (struct hz_dead_letter_row *)block;
	for (size_t i = 0; i < nr; i++) {
		int r = (int)i;
		out[i] = (struct hz_dead_letter_row){
			.id = i64(res, r, 0),
			.received_us = i64(res, r, 1),
			.partition = (int32_t)i64(res, r, 6),
			.offset = i64(res, r, 7),
			.payload_size = (size_t)i64(res, r, 9),
		};
		out[i].source = pack_str(&pk, val(res, r, 2));
		out[i].topic = pack_str(&pk, val(res, r, 3));
		out[i].reason = pack_str(&pk, val(res, r, 4));
		out[i].event_id = pack_str(&pk, val(res, r, 5));
		size_t blen = 0;
		unsigned char *bytes =
			PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 8), &blen);
		if (!bytes) {
			free(block);
			PQclear(res);
			hz_errf(err, errlen, "out of memory decoding dead letter payload");
			return HZ_ENOMEM;
		}
		memcpy(pk.p, bytes, blen);
		out[i].payload = (const unsigned char *)pk.p;
		out[i].payload_len = blen;
		pk.p += blen;
		PQfreemem(bytes);
	}
	PQclear(res);
	*rows = out;
	*n = nr;
	return HZ_OK;
}

/*
 * stats.c - the figures of `hazardctl stats` and the escalation steps of
 * `hazardctl tickets show`. See stats.h.
 *
 * Set-based SELECTs, each one round trip; the window of escalations is
 * bounded by --since (index escalations_at_idx, migration 013). Results are
 * packed like tickets_read.c: rows then their strings in one allocation.
 */
#include "store/stats.h"
#include "store/pg.h"
#include "store/pgtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINCE(p) "(timestamptz 'epoch' + " p "::bigint * interval '1 microsecond')"

/* The escalation steps with the answer of their round (the ticket's life
 * since its last reopen: an ended round's acknowledgement and close are in
 * hazard.ticket_rounds, sql/016) and the round's next step's time. */
#define STEPS(where)                                                                      \
	"WITH s AS (SELECT e.ticket_id, e.tier, e.repeat, e.at, e.from_tier, e.level,"    \
	" e.org_code, e.due_at, e.reason,"                                                \
	" CASE WHEN r.ticket_id IS NULL THEN t.acked_at ELSE r.acked_at END AS acked_at," \
	" CASE WHEN r.ticket_id IS NULL THEN t.closed_at ELSE r.ended_at END AS closed_at," \
	" lead(e.at) OVER (PARTITION BY e.ticket_id, e.round ORDER BY e.at, e.repeat) AS next_at" \
	" FROM hazard.escalations e JOIN hazard.tickets t USING (ticket_id)"             \
	" LEFT JOIN hazard.ticket_rounds r ON r.ticket_id = e.ticket_id AND r.round = e.round" \
	" WHERE " where                                                                   \
	"), o AS (SELECT e.*, " HZ_STORE_CALL_OUTCOME_SQL " AS outcome FROM s e) "

#define ON_DUTY(o)                                                                        \
	"d.org_code = " o ".org_code AND d.tier = " o ".tier AND (d.starts_at IS NULL OR"  \
	" d.starts_at <= " o ".at) AND (d.ends_at IS NULL OR " o ".at < d.ends_at)"

static const char *val(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c);
}

static int64_t i64(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

static double dbl(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? -1.0 : strtod(PQgetvalue(res, r, c), NULL);
}

/* One block: nr rows of `rowsize` bytes, then every value's text. */
struct pack {
	char *block, *p;
};

static int pack_begin(struct pack *pk, const PGresult *res, size_t rowsize, char *err,
		      size_t errlen)
{
	size_t nr = (size_t)PQntuples(res), total = nr * rowsize;
	for (int r = 0; r < (int)nr; r++)
		for (int c = 0; c < PQnfields(res); c++)
			total += (size_t)PQgetlength(res, r, c) + 1;
	pk->block = calloc(1, total ? total : 1);
	if (!pk->block) {
		hz_errf(err, errlen, "out of memory reading %zu rows", nr);
		return HZ_ENOMEM;
	}
	pk->p = pk->block + nr * rowsize;
	return HZ_OK;
}

static const char *str(struct pack *pk, const PGresult *res, int r, int c)
{
	const char *s = val(res, r, c);
	size_t n = strlen(s) + 1;
	char *d = pk->p;
	memcpy(d, s, n);
	pk->p += n;
	return d;
}

int hz_store_ticket_escalations(PGconn *pg, int64_t ticket_id, struct hz_store_escalation_row **rows,
				size_t *n, char *err, size_t errlen)
{
	static const char sql[] =
		STEPS("e.ticket_id = $1::int8")
		"SELECT " HZ_SQL_US("o.at") ", " HZ_SQL_US("o.due_at") ", o.tier, coalesce(o.from_tier, ''),"
		" o.level, coalesce(o.org_code, ''), coalesce(u.name, ''), o.reason, o.repeat,"
		" o.outcome, coalesce(c.called::text, '[]')"
		" FROM o LEFT JOIN hazard.org_units u ON u.code = o.org_code"
		" LEFT JOIN LATERAL (SELECT json_agg(json_build_object('person_id', p.person_id,"
		" 'name', p.name, 'phone', p.phone) ORDER BY d.role, p.person_id) AS called"
		" FROM hazard.duty_roster d JOIN hazard.people p ON p.person_id = d.person_id"
		" WHERE " ON_DUTY("o") ") c ON true ORDER BY o.at, o.repeat";
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)ticket_id);
	const char *params[] = {id};
	int rc;
	*rows = NULL;
	*n = 0;
	PGresult *res = hz_pg_query(pg, "could not read escalations", sql, 1, params, &rc, err, errlen);
	if (!res)
		return rc;
	struct pack pk;
	if ((rc = pack_begin(&pk, res, sizeof(**rows), err, errlen)) == HZ_OK) {
		struct hz_store_escalation_row *out = (void *)pk.block;
		for (int r = 0; r < PQntuples(res); r++) {
			out[r].at_us = i64(res, r, 0);
			out[r].due_us = i64(res, r, 1);
			out[r].tier = str(&pk, res, r, 2);
			out[r].from_tier = str(&pk, res, r, 3);
			out[r].level = str(&pk, res, r, 4);
			out[r].org_code = str(&pk, res, r, 5);
			out[r].org_name = str(&pk, res, r, 6);
			out[r].reason = str(&pk, res, r, 7);
			out[r].repeat = (int)i64(res, r, 8);
			out[r].outcome = str(&pk, res, r, 9);
			out[r].called_json = str(&pk, res, r, 10);
		}
		*rows = out;
		*n = (size_t)PQntuples(res);
	}
	PQclear(res);
	return rc;
}

int hz_store_ticket_event_counts(PGconn *pg, int64_t ticket_id, int64_t *total, int64_t *silenced,
				 int64_t *held, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)ticket_id);
	const char *params[] = {id};
	int rc;
	PGresult *res = hz_pg_query(
		pg, "could not count ticket events",
		"SELECT count(*), count(*) FILTER (WHERE disposition = 'silenced'),"
		" count(*) FILTER (WHERE disposition = 'held')"
		" FROM hazard.ticket_events WHERE ticket_id = $1::int8",
		1, params, &rc, err, errlen);
	if (!res)
		return rc;
	*total = i64(res, 0, 0);
	*silenced = i64(res, 0, 1);
	*held = i64(res, 0, 2);
	PQclear(res);
	return HZ_OK;
}

/* Filters shared by the stats queries: $1 since (µs), $2 town, $3 county. */
#define AREA(t) "($2::text IS NULL OR " t ".town_code = $2) AND ($3::text IS NULL OR " t ".county_code = $3)"

static const char SQL_OPEN[] =
	"SELECT coalesce(t.town_code, ''), coalesce(u.name, ''),"
	" count(*) FILTER (WHERE t.state = 'discovered'), count(*) FILTER (WHERE t.state = 'confirmed'),"
	" count(*) FILTER (WHERE t.state = 'controlled'), count(*) FILTER (WHERE t.state = 'rectifying'),"
	" count(*), count(*) FILTER (WHERE t.acked_at IS NULL),"
	" count(*) FILTER (WHERE t.overdue_at IS NOT NULL OR (t.kind <> 'warning' AND t.deadline_at < now()))"
	" FROM hazard.tickets t LEFT JOIN hazard.org_units u ON u.code = t.town_code"
	" WHERE t.state NOT IN ('closed', 'dismissed') AND t.mode = 'actual' AND $1::bigint IS NOT NULL"
	" AND " AREA("t") " GROUP BY 1, 2 ORDER BY count(*) DESC, 1";

static const char SQL_TIMES[] =
	/* time to acknowledge: to the first acknowledgement, even when a
	 * reopen cleared it since (sql/016) */
	"SELECT coalesce(t.kind, 'all'), count(*), count(f.acked_at),"
	" count(*) FILTER (WHERE t.state = 'closed'), count(*) FILTER (WHERE t.state = 'dismissed'),"
	" percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.acked_at - t.opened_at)),"
	" percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.acked_at - t.opened_at)),"
	" percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.closed_at - t.opened_at))"
	"  FILTER (WHERE t.state = 'closed'),"
	" percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.closed_at - t.opened_at))"
	"  FILTER (WHERE t.state = 'closed')"
	" FROM hazard.tickets t CROSS JOIN LATERAL"
	" (SELECT hazard.first_acked_at(t.ticket_id, t.acked_at) AS acked_at) f"
	" WHERE t.mode = 'actual' AND t.opened_at >= " SINCE("$1")
	" AND " AREA("t") " GROUP BY ROLLUP (t.kind) ORDER BY t.kind NULLS LAST";

static const char SQL_CALLS[] =
	STEPS("t.mode = 'actual' AND e.at >= " SINCE("$1") " AND " AREA("t"))
	"SELECT coalesce(o.org_code, ''), coalesce(u.name, ''), o.tier,"
	" count(*) FILTER (WHERE o.outcome <> 'void'), count(*) FILTER (WHERE o.outcome = 'answered'),"
	" count(*) FILTER (WHERE o.outcome = 'missed'), count(*) FILTER (WHERE o.outcome = 'waiting')"
	" FROM o LEFT JOIN hazard.org_units u ON u.code = o.org_code GROUP BY 1, 2, 3"
	" HAVING count(*) FILTER (WHERE o.outcome <> 'void') > 0"
	" ORDER BY 6 DESC, 4 DESC, 1, 3";

static const char SQL_FAILURES[] =
	STEPS("t.mode = 'actual' AND e.at >= " SINCE("$1") " AND " AREA("t"))
	"SELECT p.person_id, p.name, coalesce(p.phone, ''), o.org_code, o.tier, count(*),"
	" " HZ_SQL_US("max(o.at)") ","
	" array_to_string((array_agg(DISTINCT o.ticket_id ORDER BY o.ticket_id))[1:10], ',')"
	" FROM o JOIN hazard.duty_roster d ON " ON_DUTY("o")
	" JOIN hazard.people p ON p.person_id = d.person_id WHERE o.outcome = 'missed'"
	" GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 7 DESC, 1 LIMIT 100";

static PGresult *run(PGconn *pg, const char *what, const char *sql, const char *const *params,
		     int *rc, char *err, size_t errlen)
{
	return hz_pg_query(pg, what, sql, 3, params, rc, err, errlen);
}

int hz_store_stats_read(PGconn *pg, int64_t since_us, const char *town_code,
			const char *county_code, struct hz_store_stats *st, char *err,
			size_t errlen)
{
	char since[24];
	snprintf(since, sizeof(since), "%lld", (long long)since_us);
	const char *params[] = {since, town_code && *town_code ? town_code : NULL,
				county_code && *county_code ? county_code : NULL};
	PGresult *res = NULL;
	struct pack pk;
	int rc;
	memset(st, 0, sizeof(*st));
	st->since_us = since_us;
	if ((rc = hz_pg_exec(pg, "could not begin",
			     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)))
		return rc;
	res = hz_pg_query(pg, "could not read the clock", "SELECT " HZ_SQL_US("now()"), 0, NULL, &rc, err,
			  errlen);
	if (!res)
		goto fail;
	st->now_us = i64(res, 0, 0);
	PQclear(res);

	if (!(res = run(pg, "could not count open tickets", SQL_OPEN, params, &rc, err, errlen)) ||
	    (rc = pack_begin(&pk, res, sizeof(*st->open), err, errlen)))
		goto fail;
	st->open = (void *)pk.block;
	st->n_open = (size_t)PQntuples(res);
	for (int r = 0; r < PQntuples(res); r++) {
		struct hz_store_open_row *o = &st->open[r];
		o->town_code = str(&pk, res, r, 0);
		o->town_name = str(&pk, res, r, 1);
		o->discovered = i64(res, r, 2);
		o->confirmed = i64(res, r, 3);
		o->controlled = i64(res, r, 4);
		o->rectifying = i64(res, r, 5);
		o->total = i64(res, r, 6);
		o->unacked = i64(res, r, 7);
		o->overdue = i64(res, r, 8);
	}
	PQclear(res);

	if (!(res = run(pg, "could not compute ticket times", SQL_TIMES, params, &rc, err, errlen)) ||
	    (rc = pack_begin(&pk, res, sizeof(*st->times), err, errlen)))
		goto fail;
	st->times = (void *)pk.block;
	st->n_times = (size_t)PQntuples(res);
	for (int r = 0; r < PQntuples(res); r++) {
		struct hz_store_times_row *t = &st->times[r];
		t->kind = str(&pk, res, r, 0);
		t->opened = i64(res, r, 1);
		t->acked = i64(res, r, 2);
		t->closed = i64(res, r, 3);
		t->dismissed = i64(res, r, 4);
		t->ack_median_s = dbl(res, r, 5);
		t->ack_p90_s = dbl(res, r, 6);
		t->close_median_s = dbl(res, r, 7);
		t->close_p90_s = dbl(res, r, 8);
	}
	PQclear(res);

	if (!(res = run(pg, "could not read call-and-respond figures", SQL_CALLS, params, &rc, err,
			errlen)) ||
	    (rc = pack_begin(&pk, res, sizeof(*st->calls), err, errlen)))
		goto fail;
	st->calls = (void *)pk.block;
	st->n_calls = (size_t)PQntuples(res);
	for (int r = 0; r < PQntuples(res); r++) {
		struct hz_store_call_row *c = &st->calls[r];
		c->org_code = str(&pk, res, r, 0);
		c->org_name = str(&pk, res, r, 1);
		c->tier = str(&pk, res, r, 2);
		c->notices = i64(res, r, 3);
		c->answered = i64(res, r, 4);
		c->missed = i64(res, r, 5);
		c->waiting = i64(res, r, 6);
		c->rate = c->answered + c->missed
				  ? (double)c->answered / (double)(c->answered + c->missed)
				  : -1.0;
	}
	PQclear(res);

	if (!(res = run(pg, "could not read duty failures", SQL_FAILURES, params, &rc, err,
			errlen)) ||
	    (rc = pack_begin(&pk, res, sizeof(*st->failures), err, errlen)))
		goto fail;
	st->failures = (void *)pk.block;
	st->n_failures = (size_t)PQntuples(res);
	for (int r = 0; r < PQntuples(res); r++) {
		struct hz_store_failure_row *f = &st->failures[r];
		f->person_id = str(&pk, res, r, 0);
		f->name = str(&pk, res, r, 1);
		f->phone = str(&pk, res, r, 2);
		f->org_code = str(&pk, res, r, 3);
		f->tier = str(&pk, res, r, 4);
		f->missed = i64(res, r, 5);
		f->last_us = i64(res, r, 6);
		f->tickets = str(&pk, res, r, 7);
	}
	PQclear(res);
	return hz_pg_commit(pg, err, errlen);
fail:
	PQclear(res);
	hz_pg_rollback(pg);
	hz_store_stats_free(st);
	return rc ? rc : HZ_ERR;
}

void hz_store_stats_free(struct hz_store_stats *st)
{
	free(st->open);
	free(st->times);
	free(st->calls);
	free(st->failures);
	memset(st, 0, sizeof(*st));
}

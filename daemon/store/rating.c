/*
 * rating.c - one query counts every town's open tickets (O(open tickets):
 * it runs every rating.interval, not per message); the formula is the
 * rules' pure hz_rules_rate; changes are written with their outbox rows.
 */
#include "store/rating.h"
#include "store/pg.h"
#include "store/pgtext.h"
#include "codec/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char SQL_COUNTS[] =
	"SELECT " HZ_SQL_US("now()") ", o.code, "
	"count(t.ticket_id) FILTER (WHERE t.level = 'red'), "
	"count(t.ticket_id) FILTER (WHERE t.level = 'orange'), "
	"count(t.ticket_id), count(t.ticket_id) FILTER (WHERE t.overdue_at IS NOT NULL), "
	"count(t.ticket_id) FILTER (WHERE t.kind = 'alarm'), "
	"count(t.ticket_id) FILTER (WHERE t.kind = 'hazard'), coalesce(min(r.rating), '') "
	"FROM hazard.org_units o "
	"LEFT JOIN hazard.tickets t ON t.town_code = o.code AND t.mode = 'actual' "
	"AND t.state NOT IN ('closed','dismissed') "
	"LEFT JOIN hazard.town_ratings r ON r.town_code = o.code "
	"WHERE o.level = 'town' GROUP BY o.code ORDER BY o.code";

static const char SQL_RECORD[] =
	"WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], "
	"$6::int[], $7::int8[], $8::text[], $9::bytea[]) AS u(town, rating, red, orange, open, "
	"overdue, oid, mt, payload)), "
	"r AS (INSERT INTO hazard.town_ratings (town_code, rating, open_red, open_orange, "
	"open_tickets, overdue, changed_at) SELECT town, rating, red, orange, open, overdue, now() "
	"FROM u ON CONFLICT (town_code) DO UPDATE SET rating = excluded.rating, "
	"open_red = excluded.open_red, open_orange = excluded.open_orange, "
	"open_tickets = excluded.open_tickets, overdue = excluded.overdue, "
	"changed_at = excluded.changed_at) "
	"INSERT INTO hazard.outbox (id, kind, msg_key, mqtt_topic, kafka_topic, content_type, payload) "
	"SELECT u.oid, 'rating', u.town, u.mt, $10, 'application/x-protobuf', u.payload FROM u";

static int parse_rating(const char *s)
{
	return !strcmp(s, "green") ? HZ_RATING_GREEN
	       : !strcmp(s, "yellow") ? HZ_RATING_YELLOW
	       : !strcmp(s, "red") ? HZ_RATING_RED
				   : HZ_RATING_NONE;
}

int hz_rating_begin(PGconn *pg, char *err, size_t errlen)
{
	int rc = hz_pg_exec(pg, "BEGIN", "BEGIN", err, errlen);
	if (rc)
		return rc;
	/* one writer at a time across daemons; the others skip this round */
	PGresult *res = hz_pg_query(pg, "taking the rating lock",
				    "SELECT pg_try_advisory_xact_lock(7218540013)", 0, NULL, &rc,
				    err, errlen);
	if (!res) {
		hz_pg_rollback(pg);
		return rc;
	}
	bool locked = *PQgetvalue(res, 0, 0) == 't';
	PQclear(res);
	if (!locked) {
		rc = hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen);
		return rc ? rc : HZ_ENOTFOUND;
	}
	if (!PQsendQueryParams(pg, SQL_COUNTS, 0, NULL, NULL, NULL, NULL, 0)) {
		hz_errf(err, errlen, "counting open tickets by town: %s", PQerrorMessage(pg));
		hz_pg_rollback(pg);
		return hz_pg_is_transient(pg, NULL) ? HZ_ETRANSIENT : HZ_ERR;
	}
	return HZ_OK;
}

int hz_rating_ready(PGconn *pg, bool *ready, char *err, size_t errlen)
{
	if (!PQconsumeInput(pg)) {
		hz_errf(err, errlen, "counting open tickets by town: %s", PQerrorMessage(pg));
		return HZ_ETRANSIENT;
	}
	*ready = !PQisBusy(pg);
	return HZ_OK;
}

int hz_rating_update(PGconn *pg, const struct hz_rules *rules, const char *mqtt_prefix,
		     const char *kafka_topic, size_t max, struct hz_town_rating *out,
		     int64_t *outbox_ids, size_t *n_out, char *err, size_t errlen)
{
	*n_out = 0;
	int rc = hz_rating_begin(pg, err, errlen);
	if (rc == HZ_ENOTFOUND)
		return HZ_OK;
	if (rc)
		return rc;
	return hz_rating_finish(pg, rules, mqtt_prefix, kafka_topic, max, out, outbox_ids, n_out,
				err, errlen);
}

int hz_rating_finish(PGconn *pg, const struct hz_rules *rules, const char *mqtt_prefix,
		     const char *kafka_topic, size_t max, struct hz_town_rating *out,
		     int64_t *outbox_ids, size_t *n_out, char *err, size_t errlen)
{
	*n_out = 0;
	int rc = HZ_OK;
	/* blocks only when the count has not arrived (hz_rating_ready) */
	PGresult *res = PQgetResult(pg);
	for (PGresult *more; (more = PQgetResult(pg)) != NULL;)
		PQclear(more);
	if ((rc = hz_pg_check(pg, res, PGRES_TUPLES_OK, "counting open tickets by town", err,
			      errlen))) {
		PQclear(res);
		hz_pg_rollback(pg);
		return rc;
	}
	size_t n = 0;
	struct hz_town_counts *cnt = calloc(max ? max : 1, sizeof(*cnt));
	if (!cnt) {
		PQclear(res);
		hz_pg_rollback(pg);
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	for (int r = 0; r < PQntuples(res) && n < max; r++) {
		struct hz_town_counts c = {atoi(PQgetvalue(res, r, 2)), atoi(PQgetvalue(res, r, 3)),
					   atoi(PQgetvalue(res, r, 4)), atoi(PQgetvalue(res, r, 5))};
		int now_rating = (int)hz_rules_rate(rules, &c);
		int before = parse_rating(PQgetvalue(res, r, 8));
		if (now_rating == before)
			continue;
		struct hz_town_rating *tr = &out[n++];
		memset(tr, 0, sizeof(*tr));
		tr->emitted_us = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		snprintf(tr->town_code, sizeof(tr->town_code), "%s", PQgetvalue(res, r, 1));
		snprintf(tr->event_id, sizeof(tr->event_id), "rating-%s-%lld", tr->town_code,
			 (long long)tr->emitted_us);
		tr->rating = now_rating;
		tr->previous = before;
		tr->open_alarms = atoi(PQgetvalue(res, r, 6));
		tr->open_hazards = atoi(PQgetvalue(res, r, 7));
		tr->overdue = c.overdue;
		cnt[n - 1] = c;
	}
	if (n == 0) {
		free(cnt);
		PQclear(res);
		return hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen);
	}
	struct hz_buf a[9], payload = HZ_BUF_INIT;
	hz_pgarr_begin_all(a, 9);
	if ((rc = hz_store_draw_ids(pg, "hazard.outbox_id_seq", n, outbox_ids, err, errlen)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct hz_town_rating *tr = &out[i];
		hz_buf_clear(&payload);
		if (hz_codec_encode_rating(tr, HZ_CT_PROTOBUF, &payload)) {
			hz_errf(err, errlen, "could not encode the rating of %s", tr->town_code);
			rc = HZ_ERR;
			goto fail;
		}
		char topic[256];
		snprintf(topic, sizeof(topic), "%s/out/ratings/%s", mqtt_prefix, tr->town_code);
		hz_pgarr_text(&a[0], tr->town_code);
		hz_pgarr_text(&a[1], hz_rating_name((enum hz_rating)tr->rating));
		hz_pgarr_int(&a[2], cnt[i].open_red);
		hz_pgarr_int(&a[3], cnt[i].open_orange);
		hz_pgarr_int(&a[4], cnt[i].open);
		hz_pgarr_int(&a[5], tr->overdue);
		hz_pgarr_int(&a[6], outbox_ids[i]);
		hz_pgarr_text(&a[7], topic);
		hz_pgarr_bytea(&a[8], payload.data, payload.len);
	}
	const char *extra[] = {kafka_topic};
	rc = hz_store_write_commit(pg, "recording town ratings", SQL_RECORD, a, 9, extra, 1, err,
				   errlen);
	if (!rc)
		*n_out = n;
	goto out;
fail:
	hz_pg_rollback(pg);
out:
	free(cnt);
	PQclear(res);
	hz_pgarr_free_all(a, 9);
	hz_buf_free(&payload);
	return rc;
}

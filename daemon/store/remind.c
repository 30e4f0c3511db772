/*
 * remind.c - claim due close-out reminders and fire them. One transaction
 * per scan: the claim, an id draw and one set-based write, whatever the
 * number fired (at most `max`). Deliberately not here: publishing (the
 * engine does it from the returned events, after the commit) and the
 * schedule (rules.c, pure).
 */
#include "store/remind.h"
#include "store/pg.h"
#include "store/pgtext.h"
#include "codec/codec.h"
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* One index range scan over the due rows (tickets_reminder_due_idx). */
static const char SQL_DUE[] =
	"SELECT " HZ_SQL_US("now()") ", " HZ_SQL_TICKET("t.") ", "
	"(SELECT coalesce(max(h.seq),0) FROM hazard.ticket_history h WHERE h.ticket_id = t.ticket_id), "
	"coalesce(t.reminder_before_us, 0) "
	"FROM hazard.tickets t WHERE t.reminder_due_at <= now() "
	"AND t.state NOT IN ('closed','dismissed') AND " HZ_TIMER_MINE("t.reminder_due_at") " "
	"ORDER BY t.reminder_due_at LIMIT $1::int FOR UPDATE SKIP LOCKED";

/* The check-and-set on reminder_before_us moves the ticket to its next
 * reminder (or none); only then, and only if (ticket, reminder) is new,
 * are the reminder, the history row and the outbox row written. The
 * outbox ids returned are the reminders to publish: nothing else is. */
static const char SQL_FIRE[] =
	"WITH u AS (SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], "
	"$5::bool[], $6::int8[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], "
	"$12::int8[], $13::text[], $14::text[], $15::bytea[]) AS u(id, claimed, next_due, "
	"next_before, fire, before, seq, state, level, tier, reason, oid, mt, kt, payload)), "
	"t AS (UPDATE hazard.tickets t SET reminder_due_at = " HZ_SQL_TS("u.next_due") ", "
	"reminder_before_us = u.next_before FROM u WHERE t.ticket_id = u.id "
	"AND t.reminder_before_us = u.claimed AND t.state NOT IN ('closed','dismissed') "
	"RETURNING t.ticket_id, t.deadline_at), "
	"r AS (INSERT INTO hazard.closeout_reminders (ticket_id, before_us, due_at, at, deadline_at) "
	"SELECT u.id, u.before, t.deadline_at - u.before * interval '1 microsecond', now(), "
	"t.deadline_at FROM u JOIN t ON t.ticket_id = u.id WHERE u.fire "
	"ON CONFLICT DO NOTHING RETURNING ticket_id), "
	"h AS (INSERT INTO hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, "
	"tier, actor, reason) SELECT u.id, u.seq, now(), u.state, u.state, u.level, u.tier, "
	"'hazardd', u.reason FROM u JOIN r ON r.ticket_id = u.id) "
	"INSERT INTO hazard.outbox (id, kind, msg_key, mqtt_topic, kafka_topic, content_type, payload) "
	"SELECT u.oid, 'ticket', u.id::text, u.mt, u.kt, 'application/x-protobuf', u.payload "
	"FROM u JOIN r ON r.ticket_id = u.id RETURNING id";

#define N_ARR 15

int hz_remind_fire(PGconn *pg, const struct hz_rules *rules,
		   const struct hz_escalate_topics *topics, const struct hz_timer_owner *own,
		   size_t max, struct hz_reminder *out, int64_t *outbox_ids, size_t *n_out,
		   size_t *claimed, char *err, size_t errlen)
{
	*n_out = *claimed = 0;
	int rc;
	PGresult *res = hz_store_claim(pg, "claiming due close-out reminders", SQL_DUE, max, own,
				       &rc, err, errlen);
	if (!res)
		return rc;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen);
	}
	struct hz_buf a[N_ARR], payload = HZ_BUF_INIT;
	hz_pgarr_begin_all(a, N_ARR);
	int64_t *ids = calloc((size_t)n, sizeof(*ids));
	if (!ids) {
		rc = HZ_ENOMEM;
		hz_errf(err, errlen, "out of memory claiming reminders");
		goto fail;
	}
	/* ids for every row claimed (a cleared one leaves a gap: harmless) */
	if ((rc = hz_store_draw_ids(pg, "hazard.outbox_id_seq", (size_t)n, ids, err, errlen)))
		goto fail;
	size_t k = 0;
	for (int r = 0; r < n; r++) {
		int64_t now_us = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		struct hz_reminder *rm = &out[k];
		memset(rm, 0, sizeof(*rm));
		struct hz_ticket *tk = &rm->te.tk;
		hz_store_ticket_read(res, r, 1, tk);
		int seq = atoi(PQgetvalue(res, r, 1 + HZ_TICKET_NCOLS)) + 1;
		int64_t claimed_before = strtoll(PQgetvalue(res, r, 2 + HZ_TICKET_NCOLS), NULL, 10);

		/* which one fires (after downtime, only the latest due), and
		 * the next one still ahead, by the database's clock */
		int64_t before = hz_reminder_due(rules->reminder_us, rules->n_reminder,
						 tk->deadline_us, claimed_before, now_us);
		int64_t next_before = 0;
		int64_t next_due = before ? hz_reminder_next(rules->reminder_us, rules->n_reminder,
							     tk->deadline_us, before, now_us,
							     &next_before)
					  : 0;
		bool fire = before > 0;
		int64_t oid = ids[r];
		hz_buf_clear(&payload);
		if (fire) {
			char left[32], at[HZ_TIME_BUFLEN];
			snprintf(rm->reason, sizeof(rm->reason), "close-out deadline in %s (at %s)",
				 hz_duration_format(before, left, sizeof(left)),
				 hz_time_format(tk->deadline_us, at));
			rm->before_us = before;
			struct hz_ticket_event *te = &rm->te;
			snprintf(te->event_id, sizeof(te->event_id), "te-%lld", (long long)oid);
			te->emitted_us = now_us;
			te->from_state = tk->state;
			te->change = "reminder";
			te->actor = "hazardd";
			te->reason = rm->reason;
			te->cause_event_id = "";
			if (hz_codec_encode_ticket_event(te, HZ_CT_PROTOBUF, &payload)) {
				hz_errf(err, errlen, "could not encode the reminder of ticket %lld",
					(long long)tk->ticket_id);
				rc = HZ_ERR;
				goto fail;
			}
			outbox_ids[k++] = oid;
		}
		char topic[256];
		snprintf(topic, sizeof(topic), "%s/out/tickets/%s", topics->mqtt_prefix,
			 *tk->town_code ? tk->town_code : "unknown");
		hz_pgarr_int(&a[0], tk->ticket_id);
		hz_pgarr_int(&a[1], claimed_before);
		hz_pgarr_time(&a[2], next_due);
		if (next_due)
			hz_pgarr_int(&a[3], next_before);
		else
			hz_pgarr_text(&a[3], NULL);
		hz_pgarr_text(&a[4], fire ? "true" : "false");
		hz_pgarr_int(&a[5], before);
		hz_pgarr_int(&a[6], seq);
		hz_pgarr_text(&a[7], hz_state_name(tk->state));
		hz_pgarr_text(&a[8], hz_level_name(tk->level));
		hz_pgarr_text(&a[9], hz_tier_name(tk->tier));
		hz_pgarr_text(&a[10], out[fire ? k - 1 : k].reason);
		hz_pgarr_int(&a[11], oid);
		hz_pgarr_text(&a[12], topic);
		hz_pgarr_text(&a[13], topics->kafka_tickets);
		hz_pgarr_bytea(&a[14], payload.data, payload.len);
	}
	{
		const char *p[N_ARR];
		for (int i = 0; i < N_ARR; i++)
			p[i] = hz_pgarr_end(&a[i]);
		PGresult *w = hz_pg_query(pg, "recording close-out reminders", SQL_FIRE, N_ARR, p, &rc,
					  err, errlen);
		if (!w)
			goto fail;
		/* keep the reminders whose outbox row went in, in order */
		size_t kept = 0;
		for (size_t i = 0; i < k; i++) {
			bool in = false;
			for (int j = 0; j < PQntuples(w) && !in; j++)
				in = strtoll(PQgetvalue(w, j, 0), NULL, 10) == outbox_ids[i];
			if (!in)
				continue;
			if (kept != i) {
				out[kept] = out[i];
				out[kept].te.reason = out[kept].reason;
				outbox_ids[kept] = outbox_ids[i];
			}
			kept++;
		}
		PQclear(w);
		if ((rc = hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen)))
			goto fail;
		*n_out = kept;
		*claimed = (size_t)n;
	}
	goto out;
fail:
	hz_pg_rollback(pg);
out:
	free(ids);
	PQclear(res);
	hz_pgarr_free_all(a, N_ARR);
	hz_buf_free(&payload);
	return rc;
}

/*
 * escalate.c - claim due escalation timers and fire them; when the next
 * timer is due (acknowledgements are commands: store/command.c). One
 * transaction per scan: a few set-based statements, whatever the number of
 * tickets fired (at most `max`). Close-out reminders are remind.c's; which
 * instance fires what is pgtext.h's HZ_TIMER_MINE.
 */
#include "store/escalate.h"
#include "store/pg.h"
#include "store/pgtext.h"
#include "codec/codec.h"
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Due: an acknowledgement deadline passed unanswered, or a close-out
 * deadline passed on an open ticket not yet marked overdue, and ours to
 * fire (HZ_TIMER_MINE: owned, unowned, or past the take-over grace). Two
 * index range scans (ack_due_at, deadline_at) over the due rows only,
 * then the rows are fetched by primary key and locked. The due ids are an
 * array (= ANY (ARRAY(...))), not an IN (subquery): the planner's guess
 * of how many are due grows with the time since the last ANALYZE (the
 * deadlines move on as they fire), and past ~10,000 it joined the ids to
 * a sequential scan of every ticket, 0.3-0.8 s at a million (measured,
 * make bench's G6). */
static const char SQL_DUE[] =
	"SELECT " HZ_SQL_US("now()") ", " HZ_SQL_TICKET("t.") ", "
	"(SELECT coalesce(max(h.seq),0) FROM hazard.ticket_history h WHERE h.ticket_id = t.ticket_id), "
	"(t.deadline_at <= now() AND t.overdue_at IS NULL AND t.kind <> 'warning'), "
	"(t.ack_due_at <= now() AND t.acked_at IS NULL) "
	"FROM hazard.tickets t WHERE t.ticket_id = ANY (ARRAY("
	"SELECT ticket_id FROM hazard.tickets t WHERE ack_due_at <= now() AND acked_at IS NULL "
	"AND " HZ_TIMER_MINE("t.ack_due_at") " "
	"UNION SELECT ticket_id FROM hazard.tickets t WHERE deadline_at <= now() AND overdue_at IS NULL "
	"AND state NOT IN ('closed', 'dismissed') AND kind <> 'warning' "
	"AND " HZ_TIMER_MINE("t.deadline_at") ")) "
	"AND t.state NOT IN ('closed','dismissed') "
	"ORDER BY least(t.ack_due_at, t.deadline_at) LIMIT $1::int FOR UPDATE SKIP LOCKED";

/* The check-and-set: only a ticket still unacknowledged moves. */
static const char SQL_STEP[] =
	"WITH u AS (SELECT * FROM unnest($1::int8[], $2::text[], $3::int[], $4::int8[], $5::int[], "
	"$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int8[], $12::text[], "
	"$13::text[], $14::bytea[], $15::bool[], $16::int8[], $17::text[], $18::bytea[]) "
	"AS u(id, tier, rep, due, seq, from_tier, level, state, org, reason, oid, mt, kt, payload, "
	"overdue, toid, tmt, tpayload)), "
	"t AS (UPDATE hazard.tickets t SET tier = u.tier, escalation_repeat = u.rep, "
	"ack_due_at = CASE WHEN t.acked_at IS NULL THEN " HZ_SQL_TS("u.due") " END, "
	"overdue_at = CASE WHEN u.overdue THEN now() ELSE t.overdue_at END, updated_at = now() "
	"FROM u WHERE t.ticket_id = u.id AND (t.acked_at IS NULL OR u.overdue) "
	"RETURNING t.ticket_id, t.mode, t.reopened_count), "
	/* round: the ticket's life since its last reopen (sql/016) */
	"e AS (INSERT INTO hazard.escalations (ticket_id, tier, repeat, at, from_tier, level, "
	"org_code, due_at, reason, mode, round) SELECT u.id, u.tier, u.rep, now(), u.from_tier, u.level, "
	"nullif(u.org,''), " HZ_SQL_TS("u.due") ", u.reason, t.mode, t.reopened_count "
	"FROM u JOIN t ON t.ticket_id = u.id), "
	"h AS (INSERT INTO hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, "
	"tier, actor, reason, mode) SELECT u.id, u.seq, now(), u.state, u.state, u.level, u.tier, "
	"'hazardd', u.reason, t.mode FROM u JOIN t ON t.ticket_id = u.id) "
	"INSERT INTO hazard.outbox (id, kind, msg_key, mqtt_topic, kafka_topic, content_type, payload) "
	"SELECT u.oid, 'escalation', u.id::text, u.mt, u.kt, 'application/x-protobuf', u.payload "
	"FROM u JOIN t ON t.ticket_id = u.id UNION ALL "
	"SELECT u.toid, 'ticket', u.id::text, u.tmt, $19, 'application/x-protobuf', u.tpayload "
	"FROM u JOIN t ON t.ticket_id = u.id";

#define N_STEP 18 /* SQL_STEP's arrays */

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static const struct hz_org_unit *org_for(const struct hz_registry *reg, const struct hz_ticket *tk,
					 enum hz_tier tier, int64_t now_us,
					 struct hz_escalation *esc)
{
	const struct hz_site *site = *tk->site_id ? hz_registry_site(reg, tk->site_id) : NULL;
	const struct hz_org_unit *org = NULL;
	if (site) {
		const struct hz_person *who[HZ_DUTY_MAX];
		size_t n = hz_registry_duty_for_site(reg, site, (int)tier, now_us, who, HZ_DUTY_MAX,
						     &org);
		for (size_t i = 0; i < n; i++) {
			copy(esc->duty[i].person_id, sizeof(esc->duty[i].person_id), who[i]->person_id);
			copy(esc->duty[i].name, sizeof(esc->duty[i].name), who[i]->name);
			copy(esc->duty[i].phone, sizeof(esc->duty[i].phone), who[i]->phone);
		}
		esc->n_duty = n;
		if (!org)
			org = tier == HZ_TIER_TOWN ? site->town
			      : tier == HZ_TIER_COUNTY ? site->county
			      : tier == HZ_TIER_CITY ? site->city : site->org;
		return org;
	}
	/* No site (an area warning): walk up from the area to the tier's level. */
	static const int level_of_tier[] = {0, HZ_ORG_VILLAGE, HZ_ORG_TOWN, HZ_ORG_COUNTY, HZ_ORG_CITY};
	org = hz_registry_org(reg, tk->town_code);
	while (org && org->parent && org->level > level_of_tier[tier])
		org = org->parent;
	if (org) {
		size_t n;
		const struct hz_person *const *who = hz_registry_duty(reg, org->code, (int)tier, &n);
		for (size_t i = 0; i < n && i < HZ_DUTY_MAX; i++) {
			copy(esc->duty[i].person_id, sizeof(esc->duty[i].person_id), who[i]->person_id);
			copy(esc->duty[i].name, sizeof(esc->duty[i].name), who[i]->name);
			copy(esc->duty[i].phone, sizeof(esc->duty[i].phone), who[i]->phone);
			esc->n_duty++;
		}
	}
	return org;
}

/* When to scan next, for each kind of timer from its partial index: the
 * first deadline still ahead, and the take-over time (deadline + grace) of
 * the first one passed within the grace, which another instance owns and
 * has not fired yet. Both are index range scans that stop at one row, so
 * the cost does not grow with the number of open timers. Timers passed
 * longer ago are not waited for: the scan takes them (or they are locked
 * by whoever fires them), and the 200 ms scan catches the rest. Waking
 * early costs one empty scan; an owned timer is never waited past. */
#define G "$1::int8 * interval '1 microsecond'"
#define NEXT_OF(col, pred)                                                              \
	"(SELECT min(" col ") FROM hazard.tickets WHERE " pred " AND " col " > now()), "   \
	"(SELECT min(" col ") + " G " FROM hazard.tickets WHERE " pred " AND " col           \
	" > now() - " G " AND " col " <= now())"
static const char SQL_NEXT[] =
	"SELECT " HZ_SQL_US("least("
		NEXT_OF("ack_due_at", "acked_at IS NULL AND ack_due_at IS NOT NULL") ", "
		NEXT_OF("deadline_at", "overdue_at IS NULL AND deadline_at IS NOT NULL "
			"AND state NOT IN ('closed', 'dismissed')") ", "
		NEXT_OF("reminder_due_at", "reminder_due_at IS NOT NULL "
			"AND state NOT IN ('closed', 'dismissed')") ") - now()");
#undef NEXT_OF
#undef G

static int next_due(PGconn *pg, int64_t grace_us, int64_t *next_in_us, char *err, size_t errlen)
{
	int rc;
	char grace[24];
	snprintf(grace, sizeof(grace), "%lld", (long long)grace_us);
	const char *p[] = {grace};
	PGresult *res = hz_pg_query(pg, "reading the next deadline", SQL_NEXT, 1, p, &rc, err,
				    errlen);
	if (!res)
		return rc;
	/* NULL: no deadline set; 0 or less: a take-over is due now */
	bool none = PQgetisnull(res, 0, 0);
	int64_t v = none ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	*next_in_us = none ? INT64_MAX : (v < 0 ? 0 : v);
	return HZ_OK;
}

/* The suggestion for a fire alarm, copied into the notice (which must
 * hold no pointers: it goes through the outbox as bytes). O(units near the
 * site) per notice. */
static void suggest(const struct hz_registry *reg, const struct hz_dispatch_params *dp,
		    const struct hz_site *site, struct hz_escalation *esc)
{
	if (!dp || !site || !hz_dispatch_applies(dp, esc->tk.hazard_type))
		return;
	struct hz_dispatch d;
	hz_dispatch_for_site(reg, dp, site, &d);
	if (!d.located)
		return;
	struct hz_esc_dispatch *out = &esc->dispatch;
	out->present = true;
	copy(out->area, sizeof(out->area), hz_area_name(d.area));
	out->inside_circle = d.inside_circle;
	for (size_t i = 0; i < d.n && out->n_units < HZ_DISPATCH_MAX; i++) {
		const struct hz_dispatch_pick *pk = &d.pick[i];
		struct hz_esc_unit *u = &out->units[out->n_units++];
		copy(u->unit_id, sizeof(u->unit_id), pk->unit->unit_id);
		copy(u->name, sizeof(u->name), pk->unit->name);
		copy(u->kind, sizeof(u->kind), hz_unit_kind_name(pk->unit->kind));
		copy(u->org_code, sizeof(u->org_code), pk->unit->org ? pk->unit->org->code : "");
		copy(u->phone, sizeof(u->phone), pk->unit->phone);
		u->lat = pk->unit->lat;
		u->lon = pk->unit->lon;
		u->distance_m = (int64_t)(pk->distance_m + 0.5);
		u->minutes = pk->minutes;
		u->circle_minutes = pk->circle_min;
		u->inside = pk->inside;
	}
}

/* The ticket's side of a step, for the tickets topic: dashboards that
 * read only that topic see the tier, the new call and the overdue mark. */
static void step_event(struct hz_escalate_fired *f, bool overdue_only)
{
	struct hz_ticket_event *te = &f->te;
	memset(te, 0, sizeof(*te));
	snprintf(te->event_id, sizeof(te->event_id), "te-%lld", (long long)f->te_id);
	te->emitted_us = f->esc.emitted_us;
	te->tk = f->esc.tk;
	te->from_state = f->esc.tk.state;
	te->change = overdue_only ? "overdue" : "escalated";
	te->actor = "hazardd";
	te->reason = f->esc.reason;
	te->cause_event_id = f->esc.event_id;
}

static int fire(PGconn *pg, const struct hz_rules *rules, const struct hz_registry *reg,
		const struct hz_dispatch_params *dp, const struct hz_escalate_topics *topics,
		const struct hz_timer_owner *own, size_t max, struct hz_escalate_fired *out,
		size_t *n_out, char *err, size_t errlen)
{
	*n_out = 0;
	int rc;
	PGresult *res = hz_store_claim(pg, "claiming due escalation timers", SQL_DUE,
				       HZ_MIN(max, (size_t)HZ_ESCALATE_MAX), own, &rc,
				       err, errlen);
	if (!res)
		return rc;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen);
	}
	struct hz_buf a[N_STEP], payload = HZ_BUF_INIT;
	hz_pgarr_begin_all(a, N_STEP);
	/* outbox ids first: the payloads carry them (two a step) */
	int64_t ids[2 * HZ_ESCALATE_MAX];
	if ((rc = hz_store_draw_ids(pg, "hazard.outbox_id_seq", 2 * (size_t)n, ids, err, errlen)))
		goto fail;
	for (int r = 0; r < n; r++) {
		struct hz_escalate_fired *f = &out[r];
		struct hz_escalation *esc = &f->esc;
		memset(esc, 0, sizeof(*esc));
		f->esc_id = ids[2 * r];
		f->te_id = ids[2 * r + 1];
		int64_t now_us = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		struct hz_ticket *tk = &esc->tk;
		hz_store_ticket_read(res, r, 1, tk);
		int seq = atoi(PQgetvalue(res, r, 1 + HZ_TICKET_NCOLS)) + 1;
		bool overdue = *PQgetvalue(res, r, 2 + HZ_TICKET_NCOLS) == 't';
		bool ack_due = *PQgetvalue(res, r, 3 + HZ_TICKET_NCOLS) == 't';
		bool acked = tk->acked_us != 0;
		int repeat = tk->escalation_repeat;
		const struct hz_site *site = *tk->site_id ? hz_registry_site(reg, tk->site_id) : NULL;
		int risk = site ? site->risk : 0;

		struct hz_escalation_step st;
		hz_escalate_next(rules, tk->level, tk->tier, repeat, risk, now_us, &st);
		esc->from_tier = st.from_tier;
		esc->to_tier = st.to_tier;
		esc->repeat = st.repeat;
		/* an acknowledged ticket keeps no acknowledgement clock */
		if (acked)
			st.next_due_us = 0;
		esc->ack_deadline_us = st.next_due_us;
		esc->emitted_us = now_us;
		/* the row as SQL_STEP leaves it */
		tk->tier = st.to_tier;
		tk->escalation_repeat = st.repeat;
		tk->ack_due_us = st.next_due_us;
		if (overdue)
			tk->overdue_us = now_us;
		tk->updated_us = now_us;
		snprintf(esc->event_id, sizeof(esc->event_id), "esc-%lld-%s-%d",
			 (long long)tk->ticket_id, hz_tier_name(st.to_tier), st.repeat);
		const struct hz_org_unit *org = org_for(reg, tk, st.to_tier, now_us, esc);
		if (org)
			copy(esc->org_unit, sizeof(esc->org_unit), org->code);
		if (tk->kind == HZ_KIND_ALARM)
			suggest(reg, dp, site, esc);
		if (overdue && !ack_due)
			snprintf(esc->reason, sizeof(esc->reason),
				 "close-out deadline passed: overdue, escalated to %s",
				 hz_tier_name(st.to_tier));
		else if (st.repeat)
			snprintf(esc->reason, sizeof(esc->reason),
				 "not acknowledged at tier %s: notice repeated (%d)",
				 hz_tier_name(st.to_tier), st.repeat);
		else
			snprintf(esc->reason, sizeof(esc->reason),
				 "not acknowledged at tier %s in time: escalated to %s",
				 hz_tier_name(st.from_tier), hz_tier_name(st.to_tier));
		int64_t oid = f->esc_id;
		hz_buf_clear(&payload);
		if (hz_codec_encode_escalation(esc, HZ_CT_PROTOBUF, &payload)) {
			hz_errf(err, errlen, "could not encode the escalation of ticket %lld",
				(long long)tk->ticket_id);
			rc = HZ_ERR;
			goto fail;
		}
		char topic[256];
		snprintf(topic, sizeof(topic), "%s/out/escalations/%s", topics->mqtt_prefix,
			 *esc->org_unit ? esc->org_unit : "unknown");
		hz_pgarr_int(&a[0], tk->ticket_id);
		hz_pgarr_text(&a[1], hz_tier_name(st.to_tier));
		hz_pgarr_int(&a[2], st.repeat);
		hz_pgarr_time(&a[3], st.next_due_us);
		hz_pgarr_int(&a[4], seq);
		hz_pgarr_text(&a[5], hz_tier_name(st.from_tier));
		hz_pgarr_text(&a[6], hz_level_name(tk->level));
		hz_pgarr_text(&a[7], hz_state_name(tk->state));
		hz_pgarr_text(&a[8], esc->org_unit);
		hz_pgarr_text(&a[9], esc->reason);
		hz_pgarr_int(&a[10], oid);
		hz_pgarr_text(&a[11], topic);
		hz_pgarr_text(&a[12], topics->kafka_escalations);
		hz_pgarr_bytea(&a[13], payload.data, payload.len);
		hz_pgarr_text(&a[14], overdue ? "true" : "false");
		step_event(f, overdue && !ack_due);
		hz_buf_clear(&payload);
		if (hz_codec_encode_ticket_event(&f->te, HZ_CT_PROTOBUF, &payload)) {
			hz_errf(err, errlen, "could not encode the escalation of ticket %lld",
				(long long)tk->ticket_id);
			rc = HZ_ERR;
			goto fail;
		}
		snprintf(topic, sizeof(topic), "%s/out/tickets/%s", topics->mqtt_prefix,
			 *tk->town_code ? tk->town_code : "unknown");
		hz_pgarr_int(&a[15], f->te_id);
		hz_pgarr_text(&a[16], topic);
		hz_pgarr_bytea(&a[17], payload.data, payload.len);
	}
	const char *kt[] = {topics->kafka_tickets};
	rc = hz_store_write_commit(pg, "recording escalations", SQL_STEP, a, N_STEP, kt, 1, err,
				   errlen);
	if (rc == HZ_OK)
		*n_out = (size_t)n;
	goto out;
fail:
	hz_pg_rollback(pg);
out:
	PQclear(res);
	hz_pgarr_free_all(a, N_STEP);
	hz_buf_free(&payload);
	return rc;
}

int hz_escalate_fire(PGconn *pg, const struct hz_rules *rules, const struct hz_registry *reg,
		     const struct hz_dispatch_params *dp, const struct hz_escalate_topics *topics,
		     const struct hz_timer_owner *own, size_t max, struct hz_escalate_fired *out,
		     size_t *n, char *err, size_t errlen)
{
	return fire(pg, rules, reg, dp, topics, own, max, out, n, err, errlen);
}

int hz_timers_next(PGconn *pg, const struct hz_timer_owner *own, int64_t *next_in_us, char *err,
		   size_t errlen)
{
	*next_in_us = INT64_MAX;
	return next_due(pg, own->grace_us, next_in_us, err, errlen);
}

static const char SQL_EXPIRED[] =
	"SELECT " HZ_SQL_US("now()") ", " HZ_SQL_TICKET("t.") ", "
	"(SELECT coalesce(max(h.seq),0) FROM hazard.ticket_history h WHERE h.ticket_id = t.ticket_id) "
	"FROM hazard.tickets t WHERE t.kind = 'warning' AND t.deadline_at <= now() "
	"AND t.overdue_at IS NULL AND t.state NOT IN ('closed','dismissed') "
	"AND " HZ_TIMER_MINE("t.deadline_at") " "
	"ORDER BY t.deadline_at LIMIT $1::int FOR UPDATE SKIP LOCKED";

static const char SQL_CLOSE_EXPIRED[] =
	"WITH u AS (SELECT * FROM unnest($1::int8[], $2::int[], $3::text[], $4::int8[], $5::text[], "
	"$6::text[], $7::text[], $8::text[], $9::bytea[]) AS u(id, seq, from_state, oid, level, "
	"tier, mt, kt, payload)), "
	"t AS (UPDATE hazard.tickets t SET state = 'closed', closed_at = now(), ack_due_at = NULL, "
	"updated_at = now() FROM u WHERE t.ticket_id = u.id RETURNING t.ticket_id, t.mode), "
	"h AS (INSERT INTO hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, "
	"tier, actor, reason, mode) SELECT u.id, u.seq, now(), u.from_state, 'closed', u.level, "
	"u.tier, 'hazardd', 'warning expired', t.mode FROM u JOIN t ON t.ticket_id = u.id) "
	"INSERT INTO hazard.outbox (id, kind, msg_key, mqtt_topic, kafka_topic, content_type, payload) "
	"SELECT u.oid, 'ticket', u.id::text, u.mt, u.kt, 'application/x-protobuf', u.payload "
	"FROM u JOIN t ON t.ticket_id = u.id";

int hz_expire_warnings(PGconn *pg, const struct hz_escalate_topics *topics,
		       const struct hz_timer_owner *own, size_t max, struct hz_ticket_event *te,
		       int64_t *outbox_ids, size_t *n_out, char *err, size_t errlen)
{
	*n_out = 0;
	int rc;
	PGresult *res = hz_store_claim(pg, "claiming expired warnings", SQL_EXPIRED, max, own, &rc,
				       err, errlen);
	if (!res)
		return rc;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen);
	}
	struct hz_buf a[9], payload = HZ_BUF_INIT;
	hz_pgarr_begin_all(a, 9);
	if ((rc = hz_store_draw_ids(pg, "hazard.outbox_id_seq", (size_t)n, outbox_ids, err,
				    errlen)))
		goto fail;
	for (int r = 0; r < n; r++) {
		struct hz_ticket_event *e = &te[r];
		memset(e, 0, sizeof(*e));
		struct hz_ticket *tk = &e->tk;
		int64_t now_us = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		hz_store_ticket_read(res, r, 1, tk);
		int seq = atoi(PQgetvalue(res, r, 1 + HZ_TICKET_NCOLS)) + 1;
		e->from_state = tk->state;
		tk->state = HZ_STATE_CLOSED;
		tk->closed_us = tk->updated_us = now_us;
		tk->ack_due_us = 0;
		int64_t oid = outbox_ids[r];
		snprintf(e->event_id, sizeof(e->event_id), "te-%lld", (long long)oid);
		e->emitted_us = now_us;
		e->change = "closed";
		e->actor = "hazardd";
		e->reason = "warning expired";
		e->cause_event_id = "";
		hz_buf_clear(&payload);
		if (hz_codec_encode_ticket_event(e, HZ_CT_PROTOBUF, &payload)) {
			hz_errf(err, errlen, "could not encode the closing of ticket %lld",
				(long long)tk->ticket_id);
			rc = HZ_ERR;
			goto fail;
		}
		char topic[256];
		snprintf(topic, sizeof(topic), "%s/out/tickets/%s", topics->mqtt_prefix,
			 *tk->town_code ? tk->town_code : "unknown");
		hz_pgarr_int(&a[0], tk->ticket_id);
		hz_pgarr_int(&a[1], seq);
		hz_pgarr_text(&a[2], hz_state_name(e->from_state));
		hz_pgarr_int(&a[3], oid);
		hz_pgarr_text(&a[4], hz_level_name(tk->level));
		hz_pgarr_text(&a[5], hz_tier_name(tk->tier));
		hz_pgarr_text(&a[6], topic);
		hz_pgarr_text(&a[7], topics->kafka_tickets);
		hz_pgarr_bytea(&a[8], payload.data, payload.len);
	}
	rc = hz_store_write_commit(pg, "closing expired warnings", SQL_CLOSE_EXPIRED, a, 9, NULL, 0,
				   err, errlen);
	if (!rc)
		*n_out = (size_t)n;
	goto out;
fail:
	hz_pg_rollback(pg);
out:
	PQclear(res);
	hz_pgarr_free_all(a, 9);
	hz_buf_free(&payload);
	return rc;
}

/*
 * outputs.c - everything that leaves the daemon after a commit: ticket
 * changes, escalation notices and dead letters to Kafka, MQTT and the
 * escalation log; delivery tracking of outbox rows (deleted once every
 * sink confirmed, re-sent to the sinks that did not); the outbox replay at
 * start; the claim of rows hazardctl wrote (commands applied there reach
 * the topics and the log through a running daemon); and the timer scan
 * (warning expiry, close-out reminders, escalation steps) for the timers
 * this instance owns. Publishing never blocks: sinks confirm through their
 * polls.
 */
#include "core/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- outputs ---- */

int hz_engine_pend_add(struct hz_engine *e, int64_t id, unsigned sinks)
{
	if (!sinks)
		return HZ_OK;
	if (e->n_pend == e->cap_pend) {
		size_t nc = e->cap_pend ? e->cap_pend * 2 : 1024;
		struct pending *np = realloc(e->pend, nc * sizeof(*np));
		if (!np)
			return HZ_ENOMEM;
		e->pend = np;
		e->cap_pend = nc;
	}
	e->pend[e->n_pend++] = (struct pending){id, sinks, hz_mono_us()};
	return HZ_OK;
}

/* Outbox ids only grow, and entries are appended in id order, so the
 * array stays sorted: binary search. */
static struct pending *pend_find(struct hz_engine *e, int64_t id)
{
	size_t lo = 0, hi = e->n_pend;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->pend[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->n_pend && e->pend[lo].id == id ? &e->pend[lo] : NULL;
}

static void done_add(struct hz_engine *e, int64_t id)
{
	if (e->n_done == e->cap_done) {
		size_t nc = e->cap_done ? e->cap_done * 2 : 1024;
		int64_t *nd = realloc(e->done, nc * sizeof(*nd));
		if (!nd)
			return; /* the row stays and is re-sent later: harmless */
		e->done = nd;
		e->cap_done = nc;
	}
	if (!e->n_done)
		e->done_since = hz_mono_us();
	e->done[e->n_done++] = id;
}

static void pend_done(struct hz_engine *e, int64_t id, unsigned sink)
{
	struct pending *p = pend_find(e, id);
	if (!p || !(p->sinks & sink))
		return;
	p->sinks &= ~sink;
	if (p->sinks)
		return;
	done_add(e, id);
}

static int by_id(const void *a, const void *b)
{
	int64_t x = ((const struct pending *)a)->id, y = ((const struct pending *)b)->id;
	return x < y ? -1 : x > y;
}

void hz_engine_pend_sort(struct hz_engine *e)
{
	for (size_t i = 1; i < e->n_pend; i++)
		if (e->pend[i - 1].id > e->pend[i].id) {
			qsort(e->pend, e->n_pend, sizeof(*e->pend), by_id);
			return;
		}
}

static void pend_compact(struct hz_engine *e)
{
	size_t w = 0;
	for (size_t r = 0; r < e->n_pend; r++)
		if (e->pend[r].sinks)
			e->pend[w++] = e->pend[r];
	e->n_pend = w;
}

static const char *kafka_ct(const struct hz_engine *e)
{
	return strcmp(e->cfg->kafka_out_format, "json") ? "application/x-protobuf"
							: "application/json";
}

static const char *mqtt_ct(const struct hz_engine *e)
{
	return strcmp(e->cfg->mqtt_out_format, "json") ? "application/x-protobuf"
						       : "application/json";
}

static enum hz_content_type ct_of(const char *mime)
{
	return strcmp(mime, "application/json") ? HZ_CT_PROTOBUF : HZ_CT_JSON;
}

/* One output to every sink asked for: encoded for each sink's format by
 * `encode`, with a stable event id; the log line is written when asked
 * (not again on a re-send). Returns the sinks now waiting: a sink that
 * could not take it stays waiting and is retried from the outbox after
 * pipeline.outbox_retry. */
typedef int (*encode_fn)(const void *obj, enum hz_content_type ct, struct hz_buf *out);

struct output {
	const void *obj;
	encode_fn encode;
	const char *event_id;
	const char *kafka_topic, *key;
	const char *mqtt_kind, *mqtt_param;  /* topic: <prefix>/out/<kind>/<param> */
};

static unsigned publish(struct hz_engine *e, const struct output *o, int64_t outbox_id,
			unsigned sinks)
{
	unsigned waiting = 0;
	if (sinks & SINK_KAFKA && e->kout) {
		hz_buf_clear(&e->out);
		const char *ct = kafka_ct(e);
		if (o->encode(o->obj, ct_of(ct), &e->out) == HZ_OK)
			hz_out_kafka_publish(e->kout, o->kafka_topic, o->key, e->out.data, e->out.len,
					     ct, o->event_id, NULL, (uint64_t)outbox_id);
		waiting |= SINK_KAFKA;
	}
	if (sinks & SINK_MQTT && e->mout) {
		char topic[256];
		hz_buf_clear(&e->out);
		const char *ct = mqtt_ct(e);
		snprintf(topic, sizeof(topic), "%s/out/%s/%s", e->cfg->mqtt_topic_prefix, o->mqtt_kind,
			 *o->mqtt_param ? o->mqtt_param : "unknown");
		if (o->encode(o->obj, ct_of(ct), &e->out) == HZ_OK)
			hz_out_mqtt_publish(e->mout, topic, e->out.data, e->out.len, ct, o->event_id,
					    (uint64_t)outbox_id);
		waiting |= SINK_MQTT;
	}
	return waiting;
}

static void log_line(struct hz_engine *e)
{
	if (hz_out_log_write(e->log, &e->line))
		hz_warn("could not write the escalation log: %m");
}

static int enc_ticket(const void *o, enum hz_content_type ct, struct hz_buf *b)
{
	return hz_codec_encode_ticket_event(o, ct, b);
}

static int enc_escalation(const void *o, enum hz_content_type ct, struct hz_buf *b)
{
	return hz_codec_encode_escalation(o, ct, b);
}

static int enc_rating(const void *o, enum hz_content_type ct, struct hz_buf *b)
{
	return hz_codec_encode_rating(o, ct, b);
}

static int enc_result(const void *o, enum hz_content_type ct, struct hz_buf *b)
{
	return hz_codec_encode_command_result(o, ct, b);
}

unsigned hz_engine_publish_result(struct hz_engine *e, const struct hz_command_result *cr,
				  int64_t outbox_id, unsigned sinks, bool log)
{
	/* the actor id came from outside: a '/', '+' or '#' in it must not
	 * change the topic's shape (or make it invalid and never delivered) */
	char actor[HZ_ID_MAX];
	snprintf(actor, sizeof(actor), "%s", cr->actor_id);
	for (char *p = actor; *p; p++)
		if (*p == '/' || *p == '+' || *p == '#')
			*p = '_';
	struct output o = {cr, enc_result, cr->command_id, e->cfg->kafka_topic_results,
			   cr->command_id, "results", actor};
	if (log) {
		hz_out_log_format_result(cr, &e->line);
		log_line(e);
	}
	return publish(e, &o, outbox_id, sinks);
}

unsigned hz_engine_publish_change(struct hz_engine *e, const struct hz_ticket_event *te,
				  int64_t outbox_id, unsigned sinks, bool log)
{
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)te->tk.ticket_id);
	struct output o = {te, enc_ticket, te->event_id, e->cfg->kafka_topic_tickets, key,
			   "tickets", te->tk.town_code};
	if (log) {
		hz_out_log_format_ticket(te, &e->line);
		log_line(e);
	}
	e->st.changes_published++;
	return publish(e, &o, outbox_id, sinks);
}

/* Whether a ticket change writes its own escalation-log line: an
 * escalation step's change (store/escalate.c) does not, the step's notice
 * is its line. One rule for the live publish and the outbox replay. */
static bool has_own_line(const struct hz_ticket_event *te)
{
	return strcmp(te->change, "escalated") != 0 && strcmp(te->change, "overdue") != 0;
}

/* One escalation step; returns the sinks now waiting. */
static unsigned publish_escalation(struct hz_engine *e, const struct hz_escalation *esc,
				   int64_t outbox_id, unsigned sinks, bool log)
{
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)esc->tk.ticket_id);
	struct output o = {esc, enc_escalation, esc->event_id, e->cfg->kafka_topic_escalations,
			   key, "escalations", esc->org_unit};
	if (log) {
		hz_out_log_format_escalation(esc, &e->line);
		log_line(e);
	}
	return publish(e, &o, outbox_id, sinks);
}

/* One town rating change; returns the sinks now waiting. */
static unsigned publish_rating(struct hz_engine *e, const struct hz_town_rating *tr,
			       int64_t outbox_id, unsigned sinks, bool log)
{
	struct output o = {tr, enc_rating, tr->event_id, e->cfg->kafka_topic_ratings,
			   tr->town_code, "ratings", tr->town_code};
	if (log) {
		hz_out_log_format_rating(tr, &e->line);
		log_line(e);
	}
	return publish(e, &o, outbox_id, sinks);
}

unsigned hz_engine_sinks(const struct hz_engine *e)
{
	return (e->kout ? SINK_KAFKA : 0) | (e->mout ? SINK_MQTT : 0);
}

static bool is_done(const struct hz_engine *e, int64_t id)
{
	for (size_t i = 0; i < e->n_done; i++)
		if (e->done[i] == id)
			return true;
	return false;
}

/* Remaining sinks of a row being retried (e->retry is sorted by id). */
static unsigned retry_sinks(const struct hz_engine *e, int64_t id)
{
	size_t lo = 0, hi = e->n_retry;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->retry[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->n_retry && e->retry[lo].id == id ? e->retry[lo].sinks : 0;
}

static const char SQL_OUTBOX_ROWS[] =
	"SELECT id, kind, payload, coalesce(kafka_topic, ''), coalesce(msg_key, ''), "
	"headers->>'reason', headers->>'source', headers->>'topic', headers->>'partition', "
	"headers->>'offset', headers->>'dead_letter_id' FROM hazard.outbox ";

/* Publish outbox rows: ticket events to every sink (or, when retrying, to
 * the sinks that did not confirm), dead letters to the dead-letter topic
 * with the reason and source coordinates as headers. Rows in flight or
 * confirmed and awaiting deletion are skipped, so nothing is sent twice
 * by this path; a crash can still repeat a row, with the same event id. */
static void publish_outbox(struct hz_engine *e, const char *where, const char *param, bool retry,
			   bool foreign)
{
	char err[512], sql[512];
	int rc;
	snprintf(sql, sizeof(sql), "%s%s", SQL_OUTBOX_ROWS, where);
	const char *p[] = {param};
	PGresult *res = hz_pg_query(e->pg, "reading the outbox", sql, 1, p, &rc, err, sizeof(err));
	if (!res) {
		hz_warn("%s", err);
		return;
	}
	int n = PQntuples(res), sent = 0;
	for (int i = 0; i < n; i++) {
		int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		const char *kind = PQgetvalue(res, i, 1);
		bool dead_letter = !strcmp(kind, "deadletter");
		if (dead_letter && id > e->dead_seen_id)
			e->dead_seen_id = id;
		if (pend_find(e, id) || is_done(e, id))
			continue;
		unsigned sinks = retry ? retry_sinks(e, id)
			       : dead_letter ? (e->kout ? SINK_KAFKA : 0) : hz_engine_sinks(e);
		if (!sinks && !foreign)
			continue;
		size_t len;
		unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 2), &len);
		if (!raw)
			continue;
		if (dead_letter) {
			const char *hdr[] = {"reason", PQgetvalue(res, i, 5),
					     "source", PQgetvalue(res, i, 6),
					     "source-topic", PQgetvalue(res, i, 7),
					     "source-partition", PQgetvalue(res, i, 8),
					     "source-offset", PQgetvalue(res, i, 9),
					     "dead-letter-id", PQgetvalue(res, i, 10),
					     NULL};
			const char *key = PQgetvalue(res, i, 4);
			hz_out_kafka_publish(e->kout, PQgetvalue(res, i, 3), *key ? key : NULL, raw, len,
					     NULL, NULL, hdr, (uint64_t)id);
			hz_engine_pend_add(e, id, SINK_KAFKA);
			sent++;
		} else if (!strcmp(kind, "rating")) {
			struct hz_town_rating tr;
			if (hz_codec_decode_rating(raw, len, &tr) == HZ_OK) {
				hz_engine_pend_add(e, id, publish_rating(e, &tr, id, sinks, !retry));
				sent++;
			}
		} else if (!strcmp(kind, "result")) {
			struct hz_command_result cr;
			if (hz_codec_decode_command_result(raw, len, &cr) == HZ_OK) {
				unsigned w = hz_engine_publish_result(e, &cr, id, sinks, !retry);
				if (w)
					hz_engine_pend_add(e, id, w);
				else if (foreign)
					done_add(e, id); /* no sink to wait for: logged, done */
				sent++;
			}
		} else if (!strcmp(kind, "escalation")) {
			struct hz_escalation esc;
			if (hz_codec_decode_escalation(raw, len, &esc) == HZ_OK) {
				hz_engine_pend_add(e, id, publish_escalation(e, &esc, id, sinks, !retry));
				sent++;
			}
		} else if (!strcmp(kind, "ticket")) {
			struct hz_ticket_event te;
			struct hz_ticket_event_strings strs;
			if (hz_codec_decode_ticket_event(raw, len, &te, &strs) == HZ_OK) {
				unsigned w = hz_engine_publish_change(e, &te, id, sinks,
								      !retry && has_own_line(&te));
				if (w)
					hz_engine_pend_add(e, id, w);
				else if (foreign)
					done_add(e, id);
				sent++;
			} else {
				hz_warn("outbox row %lld could not be decoded: left for inspection",
					(long long)id);
			}
		}
		PQfreemem(raw);
	}
	PQclear(res);
	if (e->n_pend > 1)
		qsort(e->pend, e->n_pend, sizeof(*e->pend), by_id);
	if (sent && retry)
		hz_info("re-sent %d outputs not confirmed within %lld ms", sent,
			(long long)(e->cfg->outbox_retry_us / 1000));
	else if (sent && foreign)
		hz_debug("published %d outputs written by hazardctl", sent);
	else if (sent && !strstr(where, "deadletter"))
		hz_info("re-published %d unconfirmed outputs from the outbox", sent);
}

/* At start: whatever a previous run committed and did not see confirmed. */
void hz_engine_replay_outbox(struct hz_engine *e)
{
	publish_outbox(e, "WHERE id > $1::int8 ORDER BY id LIMIT 100000", "0", false, false);
}

/* After a batch with dead letters: the rows it queued. */
void hz_engine_publish_dead_letters(struct hz_engine *e)
{
	char since[24];
	snprintf(since, sizeof(since), "%lld", (long long)e->dead_seen_id);
	publish_outbox(e, "WHERE kind = 'deadletter' AND id > $1::int8 ORDER BY id LIMIT 10000",
		       since, false, false);
}

void hz_engine_serve_outputs(struct hz_engine *e)
{
	size_t n_ok, n_fail;
	if (e->kout) {
		hz_out_kafka_poll(e->kout, e->tags, &n_ok, e->ftags, &n_fail, HZ_ARRAY_LEN(e->tags));
		for (size_t i = 0; i < n_ok; i++)
			pend_done(e, (int64_t)e->tags[i], SINK_KAFKA);
	}
	if (e->mout) {
		n_ok = hz_out_mqtt_poll_done(e->mout, e->tags, HZ_ARRAY_LEN(e->tags));
		for (size_t i = 0; i < n_ok; i++)
			pend_done(e, (int64_t)e->tags[i], SINK_MQTT);
		/* failures stay pending and are re-sent from the outbox after
		 * pipeline.outbox_retry */
		while (hz_out_mqtt_poll_failed(e->mout, e->ftags, HZ_ARRAY_LEN(e->ftags)))
			;
	}
	pend_compact(e);
}

/* Outputs with no confirmation after outbox_retry are sent again, to the
 * sinks that did not confirm them. */
void hz_engine_retry_outputs(struct hz_engine *e)
{
	int64_t now = hz_mono_us();
	/* O(pending): looked at once a second, not on every turn of the loop */
	if (!e->n_pend || now < e->retry_check_at || !hz_engine_pg_ready(e))
		return;
	e->retry_check_at = now + HZ_US_PER_SEC;
	struct hz_buf ids = HZ_BUF_INIT;
	e->n_retry = 0;
	hz_buf_append(&ids, "{", 1);
	for (size_t i = 0; i < e->n_pend; i++) {
		struct pending *p = &e->pend[i];
		if (now - p->sent_us < e->cfg->outbox_retry_us)
			continue;
		if (e->n_retry == e->cap_retry) {
			size_t nc = e->cap_retry ? e->cap_retry * 2 : 256;
			struct pending *nr = realloc(e->retry, nc * sizeof(*nr));
			if (!nr)
				break;
			e->retry = nr;
			e->cap_retry = nc;
		}
		e->retry[e->n_retry++] = *p;
		hz_buf_appendf(&ids, "%s%lld", ids.len > 1 ? "," : "", (long long)p->id);
		p->sinks = 0;
	}
	hz_buf_append(&ids, "}", 1);
	hz_buf_cstr(&ids);
	if (e->n_retry) {
		pend_compact(e);
		publish_outbox(e, "WHERE id = ANY($1::int8[]) ORDER BY id", (const char *)ids.data, true,
			       false);
	}
	hz_buf_free(&ids);
}

/* Rows hazardctl wrote (origin set): claimed by this instance
 * (claimed_by = mqtt.client_id), so two daemons do not both publish and
 * log them; a claim older than a minute on a row still here is taken
 * again (its claimer died, or could not deliver). One UPDATE on a partial
 * index every 250 ms, empty almost always. */
static const char SQL_CLAIM_FOREIGN[] =
	"WITH c AS (UPDATE hazard.outbox SET claimed_by = $1, claimed_at = now() WHERE id IN ("
	"SELECT id FROM hazard.outbox WHERE origin IS NOT NULL AND (claimed_by IS NULL OR "
	"claimed_at < now() - interval '1 minute') ORDER BY id LIMIT 1000 "
	"FOR UPDATE SKIP LOCKED) RETURNING id) "
	"SELECT '{' || coalesce(string_agg(id::text, ',' ORDER BY id), '') || '}', count(*) FROM c";

void hz_engine_publish_foreign(struct hz_engine *e)
{
	int64_t now = hz_mono_us();
	if (now < e->foreign_at || !hz_engine_pg_ready(e))
		return;
	e->foreign_at = now + 250 * 1000;
	char err[512];
	int rc;
	const char *p[] = {e->cfg->mqtt_client_id};
	PGresult *res = hz_pg_query(e->pg, "claiming outputs written by hazardctl", SQL_CLAIM_FOREIGN,
				    1, p, &rc, err, sizeof(err));
	if (!res) {
		hz_warn("%s", err);
		if (PQstatus(e->pg) != CONNECTION_OK)
			hz_engine_pg_lost(e, err);
		return;
	}
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "0"))
		publish_outbox(e, "WHERE id = ANY($1::int8[]) ORDER BY id", PQgetvalue(res, 0, 0),
			       false, true);
	PQclear(res);
}

/* The timers this instance fires at once: its Kafka partitions (rebuilt
 * only when a rebalance changed them). No Kafka source: none held, so
 * only unowned timers fire at once and owned ones after the grace. */
static struct hz_timer_owner owner(struct hz_engine *e)
{
	size_t n = 0;
	uint64_t gen = e->kin ? hz_in_kafka_assignment(e->kin, &n) : 0;
	if (!e->own_built || gen != e->own_gen) {
		hz_pgarr_begin(&e->own_topics);
		hz_pgarr_begin(&e->own_parts);
		for (size_t i = 0; i < n; i++) {
			const char *topic;
			int32_t part;
			hz_in_kafka_assigned_at(e->kin, i, &topic, &part);
			hz_pgarr_text(&e->own_topics, topic);
			hz_pgarr_int(&e->own_parts, part);
		}
		hz_pgarr_end(&e->own_topics);
		hz_pgarr_end(&e->own_parts);
		e->own_gen = gen;
		e->own_built = true;
	}
	return (struct hz_timer_owner){(const char *)e->own_topics.data,
				       (const char *)e->own_parts.data, e->cfg->takeover_grace_us};
}

/* Call-and-respond and close-out: fire the timers that are due and ours
 * (warning expiry, reminders, escalation steps), by the database's clock,
 * then sleep until the next one. */
void hz_engine_fire_timers(struct hz_engine *e)
{
	int64_t now = hz_mono_us();
	if (now < e->timer_at || !hz_engine_pg_ready(e))
		return;
	/* Scan at the next deadline, and at least every 200 ms for timers
	 * another instance (or an operator) set. */
	e->timer_at = now + 200 * 1000;
	struct hz_escalate_topics t = {e->cfg->mqtt_topic_prefix, e->cfg->kafka_topic_escalations,
				       e->cfg->kafka_topic_tickets};
	struct hz_timer_owner own = owner(e);
	for (int round = 0; round < 16; round++) {
		char err[512];
		size_t n = 0, claimed = 0;
		bool more = false; /* a scan was full: more may be due at once */
		/* expired warnings close first: an expired one is not escalated */
		if (hz_expire_warnings(e->pg, &t, &own, HZ_ARRAY_LEN(e->expired), e->expired,
				       e->esc_ids, &n, err, sizeof(err)) == HZ_OK)
			for (size_t i = 0; i < n; i++)
				hz_engine_pend_add(e, e->esc_ids[i],
						   hz_engine_publish_change(e, &e->expired[i],
									    e->esc_ids[i],
									    hz_engine_sinks(e), true));
		else
			hz_warn("expired warnings not closed, will retry: %s", err);
		more |= n == HZ_ARRAY_LEN(e->expired);
		/* reminders before escalations: a ticket due for both is
		 * reminded, then escalated, in that order in the history */
		if (hz_remind_fire(e->pg, e->rules, &t, &own, HZ_ARRAY_LEN(e->reminded), e->reminded,
				   e->esc_ids, &n, &claimed, err, sizeof(err)) == HZ_OK)
			for (size_t i = 0; i < n; i++)
				hz_engine_pend_add(e, e->esc_ids[i],
						   hz_engine_publish_change(e, &e->reminded[i].te,
									    e->esc_ids[i],
									    hz_engine_sinks(e), true));
		else
			hz_warn("close-out reminders not sent, will retry: %s", err);
		e->st.reminders += n;
		more |= claimed == HZ_ARRAY_LEN(e->reminded);
		struct hz_dispatch_params dp;
		hz_dispatch_params_from_config(&dp, e->cfg);
		int rc = hz_escalate_fire(e->pg, e->rules, e->reg, &dp, &t, &own,
					  HZ_ARRAY_LEN(e->esc), e->esc, &n, err, sizeof(err));
		int64_t next_in = INT64_MAX;
		if (!rc)
			rc = hz_timers_next(e->pg, &own, &next_in, err, sizeof(err));
		if (rc) {
			hz_warn("escalation timers not fired, will retry: %s", err);
			if (PQstatus(e->pg) != CONNECTION_OK)
				hz_engine_pg_lost(e, err);
			return;
		}
		/* the notice is the step's log line; its ticket change goes
		 * to the tickets topic (has_own_line: no second line) */
		for (size_t i = 0; i < n; i++) {
			const struct hz_escalate_fired *f = &e->esc[i];
			hz_engine_pend_add(e, f->esc_id,
					   publish_escalation(e, &f->esc, f->esc_id,
							      hz_engine_sinks(e), true));
			hz_engine_pend_add(e, f->te_id,
					   hz_engine_publish_change(e, &f->te, f->te_id,
								    hz_engine_sinks(e),
								    has_own_line(&f->te)));
		}
		e->st.escalations += n;
		more |= n == HZ_ARRAY_LEN(e->esc);
		if (!more && next_in > 0) {
			if (next_in < 200 * 1000)
				e->timer_at = hz_mono_us() + next_in;
			return;
		}
	}
}

static void rating_failed(struct hz_engine *e, const char *err)
{
	hz_warn("town ratings not updated, will retry: %s", err);
	e->rating_busy = false;
	if (e->pg_rate && PQstatus(e->pg_rate) == CONNECTION_OK) {
		hz_pg_rollback(e->pg_rate);
	} else if (e->pg_rate) {
		PQfinish(e->pg_rate);
		e->pg_rate = NULL;
	}
}

/* The township three-colour rating, every rating.interval of the rules.
 * Its count reads every open ticket (0.8 s at a million), so it runs on a
 * connection of its own and the loop only looks for its answer: timers
 * and batches never wait behind it. */
void hz_engine_update_ratings(struct hz_engine *e)
{
	char err[512];
	if (e->rating_busy) {
		bool ready = false;
		if (hz_rating_ready(e->pg_rate, &ready, err, sizeof(err))) {
			rating_failed(e, err);
			return;
		}
		if (!ready)
			return;
		size_t n = 0;
		e->rating_busy = false;
		if (hz_rating_finish(e->pg_rate, e->rules, e->cfg->mqtt_topic_prefix,
				     e->cfg->kafka_topic_ratings, HZ_ARRAY_LEN(e->ratings), e->ratings,
				     e->rating_ids, &n, err, sizeof(err))) {
			rating_failed(e, err);
			return;
		}
		for (size_t i = 0; i < n; i++)
			hz_engine_pend_add(e, e->rating_ids[i],
					   publish_rating(e, &e->ratings[i], e->rating_ids[i],
							  hz_engine_sinks(e), true));
		if (n == HZ_ARRAY_LEN(e->ratings))
			e->rating_at = hz_mono_us(); /* more changed than one call takes */
		return;
	}
	int64_t now = hz_mono_us();
	if (now < e->rating_at || !e->st.pg_up)
		return;
	e->rating_at = now + e->rules->rating.interval_us;
	if (!e->pg_rate && !(e->pg_rate = hz_engine_connect(e->cfg, err, sizeof(err)))) {
		hz_warn("town ratings not updated, will retry: %s", err);
		return;
	}
	int rc = hz_rating_begin(e->pg_rate, err, sizeof(err));
	if (rc == HZ_OK)
		e->rating_busy = true;
	else if (rc != HZ_ENOTFOUND)
		rating_failed(e, err);
}

/*
 * batch.c - one transaction per batch: intents -> tickets, history,
 * ticket_events, outbox; dead letters; source positions; outbox clean-up.
 *
 * Every statement takes whole arrays (text-format array literals built in
 * reused buffers), so the number of round trips per batch is fixed:
 * at most ~12 for a batch that changes tickets, 1 for one that does not.
 * Ticket and outbox ids are drawn from their sequences first, so the
 * TicketEvent payloads can be encoded before the rows are inserted.
 */
#include "store/batch.h"
#include "store/pg.h"
#include "store/pgtext.h"
#include "codec/codec.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pos {
	char source[128];
	int32_t partition;
	int64_t next;
};

struct hz_batch {
	struct hz_intent *in;
	char (*evid)[HZ_ID_MAX];
	char (*srctopic)[HZ_KAFKA_TOPIC_MAX]; /* copies: messages are released after commit */
	size_t n_in, cap_in;
	struct hz_dead *dead;
	char (*dead_evid)[HZ_ID_MAX];  /* copies: events are decoded into a per-message arena */
	size_t n_dead, cap_dead;
	struct pos *pos;
	size_t n_pos, cap_pos;
	int64_t *done;
	size_t n_done, cap_done;
	char (*seen)[HZ_ID_MAX];     /* devices heard from, for hazard.device_seen */
	size_t n_seen, cap_seen;

	/* scratch, sized to cap_in */
	bool *fresh;
	size_t *order;
	struct hz_open_ticket *open;
	size_t n_open, cap_open;
	struct hz_merged *merged;
	size_t n_merged;
	struct hz_change *chg;
	size_t n_chg;

	struct hz_buf arr[28];
	struct hz_buf payload;

	/* libpq pipeline mode for the write phase: the statements and the
	 * COMMIT go out together and cost one round trip. */
	struct {
		bool on;
		int n;
		const char *what[16];
	} pipe;
};

#define GROW(ptr, n, cap, min)                                                     \
	do {                                                                       \
		if ((n) == (cap)) {                                                \
			size_t nc_ = (cap) ? (cap) * 2 : (min);                    \
			void *np_ = realloc((ptr), nc_ * sizeof(*(ptr)));          \
			if (!np_)                                                  \
				return HZ_ENOMEM;                                  \
			(ptr) = np_;                                               \
			(cap) = nc_;                                               \
		}                                                                  \
	} while (0)

struct hz_batch *hz_batch_new(size_t max_msgs)
{
	struct hz_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	(void)max_msgs; /* arrays grow on demand and are kept */
	return b;
}

void hz_batch_destroy(struct hz_batch *b)
{
	if (!b)
		return;
	free(b->in);
	free(b->evid);
	free(b->srctopic);
	free(b->dead);
	free(b->dead_evid);
	free(b->pos);
	free(b->done);
	free(b->seen);
	free(b->fresh);
	free(b->order);
	free(b->open);
	free(b->merged);
	free(b->chg);
	for (size_t i = 0; i < HZ_ARRAY_LEN(b->arr); i++)
		hz_buf_free(&b->arr[i]);
	hz_buf_free(&b->payload);
	free(b);
}

void hz_batch_reset(struct hz_batch *b)
{
	b->n_in = b->n_dead = b->n_pos = b->n_done = b->n_seen = 0;
	b->n_open = b->n_merged = b->n_chg = 0;
}

int hz_batch_add_intent(struct hz_batch *b, const struct hz_intent *in)
{
	if (b->n_in == b->cap_in) {
		size_t nc = b->cap_in ? b->cap_in * 2 : 256;
		struct hz_intent *ni = realloc(b->in, nc * sizeof(*ni));
		if (!ni)
			return HZ_ENOMEM;
		b->in = ni;
		char(*ne)[HZ_ID_MAX] = realloc(b->evid, nc * sizeof(*ne));
		if (!ne)
			return HZ_ENOMEM;
		b->evid = ne;
		char(*nt)[HZ_KAFKA_TOPIC_MAX] = realloc(b->srctopic, nc * sizeof(*nt));
		if (!nt)
			return HZ_ENOMEM;
		b->srctopic = nt;
		b->cap_in = nc;
	}
	b->in[b->n_in] = *in;
	snprintf(b->evid[b->n_in], HZ_ID_MAX, "%s", in->event_id);
	b->in[b->n_in].event_id = b->evid[b->n_in];
	if (in->src.topic) {
		snprintf(b->srctopic[b->n_in], HZ_KAFKA_TOPIC_MAX, "%s", in->src.topic);
		b->in[b->n_in].src.topic = b->srctopic[b->n_in];
	}
	b->n_in++;
	return HZ_OK;
}

int hz_batch_add_dead(struct hz_batch *b, const struct hz_dead *d)
{
	if (b->n_dead == b->cap_dead) {
		size_t nc = b->cap_dead ? b->cap_dead * 2 : 64;
		struct hz_dead *nd = realloc(b->dead, nc * sizeof(*nd));
		if (!nd)
			return HZ_ENOMEM;
		b->dead = nd;
		char(*ne)[HZ_ID_MAX] = realloc(b->dead_evid, nc * sizeof(*ne));
		if (!ne)
			return HZ_ENOMEM;
		b->dead_evid = ne;
		b->cap_dead = nc;
	}
	struct hz_dead *c = &b->dead[b->n_dead];
	*c = *d;
	if (d->event_id) {
		snprintf(b->dead_evid[b->n_dead], HZ_ID_MAX, "%s", d->event_id);
		c->event_id = b->dead_evid[b->n_dead];
	}
	b->n_dead++;
	return HZ_OK;
}

int hz_batch_set_position(struct hz_batch *b, const char *source, int32_t partition,
			  int64_t next_offset)
{
	for (size_t i = 0; i < b->n_pos; i++)
		if (b->pos[i].partition == partition && !strcmp(b->pos[i].source, source)) {
			if (next_offset > b->pos[i].next)
				b->pos[i].next = next_offset;
			return HZ_OK;
		}
	GROW(b->pos, b->n_pos, b->cap_pos, 64);
	struct pos *p = &b->pos[b->n_pos++];
	snprintf(p->source, sizeof(p->source), "%s", source);
	p->partition = partition;
	p->next = next_offset;
	return HZ_OK;
}

int hz_batch_outbox_done(struct hz_batch *b, int64_t id)
{
	GROW(b->done, b->n_done, b->cap_done, 256);
	b->done[b->n_done++] = id;
	return HZ_OK;
}

int hz_batch_add_seen(struct hz_batch *b, const char *device_id)
{
	GROW(b->seen, b->n_seen, b->cap_seen, 256);
	snprintf(b->seen[b->n_seen++], HZ_ID_MAX, "%s", device_id);
	return HZ_OK;
}

size_t hz_batch_count_intents(const struct hz_batch *b) { return b->n_in; }
size_t hz_batch_count_dead(const struct hz_batch *b) { return b->n_dead; }

bool hz_batch_empty(const struct hz_batch *b)
{
	return !b->n_in && !b->n_dead && !b->n_pos && !b->n_done && !b->n_seen;
}

const struct hz_change *hz_batch_changes(const struct hz_batch *b, size_t *n)
{
	*n = b->n_chg;
	return b->chg;
}

/* ---- statements ---- */

static int fail_res(PGconn *pg, PGresult *res, const char *what, char *err, size_t errlen)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	hz_errf(err, errlen, "%s failed: %s%s%.*s", what, state ? state : "", state ? ": " : "",
		(int)strcspn(msg, "\n"), msg);
	int transient = hz_pg_is_transient(pg, res);
	/* A unique violation on the open-episode index or on ticket_events
	 * means another transaction got there first: retry and see its rows. */
	if (state && !strcmp(state, "23505"))
		transient = 1;
	PQclear(res);
	return transient ? HZ_ETRANSIENT : HZ_ERR;
}

static PGresult *exec(PGconn *pg, const char *sql, int n, const char *const *params)
{
	return PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
}


static const char SQL_SEEN[] =
	"SELECT " HZ_SQL_US("now()") ", array_length($1::text[], 1), e.event_id "
	"FROM (SELECT 1) one LEFT JOIN hazard.ticket_events e ON e.event_id = ANY($1::text[])";

static const char SQL_OPEN[] =
	"SELECT " HZ_SQL_TICKET("t.") ", t.episode_key, "
	"(SELECT coalesce(max(h.seq),0) FROM hazard.ticket_history h WHERE h.ticket_id = t.ticket_id), "
	"(t.silenced_count > 0 AND t.ack_due_at IS NULL AND t.acked_at IS NULL) "
	"FROM hazard.tickets t WHERE t.episode_key = ANY($1::text[]) "
	"AND t.state NOT IN ('closed','dismissed') FOR UPDATE";

static const char SQL_INSERT_TICKETS[] =
	"INSERT INTO hazard.tickets (ticket_id, kind, state, level, site_id, town_code, county_code, "
	"hazard_type, tier, device_id, episode_key, mode, opened_at, updated_at, deadline_at, "
	"event_count, first_event_id, last_event_id, ack_due_at, closed_at, silenced_count, held_count, "
	"reminder_due_at, reminder_before_us, source_topic, source_partition) "
	"SELECT u.id, u.kind, u.state, u.level, u.site, u.town, u.county, u.htype, u.tier, "
	"u.dev, u.ep, u.mode, " HZ_SQL_TS("u.at") ", " HZ_SQL_TS("u.at") ", " HZ_SQL_TS("u.deadline") ", u.n, u.first, u.last, "
	HZ_SQL_TS("u.due") ", CASE WHEN u.state = 'closed' THEN " HZ_SQL_TS("u.at") " END, u.sn, u.hn, "
	HZ_SQL_TS("u.rdue") ", u.rbefore, u.stopic, u.spart "
	"FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
	"$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int8[], $13::int8[], "
	"$14::int8[], $15::text[], $16::text[], $17::int8[], $18::text[], $19::int8[], $20::int8[], "
	"$21::int8[], $22::int8[], $23::text[], $24::int[]) "
	"AS u(id, kind, level, site, town, county, htype, tier, dev, ep, mode, at, deadline, n, first, "
	"last, due, state, sn, hn, rdue, rbefore, stopic, spart)";

static const char SQL_UPDATE_TICKETS[] =
	"UPDATE hazard.tickets t SET level = u.level, event_count = t.event_count + u.n, "
	"silenced_count = t.silenced_count + u.sn, held_count = t.held_count + u.hn, "
	"updated_at = " HZ_SQL_TS("u.at") ", last_event_id = u.last, state = u.state, "
	"closed_at = CASE WHEN u.state = 'closed' THEN " HZ_SQL_TS("u.at") " ELSE t.closed_at END, "
	"reminder_due_at = CASE WHEN u.state = 'closed' THEN NULL ELSE t.reminder_due_at END, "
	"deadline_at = coalesce(" HZ_SQL_TS("u.deadline") ", t.deadline_at), "
	"ack_due_at = CASE WHEN u.state = 'closed' THEN NULL "
	"WHEN u.due IS NOT NULL AND t.acked_at IS NULL "
	"THEN least(coalesce(t.ack_due_at, " HZ_SQL_TS("u.due") "), " HZ_SQL_TS("u.due") ") ELSE t.ack_due_at END, "
	"flapping_at = CASE WHEN u.flap THEN coalesce(t.flapping_at, " HZ_SQL_TS("u.at") ") "
	"ELSE t.flapping_at END "
	"FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::int8[], "
	"$7::text[], $8::int8[], $9::bool[], $10::int8[], $11::int8[]) "
	"AS u(id, level, n, at, last, due, state, deadline, flap, sn, hn) "
	"WHERE t.ticket_id = u.id";

static const char SQL_HISTORY[] =
	"INSERT INTO hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, tier, "
	"actor, reason, event_id, mode) "
	"SELECT u.id, u.seq, " HZ_SQL_TS("u.at") ", u.fs, u.ts, u.level, u.tier, 'hazardd', u.reason, u.ev, "
	"u.mode FROM unnest($1::int8[], $2::int[], $3::int8[], $4::text[], $5::text[], $6::text[], "
	"$7::text[], $8::text[], $9::text[], $10::text[]) "
	"AS u(id, seq, at, fs, ts, level, tier, reason, ev, mode)";

static const char SQL_EVENTS[] =
	"INSERT INTO hazard.ticket_events (event_id, ticket_id, disposition, silence_id, mode) "
	"SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::text[])";

static const char SQL_OUTBOX[] =
	"INSERT INTO hazard.outbox (id, kind, msg_key, mqtt_topic, kafka_topic, content_type, payload) "
	"SELECT u.id, 'ticket', u.k, u.mt, u.kt, 'application/x-protobuf', u.p "
	"FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(id, k, mt, kt, p)";

/* A dead letter recorded for the first time is also queued for the
 * dead-letter topic: original bytes as payload, reason and coordinates as
 * headers. A redelivered poison message conflicts and queues nothing. */
static const char SQL_DEAD[] =
	"WITH d AS (INSERT INTO hazard.dead_letters (source, topic, partition, \"offset\", reason, "
	"payload, event_id, dedupe_key) "
	"SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int8[], $5::text[], "
	"$6::bytea[], $7::text[], $8::text[]) ON CONFLICT (dedupe_key) DO NOTHING "
	"RETURNING id, source, topic, partition, \"offset\", reason, payload, event_id) "
	"INSERT INTO hazard.outbox (kind, msg_key, kafka_topic, content_type, payload, headers) "
	"SELECT 'deadletter', d.event_id, $9, NULL, d.payload, jsonb_build_object('reason', d.reason, "
	"'source', d.source, 'topic', d.topic, 'partition', d.partition, 'offset', d.\"offset\", "
	"'dead_letter_id', d.id) FROM d WHERE $9 <> ''";

/* Positions and outbox clean-up in one statement, so a batch that changes
 * nothing costs a single round trip (an implicit transaction). */
static const char SQL_POSITIONS[] =
	"WITH d AS (DELETE FROM hazard.outbox WHERE id = ANY($4::int8[])), "
	"s AS (INSERT INTO hazard.device_seen (device_id, seen_at) "
	"SELECT DISTINCT unnest($5::text[]), now() "
	"ON CONFLICT (device_id) DO UPDATE SET seen_at = excluded.seen_at) "
	"INSERT INTO hazard.source_offsets (source, partition, next_offset, updated_at) "
	"SELECT u.s, u.p, u.o, now() FROM unnest($1::text[], $2::int[], $3::int8[]) AS u(s, p, o) "
	"ON CONFLICT (source, partition) DO UPDATE SET next_offset = excluded.next_offset, "
	"updated_at = excluded.updated_at";

static int run(struct hz_batch *b, PGconn *pg, const char *what, const char *sql, int n,
	       const char *const *params, char *err, size_t errlen)
{
	if (b->pipe.on) {
		/* libpq copies the parameters into its buffer here, so the
		 * array buffers can be reused by the next statement. */
		if (b->pipe.n == (int)HZ_ARRAY_LEN(b->pipe.what) ||
		    !PQsendQueryParams(pg, sql, n, NULL, params, NULL, NULL, 0))
			return fail_res(pg, NULL, what, err, errlen);
		b->pipe.what[b->pipe.n++] = what;
		return HZ_OK;
	}
	PGresult *res = exec(pg, sql, n, params);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return fail_res(pg, res, what, err, errlen);
	PQclear(res);
	return HZ_OK;
}

static int pipe_begin(struct hz_batch *b, PGconn *pg, char *err, size_t errlen)
{
	if (b->pipe.on)
		return HZ_OK;
	if (!PQenterPipelineMode(pg))
		return fail_res(pg, NULL, "entering pipeline mode", err, errlen);
	b->pipe.on = true;
	b->pipe.n = 0;
	return HZ_OK;
}

/* Send the sync, read every statement's result in order (the first
 * failure is the one reported; the rest are "aborted"), leave pipeline
 * mode. The results of the last `n_keep` statements are handed back in
 * keep[] when the whole pipeline succeeded (the caller clears them), else
 * cleared and NULL. */
static int pipe_sync(struct hz_batch *b, PGconn *pg, PGresult **keep, int n_keep, char *err,
		     size_t errlen)
{
	int rc = HZ_OK;
	for (int i = 0; i < n_keep; i++)
		keep[i] = NULL;
	if (!b->pipe.on)
		return HZ_OK;
	b->pipe.on = false;
	if (!PQpipelineSync(pg)) {
		PQexitPipelineMode(pg);
		return fail_res(pg, NULL, "sending the pipeline", err, errlen);
	}
	int first_kept = b->pipe.n - n_keep;
	for (int i = 0; i < b->pipe.n; i++) {
		PGresult *res = PQgetResult(pg);
		if (!res) {
			if (rc == HZ_OK)
				rc = fail_res(pg, NULL, b->pipe.what[i], err, errlen);
			break;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED &&
		    rc == HZ_OK)
			rc = fail_res(pg, res, b->pipe.what[i], err, errlen);
		else if (i >= first_kept && st != PGRES_PIPELINE_ABORTED)
			keep[i - first_kept] = res;
		else
			PQclear(res);
		PQclear(PQgetResult(pg)); /* the NULL that ends each statement */
	}
	PGresult *res;
	while ((res = PQgetResult(pg)) != NULL) { /* the sync */
		bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (sync)
			break;
	}
	PQexitPipelineMode(pg);
	if (rc)
		for (int i = 0; i < n_keep; i++) {
			PQclear(keep[i]);
			keep[i] = NULL;
		}
	return rc;
}

static int pipe_end(struct hz_batch *b, PGconn *pg, char *err, size_t errlen)
{
	return pipe_sync(b, pg, NULL, 0, err, errlen);
}

static int positions(struct hz_batch *b, PGconn *pg, char *err, size_t errlen)
{
	struct hz_buf *a = b->arr;
	hz_pgarr_begin(&a[0]);
	hz_pgarr_begin(&a[1]);
	hz_pgarr_begin(&a[2]);
	hz_pgarr_begin(&a[3]);
	for (size_t i = 0; i < b->n_pos; i++) {
		hz_pgarr_text(&a[0], b->pos[i].source);
		hz_pgarr_int(&a[1], b->pos[i].partition);
		hz_pgarr_int(&a[2], b->pos[i].next);
	}
	for (size_t i = 0; i < b->n_done; i++)
		hz_pgarr_int(&a[3], b->done[i]);
	hz_pgarr_begin(&a[4]);
	for (size_t i = 0; i < b->n_seen; i++)
		hz_pgarr_text(&a[4], b->seen[i]);
	const char *p[] = {hz_pgarr_end(&a[0]), hz_pgarr_end(&a[1]), hz_pgarr_end(&a[2]),
			   hz_pgarr_end(&a[3]), hz_pgarr_end(&a[4])};
	return run(b, pg, "recording source positions", SQL_POSITIONS, 5, p, err, errlen);
}

/* 64-bit FNV-1a, for the dedupe key of a dead letter without coordinates. */
static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int dead_letters(struct hz_batch *b, PGconn *pg, const struct hz_batch_topics *topics,
			char *err, size_t errlen)
{
	struct hz_buf *a = b->arr;
	for (int i = 0; i < 8; i++)
		hz_pgarr_begin(&a[i]);
	for (size_t i = 0; i < b->n_dead; i++) {
		const struct hz_dead *d = &b->dead[i];
		char key[512];
		if (d->source == HZ_SRC_KAFKA) {
			snprintf(key, sizeof(key), "kafka|%s|%d|%lld", d->topic, (int)d->partition,
				 (long long)d->offset);
		} else {
			/* MQTT has no stable coordinates across a redelivery: the same
			 * bytes on the same topic are the same dead letter. */
			uint64_t h = fnv1a(d->topic, strlen(d->topic), 0xcbf29ce484222325ULL);
			h = fnv1a(d->payload, d->len, h);
			snprintf(key, sizeof(key), "mqtt|%s|%016llx", d->topic, (unsigned long long)h);
		}
		hz_pgarr_text(&a[0], d->source == HZ_SRC_KAFKA ? "kafka" : "mqtt");
		/* Topic and event id came from outside: keep them only when they
		 * are text PostgreSQL accepts. */
		hz_pgarr_text(&a[1], hz_utf8_valid(d->topic, strlen(d->topic)) ? d->topic : "(invalid utf-8)");
		hz_pgarr_int(&a[2], d->partition);
		hz_pgarr_int(&a[3], d->offset);
		hz_pgarr_text(&a[4], d->reason);
		hz_pgarr_bytea(&a[5], d->payload, d->len);
		hz_pgarr_opt(&a[6], d->event_id && hz_utf8_valid(d->event_id, strlen(d->event_id))
				       ? d->event_id : NULL);
		hz_pgarr_text(&a[7], hz_utf8_valid(key, strlen(key)) ? key : "mqtt|invalid-topic");
	}
	const char *p[9];
	for (int i = 0; i < 8; i++)
		p[i] = hz_pgarr_end(&a[i]);
	p[8] = topics->kafka_deadletter ? topics->kafka_deadletter : "";
	return run(b, pg, "inserting dead letters", SQL_DEAD, 9, p, err, errlen);
}


static int ensure_scratch(struct hz_batch *b)
{
	size_t n = b->n_in ? b->n_in : 1;
	bool *f = realloc(b->fresh, n * sizeof(*f));
	size_t *o = f ? realloc(b->order, n * sizeof(*o)) : NULL;
	if (f)
		b->fresh = f;
	if (o)
		b->order = o;
	/* a held intent reads two episodes: the holder's and its own */
	struct hz_open_ticket *op = o ? realloc(b->open, 2 * n * sizeof(*op)) : NULL;
	if (op) {
		b->open = op;
		b->cap_open = 2 * n;
	}
	struct hz_merged *m = op ? realloc(b->merged, n * sizeof(*m)) : NULL;
	if (m)
		b->merged = m;
	struct hz_change *c = m ? realloc(b->chg, n * sizeof(*c)) : NULL;
	if (c)
		b->chg = c;
	return c ? HZ_OK : HZ_ENOMEM;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

/* The open tickets of the batch's episodes (SQL_OPEN's rows), locked. */
static int read_open(struct hz_batch *b, PGconn *pg, PGresult *res, char *err, size_t errlen)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return fail_res(pg, res, "locking open tickets", err, errlen);
	b->n_open = 0;
	for (int r = 0; r < PQntuples(res) && b->n_open < b->cap_open; r++) {
		struct hz_open_ticket *o = &b->open[b->n_open++];
		memset(o, 0, sizeof(*o));
		hz_store_ticket_read(res, r, 0, &o->tk);
		copy_field(o->episode_key, sizeof(o->episode_key),
			   PQgetvalue(res, r, HZ_TICKET_NCOLS));
		o->last_seq = atoi(PQgetvalue(res, r, HZ_TICKET_NCOLS + 1));
		o->silenced_quiet = *PQgetvalue(res, r, HZ_TICKET_NCOLS + 2) == 't';
	}
	PQclear(res);
	return HZ_OK;
}

/* Which intents' events were applied before (SQL_SEEN's rows): a replay
 * changes nothing. */
static int mark_fresh(struct hz_batch *b, PGconn *pg, PGresult *res, int64_t *now_us, char *err,
		      size_t errlen)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
		return fail_res(pg, res, "checking applied events", err, errlen);
	*now_us = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	for (size_t i = 0; i < b->n_in; i++)
		b->fresh[i] = true;
	for (int r = 0; r < PQntuples(res); r++) {
		if (PQgetisnull(res, r, 2))
			continue;
		const char *seen = PQgetvalue(res, r, 2);
		for (size_t i = 0; i < b->n_in; i++)
			if (b->fresh[i] && !strcmp(b->in[i].event_id, seen))
				b->fresh[i] = false;
	}
	PQclear(res);
	return HZ_OK;
}

/*
 * The read phase in one round trip: BEGIN (sent before, in the same
 * pipeline), which of the events were applied before, and the open tickets
 * of the episodes, locked. Both reads go out together, so the lock is taken
 * for every intent's episode, not only the fresh ones' (a replayed event's
 * episode is locked too); merging looks only at the fresh intents, so what
 * is written is the same.
 */
static int read_phase(struct hz_batch *b, PGconn *pg, int64_t *now_us, char *err, size_t errlen)
{
	struct hz_buf *a = b->arr;
	hz_pgarr_begin(&a[0]);
	hz_pgarr_begin(&a[1]);
	for (size_t i = 0; i < b->n_in; i++) {
		hz_pgarr_text(&a[0], b->in[i].event_id);
		hz_pgarr_text(&a[1], b->in[i].episode_key);
		/* a held intent's own episode too: if its holder closed meanwhile
		 * it goes back there (hz_tickets_unhold) */
		if (b->in[i].held)
			hz_pgarr_text(&a[1], b->in[i].own_episode);
	}
	const char *seen[] = {hz_pgarr_end(&a[0])}, *open[] = {hz_pgarr_end(&a[1])};
	PGresult *res[2];
	int rc = run(b, pg, "checking applied events", SQL_SEEN, 1, seen, err, errlen);
	if (!rc)
		rc = run(b, pg, "locking open tickets", SQL_OPEN, 1, open, err, errlen);
	int rc2 = pipe_sync(b, pg, res, 2, err, rc ? 0 : errlen); /* keep the first error's text */
	if (!rc)
		rc = rc2;
	if (!rc)
		rc = mark_fresh(b, pg, res[0], now_us, err, errlen);
	else
		PQclear(res[0]);
	if (!rc)
		return read_open(b, pg, res[1], err, errlen);
	PQclear(res[1]);
	return rc;
}

static void fill_change(struct hz_batch *b, const struct hz_merged *m, int64_t outbox_id,
			int64_t now_us)
{
	struct hz_change *c = &b->chg[b->n_chg++];
	memset(c, 0, sizeof(*c));
	c->outbox_id = outbox_id;
	const struct hz_intent *cause =
		m->level_changed || m->is_new || m->closed || m->history ? m->top : m->last;
	copy_field(c->reason, sizeof(c->reason), cause->reason);
	copy_field(c->cause, sizeof(c->cause), cause->event_id);
	memcpy(c->episode_key, m->episode_key, sizeof(c->episode_key));
	struct hz_ticket_event *te = &c->te;
	snprintf(te->event_id, sizeof(te->event_id), "te-%lld", (long long)outbox_id);
	te->emitted_us = now_us;
	te->tk = m->tk;
	te->from_state = m->from_state;
	te->change = m->is_new && !m->closed	? "opened"
		     : m->cleared		? "cleared"
		     : m->closed		? "closed"
		     : m->flapping		? "flapping"
		     : m->confirmed		? "confirmed"
		     : m->level_changed		? "level"
		     : m->top->op == HZ_OP_UPDATE ? "updated"
						: "joined";
	te->actor = "hazardd";
	te->reason = c->reason;
	te->cause_event_id = c->cause;
	/* a new ticket starts call-and-respond with the deadline it is written with */
}

static int write_tickets(struct hz_batch *b, PGconn *pg, const struct hz_batch_topics *topics,
			 int64_t now_us, char *err, size_t errlen)
{
	int rc;
	size_t n_new = 0;
	for (size_t i = 0; i < b->n_merged; i++)
		n_new += b->merged[i].is_new;
	/* ids: new tickets first, then one outbox row per touched ticket */
	int64_t *ids = calloc(n_new + b->n_merged + 1, sizeof(*ids));
	if (!ids)
		return HZ_ENOMEM;
	if (n_new && (rc = hz_store_draw_ids(pg, "hazard.tickets_ticket_id_seq", n_new, ids, err, errlen)))
		goto out;
	if ((rc = hz_store_draw_ids(pg, "hazard.outbox_id_seq", b->n_merged, ids + n_new, err,
				    errlen)))
		goto out;
	if ((rc = pipe_begin(b, pg, err, errlen)))
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < b->n_merged; i++)
		if (b->merged[i].is_new)
			b->merged[i].tk.ticket_id = ids[k++];

	struct hz_buf *a = b->arr;
	/* new tickets */
	if (n_new) {
		for (int i = 0; i < 24; i++)
			hz_pgarr_begin(&a[i]);
		for (size_t i = 0; i < b->n_merged; i++) {
			const struct hz_merged *m = &b->merged[i];
			if (!m->is_new)
				continue;
			hz_pgarr_time(&a[16], m->ack_due_us);
			hz_pgarr_text(&a[17], hz_state_name(m->tk.state));
			/* the first close-out reminder still ahead, by the
			 * database's clock (now_us): past ones are skipped */
			int64_t before = 0, rdue = 0;
			if (m->tk.kind == HZ_KIND_HAZARD)
				rdue = hz_reminder_next(topics->reminder_us, topics->n_reminder,
							m->tk.deadline_us, INT64_MAX, now_us, &before);
			hz_pgarr_time(&a[20], rdue);
			if (rdue)
				hz_pgarr_int(&a[21], before);
			else
				hz_pgarr_text(&a[21], NULL);
			/* the opening event's partition owns the ticket's timers */
			hz_pgarr_text(&a[22], m->first->src.topic);
			if (m->first->src.topic)
				hz_pgarr_int(&a[23], m->first->src.partition);
			else
				hz_pgarr_text(&a[23], NULL);
			const struct hz_ticket *tk = &m->tk;
			hz_pgarr_int(&a[0], tk->ticket_id);
			hz_pgarr_text(&a[1], hz_kind_name(tk->kind));
			hz_pgarr_text(&a[2], hz_level_name(tk->level));
			hz_pgarr_opt(&a[3], tk->site_id);
			hz_pgarr_opt(&a[4], tk->town_code);
			hz_pgarr_opt(&a[5], tk->county_code);
			hz_pgarr_text(&a[6], tk->hazard_type);
			hz_pgarr_text(&a[7], hz_tier_name(tk->tier));
			hz_pgarr_opt(&a[8], tk->device_id);
			hz_pgarr_text(&a[9], m->episode_key);
			hz_pgarr_text(&a[10], hz_mode_name(tk->mode));
			hz_pgarr_int(&a[11], now_us);
			hz_pgarr_time(&a[12], tk->deadline_us);
			hz_pgarr_int(&a[13], tk->event_count);
			hz_pgarr_text(&a[14], m->first->event_id);
			hz_pgarr_text(&a[15], m->last->event_id);
			hz_pgarr_int(&a[18], m->silenced_events);
			hz_pgarr_int(&a[19], m->held_events);
		}
		const char *p[24];
		for (int i = 0; i < 24; i++)
			p[i] = hz_pgarr_end(&a[i]);
		if ((rc = run(b, pg, "opening tickets", SQL_INSERT_TICKETS, 24, p, err, errlen)))
			goto out;
	}
	/* existing tickets */
	if (n_new < b->n_merged) {
		for (int i = 0; i < 11; i++)
			hz_pgarr_begin(&a[i]);
		for (size_t i = 0; i < b->n_merged; i++) {
			const struct hz_merged *m = &b->merged[i];
			if (m->is_new)
				continue;
			hz_pgarr_int(&a[9], m->silenced_events);
			hz_pgarr_int(&a[10], m->held_events);
			hz_pgarr_time(&a[5], m->ack_due_us);
			hz_pgarr_text(&a[8], m->flapping ? "t" : "f");
			hz_pgarr_text(&a[6], hz_state_name(m->tk.state));
			/* only a warning update moves the deadline */
			hz_pgarr_time(&a[7], m->top->op == HZ_OP_UPDATE ? m->tk.deadline_us : 0);
			hz_pgarr_int(&a[0], m->tk.ticket_id);
			hz_pgarr_text(&a[1], hz_level_name(m->tk.level));
			hz_pgarr_int(&a[2], m->added_events);
			hz_pgarr_int(&a[3], now_us);
			hz_pgarr_text(&a[4], m->last->event_id);
		}
		const char *p[11];
		for (int i = 0; i < 11; i++)
			p[i] = hz_pgarr_end(&a[i]);
		if ((rc = run(b, pg, "updating tickets", SQL_UPDATE_TICKETS, 11, p, err, errlen)))
			goto out;
	}
	/* history: opened, level raised (the hash chain is the trigger's, sql/014) */
	for (int i = 0; i < 10; i++)
		hz_pgarr_begin(&a[i]);
	size_t n_hist = 0;
	for (size_t i = 0; i < b->n_merged; i++) {
		const struct hz_merged *m = &b->merged[i];
		if (!m->history)
			continue;
		/* a new ticket that cleared in its batch: opened, then closed */
		enum hz_state first = m->clr ? (m->confirmed ? HZ_STATE_CONFIRMED : HZ_STATE_DISCOVERED)
					     : m->tk.state;
		for (int row = 0; row < (m->clr ? 2 : 1); row++) {
			const struct hz_intent *why = row ? m->clr : m->top;
			n_hist++;
			hz_pgarr_int(&a[0], m->tk.ticket_id);
			hz_pgarr_int(&a[1], m->next_seq + row);
			hz_pgarr_int(&a[2], now_us);
			hz_pgarr_text(&a[3], row	   ? hz_state_name(first)
					     : m->is_new ? NULL
							 : hz_state_name(m->from_state));
			hz_pgarr_text(&a[4], hz_state_name(row ? m->tk.state : first));
			hz_pgarr_text(&a[5], hz_level_name(m->tk.level));
			hz_pgarr_text(&a[6], hz_tier_name(m->tk.tier));
			hz_pgarr_text(&a[7], why->reason);
			hz_pgarr_text(&a[8], why->event_id);
			hz_pgarr_text(&a[9], hz_mode_name(m->tk.mode));
		}
	}
	if (n_hist) {
		const char *p[10];
		for (int i = 0; i < 10; i++)
			p[i] = hz_pgarr_end(&a[i]);
		if ((rc = run(b, pg, "appending ticket history", SQL_HISTORY, 10, p, err, errlen)))
			goto out;
	}
	/* every fresh event, once per ticket it joined */
	for (int i = 0; i < 5; i++)
		hz_pgarr_begin(&a[i]);
	for (size_t i = 0; i < b->n_merged; i++) {
		const struct hz_merged *m = &b->merged[i];
		for (size_t j = m->begin; j < m->end; j++) {
			const struct hz_intent *in = &b->in[b->order[j]];
			const char *ev = in->event_id;
			bool dup = false;
			for (size_t q = m->begin; q < j && !dup; q++)
				dup = !strcmp(b->in[b->order[q]].event_id, ev);
			if (dup)
				continue;
			hz_pgarr_text(&a[0], ev);
			hz_pgarr_int(&a[1], m->tk.ticket_id);
			hz_pgarr_text(&a[2], in->held ? "held" : in->silence_id ? "silenced" : NULL);
			hz_pgarr_time(&a[3], in->silence_id); /* 0 -> NULL */
			hz_pgarr_text(&a[4], hz_mode_name(in->mode));
		}
	}
	{
		const char *p[] = {hz_pgarr_end(&a[0]), hz_pgarr_end(&a[1]), hz_pgarr_end(&a[2]),
				   hz_pgarr_end(&a[3]), hz_pgarr_end(&a[4])};
		if ((rc = run(b, pg, "recording ticket events", SQL_EVENTS, 5, p, err, errlen)))
			goto out;
	}
	/* outbox: one TicketEvent per touched ticket */
	for (int i = 0; i < 5; i++)
		hz_pgarr_begin(&a[i]);
	for (size_t i = 0; i < b->n_merged; i++) {
		const struct hz_merged *m = &b->merged[i];
		fill_change(b, m, ids[n_new + i], now_us);
		const struct hz_change *c = &b->chg[b->n_chg - 1];
		hz_buf_clear(&b->payload);
		if (hz_codec_encode_ticket_event(&c->te, HZ_CT_PROTOBUF, &b->payload)) {
			hz_errf(err, errlen, "could not encode ticket event %s", c->te.event_id);
			rc = HZ_ERR;
			goto out;
		}
		char key[24], topic[256];
		snprintf(key, sizeof(key), "%lld", (long long)m->tk.ticket_id);
		snprintf(topic, sizeof(topic), "%s/out/tickets/%s", topics->mqtt_prefix,
			 *m->tk.town_code ? m->tk.town_code : "unknown");
		hz_pgarr_int(&a[0], c->outbox_id);
		hz_pgarr_text(&a[1], key);
		hz_pgarr_text(&a[2], topic);
		hz_pgarr_text(&a[3], topics->kafka_tickets);
		hz_pgarr_bytea(&a[4], b->payload.data, b->payload.len);
	}
	{
		const char *p[5];
		for (int i = 0; i < 5; i++)
			p[i] = hz_pgarr_end(&a[i]);
		rc = run(b, pg, "writing the outbox", SQL_OUTBOX, 5, p, err, errlen);
	}
out:
	free(ids);
	return rc;
}

static int tx_body(struct hz_batch *b, PGconn *pg, const struct hz_batch_topics *topics,
		   char *err, size_t errlen)
{
	int rc;
	if (b->n_in) {
		int64_t now_us = 0;
		if ((rc = ensure_scratch(b)))
			return rc;
		if ((rc = read_phase(b, pg, &now_us, err, errlen)))
			return rc;
		hz_tickets_unhold(b->in, b->fresh, b->n_in, b->open, b->n_open);
		b->n_merged = hz_tickets_merge(b->in, b->fresh, b->n_in, b->open, b->n_open, now_us,
					       topics->rules, b->order, b->merged);
		if (b->n_merged && (rc = write_tickets(b, pg, topics, now_us, err, errlen)))
			return rc;
	}
	if ((rc = pipe_begin(b, pg, err, errlen)))
		return rc;
	if (b->n_dead && (rc = dead_letters(b, pg, topics, err, errlen)))
		return rc;
	if ((b->n_pos || b->n_done || b->n_seen) && (rc = positions(b, pg, err, errlen)))
		return rc;
	return run(b, pg, "COMMIT", "COMMIT", 0, NULL, err, errlen);
}

int hz_batch_commit(struct hz_batch *b, PGconn *pg, const struct hz_batch_topics *topics,
		    char *err, size_t errlen)
{
	b->n_chg = 0;
	if (hz_batch_empty(b))
		return HZ_OK;
	if (!b->n_in && !b->n_dead)
		return positions(b, pg, err, errlen); /* one statement, its own transaction */
	/* BEGIN goes out with the first statements after it, not alone */
	int rc = pipe_begin(b, pg, err, errlen);
	if (!rc)
		rc = run(b, pg, "BEGIN", "BEGIN", 0, NULL, err, errlen);
	if (!rc)
		rc = tx_body(b, pg, topics, err, errlen);
	int rc2 = pipe_end(b, pg, err, rc ? 0 : errlen); /* keep the first error's text */
	if (!rc)
		rc = rc2;
	if (rc) {
		if (PQtransactionStatus(pg) != PQTRANS_IDLE) {
			PGresult *res = PQexec(pg, "ROLLBACK");
			PQclear(res);
		}
		b->n_chg = 0;
		return rc;
	}
	/* A COMMIT whose answer was lost leaves us not knowing: report it as
	 * transient; the replay is recognised by event id and position. */
	return rc;
}

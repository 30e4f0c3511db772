/*
 * verify.c - recompute the hash chain of hazard.ticket_history in C and
 * report every break (`hazardctl verify`).
 *
 * Independent of the trigger that wrote the hashes (sql/014): the rows are
 * read as stored and their canonical bytes rebuilt and hashed here with
 * OpenSSL, so a bug or a tampered function in the database cannot vouch
 * for itself. O(rows): one streamed query (single-row mode), ordered by the
 * primary key; memory holds one row and the breaks found. It does not
 * repair anything, and it cannot see the removal of a ticket's newest rows
 * (nothing after them links to them).
 */
#include "store/verify.h"
#include "store/pg.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int netstring(struct hz_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (hz_buf_appendf(b, "%zu:", n) || hz_buf_append(b, s ? s : "", n) ||
	    hz_buf_append(b, ",", 1))
		return HZ_ENOMEM;
	return HZ_OK;
}

static int netstring_int(struct hz_buf *b, long long v)
{
	char num[24];
	snprintf(num, sizeof(num), "%lld", v);
	return netstring(b, num);
}

int hz_history_canon(const struct hz_history_fields *f, struct hz_buf *out)
{
	hz_buf_clear(out);
	if (netstring(out, "th1") || netstring_int(out, f->ticket_id) ||
	    netstring_int(out, f->seq) || netstring_int(out, f->at_us) ||
	    netstring(out, f->from_state) || netstring(out, f->to_state) ||
	    netstring(out, f->level) || netstring(out, f->tier) || netstring(out, f->actor) ||
	    netstring(out, f->reason) || netstring(out, f->event_id) || netstring(out, f->mode) ||
	    netstring(out, f->action) || netstring(out, f->actor_tier))
		return HZ_ENOMEM;
	if (f->has_acted ? netstring_int(out, f->acted_us) : netstring(out, NULL))
		return HZ_ENOMEM;
	if (netstring(out, f->note))
		return HZ_ENOMEM;
	/* the URLs as netstrings, that text as one field */
	struct hz_buf ev = HZ_BUF_INIT;
	int rc = HZ_OK;
	for (size_t i = 0; i < f->n_evidence && !rc; i++)
		rc = netstring(&ev, f->evidence[i]);
	if (!rc && hz_buf_append(&ev, "", 1))
		rc = HZ_ENOMEM;
	if (!rc)
		rc = netstring(out, f->n_evidence ? (const char *)ev.data : NULL);
	hz_buf_free(&ev);
	if (rc || netstring(out, f->assignee) || netstring(out, f->flags) ||
	    netstring(out, f->prev_hash_hex))
		return HZ_ENOMEM;
	return HZ_OK;
}

int hz_history_hash_hex(const struct hz_history_fields *f, struct hz_buf *scratch,
			char hex[HZ_HASH_HEX])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (hz_history_canon(f, scratch))
		return HZ_ENOMEM;
	if (!EVP_Digest(scratch->data, scratch->len, md, &len, EVP_sha256(), NULL) || len != 32)
		return HZ_ERR;
	for (unsigned int i = 0; i < len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return HZ_OK;
}

const char *hz_verify_what_name(enum hz_verify_what w)
{
	switch (w) {
	case HZ_VERIFY_HASH: return "hash mismatch";
	case HZ_VERIFY_MISSING: return "missing seq";
	case HZ_VERIFY_PREV: return "previous hash mismatch";
	}
	return "?";
}

void hz_verify_result_free(struct hz_verify_result *res)
{
	if (!res)
		return;
	free(res->breaks);
	memset(res, 0, sizeof(*res));
}

static int add_break(struct hz_verify_result *res, int64_t ticket_id, int seq,
		     enum hz_verify_what what, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int add_break(struct hz_verify_result *res, int64_t ticket_id, int seq,
		     enum hz_verify_what what, const char *fmt, ...)
{
	if (res->n_breaks == res->cap_breaks) {
		size_t nc = res->cap_breaks ? res->cap_breaks * 2 : 16;
		struct hz_verify_break *nb = realloc(res->breaks, nc * sizeof(*nb));
		if (!nb)
			return HZ_ENOMEM;
		res->breaks = nb;
		res->cap_breaks = nc;
	}
	struct hz_verify_break *b = &res->breaks[res->n_breaks++];
	b->ticket_id = ticket_id;
	b->seq = seq;
	b->what = what;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
	va_end(ap);
	return HZ_OK;
}

/* The chain state of the ticket being read. */
struct chain {
	int64_t ticket_id; /* 0 before the first row */
	int last_seq;      /* 0: no row of this ticket seen yet */
	char last_hash[HZ_HASH_HEX];
	bool have_last;    /* last_hash is the previous row's stored hash */
};

static const char *col(const PGresult *r, int c)
{
	return PQgetisnull(r, 0, c) ? NULL : PQgetvalue(r, 0, c);
}

/* Columns: ticket_id, seq, anchor, at_us, from_state, to_state, level, tier,
 * actor, reason, event_id, mode, prev_hash hex, hash hex. */
static int check_row(const PGresult *r, bool since, struct chain *ch, struct hz_buf *scratch,
		     struct hz_verify_result *res)
{
	struct hz_history_fields f = {
		.ticket_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10),
		.seq = atoi(PQgetvalue(r, 0, 1)),
		.at_us = strtoll(PQgetvalue(r, 0, 3), NULL, 10),
		.from_state = col(r, 4),
		.to_state = col(r, 5),
		.level = col(r, 6),
		.tier = col(r, 7),
		.actor = col(r, 8),
		.reason = col(r, 9),
		.event_id = col(r, 10),
		.mode = col(r, 11),
		.prev_hash_hex = col(r, 12),
		.action = col(r, 14),
		.actor_tier = col(r, 15),
		.has_acted = !PQgetisnull(r, 0, 16),
		.acted_us = PQgetisnull(r, 0, 16) ? 0 : strtoll(PQgetvalue(r, 0, 16), NULL, 10),
		.note = col(r, 17),
		.assignee = col(r, 19),
		.flags = col(r, 20),
	};
	/* evidence_urls as a JSON array (jansson parses it, not our own code) */
	const char *urls[64];
	json_t *ev = NULL;
	if (!PQgetisnull(r, 0, 18)) {
		ev = json_loads(PQgetvalue(r, 0, 18), 0, NULL);
		size_t i;
		json_t *u;
		json_array_foreach(ev, i, u)
		{
			if (f.n_evidence < HZ_ARRAY_LEN(urls) && json_is_string(u))
				urls[f.n_evidence++] = json_string_value(u);
		}
		f.evidence = urls;
	}
	const char *stored = col(r, 13);
	bool anchor = *PQgetvalue(r, 0, 2) == 't';
	int rc = HZ_OK;
	if (f.ticket_id != ch->ticket_id) {
		ch->ticket_id = f.ticket_id;
		ch->last_seq = 0;
		ch->have_last = false;
		if (!anchor)
			res->tickets++;
	}
	if (anchor) { /* the row before the window: only its hash is used */
		json_decref(ev);
		ch->last_seq = f.seq;
		snprintf(ch->last_hash, sizeof(ch->last_hash), "%s", stored ? stored : "");
		ch->have_last = stored != NULL;
		return HZ_OK;
	}
	res->rows++;
	int expect = ch->last_seq + 1;
	bool linked = true;
	if (ch->last_seq == 0 && since && f.seq > 1) {
		/* the window's first row, and the row before it is gone */
		rc = add_break(res, f.ticket_id, f.seq - 1, HZ_VERIFY_MISSING,
			       "seq %d is missing (the row before seq %d)", f.seq - 1, f.seq);
		linked = false;
	} else if (f.seq != expect) {
		rc = add_break(res, f.ticket_id, expect, HZ_VERIFY_MISSING,
			       f.seq - 1 == expect ? "seq %d is missing (next row is seq %d)"
						   : "seq %d to %d are missing",
			       expect, f.seq - 1 == expect ? f.seq : f.seq - 1);
		linked = false;
	}
	if (!rc && linked) {
		const char *prev = f.prev_hash_hex && *f.prev_hash_hex ? f.prev_hash_hex : NULL;
		if (f.seq == 1 ? prev != NULL
			       : (!prev || !ch->have_last || strcmp(prev, ch->last_hash) != 0))
			rc = add_break(res, f.ticket_id, f.seq, HZ_VERIFY_PREV,
				       "prev_hash %.16s... is not the hash of seq %d (%.16s...)",
				       prev ? prev : "(none)", f.seq - 1,
				       f.seq == 1 ? "(none: seq 1)"
				       : ch->have_last ? ch->last_hash : "(none)");
	}
	if (!rc) {
		char hex[HZ_HASH_HEX];
		rc = hz_history_hash_hex(&f, scratch, hex);
		json_decref(ev);
		ev = NULL;
		if (!rc && (!stored || strcmp(stored, hex) != 0))
			rc = add_break(res, f.ticket_id, f.seq, HZ_VERIFY_HASH,
				       "stored hash %.16s... but the row hashes to %.16s...",
				       stored ? stored : "(none)", hex);
	}
	json_decref(ev);
	ch->last_seq = f.seq;
	snprintf(ch->last_hash, sizeof(ch->last_hash), "%s", stored ? stored : "");
	ch->have_last = stored != NULL;
	return rc;
}

#define ROW_COLS                                                                              \
	"h.ticket_id, h.seq, %s, (extract(epoch FROM h.at) * 1000000)::int8, h.from_state, "   \
	"h.to_state, h.level, h.tier, h.actor, h.reason, h.event_id, h.mode, "                 \
	"encode(h.prev_hash, 'hex'), encode(h.hash, 'hex'), h.action, h.actor_tier, "          \
	"(extract(epoch FROM h.acted_at) * 1000000)::int8, h.note, array_to_json(h.evidence_urls), " \
	"h.assignee, h.flags"

static int stream_rows(PGconn *pg, const struct hz_verify_opts *o, struct hz_verify_result *res,
		       char *err, size_t errlen)
{
	char sql[1024], id[24], since[24];
	const char *params[2];
	int np = 0;
	snprintf(id, sizeof(id), "%lld", (long long)o->ticket_id);
	snprintf(since, sizeof(since), "%lld", (long long)o->since_us);
	if (!o->since_us) {
		int n = snprintf(sql, sizeof(sql), "SELECT " ROW_COLS " FROM hazard.ticket_history h",
				 "false");
		if (o->ticket_id) {
			params[np++] = id;
			snprintf(sql + n, sizeof(sql) - (size_t)n, " WHERE h.ticket_id = $1::int8");
		}
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " ORDER BY h.ticket_id, h.seq");
	} else {
		params[np++] = since;
		if (o->ticket_id)
			params[np++] = id;
		snprintf(sql, sizeof(sql),
			 "WITH w AS (SELECT ticket_id, min(seq) AS first FROM hazard.ticket_history "
			 "WHERE at >= timestamptz 'epoch' + $1::int8 * interval '1 microsecond'%s "
			 "GROUP BY ticket_id) SELECT " ROW_COLS " FROM hazard.ticket_history h "
			 "JOIN w ON w.ticket_id = h.ticket_id AND h.seq >= w.first - 1 "
			 "ORDER BY h.ticket_id, h.seq",
			 o->ticket_id ? " AND ticket_id = $2::int8" : "", "h.seq < w.first");
	}
	if (!PQsendQueryParams(pg, sql, np, NULL, params, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(pg)) {
		hz_errf(err, errlen, "could not read the ticket history: %s", PQerrorMessage(pg));
		return hz_pg_is_transient(pg, NULL) ? HZ_ETRANSIENT : HZ_ERR;
	}
	struct chain ch = {0};
	struct hz_buf scratch = HZ_BUF_INIT;
	int rc = HZ_OK;
	PGresult *r;
	while ((r = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE) {
			if (rc == HZ_OK)
				rc = check_row(r, o->since_us != 0, &ch, &scratch, res);
		} else if (st != PGRES_TUPLES_OK && rc == HZ_OK) {
			rc = hz_pg_check(pg, r, PGRES_TUPLES_OK, "could not read the ticket history",
					 err, errlen);
		}
		PQclear(r); /* keep reading: the connection must drain */
	}
	if (rc == HZ_ENOMEM)
		hz_errf(err, errlen, "out of memory");
	else if (rc == HZ_ERR && err && errlen && !*err)
		hz_errf(err, errlen, "could not compute SHA-256 (OpenSSL)");
	hz_buf_free(&scratch);
	return rc;
}

/* Tickets without a single history row: their seq 1 is missing. */
static int empty_tickets(PGconn *pg, const struct hz_verify_opts *o, struct hz_verify_result *res,
			 char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)o->ticket_id);
	const char *params[] = {id};
	int rc;
	PGresult *r = hz_pg_query(
		pg, "could not read the tickets",
		o->ticket_id ? "SELECT t.ticket_id FROM hazard.tickets t WHERE t.ticket_id = $1::int8 "
			       "AND NOT EXISTS (SELECT 1 FROM hazard.ticket_history h "
			       "WHERE h.ticket_id = t.ticket_id)"
			     : "SELECT t.ticket_id FROM hazard.tickets t WHERE NOT EXISTS "
			       "(SELECT 1 FROM hazard.ticket_history h WHERE h.ticket_id = "
			       "t.ticket_id) ORDER BY 1",
		o->ticket_id ? 1 : 0, o->ticket_id ? params : NULL, &rc, err, errlen);
	if (!r)
		return rc;
	for (int i = 0; i < PQntuples(r) && rc == HZ_OK; i++) {
		res->tickets++;
		rc = add_break(res, strtoll(PQgetvalue(r, i, 0), NULL, 10), 1, HZ_VERIFY_MISSING,
			       "the ticket has no history rows at all");
	}
	PQclear(r);
	if (rc == HZ_ENOMEM)
		hz_errf(err, errlen, "out of memory");
	return rc;
}

static int ticket_exists(PGconn *pg, int64_t ticket_id, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)ticket_id);
	const char *params[] = {id};
	int rc;
	PGresult *r = hz_pg_query(pg, "could not read the tickets",
				  "SELECT 1 FROM hazard.tickets WHERE ticket_id = $1::int8", 1, params,
				  &rc, err, errlen);
	if (!r)
		return rc;
	int n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		hz_errf(err, errlen, "ticket %lld does not exist", (long long)ticket_id);
		return HZ_ENOTFOUND;
	}
	return HZ_OK;
}

int hz_store_verify_history(PGconn *pg, const struct hz_verify_opts *opts,
			    struct hz_verify_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	if (err && errlen)
		*err = '\0';
	int rc = HZ_OK;
	if (opts->ticket_id)
		rc = ticket_exists(pg, opts->ticket_id, err, errlen);
	if (!rc)
		rc = stream_rows(pg, opts, res, err, errlen);
	if (!rc && !opts->since_us)
		rc = empty_tickets(pg, opts, res, err, errlen);
	return rc;
}

void hz_verify_print(FILE *out, const struct hz_verify_result *res, bool json)
{
	if (json) {
		json_t *j = json_object(), *arr = json_array();
		json_object_set_new(j, "intact", json_boolean(res->n_breaks == 0));
		json_object_set_new(j, "rows", json_integer(res->rows));
		json_object_set_new(j, "tickets", json_integer(res->tickets));
		for (size_t i = 0; i < res->n_breaks; i++) {
			const struct hz_verify_break *b = &res->breaks[i];
			json_t *o = json_object();
			json_object_set_new(o, "ticket_id", json_integer(b->ticket_id));
			json_object_set_new(o, "seq", json_integer(b->seq));
			json_object_set_new(o, "what", json_string(hz_verify_what_name(b->what)));
			json_object_set_new(o, "detail", json_string(b->detail));
			json_array_append_new(arr, o);
		}
		json_object_set_new(j, "breaks", arr);
		json_dumpf(j, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(j);
		return;
	}
	for (size_t i = 0; i < res->n_breaks; i++) {
		const struct hz_verify_break *b = &res->breaks[i];
		fprintf(out, "ticket %lld seq %d: %s: %s\n", (long long)b->ticket_id, b->seq,
			hz_verify_what_name(b->what), b->detail);
	}
	if (res->n_breaks)
		fprintf(out, "history BROKEN: %zu break%s in %lld rows of %lld tickets\n",
			res->n_breaks, res->n_breaks == 1 ? "" : "s", (long long)res->rows,
			(long long)res->tickets);
	else
		fprintf(out, "history intact: %lld rows of %lld tickets verified\n",
			(long long)res->rows, (long long)res->tickets);
}

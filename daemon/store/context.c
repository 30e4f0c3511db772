/*
 * store/context.c - hazard.silences (add, cancel, list) and the loads of
 * the daemon's context snapshot. Times are the database's: a silence
 * starts at now() of the transaction that records it.
 *
 * Per call a few small statements; nothing here is on the message path.
 */
#include "store/context.h"
#include "store/pg.h"
#include "store/pgtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const target_names[] = {"", "device", "site", "org"};

const char *hz_silence_target_name(enum hz_silence_target k)
{
	return (unsigned)k < HZ_ARRAY_LEN(target_names) && k ? target_names[k] : "invalid";
}

enum hz_silence_target hz_silence_target_parse(const char *s)
{
	for (size_t i = 1; i < HZ_ARRAY_LEN(target_names); i++)
		if (!strcmp(s, target_names[i]))
			return (enum hz_silence_target)i;
	return 0;
}

/* The end and whether the target exists, both as the database sees them. */
static const char SQL_SILENCE_CHECK[] =
	"SELECT CASE $1 WHEN 'device' THEN EXISTS (SELECT 1 FROM hazard.devices WHERE device_id = $2) "
	"WHEN 'site' THEN EXISTS (SELECT 1 FROM hazard.sites WHERE site_id = $2) "
	"ELSE EXISTS (SELECT 1 FROM hazard.org_units WHERE code = $2) END, "
	"e.ends > now(), e.ends <= now() + interval '30 days' "
	"FROM (SELECT coalesce(now() + $3::int8 * interval '1 microsecond', "
	"timestamptz 'epoch' + $4::int8 * interval '1 microsecond') AS ends) e";

static const char SQL_SILENCE_ADD[] =
	"INSERT INTO hazard.silences (target_kind, target_id, starts_at, ends_at, actor, reason) "
	"VALUES ($1, $2, now(), coalesce(now() + $3::int8 * interval '1 microsecond', "
	"timestamptz 'epoch' + $4::int8 * interval '1 microsecond'), $5, $6) "
	"RETURNING silence_id, " HZ_SQL_US("ends_at");

int hz_store_silence_add(PGconn *pg, const struct hz_silence_req *req, int64_t *id,
			 int64_t *ends_us, char *err, size_t errlen)
{
	const char *kind = hz_silence_target_name(req->kind);
	if (!req->kind || (unsigned)req->kind >= HZ_ARRAY_LEN(target_names)) {
		hz_errf(err, errlen, "a silence needs a device, a site or an org unit");
		return HZ_EINVAL;
	}
	if (!req->target || !*req->target || strlen(req->target) >= HZ_ID_MAX) {
		hz_errf(err, errlen, "invalid %s id \"%s\"", kind, req->target ? req->target : "");
		return HZ_EINVAL;
	}
	if (!req->reason || !*req->reason || strlen(req->reason) > 500) {
		hz_errf(err, errlen, "a silence needs a reason (at most 500 bytes)");
		return HZ_EINVAL;
	}
	if (!req->actor || !*req->actor || strlen(req->actor) >= HZ_ID_MAX) {
		hz_errf(err, errlen, "a silence needs an actor (at most 63 bytes)");
		return HZ_EINVAL;
	}
	if ((req->for_us != 0) == (req->until_us != 0) || req->for_us < 0) {
		hz_errf(err, errlen, "a silence needs either a duration or an end time");
		return HZ_EINVAL;
	}
	if (req->for_us > HZ_SILENCE_MAX_US) {
		hz_errf(err, errlen, "a silence lasts at most 30 days");
		return HZ_EINVAL;
	}
	if (!hz_utf8_valid(req->target, strlen(req->target)) ||
	    !hz_utf8_valid(req->reason, strlen(req->reason)) ||
	    !hz_utf8_valid(req->actor, strlen(req->actor))) {
		hz_errf(err, errlen, "target, actor and reason must be UTF-8 text");
		return HZ_EINVAL;
	}
	char f[24], u[24];
	snprintf(f, sizeof(f), "%lld", (long long)req->for_us);
	snprintf(u, sizeof(u), "%lld", (long long)req->until_us);
	const char *p[] = {kind, req->target, req->for_us ? f : NULL, req->until_us ? u : NULL,
			   req->actor, req->reason};
	int rc;
	PGresult *res = hz_pg_query(pg, "checking the silence", SQL_SILENCE_CHECK, 4, p, &rc, err,
				    errlen);
	if (!res)
		return rc;
	bool known = *PQgetvalue(res, 0, 0) == 't', future = *PQgetvalue(res, 0, 1) == 't',
	     bounded = *PQgetvalue(res, 0, 2) == 't';
	PQclear(res);
	if (!known) {
		hz_errf(err, errlen, "unknown %s \"%s\"", kind == target_names[3] ? "org unit" : kind,
			req->target);
		return HZ_ENOTFOUND;
	}
	if (!future) {
		hz_errf(err, errlen, "the silence would end in the past");
		return HZ_EINVAL;
	}
	if (!bounded) {
		hz_errf(err, errlen, "a silence lasts at most 30 days");
		return HZ_EINVAL;
	}
	res = hz_pg_query(pg, "recording the silence", SQL_SILENCE_ADD, 6, p, &rc, err, errlen);
	if (!res)
		return rc;
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (ends_us)
		*ends_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return HZ_OK;
}

int hz_store_silence_cancel(PGconn *pg, int64_t id, const char *actor, char *err, size_t errlen)
{
	char sid[24];
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	const char *p[] = {sid, actor};
	int rc;
	PGresult *res = hz_pg_query(
		pg, "cancelling the silence",
		"UPDATE hazard.silences SET cancelled = true, cancelled_at = now(), cancelled_by = $2 "
		"WHERE silence_id = $1::int8 AND NOT cancelled AND ends_at > now() RETURNING silence_id",
		2, p, &rc, err, errlen);
	if (!res)
		return rc;
	int n = PQntuples(res);
	PQclear(res);
	if (n == 1)
		return HZ_OK;
	res = hz_pg_query(pg, "reading the silence",
			  "SELECT cancelled FROM hazard.silences WHERE silence_id = $1::int8", 1, p,
			  &rc, err, errlen);
	if (!res)
		return rc;
	if (PQntuples(res) == 0) {
		hz_errf(err, errlen, "silence %lld does not exist", (long long)id);
		rc = HZ_ENOTFOUND;
	} else {
		hz_errf(err, errlen, "silence %lld is already %s", (long long)id,
			*PQgetvalue(res, 0, 0) == 't' ? "cancelled" : "over");
		rc = HZ_EINVAL;
	}
	PQclear(res);
	return rc;
}

static void silence_cols(PGresult *res, int r, struct hz_silence *s)
{
	s->silence_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	s->kind = hz_silence_target_parse(PQgetvalue(res, r, 1));
	snprintf(s->target, sizeof(s->target), "%s", PQgetvalue(res, r, 2));
	s->starts_us = strtoll(PQgetvalue(res, r, 3), NULL, 10);
	s->ends_us = strtoll(PQgetvalue(res, r, 4), NULL, 10);
}

int hz_store_silences_list(PGconn *pg, bool active_only, long limit,
			   struct hz_silence_row **rows, size_t *n, char *err, size_t errlen)
{
	char lim[24];
	snprintf(lim, sizeof(lim), "%ld", limit > 0 ? limit : 100);
	const char *p[] = {active_only ? "t" : "f", lim};
	int rc;
	PGresult *res = hz_pg_query(
		pg, "listing silences",
		"SELECT silence_id, target_kind, target_id, " HZ_SQL_US("starts_at") ", " HZ_SQL_US("ends_at") ", "
		"actor, reason, " HZ_SQL_US("created_at") ", cancelled, "
		"NOT cancelled AND now() >= starts_at AND now() < ends_at "
		"FROM hazard.silences WHERE NOT $1::bool OR (NOT cancelled AND ends_at > now()) "
		"ORDER BY silence_id DESC LIMIT $2::int8",
		2, p, &rc, err, errlen);
	if (!res)
		return rc;
	size_t k = (size_t)PQntuples(res);
	*rows = calloc(k ? k : 1, sizeof(**rows));
	if (!*rows) {
		PQclear(res);
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		struct hz_silence_row *row = &(*rows)[i];
		silence_cols(res, (int)i, &row->s);
		snprintf(row->actor, sizeof(row->actor), "%s", PQgetvalue(res, (int)i, 5));
		snprintf(row->reason, sizeof(row->reason), "%s", PQgetvalue(res, (int)i, 6));
		row->created_us = strtoll(PQgetvalue(res, (int)i, 7), NULL, 10);
		row->cancelled = *PQgetvalue(res, (int)i, 8) == 't';
		row->active = *PQgetvalue(res, (int)i, 9) == 't';
	}
	*n = k;
	PQclear(res);
	return HZ_OK;
}

int hz_store_context_load_silences(PGconn *pg, struct hz_context *c, char *err, size_t errlen)
{
	int rc;
	PGresult *res = hz_pg_query(pg, "loading silences",
				    "SELECT silence_id, target_kind, target_id, " HZ_SQL_US("starts_at") ", "
				    HZ_SQL_US("ends_at") " FROM hazard.silences "
				    "WHERE NOT cancelled AND ends_at > now()",
				    0, NULL, &rc, err, errlen);
	if (!res)
		return rc;
	size_t n = (size_t)PQntuples(res);
	struct hz_silence *s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		PQclear(res);
		hz_errf(err, errlen, "out of memory loading silences");
		return HZ_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		silence_cols(res, (int)i, &s[i]);
	PQclear(res);
	rc = hz_context_set_silences(c, s, n);
	free(s);
	if (rc)
		hz_errf(err, errlen, "out of memory loading silences");
	return rc;
}

int hz_store_context_load_tickets(PGconn *pg, const struct hz_rules *r, struct hz_context *c,
				  char *err, size_t errlen)
{
	char types[HZ_CTX_TYPES_MAX * HZ_TYPE_MAX * 4];
	hz_context_types_literal(r, types, sizeof(types));
	if (!strcmp(types, "{}"))
		return hz_context_set_tickets(c, NULL, 0);
	const char *p[] = {types};
	int rc;
	PGresult *res = hz_pg_query(
		pg, "loading open inhibiting and warning tickets",
		"SELECT ticket_id, kind, level, mode, hazard_type, coalesce(site_id, ''), "
		"coalesce(town_code, ''), episode_key, coalesce(" HZ_SQL_US("deadline_at") ", 0) "
		"FROM hazard.tickets WHERE state NOT IN ('closed', 'dismissed') "
		"AND hazard_type = ANY($1::text[])",
		1, p, &rc, err, errlen);
	if (!res)
		return rc;
	size_t n = (size_t)PQntuples(res);
	struct hz_ctx_ticket *t = calloc(n ? n : 1, sizeof(*t));
	if (!t) {
		PQclear(res);
		hz_errf(err, errlen, "out of memory loading tickets");
		return HZ_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int row = (int)i;
		t[i].ticket_id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
		t[i].kind = hz_kind_parse(PQgetvalue(res, row, 1));
		t[i].level = hz_level_parse(PQgetvalue(res, row, 2));
		t[i].mode = hz_mode_parse(PQgetvalue(res, row, 3));
		snprintf(t[i].hazard_type, sizeof(t[i].hazard_type), "%s", PQgetvalue(res, row, 4));
		snprintf(t[i].site_id, sizeof(t[i].site_id), "%s", PQgetvalue(res, row, 5));
		snprintf(t[i].town_code, sizeof(t[i].town_code), "%s", PQgetvalue(res, row, 6));
		snprintf(t[i].episode_key, sizeof(t[i].episode_key), "%s", PQgetvalue(res, row, 7));
		t[i].deadline_us = strtoll(PQgetvalue(res, row, 8), NULL, 10);
	}
	PQclear(res);
	rc = hz_context_set_tickets(c, t, n);
	free(t);
	if (rc)
		hz_errf(err, errlen, "out of memory loading tickets");
	return rc;
}

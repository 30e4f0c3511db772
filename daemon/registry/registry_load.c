/*
 * registry_load.c - fill a registry builder from PostgreSQL.
 *
 * One read-only REPEATABLE READ transaction: the counts and the version are
 * read first, then each table is streamed through a cursor in chunks of
 * FETCH_ROWS, so the snapshot is consistent with the version it carries and
 * a million-device registry never sits in memory twice as PGresults.
 * Needs migration 015 (org_units.area, rescue_units).
 */
#include "registry/registry.h"
#include "store/pg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_ROWS 20000

/* NULL for SQL NULL, else the value. */
static const char *val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static double num(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NAN : strtod(PQgetvalue(res, row, col), NULL);
}

static int64_t i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

typedef int (*row_fn)(struct hz_registry_builder *b, const PGresult *res, int row, char *err,
		      size_t errlen);

static int org_row(struct hz_registry_builder *b, const PGresult *res, int r, char *err,
		   size_t errlen)
{
	int rc = hz_registry_add_org(b, val(res, r, 0), val(res, r, 1),
				     hz_org_level_parse(val(res, r, 2)), val(res, r, 3), err, errlen);
	if (!rc && val(res, r, 4))
		rc = hz_registry_set_org_area(b, val(res, r, 0), hz_area_parse(val(res, r, 4)), err,
					      errlen);
	return rc;
}

static int unit_row(struct hz_registry_builder *b, const PGresult *res, int r, char *err,
		    size_t errlen)
{
	return hz_registry_add_rescue_unit(b, val(res, r, 0), val(res, r, 1),
					   hz_unit_kind_parse(val(res, r, 2)), val(res, r, 3),
					   num(res, r, 4), num(res, r, 5), val(res, r, 6), err,
					   errlen);
}

static int site_row(struct hz_registry_builder *b, const PGresult *res, int r, char *err,
		    size_t errlen)
{
	return hz_registry_add_site(b, val(res, r, 0), val(res, r, 1), val(res, r, 2),
				    hz_risk_parse(val(res, r, 3)), val(res, r, 4), val(res, r, 5),
				    val(res, r, 6), num(res, r, 7), num(res, r, 8), err, errlen);
}

static int device_row(struct hz_registry_builder *b, const PGresult *res, int r, char *err,
		      size_t errlen)
{
	const char *kind = val(res, r, 2), *metric = val(res, r, 3);
	enum hz_metric m = metric ? hz_metric_parse(metric) : hz_registry_kind_metric(kind);
	bool has_range = !PQgetisnull(res, r, 4) || !PQgetisnull(res, r, 5);
	double lo = PQgetisnull(res, r, 4) ? -INFINITY : num(res, r, 4);
	double hi = PQgetisnull(res, r, 5) ? INFINITY : num(res, r, 5);
	return hz_registry_add_device(b, val(res, r, 0), val(res, r, 1), kind, m, has_range, lo, hi,
				      err, errlen);
}

static int person_row(struct hz_registry_builder *b, const PGresult *res, int r, char *err,
		      size_t errlen)
{
	return hz_registry_add_person(b, val(res, r, 0), val(res, r, 1), val(res, r, 2),
				      val(res, r, 3), hz_tier_parse(val(res, r, 4)), err, errlen);
}

static int duty_row(struct hz_registry_builder *b, const PGresult *res, int r, char *err,
		    size_t errlen)
{
	return hz_registry_add_duty(b, val(res, r, 0), hz_tier_parse(val(res, r, 1)),
				    val(res, r, 2), val(res, r, 3), i64(res, r, 4), i64(res, r, 5),
				    err, errlen);
}

static int stream(PGconn *pg, struct hz_registry_builder *b, const char *what, const char *select,
		  row_fn fn, char *err, size_t errlen)
{
	char sql[1024], ctx[96];
	snprintf(ctx, sizeof(ctx), "could not read %s", what);
	snprintf(sql, sizeof(sql), "DECLARE hz_reg NO SCROLL CURSOR FOR %s", select);
	int rc = hz_pg_exec(pg, ctx, sql, err, errlen);
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM hz_reg", FETCH_ROWS);
	for (;;) {
		PGresult *res = hz_pg_query(pg, ctx, sql, 0, NULL, &rc, err, errlen);
		if (!res)
			return rc;
		int n = PQntuples(res);
		for (int r = 0; r < n && rc == HZ_OK; r++)
			rc = fn(b, res, r, err, errlen);
		PQclear(res);
		if (rc) {
			/* data the builder refuses is inconsistent, not transient */
			return rc == HZ_ENOMEM ? rc : HZ_ERR;
		}
		if (n < FETCH_ROWS)
			break;
	}
	return hz_pg_exec(pg, ctx, "CLOSE hz_reg", err, errlen);
}

int hz_registry_load(PGconn *pg, struct hz_registry **out, char *err, size_t errlen)
{
	struct hz_registry_builder *b = NULL;
	*out = NULL;
	if (PQtransactionStatus(pg) != PQTRANS_IDLE) {
		hz_errf(err, errlen, "cannot load the registry inside an open transaction");
		return HZ_ERR;
	}
	int rc = hz_pg_exec(pg, "could not begin registry snapshot",
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen);
	if (rc)
		return rc;
	PGresult *res = hz_pg_query(
		pg, "could not read hazard.registry_version",
		"SELECT (SELECT version FROM hazard.registry_version WHERE id = 1),"
		" (SELECT count(*) FROM hazard.org_units), (SELECT count(*) FROM hazard.sites),"
		" (SELECT count(*) FROM hazard.devices), (SELECT count(*) FROM hazard.people),"
		" (SELECT count(*) FROM hazard.duty_roster)",
		0, NULL, &rc, err, errlen);
	if (!res)
		goto fail;
	int64_t version = i64(res, 0, 0);
	size_t counts[5];
	for (int i = 0; i < 5; i++)
		counts[i] = (size_t)i64(res, 0, i + 1);
	PQclear(res);
	b = hz_registry_builder_new(counts[0], counts[1], counts[2], counts[3], counts[4]);
	if (!b) {
		hz_errf(err, errlen, "out of memory for a registry of %zu devices", counts[2]);
		rc = HZ_ENOMEM;
		goto fail;
	}
	rc = stream(pg, b, "hazard.org_units",
		    "SELECT code, name, level, parent_code, area FROM hazard.org_units ORDER BY code",
		    org_row, err, errlen);
	if (!rc)
		rc = stream(pg, b, "hazard.sites",
			    "SELECT site_id, name, kind, risk_grade, org_code, town_code,"
			    " county_code, lat, lon FROM hazard.sites ORDER BY site_id",
			    site_row, err, errlen);
	if (!rc)
		rc = stream(pg, b, "hazard.devices",
			    "SELECT device_id, site_id, kind, metric, range_min, range_max"
			    " FROM hazard.devices ORDER BY device_id",
			    device_row, err, errlen);
	if (!rc)
		rc = stream(pg, b, "hazard.people",
			    "SELECT person_id, name, phone, org_code, tier FROM hazard.people"
			    " ORDER BY person_id",
			    person_row, err, errlen);
	if (!rc)
		rc = stream(pg, b, "hazard.duty_roster",
			    "SELECT org_code, tier, person_id, role,"
			    " (extract(epoch FROM starts_at) * 1000000)::bigint,"
			    " (extract(epoch FROM ends_at) * 1000000)::bigint"
			    " FROM hazard.duty_roster",
			    duty_row, err, errlen);
	if (!rc)
		rc = stream(pg, b, "hazard.rescue_units",
			    "SELECT unit_id, name, kind, org_code, lat, lon, phone"
			    " FROM hazard.rescue_units ORDER BY unit_id",
			    unit_row, err, errlen);
	if (rc)
		goto fail;
	rc = hz_pg_commit(pg, err, errlen);
	if (rc)
		goto fail;
	rc = hz_registry_builder_finish(b, version, out, err, errlen);
	b = NULL;
	return rc;
fail:
	hz_pg_rollback(pg);
	hz_registry_builder_destroy(b);
	return rc;
}

int hz_registry_poll_version(PGconn *pg, int64_t *version, char *err, size_t errlen)
{
	int rc;
	PGresult *res = hz_pg_query(pg, "could not read hazard.registry_version",
				    "SELECT version FROM hazard.registry_version WHERE id = 1", 0,
				    NULL, &rc, err, errlen);
	if (!res)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		hz_errf(err, errlen,
			"hazard.registry_version has no row (was the schema migrated?)");
		return HZ_ERR;
	}
	*version = i64(res, 0, 0);
	PQclear(res);
	return HZ_OK;
}

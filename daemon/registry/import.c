/*
 * import.c - the registry importer behind `hazardctl import DIR`.
 *
 * Three passes inside one transaction: (1) parse each CSV, check every
 * field's type here (so errors name file:line and column) and stream the
 * good rows with COPY into a temporary table that carries the line number;
 * (2) check references in SQL (unknown parent, site, person; a town that is
 * not the site's town; duplicates), again reporting file:line; (3) upsert
 * into hazard.* in dependency order and bump hazard.registry_version. The
 * registry_version row is locked first, so concurrent imports serialise.
 * Cost: O(rows), dominated by COPY and the upserts; memory O(one record).
 */
#include "registry/import.h"
#include "registry/csv.h"
#include "registry/registry.h"
#include "store/pg.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 10
#define MAX_COLS 16 /* columns of the widest file */

enum ctype {
	T_ID,
	T_CODE,
	T_TEXT,
	T_PHONE,
	T_LEVEL,
	T_RISK,
	T_TIER,
	T_METRIC,
	T_KIND,
	T_NUM,
	T_LAT,
	T_LON,
	T_TIME,
	T_AREA,
	T_UNIT_KIND
};

struct coldef {
	const char *name;
	enum ctype type;
	bool required;
	bool key; /* part of the primary key (conflict target) */
};

struct filedef {
	const char *file, *table; /* "sites.csv", "sites" (hazard.sites, temp imp_sites) */
	const struct coldef *cols;
	size_t ncols;
	const char *always_set; /* columns updated even when absent from the header */
};

static const struct coldef org_cols[] = {
	{"code", T_CODE, true, true},    {"name", T_TEXT, true, false},
	{"level", T_LEVEL, true, false}, {"parent_code", T_CODE, false, false},
	{"lat", T_LAT, false, false},    {"lon", T_LON, false, false},
	{"area", T_AREA, false, false},
};
static const struct coldef site_cols[] = {
	{"site_id", T_ID, true, true},         {"name", T_TEXT, false, false},
	{"kind", T_KIND, true, false},         {"risk_grade", T_RISK, true, false},
	{"org_code", T_CODE, true, false},     {"town_code", T_CODE, false, false},
	{"county_code", T_CODE, false, false}, {"lat", T_LAT, false, false},
	{"lon", T_LON, false, false},
};
static const struct coldef device_cols[] = {
	{"device_id", T_ID, true, true},        {"site_id", T_ID, true, false},
	{"kind", T_KIND, true, false},          {"metric", T_METRIC, false, false},
	{"range_min", T_NUM, false, false},     {"range_max", T_NUM, false, false},
	{"installed_at", T_TIME, false, false},
};
static const struct coldef person_cols[] = {
	{"person_id", T_ID, true, true},  {"name", T_TEXT, true, false},
	{"phone", T_PHONE, false, false}, {"org_code", T_CODE, true, false},
	{"tier", T_TIER, true, false},
};
static const struct coldef duty_cols[] = {
	{"org_code", T_CODE, true, true},    {"tier", T_TIER, true, true},
	{"person_id", T_ID, true, true},     {"role", T_KIND, false, false},
	{"starts_at", T_TIME, false, false}, {"ends_at", T_TIME, false, false},
};

static const struct coldef unit_cols[] = {
	{"unit_id", T_ID, true, true},     {"name", T_TEXT, true, false},
	{"kind", T_UNIT_KIND, true, false}, {"org_code", T_CODE, true, false},
	{"lat", T_LAT, true, false},       {"lon", T_LON, true, false},
	{"phone", T_PHONE, false, false},
};

#define FD(f, t, c, a)                      \
	{                                   \
		f, t, c, HZ_ARRAY_LEN(c), a \
	}
static const struct filedef files[HZ_IMP_NFILES] = {
	[HZ_IMP_ORG] = FD("org_units.csv", "org_units", org_cols, ""),
	[HZ_IMP_SITE] = FD("sites.csv", "sites", site_cols, "town_code county_code"),
	[HZ_IMP_DEVICE] = FD("devices.csv", "devices", device_cols, "metric"),
	[HZ_IMP_PERSON] = FD("people.csv", "people", person_cols, ""),
	[HZ_IMP_DUTY] = FD("duty.csv", "duty_roster", duty_cols, "role"),
	[HZ_IMP_UNIT] = FD("rescue_units.csv", "rescue_units", unit_cols, ""),
};

const char *hz_import_file_name(enum hz_import_file f)
{
	return (unsigned)f < HZ_IMP_NFILES ? files[f].file : "invalid";
}

/* ---- error collection ----
 * Row errors are kept (up to MAX_KEPT), sorted by file and line, and the
 * first MAX_ERRORS are reported: C checks run in line order, SQL checks
 * per rule, and the operator wants them in file order. */

#define MAX_KEPT 64

struct rowerr {
	int file; /* enum hz_import_file, or -1 */
	long line;
	int seq; /* arrival order, for a stable sort */
	char msg[240];
};

struct errs {
	char dir[PATH_MAX]; /* as given, without trailing slashes */
	struct rowerr kept[MAX_KEPT];
	int nkept;
	int count;
};

static void adderr(struct errs *e, int file, long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void adderr(struct errs *e, int file, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	e->count++;
	if (e->nkept < MAX_KEPT) {
		struct rowerr *r = &e->kept[e->nkept];
		r->file = file;
		r->line = line;
		r->seq = e->nkept++;
		vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	}
	va_end(ap);
}

static int cmp_rowerr(const void *a, const void *b)
{
	const struct rowerr *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq - y->seq;
}

static void format_errs(struct errs *e, char *err, size_t errlen)
{
	if (!err || errlen == 0)
		return;
	size_t used = 0;
	err[0] = '\0';
	if (e->nkept > 1)
		qsort(e->kept, (size_t)e->nkept, sizeof(e->kept[0]), cmp_rowerr);
	for (int i = 0; i < e->nkept && i < MAX_ERRORS; i++) {
		const struct rowerr *r = &e->kept[i];
		const char *file = r->file >= 0 ? files[r->file].file : "";
		int n;
		if (r->line > 0)
			n = snprintf(err + used, errlen - used, "%s%s/%s:%ld: %s", i ? "\n" : "",
				     e->dir, file, r->line, r->msg);
		else
			n = snprintf(err + used, errlen - used, "%s%s/%s: %s", i ? "\n" : "",
				     e->dir, file, r->msg);
		if (n < 0 || (size_t)n >= errlen - used)
			return;
		used += (size_t)n;
	}
	if (e->count > MAX_ERRORS)
		snprintf(err + used, errlen - used, "\n... and %d more error%s",
			 e->count - MAX_ERRORS, e->count - MAX_ERRORS == 1 ? "" : "s");
}

/* ---- field checks ---- */

static bool id_chars(const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static bool kind_chars(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static bool parse_num(const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

/* Check one non-empty value; on failure write the problem into msg. */
static bool check_value(const struct coldef *cd, const char *v, char *msg, size_t msglen)
{
	size_t n = strlen(v);
	double d;
	int64_t us;
	switch (cd->type) {
	case T_ID:
	case T_CODE: {
		size_t max = cd->type == T_ID ? HZ_REG_ID_MAX - 1 : HZ_REG_CODE_MAX - 1;
		if (n > max) {
			snprintf(msg, msglen, "\"%.40s...\" is longer than %zu bytes", v, max);
			return false;
		}
		if (!id_chars(v)) {
			snprintf(msg, msglen,
				 "\"%.60s\" may only hold ASCII letters, digits and . _ : -", v);
			return false;
		}
		return true;
	}
	case T_TEXT:
		if (n > 400) {
			snprintf(msg, msglen, "longer than 400 bytes");
			return false;
		}
		for (const char *p = v; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(msg, msglen, "contains a control character");
				return false;
			}
		}
		return true;
	case T_PHONE:
		if (n > 23 || strspn(v, "0123456789+- ") != n) {
			snprintf(msg, msglen, "invalid phone number \"%.40s\"", v);
			return false;
		}
		return true;
	case T_LEVEL:
		if (hz_org_level_parse(v))
			return true;
		snprintf(msg, msglen,
			 "invalid level \"%.40s\" (expected city, county, town, village or grid)",
			 v);
		return false;
	case T_RISK:
		if (hz_risk_parse(v))
			return true;
		snprintf(msg, msglen,
			 "invalid risk grade \"%.40s\" (expected major, significant, general or "
			 "low)",
			 v);
		return false;
	case T_TIER:
		if (hz_tier_parse(v))
			return true;
		snprintf(msg, msglen,
			 "invalid tier \"%.40s\" (expected grid, town, county or city)", v);
		return false;
	case T_METRIC:
		if (hz_metric_parse(v))
			return true;
		snprintf(msg, msglen,
			 "invalid metric \"%.40s\" (expected smoke, temperature, gas_lel, co, "
			 "charger_current, residual_current, water_level or pressure)",
			 v);
		return false;
	case T_KIND:
		if (n <= 31 && kind_chars(v))
			return true;
		snprintf(msg, msglen,
			 "invalid value \"%.40s\" (expected lowercase letters, digits and _, at "
			 "most "
			 "31)",
			 v);
		return false;
	case T_NUM:
	case T_LAT:
	case T_LON:
		if (!parse_num(v, &d)) {
			snprintf(msg, msglen, "\"%.40s\" is not a finite number", v);
			return false;
		}
		if (cd->type == T_LAT && (d < -90 || d > 90)) {
			snprintf(msg, msglen, "latitude %s is outside -90..90", v);
			return false;
		}
		if (cd->type == T_LON && (d < -180 || d > 180)) {
			snprintf(msg, msglen, "longitude %s is outside -180..180", v);
			return false;
		}
		return true;
	case T_AREA:
		if (hz_area_parse(v) > HZ_AREA_UNSET)
			return true;
		snprintf(msg, msglen, "invalid area \"%.40s\" (expected town or countryside)", v);
		return false;
	case T_UNIT_KIND:
		if (hz_unit_kind_parse(v))
			return true;
		snprintf(msg, msglen,
			 "invalid kind \"%.40s\" (expected micro_station, full_time_brigade or "
			 "fire_rescue_station)",
			 v);
		return false;
	case T_TIME:
		if (hz_time_parse(v, &us) == HZ_OK)
			return true;
		snprintf(msg, msglen,
			 "\"%.40s\" is not an RFC 3339 time (like 2025-03-01T08:00:00+08:00)", v);
		return false;
	}
	return false;
}

/* Append v to a COPY text-format row, escaped. */
static int copy_escape(struct hz_buf *b, const char *v)
{
	for (const char *p = v; *p; p++) {
		const char *esc = NULL;
		switch (*p) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: break;
		}
		int rc = esc ? hz_buf_append(b, esc, 2) : hz_buf_append(b, p, 1);
		if (rc)
			return rc;
	}
	return HZ_OK;
}

/* ---- pass 1: parse, check, COPY ---- */

static int copy_send(PGconn *pg, struct hz_buf *b, char *err, size_t errlen)
{
	if (b->len == 0)
		return HZ_OK;
	if (PQputCopyData(pg, (const char *)b->data, (int)b->len) != 1) {
		hz_errf(err, errlen, "could not send COPY data: %s", PQerrorMessage(pg));
		return HZ_ETRANSIENT;
	}
	hz_buf_clear(b);
	return HZ_OK;
}

/* Parse one file; stream rows into imp_<table>. Adds row errors to e;
 * returns non-zero only for failures that stop the import at once. */
static int load_file(PGconn *pg, const char *dir, enum hz_import_file fi,
		     struct hz_import_stats *st, bool *present_cols, struct errs *e, char *err,
		     size_t errlen)
{
	const struct filedef *fd = &files[fi];
	char path[PATH_MAX], msg[512];
	snprintf(path, sizeof(path), "%s/%s", dir, fd->file);
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return HZ_OK;
		hz_errf(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
		return HZ_ERR;
	}
	st->present[fi] = true;
	struct hz_csv csv;
	struct hz_buf row = HZ_BUF_INIT, sql = HZ_BUF_INIT;
	int map[HZ_CSV_MAX_FIELDS]; /* csv column -> coldef */
	int where[MAX_COLS];        /* coldef -> csv column, -1 when absent */
	int rc = HZ_OK, errors_before = e->count;
	bool copying = false;
	hz_csv_init(&csv, f);

	int r = hz_csv_next(&csv, msg, sizeof(msg));
	if (r <= 0) {
		adderr(e, (int)fi, csv.record_line, "%s",
		       r == 0 ? "empty file (expected a header row)" : msg);
		goto out;
	}
	for (size_t c = 0; c < HZ_ARRAY_LEN(where); c++)
		where[c] = -1;
	for (size_t i = 0; i < csv.nfields; i++) {
		const char *h = hz_csv_field(&csv, i);
		map[i] = -1;
		for (size_t c = 0; c < fd->ncols; c++)
			if (strcmp(h, fd->cols[c].name) == 0)
				map[i] = (int)c;
		if (map[i] < 0) {
			char known[256] = "";
			for (size_t c = 0; c < fd->ncols; c++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", c ? ", " : "", fd->cols[c].name);
			adderr(e, (int)fi, csv.record_line,
			       "column %zu: unknown column \"%.40s\" (expected %s)", i + 1, h,
			       known);
		} else if (where[map[i]] >= 0) {
			adderr(e, (int)fi, csv.record_line,
			       "column %zu: column \"%s\" appears twice", i + 1, h);
		} else {
			where[map[i]] = (int)i;
		}
	}
	/* The upsert updates only the columns the file has (plus derived
	 * ones), so a file without lat/lon keeps the coordinates already
	 * stored. */
	for (size_t c = 0; c < fd->ncols; c++)
		present_cols[c] = where[c] >= 0;
	for (size_t c = 0; c < fd->ncols; c++)
		if (fd->cols[c].required && where[c] < 0)
			adderr(e, (int)fi, csv.record_line, "missing required column \"%s\"",
			       fd->cols[c].name);
	if (e->count > errors_before)
		goto out;
	size_t nheader = csv.nfields;

	hz_buf_appendf(&sql, "COPY imp_%s (line", fd->table);
	for (size_t c = 0; c < fd->ncols; c++)
		hz_buf_appendf(&sql, ", %s", fd->cols[c].name);
	hz_buf_appendf(&sql, ") FROM STDIN");
	hz_buf_cstr(&sql);
	PGresult *res = PQexec(pg, (const char *)sql.data);
	rc = hz_pg_check(pg, res, PGRES_COPY_IN, "could not start COPY", err, errlen);
	PQclear(res);
	if (rc)
		goto out;
	copying = true;

	while ((r = hz_csv_next(&csv, msg, sizeof(msg))) == 1) {
		long line = csv.record_line;
		int row_errors = e->count;
		st->rows[fi]++;
		if (csv.nfields != nheader) {
			adderr(e, (int)fi, line, "expected %zu fields as in the header, found %zu",
			       nheader, csv.nfields);
			continue;
		}
		const char *v[MAX_COLS] = {NULL};
		for (size_t c = 0; c < fd->ncols; c++) {
			v[c] = where[c] >= 0 ? hz_csv_field(&csv, (size_t)where[c]) : "";
			if (!hz_utf8_valid(v[c], strlen(v[c]))) {
				adderr(e, (int)fi, line,
				       "column %s: invalid UTF-8 (save the file as UTF-8, not GBK)",
				       fd->cols[c].name);
				v[c] = "";
			} else if (!*v[c]) {
				if (fd->cols[c].required)
					adderr(e, (int)fi, line, "column %s: empty",
					       fd->cols[c].name);
			} else if (!check_value(&fd->cols[c], v[c], msg, sizeof(msg))) {
				adderr(e, (int)fi, line, "column %s: %s", fd->cols[c].name, msg);
			}
		}
		if (e->count > row_errors)
			continue;
		/* row checks and derived values */
		double lo, hi;
		int64_t a, z;
		switch (fi) {
		case HZ_IMP_ORG:
			if (*v[3] && strcmp(v[3], v[0]) == 0)
				adderr(e, (int)fi, line,
				       "column parent_code: an org unit cannot be its own parent");
			break;
		case HZ_IMP_DEVICE:
			if (!*v[3] && hz_registry_kind_metric(v[2]))
				v[3] = hz_metric_name(hz_registry_kind_metric(v[2]));
			if (*v[4] && *v[5] && parse_num(v[4], &lo) && parse_num(v[5], &hi) &&
			    lo >= hi)
				adderr(e, (int)fi, line,
				       "column range_max: %s is not above range_min %s", v[5],
				       v[4]);
			break;
		case HZ_IMP_DUTY:
			if (!*v[3])
				v[3] = "primary";
			if (*v[4] && *v[5] && hz_time_parse(v[4], &a) == 0 &&
			    hz_time_parse(v[5], &z) == 0 && a >= z)
				adderr(e, (int)fi, line, "column ends_at: not after starts_at");
			break;
		default: break;
		}
		if (e->count > row_errors || e->count > errors_before)
			continue; /* keep checking, stop sending */
		hz_buf_appendf(&row, "%ld", line);
		for (size_t c = 0; c < fd->ncols; c++) {
			hz_buf_append(&row, "\t", 1);
			if (*v[c])
				copy_escape(&row, v[c]);
			else
				hz_buf_append(&row, "\\N", 2);
		}
		if (hz_buf_append(&row, "\n", 1)) {
			hz_errf(err, errlen, "out of memory");
			rc = HZ_ENOMEM;
			goto out;
		}
		if (row.len >= 65536 && (rc = copy_send(pg, &row, err, errlen)))
			goto out;
	}
	if (r < 0)
		adderr(e, (int)fi, csv.line, "%s", msg);
	if (ferror(f)) {
		hz_errf(err, errlen, "could not read \"%s\": %s", path, strerror(errno));
		rc = HZ_ERR;
	}
out:
	if (copying) {
		/* Row errors do not abort the COPY: that would abort the
		 * transaction and hide the errors of the files after this one.
		 * The rows sent are rolled back with everything else. */
		int rc2 = rc ? HZ_OK : copy_send(pg, &row, err, errlen);
		bool abort_copy = rc || rc2;
		PQputCopyEnd(pg, abort_copy ? "import aborted" : NULL);
		PGresult *res2;
		while ((res2 = PQgetResult(pg)) != NULL) {
			if (!abort_copy && !rc && !rc2)
				rc2 = hz_pg_check(pg, res2, PGRES_COMMAND_OK, "could not COPY rows",
						  err, errlen);
			PQclear(res2);
		}
		if (!rc)
			rc = rc2;
	}
	hz_csv_free(&csv);
	hz_buf_free(&row);
	hz_buf_free(&sql);
	fclose(f);
	return rc;
}

/* ---- pass 2: references, in SQL ---- */

static const char *const setup_sql =
	"CREATE TEMP TABLE imp_org_units (line int, code text, name text, level text,"
	" parent_code text, lat float8, lon float8, area text) ON COMMIT DROP;"
	"CREATE TEMP TABLE imp_sites (line int, site_id text, name text, kind text,"
	" risk_grade text, org_code text, town_code text, county_code text, lat float8,"
	" lon float8) ON COMMIT DROP;"
	"CREATE TEMP TABLE imp_devices (line int, device_id text, site_id text, kind text,"
	" metric text, range_min float8, range_max float8, installed_at timestamptz)"
	" ON COMMIT DROP;"
	"CREATE TEMP TABLE imp_people (line int, person_id text, name text, phone text,"
	" org_code text, tier text) ON COMMIT DROP;"
	"CREATE TEMP TABLE imp_duty_roster (line int, org_code text, tier text, person_id text,"
	" role text, starts_at timestamptz, ends_at timestamptz) ON COMMIT DROP;"
	"CREATE TEMP TABLE imp_rescue_units (line int, unit_id text, name text, kind text,"
	" org_code text, lat float8, lon float8, phone text) ON COMMIT DROP";

/* Every org unit after the import, and every (unit, ancestor-or-self) pair. */
static const char *const resolve_sql =
	"ANALYZE imp_org_units; ANALYZE imp_sites; ANALYZE imp_devices;"
	"CREATE TEMP TABLE imp_org_all ON COMMIT DROP AS"
	" SELECT code, level, parent_code FROM imp_org_units"
	" UNION ALL SELECT o.code, o.level, o.parent_code FROM hazard.org_units o"
	" WHERE NOT EXISTS (SELECT 1 FROM imp_org_units i WHERE i.code = o.code);"
	"CREATE INDEX ON imp_org_all (code);"
	"CREATE TEMP TABLE imp_anc ON COMMIT DROP AS"
	" WITH RECURSIVE anc(code, anc_code, anc_level, depth) AS ("
	"  SELECT code, code, level, 0 FROM imp_org_all"
	"  UNION ALL SELECT anc.code, p.code, p.level, anc.depth + 1 FROM anc"
	"  JOIN imp_org_all c ON c.code = anc.anc_code"
	"  JOIN imp_org_all p ON p.code = c.parent_code WHERE anc.depth < 6)"
	" SELECT code, anc_code, anc_level FROM anc;"
	"CREATE INDEX ON imp_anc (code, anc_level);"
	"UPDATE imp_sites s SET town_code = a.anc_code FROM imp_anc a"
	" WHERE s.town_code IS NULL AND a.code = s.org_code AND a.anc_level = 'town';"
	"UPDATE imp_sites s SET county_code = a.anc_code FROM imp_anc a"
	" WHERE s.county_code IS NULL AND a.code = s.org_code AND a.anc_level = 'county'";

#define RANK(x) "array_position(ARRAY['city','county','town','village','grid'], " x ")"

/* Each returns (line, message) for bad rows of one file. */
static const struct {
	enum hz_import_file file;
	const char *sql;
} checks[] = {
	{HZ_IMP_ORG,
	 "SELECT line, format('column code: duplicate org unit \"%s\" (first at line %s)', code,"
	 " first) FROM (SELECT line, code, min(line) OVER (PARTITION BY code) AS first"
	 " FROM imp_org_units) x WHERE line <> first"},
	{HZ_IMP_ORG,
	 "SELECT i.line, format('column parent_code: unknown org unit \"%s\"', i.parent_code)"
	 " FROM imp_org_units i WHERE i.parent_code IS NOT NULL"
	 " AND NOT EXISTS (SELECT 1 FROM imp_org_all a WHERE a.code = i.parent_code)"},
	{HZ_IMP_ORG,
	 "SELECT DISTINCT i.line, format('column parent_code: parent \"%s\" is a %s; a %s must"
	 " belong to a higher level', i.parent_code, a.level, i.level)"
	 " FROM imp_org_units i JOIN imp_org_all a ON a.code = i.parent_code"
	 " WHERE " RANK("a.level") " >= " RANK("i.level")},
	{HZ_IMP_SITE,
	 "SELECT line, format('column site_id: duplicate site \"%s\" (first at line %s)', site_id,"
	 " first) FROM (SELECT line, site_id, min(line) OVER (PARTITION BY site_id) AS first"
	 " FROM imp_sites) x WHERE line <> first"},
	{HZ_IMP_SITE,
	 "SELECT s.line, format('column org_code: unknown org unit \"%s\"', s.org_code)"
	 " FROM imp_sites s WHERE NOT EXISTS (SELECT 1 FROM imp_org_all a WHERE a.code = "
	 "s.org_code)"},
	{HZ_IMP_SITE,
	 "SELECT DISTINCT s.line, format('column org_code: \"%s\" is a %s; a site belongs to a"
	 " town, village or grid', s.org_code, a.level) FROM imp_sites s"
	 " JOIN imp_org_all a ON a.code = s.org_code WHERE a.level IN ('city', 'county')"},
	{HZ_IMP_SITE,
	 "SELECT s.line, CASE WHEN s.town_code IS NULL THEN format('column org_code: org unit"
	 " \"%s\" has no town above it', s.org_code) ELSE format('column town_code: \"%s\" is not"
	 " the town of org unit \"%s\"%s', s.town_code, s.org_code, coalesce(' (that is \"' ||"
	 " a.anc_code || '\")', '')) END FROM imp_sites s"
	 " LEFT JOIN imp_anc a ON a.code = s.org_code AND a.anc_level = 'town'"
	 " WHERE EXISTS (SELECT 1 FROM imp_org_all o WHERE o.code = s.org_code"
	 "  AND o.level NOT IN ('city', 'county'))"
	 " AND (s.town_code IS NULL OR a.anc_code IS DISTINCT FROM s.town_code)"},
	{HZ_IMP_SITE,
	 "SELECT s.line, CASE WHEN s.county_code IS NULL THEN format('column org_code: org unit"
	 " \"%s\" has no county above it', s.org_code) ELSE format('column county_code: \"%s\" is"
	 " not the county of org unit \"%s\"%s', s.county_code, s.org_code, coalesce(' (that is"
	 " \"' || a.anc_code || '\")', '')) END FROM imp_sites s"
	 " LEFT JOIN imp_anc a ON a.code = s.org_code AND a.anc_level = 'county'"
	 " WHERE EXISTS (SELECT 1 FROM imp_org_all o WHERE o.code = s.org_code"
	 "  AND o.level NOT IN ('city', 'county'))"
	 " AND (s.county_code IS NULL OR a.anc_code IS DISTINCT FROM s.county_code)"},
	{HZ_IMP_DEVICE,
	 "SELECT line, format('column device_id: duplicate device \"%s\" (first at line %s)',"
	 " device_id, first) FROM (SELECT line, device_id, min(line) OVER (PARTITION BY"
	 " device_id) AS first FROM imp_devices) x WHERE line <> first"},
	{HZ_IMP_DEVICE,
	 "SELECT d.line, format('column site_id: unknown site \"%s\"', d.site_id)"
	 " FROM imp_devices d WHERE NOT EXISTS (SELECT 1 FROM imp_sites s WHERE s.site_id ="
	 " d.site_id) AND NOT EXISTS (SELECT 1 FROM hazard.sites s WHERE s.site_id = d.site_id)"},
	{HZ_IMP_PERSON,
	 "SELECT line, format('column person_id: duplicate person \"%s\" (first at line %s)',"
	 " person_id, first) FROM (SELECT line, person_id, min(line) OVER (PARTITION BY"
	 " person_id) AS first FROM imp_people) x WHERE line <> first"},
	{HZ_IMP_PERSON,
	 "SELECT p.line, format('column org_code: unknown org unit \"%s\"', p.org_code)"
	 " FROM imp_people p WHERE NOT EXISTS (SELECT 1 FROM imp_org_all a WHERE a.code ="
	 " p.org_code)"},
	{HZ_IMP_DUTY,
	 "SELECT line, format('duplicate entry for %s, %s, %s (first at line %s)', org_code, tier,"
	 " person_id, first) FROM (SELECT line, org_code, tier, person_id, min(line) OVER"
	 " (PARTITION BY org_code, tier, person_id) AS first FROM imp_duty_roster) x"
	 " WHERE line <> first"},
	{HZ_IMP_DUTY,
	 "SELECT d.line, format('column org_code: unknown org unit \"%s\"', d.org_code)"
	 " FROM imp_duty_roster d WHERE NOT EXISTS (SELECT 1 FROM imp_org_all a WHERE a.code ="
	 " d.org_code)"},
	{HZ_IMP_DUTY,
	 "SELECT d.line, format('column person_id: unknown person \"%s\"', d.person_id)"
	 " FROM imp_duty_roster d WHERE NOT EXISTS (SELECT 1 FROM imp_people p WHERE"
	 " p.person_id = d.person_id) AND NOT EXISTS (SELECT 1 FROM hazard.people p WHERE"
	 " p.person_id = d.person_id)"},
	{HZ_IMP_UNIT,
	 "SELECT line, format('column unit_id: duplicate rescue unit \"%s\" (first at line %s)',"
	 " unit_id, first) FROM (SELECT line, unit_id, min(line) OVER (PARTITION BY unit_id)"
	 " AS first FROM imp_rescue_units) x WHERE line <> first"},
	{HZ_IMP_UNIT,
	 "SELECT u.line, format('column org_code: unknown org unit \"%s\"', u.org_code)"
	 " FROM imp_rescue_units u WHERE NOT EXISTS (SELECT 1 FROM imp_org_all a WHERE a.code ="
	 " u.org_code)"},
};

static int run_checks(PGconn *pg, struct errs *e, char *err, size_t errlen)
{
	int rc = hz_pg_exec(pg, "could not resolve org units", resolve_sql, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < HZ_ARRAY_LEN(checks); i++) {
		char sql[2048];
		snprintf(sql, sizeof(sql), "%s ORDER BY 1 LIMIT %d", checks[i].sql, MAX_ERRORS + 1);
		PGresult *res = hz_pg_query(pg, "could not check the import", sql, 0, NULL, &rc,
					    err, errlen);
		if (!res)
			return rc;
		for (int r = 0; r < PQntuples(res); r++)
			adderr(e, (int)checks[i].file, atol(PQgetvalue(res, r, 0)), "%s",
			       PQgetvalue(res, r, 1));
		PQclear(res);
	}
	return HZ_OK;
}

/* ---- pass 3: upsert ---- */

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static int upsert(PGconn *pg, enum hz_import_file fi, const bool *present_cols,
		  struct hz_import_stats *st, char *err, size_t errlen)
{
	const struct filedef *fd = &files[fi];
	struct hz_buf sql = HZ_BUF_INIT;
	char what[96];
	hz_buf_appendf(&sql, "INSERT INTO hazard.%s AS x (", fd->table);
	for (size_t c = 0; c < fd->ncols; c++)
		hz_buf_appendf(&sql, "%s%s", c ? ", " : "", fd->cols[c].name);
	hz_buf_appendf(&sql, ") SELECT ");
	for (size_t c = 0; c < fd->ncols; c++)
		hz_buf_appendf(&sql, "%s%s", c ? ", " : "", fd->cols[c].name);
	hz_buf_appendf(&sql, " FROM imp_%s ORDER BY line ON CONFLICT (", fd->table);
	size_t k = 0;
	for (size_t c = 0; c < fd->ncols; c++)
		if (fd->cols[c].key)
			hz_buf_appendf(&sql, "%s%s", k++ ? ", " : "", fd->cols[c].name);
	hz_buf_appendf(&sql, ") DO ");
	size_t nset = 0;
	for (size_t c = 0; c < fd->ncols; c++)
		if (!fd->cols[c].key &&
		    (present_cols[c] || in_list(fd->always_set, fd->cols[c].name)))
			nset++;
	if (nset == 0) {
		hz_buf_appendf(&sql, "NOTHING");
	} else {
		hz_buf_appendf(&sql, "UPDATE SET ");
		k = 0;
		for (size_t c = 0; c < fd->ncols; c++)
			if (!fd->cols[c].key &&
			    (present_cols[c] || in_list(fd->always_set, fd->cols[c].name)))
				hz_buf_appendf(&sql, "%s%s = EXCLUDED.%s", k++ ? ", " : "",
					       fd->cols[c].name, fd->cols[c].name);
		/* Skip rows that would not change: no dead tuples, and an
		 * honest count of what changed. */
		hz_buf_appendf(&sql, " WHERE (");
		k = 0;
		for (size_t c = 0; c < fd->ncols; c++)
			if (!fd->cols[c].key &&
			    (present_cols[c] || in_list(fd->always_set, fd->cols[c].name)))
				hz_buf_appendf(&sql, "%sx.%s", k++ ? ", " : "", fd->cols[c].name);
		hz_buf_appendf(&sql, ") IS DISTINCT FROM (");
		k = 0;
		for (size_t c = 0; c < fd->ncols; c++)
			if (!fd->cols[c].key &&
			    (present_cols[c] || in_list(fd->always_set, fd->cols[c].name)))
				hz_buf_appendf(&sql, "%sEXCLUDED.%s", k++ ? ", " : "",
					       fd->cols[c].name);
		hz_buf_appendf(&sql, ")");
	}
	if (hz_buf_cstr(&sql)) {
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	snprintf(what, sizeof(what), "could not upsert hazard.%s", fd->table);
	PGresult *res = PQexec(pg, (const char *)sql.data);
	int rc = hz_pg_check(pg, res, PGRES_COMMAND_OK, what, err, errlen);
	if (!rc)
		st->changed[fi] = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	hz_buf_free(&sql);
	return rc;
}

static int import_tx(PGconn *pg, const char *dir, struct hz_import_stats *st, struct errs *e,
		     char *err, size_t errlen)
{
	int rc = hz_pg_exec(pg, "could not begin the import", "BEGIN", err, errlen);
	if (rc)
		return rc;
	/* Serialise imports: the version row is the lock. */
	PGresult *res = hz_pg_query(pg, "could not lock hazard.registry_version",
				    "SELECT version FROM hazard.registry_version WHERE id = 1"
				    " FOR UPDATE",
				    0, NULL, &rc, err, errlen);
	if (!res)
		goto fail;
	bool have_row = PQntuples(res) == 1;
	PQclear(res);
	if (!have_row) {
		hz_errf(err, errlen, "hazard.registry_version has no row (run hazardctl migrate)");
		rc = HZ_ERR;
		goto fail;
	}
	rc = hz_pg_exec(pg, "could not create import tables", setup_sql, err, errlen);
	if (rc)
		goto fail;
	bool any = false;
	bool cols[HZ_IMP_NFILES][MAX_COLS] = {{false}};
	for (int fi = 0; fi < HZ_IMP_NFILES; fi++) {
		rc = load_file(pg, dir, (enum hz_import_file)fi, st, cols[fi], e, err, errlen);
		if (rc)
			goto fail;
		any = any || st->present[fi];
	}
	if (!any) {
		hz_errf(err, errlen,
			"no registry files in \"%s\" (expected org_units.csv, sites.csv, "
			"devices.csv,"
			" people.csv, duty.csv or rescue_units.csv)",
			dir);
		rc = HZ_ENOTFOUND;
		goto fail;
	}
	if (e->count == 0) {
		rc = run_checks(pg, e, err, errlen);
		if (rc)
			goto fail;
	}
	if (e->count) {
		format_errs(e, err, errlen);
		rc = HZ_EINVAL;
		goto fail;
	}
	for (int fi = 0; fi < HZ_IMP_NFILES; fi++) {
		if (!st->present[fi])
			continue;
		rc = upsert(pg, (enum hz_import_file)fi, cols[fi], st, err, errlen);
		if (rc)
			goto fail;
	}
	/* A level change can break a chain the files did not mention. */
	res = hz_pg_query(pg, "could not check org units",
			  "SELECT c.code, c.level, p.code, p.level FROM hazard.org_units c"
			  " JOIN hazard.org_units p ON p.code = c.parent_code"
			  " WHERE " RANK("p.level") " >= " RANK("c.level") " ORDER BY 1 LIMIT 1",
			  0, NULL, &rc, err, errlen);
	if (!res)
		goto fail;
	if (PQntuples(res)) {
		hz_errf(err, errlen,
			"org unit \"%s\" (a %s) would belong to \"%s\", now a %s: import its row "
			"too",
			PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
			PQgetvalue(res, 0, 3));
		PQclear(res);
		rc = HZ_EINVAL;
		goto fail;
	}
	PQclear(res);
	res = hz_pg_query(pg, "could not bump hazard.registry_version",
			  "UPDATE hazard.registry_version SET version = version + 1,"
			  " updated_at = now() WHERE id = 1 RETURNING version",
			  0, NULL, &rc, err, errlen);
	if (!res)
		goto fail;
	st->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	rc = hz_pg_commit(pg, err, errlen);
	if (rc)
		goto fail;
	return HZ_OK;
fail:
	hz_pg_rollback(pg);
	return rc;
}

int hz_registry_import(PGconn *pg, const char *dir, struct hz_import_stats *st, char *err,
		       size_t errlen)
{
	memset(st, 0, sizeof(*st));
	if (err && errlen)
		err[0] = '\0';
	if (PQtransactionStatus(pg) != PQTRANS_IDLE) {
		hz_errf(err, errlen, "cannot import inside an open transaction");
		return HZ_ERR;
	}
	struct errs *e = calloc(1, sizeof(*e)); /* 15 KiB: not on the stack */
	if (!e) {
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	snprintf(e->dir, sizeof(e->dir), "%s", dir);
	for (size_t n = strlen(e->dir); n > 1 && e->dir[n - 1] == '/'; n--)
		e->dir[n - 1] = '\0';
	int rc = import_tx(pg, e->dir, st, e, err, errlen);
	free(e);
	return rc;
}

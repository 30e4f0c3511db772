/*
 * migrate.c - apply sql/NNN_name.sql files exactly once, in order.
 *
 * Every file runs in its own transaction that first takes a transaction-
 * scoped advisory lock and re-reads the ledger, so two processes starting
 * together serialise on the lock and the second finds the work done. A file
 * that fails rolls back whole; the ones before it stay applied. Migrations
 * only move forward: there are no down files, and a database newer than the
 * files is refused rather than guessed at.
 */
#include "store/migrate.h"
#include "store/pg.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mfile {
	int version;
	char name[256];
};

#define LEDGER_SQL                                                \
	"CREATE SCHEMA IF NOT EXISTS hazard;\n"                   \
	"CREATE TABLE IF NOT EXISTS hazard.schema_migrations (\n" \
	"  version int PRIMARY KEY,\n"                            \
	"  name text NOT NULL,\n"                                 \
	"  applied_at timestamptz NOT NULL DEFAULT now())"

static int cmp_mfile(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* NNN_*.sql: digits, an underscore, anything, ".sql". Returns the version or -1. */
static int file_version(const char *name)
{
	size_t d = strspn(name, "0123456789");
	size_t len = strlen(name);
	if (d == 0 || d > 6 || name[d] != '_' || len < d + 5 || strcmp(name + len - 4, ".sql") != 0)
		return -1;
	return atoi(name);
}

/* The migration files of `dir`, sorted; caller frees *files. */
static int list_files(const char *dir, struct mfile **files, size_t *n, char *err, size_t errlen)
{
	*files = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		hz_errf(err, errlen, "could not open migration directory \"%s\": %s", dir,
			strerror(errno));
		return HZ_ECONFIG;
	}
	size_t cap = 0;
	int rc = HZ_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int v = file_version(de->d_name);
		if (v < 0)
			continue;
		if (strlen(de->d_name) >= sizeof((*files)->name)) {
			hz_errf(err, errlen, "migration file name too long: \"%s\"", de->d_name);
			rc = HZ_ECONFIG;
			goto out;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct mfile *nf = realloc(*files, cap * sizeof(*nf));
			if (!nf) {
				hz_errf(err, errlen, "out of memory");
				rc = HZ_ENOMEM;
				goto out;
			}
			*files = nf;
		}
		(*files)[*n].version = v;
		snprintf((*files)[*n].name, sizeof((*files)[*n].name), "%s", de->d_name);
		(*n)++;
	}
	if (*n)
		qsort(*files, *n, sizeof(**files), cmp_mfile);
	for (size_t i = 1; i < *n; i++) {
		if ((*files)[i].version == (*files)[i - 1].version) {
			hz_errf(err, errlen, "migrations \"%s\" and \"%s\" share version %d",
				(*files)[i - 1].name, (*files)[i].name, (*files)[i].version);
			rc = HZ_ECONFIG;
			goto out;
		}
	}
	if (*n == 0) {
		hz_errf(err, errlen, "no migration files (NNN_name.sql) in \"%s\"", dir);
		rc = HZ_ECONFIG;
	}
out:
	closedir(d);
	if (rc) {
		free(*files);
		*files = NULL;
		*n = 0;
	}
	return rc;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		hz_errf(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	char *s = NULL;
	long len = -1;
	if (fseek(f, 0, SEEK_END) == 0)
		len = ftell(f);
	if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
		hz_errf(err, errlen, "could not read \"%s\": %s", path, strerror(errno));
		goto out;
	}
	s = malloc((size_t)len + 1);
	if (!s) {
		hz_errf(err, errlen, "out of memory reading \"%s\"", path);
		goto out;
	}
	if (fread(s, 1, (size_t)len, f) != (size_t)len) {
		hz_errf(err, errlen, "could not read \"%s\": short read", path);
		free(s);
		s = NULL;
		goto out;
	}
	s[len] = '\0';
out:
	fclose(f);
	return s;
}

/* Line of the 1-based character position `pos` (the server counts characters,
 * not bytes; the files are UTF-8). */
static int line_of(const char *sql, long pos)
{
	int line = 1;
	long chars = 0;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
		if ((*p & 0xC0) != 0x80 && ++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* Open a transaction holding the migration lock, with the ledger present and
 * no statement timeout (a migration may legitimately run long). */
static int begin_locked(PGconn *pg, char *err, size_t errlen)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL client_min_messages = warning;"
		 " SELECT pg_advisory_xact_lock(%lld)",
		 (long long)HZ_MIGRATE_LOCK_KEY);
	int rc = hz_pg_exec(pg, "could not take the migration lock", sql, err, errlen);
	if (rc)
		goto fail;
	/* Look before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE
	 * privilege even when the schema exists. */
	PGresult *res = hz_pg_query(pg, "could not read the migration ledger",
				    "SELECT to_regclass('hazard.schema_migrations') IS NULL", 0,
				    NULL, &rc, err, errlen);
	if (!res)
		goto fail;
	bool missing = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (missing) {
		rc = hz_pg_exec(pg, "could not create hazard.schema_migrations", LEDGER_SQL, err,
				errlen);
		if (rc)
			goto fail;
	}
	return HZ_OK;
fail:
	hz_pg_rollback(pg);
	return rc;
}

/* 1 if `version` is recorded, 0 if not, negative on failure. */
static int is_applied(PGconn *pg, int version, char *err, size_t errlen)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", version);
	const char *params[] = {v};
	int rc;
	PGresult *res = hz_pg_query(pg, "could not read the migration ledger",
				    "SELECT 1 FROM hazard.schema_migrations WHERE version = $1", 1,
				    params, &rc, err, errlen);
	if (!res)
		return rc;
	int found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

/* The recorded versions, ascending; caller frees *v. */
static int db_versions(PGconn *pg, int **v, size_t *n, char *err, size_t errlen)
{
	int rc;
	*v = NULL;
	*n = 0;
	PGresult *res = hz_pg_query(pg, "could not read the migration ledger",
				    "SELECT version FROM hazard.schema_migrations ORDER BY version",
				    0, NULL, &rc, err, errlen);
	if (!res)
		return rc;
	size_t rows = (size_t)PQntuples(res);
	*v = malloc((rows ? rows : 1) * sizeof(**v));
	if (!*v) {
		PQclear(res);
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	for (size_t i = 0; i < rows; i++)
		(*v)[i] = atoi(PQgetvalue(res, (int)i, 0));
	*n = rows;
	PQclear(res);
	return HZ_OK;
}

static bool contains(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static int apply_one(PGconn *pg, const char *dir, const struct mfile *mf, int *done, char *err,
		     size_t errlen)
{
	char path[PATH_MAX + 300], msg[1024];
	*done = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, mf->name);
	char *sql = read_file(path, err, errlen);
	if (!sql)
		return HZ_ECONFIG;
	int rc = begin_locked(pg, err, errlen);
	if (rc)
		goto out;
	rc = is_applied(pg, mf->version, err, errlen);
	if (rc < 0)
		goto fail;
	if (rc == 1) { /* another process got there first */
		rc = hz_pg_commit(pg, err, errlen);
		goto out;
	}
	PGresult *res = PQexec(pg, sql);
	if (!res ||
	    (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)) {
		rc = hz_pg_check(pg, res, PGRES_COMMAND_OK, "error", msg, sizeof(msg));
		const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
		/* skip hz_pg_check's "error: " prefix */
		const char *text = msg + strlen("error: ");
		if (pos)
			hz_errf(err, errlen, "migration %s failed: line %d: %s", mf->name,
				line_of(sql, atol(pos)), text);
		else
			hz_errf(err, errlen, "migration %s failed: %s", mf->name, text);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	char v[16];
	snprintf(v, sizeof(v), "%d", mf->version);
	const char *params[] = {v, mf->name};
	res = PQexecParams(pg,
			   "INSERT INTO hazard.schema_migrations (version, name) VALUES ($1, $2)",
			   2, NULL, params, NULL, NULL, 0);
	rc = hz_pg_check(pg, res, PGRES_COMMAND_OK, "could not record migration", err, errlen);
	PQclear(res);
	if (rc)
		goto fail;
	rc = hz_pg_commit(pg, err, errlen);
	if (rc == HZ_OK)
		*done = 1;
	goto out;
fail:
	hz_pg_rollback(pg);
out:
	free(sql);
	return rc;
}

int hz_migrate_apply(PGconn *pg, const char *sql_dir, int *applied, char *err, size_t errlen)
{
	struct mfile *files = NULL;
	int *have = NULL;
	size_t n = 0, nhave = 0;
	int count = 0;
	if (applied)
		*applied = 0;
	if (PQtransactionStatus(pg) != PQTRANS_IDLE) {
		hz_errf(err, errlen, "cannot migrate inside an open transaction");
		return HZ_ERR;
	}
	int rc = list_files(sql_dir, &files, &n, err, errlen);
	if (rc)
		return rc;

	/* Read the ledger once, and refuse a database that is ahead of us
	 * before changing anything. */
	rc = begin_locked(pg, err, errlen);
	if (rc)
		goto out;
	rc = db_versions(pg, &have, &nhave, err, errlen);
	if (rc) {
		hz_pg_rollback(pg);
		goto out;
	}
	rc = hz_pg_commit(pg, err, errlen);
	if (rc)
		goto out;
	if (nhave > 0 && have[nhave - 1] > files[n - 1].version) {
		hz_errf(err, errlen,
			"database schema is at version %d but the newest migration in \"%s\" is "
			"%d: refusing to run against a newer schema",
			have[nhave - 1], sql_dir, files[n - 1].version);
		rc = HZ_ECONFIG;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int done = 0;
		if (contains(have, nhave, files[i].version))
			continue; /* applied before we looked: nothing un-applies it */
		rc = apply_one(pg, sql_dir, &files[i], &done, err, errlen);
		if (rc)
			goto out;
		count += done;
	}
out:
	if (applied)
		*applied = count;
	free(files);
	free(have);
	return rc;
}

int hz_migrate_status(PGconn *pg, const char *sql_dir, int *db_version, int *file_version_out,
		      char *err, size_t errlen)
{
	if (file_version_out) {
		struct mfile *files;
		size_t n;
		int rc = list_files(sql_dir, &files, &n, err, errlen);
		if (rc)
			return rc;
		*file_version_out = files[n - 1].version;
		free(files);
	}
	if (db_version) {
		*db_version = 0;
		int rc;
		PGresult *res =
			hz_pg_query(pg, "could not read the migration ledger",
				    "SELECT to_regclass('hazard.schema_migrations') IS NULL", 0,
				    NULL, &rc, err, errlen);
		if (!res)
			return rc;
		bool missing = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (!missing) {
			int *v;
			size_t nv;
			rc = db_versions(pg, &v, &nv, err, errlen);
			if (rc)
				return rc;
			*db_version = nv ? v[nv - 1] : 0;
			free(v);
		}
	}
	return HZ_OK;
}

static bool has_migrations(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL)
		found = file_version(de->d_name) == 1;
	closedir(d);
	return found;
}

int hz_migrate_find_dir(char *out, size_t outlen, char *err, size_t errlen)
{
	const char *env = getenv("HZ_SQL_DIR");
	if (env && *env) {
		if (has_migrations(env)) {
			snprintf(out, outlen, "%s", env);
			return HZ_OK;
		}
		hz_errf(err, errlen, "HZ_SQL_DIR \"%s\" holds no 001_*.sql", env);
		return HZ_ENOTFOUND;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	} else {
		exe[0] = '\0';
	}
	static const char *const rel[] = {"/../share/hazardd/sql", "/../sql", "/../../sql"};
	char cand[PATH_MAX + 32];
	for (size_t i = 0; exe[0] && i < HZ_ARRAY_LEN(rel); i++) {
		snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
		if (has_migrations(cand)) {
			char *real = realpath(cand, NULL);
			snprintf(out, outlen, "%s", real ? real : cand);
			free(real);
			return HZ_OK;
		}
	}
	static const char *const abs_dirs[] = {"/usr/local/share/hazardd/sql",
					       "/usr/share/hazardd/sql"};
	for (size_t i = 0; i < HZ_ARRAY_LEN(abs_dirs); i++) {
		if (has_migrations(abs_dirs[i])) {
			snprintf(out, outlen, "%s", abs_dirs[i]);
			return HZ_OK;
		}
	}
	hz_errf(err, errlen,
		"could not find the SQL migrations: set --sql-dir or HZ_SQL_DIR (tried %s/../share/"
		"hazardd/sql, %s/../sql, /usr/local/share/hazardd/sql, /usr/share/hazardd/sql)",
		exe, exe);
	return HZ_ENOTFOUND;
}

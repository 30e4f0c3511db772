/*
 * migrate.h - apply the numbered SQL migrations (sql/NNN_name.sql) exactly
 * once, even when several daemons and `hazardctl migrate` start together.
 */
#ifndef HZ_STORE_MIGRATE_H
#define HZ_STORE_MIGRATE_H

#include "core/hz.h"

#include <libpq-fe.h>

/* The advisory lock key every migration holds (pg_advisory_xact_lock):
 * "hazardd" in ASCII. Other tools that change the schema should take it too. */
#define HZ_MIGRATE_LOCK_KEY INT64_C(0x68617a61726464)

/* Apply every `sql_dir`/NNN_*.sql whose version is not yet recorded in
 * hazard.schema_migrations, in version order, each in its own transaction
 * that first takes the advisory lock, re-checks the ledger, runs the file
 * and records it. Creates schema hazard and the ledger when missing.
 * Refuses (HZ_ECONFIG) when the database has a version newer than the
 * newest file, or when two files share a version. `pg` must be idle (no
 * open transaction). *applied (may be NULL) is set to the number of files
 * applied by this call, also on failure.
 * Returns 0, HZ_ETRANSIENT, HZ_ECONFIG or HZ_ERR with err like
 * `migration 002_tickets.sql failed: line 40: syntax error at or near "x"
 * (SQLSTATE 42601)`. */
int hz_migrate_apply(PGconn *pg, const char *sql_dir, int *applied, char *err, size_t errlen);

/* The highest version recorded in the database (0 when the ledger is
 * missing or empty) and the highest version among the files in sql_dir
 * (0 when none). Either out pointer may be NULL. */
int hz_migrate_status(PGconn *pg, const char *sql_dir, int *db_version, int *file_version,
		      char *err, size_t errlen);

/* Find the SQL directory when none is configured: $HZ_SQL_DIR, then,
 * relative to the running executable, ../share/hazardd/sql (installed),
 * ../sql and ../../sql (a build tree), then /usr/local/share/hazardd/sql
 * and /usr/share/hazardd/sql. The first that holds a 001_*.sql wins.
 * Returns 0, or HZ_ENOTFOUND with err listing what was tried. */
int hz_migrate_find_dir(char *out, size_t outlen, char *err, size_t errlen);

#endif

/*
 * pg.h - PostgreSQL connection helpers shared by hazardd and hazardctl:
 * connecting with a readable error, running a statement and turning a
 * failure into "what: message (SQLSTATE xxxxx)", telling transient failures
 * (retry, acknowledge nothing) from permanent ones (dead letter), and
 * redacting passwords from connection strings before they are logged.
 *
 * No pooling, no reconnect loop: callers own their PGconn and decide when to
 * retry. PGresults never leave store/ and registry/.
 */
#ifndef HZ_STORE_PG_H
#define HZ_STORE_PG_H

#include "core/hz.h"

#include <libpq-fe.h>

/* Connect with application_name "hazardd" (unless the DSN sets one) and no
 * statement timeout. Same as hz_pg_connect_ex(dsn, NULL, 0, err, errlen). */
PGconn *hz_pg_connect(const char *dsn, char *err, size_t errlen);

/* Connect to `dsn` (a "key=value ..." string or a postgresql:// URI; NULL or
 * "" uses libpq's PG* environment). `app_name` is a fallback
 * application_name (the DSN wins); NULL means "hazardd". A positive
 * `statement_timeout_ms` is set for the session, so a stalled server is
 * detected (SQLSTATE 57014, transient). Also sets connect_timeout=10 unless
 * the DSN sets it, and client_encoding UTF8. Server notices go to the
 * diagnostic log (core/log.h), not to stderr.
 * Returns a connection owned by the caller (PQfinish), or NULL with
 * err = `could not connect to "host=db1 dbname=hazard": connection refused`
 * (password redacted). */
PGconn *hz_pg_connect_ex(const char *dsn, const char *app_name, int statement_timeout_ms, char *err,
			 size_t errlen);

/* Run `sql` (no parameters; several statements allowed) and expect success.
 * Returns 0, HZ_ETRANSIENT (see hz_pg_is_transient) or HZ_ERR with
 * err = "<what>: <message> (SQLSTATE xxxxx)". */
int hz_pg_exec(PGconn *pg, const char *what, const char *sql, char *err, size_t errlen);

/* Run a parameterised query (text parameters, NULL pointer = SQL NULL) that
 * returns rows. Returns the result, owned by the caller (PQclear), or NULL
 * with *rc set as hz_pg_exec and err filled. rc may be NULL. */
PGresult *hz_pg_query(PGconn *pg, const char *what, const char *sql, int nparams,
		      const char *const *params, int *rc, char *err, size_t errlen);

/* Check a result for `want` (PGRES_COMMAND_OK, PGRES_TUPLES_OK, ...).
 * Returns 0, or HZ_ETRANSIENT / HZ_ERR with err filled as hz_pg_exec. Does
 * not clear `res`; `res` may be NULL (out of memory or lost connection). */
int hz_pg_check(PGconn *pg, const PGresult *res, ExecStatusType want, const char *what, char *err,
		size_t errlen);

/* The SQLSTATE of a failed result, or "" when there is none (client-side
 * errors, a lost connection). Never NULL. */
const char *hz_pg_sqlstate(const PGresult *res);

/* True when a failure is worth retrying: the connection is gone (pg is bad,
 * or the result has no SQLSTATE), or the SQLSTATE is in class 08
 * (connection), 53 (insufficient resources), or one of 40001 (serialization),
 * 40P01 (deadlock), 40003, 57P01/57P02/57P03 (shutdown, crash, cannot connect
 * now), 57P05, 57014 (statement timeout: a stalled server), 55P03 (lock
 * timeout), 58030 (I/O error). Everything else is permanent: retrying the
 * same input fails the same way. Either argument may be NULL. */
bool hz_pg_is_transient(const PGconn *pg, const PGresult *res);
/* The SQLSTATE part of hz_pg_is_transient; NULL or "" counts as transient. */
bool hz_pg_sqlstate_is_transient(const char *sqlstate);

/* Copy `dsn` into buf with every password replaced by "********":
 * password=... in key=value form (quoted or not), user:password@ and
 * ?password= in URIs. Always NUL-terminates; returns buf. NULL dsn gives "". */
const char *hz_pg_redact(const char *dsn, char *buf, size_t len);

/* BEGIN / COMMIT / ROLLBACK. hz_pg_rollback ignores errors (the transaction
 * is abandoned either way) and is harmless outside a transaction. */
int hz_pg_begin(PGconn *pg, char *err, size_t errlen);
int hz_pg_commit(PGconn *pg, char *err, size_t errlen);
void hz_pg_rollback(PGconn *pg);

#endif

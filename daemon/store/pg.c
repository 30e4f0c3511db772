/*
 * pg.c - connecting to PostgreSQL, checking results, classifying failures
 * and redacting connection strings.
 *
 * Error text follows PostgreSQL's style ("what: message (SQLSTATE xxxxx)").
 * The transient/permanent split is the contract RELIABILITY.md rule 4 rests
 * on: a transient failure is retried and nothing is acknowledged; a
 * permanent one turns the input into a dead letter. When in doubt (no
 * SQLSTATE, connection state unknown) a failure counts as transient, since
 * retrying too often is safe and dead-lettering good input is not.
 */
#include "store/pg.h"
#include "core/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copy a libpq message's first line, without its severity prefix
 * ("FATAL:  ", "ERROR:  ") or libpq's "connection to server at ... failed: "
 * preamble, lowercasing a leading capital in front of a lowercase letter
 * ("Connection refused" -> "connection refused"). */
static void clean_message(const char *msg, char *out, size_t outlen)
{
	if (!msg)
		msg = "";
	const char *p = msg;
	const char *failed = strstr(p, " failed: ");
	const char *nl = strchr(p, '\n');
	if (failed && (!nl || failed < nl))
		p = failed + strlen(" failed: ");
	static const char *const prefixes[] = {"FATAL:  ", "ERROR:  ", "PANIC:  "};
	for (size_t i = 0; i < HZ_ARRAY_LEN(prefixes); i++)
		if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0)
			p += strlen(prefixes[i]);
	size_t n = strcspn(p, "\n");
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r' || p[n - 1] == '.'))
		n--;
	if (n >= outlen)
		n = outlen ? outlen - 1 : 0;
	if (outlen == 0)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
	if (n >= 2 && isupper((unsigned char)out[0]) && islower((unsigned char)out[1]))
		out[0] = (char)tolower((unsigned char)out[0]);
}

/* "host=h port=p dbname=d user=u" of a connection made from the environment. */
static void describe_target(const PGconn *pg, char *out, size_t outlen)
{
	const char *host = pg ? PQhost(pg) : NULL, *port = pg ? PQport(pg) : NULL;
	const char *db = pg ? PQdb(pg) : NULL, *user = pg ? PQuser(pg) : NULL;
	snprintf(out, outlen, "host=%s port=%s dbname=%s user=%s", host && *host ? host : "?",
		 port && *port ? port : "?", db && *db ? db : "?", user && *user ? user : "?");
}

/* Server notices go to the diagnostic log, not straight to stderr: warnings
 * at warn, the rest ("relation already exists, skipping") at debug. */
static void notice_receiver(void *arg, const PGresult *res)
{
	(void)arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (sev && strcmp(sev, "WARNING") == 0)
		hz_warn("postgresql: %s", msg ? msg : "");
	else
		hz_debug("postgresql %s: %s", sev ? sev : "notice", msg ? msg : "");
}

PGconn *hz_pg_connect(const char *dsn, char *err, size_t errlen)
{
	return hz_pg_connect_ex(dsn, NULL, 0, err, errlen);
}

PGconn *hz_pg_connect_ex(const char *dsn, const char *app_name, int statement_timeout_ms, char *err,
			 size_t errlen)
{
	/* Defaults first, the DSN last: libpq keeps the last value of a
	 * repeated keyword, so anything the DSN says wins. */
	const char *keys[6], *vals[6];
	int n = 0;
	if (!getenv("PGCONNECT_TIMEOUT")) {
		keys[n] = "connect_timeout";
		vals[n++] = "10";
	}
	if (!getenv("PGCLIENTENCODING")) {
		keys[n] = "client_encoding";
		vals[n++] = "UTF8";
	}
	keys[n] = "fallback_application_name";
	vals[n++] = app_name ? app_name : "hazardd";
	if (dsn && *dsn) {
		keys[n] = "dbname";
		vals[n++] = dsn;
	}
	keys[n] = NULL;
	vals[n] = NULL;

	char target[512], msg[512];
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (dsn && *dsn)
		hz_pg_redact(dsn, target, sizeof(target));
	else
		describe_target(pg, target, sizeof(target));
	if (!pg) {
		hz_errf(err, errlen, "could not connect to \"%s\": out of memory", target);
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		clean_message(PQerrorMessage(pg), msg, sizeof(msg));
		hz_errf(err, errlen, "could not connect to \"%s\": %s", target, msg);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeReceiver(pg, notice_receiver, NULL);
	if (statement_timeout_ms > 0) {
		char sql[64];
		snprintf(sql, sizeof(sql), "SET statement_timeout = %d", statement_timeout_ms);
		if (hz_pg_exec(pg, "could not set statement_timeout", sql, msg, sizeof(msg))) {
			hz_errf(err, errlen, "could not connect to \"%s\": %s", target, msg);
			PQfinish(pg);
			return NULL;
		}
	}
	return pg;
}

const char *hz_pg_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

bool hz_pg_sqlstate_is_transient(const char *s)
{
	if (!s || strlen(s) != 5)
		return true; /* no SQLSTATE: a client-side or connection failure */
	if (strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0)
		return true;
	static const char *const codes[] = {"40001", "40P01", "40003", "57P01", "57P02",
					    "57P03", "57P05", "57014", "55P03", "58030"};
	for (size_t i = 0; i < HZ_ARRAY_LEN(codes); i++)
		if (strcmp(s, codes[i]) == 0)
			return true;
	return false;
}

bool hz_pg_is_transient(const PGconn *pg, const PGresult *res)
{
	if (pg && PQstatus(pg) == CONNECTION_BAD)
		return true;
	if (!res)
		return true;
	return hz_pg_sqlstate_is_transient(hz_pg_sqlstate(res));
}

int hz_pg_check(PGconn *pg, const PGresult *res, ExecStatusType want, const char *what, char *err,
		size_t errlen)
{
	if (res && PQresultStatus(res) == want)
		return HZ_OK;
	char msg[512];
	if (!what)
		what = "query failed";
	if (!res) {
		clean_message(pg ? PQerrorMessage(pg) : "out of memory", msg, sizeof(msg));
		hz_errf(err, errlen, "%s: %s", what, *msg ? msg : "no result");
		return HZ_ETRANSIENT;
	}
	const char *state = hz_pg_sqlstate(res);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR) {
		hz_errf(err, errlen, "%s: unexpected result %s", what, PQresStatus(st));
		return HZ_ERR;
	}
	clean_message(primary ? primary : PQresultErrorMessage(res), msg, sizeof(msg));
	if (*state && detail)
		hz_errf(err, errlen, "%s: %s (SQLSTATE %s); detail: %s", what, msg, state, detail);
	else if (*state)
		hz_errf(err, errlen, "%s: %s (SQLSTATE %s)", what, msg, state);
	else
		hz_errf(err, errlen, "%s: %s", what, msg);
	return hz_pg_is_transient(pg, res) ? HZ_ETRANSIENT : HZ_ERR;
}

int hz_pg_exec(PGconn *pg, const char *what, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	int rc = HZ_OK;
	/* A multi-statement string returns the last result; COMMAND_OK and
	 * TUPLES_OK are both success. */
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = hz_pg_check(pg, res, PGRES_COMMAND_OK, what, err, errlen);
	PQclear(res);
	return rc;
}

PGresult *hz_pg_query(PGconn *pg, const char *what, const char *sql, int nparams,
		      const char *const *params, int *rc, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	int r = hz_pg_check(pg, res, PGRES_TUPLES_OK, what, err, errlen);
	if (rc)
		*rc = r;
	if (r) {
		PQclear(res);
		return NULL;
	}
	return res;
}

int hz_pg_begin(PGconn *pg, char *err, size_t errlen)
{
	return hz_pg_exec(pg, "could not begin transaction", "BEGIN", err, errlen);
}

int hz_pg_commit(PGconn *pg, char *err, size_t errlen)
{
	return hz_pg_exec(pg, "could not commit transaction", "COMMIT", err, errlen);
}

void hz_pg_rollback(PGconn *pg)
{
	if (pg && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
}

/* ---- redaction ---- */

struct out {
	char *buf;
	size_t len, pos;
};

static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->pos + 1 < o->len; i++)
		o->buf[o->pos++] = s[i];
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

#define MASK "********"

static bool key_is_password(const char *k, size_t n)
{
	return n == 8 && strncasecmp(k, "password", 8) == 0;
}

static void redact_uri(struct out *o, const char *dsn)
{
	const char *p = strstr(dsn, "://") + 3;
	put(o, dsn, (size_t)(p - dsn));
	size_t alen = strcspn(p, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (p[i] == '@')
			at = p + i; /* the last '@' ends the user info */
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			put(o, p, (size_t)(colon - p));
			puts_(o, ":" MASK);
		} else {
			put(o, p, (size_t)(at - p));
		}
		p = at;
		alen = strcspn(p, "/?#");
	}
	put(o, p, alen);
	p += alen;
	/* path, then query parameters: mask password=... */
	size_t plen = strcspn(p, "?");
	put(o, p, plen);
	p += plen;
	while (*p) {
		put(o, p, 1); /* '?' or '&' */
		p++;
		size_t klen = strcspn(p, "=&#");
		put(o, p, klen);
		bool secret = key_is_password(p, klen);
		p += klen;
		if (*p == '=') {
			put(o, p, 1);
			p++;
			size_t vlen = strcspn(p, "&#");
			if (secret)
				puts_(o, MASK);
			else
				put(o, p, vlen);
			p += vlen;
		}
		if (*p == '#') {
			puts_(o, p);
			break;
		}
	}
}

static void redact_kv(struct out *o, const char *p)
{
	while (*p) {
		size_t sp = strspn(p, " \t\r\n");
		put(o, p, sp);
		p += sp;
		if (!*p)
			break;
		size_t klen = strcspn(p, "= \t\r\n");
		bool secret = key_is_password(p, klen);
		put(o, p, klen);
		p += klen;
		sp = strspn(p, " \t\r\n");
		put(o, p, sp);
		p += sp;
		if (*p != '=') {
			/* Not a connection string libpq would accept; show no more of
			 * it than we have understood. */
			if (*p)
				puts_(o, "...");
			return;
		}
		put(o, p, 1);
		p++;
		sp = strspn(p, " \t\r\n");
		put(o, p, sp);
		p += sp;
		const char *v = p;
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		if (secret)
			puts_(o, MASK);
		else
			put(o, v, (size_t)(p - v));
	}
}

const char *hz_pg_redact(const char *dsn, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	struct out o = {buf, len, 0};
	if (dsn) {
		if ((strncmp(dsn, "postgresql://", 13) == 0 ||
		     strncmp(dsn, "postgres://", 11) == 0))
			redact_uri(&o, dsn);
		else
			redact_kv(&o, dsn);
	}
	buf[o.pos] = '\0';
	return buf;
}

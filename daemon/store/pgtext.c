/*
 * pgtext.c - array literals and ticket columns (see pgtext.h).
 */
#include "store/pgtext.h"
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hz_pgarr_begin(struct hz_buf *a)
{
	hz_buf_clear(a);
	hz_buf_append(a, "{", 1);
}

static void pgarr_sep(struct hz_buf *a)
{
	if (a->len > 1)
		hz_buf_append(a, ",", 1);
}

void hz_pgarr_text(struct hz_buf *a, const char *s)
{
	pgarr_sep(a);
	if (!s) {
		hz_buf_append(a, "NULL", 4);
		return;
	}
	if (hz_buf_reserve(a, strlen(s) * 2 + 2) == HZ_OK) {
		/* written in place: room for every byte escaped and the quotes */
		unsigned char *o = a->data + a->len;
		*o++ = '"';
		for (const char *p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = (unsigned char)*p;
		}
		*o++ = '"';
		a->len = (size_t)(o - a->data);
		return;
	}
	hz_buf_append(a, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			hz_buf_append(a, "\\", 1);
		hz_buf_append(a, p, 1);
	}
	hz_buf_append(a, "\"", 1);
}

/* "" and NULL both become SQL NULL. */
void hz_pgarr_opt(struct hz_buf *a, const char *s)
{
	hz_pgarr_text(a, s && *s ? s : NULL);
}

void hz_pgarr_int(struct hz_buf *a, int64_t v)
{
	/* what "%lld" prints, without printf */
	char d[24], *p = d + sizeof(d);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	pgarr_sep(a);
	hz_buf_append(a, p, (size_t)(d + sizeof(d) - p));
}

/* 0 means NULL (times). */
void hz_pgarr_time(struct hz_buf *a, int64_t us)
{
	if (us)
		hz_pgarr_int(a, us);
	else
		hz_pgarr_text(a, NULL);
}

void hz_pgarr_bytea(struct hz_buf *a, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	pgarr_sep(a);
	const unsigned char *s = p;
	if (hz_buf_reserve(a, n * 2 + 8) == HZ_OK) {
		/* written in place: the prefix, two digits a byte, the quote */
		unsigned char *o = a->data + a->len;
		memcpy(o, "\"\\\\x", 4);
		o += 4;
		for (size_t i = 0; i < n; i++) {
			*o++ = (unsigned char)hex[s[i] >> 4];
			*o++ = (unsigned char)hex[s[i] & 15];
		}
		*o++ = '"';
		a->len = (size_t)(o - a->data);
		return;
	}
	hz_buf_append(a, "\"\\\\x", 4);
	for (size_t i = 0; i < n; i++) {
		char h[2] = {hex[s[i] >> 4], hex[s[i] & 15]};
		hz_buf_append(a, h, 2);
	}
	hz_buf_append(a, "\"", 1);
}

const char * hz_pgarr_end(struct hz_buf *a)
{
	hz_buf_append(a, "}", 1);
	hz_buf_cstr(a);
	return (const char *)a->data;
}


static void copy_col(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	snprintf(dst, cap, "%s", PQgetvalue(res, row, col)); /* NULL reads as "" */
}

static int64_t int_col(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void hz_store_ticket_read(const PGresult *res, int row, int col, struct hz_ticket *tk)
{
	memset(tk, 0, sizeof(*tk));
	tk->ticket_id = int_col(res, row, col);
	tk->kind = hz_kind_parse(PQgetvalue(res, row, col + 1));
	tk->state = hz_state_parse(PQgetvalue(res, row, col + 2));
	tk->level = hz_level_parse(PQgetvalue(res, row, col + 3));
	tk->tier = hz_tier_parse(PQgetvalue(res, row, col + 4));
	tk->mode = hz_mode_parse(PQgetvalue(res, row, col + 5));
	copy_col(tk->site_id, sizeof(tk->site_id), res, row, col + 6);
	copy_col(tk->town_code, sizeof(tk->town_code), res, row, col + 7);
	copy_col(tk->county_code, sizeof(tk->county_code), res, row, col + 8);
	copy_col(tk->hazard_type, sizeof(tk->hazard_type), res, row, col + 9);
	copy_col(tk->device_id, sizeof(tk->device_id), res, row, col + 10);
	tk->opened_us = int_col(res, row, col + 11);
	tk->updated_us = int_col(res, row, col + 12);
	tk->acked_us = int_col(res, row, col + 13);
	tk->deadline_us = int_col(res, row, col + 14);
	tk->closed_us = int_col(res, row, col + 15);
	tk->event_count = int_col(res, row, col + 16);
	tk->ack_due_us = int_col(res, row, col + 17);
	tk->escalation_repeat = (int)int_col(res, row, col + 18);
	tk->reopened_count = (int)int_col(res, row, col + 19);
	tk->rectify_mode = hz_rectify_parse(PQgetvalue(res, row, col + 20));
	tk->assigned_us = int_col(res, row, col + 21);
	tk->rectify_due_us = int_col(res, row, col + 22);
	tk->rectified_us = int_col(res, row, col + 23);
	tk->overdue_us = int_col(res, row, col + 24);
	tk->flapping_us = int_col(res, row, col + 25);
	tk->silenced_count = int_col(res, row, col + 26);
	tk->held_count = int_col(res, row, col + 27);
	copy_col(tk->acked_by, sizeof(tk->acked_by), res, row, col + 28);
	copy_col(tk->assignee, sizeof(tk->assignee), res, row, col + 29);
	copy_col(tk->rectified_by, sizeof(tk->rectified_by), res, row, col + 30);
	copy_col(tk->verified_by, sizeof(tk->verified_by), res, row, col + 31);
	copy_col(tk->closed_by, sizeof(tk->closed_by), res, row, col + 32);
}

int hz_store_draw_ids(PGconn *pg, const char *sequence, size_t n, int64_t *out, char *err,
		      size_t errlen)
{
	char nb[24];
	int rc;
	snprintf(nb, sizeof(nb), "%zu", n);
	const char *p[] = {sequence, nb};
	PGresult *res = hz_pg_query(pg, "drawing ids",
				    "SELECT nextval($1::regclass) FROM generate_series(1, $2::int)", 2,
				    p, &rc, err, errlen);
	if (!res)
		return rc;
	if ((size_t)PQntuples(res) != n) {
		PQclear(res);
		hz_errf(err, errlen, "drawing ids: expected %zu rows", n);
		return HZ_ERR;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	PQclear(res);
	return HZ_OK;
}

void hz_pgarr_begin_all(struct hz_buf *a, int n)
{
	for (int i = 0; i < n; i++) {
		a[i] = (struct hz_buf)HZ_BUF_INIT;
		hz_pgarr_begin(&a[i]);
	}
}

void hz_pgarr_free_all(struct hz_buf *a, int n)
{
	for (int i = 0; i < n; i++)
		hz_buf_free(&a[i]);
}

PGresult *hz_store_claim(PGconn *pg, const char *what, const char *sql, size_t max,
			 const struct hz_timer_owner *own, int *rc, char *err, size_t errlen)
{
	*rc = hz_pg_exec(pg, "BEGIN", "BEGIN", err, errlen);
	if (*rc)
		return NULL;
	char lim[24], grace[24];
	snprintf(lim, sizeof(lim), "%zu", max);
	snprintf(grace, sizeof(grace), "%lld", (long long)own->grace_us);
	const char *p[] = {lim, own->topics, own->partitions, grace};
	PGresult *res = hz_pg_query(pg, what, sql, 4, p, rc, err, errlen);
	if (!res)
		hz_pg_rollback(pg);
	return res;
}

int hz_store_write_commit(PGconn *pg, const char *what, const char *sql, struct hz_buf *a,
			  int n, const char *const *extra, int n_extra, char *err, size_t errlen)
{
	const char *p[32];
	if (n + n_extra > (int)(sizeof(p) / sizeof(p[0]))) {
		hz_errf(err, errlen, "%s: too many parameters", what);
		hz_pg_rollback(pg);
		return HZ_ERR;
	}
	for (int i = 0; i < n; i++)
		p[i] = hz_pgarr_end(&a[i]);
	for (int i = 0; i < n_extra; i++)
		p[n + i] = extra[i];
	PGresult *res = PQexecParams(pg, sql, n + n_extra, NULL, p, NULL, NULL, 0);
	int rc = hz_pg_check(pg, res, PGRES_COMMAND_OK, what, err, errlen);
	PQclear(res);
	if (!rc)
		rc = hz_pg_exec(pg, "COMMIT", "COMMIT", err, errlen);
	if (rc)
		hz_pg_rollback(pg);
	return rc;
}

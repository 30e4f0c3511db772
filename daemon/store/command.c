/*
 * command.c - apply one operator command in one transaction (see
 * command.h). The decision is tickets/state.c's; this file reads what the
 * decision needs under the ticket's row lock and writes what it decided.
 *
 * Time of action: the actor's acted_at, bounded by the database's clock
 * (never later than now, never before the ticket opened). Further than
 * pipeline.command_skew ahead of now it is taken as now; further behind it
 * is kept (field apps queue commands offline); both are flagged in the
 * result and the history row. An acknowledgement sets acked_at to this
 * time, so an ack given offline before a deadline is recorded as given
 * then (an escalation that already fired stays in the record).
 *
 * Dispatch: the assignee is looked up in the registry (a rescue unit, else
 * a person, else an org unit, by id) together with the ticket's county,
 * and tickets/state.c refuses one that is none of them or lies outside the
 * county (see struct hz_state_assignee). Reopen: before the table's
 * columns change, the ended round's acknowledgement goes to
 * hazard.ticket_rounds, acked_at/acked_by are cleared and ack_due_at is set
 * from the rules (o->rules) for the ticket's level, tier and site risk,
 * counted from the database's clock, exactly as a new ticket's first
 * deadline; the escalation scan then climbs the chain from the ticket's
 * tier if nobody answers. escalation_repeat is kept: with the tier, it keys
 * the steps (ticket, tier, repeat), so a later round never reuses one.
 */
#include "store/command.h"
#include "store/context.h"
#include "store/pg.h"
#include "store/pgtext.h"
#include "codec/codec.h"
#include "codec/outbox.h"
#include "core/buf.h"
#include "registry/registry.h"
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const source_names[] = {"mqtt", "kafka", "hazardctl"};

/* ---- from an event ---- */

static void put(char *dst, size_t cap, const char *src, const char *field, struct hz_command *cmd)
{
	src = src ? src : "";
	size_t n = strlen(src);
	if (n >= cap) {
		if (!*cmd->invalid)
			snprintf(cmd->invalid, sizeof(cmd->invalid), "field \"%s\" is longer than %zu bytes",
				 field, cap - 1);
		n = 0;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void hz_command_from_event(const struct hz_event *ev, enum hz_cmd_source src,
			   struct hz_command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->source = src;
	put(cmd->command_id, sizeof(cmd->command_id), ev->event_id, "command_id", cmd);
	cmd->acted_us = ev->at_us;
	cmd->mode = ev->mode;
	put(cmd->actor_id, sizeof(cmd->actor_id), ev->u.command.actor_id, "actor_id", cmd);
	cmd->action = ev->u.command.action;
	cmd->ticket_id = ev->u.command.ticket_id;
	put(cmd->reason, sizeof(cmd->reason), ev->u.command.reason, "reason", cmd);
	put(cmd->note, sizeof(cmd->note), ev->u.command.note, "note", cmd);
	put(cmd->assignee, sizeof(cmd->assignee), ev->u.command.assignee, "assignee", cmd);
	const struct hz_strv *urls = &ev->u.command.evidence_urls;
	if (urls->n > HZ_CMD_EVIDENCE_MAX && !*cmd->invalid)
		snprintf(cmd->invalid, sizeof(cmd->invalid), "at most %d evidence URLs",
			 HZ_CMD_EVIDENCE_MAX);
	for (size_t i = 0; i < urls->n && i < HZ_CMD_EVIDENCE_MAX; i++)
		put(cmd->evidence[cmd->n_evidence++], HZ_CMD_URL_MAX, urls->v[i], "evidence_urls",
		    cmd);
	cmd->rectify_mode = ev->u.command.rectify_mode;
	cmd->due_us = ev->u.command.due_at_us;
	put(cmd->silence_target, sizeof(cmd->silence_target), ev->u.command.silence_target,
	    "silence_target", cmd);
	cmd->silence_until_us = ev->u.command.silence_until_us;
}

/* ---- statements ---- */

/* The ticket, locked. The last column says whether another ticket of the
 * same episode is open (a reopen would break the open-episode index). */
static const char SQL_LOCK[] =
	"SELECT " HZ_SQL_TICKET("t.") ", "
	"(SELECT min(o.ticket_id) FROM hazard.tickets o WHERE o.episode_key = t.episode_key "
	"AND o.ticket_id <> t.ticket_id AND o.state NOT IN ('closed','dismissed')) "
	"FROM hazard.tickets t WHERE t.ticket_id = $1::int8 FOR UPDATE OF t";

/* The clock, read once the ticket is locked (not the transaction's start:
 * an escalation step that committed while we waited for the lock is then
 * always earlier than our time); a stored result; the actor; and whether
 * the actor's org unit is on the ticket's chain: the site's grid or village
 * and everything above it, plus the ticket's town and county (and theirs)
 * for tickets without a registered site (area warnings). */
static const char SQL_ACTOR[] =
	"WITH RECURSIVE chain(code, parent) AS ("
	"SELECT o.code, o.parent_code FROM hazard.org_units o WHERE o.code IN ("
	"SELECT s.org_code FROM hazard.sites s WHERE s.site_id = $3 "
	"UNION ALL SELECT nullif($4, '') UNION ALL SELECT nullif($5, '')) "
	"UNION SELECT o.code, o.parent_code FROM hazard.org_units o JOIN chain c ON o.code = c.parent) "
	"SELECT " HZ_SQL_US("clock_timestamp()") ", c.result, p.person_id IS NOT NULL, coalesce(p.org_code,''), "
	"coalesce(p.tier,''), coalesce(p.org_code IN (SELECT code FROM chain), false) "
	"FROM (SELECT 1) one LEFT JOIN hazard.commands c ON c.command_id = $1 "
	"LEFT JOIN hazard.people p ON p.person_id = $2";

static const char SQL_UPDATE[] =
	"UPDATE hazard.tickets SET state = $2::text, updated_at = now(), "
	"acked_at = CASE WHEN $3::bool AND acked_at IS NULL THEN " HZ_SQL_TS("$4") " ELSE acked_at END, "
	"acked_by = CASE WHEN $3::bool AND acked_at IS NULL THEN $5 ELSE acked_by END, "
	"ack_due_at = CASE WHEN $3::bool OR $2 IN ('closed','dismissed') THEN NULL ELSE ack_due_at END, "
	"assignee = CASE WHEN $6::text = 'dispatch' THEN $7 ELSE assignee END, "
	"assigned_at = CASE WHEN $6 = 'dispatch' THEN " HZ_SQL_TS("$4") " ELSE assigned_at END, "
	"rectify_mode = CASE WHEN $6 = 'rectify' THEN $8 ELSE rectify_mode END, "
	"rectify_due_at = CASE WHEN $6 = 'rectify' THEN " HZ_SQL_TS("$9") " ELSE rectify_due_at END, "
	"rectified_by = CASE WHEN $6 = 'rectify' THEN $5 ELSE rectified_by END, "
	"rectified_at = CASE WHEN $6 = 'rectify' THEN " HZ_SQL_TS("$4") " ELSE rectified_at END, "
	/* 限期整改: the rectification's due time becomes the deadline the overdue
	 * scan watches (it is never after the close-out deadline: state.c) */
	"deadline_at = CASE WHEN $6 = 'rectify' AND $9 IS NOT NULL THEN " HZ_SQL_TS("$9") " ELSE deadline_at END, "
	"verified_by = CASE WHEN $6 = 'verify' THEN $5 ELSE verified_by END, "
	"closed_at = CASE WHEN $2 IN ('closed','dismissed') THEN " HZ_SQL_TS("$4") " "
	"WHEN $6 = 'reopen' THEN NULL ELSE closed_at END, "
	"closed_by = CASE WHEN $2 IN ('closed','dismissed') THEN $5 WHEN $6 = 'reopen' THEN NULL "
	"ELSE closed_by END, "
	"reopened_count = reopened_count + CASE WHEN $6 = 'reopen' THEN 1 ELSE 0 END "
	"WHERE ticket_id = $1::int8 RETURNING " HZ_SQL_TICKET("");

static const char SQL_HISTORY[] =
	"INSERT INTO hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, tier, "
	"actor, reason, event_id, action, actor_tier, acted_at, note, evidence_urls, assignee, flags, "
	"mode) "
	"SELECT $1::int8, (SELECT coalesce(max(h.seq),0) + 1 FROM hazard.ticket_history h "
	"WHERE h.ticket_id = $1::int8), now(), $2::text, $3::text, $4::text, $5::text, $6::text, "
	"$7::text, $8::text, $9::text, $10::text, " HZ_SQL_TS("$11") ", nullif($12::text,''), "
	"nullif($13::text[], '{}'), nullif($14::text,''), nullif($15::text,''), $16::text";

static const char SQL_OUTBOX[] =
	"INSERT INTO hazard.outbox (id, kind, msg_key, mqtt_topic, kafka_topic, content_type, "
	"payload, origin) SELECT u.id, u.kind, u.k, u.mt, u.kt, 'application/x-protobuf', u.p, "
	"nullif($7::text, '') FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], "
	"$5::text[], $6::bytea[]) AS u(id, kind, k, mt, kt, p)";

static const char SQL_RECORD[] =
	"INSERT INTO hazard.commands (command_id, acted_at, source, actor, action, ticket_id, mode, "
	"outcome, reason, result) VALUES ($1, " HZ_SQL_TS("$2") ", $3, $4, $5, nullif($6::int8, 0), $7, $8, "
	"nullif($9,''), $10::bytea)";

/* A dispatch's assignee ($1): a rescue unit, else a person, else an org
 * unit, with the org unit it belongs to; the ticket's county ($4, else the
 * county on the chain of its site $2 or area $3); and whether the assignee's
 * unit is under that county or on the ticket's chain above it. No row: not
 * in the registry. O(depth of the chain). */
static const char SQL_ASSIGNEE[] =
	"WITH RECURSIVE a AS (SELECT kind, name, org_code FROM ("
	"SELECT 1 AS pri, u.kind, u.name, u.org_code FROM hazard.rescue_units u WHERE u.unit_id = $1 "
	"UNION ALL SELECT 2, 'person', p.name, p.org_code FROM hazard.people p WHERE p.person_id = $1 "
	"UNION ALL SELECT 3, 'org_unit', o.name, o.code FROM hazard.org_units o WHERE o.code = $1"
	") x ORDER BY pri LIMIT 1), "
	"chain(code, parent, level) AS (SELECT o.code, o.parent_code, o.level FROM hazard.org_units o "
	"WHERE o.code IN (SELECT s.org_code FROM hazard.sites s WHERE s.site_id = $2 "
	"UNION ALL SELECT nullif($3, '') UNION ALL SELECT nullif($4, '')) "
	"UNION SELECT o.code, o.parent_code, o.level FROM hazard.org_units o JOIN chain c ON o.code = c.parent), "
	"up(code, parent) AS (SELECT o.code, o.parent_code FROM hazard.org_units o JOIN a ON o.code = a.org_code "
	"UNION SELECT o.code, o.parent_code FROM hazard.org_units o JOIN up ON o.code = up.parent), "
	"k AS (SELECT coalesce(nullif($4, ''), (SELECT min(code) FROM chain WHERE level = 'county')) AS county) "
	"SELECT a.kind, coalesce(a.name, ''), coalesce(a.org_code, ''), coalesce(k.county, ''), "
	"(EXISTS (SELECT 1 FROM up WHERE up.code = k.county) OR a.org_code IN (SELECT code FROM chain)) "
	"FROM a, k";

static const char SQL_ASSIGNEE_KIND[] =
	"UPDATE hazard.tickets SET assignee_kind = $2 WHERE ticket_id = $1::int8";

/* Reopen: the site's risk grade (for the deadline) and the acknowledgement
 * the reopen ends. */
static const char SQL_ROUND[] =
	"SELECT coalesce(s.risk_grade, ''), coalesce(t.acked_by, ''), "
	"coalesce(" HZ_SQL_US("t.acked_at") ", 0) FROM hazard.tickets t "
	"LEFT JOIN hazard.sites s ON s.site_id = t.site_id WHERE t.ticket_id = $1::int8";

/* Reopen: keep the ended round, clear its acknowledgement, set the new
 * deadline ($2, NULL for none). Both see the row as it was. */
static const char SQL_RECALL[] =
	"WITH r AS (INSERT INTO hazard.ticket_rounds (ticket_id, round, acked_at, acked_by, ended_at, "
	"reopened_at, reopened_by) SELECT ticket_id, reopened_count, acked_at, acked_by, closed_at, now(), $3 "
	"FROM hazard.tickets WHERE ticket_id = $1::int8) "
	"UPDATE hazard.tickets SET acked_at = NULL, acked_by = NULL, ack_due_at = " HZ_SQL_TS("$2") " "
	"WHERE ticket_id = $1::int8";

/* Run one statement; a unique violation (two applies of one command_id
 * racing) is transient: the retry finds the other's row and replays. */
static PGresult *q(PGconn *pg, const char *what, const char *sql, int n, const char *const *p,
		   ExecStatusType want, int *rc, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
	*rc = hz_pg_check(pg, res, want, what, err, errlen);
	if (*rc && !strcmp(hz_pg_sqlstate(res), "23505"))
		*rc = HZ_ETRANSIENT;
	if (*rc) {
		PQclear(res);
		return NULL;
	}
	return res;
}

static int exec_ok(PGconn *pg, const char *what, const char *sql, int n, const char *const *p,
		   char *err, size_t errlen)
{
	int rc;
	PGresult *res = q(pg, what, sql, n, p, PGRES_COMMAND_OK, &rc, err, errlen);
	PQclear(res);
	return rc;
}

static void i64(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%lld", (long long)v);
}

static const char *verb_of(enum hz_action a)
{
	switch (a) {
	case HZ_ACT_ACK: return "acknowledged";
	case HZ_ACT_CONFIRM: return "confirmed";
	case HZ_ACT_CONTROL: return "controlled";
	case HZ_ACT_DISPATCH: return "dispatched";
	case HZ_ACT_RECTIFY: return "rectifying";
	case HZ_ACT_VERIFY: return "verified";
	case HZ_ACT_CLOSE: return "closed";
	case HZ_ACT_DISMISS: return "dismissed";
	case HZ_ACT_REOPEN: return "reopened";
	case HZ_ACT_COMMENT: return "comment";
	default: return hz_action_name(a);
	}
}

/* The time of action and its flags (see the file comment). */
static int64_t time_of_action(const struct hz_command *cmd, int64_t now, int64_t opened,
			      int64_t skew, char *flags, size_t flen)
{
	int64_t at = cmd->acted_us ? cmd->acted_us : now;
	char t[HZ_TIME_BUFLEN];
	if (at > now + skew) {
		snprintf(flags, flen,
			 "clock skew: acted_at %s is %llds ahead of the database clock "
			 "(pipeline.command_skew %llds): taken as now",
			 hz_time_format(at, t), (long long)((at - now) / HZ_US_PER_SEC),
			 (long long)(skew / HZ_US_PER_SEC));
		at = now;
	} else if (at < now - skew) {
		snprintf(flags, flen, "late: acted at %s, %llds before it was received "
				      "(pipeline.command_skew %llds)",
			 hz_time_format(at, t), (long long)((now - at) / HZ_US_PER_SEC),
			 (long long)(skew / HZ_US_PER_SEC));
	}
	if (at > now)
		at = now;
	if (opened && at < opened)
		at = opened;
	return at;
}

/* "\x0a1b..." for a bytea parameter in text form. */
static int hex_of(const struct hz_buf *b, struct hz_buf *out)
{
	static const char hx[] = "0123456789abcdef";
	hz_buf_clear(out);
	if (hz_buf_reserve(out, 2 * b->len + 3))
		return HZ_ENOMEM;
	out->data[out->len++] = '\\';
	out->data[out->len++] = 'x';
	for (size_t i = 0; i < b->len; i++) {
		out->data[out->len++] = (unsigned char)hx[b->data[i] >> 4];
		out->data[out->len++] = (unsigned char)hx[b->data[i] & 15];
	}
	return hz_buf_cstr(out);
}

/* A dispatch's assignee as read by SQL_ASSIGNEE, with its strings. */
struct assignee {
	struct hz_state_assignee ag;
	char name[128], org[HZ_CODE_MAX], county[HZ_CODE_MAX];
};

struct tx {
	PGconn *pg;
	const struct hz_command *cmd;
	const struct hz_command_opts *o;
	struct hz_command_out *out;
	struct hz_buf a[6], enc, hex, evid;
	int64_t now;
	struct assignee asg;         /* dispatch */
	char said[256];              /* reopen: what restarting call-and-respond did */
};

/* Outbox rows: the TicketEvent (when there is one) and the result. */
static int write_outbox(struct tx *x, const struct hz_buf *result, char *err, size_t errlen)
{
	struct hz_command_out *out = x->out;
	int n = out->has_change ? 2 : 1;
	int64_t ids[2];
	int rc = hz_store_draw_ids(x->pg, "hazard.outbox_id_seq", (size_t)n, ids, err, errlen);
	if (rc)
		return rc;
	struct hz_buf *a = x->a;
	hz_pgarr_begin_all(a, 6);
	char key[24], topic[256];
	if (out->has_change) {
		out->te_outbox_id = ids[0];
		snprintf(out->te.event_id, sizeof(out->te.event_id), "te-%lld", (long long)ids[0]);
		hz_buf_clear(&x->enc);
		if (hz_codec_encode_ticket_event(&out->te, HZ_CT_PROTOBUF, &x->enc)) {
			hz_errf(err, errlen, "could not encode the ticket event of command %s",
				x->cmd->command_id);
			return HZ_ERR;
		}
		i64(key, sizeof(key), out->te.tk.ticket_id);
		snprintf(topic, sizeof(topic), "%s/out/tickets/%s", x->o->mqtt_prefix,
			 *out->te.tk.town_code ? out->te.tk.town_code : "unknown");
		hz_pgarr_int(&a[0], ids[0]);
		hz_pgarr_text(&a[1], "ticket");
		hz_pgarr_text(&a[2], key);
		hz_pgarr_text(&a[3], topic);
		hz_pgarr_text(&a[4], x->o->kafka_tickets);
		hz_pgarr_bytea(&a[5], x->enc.data, x->enc.len);
	}
	out->res_outbox_id = ids[n - 1];
	snprintf(topic, sizeof(topic), "%s/out/results/%s", x->o->mqtt_prefix,
		 *out->res.actor_id ? out->res.actor_id : "unknown");
	/* as the publisher does (core/outputs.c): no topic wildcards from outside */
	size_t from = HZ_MIN(strlen(x->o->mqtt_prefix) + strlen("/out/results/"), strlen(topic));
	for (char *t = topic + from; *t; t++)
		if (*t == '/' || *t == '+' || *t == '#')
			*t = '_';
	hz_pgarr_int(&a[0], ids[n - 1]);
	hz_pgarr_text(&a[1], "result");
	hz_pgarr_text(&a[2], out->res.command_id);
	hz_pgarr_text(&a[3], topic);
	hz_pgarr_text(&a[4], x->o->kafka_results);
	hz_pgarr_bytea(&a[5], result->data, result->len);
	const char *p[7];
	for (int i = 0; i < 6; i++)
		p[i] = hz_pgarr_end(&a[i]);
	p[6] = x->o->foreign ? "hazardctl" : "";
	return exec_ok(x->pg, "writing the command's outputs", SQL_OUTBOX, 7, p, err, errlen);
}

/* The command's row, with its encoded result, then the outbox. */
static int record(struct tx *x, char *err, size_t errlen)
{
	struct hz_command_result *r = &x->out->res;
	r->emitted_us = x->now;
	hz_buf_clear(&x->enc);
	if (hz_codec_encode_command_result(r, HZ_CT_PROTOBUF, &x->enc)) {
		hz_errf(err, errlen, "could not encode the result of command %s", r->command_id);
		return HZ_ERR;
	}
	struct hz_buf result = HZ_BUF_INIT;
	if (hz_buf_append(&result, x->enc.data, x->enc.len) || hex_of(&result, &x->hex)) {
		hz_buf_free(&result);
		return HZ_ENOMEM;
	}
	char acted[24], tid[24];
	i64(acted, sizeof(acted), r->acted_us ? r->acted_us : x->now);
	i64(tid, sizeof(tid), x->cmd->ticket_id);
	const char *p[] = {x->cmd->command_id,
			   acted,
			   source_names[(unsigned)x->cmd->source % 3],
			   x->cmd->actor_id,
			   hz_action_name(x->cmd->action),
			   tid,
			   hz_mode_name(r->mode),
			   r->outcome == HZ_OUTCOME_APPLIED ? "applied" : "refused",
			   r->outcome == HZ_OUTCOME_APPLIED ? r->flags : r->reason,
			   (const char *)x->hex.data};
	int rc = exec_ok(x->pg, "recording the command", SQL_RECORD, 10, p, err, errlen);
	if (!rc)
		rc = write_outbox(x, &result, err, errlen);
	hz_buf_free(&result);
	return rc;
}

/* A command seen before: its stored result, published again (same event
 * id: the command id), nothing else. */
static int replay(struct tx *x, const char *stored, char *err, size_t errlen)
{
	size_t len;
	unsigned char *raw = PQunescapeBytea((const unsigned char *)stored, &len);
	if (!raw)
		return HZ_ENOMEM;
	struct hz_buf result = {raw, len, len};
	int rc = hz_codec_decode_command_result(raw, len, &x->out->res);
	if (rc)
		hz_errf(err, errlen, "the stored result of command %s could not be decoded",
			x->cmd->command_id);
	x->out->replayed = true;
	x->out->has_change = false;
	if (!rc)
		rc = write_outbox(x, &result, err, errlen);
	PQfreemem(raw);
	return rc;
}

static void refused(struct hz_command_result *r, const char *reason)
{
	r->outcome = HZ_OUTCOME_REFUSED;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* The length of the longest prefix of s within max bytes that does not
 * cut a UTF-8 sequence. */
static int utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return (int)max;
}

/* Text of the history row and the TicketEvent: the operator's reason, or
 * what was done, with the note; a dispatch names what its assignee is; a
 * reopen says how call-and-respond restarted (kept whole: the operator's
 * text gives way). */
static void describe(const struct tx *x, char *buf, size_t len)
{
	const struct hz_command *cmd = x->cmd;
	char what[HZ_CMD_TE_REASON_MAX];
	const char *text = *cmd->reason ? cmd->reason : cmd->note;
	if (cmd->action == HZ_ACT_DISPATCH) {
		char d[192];
		hz_assignee_describe(&x->asg.ag, d, sizeof(d));
		snprintf(what, sizeof(what), "dispatched to %s%s%.*s", d, *text ? ": " : "",
			 utf8_cut(text, sizeof(what) - strlen(d) - 16), text);
	} else if (*cmd->reason) {
		snprintf(what, sizeof(what), "%.*s", utf8_cut(cmd->reason, sizeof(what) - 1),
			 cmd->reason);
	} else if (*cmd->note) {
		snprintf(what, sizeof(what), "%s: %.*s", verb_of(cmd->action),
			 utf8_cut(cmd->note, sizeof(what) - 16), cmd->note);
	} else {
		snprintf(what, sizeof(what), "%s", verb_of(cmd->action));
	}
	size_t room = *x->said && len > strlen(x->said) + 4 ? len - strlen(x->said) - 4 : len - 1;
	if (*x->said)
		snprintf(buf, len, "%.*s (%s)", utf8_cut(what, room), what, x->said);
	else
		snprintf(buf, len, "%.*s", utf8_cut(what, len - 1), what);
}

static int apply_change(struct tx *x, const struct hz_state_verdict *v,
			enum hz_tier actor_tier, char *err, size_t errlen)
{
	const struct hz_command *cmd = x->cmd;
	struct hz_command_out *out = x->out;
	struct hz_command_result *r = &out->res;
	struct hz_ticket *tk = &r->tk;
	char id[24], acted[24], due[24];
	i64(id, sizeof(id), cmd->ticket_id);
	i64(acted, sizeof(acted), r->acted_us);
	bool has_due = cmd->action == HZ_ACT_RECTIFY && cmd->rectify_mode == HZ_RECTIFY_BY_DEADLINE;
	i64(due, sizeof(due), cmd->due_us);
	const char *mode = cmd->action != HZ_ACT_RECTIFY ? NULL
			   : hz_rectify_name(cmd->rectify_mode == HZ_RECTIFY_ON_SPOT
						     ? HZ_RECTIFY_ON_SPOT
						     : HZ_RECTIFY_BY_DEADLINE);
	const char *p[] = {id,
			   hz_state_name(v->to),
			   v->acks ? "true" : "false",
			   acted,
			   cmd->actor_id,
			   hz_action_name(cmd->action),
			   cmd->assignee,
			   mode,
			   has_due ? due : NULL};
	int rc;
	PGresult *res = q(x->pg, "changing the ticket", SQL_UPDATE, 9, p, PGRES_TUPLES_OK, &rc, err,
			  errlen);
	if (!res)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		hz_errf(err, errlen, "ticket %lld vanished under its lock", (long long)cmd->ticket_id);
		return HZ_ERR;
	}
	r->from_state = tk->state;
	hz_store_ticket_read(res, 0, 0, tk); /* the whole row as changed */
	r->to_state = tk->state;
	PQclear(res);

	describe(x, out->te_reason, sizeof(out->te_reason));
	/* evidence URLs as a text[] literal */
	struct hz_buf *ev = &x->evid;
	hz_pgarr_begin(ev);
	for (size_t i = 0; i < cmd->n_evidence; i++)
		hz_pgarr_text(ev, cmd->evidence[i]);
	const char *hp[] = {id,
			    hz_state_name(r->from_state),
			    hz_state_name(tk->state),
			    hz_level_name(tk->level),
			    hz_tier_name(tk->tier),
			    cmd->actor_id,
			    out->te_reason,
			    cmd->command_id,
			    hz_action_name(cmd->action),
			    hz_tier_name(actor_tier),
			    acted,
			    cmd->note,
			    hz_pgarr_end(ev),
			    cmd->action == HZ_ACT_DISPATCH ? cmd->assignee : "",
			    r->flags,
			    hz_mode_name(tk->mode)};
	if ((rc = exec_ok(x->pg, "appending ticket history", SQL_HISTORY, 16, hp, err, errlen)))
		return rc;

	out->has_change = true;
	struct hz_ticket_event *te = &out->te;
	te->emitted_us = x->now;
	te->tk = *tk;
	te->from_state = r->from_state;
	te->change = v->rule->change;
	te->actor = r->actor_id;
	te->reason = out->te_reason;
	te->cause_event_id = r->command_id;
	r->outcome = HZ_OUTCOME_APPLIED;
	if (r->from_state != r->to_state)
		snprintf(r->reason, sizeof(r->reason), "ticket %lld %s -> %s", (long long)tk->ticket_id,
			 hz_state_name(r->from_state), hz_state_name(r->to_state));
	else
		snprintf(r->reason, sizeof(r->reason), "ticket %lld %s", (long long)tk->ticket_id,
			 verb_of(cmd->action));
	return HZ_OK;
}

/* Dispatch: read the assignee and the ticket's county into x->asg (for
 * hz_state_check); kind HZ_ASSIGNEE_NONE when it is not registered. */
static int lookup_assignee(struct tx *x, const struct hz_ticket *tk, char *err, size_t errlen)
{
	struct assignee *as = &x->asg;
	as->ag.id = x->cmd->assignee;
	as->ag.name = as->name;
	as->ag.org_code = as->org;
	as->ag.county = as->county;
	const char *p[] = {x->cmd->assignee, tk->site_id, tk->town_code, tk->county_code};
	int rc;
	PGresult *res = q(x->pg, "reading the assignee", SQL_ASSIGNEE, 4, p, PGRES_TUPLES_OK, &rc,
			  err, errlen);
	if (!res)
		return rc;
	if (PQntuples(res) == 1) {
		as->ag.kind = hz_assignee_kind_parse(PQgetvalue(res, 0, 0));
		snprintf(as->name, sizeof(as->name), "%s", PQgetvalue(res, 0, 1));
		snprintf(as->org, sizeof(as->org), "%s", PQgetvalue(res, 0, 2));
		snprintf(as->county, sizeof(as->county), "%s", PQgetvalue(res, 0, 3));
		as->ag.in_reach = *PQgetvalue(res, 0, 4) == 't';
	}
	PQclear(res);
	return HZ_OK;
}

/* Reopen: a new round of call-and-respond (see the file comment). Sets
 * *due (0: the rules set no deadline for this level at this tier) and
 * x->said. */
static int recall(struct tx *x, int64_t *due, char *err, size_t errlen)
{
	const struct hz_ticket *tk = &x->out->res.tk;
	long long tid = (long long)tk->ticket_id;
	if (!x->o->rules) {
		hz_errf(err, errlen, "reopening ticket %lld needs the rules' call-and-respond deadlines",
			tid);
		return HZ_ERR;
	}
	char id[24], at[24];
	i64(id, sizeof(id), tk->ticket_id);
	const char *p[] = {id, NULL, x->cmd->actor_id};
	int rc;
	PGresult *res = q(x->pg, "reading the round a reopen ends", SQL_ROUND, 1, p, PGRES_TUPLES_OK,
			  &rc, err, errlen);
	if (!res)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		hz_errf(err, errlen, "ticket %lld vanished under its lock", tid);
		return HZ_ERR;
	}
	int risk = hz_risk_parse(PQgetvalue(res, 0, 0));
	char acked_by[HZ_ID_MAX];
	snprintf(acked_by, sizeof(acked_by), "%s", PQgetvalue(res, 0, 1));
	bool was_acked = strtoll(PQgetvalue(res, 0, 2), NULL, 10) != 0;
	PQclear(res);
	*due = hz_escalate_ack_due(x->o->rules, tk->level, tk->tier, risk, x->now);
	i64(at, sizeof(at), *due);
	p[1] = *due ? at : NULL;
	if ((rc = exec_ok(x->pg, "restarting call-and-respond", SQL_RECALL, 3, p, err, errlen)))
		return rc;
	char t[HZ_TIME_BUFLEN], cleared[HZ_ID_MAX + 48] = "";
	if (was_acked)
		snprintf(cleared, sizeof(cleared), "; the acknowledgement by %s cleared",
			 *acked_by ? acked_by : "?");
	if (*due)
		snprintf(x->said, sizeof(x->said),
			 "call-and-respond restarted at tier %s: acknowledgement due by %s%s",
			 hz_tier_name(tk->tier), hz_time_format(*due, t), cleared);
	else
		snprintf(x->said, sizeof(x->said),
			 "call-and-respond restarted at tier %s: the rules set no acknowledgement "
			 "deadline for %s there%s",
			 hz_tier_name(tk->tier), hz_level_name(tk->level), cleared);
	return HZ_OK;
}

/* The table's change (apply_change) and what some actions add around it:
 * a reopen restarts call-and-respond first, so the history row, the
 * TicketEvent and the result show the new round; a dispatch records what
 * its assignee is. */
static int apply(struct tx *x, const struct hz_state_verdict *v, enum hz_tier actor_tier,
		 char *err, size_t errlen)
{
	struct hz_command_out *out = x->out;
	struct hz_command_result *r = &out->res;
	int64_t due = 0;
	int rc;
	if (v->recall && (rc = recall(x, &due, err, errlen)))
		return rc;
	if ((rc = apply_change(x, v, actor_tier, err, errlen)))
		return rc;
	if (x->cmd->action == HZ_ACT_DISPATCH) {
		char id[24], d[192];
		i64(id, sizeof(id), x->cmd->ticket_id);
		const char *p[] = {id, hz_assignee_kind_name(x->asg.ag.kind)};
		if ((rc = exec_ok(x->pg, "recording the assignee's kind", SQL_ASSIGNEE_KIND, 2, p, err,
				  errlen)))
			return rc;
		snprintf(r->reason, sizeof(r->reason), "ticket %lld dispatched to %s",
			 (long long)x->cmd->ticket_id, hz_assignee_describe(&x->asg.ag, d, sizeof(d)));
	}
	if (v->recall) {
		size_t n = strlen(r->reason);
		snprintf(r->reason + n, sizeof(r->reason) - n, "; %s", x->said);
	}
	return HZ_OK;
}

/* A silence (maintenance window) asked for by a Command: the same store
 * call as `hazardctl silence add` (store/context.h), recorded and answered
 * like any command; it names no ticket. */
static int silence_body(struct tx *x, char *err, size_t errlen)
{
	const struct hz_command *cmd = x->cmd;
	struct hz_command_result *r = &x->out->res;
	int rc;
	const char *ap[] = {cmd->command_id, cmd->actor_id, "", "", ""};
	PGresult *res = q(x->pg, "reading the actor", SQL_ACTOR, 5, ap, PGRES_TUPLES_OK, &rc, err,
			  errlen);
	if (!res)
		return rc;
	x->now = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1)) {
		rc = replay(x, PQgetvalue(res, 0, 1), err, errlen);
		PQclear(res);
		return rc;
	}
	bool known = *PQgetvalue(res, 0, 2) == 't';
	char org[HZ_CODE_MAX];
	snprintf(org, sizeof(org), "%s", PQgetvalue(res, 0, 3));
	r->actor_tier = hz_tier_parse(PQgetvalue(res, 0, 4));
	PQclear(res);
	r->acted_us = time_of_action(cmd, x->now, 0, x->o->skew_us, r->flags, sizeof(r->flags));
	char why[256];
	if (*cmd->invalid) {
		refused(r, cmd->invalid);
		return record(x, err, errlen);
	}
	if (!known) {
		snprintf(why, sizeof(why), "unknown actor \"%s\"", cmd->actor_id);
		refused(r, why);
		return record(x, err, errlen);
	}
	if (!*cmd->silence_target || !cmd->silence_until_us) {
		refused(r, "a silence needs silence_target and silence_until");
		return record(x, err, errlen);
	}
	const char *tp[] = {cmd->silence_target, org};
	res = q(x->pg, "reading the silence's target",
		"WITH RECURSIVE t(code, parent, kind) AS ("
		"SELECT o.code, o.parent_code, k.kind FROM (SELECT CASE "
		"WHEN EXISTS (SELECT 1 FROM hazard.devices WHERE device_id = $1) THEN 'device' "
		"WHEN EXISTS (SELECT 1 FROM hazard.sites WHERE site_id = $1) THEN 'site' "
		"WHEN EXISTS (SELECT 1 FROM hazard.org_units WHERE code = $1) THEN 'org' END AS kind) k "
		"JOIN hazard.org_units o ON o.code = coalesce((SELECT s.org_code FROM hazard.devices d "
		"JOIN hazard.sites s USING (site_id) WHERE d.device_id = $1), (SELECT org_code FROM "
		"hazard.sites WHERE site_id = $1), $1) "
		"UNION SELECT o.code, o.parent_code, t.kind FROM hazard.org_units o JOIN t ON o.code = t.parent) "
		"SELECT (SELECT kind FROM t LIMIT 1), EXISTS (SELECT 1 FROM t WHERE code = $2)",
		2, tp, PGRES_TUPLES_OK, &rc, err, errlen);
	if (!res)
		return rc;
	enum hz_silence_target kind =
		PQgetisnull(res, 0, 0) ? 0 : hz_silence_target_parse(PQgetvalue(res, 0, 0));
	bool on_chain = *PQgetvalue(res, 0, 1) == 't';
	PQclear(res);
	if (!kind) {
		snprintf(why, sizeof(why), "no device, site or org unit \"%s\" to silence",
			 cmd->silence_target);
		refused(r, why);
		return record(x, err, errlen);
	}
	if (!on_chain) {
		snprintf(why, sizeof(why), "actor %s of %s may not silence %s outside its unit",
			 cmd->actor_id, org, cmd->silence_target);
		refused(r, why);
		return record(x, err, errlen);
	}
	struct hz_silence_req rq = {.kind = kind,
				    .target = cmd->silence_target,
				    .until_us = cmd->silence_until_us,
				    .actor = cmd->actor_id,
				    .reason = *cmd->reason ? cmd->reason : cmd->note};
	int64_t id = 0, ends = 0;
	char serr[256];
	rc = hz_store_silence_add(x->pg, &rq, &id, &ends, serr, sizeof(serr));
	if (rc == HZ_EINVAL || rc == HZ_ENOTFOUND) {
		refused(r, serr);
		return record(x, err, errlen);
	}
	if (rc) {
		hz_errf(err, errlen, "%s", serr);
		return rc;
	}
	r->outcome = HZ_OUTCOME_APPLIED;
	char end[HZ_TIME_BUFLEN];
	snprintf(r->reason, sizeof(r->reason), "silence %lld on %s %s until %s", (long long)id,
		 hz_silence_target_name(kind), cmd->silence_target, hz_time_format(ends, end));
	return record(x, err, errlen);
}

static int body(struct tx *x, char *err, size_t errlen)
{
	const struct hz_command *cmd = x->cmd;
	struct hz_command_result *r = &x->out->res;
	if (cmd->action == HZ_ACT_SILENCE)
		return silence_body(x, err, errlen);
	char id[24];
	i64(id, sizeof(id), cmd->ticket_id);
	int rc;
	const char *lp[] = {id};
	PGresult *tkres = q(x->pg, "locking the ticket", SQL_LOCK, 1, lp, PGRES_TUPLES_OK, &rc, err,
			    errlen);
	if (!tkres)
		return rc;
	bool found = PQntuples(tkres) == 1;
	struct hz_ticket *tk = &r->tk;
	int64_t twin = 0;
	if (found) {
		hz_store_ticket_read(tkres, 0, 0, tk);
		twin = PQgetisnull(tkres, 0, HZ_TICKET_NCOLS)
			       ? 0
			       : strtoll(PQgetvalue(tkres, 0, HZ_TICKET_NCOLS), NULL, 10);
		r->has_ticket = true;
		r->mode = tk->mode;
		r->from_state = r->to_state = tk->state;
	}
	const char *ap[] = {cmd->command_id, cmd->actor_id, tk->site_id, tk->town_code,
			    tk->county_code};
	PGresult *res = q(x->pg, "reading the actor", SQL_ACTOR, 5, ap, PGRES_TUPLES_OK, &rc, err,
			  errlen);
	if (!res) {
		PQclear(tkres);
		return rc;
	}
	x->now = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1)) {
		rc = replay(x, PQgetvalue(res, 0, 1), err, errlen);
		PQclear(res);
		PQclear(tkres);
		return rc;
	}
	struct hz_state_actor ac = {.actor_id = cmd->actor_id,
				    .known = *PQgetvalue(res, 0, 2) == 't',
				    .org_code = PQgetvalue(res, 0, 3),
				    .tier = hz_tier_parse(PQgetvalue(res, 0, 4)),
				    .on_chain = *PQgetvalue(res, 0, 5) == 't'};
	r->actor_tier = ac.tier;
	r->acted_us = time_of_action(cmd, x->now, found ? tk->opened_us : 0, x->o->skew_us,
				     r->flags, sizeof(r->flags));
	if (!found)
		r->mode = cmd->mode;

	struct hz_state_verdict v;
	char why[256];
	if (*cmd->invalid) {
		refused(r, cmd->invalid);
	} else if (!found) {
		snprintf(why, sizeof(why), "ticket %lld does not exist", (long long)cmd->ticket_id);
		refused(r, why);
	} else {
		struct hz_state_ticket st = {.ticket_id = tk->ticket_id,
					     .kind = tk->kind,
					     .state = tk->state,
					     .tier = tk->tier,
					     .mode = tk->mode,
					     .acked = tk->acked_us != 0,
					     .rectified_by = tk->rectified_by,
					     .deadline_us = tk->kind == HZ_KIND_HAZARD ? tk->deadline_us : 0,
					     .expires_us = tk->kind == HZ_KIND_WARNING ? tk->deadline_us : 0};
		struct hz_state_cmd sc = {.action = cmd->action,
					  .mode = cmd->mode,
					  .has_reason = *cmd->reason != '\0',
					  .has_note = *cmd->note != '\0',
					  .has_assignee = *cmd->assignee != '\0',
					  .n_evidence = cmd->n_evidence,
					  .rectify_mode = cmd->rectify_mode,
					  .due_us = cmd->due_us,
					  .now_us = x->now};
		if (cmd->action == HZ_ACT_DISPATCH && *cmd->assignee &&
		    (rc = lookup_assignee(x, tk, err, errlen))) {
			PQclear(res);
			PQclear(tkres);
			return rc;
		}
		sc.assignee = &x->asg.ag;
		if (hz_state_check(&st, &ac, &sc, &v)) {
			refused(r, v.reason);
		} else if (cmd->action == HZ_ACT_REOPEN && twin) {
			snprintf(why, sizeof(why),
				 "ticket %lld cannot be reopened: ticket %lld is open for the same episode",
				 (long long)tk->ticket_id, (long long)twin);
			refused(r, why);
		} else if ((rc = apply(x, &v, ac.tier, err, errlen))) {
			PQclear(res);
			PQclear(tkres);
			return rc;
		}
	}
	PQclear(res);
	PQclear(tkres);
	if (r->outcome == HZ_OUTCOME_REFUSED)
		r->to_state = r->from_state;
	return record(x, err, errlen);
}

int hz_store_command_apply(PGconn *pg, const struct hz_command *cmd,
			   const struct hz_command_opts *o, struct hz_command_out *out, char *err,
			   size_t errlen)
{
	int rc = HZ_ETRANSIENT;
	/* a lost race on the command id or a serialization failure turns into
	 * a replay or a clean retry; a lost connection goes back to the caller */
	for (int attempt = 0; attempt < 3 && rc == HZ_ETRANSIENT; attempt++) {
		memset(out, 0, sizeof(*out));
		struct hz_command_result *r = &out->res;
		snprintf(r->command_id, sizeof(r->command_id), "%s", cmd->command_id);
		snprintf(r->actor_id, sizeof(r->actor_id), "%s", cmd->actor_id);
		r->action = cmd->action;
		r->ticket_id = cmd->ticket_id;
		r->mode = cmd->mode;
		struct tx x = {.pg = pg, .cmd = cmd, .o = o, .out = out};
		rc = hz_pg_begin(pg, err, errlen);
		if (!rc)
			rc = body(&x, err, errlen);
		if (!rc)
			rc = hz_pg_commit(pg, err, errlen);
		if (rc)
			hz_pg_rollback(pg);
		hz_pgarr_free_all(x.a, 6);
		hz_buf_free(&x.enc);
		hz_buf_free(&x.hex);
		hz_buf_free(&x.evid);
		if (PQstatus(pg) != CONNECTION_OK)
			break;
	}
	return rc;
}

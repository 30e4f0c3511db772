/*
 * engine.c - the pipeline loop. See engine.h for the shape; the cost
 * model is: per message one decode (arena, no malloc), one registry hash
 * look-up and a handful of rule comparisons; per batch one transaction of
 * a fixed number of statements, or one statement when nothing changed.
 *
 * Ordering of effects is the delivery guarantee:
 *   1. messages are polled; nothing is acknowledged yet;
 *   2. their effects + positions commit in one transaction;
 *   3. only then are the sources told (Kafka offsets stored, MQTT spool
 *      released) and the outputs published from memory;
 *   4. delivered outbox rows are deleted in a later transaction; rows
 *      left after a crash are re-published at the next start.
 */
#include "core/engine.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "codec/codec.h"
#include "codec/outbox.h"
#include "codec/units.h"
#include "in/in_kafka.h"
#include "in/in_mqtt.h"
#include "out/out_kafka.h"
#include "out/out_log.h"
#include "out/out_mqtt.h"
#include "registry/registry.h"
#include "rules/rules.h"
#include "store/batch.h"
#include "store/escalate.h"
#include "store/migrate.h"
#include "store/pg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine_int.h"

/* ---- PostgreSQL connection ---- */

/* A batch's acknowledgement to the brokers rests on its COMMIT being
 * durable, so the daemon's sessions never run with asynchronous commit,
 * whatever the server's default (measured: with synchronous_commit=off an
 * immediate shutdown lost committed batches whose offsets had moved on). */
PGconn *hz_engine_connect(const struct hz_config *cfg, char *err, size_t errlen)
{
	PGconn *pg = hz_pg_connect_ex(cfg->pg_dsn, "hazardd",
				      (int)(cfg->pg_statement_timeout_us / 1000), err, errlen);
	if (pg && hz_pg_exec(pg, "setting synchronous_commit", "SET synchronous_commit = on", err,
			     errlen)) {
		PQfinish(pg);
		pg = NULL;
	}
	return pg;
}

void hz_engine_pg_lost(struct hz_engine *e, const char *why)
{
	if (e->st.pg_up)
		hz_err("database unavailable: %s; holding input, nothing is acknowledged", why);
	e->st.pg_up = false;
	if (e->pg) {
		PQfinish(e->pg);
		e->pg = NULL;
	}
	int64_t now = hz_mono_us();
	e->pg_backoff_us = e->pg_backoff_us ? HZ_MIN(e->pg_backoff_us * 2, e->cfg->pg_retry_max_us)
					    : 100000;
	e->pg_retry_at = now + e->pg_backoff_us;
}

static int load_registry(struct hz_engine *e, char *err, size_t errlen)
{
	struct hz_registry *reg;
	int rc = hz_registry_load(e->pg, &reg, err, errlen);
	if (rc)
		return rc;
	struct hz_registry_stats st;
	hz_registry_stats(reg, &st);
	hz_info("registry version %lld loaded: %zu org units, %zu sites, %zu devices (%zu KiB)",
		(long long)st.version, st.orgs, st.sites, st.devices, st.bytes / 1024);
	/* the write gate is keyed by device pointers of the old snapshot */
	struct hz_seen *seen = hz_seen_new(st.devices);
	if (!seen) {
		hz_registry_destroy(reg);
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	hz_seen_destroy(e->seen);
	e->seen = seen;
	hz_registry_destroy(e->reg);
	e->reg = reg;
	if (hz_rules_offline_shortest(e->rules) && (rc = hz_offline_seed(e->pg, err, errlen)))
		return rc;
	return HZ_OK;
}

bool hz_engine_pg_ready(struct hz_engine *e)
{
	if (e->pg && PQstatus(e->pg) == CONNECTION_OK)
		return true;
	if (e->pg)
		hz_engine_pg_lost(e, PQerrorMessage(e->pg));
	if (hz_mono_us() < e->pg_retry_at)
		return false;
	char err[512];
	e->pg = hz_engine_connect(e->cfg, err, sizeof(err));
	if (!e->pg) {
		hz_engine_pg_lost(e, err);
		return false;
	}
	if (!e->reg && load_registry(e, err, sizeof(err))) {
		hz_engine_pg_lost(e, err);
		return false;
	}
	if (!e->st.pg_up)
		hz_info("database connected");
	e->st.pg_up = true;
	e->pg_backoff_us = 0;
	return true;
}

/* Kafka asks, at each assignment, where PostgreSQL says to start. */
static int offset_lookup(void *opaque, const char *source, int32_t partition, int64_t *next)
{
	struct hz_engine *e = opaque;
	if (!hz_engine_pg_ready(e))
		return HZ_ETRANSIENT;
	char part[16];
	snprintf(part, sizeof(part), "%d", (int)partition);
	const char *p[] = {source, part};
	char err[512];
	int rc;
	PGresult *res = hz_pg_query(e->pg, "reading a source position",
				    "SELECT next_offset FROM hazard.source_offsets "
				    "WHERE source = $1 AND partition = $2::int",
				    2, p, &rc, err, sizeof(err));
	if (!res) {
		hz_warn("%s", err);
		return rc;
	}
	rc = HZ_ENOTFOUND;
	if (PQntuples(res) == 1) {
		*next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = HZ_OK;
	}
	PQclear(res);
	return rc;
}

/* ---- one message ---- */

static void dead(struct hz_engine *e, const struct hz_msg *m, const char *event_id,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void dead(struct hz_engine *e, const struct hz_msg *m, const char *event_id,
		 const char *fmt, ...)
{
	struct hz_dead d = {.source = m->source, .topic = m->topic, .partition = m->partition,
			    .offset = m->offset, .event_id = event_id, .payload = m->payload,
			    .len = m->len};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d.reason, sizeof(d.reason), fmt, ap);
	va_end(ap);
	hz_debug("dead letter from %s: %s", m->topic, d.reason);
	hz_batch_add_dead(e->batch, &d);
	e->st.dead_letters++;
}

static void add_intents(struct hz_engine *e, const struct hz_intent *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* the message's Kafka partition owns the timers of a ticket it opens */
		struct hz_intent x = in[i];
		x.src = e->cur_src;
		hz_batch_add_intent(e->batch, &x);
	}
	e->st.intents += n;
}

/* Fail safe: a known device sending what no working sensor can is a fault
 * an operator must see, besides the dead letter. */
static void fault(struct hz_engine *e, const struct hz_msg *m, const struct hz_event *ev,
		  const char *reason)
{
	dead(e, m, ev->event_id, "%s", reason);
	if (!ev->dev)
		return;
	struct hz_intent in;
	hz_rules_fault_intent(e->rules, ev, "device_fault", reason, &in);
	add_intents(e, &in, 1);
	e->st.fault_tickets++;
}

/* A decoded command joins the batch's commands (copied: the arena is
 * rewound after each message). A rebuilt batch finds it there already;
 * one the database refused for good is its dead letter again. */
static void add_command(struct hz_engine *e, const struct hz_msg *m, const struct hz_event *ev)
{
	size_t idx = (size_t)(m - e->msgs);
	for (size_t i = 0; i < e->n_cmds; i++)
		if (e->cmds[i].msg == idx) {
			if (e->cmds[i].dead)
				dead(e, m, ev->event_id, "%s", e->cmds[i].dead_reason);
			return;
		}
	if (e->n_cmds == e->cap_cmds) {
		size_t nc = e->cap_cmds ? e->cap_cmds * 2 : 8;
		struct cmd_slot *ns = realloc(e->cmds, nc * sizeof(*ns));
		if (!ns) {
			e->oom = true; /* retried as a whole: nothing is acknowledged */
			return;
		}
		e->cmds = ns;
		e->cap_cmds = nc;
	}
	struct cmd_slot *s = &e->cmds[e->n_cmds++];
	s->msg = idx;
	s->applied = s->publish = s->dead = false;
	hz_command_from_event(ev, m->source == HZ_SRC_KAFKA ? HZ_CMD_KAFKA : HZ_CMD_MQTT, &s->cmd);
}

static bool topic_param_ok(struct hz_engine *e, const struct hz_msg *m, const struct hz_event *ev,
			   const char **field, const char *param, const char *name)
{
	if (!*param)
		return true;
	if (!**field) {
		*field = param;
		return true;
	}
	if (strcmp(*field, param)) {
		dead(e, m, ev->event_id, "%s \"%.64s\" in the payload does not match \"%.64s\" in the topic",
		     name, *field, param);
		return false;
	}
	return true;
}

static void process_one(struct hz_engine *e, const struct hz_msg *m, int64_t now_us)
{
	struct hz_event ev;
	char err[512];
	if (m->kind == HZ_EV_NONE) {
		dead(e, m, NULL, "topic \"%.200s\" carries no known message type", m->topic);
		return;
	}
	int rc = hz_codec_decode(m->kind, m->ct, m->payload, m->len, &e->lim, now_us, e->arena, &ev,
				 err, sizeof(err));
	if (rc == HZ_EFULL) {
		/* The arena holds one message at a time and is sized for the
		 * per-message budget; this is memory exhaustion, not input:
		 * refuse the batch (nothing is acknowledged) and retry it. */
		e->oom = true;
		return;
	}
	if (rc == HZ_EINVAL) {
		dead(e, m, NULL, "%s", err);
		return;
	}
	bool bad_value = rc == HZ_EFAULTVAL;
	if (!topic_param_ok(e, m, &ev, &ev.device_id, m->topic_device, "device_id") ||
	    !topic_param_ok(e, m, &ev, &ev.site_id, m->topic_site, "site_id") ||
	    !topic_param_ok(e, m, &ev, &ev.town_code, m->topic_town, "town_code"))
		return;

	switch (ev.kind) {
	case HZ_EV_READING:
	case HZ_EV_STATUS:
		ev.dev = hz_registry_device(e->reg, ev.device_id);
		if (!ev.dev) {
			dead(e, m, ev.event_id, "unknown device \"%.64s\"%s%s", ev.device_id,
			     bad_value ? "; also: " : "", bad_value ? err : "");
			return;
		}
		ev.site = ev.dev->site;
		/* heard from, whatever it said: it is not silent */
		if (hz_seen_due(e->seen, ev.dev, e->seen_now_us, e->seen_gate_us))
			hz_batch_add_seen(e->batch, ev.dev->device_id);
		if (*ev.site_id && strcmp(ev.site_id, ev.site->site_id)) {
			dead(e, m, ev.event_id, "device \"%s\" belongs to site \"%s\", not \"%.64s\"",
			     ev.device_id, ev.site->site_id, ev.site_id);
			return;
		}
		break;
	case HZ_EV_REPORT:
		ev.site = hz_registry_site(e->reg, ev.site_id);
		if (!ev.site) {
			dead(e, m, ev.event_id, "unknown site \"%.64s\"", ev.site_id);
			return;
		}
		break;
	case HZ_EV_WARNING:
		for (size_t i = 0; i < ev.u.warning.area_codes.n; i++)
			if (!hz_registry_org(e->reg, ev.u.warning.area_codes.v[i])) {
				dead(e, m, ev.event_id, "unknown area code \"%.32s\"",
				     ev.u.warning.area_codes.v[i]);
				return;
			}
		break;
	case HZ_EV_COMMAND:
		add_command(e, m, &ev);
		return;
	default:
		dead(e, m, ev.event_id, "unexpected message type");
		return;
	}
	if (bad_value) {
		fault(e, m, &ev, err);
		return;
	}
	if (ev.kind == HZ_EV_READING) {
		rc = hz_units_normalise(&ev, err, sizeof(err));
		if (rc == HZ_EINVAL) {
			dead(e, m, ev.event_id, "%s", err);
			return;
		}
		if (rc == HZ_EFAULTVAL) {
			fault(e, m, &ev, err);
			return;
		}
		const struct hz_device *d = ev.dev;
		double v = ev.u.reading.value;
		if (d->has_range && (v < d->range_min || v > d->range_max)) {
			snprintf(err, sizeof(err),
				 "%s %g is outside the range %g..%g of device \"%s\"",
				 hz_metric_name(ev.u.reading.metric), v, d->range_min, d->range_max,
				 d->device_id);
			fault(e, m, &ev, err);
			return;
		}
	}
	size_t n = hz_rules_eval_cond(e->rules, e->cond, &ev, e->intents, HZ_ARRAY_LEN(e->intents));
	/* silences, inhibition, area raises (rules/context.h) */
	hz_context_apply(e->rules, e->ctx, ev.site, e->intents, n, now_us, &e->ctxc);
	add_intents(e, e->intents, n);
}

/* Everything an event yields is copied into the batch (intents, dead
 * letters), so the arena is rewound after each message: it never holds
 * more than one message's decode. */
static void process(struct hz_engine *e, const struct hz_msg *m, int64_t now_us)
{
	size_t mark = hz_arena_mark(e->arena);
	e->cur_src = (struct hz_intent_source){m->source == HZ_SRC_KAFKA ? m->topic : NULL,
					       m->partition};
	process_one(e, m, now_us);
	hz_arena_rewind(e->arena, mark);
}

static void positions(struct hz_engine *e, const struct hz_msg *m)
{
	if (m->source == HZ_SRC_KAFKA) {
		/* a batch's messages mostly share one topic: its name is formatted
		 * once, not once a message */
		if (strcmp(e->pos_topic, m->topic) || !*e->pos_source) {
			snprintf(e->pos_topic, sizeof(e->pos_topic), "%s", m->topic);
			hz_in_kafka_source_name(m, e->pos_source, sizeof(e->pos_source));
		}
		hz_batch_set_position(e->batch, e->pos_source, m->partition, m->offset + 1);
	} else {
		hz_batch_set_position(e->batch, e->mqtt_source, 0, m->offset + 1);
	}
}

static void build(struct hz_engine *e, size_t from, size_t to)
{
	int64_t now = hz_now_us();
	e->oom = false;
	e->seen_now_us = hz_mono_us();
	e->seen_gate_us = hz_seen_gate(hz_rules_offline_shortest(e->rules));
	for (size_t i = from; i < to; i++) {
		process(e, &e->msgs[i], now);
		positions(e, &e->msgs[i]);
	}
}

/* ---- batches ---- */

static const struct hz_batch_topics *topics(const struct hz_engine *e)
{
	static struct hz_batch_topics t;
	t.mqtt_prefix = e->cfg->mqtt_topic_prefix;
	t.kafka_tickets = e->cfg->kafka_topic_tickets;
	t.kafka_deadletter = e->kout ? e->cfg->kafka_topic_deadletter : "";
	t.reminder_us = e->rules->reminder_us;
	t.n_reminder = e->rules->n_reminder;
	t.rules = e->rules;
	return &t;
}

static void poll_batch(struct hz_engine *e)
{
	size_t max = (size_t)e->cfg->batch_max, n = 0;
	int wait_ms = (int)(e->cfg->batch_wait_us / 1000);
	if (wait_ms < 1)
		wait_ms = 1;
	if (e->min)
		n = hz_in_mqtt_poll(e->min, e->msgs, max, e->kin ? 0 : wait_ms);
	e->mqtt_max_seq = 0;
	for (size_t i = 0; i < n; i++)
		if ((uint64_t)e->msgs[i].offset > e->mqtt_max_seq)
			e->mqtt_max_seq = (uint64_t)e->msgs[i].offset;
	size_t nk = 0;
	if (e->kin && n < max)
		nk = hz_in_kafka_poll(e->kin, e->msgs + n, max - n, n ? 0 : wait_ms);
	e->n_kafka_msgs = nk;
	e->n_msgs = n + nk;
	e->held = e->n_msgs > 0;
	if (e->held) {
		hz_batch_reset(e->batch);
		e->n_cmds = 0;
		hz_cond_begin(e->cond, e->n_msgs);
		build(e, 0, e->n_msgs);
	}
}

/* Build messages [from, to) again from the condition state before them:
 * a batch built twice must not count its events twice. */
static void rebuild(struct hz_engine *e, size_t from, size_t to)
{
	hz_cond_rollback(e->cond);
	hz_batch_reset(e->batch);
	hz_cond_begin(e->cond, to - from);
	build(e, from, to);
}

/* Delivered outbox rows ride along with the next batch, or go alone
 * after a second of idleness. */
static void add_done(struct hz_engine *e)
{
	for (size_t i = 0; i < e->n_done; i++)
		hz_batch_outbox_done(e->batch, e->done[i]);
}

static void flush_done(struct hz_engine *e)
{
	if (!e->n_done || e->held || hz_mono_us() - e->done_since < HZ_US_PER_SEC || !hz_engine_pg_ready(e))
		return;
	char err[512];
	hz_batch_reset(e->batch);
	add_done(e);
	if (hz_batch_commit(e->batch, e->pg, topics(e), err, sizeof(err)) == HZ_OK)
		e->n_done = 0;
	else
		hz_warn("could not delete delivered outbox rows: %s", err);
	hz_batch_reset(e->batch);
}

/* Device silence: a timer in PostgreSQL like the escalation deadlines
 * (store/offline.h); its intents commit as a batch of their own, between
 * input batches, and publish like any ticket change. */
static void offline_context(void *arg, struct hz_intent *in, const struct hz_site *site)
{
	struct hz_engine *e = arg;
	hz_context_apply(e->rules, e->ctx, site, in, 1, hz_now_us(), &e->ctxc);
}

void hz_engine_scan_offline(struct hz_engine *e)
{
	int64_t now = hz_mono_us();
	if (now < e->offline_at || e->held || !hz_rules_offline_shortest(e->rules) ||
	    !hz_engine_pg_ready(e))
		return;
	e->offline_at = now + e->rules->offline.scan_us;
	char err[512];
	size_t found = 0;
	hz_batch_reset(e->batch);
	int rc = hz_offline_scan(e->pg, e->rules, e->reg, offline_context, e, e->batch, 256, &found,
				 err, sizeof(err));
	if (rc == HZ_OK && found)
		rc = hz_batch_commit(e->batch, e->pg, topics(e), err, sizeof(err));
	if (rc) {
		hz_warn("device silence not checked, will retry: %s", err);
		if (PQstatus(e->pg) != CONNECTION_OK)
			hz_engine_pg_lost(e, err);
		hz_batch_reset(e->batch);
		return;
	}
	size_t n;
	const struct hz_change *c = hz_batch_changes(e->batch, &n);
	for (size_t i = 0; i < n; i++)
		hz_engine_pend_add(e, c[i].outbox_id,
				   hz_engine_publish_change(e, &c[i].te, c[i].outbox_id,
							    hz_engine_sinks(e), true));
	e->st.offline_changes += n;
	hz_batch_reset(e->batch);
	if (found >= 256)
		e->offline_at = now; /* more to do: look again */
}

static void release_sources(struct hz_engine *e, bool committed)
{
	if (e->kin && e->n_kafka_msgs)
		hz_in_kafka_release(e->kin, committed);
	if (e->min && e->n_msgs > e->n_kafka_msgs && committed)
		hz_in_mqtt_release(e->min, e->mqtt_max_seq);
}

/* Commands first, each in its own transaction (store/command.h), so they
 * are durable before the batch commits the positions past them: a crash in
 * between replays them, and their command_id makes the replay return the
 * stored result and change nothing. Done once per command, even when the
 * batch is retried. */
/* HZ_FAULT_POINT=command-applied makes the daemon abort() right after a
 * command commits and before its batch does (RELIABILITY.md C2): the test
 * of "a crash replays it and command_id makes that harmless". Read once. */
static bool fault_point(const char *name)
{
	static const char *fp;
	static bool read;
	if (!read) {
		fp = getenv("HZ_FAULT_POINT");
		read = true;
	}
	return fp && !strcmp(fp, name);
}

static int apply_commands(struct hz_engine *e, char *err, size_t errlen)
{
	/* the current rules: a reopen's new acknowledgement deadline */
	struct hz_command_opts o = {e->cfg->mqtt_topic_prefix, e->cfg->kafka_topic_tickets,
				    e->cfg->kafka_topic_results, e->cfg->command_skew_us, false,
				    e->rules};
	for (size_t i = 0; i < e->n_cmds; i++) {
		struct cmd_slot *s = &e->cmds[i];
		if (s->applied)
			continue;
		int rc = hz_store_command_apply(e->pg, &s->cmd, &o, &s->out, err, errlen);
		if (rc == HZ_ERR) {
			/* refused for good by the database itself, not by the rules */
			s->applied = s->dead = true;
			snprintf(s->dead_reason, sizeof(s->dead_reason), "refused by the database: %s",
				 err);
			dead(e, &e->msgs[s->msg], s->cmd.command_id, "%s", s->dead_reason);
			continue;
		}
		if (rc)
			return rc;
		s->applied = s->publish = true;
		if (fault_point("command-applied")) {
			hz_err("fault point command-applied: aborting after command %s", s->cmd.command_id);
			abort();
		}
		if (s->out.replayed)
			e->st.commands_replayed++;
		else if (s->out.res.outcome == HZ_OUTCOME_APPLIED)
			e->st.commands_applied++;
		else
			e->st.commands_refused++;
		hz_debug("command %s (%s ticket %lld by %s): %s%s%s", s->cmd.command_id,
			 hz_action_name(s->cmd.action), (long long)s->cmd.ticket_id, s->cmd.actor_id,
			 s->out.replayed ? "replayed, " : "",
			 s->out.res.outcome == HZ_OUTCOME_APPLIED ? "applied: " : "refused: ",
			 s->out.res.reason);
	}
	return HZ_OK;
}

static void publish_commands(struct hz_engine *e)
{
	unsigned sinks = hz_engine_sinks(e);
	for (size_t i = 0; i < e->n_cmds; i++) {
		struct cmd_slot *s = &e->cmds[i];
		if (!s->publish)
			continue;
		s->publish = false;
		/* the event's strings point into its slot, which may have moved */
		s->out.te.actor = s->out.res.actor_id;
		s->out.te.reason = s->out.te_reason;
		s->out.te.cause_event_id = s->out.res.command_id;
		if (s->out.has_change)
			hz_engine_pend_add(e, s->out.te_outbox_id,
					   hz_engine_publish_change(e, &s->out.te, s->out.te_outbox_id,
								    sinks, true));
		hz_engine_pend_add(e, s->out.res_outbox_id,
				   hz_engine_publish_result(e, &s->out.res, s->out.res_outbox_id, sinks,
							    true));
	}
	hz_engine_pend_sort(e);
}

static void after_commit(struct hz_engine *e)
{
	size_t n;
	const struct hz_change *c = hz_batch_changes(e->batch, &n);
	publish_commands(e);
	hz_engine_note_changes(e);
	for (size_t i = 0; i < n; i++)
		hz_engine_pend_add(e, c[i].outbox_id, hz_engine_publish_change(e, &c[i].te, c[i].outbox_id, hz_engine_sinks(e), true));
	if (hz_batch_count_dead(e->batch) || e->st.poison_hunts)
		hz_engine_publish_dead_letters(e);
	release_sources(e, true);
	hz_cond_commit(e->cond);
	e->st.messages += e->n_msgs;
	e->st.batches++;
	e->n_msgs = e->n_kafka_msgs = 0;
	e->held = false;
	hz_batch_reset(e->batch);
	hz_arena_reset(e->arena);
}

/* The database refused the batch for good: find the message(s) it
 * refuses by committing one message at a time; each refused one becomes
 * a dead letter carrying the database's reason. O(batch) transactions,
 * only on this rare path. */
static int poison_hunt(struct hz_engine *e)
{
	char err[512];
	e->st.poison_hunts++;
	hz_warn("the database refused a batch of %zu messages: committing them one by one",
		e->n_msgs);
	for (size_t i = 0; i < e->n_msgs; i++) {
		rebuild(e, i, i + 1);
		if (i == 0)
			add_done(e);
		int rc = hz_batch_commit(e->batch, e->pg, topics(e), err, sizeof(err));
		if (rc == HZ_ERR) {
			/* its condition changes go with it: it is only a dead letter */
			hz_cond_rollback(e->cond);
			hz_cond_begin(e->cond, 1);
			hz_batch_reset(e->batch);
			if (i == 0)
				add_done(e);
			dead(e, &e->msgs[i], NULL, "refused by the database: %s", err);
			positions(e, &e->msgs[i]);
			rc = hz_batch_commit(e->batch, e->pg, topics(e), err, sizeof(err));
		}
		if (rc) {
			/* transient now, or even the dead letter is refused: the
			 * messages before i are committed; retry the rest later */
			rebuild(e, i, e->n_msgs);
			return rc;
		}
		hz_cond_commit(e->cond);
		size_t n;
		const struct hz_change *c = hz_batch_changes(e->batch, &n);
		hz_engine_note_changes(e);
		for (size_t k = 0; k < n; k++)
			hz_engine_pend_add(e, c[k].outbox_id,
				 hz_engine_publish_change(e, &c[k].te, c[k].outbox_id, hz_engine_sinks(e), true));
	}
	hz_batch_reset(e->batch); /* everything is committed; after_commit releases */
	return HZ_OK;
}

static void commit(struct hz_engine *e)
{
	char err[512];
	if (e->oom) {
		hz_err("out of memory building a batch of %zu messages: retrying it", e->n_msgs);
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		rebuild(e, 0, e->n_msgs);
		return;
	}
	if (!hz_engine_pg_ready(e))
		return;
	int crc = apply_commands(e, err, sizeof(err));
	if (crc) {
		e->st.commit_retries++;
		if (PQstatus(e->pg) != CONNECTION_OK)
			hz_engine_pg_lost(e, err);
		else
			hz_warn("commands not applied, will retry: %s", err);
		return;
	}
	size_t n_done = e->n_done;
	add_done(e);
	int64_t t0 = hz_mono_us();
	int rc = hz_batch_commit(e->batch, e->pg, topics(e), err, sizeof(err));
	hz_debug("batch of %zu messages, %zu intents: commit %lld us", e->n_msgs,
		 hz_batch_count_intents(e->batch), (long long)(hz_mono_us() - t0));
	if (rc == HZ_ERR)
		rc = poison_hunt(e);
	if (rc == HZ_OK && n_done) {
		/* ids confirmed after this batch was built stay for the next */
		memmove(e->done, e->done + n_done, (e->n_done - n_done) * sizeof(*e->done));
		e->n_done -= n_done;
	}
	if (rc == HZ_OK) {
		after_commit(e);
		return;
	}
	e->st.commit_retries++;
	if (PQstatus(e->pg) != CONNECTION_OK)
		hz_engine_pg_lost(e, err);
	else
		hz_warn("batch not committed, will retry: %s", err);
}

static void check_registry(struct hz_engine *e)
{
	int64_t now = hz_mono_us();
	if (now < e->reg_check_at || e->held || !hz_engine_pg_ready(e))
		return;
	e->reg_check_at = now + e->cfg->registry_refresh_us;
	int64_t v;
	char err[512];
	if (hz_registry_poll_version(e->pg, &v, err, sizeof(err))) {
		hz_warn("%s", err);
		return;
	}
	if (v != hz_registry_version(e->reg) && load_registry(e, err, sizeof(err)))
		hz_warn("registry refresh failed, keeping version %lld: %s",
			(long long)hz_registry_version(e->reg), err);
}

static void reload_rules(struct hz_engine *e)
{
	char err[1024];
	struct hz_rules *r = hz_rules_load(e->cfg->rules_file, err, sizeof(err));
	if (!r) {
		e->st.reload_failures++;
		hz_err("rules reload refused, the old rules stay (%llu refused so far): %s",
		       (unsigned long long)e->st.reload_failures, err);
		return;
	}
	hz_rules_destroy(e->rules);
	e->rules = r;
	/* condition state is kept by rule name: a rule that stays keeps its
	 * devices' state, one that goes leaves records nobody reads */
	e->ctx_at = 0; /* the rules may name other hazard types: reload the snapshot */
	hz_info("rules reloaded from %s: %zu threshold rules", e->cfg->rules_file, r->n_rule);
}

int hz_engine_run(struct hz_engine *e, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
	char err[512];
	if (e->min && hz_in_mqtt_start(e->min, err, sizeof(err))) {
		hz_err("%s", err);
		return HZ_ERR;
	}
	while (!*stop || e->held) {
		if (*reload) {
			*reload = 0;
			if (!e->held) {
				reload_rules(e);
				/* logrotate moved the escalation log away: write to a new one */
				if (hz_out_log_reopen(e->log, err, sizeof(err)))
					hz_err("%s", err);
			} else {
				*reload = 1;
			}
		}
		if (!e->held && !*stop)
			poll_batch(e);
		if (e->held)
			commit(e);
		hz_engine_serve_outputs(e);
		if (!e->replayed_outbox && hz_engine_pg_ready(e)) {
			/* what a previous run committed and never saw delivered */
			hz_engine_replay_outbox(e);
			e->replayed_outbox = true;
		}
		if (!e->held) {
			hz_engine_fire_timers(e);
			hz_engine_update_ratings(e);
			hz_engine_scan_offline(e);
			hz_engine_retry_outputs(e);
			hz_engine_publish_foreign(e);
			flush_done(e);
			check_registry(e);
			hz_engine_refresh_context(e);
		} else if (!e->st.pg_up) {
			/* hold the batch; wait for the next reconnect attempt */
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			if (*stop && hz_mono_us() > e->pg_retry_at + 5 * HZ_US_PER_SEC)
				break; /* give up draining: the sources replay it */
		}
		if (!e->kin && !e->min)
			break;
	}
	/* Drain: stop taking input, flush outputs, commit deletions. */
	if (e->min)
		hz_in_mqtt_stop(e->min);
	if (e->held)
		release_sources(e, false);
	if (e->kout)
		hz_out_kafka_flush(e->kout, 3000);
	if (e->mout)
		hz_out_mqtt_flush(e->mout, 3000);
	hz_engine_serve_outputs(e);
	if (e->pg && e->n_done && !e->held) {
		hz_batch_reset(e->batch);
		add_done(e);
		hz_batch_commit(e->batch, e->pg, topics(e), err, sizeof(err));
	}
	if (e->kin)
		hz_in_kafka_close(e->kin);
	return HZ_OK;
}

/* ---- construction ---- */

struct hz_engine *hz_engine_new(const struct hz_config *cfg, char *err, size_t errlen)
{
	struct hz_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	hz_codec_limits_default(&e->lim);
	e->lim.max_payload = (size_t)cfg->max_payload;
	e->lim.max_future_us = cfg->future_skew_us;
	e->rules = hz_rules_load(cfg->rules_file, err, errlen);
	if (!e->rules)
		goto fail;
	e->batch = hz_batch_new((size_t)cfg->batch_max);
	e->ctx = hz_context_new();
	e->arena = hz_arena_new(e->lim.arena_per_msg + 64 * 1024);
	e->msgs = calloc((size_t)cfg->batch_max, sizeof(*e->msgs));
	e->cond = hz_cond_new();
	if (!e->batch || !e->arena || !e->msgs || !e->ctx || !e->cond) {
		hz_errf(err, errlen, "out of memory");
		goto fail;
	}
	e->log = hz_out_log_new(cfg->escalation_log, cfg->escalation_stdout, err, errlen);
	if (!e->log)
		goto fail;

	/* The database first: migrations, the registry, and the positions the
	 * sources start from. Start-up waits for it (a daemon that cannot
	 * record anything must not take input). */
	for (int attempt = 0;; attempt++) {
		e->pg = hz_engine_connect(cfg, err, errlen);
		if (e->pg)
			break;
		if (attempt == 0)
			hz_warn("%s; retrying", err);
		if (attempt >= 300)
			goto fail;
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (cfg->pg_migrate) {
		int applied = 0;
		char dir[1024];
		snprintf(dir, sizeof(dir), "%s", cfg->pg_sql_dir);
		if (!*dir && hz_migrate_find_dir(dir, sizeof(dir), err, errlen))
			goto fail;
		if (hz_migrate_apply(e->pg, dir, &applied, err, errlen))
			goto fail;
		if (applied)
			hz_info("applied %d migrations from %s", applied, dir);
	}
	if (load_registry(e, err, errlen))
		goto fail;
	e->st.pg_up = true;

	if (cfg->mqtt_enabled) {
		snprintf(e->mqtt_source, sizeof(e->mqtt_source), "mqtt-spool:%s", cfg->mqtt_client_id);
		int64_t next = 0;
		int rc = offset_lookup(e, e->mqtt_source, 0, &next);
		if (rc && rc != HZ_ENOTFOUND) {
			hz_errf(err, errlen, "could not read the MQTT spool position");
			goto fail;
		}
		struct hz_in_mqtt_config mc = {
			.url = cfg->mqtt_url,
			.client_id = cfg->mqtt_client_id,
			.username = cfg->mqtt_username,
			.password = cfg->mqtt_password,
			.topic_prefix = cfg->mqtt_topic_prefix,
			.share_group = cfg->mqtt_share_group,
			.spool_dir = cfg->mqtt_spool_dir,
			.keepalive_s = (int)(cfg->mqtt_keepalive_us / HZ_US_PER_SEC),
			.session_expiry_s = (int)(cfg->mqtt_session_expiry_us / HZ_US_PER_SEC),
			.queue_max = (size_t)cfg->mqtt_queue_max,
			.sync_interval_ms = (int)(cfg->mqtt_sync_interval_us / 1000),
			.ca_file = cfg->mqtt_ca_file,
			.cert_file = cfg->mqtt_cert_file,
			.key_file = cfg->mqtt_key_file,
			.tls_verify = cfg->mqtt_tls_verify,
		};
		e->min = hz_in_mqtt_new(&mc, (uint64_t)next, err, errlen);
		if (!e->min)
			goto fail;
		if (cfg->mqtt_out_enabled) {
			struct hz_out_mqtt_config oc = {
				.url = cfg->mqtt_url,
				.client_id = cfg->mqtt_client_id,
				.username = cfg->mqtt_username,
				.password = cfg->mqtt_password,
				.ca_file = cfg->mqtt_ca_file,
				.cert_file = cfg->mqtt_cert_file,
				.key_file = cfg->mqtt_key_file,
				.tls_verify = cfg->mqtt_tls_verify,
				.window = 4096,
			};
			e->mout = hz_out_mqtt_new(&oc, err, errlen);
			if (!e->mout)
				goto fail;
		}
	}
	hz_info("mqtt output: %s", e->mout ? "on" : "off");
	if (cfg->kafka_enabled) {
		e->kin = hz_in_kafka_new(cfg, offset_lookup, e, err, errlen);
		if (!e->kin)
			goto fail;
		if (cfg->kafka_out_enabled && !(e->kout = hz_out_kafka_new(cfg, err, errlen)))
			goto fail;
	}
	return e;
fail:
	hz_engine_destroy(e);
	return NULL;
}

void hz_engine_stats(const struct hz_engine *e, struct hz_engine_stats *st)
{
	*st = e->st;
}

void hz_engine_destroy(struct hz_engine *e)
{
	if (!e)
		return;
	hz_in_kafka_destroy(e->kin);
	hz_in_mqtt_destroy(e->min);
	hz_out_kafka_destroy(e->kout);
	hz_out_mqtt_destroy(e->mout);
	hz_out_log_destroy(e->log);
	hz_batch_destroy(e->batch);
	hz_arena_destroy(e->arena);
	hz_registry_destroy(e->reg);
	hz_rules_destroy(e->rules);
	if (e->pg_rate)
		PQfinish(e->pg_rate); /* a count in flight is rolled back by the server */
	hz_cond_destroy(e->cond);
	hz_seen_destroy(e->seen);
	hz_context_destroy(e->ctx);
	if (e->pg)
		PQfinish(e->pg);
	free(e->msgs);
	free(e->pend);
	free(e->done);
	free(e->retry);
	free(e->cmds);
	hz_buf_free(&e->out);
	hz_buf_free(&e->line);
	hz_buf_free(&e->own_topics);
	hz_buf_free(&e->own_parts);
	free(e);
}

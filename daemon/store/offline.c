/*
 * offline.c - the device silence scan (see offline.h).
 *
 * Two index scans a run: device_seen by seen_at (only devices older than
 * the shortest limit are read), and the open device_offline tickets by
 * their partial index. Nothing is written here: the intents go through
 * the ordinary batch, with its idempotence on event ids and its unique
 * open episode per device.
 */
#include "store/offline.h"
#include "store/pg.h"
#include "store/pgtext.h"
#include "core/buf.h"
#include "core/seen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int hz_offline_seed(PGconn *pg, char *err, size_t errlen)
{
	return hz_pg_exec(pg, "seeding device_seen",
			  "INSERT INTO hazard.device_seen (device_id, seen_at) "
			  "SELECT device_id, now() FROM hazard.devices "
			  "ON CONFLICT (device_id) DO NOTHING",
			  err, errlen);
}

/* Quiet past the limit of their kind (by_kind, else the default), with no
 * open offline ticket, oldest first. */
static const char SQL_SILENT[] =
	"WITH k AS (SELECT * FROM unnest($3::text[], $4::int8[]) AS k(kind, after)) "
	"SELECT s.device_id, " HZ_SQL_US("s.seen_at") ", " HZ_SQL_US("now()") " "
	"FROM hazard.device_seen s JOIN hazard.devices d USING (device_id) "
	"LEFT JOIN k ON k.kind = d.kind "
	"WHERE s.seen_at < now() - $1::int8 * interval '1 microsecond' "
	"AND coalesce(k.after, $5::int8) > 0 "
	"AND s.seen_at < now() - (coalesce(k.after, $5::int8) + $6::int8) * interval '1 microsecond' "
	"AND NOT EXISTS (SELECT 1 FROM hazard.tickets t WHERE t.device_id = s.device_id "
	"AND t.hazard_type = 'device_offline' AND t.state NOT IN ('closed', 'dismissed')) "
	/* reported before, and closed by someone while it is still silent */
	"AND NOT EXISTS (SELECT 1 FROM hazard.ticket_events e WHERE e.event_id = "
	"'offline-' || left(s.device_id, 40) || '-' || " HZ_SQL_US("s.seen_at") "::text) "
	"ORDER BY s.seen_at LIMIT $2::int";

/* Open offline tickets whose device was heard after the ticket opened. */
static const char SQL_BACK[] =
	"SELECT t.device_id, " HZ_SQL_US("s.seen_at") " FROM hazard.tickets t "
	"JOIN hazard.device_seen s USING (device_id) "
	"WHERE t.hazard_type = 'device_offline' AND t.state NOT IN ('closed', 'dismissed') "
	"AND s.seen_at > t.opened_at LIMIT $1::int";

struct scan {
	const struct hz_rules *rules;
	const struct hz_registry *reg;
	hz_offline_apply_fn apply;
	void *arg;
	struct hz_batch *b;
};

static int add(const struct scan *sc, const char *device_id, int64_t seen_us, int64_t now_us,
	       bool back)
{
	const struct hz_rules *rules = sc->rules;
	const struct hz_device *dev = hz_registry_device(sc->reg, device_id);
	if (!dev)
		return 0; /* no longer registered */
	char evid[HZ_ID_MAX + 32], reason[HZ_REASON_MAX], seen[HZ_TIME_BUFLEN];
	snprintf(evid, sizeof(evid), "%s-%.40s-%lld", back ? "online" : "offline", device_id,
		 (long long)seen_us);
	hz_time_format(seen_us, seen);
	if (back) {
		snprintf(reason, sizeof(reason), "device %s heard again at %s: back online",
			 device_id, seen);
	} else {
		int64_t quiet = (now_us - seen_us) / HZ_US_PER_SEC;
		snprintf(reason, sizeof(reason), "device %s silent since %s (%lld s)", device_id,
			 seen, (long long)quiet);
	}
	struct hz_event ev = {.kind = HZ_EV_STATUS, .event_id = evid, .device_id = device_id,
			      .site_id = dev->site->site_id, .town_code = "", .dev = dev,
			      .site = dev->site, .at_us = now_us};
	struct hz_intent in;
	hz_rules_fault_intent(rules, &ev, "device_offline", reason, &in);
	in.level = rules->offline.level;
	in.ack_us = back ? 0 : hz_escalate_ack_due(rules, in.level, in.tier, in.risk, 0);
	if (back)
		in.op = HZ_OP_CLOSE;
	if (sc->apply)
		sc->apply(sc->arg, &in, dev->site);
	return hz_batch_add_intent(sc->b, &in) == HZ_OK;
}

int hz_offline_scan(PGconn *pg, const struct hz_rules *rules, const struct hz_registry *reg,
		    hz_offline_apply_fn apply, void *arg, struct hz_batch *b, size_t max,
		    size_t *found, char *err, size_t errlen)
{
	const struct scan sc = {rules, reg, apply, arg, b};
	const struct hz_offline_rules *o = &rules->offline;
	*found = 0;
	int64_t shortest = hz_rules_offline_shortest(rules);
	struct hz_buf kinds = {0}, afters = {0};
	hz_pgarr_begin(&kinds);
	hz_pgarr_begin(&afters);
	for (int i = 0; i < o->n_kind; i++) {
		hz_pgarr_text(&kinds, o->by_kind[i].kind);
		hz_pgarr_int(&afters, o->by_kind[i].after_us);
	}
	int rc = HZ_OK;
	if (!shortest)
		goto out; /* nothing is watched */
	char s_short[24], s_max[24], s_def[24], s_gate[24];
	snprintf(s_short, sizeof(s_short), "%lld", (long long)shortest);
	snprintf(s_max, sizeof(s_max), "%zu", max);
	snprintf(s_def, sizeof(s_def), "%lld", (long long)o->after_us);
	/* device_seen lags a device's last word by up to the write gate */
	snprintf(s_gate, sizeof(s_gate), "%lld", (long long)hz_seen_gate(shortest));
	const char *p[] = {s_short, s_max, hz_pgarr_end(&kinds), hz_pgarr_end(&afters), s_def,
			   s_gate};
	PGresult *res = hz_pg_query(pg, "finding silent devices", SQL_SILENT, 6, p, &rc, err, errlen);
	if (!res)
		goto out;
	for (int r = 0; r < PQntuples(res); r++)
		*found += (size_t)add(&sc, PQgetvalue(res, r, 0),
				      strtoll(PQgetvalue(res, r, 1), NULL, 10),
				      strtoll(PQgetvalue(res, r, 2), NULL, 10), false);
	PQclear(res);
	const char *q[] = {s_max};
	res = hz_pg_query(pg, "finding devices back online", SQL_BACK, 1, q, &rc, err, errlen);
	if (!res)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t seen = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		*found += (size_t)add(&sc, PQgetvalue(res, r, 0), seen, seen, true);
	}
	PQclear(res);
out:
	hz_buf_free(&kinds);
	hz_buf_free(&afters);
	return rc;
}

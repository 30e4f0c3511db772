#!/usr/bin/env bash
# G6: escalation timers. BENCH_TIMERS (default 1,000,000) open, unacknowledged
# red tickets with deadlines spread over an hour, one per second of the hour
# for each 1/3600 of them; hazardd runs for BENCH_TIMER_SECONDS (default 40)
# and every step it fires is compared with its deadline. Timers live in
# PostgreSQL (an index on ack_due_at), not in the daemon: its memory does
# not grow with them, and there is nothing to reload at start.
# Sourced by run.sh (needs BUILD, SRC, RUN, the env of the servers).
T=${BENCH_TIMERS:-1000000}
SECS=${BENCH_TIMER_SECONDS:-40}
db=bench_timers
psql -XAtq -d postgres -c "CREATE DATABASE $db TEMPLATE $PGDATABASE" >/dev/null
q() { psql -XAtq -d "$db" -c "$1"; }
t_ins=$(date +%s.%N)
q "CREATE TABLE bench_t0 AS SELECT now() + interval '60 s' AS t0;
   WITH s AS (SELECT row_number() OVER (ORDER BY site_id) - 1 AS i, site_id, town_code, county_code FROM hazard.sites),
        n AS (SELECT count(*) AS c FROM hazard.sites)
   INSERT INTO hazard.tickets (kind, state, level, site_id, town_code, county_code, hazard_type, tier,
                               episode_key, opened_at, updated_at, event_count, ack_due_at)
   SELECT 'alarm', 'discovered', 'red', s.site_id, s.town_code, s.county_code, 'bench', 'grid',
          'bench|' || g, now(), now(), 1, (SELECT t0 FROM bench_t0) + (g % 3600) * interval '1 s'
   FROM generate_series(1, $T) g, n JOIN s ON true WHERE s.i = g % n.c;
   ANALYZE hazard.tickets;" >/dev/null
t_done=$(date +%s.%N)
cat >"$RUN/timers.conf" <<CONF
log.level = info
log.escalation_file = $RUN/escalation-timers.log
log.escalation_stdout = false
pg.dsn = host=$HZ_PG_HOST port=$HZ_PG_PORT dbname=$db user=hazard
rules.file = $SRC/deploy/rules.yaml
mqtt.enabled = false
kafka.brokers = $HZ_KAFKA_BROKERS
kafka.group_id = bench-timers-$$
kafka.topic.readings = bench.readings-timers
kafka.out_enabled = true
CONF
# The first deadlines fall 60 s after the insert began, so a slow insert on
# a busy machine does not start the daemon behind a backlog; the daemon
# runs from a little before them to SECS after.
lead=$(q "select greatest(extract(epoch from (select t0 from bench_t0) - now()) - 5, 0)")
sleep "$lead"
"$BUILD/hazardd" -c "$RUN/timers.conf" >"$RUN/hazardd-timers.log" 2>&1 &
DPID=$!
sleep $((SECS + 5))
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$DPID/status")
kill "$DPID"; wait "$DPID" || true; DPID=
fired=$(q "select count(*) from hazard.escalations")
lat=$(q "select percentile_cont(array[0.5, 0.99, 1.0]) within group (order by extract(epoch from e.at - ((select t0 from bench_t0) + (split_part(t.episode_key, '|', 2)::int % 3600) * interval '1 s')) * 1000)
         from hazard.escalations e join hazard.tickets t using (ticket_id) where e.tier = 'town'")
echo "== G6: $T open escalation timers (in PostgreSQL), ${SECS}s of firing"
awk -v t="$T" -v a="$t_ins" -v b="$t_done" -v f="$fired" -v l="$lat" -v r="$rss" 'BEGIN {
	gsub(/[{}]/, "", l); split(l, p, ",")
	printf "   created in %.1f s; %d steps fired; daemon RSS %.1f MB (0 bytes per timer in the daemon)\n", b - a, f, r / 1024
	printf "   lateness after the deadline: median %.0f ms, p99 %.0f ms, max %.0f ms (target p99 <= 10 ms)\n", p[1], p[2], p[3]
}'

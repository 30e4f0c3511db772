#!/usr/bin/env bash
# hz-timeout: 240
# PostgreSQL goes away mid-stream (immediate stop, then a fast restart):
# hazardd holds its batch, acknowledges nothing, reconnects by itself, and
# afterwards every Kafka and MQTT message has had its effect exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

N=3000
hz_pipeline_setup
echo "pipeline.batch_max = 20" >>"$HZ_CONF"
hz_q "select device_id || ' ' || site_id from hazard.devices where metric = 'smoke' order by device_id" >"$(hz_tmp)/devs"
now=$(date -u +%FT%TZ)
awk -v n="$N" -v now="$now" '{ dev[NR-1] = $1; site[NR-1] = $2 } END {
	for (i = 0; i < n; i++) { d = i % NR; v = (i % 10 == 0) ? 6 : 0.1
		printf "%s:{\"eventId\":\"pg-%d\",\"observedAt\":\"%s\",\"deviceId\":\"%s\",\"metric\":\"METRIC_SMOKE\",\"value\":%s}\n", site[d], i, now, dev[d], v } }' \
	"$(hz_tmp)/devs" >"$(hz_tmp)/corpus"
hz_pipeline_start
consumed() { hz_q "select coalesce(sum(next_offset),0) from hazard.source_offsets where source='kafka:$T_READINGS'" 2>/dev/null || echo -1; }

hz_kafka_produce "$T_READINGS" -K: <"$(hz_tmp)/corpus"
hz_wait_for "[ \$(consumed) -gt 0 ]" 30 "consumption started"
hz_svc pg-stop immediate >/dev/null
hz_log "PostgreSQL stopped (immediate)"
# While the database is down: MQTT alarms are taken and spooled.
read -r DEV SITE < <(head -n 1 "$(hz_tmp)/devs")
for i in $(seq 1 20); do
	hz_mqtt_pub "hazard/v1/readings/$SITE/$DEV" "$(hz_reading "pgm-$i" "$DEV" METRIC_SMOKE 7)"
done
hz_wait_log "$HZ_DLOG" 'database unavailable' 20 "the outage is logged"
sleep 2
hz_daemon_alive || hz_fail "hazardd died while PostgreSQL was down"
hz_svc pg-start >/dev/null
hz_log "PostgreSQL started"
hz_wait_log "$HZ_DLOG" 'database connected' 30 "reconnected"
hz_wait_for "[ \$(consumed) = $N ]" 120 "all $N Kafka messages consumed after the outage"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.ticket_events where event_id like 'pgm-%'\")\" = 20 ]" 30 "the 20 MQTT alarms sent during the outage"
hz_stop_daemon
hz_assert_eq $((N / 10)) "$(hz_q "select count(*) from hazard.ticket_events where event_id like 'pg-%'")" "every Kafka alarm exactly once"
hz_assert_eq $((N / 10 + 20)) "$(hz_q "select coalesce(sum(event_count),0) from hazard.tickets")" "event counts add up"
hz_assert_eq 0 "$(hz_q 'select count(*) from hazard.dead_letters')" "no dead letters"

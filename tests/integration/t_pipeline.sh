#!/usr/bin/env bash
# hz-timeout: 180
# A reading over MQTT and one over Kafka each produce the expected ticket
# row, history row, ticket_events row, output event (MQTT, Kafka) and
# escalation-log line; the same event_id sent twice has one effect; a
# higher reading raises the level of the open ticket instead of opening
# a second one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

hz_pipeline_setup
read -r SMOKE_DEV SMOKE_SITE TOWN < <(hz_q "select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' order by d.device_id limit 1" -F ' ')
read -r GAS_DEV GAS_SITE < <(hz_q "select device_id, site_id from hazard.devices where metric = 'gas_lel' order by device_id limit 1" -F ' ')
[ -n "$SMOKE_DEV" ] && [ -n "$GAS_DEV" ] || hz_fail "demo registry has no smoke or gas device"
hz_pipeline_start

# Listen for the MQTT output before anything happens.
OUT=$(hz_tmp)/mqtt-out.txt
hz_mqtt_sub "hazard/v1/out/tickets/$TOWN" 2 60 >"$OUT" &
SUB=$!
hz_on_exit "kill $SUB 2>/dev/null || true"
sleep 1

# --- MQTT: smoke at 6 %/m is orange (rules: yellow 2, orange 5, red 10)
hz_mqtt_pub "hazard/v1/readings/$SMOKE_SITE/$SMOKE_DEV" "$(hz_reading mq-1 "$SMOKE_DEV" METRIC_SMOKE 6.0)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SMOKE_SITE' and hazard_type='fire_smoke'\")\" = 1 ]" 20 "a fire_smoke ticket for $SMOKE_SITE"
hz_assert_eq "alarm|discovered|orange|1|mq-1" "$(hz_q "select kind||'|'||state||'|'||level||'|'||event_count||'|'||first_event_id from hazard.tickets where site_id='$SMOKE_SITE'")" "ticket row"
TID=$(hz_q "select ticket_id from hazard.tickets where site_id='$SMOKE_SITE'")
hz_assert_eq "1||discovered|orange|mq-1" "$(hz_q "select seq||'|'||coalesce(from_state,'')||'|'||to_state||'|'||level||'|'||event_id from hazard.ticket_history where ticket_id=$TID")" "history row"
hz_wait_log "$HZ_ESC_LOG" "\"change\":\"opened\",\"ticket_id\":$TID,.*\"cause_event_id\":\"mq-1\"" 10 "escalation log line"

# --- the same event id again: no effect
hz_mqtt_pub "hazard/v1/readings/$SMOKE_SITE/$SMOKE_DEV" "$(hz_reading mq-1 "$SMOKE_DEV" METRIC_SMOKE 6.0)"
# --- a red reading joins the ticket and raises its level
hz_mqtt_pub "hazard/v1/readings/$SMOKE_SITE/$SMOKE_DEV" "$(hz_reading mq-2 "$SMOKE_DEV" METRIC_SMOKE 12.5)"
hz_wait_for "[ \"\$(hz_q \"select level from hazard.tickets where ticket_id=$TID\")\" = red ]" 20 "level raised to red"
sleep 1
hz_assert_eq "1" "$(hz_q "select count(*) from hazard.tickets where site_id='$SMOKE_SITE'")" "still one ticket"
hz_assert_eq "2" "$(hz_q "select event_count from hazard.tickets where ticket_id=$TID")" "event_count counts mq-1 once"
hz_assert_eq "2" "$(hz_q "select count(*) from hazard.ticket_events where ticket_id=$TID")" "ticket_events rows"
hz_assert_eq "2|red|mq-2" "$(hz_q "select seq||'|'||level||'|'||event_id from hazard.ticket_history where ticket_id=$TID and seq=2")" "level history row"
wait "$SUB" || true
hz_assert_eq 2 "$(grep -c "\"ticketId\":\"$TID\"" "$OUT")" "two TicketEvents on hazard/v1/out/tickets/$TOWN (opened, level)"
hz_assert_grep "$OUT" '"change":"level"' "the MQTT TicketEvent says level"

# --- Kafka: gas at 30 %LEL is orange (yellow 10, orange 25, red 50)
hz_reading kf-1 "$GAS_DEV" METRIC_GAS_LEL 30 | hz_kafka_produce "$T_READINGS" -k "$GAS_SITE"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$GAS_SITE' and hazard_type='gas_leak' and level='orange'\")\" = 1 ]" 20 "a gas_leak ticket from Kafka"
GID=$(hz_q "select ticket_id from hazard.tickets where site_id='$GAS_SITE' and hazard_type='gas_leak'")
hz_assert_eq "kf-1" "$(hz_q "select event_id from hazard.ticket_history where ticket_id=$GID and seq=1")" "history of the Kafka ticket"
# the same Kafka event again: no effect
hz_reading kf-1 "$GAS_DEV" METRIC_GAS_LEL 30 | hz_kafka_produce "$T_READINGS" -k "$GAS_SITE"
# the output on the Kafka tickets topic, keyed by ticket id
KEYS=$(hz_kafka_consume "$T_TICKETS" 3 20 -f '%k\n') || hz_fail "expected 3 TicketEvents on $T_TICKETS, got: $KEYS"
printf '%s\n' "$KEYS" | grep -qx "$GID" || hz_fail "no TicketEvent keyed by ticket $GID among: $KEYS"
hz_wait_for "[ \"\$(hz_q \"select coalesce(sum(next_offset),0) from hazard.source_offsets where source='kafka:$T_READINGS'\")\" = 2 ]" 20 "both Kafka messages consumed and recorded"
hz_assert_eq 1 "$(hz_q "select event_count from hazard.tickets where ticket_id=$GID")" "the replayed Kafka event counted once"

# outputs confirmed by every sink leave the outbox
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 20 "outbox drained after delivery"
hz_assert_eq 0 "$(hz_q 'select count(*) from hazard.dead_letters')" "no dead letters"
hz_stop_daemon
hz_assert_grep "$HZ_DLOG" 'stopped: [0-9]+ messages' "clean shutdown line"

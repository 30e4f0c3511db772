#!/usr/bin/env bash
# hz-timeout: 180
# Each class of malformed input becomes exactly one dead letter with a
# specific reason (PostgreSQL and the Kafka dead-letter row), the daemon
# stays up, and a bad value from a known device also opens a visible
# device-fault ticket (fail safe, not silent). Later good input works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

hz_pipeline_setup
read -r DEV SITE < <(hz_q "select device_id, site_id from hazard.devices where metric = 'temperature' order by device_id limit 1" -F ' ')
read -r SDEV SSITE < <(hz_q "select device_id, site_id from hazard.devices where metric = 'smoke' order by device_id desc limit 1" -F ' ')
hz_pipeline_start
T="hazard/v1/readings/$SITE/$DEV"
now=$(date -u +%FT%TZ)
D=$(hz_tmp)

# name | payload | expected reason (ERE)
declare -a NAME PAYLOAD WANT
add() { NAME+=("$1"); PAYLOAD+=("$2"); WANT+=("$3"); }
add not-json '{"eventId": "x1", "value": ' 'json'
add missing-id "{\"observedAt\":\"$now\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_TEMPERATURE\",\"value\":20}" 'event_id'
add bad-enum "{\"eventId\":\"b3\",\"observedAt\":\"$now\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_WARP\",\"value\":20}" 'METRIC_WARP'
add dup-key "{\"eventId\":\"b4\",\"eventId\":\"b4b\",\"observedAt\":\"$now\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_TEMPERATURE\",\"value\":20}" 'duplicate'
add future "{\"eventId\":\"b5\",\"observedAt\":\"2099-01-01T00:00:00Z\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_TEMPERATURE\",\"value\":20}" 'future'
add bad-unit "{\"eventId\":\"b6\",\"observedAt\":\"$now\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_TEMPERATURE\",\"value\":20,\"unit\":\"furlong\"}" 'furlong'
add sql-text "{\"eventId\":\"b7'; drop table hazard.tickets; --\",\"observedAt\":\"$now\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_TEMPERATURE\",\"value\":20}" 'event_id'
for i in "${!NAME[@]}"; do
	hz_mqtt_pub "$T" "${PAYLOAD[$i]}"
done
# unknown device (on its own topic, since the topic names the device)
hz_mqtt_pub "hazard/v1/readings/$SITE/NO-SUCH-DEVICE" "$(hz_reading b8 NO-SUCH-DEVICE METRIC_TEMPERATURE 20)"
NAME+=(unknown-device); WANT+=('unknown device "NO-SUCH-DEVICE"')
# payload names another device than the topic
hz_mqtt_pub "$T" "$(hz_reading b9 "$SDEV" METRIC_SMOKE 1)"
NAME+=(topic-mismatch); WANT+=('does not match')
# binary: truncated protobuf, invalid UTF-8 in a protobuf string, oversized
printf '\x0a\x10abc' >"$D/trunc.bin"
printf '\x0a\x03\xff\xfe\xfd\x1a\x02ab' >"$D/utf8.bin"
head -c 70000 /dev/zero | tr '\0' 'a' >"$D/big.bin"
for f in trunc utf8 big; do
	mosquitto_pub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -t "$T" -f "$D/$f.bin" ||
		hz_fail "could not publish $f"
done
NAME+=(truncated invalid-utf8 oversized); WANT+=('protobuf|truncat' 'UTF-8' 'payload|large|exceeds')
# a topic outside the contract
hz_mqtt_pub "hazard/v1/readings/only-one-level" "$(hz_reading b10 "$DEV" METRIC_TEMPERATURE 20)"
NAME+=(bad-topic); WANT+=('topic')
# NaN from a known device: dead letter AND a device-fault ticket
hz_mqtt_pub "$T" "{\"eventId\":\"nan-1\",\"observedAt\":\"$now\",\"deviceId\":\"$DEV\",\"metric\":\"METRIC_TEMPERATURE\",\"value\":\"NaN\"}"
NAME+=(nan); WANT+=('NaN|finite')
# physically impossible: 5000 degC
hz_mqtt_pub "$T" "$(hz_reading phys-1 "$DEV" METRIC_TEMPERATURE 5000)"
NAME+=(impossible); WANT+=('physical range')

N=${#NAME[@]}
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.dead_letters')\" -ge $N ]" 30 "$N dead letters"
sleep 2
hz_assert_eq "$N" "$(hz_q 'select count(*) from hazard.dead_letters')" "exactly one dead letter per bad input"
REASONS=$(hz_q "select reason from hazard.dead_letters order by id")
for i in "${!NAME[@]}"; do
	printf '%s\n' "$REASONS" | grep -Eiq -- "${WANT[$i]}" ||
		hz_fail "no dead letter reason matching /${WANT[$i]}/ for ${NAME[$i]}; reasons:
$REASONS"
done
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.dead_letters where payload = decode('$(xxd -p "$D/utf8.bin" | tr -d '\n')','hex')")" "raw bytes kept"
# fail safe: one open device-fault ticket for the device (NaN and 5000 degC join it)
hz_assert_eq "fault|device_fault|2" "$(hz_q "select kind||'|'||hazard_type||'|'||event_count from hazard.tickets where device_id='$DEV'")" "device-fault ticket"
hz_daemon_alive || hz_fail "the daemon died on bad input"
# ... and each is on the dead-letter topic once: original bytes, reason in headers
DL=$(hz_kafka_consume "$T_DEADLETTER" "$N" 20 -f '%h\n') || hz_fail "expected $N messages on $T_DEADLETTER, got: $DL"
hz_assert_eq "$N" "$(printf '%s\n' "$DL" | grep -c 'reason=')" "every dead-letter message carries its reason"
printf '%s\n' "$DL" | grep -q 'reason=unknown device "NO-SUCH-DEVICE"' || hz_fail "no unknown-device reason header in: $DL"
printf '%s\n' "$DL" | grep -q 'source=mqtt' || hz_fail "no source header in: $DL"
# good input still works
hz_mqtt_pub "$T" "$(hz_reading good-1 "$DEV" METRIC_TEMPERATURE 95)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SITE' and hazard_type='fire_heat'\")\" = 1 ]" 20 "a heat alarm after the bad input"
# Kafka: a bad message there is a dead letter with its coordinates, once,
# even when the same bytes come again at another offset.
printf 'not a message\n' | hz_kafka_produce "$T_READINGS" -k k1
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.dead_letters where source='kafka' and topic='$T_READINGS' and \\\"offset\\\" = 0\")\" = 1 ]" 20 "Kafka dead letter with its offset"
# exactly once on the topic: N from MQTT + 1 from Kafka, no more
# (-f prints one line per message: payloads may hold newline bytes)
hz_kafka_consume "$T_DEADLETTER" $((N + 1)) 20 -f '%o\n' >/dev/null || hz_fail "the Kafka dead letter is not on $T_DEADLETTER"
if hz_kafka_consume "$T_DEADLETTER" $((N + 2)) 4 -f '%o\n' >/dev/null; then
	hz_fail "more than $((N + 1)) messages on $T_DEADLETTER: a dead letter was published twice:
$(hz_kafka_consume "$T_DEADLETTER" 100 4 -f '%p %o %h\n' || true)"
fi
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.outbox where kind = 'deadletter'\")\" = 0 ]" 20 "dead-letter outbox rows deleted after delivery"
# the device reports it is well again: its fault ticket closes, with the reason
hz_mqtt_pub "hazard/v1/status/$DEV" "{\"eventId\":\"rs-1\",\"observedAt\":\"$(date -u +%FT%TZ)\",\"deviceId\":\"$DEV\",\"state\":\"DEVICE_STATE_RESTORED\"}"
hz_wait_for "[ \"\$(hz_q \"select state from hazard.tickets where device_id='$DEV' and kind='fault'\")\" = closed ]" 20 "the fault ticket closed on restore"
hz_assert_eq "closed|device $DEV restored" "$(hz_q "select h.to_state || '|' || h.reason from hazard.ticket_history h join hazard.tickets t using (ticket_id) where t.device_id='$DEV' and t.kind='fault' order by h.seq desc limit 1")" "the restore in the history"
hz_stop_daemon

#!/usr/bin/env bash
# t_services.sh - the test harness tests itself: each throwaway server answers,
# the shipped mosquitto settings (persistence, queue limit) hold across a broker
# restart, the Kafka mock has the contract's topics and moves messages, and its
# control FIFO takes faults without breaking the cluster.
# hz-timeout: 90
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

hz_require psql mosquitto_pub mosquitto_sub kcat

# --- PostgreSQL ------------------------------------------------------------
hz_assert_eq 1 "$(hz_psql 'select 1')" "postgres select 1"
hz_assert_eq "t" "$(hz_psql 'select rolsuper from pg_roles where rolname = current_user')" \
	"role hazard is a superuser"
ver=$(hz_psql 'show server_version_num')
hz_assert_ge "$ver" 150000 "PostgreSQL 15 or later"
hz_fresh_db
hz_assert_eq "$HZ_DB" "$(hz_psql 'select current_database()')" "hz_fresh_db switches PGDATABASE"
hz_assert_eq "$HZ_DB" "$(psql -XAtq "$HZ_PG_DSN" -c 'select current_database()')" \
	"hz_fresh_db switches HZ_PG_DSN"
hz_assert_eq UTF8 "$(hz_psql 'show server_encoding')" "database encoding"
hz_log "postgres ok (server_version_num $ver, database $HZ_DB)"

# --- MQTT: QoS 1 from mosquitto_pub to mosquitto_sub ------------------------
topic="hz/test/$(hz_unique services)"
sub_id=$(hz_mqtt_client_id sub)
out=$(hz_tmp)/mqtt.out
hz_mqtt_sub "$topic" 1 10 -i "$sub_id" -v >"$out" 2>&1 &
sub_pid=$!
hz_on_exit "kill $sub_pid 2>/dev/null"
# mosquitto logs each subscription (log_type subscribe): publish only after it.
hz_wait_log "$HZ_MQTT_LOG" "$sub_id 1 $topic" 10 "mosquitto_sub subscribed"
hz_mqtt_pub "$topic" "reading 42" -i "$(hz_mqtt_client_id pub)"
wait "$sub_pid" || hz_fail "mosquitto_sub exited with status $? before a message arrived (output: $(cat "$out"))"
hz_assert_eq "$topic reading 42" "$(cat "$out")" "QoS 1 message through mosquitto"
hz_log "mqtt QoS 1 ok"

# --- MQTT: a persistent session queues more than mosquitto's default limit
# (1000) while its subscriber is away, and keeps it across a broker restart.
n=1500
id=$(hz_mqtt_client_id sess)
topic="hz/test/$(hz_unique queue)"
mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -c -i "$id" -t "$topic" -E ||
	hz_fail "could not open a persistent session for $id"
seq 1 "$n" | mosquitto_pub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -t "$topic" -l \
	-i "$(hz_mqtt_client_id pub)" || hz_fail "could not publish $n messages"
hz_svc mosquitto-restart 0 2>/dev/null || hz_fail "mosquitto-restart failed"
got=$(hz_mqtt_sub "$topic" "$n" 20 -c -i "$id" | grep -c '' || true)
hz_assert_eq "$n" "$got" "messages queued for an offline persistent session, across a broker restart"
# Close the session so it does not hold a queue for the rest of the run.
mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -i "$id" -t "$topic" -E >/dev/null 2>&1 || true
hz_log "mqtt persistence and queue limit ok ($got of $n after restart)"

# --- Kafka: the contract's topics with their partition counts ---------------
meta=$(kcat -b "$HZ_KAFKA_BROKERS" -L -m 5 2>&1) || hz_fail "kcat -L failed: $meta"
parts=${HZ_KMOCK_PARTITIONS:-8}
for t in hazard.readings hazard.status hazard.reports hazard.warnings hazard.commands \
	hazard.tickets hazard.escalations hazard.command-results hazard.ratings hazard.deadletter; do
	seen=$(printf '%s\n' "$meta" | sed -n "s/^ *topic \"$t\" with \([0-9]*\) partitions:.*/\1/p")
	hz_assert_eq "$parts" "${seen:-no such topic}" "partitions of $t"
done
brokers=$(printf '%s\n' "$meta" | sed -n 's/^ *\([0-9]*\) brokers:$/\1/p')
hz_assert_eq "${HZ_KMOCK_BROKERS:-3}" "$brokers" "brokers in the mock cluster"

# --- Kafka: produce and consume back, on a fresh topic ----------------------
ktopic=$(hz_kafka_topic hz.test 4)
hz_assert_eq 4 "$(kcat -b "$HZ_KAFKA_BROKERS" -L -t "$ktopic" -m 5 | grep -c 'partition [0-9]*,')" \
	"partitions of topic $ktopic created through the control FIFO"
printf 'site-1:alpha\nsite-1:beta\nsite-1:gamma\n' | hz_kafka_produce "$ktopic" -K: ||
	hz_fail "kcat could not produce to $ktopic"
got=$(hz_kafka_consume "$ktopic" 3 10 -f '%k=%s\n') || hz_fail "consumed only: $got"
hz_assert_eq "site-1=alpha site-1=beta site-1=gamma" "${got//$'\n'/ }" "messages consumed back in key order"
hz_log "kafka produce/consume ok on $ktopic"

# --- Kafka: control FIFO faults ---------------------------------------------
boot1=${HZ_KAFKA_BROKERS%%,*}
port1=${boot1##*:}
can_connect() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
can_connect "$port1" || hz_fail "broker 1 (127.0.0.1:$port1) refuses connections before any fault"
hz_kafka down 1 2>/dev/null || hz_fail "kmock refused \"down 1\""
if can_connect "$port1"; then hz_fail "broker 1 still accepts connections after \"down 1\""; fi
# The rest of the cluster still answers while broker 1 is down.
meta=$(kcat -b "$HZ_KAFKA_BROKERS" -L -t "$ktopic" -m 10 2>&1) ||
	hz_fail "kcat -L with broker 1 down: $meta"
hz_kafka up 1 2>/dev/null || hz_fail "kmock refused \"up 1\""
can_connect "$port1" || hz_fail "broker 1 refuses connections after \"up 1\""
if hz_kafka no-such-command 2>/dev/null; then hz_fail "kmock accepted an unknown command"; fi
hz_kafka rtt 2 50 2>/dev/null || hz_fail "kmock refused \"rtt 2 50\""
hz_kafka errors Produce 2 NOT_LEADER_FOR_PARTITION 2>/dev/null ||
	hz_fail "kmock refused \"errors Produce 2 NOT_LEADER_FOR_PARTITION\""
# Retriable produce errors are retried by the client: the messages still land.
printf 'site-2:delta\n' | hz_kafka_produce "$ktopic" -K: || hz_fail "produce after injected errors"
hz_kafka reset 2>/dev/null || hz_fail "kmock refused \"reset\""
got=$(hz_kafka_consume "$ktopic" 4 10 -f '%k=%s\n') || hz_fail "consumed only: $got"
hz_assert_match "${got//$'\n'/ }" "site-2=delta" "message produced through injected errors"
hz_log "kmock control ok (down/up/rtt/errors/reset)"

#!/usr/bin/env bash
# The demo: local PostgreSQL, mosquitto and Kafka mock; the demo registry
# and rules; hazardd; and hazard-sim publishing readings (some of them
# alarms, some malformed) over MQTT and Kafka. The escalation log scrolls
# on this terminal; Ctrl-C stops everything that was started, by pid.
#
#   make run                      (or: deploy/demo/run.sh build)
#   DEMO_SECONDS=60 make run      stop by itself after a minute
#   DEMO_RATE=200 make run        readings per second per transport
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
RUN=${DEMO_DIR:-$SRC/run/demo}
RATE=${DEMO_RATE:-50}

rm -rf "$RUN"
mkdir -p "$RUN"
pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$SRC/deploy/dev/services.sh" stop "$RUN" >/dev/null 2>&1 || true
	echo "demo stopped; logs are in $RUN"
}
trap cleanup EXIT INT TERM

echo "== starting PostgreSQL, mosquitto and the Kafka mock cluster in $RUN"
"$SRC/deploy/dev/services.sh" start "$RUN" >"$RUN/services.log" 2>&1 ||
	{ cat "$RUN/services.log"; exit 1; }
# shellcheck disable=SC1091
. "$RUN/env"

echo "== applying migrations and importing the demo registry"
"$BUILD/hazardctl" --sql-dir "$SRC/sql" migrate
"$BUILD/hazardctl" import "$SRC/deploy/demo/registry"

# The shipped rules with call-and-respond deadlines in seconds instead of
# minutes, so that unanswered tickets visibly climb grid -> town -> county
# -> city while you watch (DEMO_ACK=20s sets the step).
ACK=${DEMO_ACK:-20s}
awk '/^escalation:/ { skip = 1; next } skip && /^[a-z]/ { skip = 0 } !skip' \
	"$SRC/deploy/rules.yaml" >"$RUN/rules.yaml"
cat >>"$RUN/rules.yaml" <<YAML

# demo: deadlines in seconds (deploy/demo/run.sh)
escalation:
  ack:
    red:    {grid: $ACK, town: $ACK, county: $ACK, city: $ACK}
    orange: {grid: $ACK, town: $ACK, county: $ACK, city: $ACK}
    yellow: {grid: $ACK, town: $ACK, county: $ACK, city: $ACK}
    blue:   {grid: $ACK, town: $ACK, county: $ACK, city: $ACK}
  repeat: $ACK
  major_risk: {start_higher: true, factor: 0.5}
YAML

cat >"$RUN/hazardd.conf" <<CONF
log.level = info
log.escalation_file = $RUN/escalation.log
log.escalation_stdout = false
pg.dsn = $HZ_PG_DSN
pg.sql_dir = $SRC/sql
rules.file = $RUN/rules.yaml
mqtt.url = $HZ_MQTT_URL
mqtt.client_id = hazardd-demo
mqtt.spool_dir = $RUN/spool
kafka.brokers = $HZ_KAFKA_BROKERS
CONF
"$BUILD/hazardd" -c "$RUN/hazardd.conf" --check-config

echo "== starting hazardd (diagnostics in $RUN/hazardd.log)"
"$BUILD/hazardd" -c "$RUN/hazardd.conf" >"$RUN/hazardd.log" 2>&1 &
pids+=($!)
sleep 2

echo "== starting hazard-sim: $RATE readings/s over MQTT (JSON) and Kafka (protobuf)"
"$BUILD/hazard-sim" --registry "$SRC/deploy/demo/registry" --mqtt "$HZ_MQTT_URL" --format json \
	--rate "$RATE" --alarm-share 0.02 --malformed-share 0.01 --seed 1 --event-prefix demo-mqtt \
	>"$RUN/sim-mqtt.log" 2>&1 &
pids+=($!)
"$BUILD/hazard-sim" --registry "$SRC/deploy/demo/registry" --kafka "$HZ_KAFKA_BROKERS" --format proto \
	--rate "$RATE" --alarm-share 0.02 --malformed-share 0.01 --seed 2 --event-prefix demo-kafka \
	>"$RUN/sim-kafka.log" 2>&1 &
pids+=($!)

echo "== escalation log (tickets opening and rising); Ctrl-C to stop"
echo "   try in another terminal:  export HAZARDD_CONFIG=$RUN/hazardd.conf HZ_PG_DSN='$HZ_PG_DSN'"
echo "                             $BUILD/hazardctl tickets list --open; $BUILD/hazardctl tail"
touch "$RUN/escalation.log"
tail -n +1 -F "$RUN/escalation.log" &
pids+=($!)
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
	echo
	"$BUILD/hazardctl" -d "$HZ_PG_DSN" tickets list --open --limit 20
else
	wait "${pids[0]}"
fi

#!/usr/bin/env bash
# make bench: figures and ratios, measured in one run on this machine.
#
#   G1  Kafka -> hazardd -> PostgreSQL, 1 % of readings change a ticket,
#       divided by a raw librdkafka batch consumer reading the same corpus.
#   codec: decode/encode ns per message against raw protobuf-c and jansson.
#
# Medians of BENCH_RUNS runs (default 3) over BENCH_N messages (default
# 1,000,000) in a 32-partition topic (the mock keeps ~5 MB per partition).
# Time starts at the first consumed message (the ~3 s group join is left
# out) and CPU is the consumer process's own. No assertions: figures only.
# The daemon's first batch (a few ms) is outside its timed interval.
# BENCH_ONLY=g1 (a comma list of codec, rules, rescue, g1, g6, chain) runs
# only those parts; the default is all of them.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_N:-1000000}
RUNS=${BENCH_RUNS:-3}
SHARE=${BENCH_ALARM_SHARE:-0.01}
RUN=$(mktemp -d /tmp/hz-bench.XXXXXX)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$SRC/deploy/dev/services.sh" stop "$RUN" >/dev/null 2>&1 || true
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$RUN"
}
trap cleanup EXIT INT TERM
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

"$SRC/deploy/dev/services.sh" start "$RUN" >"$RUN/services.log" 2>&1 || { cat "$RUN/services.log"; exit 1; }
# shellcheck disable=SC1091
. "$RUN/env"
"$SRC/deploy/dev/services.sh" kafka "$RUN" topic bench.readings 32 >/dev/null
"$BUILD/hazardctl" --sql-dir "$SRC/sql" migrate >/dev/null
"$BUILD/hazardctl" import "$SRC/deploy/demo/registry" >/dev/null

if want codec; then
	echo "== codec (bench_codec)"
	"$BUILD/bench/bench_codec" 2>&1 | sed 's/^/   /'
fi

if want rules; then
	echo "== rules (bench_rules)"
	"$BUILD/bench/bench_rules" "$SRC/deploy/rules.yaml" | sed 's/^/   /'
fi

if want rescue; then
	echo "== dispatch suggestion (bench_rescue)"
	"$BUILD/bench/bench_rescue" | sed 's/^/   /'
fi

g1() {

echo "== corpus: $N protobuf SensorReadings, ${SHARE} of them alarms, 32 partitions"
"$BUILD/bench/bench_kafka" produce "$HZ_KAFKA_BROKERS" bench.readings "$N" "$SRC/deploy/demo/registry" "$SHARE" | sed 's/^/   /'

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ticks=$(getconf CLK_TCK)
cpu_of() { awk -v t="$ticks" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -a RAW_RATE RAW_CPU HZ_RATE HZ_CPU
for i in $(seq 1 "$RUNS"); do
	out=$("$BUILD/bench/bench_kafka" consume "$HZ_KAFKA_BROKERS" bench.readings "$N")
	RAW_RATE+=("$(echo "$out" | field rate)")
	RAW_CPU+=("$(echo "$out" | field cpu)")

	db=bench_$i
	psql -XAtq -d postgres -c "CREATE DATABASE $db TEMPLATE $PGDATABASE" >/dev/null
	cat >"$RUN/hazardd.conf" <<CONF
log.level = ${BENCH_LOG_LEVEL:-info}
log.escalation_file = $RUN/escalation-$i.log
log.escalation_stdout = false
pg.dsn = host=$HZ_PG_HOST port=$HZ_PG_PORT dbname=$db user=hazard
pg.sql_dir = $SRC/sql
rules.file = $SRC/deploy/rules.yaml
mqtt.enabled = false
kafka.brokers = $HZ_KAFKA_BROKERS
kafka.group_id = bench-hz-$i-$$
kafka.topic.readings = bench.readings
CONF
	"$BUILD/hazardd" -c "$RUN/hazardd.conf" >"$RUN/hazardd-$i.log" 2>&1 &
	DPID=$!
	q() { psql -XAtq -d "$db" -c "$1"; }
	# CPU is sampled once the group is joined, before any message is
	# processed; wall time comes from PostgreSQL's own clock (the first
	# ticket join and the last position written), and completion is
	# polled only once a second, so that measuring takes no CPU from the
	# daemon while it runs.
	until grep -q 'kafka: assigned' "$RUN/hazardd-$i.log"; do sleep 0.01; done
	c0=$(cpu_of "$DPID")
	until [ "$(q "select coalesce(sum(next_offset),0) from hazard.source_offsets where source = 'kafka:bench.readings'")" -ge "$N" ]; do sleep 1; done
	c1=$(cpu_of "$DPID")
	secs=$(q "select extract(epoch from (select max(updated_at) from hazard.source_offsets) - (select min(received_at) from hazard.ticket_events))")
	kill "$DPID"; wait "$DPID" || true; DPID=
	tickets=$(psql -XAtq -d "$db" -c "select coalesce(sum(event_count),0) from hazard.tickets")
	HZ_RATE+=("$(awk -v n="$N" -v t="$secs" 'BEGIN { printf "%.0f", n / t }')")
	HZ_CPU+=("$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')")
	printf '   run %d: raw %s msg/s (%s cpu-s), hazardd %s msg/s (%s cpu-s), %s events joined tickets\n' \
		"$i" "${RAW_RATE[-1]}" "${RAW_CPU[-1]}" "${HZ_RATE[-1]}" "${HZ_CPU[-1]}" "$tickets"
done

raw=$(printf '%s\n' "${RAW_RATE[@]}" | median)
hz=$(printf '%s\n' "${HZ_RATE[@]}" | median)
rawc=$(printf '%s\n' "${RAW_CPU[@]}" | median)
hzc=$(printf '%s\n' "${HZ_CPU[@]}" | median)
echo "== G1: Kafka -> hazardd -> PostgreSQL, ${SHARE} of readings change a ticket (medians of $RUNS)"
awk -v raw="$raw" -v hz="$hz" -v rc="$rawc" -v hc="$hzc" -v n="$N" 'BEGIN {
	printf "   raw librdkafka batch consume : %9.0f msg/s  %6.2f cpu-s per million\n", raw, rc * 1e6 / n
	printf "   hazardd end to end           : %9.0f msg/s  %6.2f cpu-s per million (daemon only)\n", hz, hc * 1e6 / n
	printf "   ratio hazardd / raw          : %9.3f   (target >= 0.5)\n", hz / raw
}'
}
if want g1; then
	g1
fi

if want g6; then
	# shellcheck source=timers.sh
	. "$SRC/tests/bench/timers.sh"
fi

if want chain; then
	# shellcheck source=history_chain.sh
	. "$SRC/tests/bench/history_chain.sh"
fi

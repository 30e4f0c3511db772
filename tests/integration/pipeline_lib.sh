# shellcheck shell=bash
# pipeline_lib.sh - shared set-up for tests that run hazardd end to end.
# Source after lib.sh. Gives each test its own database, Kafka topics,
# consumer group, MQTT client id and spool, so tests never see each
# other's traffic.

# hz_pipeline_setup: fresh db with migrations and the demo registry;
# writes $HZ_CONF and exports the topic names as T_READINGS ... T_TICKETS.
hz_pipeline_setup() {
	hz_fresh_db
	"$HZ_BUILD/hazardctl" --sql-dir "$HZ_SRC/sql" migrate >/dev/null ||
		hz_fail "hazardctl migrate failed"
	"$HZ_BUILD/hazardctl" import "$HZ_SRC/deploy/demo/registry" >/dev/null ||
		hz_fail "hazardctl import of the demo registry failed"
	T_READINGS=$(hz_kafka_topic hazard.readings 8)
	T_STATUS=$(hz_kafka_topic hazard.status 4)
	T_REPORTS=$(hz_kafka_topic hazard.reports 4)
	T_WARNINGS=$(hz_kafka_topic hazard.warnings 2)
	T_COMMANDS=$(hz_kafka_topic hazard.commands 2)
	T_TICKETS=$(hz_kafka_topic hazard.tickets 4)
	T_DEADLETTER=$(hz_kafka_topic hazard.deadletter 2)
	T_ESCALATIONS=$(hz_kafka_topic hazard.escalations 2)
	T_RATINGS=$(hz_kafka_topic hazard.ratings 2)
	MQTT_CLIENT=$(hz_mqtt_client_id hz)
	HZ_CONF=$(hz_tmp)/hazardd.conf
	HZ_ESC_LOG=$(hz_tmp)/escalation.log
	HZ_DLOG=$(hz_tmp)/hazardd.log
	cat >"$HZ_CONF" <<CONF
log.level = ${HZ_LOG_LEVEL:-info}
log.escalation_file = $HZ_ESC_LOG
log.escalation_stdout = false
pg.dsn = $HZ_PG_DSN
pg.sql_dir = $HZ_SRC/sql
pg.retry_max = 1s
pg.statement_timeout = 5s
rules.file = ${HZ_RULES:-$HZ_SRC/deploy/rules.yaml}
registry.refresh = 1s
pipeline.outbox_retry = 2s
mqtt.url = tcp://$HZ_MQTT_HOST:$HZ_MQTT_PORT
mqtt.client_id = $MQTT_CLIENT
mqtt.spool_dir = $(hz_tmp spool)
mqtt.topic_prefix = hazard/v1
kafka.brokers = $HZ_KAFKA_BROKERS
kafka.group_id = $(hz_unique grp)
kafka.topic.readings = $T_READINGS
kafka.topic.status = $T_STATUS
kafka.topic.reports = $T_REPORTS
kafka.topic.warnings = $T_WARNINGS
kafka.topic.commands = $T_COMMANDS
kafka.topic.tickets = $T_TICKETS
kafka.topic.deadletter = $T_DEADLETTER
kafka.topic.escalations = $T_ESCALATIONS
kafka.topic.ratings = $T_RATINGS
kafka.rdkafka.topic.metadata.refresh.interval.ms = 1000
CONF
	export T_DEADLETTER T_ESCALATIONS T_RATINGS T_READINGS T_STATUS T_REPORTS T_WARNINGS T_COMMANDS T_TICKETS HZ_CONF HZ_ESC_LOG HZ_DLOG MQTT_CLIENT
}

# hz_red_rules FILE GRID TOWN COUNTY CITY REPEAT: the shipped rules with red
# alarms' acknowledgement deadlines at each tier and the top tier's repeat cut
# to test scale (e.g. 2s), in place of the shipped escalation section (only
# red is given; major-risk sites start at the grid like any other). Then
# HZ_RULES=FILE hz_pipeline_setup.
hz_red_rules() {
	sed '/^escalation:/,$d' "$HZ_SRC/deploy/rules.yaml" >"$1"
	cat >>"$1" <<YAML
escalation:
  ack:
    red: {grid: $2, town: $3, county: $4, city: $5}
  repeat: $6
  major_risk: {start_higher: false}
YAML
}

# hz_pipeline_start: start the daemon and wait until it consumes.
hz_pipeline_start() {
	hz_start_daemon "$HZ_CONF" "$HZ_DLOG"
	hz_wait_log "$HZ_DLOG" 'kafka: assigned [0-9]+ partitions' 30 "kafka assignment"
}

# hz_reading ID DEVICE METRIC VALUE [UNIT]: a SensorReading in proto3 JSON.
hz_reading() {
	printf '{"eventId":"%s","observedAt":"%s","deviceId":"%s","metric":"%s","value":%s%s}' \
		"$1" "$(date -u +%FT%T.%3NZ)" "$2" "$3" "$4" "${5:+,\"unit\":\"$5\"}"
}

# hz_q SQL: one value.
hz_q() { hz_psql "$@"; }

# hz_check_rebuild TOPIC [MIN]: a dashboard that reads only the tickets topic
# (the last TicketEvent of each key; kafka.out_format = json) holds every
# ticket exactly as hazard.tickets does, every column of the Ticket message.
# Waits until the outbox is drained; fails listing the differences. MIN: the
# least number of tickets expected (default 1).
hz_check_rebuild() {
	local f diff n
	f=$(hz_tmp)/rebuild.jsonl
	hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 20 "outbox drained before the rebuild check"
	kcat -b "$HZ_KAFKA_BROKERS" -C -t "$1" -o beginning -e -q -f '%s\n' >"$f" 2>/dev/null ||
		hz_fail "could not read $1"
	n=$(hz_q "select count(*) from hazard.tickets")
	[ "$n" -ge "${2:-1}" ] || hz_fail "rebuild check: only $n tickets"
	diff=$(hz_psql_file "$HZ_SRC/tests/integration/rebuild_check.sql" <"$f") ||
		hz_fail "the rebuild check query failed"
	[ -z "$diff" ] || hz_fail "tickets rebuilt from $1 differ from hazard.tickets:
$diff"
	hz_log "ok - $n tickets rebuilt from $1 alone equal hazard.tickets ($(wc -l <"$f") events)"
}

# Operators' commands, as field apps send them (t_loop, t_assign, t_silence_cmd).
# hz_now: the time in RFC 3339 with milliseconds.
hz_now() { date -u +%FT%T.%3NZ; }
# hz_command_json ID ACTION TICKET ACTOR [EXTRA JSON FIELDS]: a Command in
# proto3 JSON, acted now unless $ACTED is set.
hz_command_json() {
	printf '{"commandId":"%s","actedAt":"%s","actorId":"%s","action":"ACTION_%s","ticketId":"%s"%s}' \
		"$1" "${ACTED:-$(hz_now)}" "$4" "$2" "$3" "${5:+,$5}"
}
# hz_mqtt_cmd / hz_kafka_cmd ARGS: send it on hazard/v1/commands / $T_COMMANDS.
hz_mqtt_cmd() { hz_mqtt_pub hazard/v1/commands "$(hz_command_json "$@")"; }
hz_kafka_cmd() { hz_command_json "$@" | hz_kafka_produce "$T_COMMANDS" -k "$1"; }
# hz_cmd_outcome ID: "applied|" or "refused|<reason>" as recorded.
hz_cmd_outcome() { hz_q "select outcome || '|' || coalesce(reason, '') from hazard.commands where command_id = '$1'"; }
# hz_wait_cmd ID: wait until the command is recorded.
hz_wait_cmd() { hz_wait_for "[ -n \"\$(hz_q \"select 1 from hazard.commands where command_id = '$1'\")\" ]" 15 "command $1 recorded"; }

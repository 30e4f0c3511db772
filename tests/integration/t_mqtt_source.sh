#!/usr/bin/env bash
# hz-timeout: 300
# The MQTT source (in_mqtt.c + spool.c) against the run's mosquitto, through
# build/itest/mqtt_source_check:
#   1. N QoS 1 messages arrive with the right kind, topic parameters and
#      content type, in order;
#   2. messages on mis-shaped topics arrive as kind "none" (dead letters);
#   3. kill -9 of the receiver mid-stream, restart from the position it had
#      committed: every message arrives at least once, and every message it
#      had handed out but not committed comes back from the spool with the
#      same sequence number;
#   4. a spool over its limit pauses the subscription (disconnect, the broker
#      queues) and resumes after a commit, losing nothing;
#   5. the output sink (out_mqtt.c): content type and event-id properties,
#      every tag acknowledged once; on a broker killed and restarted, what
#      was in flight comes back failed and is published again;
#   6. hazard-sim: its good messages decode, its malformed ones are refused
#      for their reason (build/itest/sim_check runs the daemon's codec), and
#      it delivers every message over MQTT (received through hz_in_mqtt)
#      and Kafka (the mock cluster);
#   7. (figures, no assertion) draining a stored backlog of QoS 1 messages
#      through hz_in_mqtt_poll against a raw Paho subscriber.
# HZ_MQTT_DRAIN=N sets the backlog (default 100000; 0 skips part 7),
# HZ_MQTT_DRAIN_ROUNDS the number of rounds (default 3).
. "$(dirname "$0")/lib.sh"

CHECK=$HZ_BUILD/itest/mqtt_source_check
[ -x "$CHECK" ] || hz_fail "$CHECK is missing: run make"
URL=$HZ_MQTT_URL
T=$(hz_tmp)
rm -rf "${T:?}"/* # spools of an earlier run by hand
# A topic prefix of our own, so that other tests' traffic never mixes in.
P=$(hz_unique hzt)/v1
# Persistent sessions made here: removed at the end, or the broker would
# queue for them for a day.
CLIENTS=()
forget_sessions() {
	local c
	for c in "${CLIENTS[@]}"; do "$CHECK" forget "$URL" -c "$c" || true; done
}
hz_on_exit forget_sessions

# A broker of our own (parts 5 and 6): the run broker's settings without
# persistence, on a port of its own. start_broker [PORT] sets BPID, BURL.
BPID=
BPORT=
start_broker() {
	BPORT=${1:-$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
	grep -Ev '^(persistence|persistence_file|persistence_location|autosave_interval|autosave_on_changes|listener|log_dest|log_type)([ \t]|$)' \
		"$HZ_RUN_DIR/mosquitto.conf" >"$T/mosq.conf"
	printf 'persistence false\nlistener %s 127.0.0.1\nlog_dest stderr\nlog_type error\nlog_type warning\n' \
		"$BPORT" >>"$T/mosq.conf"
	mosquitto -c "$T/mosq.conf" >>"$T/mosq.log" 2>&1 &
	BPID=$!
	# If this shell dies without its exit trap (SIGKILL), the broker goes too.
	(
		b=$BPID
		while kill -0 $$ 2>/dev/null; do
			kill -0 "$b" 2>/dev/null || exit 0
			sleep 1
		done
		kill "$b" 2>/dev/null
	) >/dev/null 2>&1 &
	hz_wait_for "mosquitto_pub -h 127.0.0.1 -p $BPORT -q 1 -t hz/ready -m x" 10 "private mosquitto up"
	BURL=tcp://127.0.0.1:$BPORT
}
stop_broker() {
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
	BPID=
	return 0
}
hz_on_exit stop_broker

# ------------------------------------------------ 1. kinds, params, content type
N=2000
C1=$(hz_mqtt_client_id src1)
CLIENTS+=("$C1")
"$CHECK" recv "$URL" -c "$C1" -d "$T/spool1" -p "$P" -u 0 >/dev/null # the session
"$CHECK" pub "$URL" "$N" -p "$P" >"$T/pub1.out" || hz_fail "publish: $(cat "$T/pub1.out")"
"$CHECK" recv "$URL" -c "$C1" -d "$T/spool1" -p "$P" -u "$N" -t 60 >"$T/recv1.out" ||
	hz_fail "receive: $(grep -E 'BAD|DONE' "$T/recv1.out" | head -5)"
hz_assert_no_grep "$T/recv1.out" '^BAD' "mismatched messages"
hz_assert_eq "$N" "$(grep -c '^MSG' "$T/recv1.out")" "messages received"
hz_log "1: $(tail -1 "$T/recv1.out")"

# ------------------------------------------------ 2. mis-shaped topics
long=$(printf 'x%.0s' $(seq 1 70))
for t in "$P/readings/only-site" "$P/readings//d1" "$P/readings/s1/d1/extra" \
	"$P/status" "$P/reports/$long" "$P/warnings/extra"; do
	hz_mqtt_pub "$t" "malformed topic"
done
hz_mqtt_pub "$P/commands" "id=$N kind=command site=- device=- town=- ct=0"
"$CHECK" recv "$URL" -c "$C1" -d "$T/spool1" -p "$P" -n $((N + 1)) -u $((N + 1)) -I 1500 -t 30 \
	>"$T/recv2.out" || hz_fail "receive malformed: $(cat "$T/recv2.out")"
hz_assert_no_grep "$T/recv2.out" '^BAD' "mismatched messages"
hz_assert_eq 6 "$(grep -c '^MSG [0-9]* - none ' "$T/recv2.out")" "mis-shaped topics as kind none"
hz_assert_eq 1 "$(grep -c "^MSG [0-9]* $N command" "$T/recv2.out")" "the good message after them"

# ------------------------------------------------ 3. kill -9 and replay
N=${HZ_MQTT_KILL_MESSAGES:-20000}
C2=$(hz_mqtt_client_id src2)
CLIENTS+=("$C2")
"$CHECK" recv "$URL" -c "$C2" -d "$T/spool2" -p "$P" -u 0 >/dev/null
# A slow receiver (20 ms per poll of up to 256), committing every 500 all
# but the last 300 it handed out: at the kill, the spool holds committed,
# handed-out and not-yet-read records.
"$CHECK" recv "$URL" -c "$C2" -d "$T/spool2" -p "$P" -u "$N" -b 500 -L 300 -S 20000 -t 120 \
	>"$T/run1.out" 2>"$T/run1.err" &
rpid=$!
hz_on_exit "kill -9 $rpid 2>/dev/null || true"
"$CHECK" pub "$URL" "$N" -p "$P" >"$T/pub3.out" &
ppid=$!
hz_wait_for "[ \$(grep -c '^MSG' '$T/run1.out') -ge $((N / 4)) ]" 60 "a quarter received"
kill -9 "$rpid"
wait "$rpid" 2>/dev/null || true
wait "$ppid" || hz_fail "publish: $(cat "$T/pub3.out")"
committed=$(awk '/^COMMIT/ { c = $2 } END { print c + 0 }' "$T/run1.out")
handed=$(grep -c '^MSG' "$T/run1.out")
last1=$(awk '/^MSG/ { s = $2 } END { print s + 0 }' "$T/run1.out")
hz_log "3: killed after $handed handed out, committed $committed, last seq $last1"
hz_assert_ge "$last1" $((committed + 1)) "handed out but not committed at the kill"

"$CHECK" recv "$URL" -c "$C2" -d "$T/spool2" -p "$P" -n $((committed + 1)) -u "$N" -I 3000 \
	-t 120 >"$T/run2.out" 2>"$T/run2.err" || hz_fail "restart: $(tail -3 "$T/run2.out")"
hz_assert_no_grep "$T/run2.out" '^BAD' "mismatched messages after restart"
first2=$(awk '/^MSG/ { print $2; exit }' "$T/run2.out")
hz_assert_eq $((committed + 1)) "$first2" "first seq after restart"
# Every message handed out after the commit comes back with its seq.
awk -v c="$committed" '/^MSG/ && $2 > c { print $2, $3 }' "$T/run1.out" | sort >"$T/uncommitted"
awk '/^MSG/ { print $2, $3 }' "$T/run2.out" | sort >"$T/run2.pairs"
missing=$(comm -23 "$T/uncommitted" "$T/run2.pairs" | wc -l)
hz_assert_eq 0 "$missing" "uncommitted messages not replayed with their seq"
# Every id at least once across both runs.
cat "$T/run1.out" "$T/run2.out" | awk '/^MSG/ { print $3 }' | sort -un >"$T/ids"
hz_assert_eq "$N" "$(wc -l <"$T/ids")" "distinct messages across the kill"
hz_assert_eq 0 "$(head -1 "$T/ids")" "lowest id"
hz_assert_eq $((N - 1)) "$(tail -1 "$T/ids")" "highest id"
dups=$(cat "$T/run1.out" "$T/run2.out" | awk '/^MSG/ { print $3 }' | sort -n | uniq -d | wc -l)
replayed=$(sed -n 's/.*replayed=\([0-9]*\).*/\1/p' "$T/run2.out")
hz_assert_ge "$replayed" $((last1 - committed)) "replayed from the spool"
hz_log "3: restart replayed $replayed from the spool; $dups ids delivered twice (at least once is the contract)"

# ------------------------------------------------ 4. pause and resume
# A 1 MiB spool limit in 256 KiB segments, nothing committed until the
# source pauses itself: it must disconnect, and after the commit reconnect
# and get the rest from the broker. With Receive Maximum 100 (made with
# the session: mosquitto uses the value in force when it queued a message)
# the broker usually delivers at most 100 again after the pause, but
# mosquitto 2.0.11 now and then sends everything since the reconnect again
# (seen: 9,826 of 9,983); duplicates are harmless, so they are reported.
N=50000
C4=$(hz_mqtt_client_id src4)
CLIENTS+=("$C4")
"$CHECK" recv "$URL" -c "$C4" -d "$T/spool4" -p "$P/p4" -u 0 -R 100 >/dev/null
"$CHECK" pub "$URL" "$N" -p "$P/p4" >"$T/pub4.out" || hz_fail "publish: $(cat "$T/pub4.out")"
"$CHECK" recv "$URL" -c "$C4" -d "$T/spool4" -p "$P/p4" -u "$N" -M 1048576 -G 262144 -P -R 100 \
	-b 1000 -q -t 120 >"$T/recv4.out" 2>"$T/recv4.err" ||
	hz_fail "pause and resume: $(grep -E 'BAD|DONE|PAUSED' "$T/recv4.out" | head -5)"
hz_assert_grep "$T/recv4.out" '^PAUSED' "the source paused"
hz_assert_grep "$T/recv4.err" 'MQTT source paused' "the pause logged"
pauses=$(sed -n 's/^DONE.* connects=\([0-9]*\) pauses=\([0-9]*\).*/\2/p' "$T/recv4.out")
connects=$(sed -n 's/^DONE.* connects=\([0-9]*\) pauses=.*/\1/p' "$T/recv4.out")
hz_assert_ge "$pauses" 1 "pauses"
hz_assert_ge "$connects" 2 "connections (resumed)"
got4=$(sed -n 's/^DONE got=\([0-9]*\) .*/\1/p' "$T/recv4.out")
hz_log "4: $(grep '^PAUSED' "$T/recv4.out"); $((got4 - N)) delivered twice; $(grep '^DONE' "$T/recv4.out")"

# ------------------------------------------------ 5. the output sink
N=3000
mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -V mqttv5 -q 1 -t "$P/out/#" -C "$N" -W 60 \
	-F '%j' >"$T/sub5.out" &
spid=$!
hz_wait_for "grep -q '$P/out/#' '$HZ_MQTT_LOG'" 10 "the checking subscriber"
"$CHECK" out "$URL" -c "$(hz_mqtt_client_id out5)" -u "$N" -p "$P" >"$T/out5.out" ||
	hz_fail "publish through the sink: $(cat "$T/out5.out")"
wait "$spid" || hz_fail "the checking subscriber got $(wc -l <"$T/sub5.out") of $N"
hz_assert_no_grep "$T/out5.out" '^BAD' "tags"
hz_assert_eq "$N" "$(grep -c '"content-type":"application/json","user-properties":{"event-id":"ev-' "$T/sub5.out")" \
	"messages with content type and event id"
hz_assert_eq "$N" "$(grep -o '"event-id":"ev-[0-9]*"' "$T/sub5.out" | sort -u | wc -l)" "distinct event ids"
hz_log "5: $(grep '^OUT' "$T/out5.out")"
# Kill the broker under a stream of publishes and bring it back.
start_broker
"$CHECK" out "$BURL" -c "$(hz_mqtt_client_id out5b)" -u 200000 -p "$P" -t 120 >"$T/out5b.out" \
	2>"$T/out5b.err" &
opid=$!
hz_wait_for "grep -q '^STARTED' '$T/out5b.out'" 10 "the sink publishing"
sleep 0.2
kill -9 "$BPID"
wait "$BPID" 2>/dev/null || true
sleep 1
start_broker "$BPORT"
wait "$opid" || hz_fail "the sink across a broker kill: $(cat "$T/out5b.out") $(tail -3 "$T/out5b.err")"
hz_assert_no_grep "$T/out5b.out" '^BAD' "tags across the kill"
hz_assert_grep "$T/out5b.out" 'connects=2' "the sink reconnected"
hz_log "5: across a broker kill: $(grep '^OUT' "$T/out5b.out")"
stop_broker

# ------------------------------------------------ 6. hazard-sim
SIM=$HZ_BUILD/hazard-sim
SIMCHECK=$HZ_BUILD/itest/sim_check
REG=$HZ_SRC/deploy/demo/registry
for fmt in json proto; do
	"$SIM" --print --rate 0 --count 5000 --format "$fmt" --malformed-share 0.1 --seed 7 \
		--registry "$REG" --event-prefix t6 --exercise 2>"$T/sim6.err" >"$T/sim6.out" ||
		hz_fail "hazard-sim --print: $(cat "$T/sim6.err")"
	"$SIMCHECK" t6 <"$T/sim6.out" >"$T/sim6.check"
	summary=$(tail -1 "$T/sim6.err")
	n_of() { sed -n "s/.*[ (]$1 \([0-9]*\).*/\1/p" <<<"$summary"; }
	bad=$(($(n_of truncated) + $(n_of invalid_json) + $(n_of missing_event_id) + $(n_of invalid_utf8) + $(n_of oversized)))
	good=$((5000 - bad - $(n_of nan_value)))
	hz_assert_eq "decoded ok=$good invalid=$bad fault=$(n_of nan_value) unknown_device=$(n_of unknown_device) bad_ids=0 exercise=$((good + $(n_of nan_value))) lines=5000" \
		"$(cat "$T/sim6.check")" "hazard-sim $fmt messages through the codec"
done
hz_log "6: --print: $(cat "$T/sim6.check")"
# Over MQTT, received through the source: every message, kinds as sent.
C6=$(hz_mqtt_client_id sim6)
CLIENTS+=("$C6")
"$CHECK" recv "$URL" -c "$C6" -d "$T/spool6" -p "$P/sim" -u 0 >/dev/null
"$SIM" --mqtt "$URL" --topic-prefix "$P/sim" --count 10000 --rate 0 --registry "$REG" \
	--malformed-share 0.01 --quiet 2>"$T/sim6m.err" || hz_fail "hazard-sim --mqtt: $(cat "$T/sim6m.err")"
hz_assert_grep "$T/sim6m.err" 'sent 10000 .* acknowledged 10000, lost 0' "hazard-sim over MQTT"
"$CHECK" recv "$URL" -c "$C6" -d "$T/spool6" -p "$P/sim" -u 1 -I 2000 -t 60 >"$T/sim6m.out"
summary=$(tail -1 "$T/sim6m.err")
for k in readings:reading status:status reports:report; do
	hz_assert_eq "$(sed -n "s/.*[ (]${k%%:*} \([0-9]*\).*/\1/p" <<<"$summary")" \
		"$(grep -c "^MSG [0-9]* - ${k#*:} " "$T/sim6m.out")" "hazard-sim ${k%%:*} received over MQTT"
done
hz_log "6: MQTT: $summary"
# Over Kafka: every message acknowledged, in the topics it names.
if [ -n "${HZ_KAFKA_BROKERS:-}" ]; then
	kp=$(hz_unique sim)
	"$SIM" --kafka "$HZ_KAFKA_BROKERS" --kafka-prefix "$kp" --count 5000 --rate 0 --format json \
		--registry "$REG" --quiet 2>"$T/sim6k.err" || hz_fail "hazard-sim --kafka: $(cat "$T/sim6k.err")"
	hz_assert_grep "$T/sim6k.err" 'sent 5000 .* acknowledged 5000, lost 0' "hazard-sim over Kafka"
	total=0
	for t in readings status reports; do
		c=$(timeout 30 kcat -b "$HZ_KAFKA_BROKERS" -C -t "$kp.$t" -o beginning -e -q -f '%k\n' 2>/dev/null | grep -c . || true)
		total=$((total + c))
	done
	hz_assert_eq 5000 "$total" "messages in the Kafka topics"
	hz_log "6: Kafka: $(tail -1 "$T/sim6k.err")"
fi

# ------------------------------------------------ 7. backlog drain figures
# On a broker of our own with the run broker's settings but no persistence:
# a snapshot of a 100k backlog (autosave every second) stalls mosquitto for
# a good part of a drain, at random, which swamps the difference measured.
D=${HZ_MQTT_DRAIN:-100000}
ROUNDS=${HZ_MQTT_DRAIN_ROUNDS:-3}
if [ "$D" -gt 0 ]; then
	start_broker
	DURL=$BURL
	: >"$T/raw.rates"
	: >"$T/src.rates"
	# Each drain has a prefix of its own: a backlog is queued for one
	# session only. Raw and source alternate so that drift hits both.
	for i in $(seq "$ROUNDS"); do
		c=$(hz_mqtt_client_id raw$i)
		q=$(hz_unique raw$i)/v1
		"$CHECK" raw "$DURL" -c "$c" -p "$q" -e >/dev/null
		"$CHECK" pub "$DURL" "$D" -p "$q" >>"$T/drain.log"
		"$CHECK" raw "$DURL" -c "$c" -p "$q" -u "$D" -t 120 >>"$T/drain.log" ||
			hz_fail "raw drain: $(tail -2 "$T/drain.log")"
		tail -1 "$T/drain.log" | sed -n 's/.* rate=\([0-9]*\).* cpu=\([0-9.]*\).*/\1 \2/p' >>"$T/raw.rates"
		c=$(hz_mqtt_client_id src$i)
		q=$(hz_unique src$i)/v1
		"$CHECK" recv "$DURL" -c "$c" -d "$T/dspool$i" -p "$q" -u 0 >/dev/null
		"$CHECK" pub "$DURL" "$D" -p "$q" >>"$T/drain.log"
		"$CHECK" drain "$DURL" -c "$c" -d "$T/dspool$i" -p "$q" -u "$D" -t 120 >>"$T/drain.log" ||
			hz_fail "source drain: $(tail -2 "$T/drain.log")"
		tail -1 "$T/drain.log" | sed -n 's/.* rate=\([0-9]*\).* cpu=\([0-9.]*\).*/\1 \2/p' >>"$T/src.rates"
		rm -rf "$T/dspool$i"
	done
	stop_broker
	med() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
	raw=$(med "$T/raw.rates" 1)
	src=$(med "$T/src.rates" 1)
	hz_log "7: drain of $D stored QoS 1 messages, median of $ROUNDS: raw Paho $raw msg/s" \
		"($(med "$T/raw.rates" 2) us CPU/msg), hz_in_mqtt_poll $src msg/s" \
		"($(med "$T/src.rates" 2) us CPU/msg), ratio" \
		"$(awk -v a="$src" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')" \
		"[raw: $(cut -d' ' -f1 "$T/raw.rates" | tr '\n' ' ')| source: $(cut -d' ' -f1 "$T/src.rates" | tr '\n' ' ')]"
fi
exit 0

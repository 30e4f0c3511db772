#!/usr/bin/env bash
# hz-timeout: 240
# The closed loop (闭环) driven by operators' commands, through each way in:
# MQTT hazard/v1/commands, Kafka hazard.commands and hazardctl. Checks the
# ticket_history rows (actor, tier, reason, evidence), the TicketEvents on
# the tickets topic, the CommandResults on both results topics and the
# escalation-log lines; a replayed command (same command_id twice) has one
# effect and returns the same result; refusals (a town operator closing a
# county-level ticket of another town, verify by the rectifier, a drill
# command on a live ticket) change nothing and say why; an ack is judged on
# its acted_at; a clock beyond pipeline.command_skew is flagged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"
hz_require kcat mosquitto_sub

RULES=$(hz_tmp)/rules.yaml
# red alarms climb grid -> town -> county in about two seconds; others keep
# the shipped deadlines (minutes), so nothing escalates while we drive them
hz_red_rules "$RULES" 1s 1s 10m 10m 10m
HZ_RULES=$RULES hz_pipeline_setup
T_RESULTS=$(hz_kafka_topic hazard.command-results 2)
cat >>"$HZ_CONF" <<CONF
kafka.topic.results = $T_RESULTS
kafka.out_format = json
pipeline.command_skew = 30s
CONF
# (HAZARDD_CONFIG: hazardctl reopen reads the daemon's rules for its new deadline)
export HAZARDD_KAFKA_TOPIC_TICKETS=$T_TICKETS HAZARDD_KAFKA_TOPIC_RESULTS=$T_RESULTS HAZARDD_CONFIG=$HZ_CONF
CTL=$HZ_BUILD/hazardctl

# Places and people: two smoke detectors at two non-major sites of one town
# (A and B), a third site for a report (H); the people on their chains and
# an operator of another town.
read -r DA SA TOWN COUNTY < <(hz_q "select d.device_id, d.site_id, s.town_code, s.county_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' order by d.device_id limit 1" -F ' ')
read -r DB SB < <(hz_q "select d.device_id, d.site_id from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' and s.town_code = '$TOWN' and d.site_id <> '$SA' order by d.device_id limit 1" -F ' ')
SH=$(hz_q "select site_id from hazard.sites where town_code = '$TOWN' and risk_grade <> 'major' and site_id not in ('$SA', '$SB') order by site_id limit 1")
GA=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.org_code where s.site_id = '$SA' order by 1 limit 1")
GH=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.org_code where s.site_id = '$SH' order by 1 limit 1")
read -r TP TP2 < <(hz_q "select string_agg(person_id, ' ' order by person_id) from (select person_id from hazard.people where org_code = '$TOWN' and tier = 'town' order by 1 limit 2) x")
CP=$(hz_q "select person_id from hazard.people where org_code = '$COUNTY' and tier = 'county' order by 1 limit 1")
OT=$(hz_q "select person_id from hazard.people where tier = 'town' and org_code <> '$TOWN' order by 1 limit 1")
for v in DA SA DB SB SH GA GH TP TP2 CP OT; do [ -n "${!v}" ] || hz_fail "registry has no $v"; done
hz_log "town $TOWN county $COUNTY; grid $GA, town $TP/$TP2, county $CP, other town $OT"

MQ=$(hz_tmp)/mqtt-results.out
mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -v -t 'hazard/v1/out/results/#' -t 'hazard/v1/out/tickets/#' >"$MQ" 2>/dev/null &
SUB_PID=$!
hz_on_exit "kill $SUB_PID 2>/dev/null"
hz_pipeline_start

state() { hz_q "select state from hazard.tickets where ticket_id = $1"; }
nhist() { hz_q "select count(*) from hazard.ticket_history where ticket_id = $1"; }
last_hist() { hz_q "select actor || '|' || actor_tier || '|' || action || '|' || to_state || '|' || coalesce(reason,'') || '|' || coalesce(array_to_string(evidence_urls, ','), '') from hazard.ticket_history where ticket_id = $1 order by seq desc limit 1"; }

# ---- 1: an alarm through MQTT commands: ack (judged on acted_at), confirm, control, close
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(hz_reading loop-a1 "$DA" METRIC_SMOKE 3)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SA'\")\" = 1 ]" 20 "alarm A"
A=$(hz_q "select ticket_id from hazard.tickets where site_id='$SA'")
sleep 1.2
# acknowledged on the phone 1 s ago, received now: acked_at is the time of action
ACK_AT=$(date -u -d '-1 second' +%FT%T.%3NZ)
ACTED=$ACK_AT hz_mqtt_cmd m-ack-a ACK "$A" "$GA" '"note":"on my way"'
hz_wait_cmd m-ack-a
hz_assert_eq "applied|" "$(hz_cmd_outcome m-ack-a)" "MQTT ack applied"
hz_assert_eq t "$(hz_q "select acked_at = '$ACK_AT'::timestamptz and acked_by = '$GA' and ack_due_at is null from hazard.tickets where ticket_id = $A")" "acked_at is the actor's time of action"
hz_assert_eq "$GA|grid|ack|discovered|acknowledged: on my way|" "$(last_hist "$A")" "ack history row"
# a second ack is refused with its reason and changes nothing
N=$(nhist "$A")
hz_mqtt_cmd m-ack-a2 ACK "$A" "$TP"
hz_wait_cmd m-ack-a2
hz_assert_eq "refused|ticket $A is already acknowledged" "$(hz_cmd_outcome m-ack-a2)" "second ack refused"
hz_assert_eq "$N" "$(nhist "$A")" "a refused command writes no history"
hz_mqtt_cmd m-conf-a CONFIRM "$A" "$TP" '"reason":"smoke seen by the guard","evidenceUrls":["https://img.example/a1.jpg"]'
hz_wait_cmd m-conf-a
hz_assert_eq confirmed "$(state "$A")" "A confirmed"
hz_assert_eq "$TP|town|confirm|confirmed|smoke seen by the guard|https://img.example/a1.jpg" "$(last_hist "$A")" "confirm history row: actor, tier, reason, evidence"
hz_mqtt_cmd m-ctl-a CONTROL "$A" "$TP"
hz_wait_cmd m-ctl-a
hz_assert_eq controlled "$(state "$A")" "A controlled"
# an unknown actor, an unknown ticket and a malformed command
hz_mqtt_cmd m-nobody CLOSE "$A" "nobody-42"
hz_mqtt_cmd m-slash CLOSE "$A" "x/y#z"
hz_mqtt_cmd m-noticket CLOSE 999999 "$TP"
hz_mqtt_pub hazard/v1/commands '{"commandId":"m-bad","actorId":"x","action":"ACTION_CLOSE"}'
hz_wait_cmd m-nobody
hz_wait_cmd m-noticket
hz_assert_eq 'refused|unknown actor "nobody-42"' "$(hz_cmd_outcome m-nobody)" "unknown actor refused"
hz_assert_eq "refused|ticket 999999 does not exist" "$(hz_cmd_outcome m-noticket)" "unknown ticket refused"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.dead_letters where topic = 'hazard/v1/commands'\")\" = 1 ]" 10 "a malformed command is a dead letter"
hz_mqtt_cmd m-close-a CLOSE "$A" "$TP" '"reason":"smouldering bin put out"'
hz_wait_cmd m-close-a
hz_assert_eq "closed|$TP" "$(hz_q "select state || '|' || closed_by from hazard.tickets where ticket_id = $A")" "A closed by its town operator"

# ---- 2: a hazard through Kafka commands: confirm, rectify, verify (核销)
hz_mqtt_pub "hazard/v1/reports/$TOWN" "{\"eventId\":\"loop-h1\",\"observedAt\":\"$(hz_now)\",\"siteId\":\"$SH\",\"inspectorId\":\"$GH\",\"category\":\"HAZARD_CATEGORY_BLOCKED_EXIT\",\"description\":\"exit chained shut\"}"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SH' and kind='hazard'\")\" = 1 ]" 20 "hazard H"
H=$(hz_q "select ticket_id from hazard.tickets where site_id='$SH' and kind='hazard'")
hz_kafka_cmd k-conf-h CONFIRM "$H" "$TP"
hz_wait_cmd k-conf-h
hz_assert_eq confirmed "$(state "$H")" "H confirmed over Kafka"
# a grid inspector is below the ticket's tier (town)
hz_kafka_cmd k-rect-grid RECTIFY "$H" "$GH" '"rectifyMode":"RECTIFY_MODE_ON_THE_SPOT"'
hz_wait_cmd k-rect-grid
hz_assert_match "$(hz_cmd_outcome k-rect-grid)" "^refused\|actor lacks tier town" "a grid inspector cannot rectify a town-tier hazard"
hz_kafka_cmd k-close-h CLOSE "$H" "$TP"
hz_wait_cmd k-close-h
hz_assert_match "$(hz_cmd_outcome k-close-h)" "^refused\|a hazard ticket closes only by verify" "a hazard does not close by close"
DUE=$(date -u -d '+1 day' +%FT%T.000Z)
hz_kafka_cmd k-rect-h RECTIFY "$H" "$TP" "\"rectifyMode\":\"RECTIFY_MODE_BY_DEADLINE\",\"dueAt\":\"$DUE\",\"note\":\"owner to clear the exit\""
hz_wait_cmd k-rect-h
hz_assert_eq "rectifying|by_deadline|$TP|true" "$(hz_q "select state || '|' || rectify_mode || '|' || rectified_by || '|' || (rectify_due_at = '$DUE'::timestamptz and deadline_at = rectify_due_at) from hazard.tickets where ticket_id = $H")" "H rectifying by a deadline that the overdue scan watches"
N=$(nhist "$H")
hz_kafka_cmd k-ver-self VERIFY "$H" "$TP" '"evidenceUrls":["https://img.example/h-after.jpg"]'
hz_kafka_cmd k-ver-noev VERIFY "$H" "$TP2"
hz_wait_cmd k-ver-self
hz_wait_cmd k-ver-noev
hz_assert_eq "refused|verify needs an actor other than $TP who rectified it" "$(hz_cmd_outcome k-ver-self)" "verify by the rectifier refused"
hz_assert_eq "refused|verify needs re-inspection evidence" "$(hz_cmd_outcome k-ver-noev)" "verify without evidence refused"
hz_assert_eq "rectifying|$N" "$(state "$H")|$(nhist "$H")" "refused verifies change nothing"
hz_kafka_cmd k-ver-h VERIFY "$H" "$TP2" '"reason":"re-inspected: exit clear","evidenceUrls":["https://img.example/h-after.jpg","https://img.example/h-sign.jpg"]'
hz_wait_cmd k-ver-h
hz_assert_eq "closed|$TP2" "$(hz_q "select state || '|' || verified_by from hazard.tickets where ticket_id = $H")" "H verified and closed"
hz_assert_eq "$TP2|town|verify|closed|re-inspected: exit clear|https://img.example/h-after.jpg,https://img.example/h-sign.jpg" "$(last_hist "$H")" "verify history row with its evidence"
# the operator sees the 核销 record whole: its evidence in tickets show
"$HZ_BUILD/hazardctl" tickets show "$H" --json >"$(hz_tmp)/showH.json" || hz_fail "tickets show --json failed"
hz_assert_eq "verify|https://img.example/h-after.jpg https://img.example/h-sign.jpg" "$(jq -r '.history[-1] | "\(.action)|\(.evidence_urls | join(" "))"' "$(hz_tmp)/showH.json")" "tickets show --json: the verify row's action and evidence"
"$HZ_BUILD/hazardctl" tickets show "$H" >"$(hz_tmp)/showH.txt" || hz_fail "tickets show failed"
hz_assert_grep "$(hz_tmp)/showH.txt" "https://img.example/h-after.jpg https://img.example/h-sign.jpg" "tickets show: the verify row's evidence"
# the same command again (a client retrying): one effect, the same result
N=$(nhist "$H")
hz_kafka_cmd k-ver-h VERIFY "$H" "$TP2" '"reason":"re-inspected: exit clear","evidenceUrls":["https://img.example/h-after.jpg"]'
hz_wait_for "[ \"\$(kcat -b \"$HZ_KAFKA_BROKERS\" -C -t \"$T_RESULTS\" -o beginning -e -q -f '%k\n' 2>/dev/null | grep -cx k-ver-h)\" = 2 ]" 15 "the replayed command's result published again"
hz_assert_eq "$N" "$(nhist "$H")" "a replayed command changes nothing"
kcat -b "$HZ_KAFKA_BROKERS" -C -t "$T_RESULTS" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null | awk -F '\t' '$1 == "k-ver-h" { print $2 }' >"$(hz_tmp)/replay.out"
hz_assert_eq 1 "$(sort -u "$(hz_tmp)/replay.out" | wc -l)" "the replay returns the same result"
hz_assert_grep "$(hz_tmp)/replay.out" '"outcome":"OUTCOME_APPLIED"' "the stored result says applied"

# ---- 3: hazardctl on a county-level red alarm of this town
hz_mqtt_pub "hazard/v1/readings/$SB/$DB" "$(hz_reading loop-b1 "$DB" METRIC_SMOKE 12)"
hz_wait_for "[ \"\$(hz_q \"select tier from hazard.tickets where site_id='$SB'\")\" = county ]" 20 "alarm B escalated to county"
B=$(hz_q "select ticket_id from hazard.tickets where site_id='$SB'")
N=$(nhist "$B")
RC_OT=0 RC_TP=0 RC_USAGE=0
"$CTL" close "$B" --actor "$OT" --reason "not mine" 2>"$(hz_tmp)/ot.err" || RC_OT=$?
"$CTL" close "$B" --actor "$TP" --reason "town says out" 2>"$(hz_tmp)/tp.err" || RC_TP=$?
"$CTL" close "$B" 2>/dev/null || RC_USAGE=$?
hz_assert_eq 1 "$RC_OT" "another town's operator is refused (exit 1)"
hz_assert_grep "$(hz_tmp)/ot.err" "not on the chain of ticket $B" "another town's operator: the reason"
hz_assert_eq 1 "$RC_TP" "a town operator cannot close a county-level ticket (exit 1)"
hz_assert_grep "$(hz_tmp)/tp.err" "actor lacks tier county" "the town operator: the reason"
hz_assert_eq 2 "$RC_USAGE" "no --actor is a usage error"
hz_assert_eq "discovered|$N" "$(state "$B")|$(nhist "$B")" "refused closes change nothing"
# the daemon publishes what hazardctl wrote, within about a second
"$CTL" ack "$B" --actor "$CP" --note "county duty on it" >/dev/null || hz_fail "hazardctl ack by the county failed"
T0=$(svc_now_ms)
hz_wait_log "$HZ_ESC_LOG" "\"type\":\"ticket\".*\"change\":\"acked\",\"ticket_id\":$B,.*\"actor\":\"$CP\"" 2 "the hazardctl ack's log line within 2 s"
hz_log "hazardctl ack -> escalation log line: $(($(svc_now_ms) - T0)) ms (polled every 100 ms)"
if "$CTL" ack "$B" --actor "$CP" 2>"$(hz_tmp)/ack2.err"; then hz_fail "a second ack was accepted"; fi
hz_assert_grep "$(hz_tmp)/ack2.err" "already acknowledged" "a second hazardctl ack says why"
"$CTL" close "$B" --actor "$CP" --reason "fire out, brigade left" --evidence https://img.example/b.jpg --command-id ctl-close-b --json >"$(hz_tmp)/close.json" ||
	hz_fail "hazardctl close by the county failed"
hz_assert_grep "$(hz_tmp)/close.json" '"outcome":"OUTCOME_APPLIED"' "--json prints the CommandResult"
N=$(nhist "$B")
"$CTL" close "$B" --actor "$CP" --reason "fire out, brigade left" --command-id ctl-close-b --json >"$(hz_tmp)/close2.json" 2>"$(hz_tmp)/close2.err" ||
	hz_fail "a retried hazardctl close (same --command-id) failed"
hz_assert_eq "$(cat "$(hz_tmp)/close.json")" "$(cat "$(hz_tmp)/close2.json")" "a retried hazardctl command prints the same result"
hz_assert_eq "$N" "$(nhist "$B")" "and changes nothing"
hz_assert_eq "$CP|county|close|closed|fire out, brigade left|https://img.example/b.jpg" "$(last_hist "$B")" "close history row"
RC=0
"$CTL" reopen "$B" --actor "$TP" --reason "smoke again" 2>"$(hz_tmp)/reopen.err" || RC=$?
hz_assert_eq 1 "$RC" "a town operator cannot reopen"
hz_assert_grep "$(hz_tmp)/reopen.err" "actor lacks tier county" "reopen needs the county"
"$CTL" reopen "$B" --actor "$CP" --reason "smoke again" >/dev/null || hz_fail "county reopen failed"
hz_assert_eq "confirmed|1" "$(hz_q "select state || '|' || reopened_count from hazard.tickets where ticket_id = $B")" "B reopened to confirmed"
"$CTL" comment "$B" --actor "$TP" --note "brigade back on site" >/dev/null || hz_fail "comment failed"
# every command has --help; usage errors exit 2; no database exits 3
for c in ack confirm control dispatch rectify verify close dismiss reopen comment; do
	"$CTL" "$c" --help >"$(hz_tmp)/help.out" || hz_fail "hazardctl $c --help failed"
	hz_assert_grep "$(hz_tmp)/help.out" "hazardctl $c ID" "hazardctl $c --help"
	RC=0
	"$CTL" "$c" "$B" --actor "$CP" --bogus 2>/dev/null || RC=$?
	hz_assert_eq 2 "$RC" "hazardctl $c with a bad option"
done
RC=0
"$CTL" dispatch "$B" --actor "$CP" --on-spot 2>/dev/null || RC=$?
hz_assert_eq 2 "$RC" "--on-spot is for rectify only"
RC=0
"$CTL" rectify "$B" --actor "$CP" 2>/dev/null || RC=$?
hz_assert_eq 2 "$RC" "rectify needs --on-spot or --due"
RC=0
"$CTL" -d "host=127.0.0.1 port=1 dbname=x connect_timeout=2" ack "$B" --actor "$CP" 2>/dev/null || RC=$?
hz_assert_eq 3 "$RC" "no database: exit 3"
# dispatch names a registered rescue unit of the ticket's county (t_assign has the refusals)
FS=$(hz_q "select unit_id from hazard.rescue_units where org_code = '$COUNTY' order by 1 limit 1")
RC=0
"$CTL" dispatch "$B" --actor "$TP" --assignee "brigade-xihu-2" 2>"$(hz_tmp)/free.err" || RC=$?
hz_assert_eq 1 "$RC" "dispatch to free text is refused"
hz_assert_grep "$(hz_tmp)/free.err" 'assignee "brigade-xihu-2" is not a registered rescue unit' "free text: the reason"
"$CTL" dispatch "$B" --actor "$TP" --assignee "$FS" >/dev/null || hz_fail "dispatch failed"
hz_assert_eq "$FS|fire_rescue_station" "$(hz_q "select assignee || '|' || assignee_kind from hazard.tickets where ticket_id = $B")" "dispatch sets the assignee and its kind"
hz_assert_eq "confirmed" "$(state "$B")" "dispatch changes no state"

# ---- 4: drills, and a clock beyond pipeline.command_skew
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "{\"eventId\":\"loop-d1\",\"observedAt\":\"$(hz_now)\",\"deviceId\":\"$DA\",\"metric\":\"METRIC_SMOKE\",\"value\":3,\"mode\":\"MODE_EXERCISE\"}"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SA' and mode='exercise'\")\" = 1 ]" 20 "a drill ticket"
D=$(hz_q "select ticket_id from hazard.tickets where site_id='$SA' and mode='exercise'")
hz_mqtt_cmd m-drill-ack ACK "$D" "$GA" '"mode":"MODE_EXERCISE"'
hz_mqtt_cmd m-drill-live COMMENT "$B" "$GA" '"mode":"MODE_EXERCISE","note":"drill note"'
hz_wait_cmd m-drill-ack
hz_wait_cmd m-drill-live
hz_assert_eq "applied|" "$(hz_cmd_outcome m-drill-ack)" "a drill command on a drill ticket works the same"
hz_assert_match "$(hz_cmd_outcome m-drill-live)" "^refused\|an exercise-mode command cannot act on live ticket $B" "a drill command cannot touch a live ticket"
FUT=$(date -u -d '+1 hour' +%FT%T.000Z)
ACTED=$FUT hz_mqtt_cmd m-skew COMMENT "$D" "$GA" '"note":"phone clock ahead"'
hz_wait_cmd m-skew
hz_assert_match "$(hz_cmd_outcome m-skew)" "^applied\|clock skew: acted_at .* ahead of the database clock" "a clock beyond the bound is flagged in the result"
hz_assert_match "$(hz_q "select flags from hazard.ticket_history where ticket_id = $D order by seq desc limit 1")" "^clock skew" "and in the history"
hz_assert_eq t "$(hz_q "select acted_at <= now() from hazard.ticket_history where ticket_id = $D order by seq desc limit 1")" "the time of action is taken as now"

# ---- 5: a crash after a command commits and before its batch commits its position
hz_stop_daemon
export HZ_FAULT_POINT=command-applied
hz_start_daemon "$HZ_CONF" "$(hz_tmp)/hazardd-crash.log"
unset HZ_FAULT_POINT
hz_wait_log "$(hz_tmp)/hazardd-crash.log" 'subscribed to [0-9]+ MQTT topics' 20 "MQTT subscription"
hz_mqtt_cmd m-crash COMMENT "$B" "$TP" '"note":"sent just before the crash"'
hz_wait_for "! hz_daemon_alive" 15 "the daemon aborted at the fault point"
hz_kill_daemon "$HZ_DAEMON_PID" KILL
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.ticket_history where event_id = 'm-crash'")" "the command committed before the crash"
hz_start_daemon "$HZ_CONF" "$(hz_tmp)/hazardd-after.log"
# (the spool is MQTT's: no need to wait for the Kafka group, which takes a
# session timeout to hand over the aborted member's partitions)
hz_wait_log "$(hz_tmp)/hazardd-after.log" 'subscribed to [0-9]+ MQTT topics' 20 "MQTT after the restart"
# the spool replays the command: its stored result goes out again, nothing else
hz_wait_for "[ \"\$(kcat -b \"$HZ_KAFKA_BROKERS\" -C -t \"$T_RESULTS\" -o beginning -e -q -f '%k\n' 2>/dev/null | grep -cx m-crash)\" -ge 2 ]" 20 "the replayed command's result after the restart"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.ticket_history where event_id = 'm-crash'")" "the replayed command changed nothing"
hz_assert_eq 1 "$(kcat -b "$HZ_KAFKA_BROKERS" -C -t "$T_RESULTS" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null | awk -F '\t' '$1 == "m-crash" { print $2 }' | sort -u | wc -l)" "one result, sent again unchanged"

# ---- 6: a rule-driven change keeps what the operators did: new readings
# join the reopened, dispatched B and the acknowledged drill D, and their
# TicketEvents still name the assignee, the reopen and the acknowledger
joined() { # TICKET: its last "joined" TicketEvent on the tickets topic
	kcat -b "$HZ_KAFKA_BROKERS" -C -t "$T_TICKETS" -o beginning -e -q -f '%k %s\n' 2>/dev/null |
		grep "^$1 " | grep '"change":"joined"' | tail -1
}
NB=$(hz_q "select event_count from hazard.tickets where ticket_id = $B")
ND=$(hz_q "select event_count from hazard.tickets where ticket_id = $D")
hz_mqtt_pub "hazard/v1/readings/$SB/$DB" "$(hz_reading loop-b2 "$DB" METRIC_SMOKE 12)"
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "{\"eventId\":\"loop-d2\",\"observedAt\":\"$(hz_now)\",\"deviceId\":\"$DA\",\"metric\":\"METRIC_SMOKE\",\"value\":3,\"mode\":\"MODE_EXERCISE\"}"
hz_wait_for "[ \"\$(hz_q \"select event_count from hazard.tickets where ticket_id = $B\")\" = $((NB + 1)) ]" 20 "a reading joins B"
hz_wait_for "[ \"\$(hz_q \"select event_count from hazard.tickets where ticket_id = $D\")\" = $((ND + 1)) ]" 20 "a drill reading joins D"
hz_wait_for "[ -n \"\$(joined $B)\" ] && [ -n \"\$(joined $D)\" ]" 20 "the joined TicketEvents of B and D"
hz_assert_match "$(joined "$B")" "\"assignee\":\"$(hz_q "select assignee from hazard.tickets where ticket_id = $B")\".*\"reopenedCount\":1" "a rule-driven TicketEvent carries the assignee and the reopen"
hz_assert_match "$(joined "$D")" "\"ackedBy\":\"$GA\"" "a rule-driven TicketEvent carries the acknowledger"

# ---- outputs: TicketEvents, CommandResults (Kafka and MQTT), log lines
hz_kafka_consume "$T_TICKETS" 1 10 >/dev/null || true
TK=$(hz_tmp)/tickets.out
hz_wait_for "[ \"\$(kcat -b \"$HZ_KAFKA_BROKERS\" -C -t \"$T_TICKETS\" -o beginning -e -q -f '%k %s\n' 2>/dev/null | tee \"$TK\" | grep -c '\"change\":\"\(confirmed\|controlled\|closed\|rectifying\|verified\|acked\|reopened\|comment\)\"')\" -ge 12 ]" 20 "TicketEvents of the commands on $T_TICKETS"
hz_assert_grep "$TK" "^$A .*\"change\":\"confirmed\".*\"actor\":\"$TP\"" "A's confirm on the tickets topic"
hz_assert_grep "$TK" "^$H .*\"state\":\"STATE_CLOSED\".*\"change\":\"verified\"" "H's verify on the tickets topic, whole ticket"
hz_assert_grep "$TK" "^$B .*\"change\":\"reopened\"" "B's hazardctl reopen on the tickets topic"
hz_assert_grep "$TK" "^$D .*\"mode\":\"MODE_EXERCISE\".*\"change\":\"acked\"" "the drill's outputs carry its mode"
RS=$(hz_tmp)/results.out
hz_wait_for "[ \"\$(kcat -b \"$HZ_KAFKA_BROKERS\" -C -t \"$T_RESULTS\" -o beginning -e -q -f '%k %s\n' 2>/dev/null | tee \"$RS\" | grep -c .)\" -ge 25 ]" 20 "CommandResults on $T_RESULTS"
hz_assert_grep "$RS" '^m-nobody .*"outcome":"OUTCOME_REFUSED".*"reason":"unknown actor' "a refused result keyed by command id"
hz_assert_grep "$RS" '^ctl-close-b .*"outcome":"OUTCOME_APPLIED"' "a hazardctl result on the results topic"
hz_assert_grep "$RS" '^m-drill-ack .*"mode":"MODE_EXERCISE"' "the drill's result carries its mode"
hz_wait_for "grep -q \"^hazard/v1/out/results/$TP2 .*k-ver-h\" \"$MQ\"" 10 "results on MQTT hazard/v1/out/results/<actor>"
hz_assert_grep "$MQ" "^hazard/v1/out/results/x_y_z .*unknown actor" "an actor id cannot change the results topic's shape"
hz_assert_grep "$MQ" "^hazard/v1/out/results/$OT .*not on the chain" "a hazardctl refusal on MQTT, to its actor"
hz_assert_grep "$MQ" "^hazard/v1/out/tickets/$TOWN .*\"change\":\"verified\"" "TicketEvents on MQTT"
hz_assert_grep "$HZ_ESC_LOG" "\"type\":\"ticket\".*\"change\":\"verified\",\"ticket_id\":$H,.*\"actor\":\"$TP2\"" "verify in the escalation log"
hz_assert_grep "$HZ_ESC_LOG" "\"type\":\"command\".*\"command_id\":\"k-ver-self\",\"outcome\":\"refused\"" "refusals in the escalation log"
hz_assert_grep "$HZ_ESC_LOG" "\"type\":\"ticket\".*\"change\":\"reopened\",\"ticket_id\":$B,.*\"actor\":\"$CP\"" "hazardctl changes in the escalation log"
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 20 "outbox drained"
# the commands' history rows are chained like every other (sql/014)
V=$("$CTL" verify) || hz_fail "the history chain is broken: $V"
hz_stop_daemon
hz_assert_eq 0 "$HZ_DAEMON_STATUS" "daemon exit status"
# stopped, nothing changes: a dashboard reading only the tickets topic has
# every ticket as the table does
hz_check_rebuild "$T_TICKETS" 4

#!/usr/bin/env bash
# hz-timeout: 240
# Dispatch names a registered assignee, and a reopen restarts call-and-respond.
#
# (a) dispatch: an unknown assignee is refused with its reason (hazardctl
#     exit 1 and stderr; an MQTT and a Kafka command get a refused
#     CommandResult on the results topics, logged) and changes nothing; a
#     rescue unit of another county is refused; a micro station, a person
#     and an org unit of the ticket's county are applied, recorded with
#     their kind (tickets.assignee_kind, the history and the result say
#     "dispatched to micro station ...").
# (b) reopen: a red alarm escalates grid -> town, is closed by the county,
#     and is reopened: the acknowledgement is cleared (kept in
#     hazard.ticket_rounds), a new deadline is set from the rules at its
#     tier (town, 3 s), shown in the history row, the TicketEvent
#     (ticket.ackDueAt) and the log line; nobody answers, so it escalates to the
#     county after that deadline (round 1); an acknowledgement stops it. The
#     call-and-respond figures judge each step within its round.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"
hz_require kcat mosquitto_sub jq

RULES=$(hz_tmp)/rules.yaml
hz_red_rules "$RULES" 3s 3s 3s 10m 10m
HZ_RULES=$RULES hz_pipeline_setup
T_RESULTS=$(hz_kafka_topic hazard.command-results 2)
cat >>"$HZ_CONF" <<CONF
kafka.topic.results = $T_RESULTS
kafka.out_format = json
CONF
# hazardctl reads the daemon's rules (reopen) from its config
export HAZARDD_CONFIG=$HZ_CONF HAZARDD_KAFKA_TOPIC_TICKETS=$T_TICKETS HAZARDD_KAFKA_TOPIC_RESULTS=$T_RESULTS
CTL=$HZ_BUILD/hazardctl

# Two smoke detectors at two non-major sites of one town: R for the reopen
# (red), D for the dispatches (not red: nothing escalates while we drive it).
read -r DR SR TOWN COUNTY < <(hz_q "select d.device_id, d.site_id, s.town_code, s.county_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' order by d.device_id limit 1" -F ' ')
read -r DD SD < <(hz_q "select d.device_id, d.site_id from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' and s.town_code = '$TOWN' and d.site_id <> '$SR' order by d.device_id limit 1" -F ' ')
TP=$(hz_q "select person_id from hazard.people where org_code = '$TOWN' and tier = 'town' order by 1 limit 1")
CP=$(hz_q "select person_id from hazard.people where org_code = '$COUNTY' and tier = 'county' order by 1 limit 1")
# the assignees: a micro station of this county, one person, an org unit, and
# a unit of another county (codes extend their parent's)
read -r MS MS_NAME < <(hz_q "select unit_id, name from hazard.rescue_units where kind = 'micro_station' and org_code like '$COUNTY%' order by 1 limit 1" -F ' ')
read -r FAR FAR_ORG < <(hz_q "select unit_id, org_code from hazard.rescue_units where org_code not like '$COUNTY%' order by 1 limit 1" -F ' ')
GP=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.org_code where s.site_id = '$SD' order by 1 limit 1")
for v in DR SR TOWN COUNTY DD SD TP CP MS MS_NAME FAR FAR_ORG GP; do [ -n "${!v}" ] || hz_fail "registry has no $v"; done
hz_log "town $TOWN county $COUNTY; micro station $MS, far unit $FAR ($FAR_ORG), person $GP"

MQ=$(hz_tmp)/mqtt.out
mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -v -t 'hazard/v1/out/results/#' >"$MQ" 2>/dev/null &
SUB_PID=$!
hz_on_exit "kill $SUB_PID 2>/dev/null"
hz_pipeline_start

nhist() { hz_q "select count(*) from hazard.ticket_history where ticket_id = $1"; }
assignee() { hz_q "select coalesce(assignee, '-') || '|' || coalesce(assignee_kind, '-') from hazard.tickets where ticket_id = $1"; }
last_reason() { hz_q "select reason from hazard.ticket_history where ticket_id = $1 order by seq desc limit 1"; }

"$CTL" dispatch --help >"$(hz_tmp)/help.out" || hz_fail "dispatch --help failed"
hz_assert_grep "$(hz_tmp)/help.out" "is not a registered rescue unit, brigade" "dispatch --help says what an assignee must be"
"$CTL" reopen --help >"$(hz_tmp)/help.out" || hz_fail "reopen --help failed"
hz_assert_grep "$(hz_tmp)/help.out" "Restarts call-and-respond" "reopen --help says it restarts call-and-respond"

# ---- (a) dispatch
hz_mqtt_pub "hazard/v1/readings/$SD/$DD" "$(hz_reading asg-d1 "$DD" METRIC_SMOKE 3)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SD'\")\" = 1 ]" 20 "alarm D"
D=$(hz_q "select ticket_id from hazard.tickets where site_id='$SD'")
N=$(nhist "$D")
RC=0
"$CTL" dispatch "$D" --actor "$TP" --assignee xyz 2>"$(hz_tmp)/xyz.err" >/dev/null || RC=$?
hz_assert_eq 1 "$RC" "hazardctl dispatch to an unknown assignee exits 1"
hz_assert_grep "$(hz_tmp)/xyz.err" 'dispatch refused: assignee "xyz" is not a registered rescue unit, brigade, person or org unit' "hazardctl: the reason"
RC=0
"$CTL" dispatch "$D" --actor "$TP" --assignee "$FAR" 2>"$(hz_tmp)/far.err" >/dev/null || RC=$?
hz_assert_eq 1 "$RC" "hazardctl dispatch to another county's unit exits 1"
hz_assert_grep "$(hz_tmp)/far.err" "$FAR .* of $FAR_ORG is outside county $COUNTY of ticket $D" "another county's unit: the reason"
hz_mqtt_cmd m-xyz DISPATCH "$D" "$TP" '"assignee":"xyz"'
hz_kafka_cmd k-xyz DISPATCH "$D" "$TP" '"assignee":"no-such-brigade"'
hz_wait_cmd m-xyz
hz_wait_cmd k-xyz
hz_assert_eq 'refused|assignee "xyz" is not a registered rescue unit, brigade, person or org unit' "$(hz_cmd_outcome m-xyz)" "MQTT dispatch to an unknown assignee refused"
hz_assert_eq 'refused|assignee "no-such-brigade" is not a registered rescue unit, brigade, person or org unit' "$(hz_cmd_outcome k-xyz)" "Kafka dispatch to an unknown assignee refused"
hz_assert_eq "-|-|$N" "$(assignee "$D")|$(nhist "$D")" "refused dispatches change nothing"
hz_assert_eq "" "$(hz_q "select acked_at from hazard.tickets where ticket_id = $D")" "a refused dispatch does not acknowledge"

"$CTL" dispatch "$D" --actor "$TP" --assignee "$MS" >"$(hz_tmp)/ms.out" || hz_fail "dispatch to the micro station failed"
hz_assert_grep "$(hz_tmp)/ms.out" "ticket $D dispatched to micro station $MS \\($MS_NAME\\)" "hazardctl prints what the assignee is"
hz_assert_eq "$MS|micro_station" "$(assignee "$D")" "assignee and its kind on the ticket"
hz_assert_eq "dispatched to micro station $MS ($MS_NAME)" "$(last_reason "$D")" "the history row names the micro station"
hz_assert_eq "$MS|dispatch" "$(hz_q "select assignee || '|' || action from hazard.ticket_history where ticket_id = $D order by seq desc limit 1")" "the history row's assignee"
hz_assert_eq "$TP" "$(hz_q "select acked_by from hazard.tickets where ticket_id = $D")" "a dispatch acknowledges"
hz_mqtt_cmd m-person DISPATCH "$D" "$TP" "\"assignee\":\"$GP\",\"note\":\"grid inspector on foot\""
hz_wait_cmd m-person
hz_assert_match "$(hz_cmd_outcome m-person)" "^applied\|" "MQTT dispatch to a person applied"
hz_assert_eq "$GP|person" "$(assignee "$D")" "a person as the assignee"
hz_assert_match "$(last_reason "$D")" "^dispatched to person $GP \(.+\): grid inspector on foot$" "the history row names the person, with the note"
hz_kafka_cmd k-org DISPATCH "$D" "$TP" "\"assignee\":\"$TOWN\""
hz_wait_cmd k-org
hz_assert_eq "$TOWN|org_unit" "$(assignee "$D")" "an org unit as the assignee"
# results: the refusal and the kind, on both results topics; the log
RS=$(hz_tmp)/results.out
hz_wait_for "[ \"\$(kcat -b \"$HZ_KAFKA_BROKERS\" -C -t \"$T_RESULTS\" -o beginning -e -q -f '%k %s\n' 2>/dev/null | tee \"$RS\" | grep -c .)\" -ge 6 ]" 20 "CommandResults on $T_RESULTS"
hz_assert_grep "$RS" '^m-xyz .*"outcome":"OUTCOME_REFUSED".*"reason":"assignee \\"xyz\\" is not a registered rescue unit' "the MQTT refusal's CommandResult on Kafka"
hz_assert_grep "$RS" '^k-xyz .*"outcome":"OUTCOME_REFUSED".*no-such-brigade' "the Kafka refusal's CommandResult"
hz_assert_grep "$RS" "^m-person .*\"outcome\":\"OUTCOME_APPLIED\".*\"reason\":\"ticket $D dispatched to person $GP" "an applied result says what the assignee is"
hz_wait_for "grep -q \"^hazard/v1/out/results/$TP .*assignee .*xyz.* is not a registered rescue unit\" \"$MQ\"" 10 "the refusal on MQTT hazard/v1/out/results/<actor>"
hz_wait_log "$HZ_ESC_LOG" "\"type\":\"command\".*\"command_id\":\"m-xyz\",\"outcome\":\"refused\".*is not a registered rescue unit" 10 "the refusal in the escalation log"

# ---- (b) reopen restarts call-and-respond
hz_mqtt_pub "hazard/v1/readings/$SR/$DR" "$(hz_reading asg-r1 "$DR" METRIC_SMOKE 12)"
hz_wait_for "[ \"\$(hz_q \"select tier from hazard.tickets where site_id='$SR'\")\" = town ]" 20 "alarm R escalated grid -> town"
R=$(hz_q "select ticket_id from hazard.tickets where site_id='$SR'")
"$CTL" close "$R" --actor "$CP" --reason "smouldering cable cut off" >/dev/null || hz_fail "the county's close of R failed"
hz_assert_eq "closed|$CP|true" "$(hz_q "select state || '|' || acked_by || '|' || (ack_due_at is null) from hazard.tickets where ticket_id = $R")" "R closed (and acknowledged) by the county"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.escalations where ticket_id = $R")" "round 0: one step"
RC=0
HAZARDD_CONFIG=$(hz_tmp)/none.conf "$CTL" reopen "$R" --actor "$CP" --reason x 2>"$(hz_tmp)/norules.err" || RC=$?
hz_assert_eq 1 "$RC" "reopen without the daemon's rules exits 1"
hz_assert_grep "$(hz_tmp)/norules.err" "reopen needs hazardd's rules for the new acknowledgement deadline: could not open config file" "and says why"
hz_assert_eq closed "$(hz_q "select state from hazard.tickets where ticket_id = $R")" "and changes nothing"
"$CTL" reopen "$R" --actor "$CP" --reason "smoke again" -c "$HZ_CONF" --command-id ctl-reopen-r >"$(hz_tmp)/reopen.out" || hz_fail "reopen failed"
T_REOPEN=$(svc_now_ms)
DUE0=$(hz_q "select to_char(ack_due_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') from hazard.tickets where ticket_id = $R")
hz_assert_grep "$(hz_tmp)/reopen.out" "closed -> confirmed; call-and-respond restarted at tier town: acknowledgement due by .*; the acknowledgement by $CP cleared" "hazardctl prints the restart"
hz_assert_eq "confirmed|town|1|||true" "$(hz_q "select state || '|' || tier || '|' || reopened_count || '|' || coalesce(acked_at::text, '') || '|' || coalesce(acked_by, '') || '|' || (ack_due_at is not null) from hazard.tickets where ticket_id = $R")" "reopened: acknowledgement cleared, a new deadline"
DUE_IN=$(hz_q "select extract(epoch from t.ack_due_at - h.at) from hazard.tickets t join hazard.ticket_history h using (ticket_id) where t.ticket_id = $R and h.action = 'reopen'")
awk -v d="$DUE_IN" 'BEGIN { exit !(d > 2.5 && d < 3.5) }' || hz_fail "the new deadline is ${DUE_IN}s after the reopen (want the town's 3 s)"
hz_assert_eq "0|$CP|true" "$(hz_q "select round || '|' || acked_by || '|' || (ended_at is not null) from hazard.ticket_rounds where ticket_id = $R")" "round 0's acknowledgement kept"
hz_assert_match "$(last_reason "$R")" "^smoke again \(call-and-respond restarted at tier town: acknowledgement due by [0-9T:.-]+Z; the acknowledgement by $CP cleared\)$" "the history row shows the restart"
# the TicketEvent: the ticket unacknowledged, the new deadline
TK=$(hz_tmp)/tickets.out
hz_wait_for "kcat -b \"$HZ_KAFKA_BROKERS\" -C -t \"$T_TICKETS\" -o beginning -e -q -f '%k %s\n' 2>/dev/null >\"$TK\"; grep -q '^$R .*\"change\":\"reopened\"' \"$TK\"" 15 "the reopen's TicketEvent"
grep "^$R .*\"change\":\"reopened\"" "$TK" | head -1 | cut -d' ' -f2- >"$(hz_tmp)/te.json"
hz_assert_eq "STATE_CONFIRMED|null|true|true" "$(jq -r '"\(.ticket.state)|\(.ticket.ackedAt)|\(.ticket.ackDueAt != null)|\(.reason | test("call-and-respond restarted at tier town"))"' "$(hz_tmp)/te.json")" "TicketEvent: confirmed, not acknowledged, ackDueAt, the reason"
hz_assert_eq "${DUE0:0:19}" "$(jq -r '.ticket.ackDueAt[0:19]' "$(hz_tmp)/te.json")" "the TicketEvent's ticket.ackDueAt is the new ack_due_at"
hz_assert_grep "$(hz_tmp)/reopen.out" "acknowledgement due by $DUE0" "the deadline hazardctl prints is ack_due_at"
hz_wait_log "$HZ_ESC_LOG" "\"type\":\"ticket\".*\"change\":\"reopened\",\"ticket_id\":$R,.*\"ack_deadline\":\"" 10 "the reopen's log line carries the deadline"
# nobody answers: the county is called after the town's 3 s (round 1)
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.escalations where ticket_id = $R and tier = 'county'\")\" = 1 ]" 10 "reopened R escalated town -> county"
T_STEP=$(svc_now_ms)
hz_log "reopen -> county step seen after $((T_STEP - T_REOPEN)) ms"
hz_assert_eq "county|0|1" "$(hz_q "select tier || '|' || repeat || '|' || round from hazard.escalations where ticket_id = $R and tier = 'county'")" "the step is round 1's"
LATE=$(hz_q "select extract(epoch from e.at - (select h.at from hazard.ticket_history h where h.ticket_id = e.ticket_id and h.action = 'reopen')) - 3 from hazard.escalations e where e.ticket_id = $R and e.tier = 'county'")
hz_log "the county step ${LATE}s after the reopen's deadline"
awk -v l="$LATE" 'BEGIN { exit !(l > -0.1 && l < 1.0) }' || hz_fail "the county step was ${LATE}s off the reopen's deadline"
hz_assert_eq "county|true" "$(hz_q "select tier || '|' || (ack_due_at > now()) from hazard.tickets where ticket_id = $R")" "R at the county with its next deadline"
hz_wait_log "$HZ_ESC_LOG" "\"type\":\"escalation\".*\"ticket_id\":$R,.*\"tier\":\"county\"" 10 "the county step in the escalation log"
# the county answers: the climb stops (the county's deadline is 3 s too)
hz_mqtt_cmd m-ack-r ACK "$R" "$CP" '"note":"county on it"'
hz_wait_cmd m-ack-r
hz_assert_eq "applied|" "$(hz_cmd_outcome m-ack-r)" "the reopened ticket can be acknowledged again"
sleep 4
hz_assert_eq "2|0" "$(hz_q "select count(*) || '|' || count(*) filter (where tier = 'city') from hazard.escalations where ticket_id = $R")" "no step after the acknowledgement"
# the figures judge each step within its round: the town step was answered
# by the close (round 0), the county step by the ack (round 1)
"$CTL" tickets show "$R" --json >"$(hz_tmp)/showR.json" || hz_fail "tickets show R failed"
hz_assert_eq "town:answered county:answered" "$(jq -r '[.escalations[] | "\(.tier):\(.outcome)"] | join(" ")' "$(hz_tmp)/showR.json")" "tickets show: each step's outcome in its round"
hz_assert_eq "town|0|answered county|1|answered" "$(hz_q "select string_agg(tier || '|' || round || '|' || outcome, ' ' order by at) from hazard.v_escalation_steps where ticket_id = $R")" "v_escalation_steps: each step's outcome in its round"
hz_assert_eq t "$(hz_q "select v.acked_at = r.acked_at from hazard.v_time_to_ack v join hazard.ticket_rounds r using (ticket_id) where v.ticket_id = $R and r.round = 0")" "v_time_to_ack counts to the first acknowledgement"
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 20 "outbox drained"
V=$("$CTL" verify) || hz_fail "the history chain is broken: $V"
hz_stop_daemon
hz_assert_eq 0 "$HZ_DAEMON_STATUS" "daemon exit status"
# stopped: the tickets topic alone gives every ticket as the table has it,
# the reopened one's new round included
hz_check_rebuild "$T_TICKETS" 2

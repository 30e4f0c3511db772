#!/usr/bin/env bash
# hz-timeout: 180
# Call-and-respond with second-scale deadlines: an unacknowledged red
# alarm climbs grid -> town -> county, each step within a second of its
# deadline, naming the duty people of the unit called; an acknowledgement
# stops the climb; a daemon killed with -9 before a deadline and started
# after it escalates at once, and exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
# the shipped rules with second-scale deadlines instead of their escalation section
hz_red_rules "$RULES" 2s 2s 2s 2s 2s
HZ_RULES=$RULES hz_pipeline_setup
echo "kafka.out_format = json" >>"$HZ_CONF" # for hz_check_rebuild
read -r DA SA TA < <(hz_q "select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' order by d.device_id limit 1" -F ' ')
read -r DB SB < <(hz_q "select d.device_id, d.site_id from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' and d.site_id <> '$SA' order by d.device_id limit 1" -F ' ')
read -r DC SC < <(hz_q "select d.device_id, d.site_id from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' and d.site_id not in ('$SA', '$SB') order by d.device_id limit 1" -F ' ')
hz_pipeline_start
esc() { hz_q "select count(*) from hazard.escalations e join hazard.tickets t using (ticket_id) where t.site_id = '$1' and e.tier = '$2'"; }

# --- A: red smoke, nobody answers (and C, which nobody ever answers: it
# climbs to the city and repeats there until the end)
hz_mqtt_pub "hazard/v1/readings/$SC/$DC" "$(hz_reading esc-c1 "$DC" METRIC_SMOKE 12)"
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(hz_reading esc-a1 "$DA" METRIC_SMOKE 12)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SA' and ack_due_at is not null\")\" = 1 ]" 20 "ticket A with an ack deadline"
TA_ID=$(hz_q "select ticket_id from hazard.tickets where site_id='$SA'")
hz_assert_eq grid "$(hz_q "select tier from hazard.tickets where ticket_id=$TA_ID")" "A starts at the grid tier"
hz_wait_for "[ \$(esc $SA town) = 1 ]" 10 "A escalated to town"
hz_wait_for "[ \$(esc $SA county) = 1 ]" 10 "A escalated to county"
# each step within a second of its deadline (2 s after the previous one)
LATE=$(hz_q "select max(d) from (select extract(epoch from e.at - coalesce(lag(e.at) over (order by e.at), t.opened_at)) - 2 as d from hazard.escalations e join hazard.tickets t using (ticket_id) where e.ticket_id = $TA_ID and e.tier in ('town','county')) x")
hz_log "A: worst step lateness ${LATE}s"
awk -v l="$LATE" 'BEGIN { exit !(l >= 0 && l < 1.0) }' || hz_fail "an escalation step was ${LATE}s off its deadline (want 0..1 s)"
hz_assert_eq "$TA" "$(hz_q "select org_code from hazard.escalations where ticket_id=$TA_ID and tier='town'")" "the town step calls the site's town"
hz_assert_grep "$HZ_ESC_LOG" "\"type\":\"escalation\".*\"ticket_id\":$TA_ID,.*\"tier\":\"town\",\"org_unit\":\"$TA\",\"duty\":\\[\"[^]]+" "escalation log line naming the town's duty people"
hz_assert_eq county "$(hz_q "select tier from hazard.tickets where ticket_id=$TA_ID")" "A's tier is county"
# an acknowledgement stops the climb; the actor is a person of the registry on
# the ticket's chain (the site's county)
CA=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.county_code where s.site_id = '$SA' and p.tier = 'county' order by 1 limit 1")
"$HZ_BUILD/hazardctl" ack "$TA_ID" --actor "$CA" --note "on it" >/dev/null || hz_fail "hazardctl ack failed"
N_A=$(hz_q "select count(*) from hazard.escalations where ticket_id=$TA_ID")
if "$HZ_BUILD/hazardctl" ack "$TA_ID" --actor "$CA" 2>"$(hz_tmp)/ack2.err"; then hz_fail "a second ack was accepted"; fi
hz_assert_grep "$(hz_tmp)/ack2.err" "already acknowledged" "a second ack is refused with its reason"
sleep 4
hz_assert_eq "$N_A" "$(hz_q "select count(*) from hazard.escalations where ticket_id=$TA_ID")" "no escalation after the acknowledgement"
hz_assert_eq "$CA" "$(hz_q "select actor from hazard.ticket_history where ticket_id=$TA_ID order by seq desc limit 1")" "the ack is in the history"

# --- B: the daemon dies before the deadline and comes back after it
hz_mqtt_pub "hazard/v1/readings/$SB/$DB" "$(hz_reading esc-b1 "$DB" METRIC_SMOKE 12)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SB'\")\" = 1 ]" 20 "ticket B"
hz_kill_daemon "$HZ_DAEMON_PID" KILL
TB_ID=$(hz_q "select ticket_id from hazard.tickets where site_id='$SB'")
hz_assert_eq 0 "$(hz_q "select count(*) from hazard.escalations where ticket_id=$TB_ID")" "B not escalated before the kill"
sleep 3 # B's 2 s deadline passes while nobody runs
RESTART=$(hz_q "select now()")
hz_start_daemon "$HZ_CONF" "$HZ_DLOG"
hz_wait_for "[ \$(esc $SB town) = 1 ]" 10 "B escalated after the restart"
AFTER=$(hz_q "select extract(epoch from (select at from hazard.escalations where ticket_id=$TB_ID and tier='town') - '$RESTART'::timestamptz)")
hz_log "B: escalated ${AFTER}s after the restart"
awk -v l="$AFTER" 'BEGIN { exit !(l >= 0 && l < 5) }' || hz_fail "B escalated ${AFTER}s after the restart"
hz_wait_for "[ \$(esc $SB county) = 1 ]" 10 "B climbs on"
CB=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.county_code where s.site_id = '$SB' and p.tier = 'county' order by 1 limit 1")
"$HZ_BUILD/hazardctl" ack "$TB_ID" --actor "$CB" >/dev/null
sleep 1
hz_assert_eq 1 "$(esc "$SB" town)" "B escalated to town exactly once"
# outputs: EscalationNotices on the Kafka topic, keyed by ticket; delivered
# outputs leave the outbox
hz_kafka_consume "$T_ESCALATIONS" 4 20 -f '%k\n' >"$(hz_tmp)/esc-keys" || hz_fail "fewer than 4 EscalationNotices on $T_ESCALATIONS"
grep -qx "$TA_ID" "$(hz_tmp)/esc-keys" || hz_fail "no EscalationNotice keyed by ticket $TA_ID"
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 20 "outbox drained"
hz_stop_daemon
hz_assert_eq "city|true" "$(hz_q "select tier || '|' || (escalation_repeat > 0) from hazard.tickets where site_id = '$SC'")" "C climbed to the city and repeats there"
# nothing changes any more: the topic alone must give the table, C's
# tier, repeat count and next call included
hz_check_rebuild "$T_TICKETS" 3
# a step is one log line, its notice: its TicketEvent adds none
hz_assert_no_grep "$HZ_ESC_LOG" '"type":"ticket".*"change":"(escalated|overdue)"' "an escalation step wrote a second (ticket) log line"

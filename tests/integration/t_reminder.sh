#!/usr/bin/env bash
# hz-timeout: 180
# Close-out reminders with second-scale durations (close-out 6 s,
# reminders [4s, 2s]): each fires once, within a second of its time, as a
# history row (state unchanged), a TicketEvent with change "reminder" on
# Kafka and MQTT, and an escalation-log line; a reminder already past when
# the ticket opens is skipped; a daemon killed with -9 before a reminder
# time and started after it sends that reminder at once, and once; a
# closed-out-by-risk-grade deadline (closeout_by_risk) is used for a
# major-risk site.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
sed -e 's/^  other: .*/  other: {level: blue, closeout: 6s, closeout_by_risk: {major: 3s}, tier: grid}/' \
	-e 's/^  expired_extinguisher: .*/  expired_extinguisher: {level: blue, closeout: 9s, tier: grid}/' \
	-e 's/^  illegal_wiring: .*/  illegal_wiring: {level: blue, closeout: 3s, tier: grid}/' \
	-e 's/^  closeout_reminders: .*/  closeout_reminders: [4s, 2s]/' \
	"$HZ_SRC/deploy/rules.yaml" >"$RULES"
grep -q 'closeout_reminders: \[4s, 2s\]' "$RULES" || hz_fail "could not set the reminders"
grep -q 'closeout: 9s' "$RULES" || hz_fail "could not shorten the close-out deadlines"
HZ_RULES=$RULES hz_pipeline_setup
echo "kafka.out_format = json" >>"$HZ_CONF"
read -r SA TOWN < <(hz_q "select site_id, town_code from hazard.sites where risk_grade <> 'major' order by site_id limit 1" -F ' ')
SB=$(hz_q "select site_id from hazard.sites where risk_grade <> 'major' and site_id <> '$SA' order by site_id limit 1")
SM=$(hz_q "select site_id from hazard.sites where risk_grade = 'major' order by site_id limit 1")
hz_pipeline_start

report() { # ID SITE CATEGORY
	hz_mqtt_pub "hazard/v1/reports/$(hz_q "select town_code from hazard.sites where site_id='$2'")" \
		"{\"eventId\":\"$1\",\"observedAt\":\"$(date -u +%FT%T.%3NZ)\",\"siteId\":\"$2\",\"inspectorId\":\"grid-07\",\"category\":\"$3\",\"description\":\"test\"}"
}
tid() { hz_q "select ticket_id from hazard.tickets where site_id='$1' and kind='hazard'"; }
reminders() { hz_q "select count(*) from hazard.closeout_reminders where ticket_id=$1"; }

# --- A: 6 s close-out, reminders at -4 s and -2 s
hz_mqtt_sub "hazard/v1/out/tickets/$TOWN" 3 30 >"$(hz_tmp)/mqtt-a" &
SUB=$!
sleep 0.5
report rem-a1 "$SA" HAZARD_CATEGORY_OTHER
hz_wait_for "[ -n \"\$(tid $SA)\" ]" 20 "ticket A"
TA=$(tid "$SA")
hz_assert_eq 4000000 "$(hz_q "select reminder_before_us from hazard.tickets where ticket_id=$TA")" "A's first reminder is the 4 s one"
hz_wait_for "[ \$(reminders $TA) = 2 ]" 15 "both reminders of A"
LATE=$(hz_q "select max(extract(epoch from at - due_at)) from hazard.closeout_reminders where ticket_id=$TA")
EARLY=$(hz_q "select min(extract(epoch from at - due_at)) from hazard.closeout_reminders where ticket_id=$TA")
hz_log "A: reminders ${EARLY}..${LATE}s after their time"
awk -v l="$LATE" -v e="$EARLY" 'BEGIN { exit !(e >= 0 && l < 1.0) }' || hz_fail "a reminder was ${EARLY}..${LATE}s off its time (want 0..1 s)"
hz_assert_eq "4000000,2000000" "$(hz_q "select string_agg(before_us::text, ',' order by at) from hazard.closeout_reminders where ticket_id=$TA")" "the 4 s reminder, then the 2 s one"
DL=$(hz_q "select to_char(deadline_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') from hazard.tickets where ticket_id=$TA")
hz_assert_eq 2 "$(hz_q "select count(*) from hazard.ticket_history where ticket_id=$TA and reason like 'close-out deadline in _s (at $DL%' and from_state = to_state")" "two history rows, state unchanged, naming the deadline"
hz_assert_eq "discovered" "$(hz_q "select state from hazard.tickets where ticket_id=$TA")" "a reminder does not change the state"
hz_wait_log "$HZ_ESC_LOG" "\"change\":\"reminder\".*\"ticket_id\":$TA,.*close-out deadline in 2s" 5 "the 2 s reminder in the escalation log"
hz_assert_eq 2 "$(grep -c "\"change\":\"reminder\".*\"ticket_id\":$TA," "$HZ_ESC_LOG")" "two reminder lines in the escalation log"
wait "$SUB" || true
hz_assert_eq 2 "$(grep -c '"change":"reminder"' "$(hz_tmp)/mqtt-a")" "two reminders on MQTT"
hz_kafka_consume "$T_TICKETS" 3 20 -f '%k %s\n' >"$(hz_tmp)/kafka-a" || true
hz_assert_eq 2 "$(grep "^$TA " "$(hz_tmp)/kafka-a" | grep -c '"reminder"')" "two reminders on Kafka, keyed by the ticket"
# the deadline passes: the overdue step takes over, no more reminders
hz_wait_for "[ -n \"\$(hz_q \"select overdue_at from hazard.tickets where ticket_id=$TA\")\" ]" 10 "A overdue"
hz_assert_eq "" "$(hz_q "select reminder_due_at from hazard.tickets where ticket_id=$TA")" "no reminder left on A"

# --- C: a 3 s close-out: the 4 s reminder is already past when it opens
report rem-c1 "$SB" HAZARD_CATEGORY_ILLEGAL_WIRING
hz_wait_for "[ -n \"\$(tid $SB)\" ]" 20 "ticket C"
TC=$(tid "$SB")
hz_assert_eq 2000000 "$(hz_q "select reminder_before_us from hazard.tickets where ticket_id=$TC")" "C skips the past 4 s reminder"
hz_wait_for "[ \$(reminders $TC) = 1 ]" 10 "C's 2 s reminder"

# --- M: a major-risk site takes closeout_by_risk (3 s, not 6 s)
report rem-m1 "$SM" HAZARD_CATEGORY_OTHER
hz_wait_for "[ -n \"\$(tid $SM)\" ]" 20 "ticket M"
GAP=$(hz_q "select extract(epoch from deadline_at - opened_at) from hazard.tickets where ticket_id=$(tid "$SM")")
awk -v g="$GAP" 'BEGIN { exit !(g > 1.5 && g <= 3.2) }' || hz_fail "M's deadline is ${GAP}s after opening, want about 3 s"

# --- B: 9 s close-out (reminders at +5 s, +7 s); the daemon dies at
# once and comes back after the first reminder time
SD=$(hz_q "select site_id from hazard.sites where risk_grade <> 'major' and site_id not in ('$SA','$SB') order by site_id limit 1")
report rem-b1 "$SD" HAZARD_CATEGORY_EXPIRED_EXTINGUISHER
hz_wait_for "[ -n \"\$(tid $SD)\" ]" 20 "ticket B"
TB=$(tid "$SD")
hz_kill_daemon "$HZ_DAEMON_PID" KILL
hz_assert_eq 0 "$(reminders "$TB")" "no reminder of B before the kill"
hz_wait_for "[ \"\$(hz_q \"select now() > reminder_due_at + interval '0.3 s' from hazard.tickets where ticket_id=$TB\")\" = t ]" 15 "B's first reminder time passing while nobody runs"
RESTART=$(hz_q "select now()")
hz_start_daemon "$HZ_CONF" "$HZ_DLOG"
hz_wait_for "[ \$(reminders $TB) -ge 1 ]" 15 "B's reminder after the restart"
AFTER=$(hz_q "select extract(epoch from (select at from hazard.closeout_reminders where ticket_id=$TB and before_us = 4000000) - '$RESTART'::timestamptz)")
hz_log "B: the 4 s reminder ${AFTER}s after the restart"
awk -v l="$AFTER" 'BEGIN { exit !(l >= 0 && l < 5) }' || hz_fail "B's reminder came ${AFTER}s after the restart"
hz_wait_for "[ \$(reminders $TB) = 2 ]" 10 "B's 2 s reminder"
sleep 3
hz_assert_eq "4000000:1,2000000:1" "$(hz_q "select string_agg(before_us || ':' || n, ',' order by before_us desc) from (select before_us, count(*) n from hazard.closeout_reminders where ticket_id=$TB group by 1) x")" "each of B's reminders once"
hz_assert_eq 2 "$(hz_q "select count(*) from hazard.ticket_history where ticket_id=$TB and reason like 'close-out deadline in%'")" "two reminder history rows for B"
hz_assert_eq 2 "$(grep -c "\"change\":\"reminder\".*\"ticket_id\":$TB," "$HZ_ESC_LOG")" "two reminder log lines for B, none repeated by the restart"
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 20 "outbox drained"
hz_stop_daemon

#!/usr/bin/env bash
# hz-timeout: 120
# Upstream warnings (CAP-style): an alert opens a warning ticket for each
# area; an update (referencing the alert) changes level and expiry in
# place, down as well as up; a cancel closes the tickets, with history,
# and the closing is published.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

hz_pipeline_setup
echo "kafka.out_format = json" >>"$HZ_CONF" # for hz_check_rebuild
mapfile -t TOWNS < <(hz_q "select code from hazard.org_units where level = 'town' order by code limit 2")
T1=${TOWNS[0]} T2=${TOWNS[1]}
hz_pipeline_start
now=$(date -u +%FT%TZ)
exp1=$(date -u -d '+6 hours' +%FT%TZ)
exp2=$(date -u -d '+12 hours' +%FT%TZ)
warn() { # id type level expires refs areas
	printf '{"eventId":"%s","sentAt":"%s","warningId":"%s","type":"%s","references":[%s],"areaCodes":[%s],"hazardType":"rainstorm","level":"%s","expires":"%s","sender":"city-met","headline":"rainstorm %s"}' \
		"ev-$1" "$now" "$1" "$2" "$5" "$6" "$3" "$4" "$3"
}
wt() { hz_q "select $2 from hazard.tickets where kind = 'warning' and town_code = '$1'"; }

hz_mqtt_pub hazard/v1/warnings "$(warn W1 WARNING_TYPE_ALERT LEVEL_ORANGE "$exp1" "" "\"$T1\",\"$T2\"")"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where kind = 'warning'\")\" = 2 ]" 20 "one warning ticket per area"
hz_assert_eq "orange|town|discovered" "$(wt "$T1" "level || '|' || tier || '|' || state")" "T1's warning ticket"

# update: lower to yellow for T1 only, later expiry
hz_mqtt_pub hazard/v1/warnings "$(warn W2 WARNING_TYPE_UPDATE LEVEL_YELLOW "$exp2" '"W1"' "\"$T1\"")"
hz_wait_for "[ \"\$(wt $T1 level)\" = yellow ]" 20 "T1 lowered to yellow in place"
hz_assert_eq orange "$(wt "$T2" level)" "T2 untouched by an update for T1"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.tickets where kind = 'warning' and town_code = '$T1'")" "an update opens no second ticket"
hz_assert_eq "$(date -u -d "$exp2" +%s)" "$(wt "$T1" "extract(epoch from deadline_at)::bigint")" "the update moved the expiry"

# cancel: both close
hz_mqtt_pub hazard/v1/warnings "$(warn W3 WARNING_TYPE_CANCEL LEVEL_YELLOW "$exp2" '"W1","W2"' "\"$T1\",\"$T2\"")"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where kind = 'warning' and state = 'closed'\")\" = 2 ]" 20 "both warning tickets closed"
hz_assert_eq "closed|true|true" "$(wt "$T2" "state || '|' || (closed_at is not null) || '|' || (ack_due_at is null)")" "closed, with closed_at and no clock"
TID=$(wt "$T2" ticket_id)
hz_assert_eq "discovered>closed|ev-W3" "$(hz_q "select from_state || '>' || to_state || '|' || event_id from hazard.ticket_history where ticket_id = $TID order by seq desc limit 1")" "the cancel in the history"
hz_wait_log "$HZ_ESC_LOG" "\"change\":\"closed\",\"ticket_id\":$TID,.*cancelled by W3" 10 "the closing in the escalation log"
# a cancel of a warning nobody has is harmless
hz_mqtt_pub hazard/v1/warnings "$(warn W9 WARNING_TYPE_CANCEL LEVEL_YELLOW "$exp2" '"W8"' "\"$T1\"")"
sleep 1
hz_assert_eq 2 "$(hz_q "select count(*) from hazard.tickets where kind = 'warning'")" "no ticket from a cancel of nothing"
# expiry: a warning closes by itself when it expires (database clock)
exp3=$(date -u -d '+3 seconds' +%FT%TZ)
hz_mqtt_pub hazard/v1/warnings "$(warn W5 WARNING_TYPE_ALERT LEVEL_BLUE "$exp3" "" "\"$T1\"")"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where episode_key = 'warning|W5|$T1'\")\" = 1 ]" 20 "the short warning's ticket"
hz_wait_for "[ \"\$(hz_q \"select state from hazard.tickets where episode_key = 'warning|W5|$T1'\")\" = closed ]" 10 "closed at expiry"
W5=$(hz_q "select ticket_id from hazard.tickets where episode_key = 'warning|W5|$T1'")
hz_assert_eq "closed|warning expired" "$(hz_q "select to_state || '|' || reason from hazard.ticket_history where ticket_id = $W5 order by seq desc limit 1")" "the expiry in the history"
LATE=$(hz_q "select extract(epoch from closed_at - deadline_at) from hazard.tickets where ticket_id = $W5")
awk -v l="$LATE" 'BEGIN { exit !(l >= 0 && l < 1) }' || hz_fail "closed ${LATE}s after expiry (want within a second)"
hz_wait_log "$HZ_ESC_LOG" "\"change\":\"closed\",\"ticket_id\":$W5,.*warning expired" 10 "the expiry in the escalation log"
hz_stop_daemon
# nothing changes any more: the topic alone must give the table
hz_check_rebuild "$T_TICKETS"

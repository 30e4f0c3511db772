#!/usr/bin/env bash
# hz-timeout: 120
# A hazard ticket carries its close-out deadline (from the report's
# category, or 15 days when supervised); still open when it passes, it is
# marked overdue and escalated one tier, once, with the reason, and the
# step is published like any escalation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
sed 's/other: *{level: blue, *closeout: 15d, tier: grid}/other: {level: blue, closeout: 3s, tier: grid}/' \
	"$HZ_SRC/deploy/rules.yaml" >"$RULES"
grep -q 'closeout: 3s' "$RULES" || hz_fail "could not shorten the close-out deadline"
HZ_RULES=$RULES hz_pipeline_setup
echo "kafka.out_format = json" >>"$HZ_CONF" # for hz_check_rebuild
read -r SITE TOWN < <(hz_q "select site_id, town_code from hazard.sites where risk_grade <> 'major' order by site_id limit 1" -F ' ')
hz_pipeline_start

now=$(date -u +%FT%T.%3NZ)
hz_mqtt_pub "hazard/v1/reports/$TOWN" "{\"eventId\":\"od-1\",\"observedAt\":\"$now\",\"siteId\":\"$SITE\",\"inspectorId\":\"grid-07\",\"category\":\"HAZARD_CATEGORY_OTHER\",\"description\":\"sundries piled in the stairwell\"}"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SITE' and kind='hazard'\")\" = 1 ]" 20 "a hazard ticket from the report"
TID=$(hz_q "select ticket_id from hazard.tickets where site_id='$SITE' and kind='hazard'")
GAP=$(hz_q "select extract(epoch from deadline_at - opened_at) from hazard.tickets where ticket_id=$TID")
awk -v g="$GAP" 'BEGIN { exit !(g > 1 && g <= 3.5) }' || hz_fail "deadline_at is ${GAP}s after opening, want about 3 s"
# the actor is a registry person on the ticket's chain: the site's grid or village
GRID=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.org_code where s.site_id = '$SITE' order by 1 limit 1")
"$HZ_BUILD/hazardctl" ack "$TID" --actor "$GRID" >/dev/null || hz_fail "ack failed"
hz_wait_for "[ -n \"\$(hz_q \"select overdue_at from hazard.tickets where ticket_id=$TID\")\" ]" 10 "the ticket marked overdue"
hz_assert_eq "town|close-out deadline passed: overdue, escalated to town" "$(hz_q "select tier || '|' || reason from hazard.escalations where ticket_id=$TID")" "one overdue escalation to the town"
hz_assert_eq "" "$(hz_q "select ack_due_at from hazard.tickets where ticket_id=$TID")" "an acknowledged ticket gets no new acknowledgement clock"
hz_wait_log "$HZ_ESC_LOG" "\"type\":\"escalation\".*\"ticket_id\":$TID,.*close-out deadline passed" 10 "the overdue step in the escalation log"
sleep 3
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.escalations where ticket_id=$TID")" "overdue fires once"
hz_stop_daemon
# nothing changes any more: the topic alone must give the table
hz_check_rebuild "$T_TICKETS"

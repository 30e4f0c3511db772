#!/usr/bin/env bash
# hz-timeout: 180
# Timers are owned by the Kafka partition that opened the ticket. Two
# daemons in one consumer group: a red alarm read from Kafka is escalated
# by the instance holding its partition (the other one leaves it alone);
# the owner is killed with -9, and the next step is taken over by the
# other instance once it is escalation.takeover_grace late (2 s here),
# within grace + 1 s; every step exactly once. Static membership keeps
# the dead owner's partitions unassigned for the session timeout (45 s),
# so the take-over here is the grace's doing, not a rebalance's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
hz_red_rules "$RULES" 3s 4s 60s 60s 60s
HZ_RULES=$RULES hz_pipeline_setup
GRACE=2
echo "escalation.takeover_grace = ${GRACE}s" >>"$HZ_CONF"
# the second instance: its own client id (= group.instance.id), spool and
# logs; Kafka only, so each event has one consumer
CONF2=$(hz_tmp)/hazardd2.conf
LOG2=$(hz_tmp)/hazardd2.log
ESC2=$(hz_tmp)/escalation2.log
sed -e "s|^mqtt.client_id = .*|mqtt.client_id = ${MQTT_CLIENT}-b|" \
	-e "s|^mqtt.spool_dir = .*|mqtt.spool_dir = $(hz_tmp spool2)|" \
	-e "s|^log.escalation_file = .*|log.escalation_file = $ESC2|" \
	"$HZ_CONF" >"$CONF2"
echo "mqtt.enabled = false" >>"$CONF2"
read -r DEV SITE TOWN < <(hz_q "select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' order by d.device_id limit 1" -F ' ')

hz_pipeline_start
PID1=$HZ_DAEMON_PID
hz_start_daemon "$CONF2" "$LOG2"
PID2=$HZ_DAEMON_PID
# both hold partitions after the second one joined
last_assigned() { grep -oE 'kafka: assigned [0-9]+ partitions' "$1" | tail -1 | grep -oE '[0-9]+'; }
hz_wait_for "[ \"\$(last_assigned $LOG2)\" -gt 0 ] 2>/dev/null && grep -q 'partitions revoked' $HZ_DLOG && [ \"\$(last_assigned $HZ_DLOG)\" -gt 0 ] && [ \$(grep -c 'kafka: assigned' $HZ_DLOG) -ge 2 ]" 60 "both instances holding partitions"
hz_log "instance 1: $(grep 'kafka: assigned' "$HZ_DLOG" | tail -1)"
hz_log "instance 2: $(grep 'kafka: assigned' "$LOG2" | tail -1)"

# an MQTT ticket has no owner
hz_mqtt_pub "hazard/v1/reports/$TOWN" "{\"eventId\":\"own-m1\",\"observedAt\":\"$(date -u +%FT%T.%3NZ)\",\"siteId\":\"$SITE\",\"inspectorId\":\"grid-07\",\"category\":\"HAZARD_CATEGORY_OTHER\",\"description\":\"test\"}"

# a red alarm from Kafka, keyed by site
hz_reading own-k1 "$DEV" METRIC_SMOKE 12 | hz_kafka_produce "$T_READINGS" -k "$SITE" -H content-type=application/json
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id='$SITE' and kind='alarm'\")\" = 1 ]" 20 "the alarm's ticket"
TID=$(hz_q "select ticket_id from hazard.tickets where site_id='$SITE' and kind='alarm'")
read -r STOPIC SPART < <(hz_q "select source_topic, source_partition from hazard.tickets where ticket_id=$TID" -F ' ')
hz_assert_eq "$T_READINGS" "$STOPIC" "the ticket records the topic that opened it"
hz_assert_match "$SPART" '^[0-9]+$' "and the partition"
# the instance that consumed the event holds the partition: its log has the opening
if grep -q "\"change\":\"opened\".*\"ticket_id\":$TID," "$HZ_ESC_LOG"; then
	OWNER=$PID1 OWNER_ESC=$HZ_ESC_LOG OTHER_ESC=$ESC2 OTHER=$PID2
else
	OWNER=$PID2 OWNER_ESC=$ESC2 OTHER_ESC=$HZ_ESC_LOG OTHER=$PID1
fi
hz_assert_grep "$OWNER_ESC" "\"change\":\"opened\".*\"ticket_id\":$TID," "the opening, in one instance's log"
hz_log "ticket $TID from $STOPIC [$SPART], owner pid $OWNER"

esc() { hz_q "select count(*) from hazard.escalations where ticket_id=$TID and tier='$1'"; }
# grid -> town at +3 s: by the owner, on time
hz_wait_for "[ \$(esc town) = 1 ]" 10 "the town step"
hz_wait_log "$OWNER_ESC" "\"type\":\"escalation\".*\"ticket_id\":$TID,.*\"tier\":\"town\"" 5 "the town step in the owner's log"
hz_assert_no_grep "$OTHER_ESC" "\"type\":\"escalation\".*\"ticket_id\":$TID," "the other instance left the owned timer alone"
LATE=$(hz_q "select extract(epoch from e.at - t.opened_at) - 3 from hazard.escalations e join hazard.tickets t using (ticket_id) where e.ticket_id=$TID and e.tier='town'")
hz_log "town step by the owner ${LATE}s after its deadline"
awk -v l="$LATE" 'BEGIN { exit !(l >= 0 && l < 1.0) }' || hz_fail "the owned step was ${LATE}s late (want 0..1 s)"

# the owner dies; town -> county is due 4 s after the town step
hz_kill_daemon "$OWNER" KILL
hz_wait_for "[ \$(esc county) = 1 ]" 15 "the county step, taken over"
hz_wait_log "$OTHER_ESC" "\"type\":\"escalation\".*\"ticket_id\":$TID,.*\"tier\":\"county\"" 5 "the county step in the other instance's log"
TAKE=$(hz_q "select extract(epoch from c.at - t.due_at) from hazard.escalations c join hazard.escalations t using (ticket_id) where c.ticket_id=$TID and c.tier='county' and t.tier='town'")
hz_log "county step taken over ${TAKE}s after its deadline (grace ${GRACE}s)"
awk -v l="$TAKE" -v g="$GRACE" 'BEGIN { exit !(l >= g - 0.25 && l < g + 1.0) }' || hz_fail "the take-over came ${TAKE}s after the deadline (want grace..grace+1 s)"
sleep 2
hz_assert_eq "county:1,town:1" "$(hz_q "select string_agg(tier || ':' || n, ',' order by tier) from (select tier, count(*) n from hazard.escalations where ticket_id=$TID group by tier) x")" "each step exactly once"
hz_assert_eq 1 "$(cat "$HZ_ESC_LOG" "$ESC2" | grep -c "\"type\":\"escalation\".*\"ticket_id\":$TID,.*\"tier\":\"county\"")" "one county line over both logs"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.tickets where site_id='$SITE' and kind='hazard' and source_topic is null")" "the MQTT ticket has no owner"
hz_stop_daemon "$OTHER"

#!/usr/bin/env bash
# hz-timeout: 180
# Silences, inhibition and area raises end to end (MQTT, Kafka, PostgreSQL):
#  A. a silenced site's alarm opens a ticket that calls nobody; a red one
#     there still escalates; hazardctl silence add/list/cancel and their errors;
#  B. an open orange fire alarm holds a later lower CO alarm at the site on
#     its ticket (arriving over Kafka); a red CO alarm is never held;
#  C. a town's power_outage warning holds device fault intents there;
#  D. a flood warning raises a water-level alarm in its area one level.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
# the shipped rules, with the outage rule also holding device_fault (the
# offline detection may not be there yet) and second-scale red deadlines
sed '/^inhibit:/,$d' "$HZ_SRC/deploy/rules.yaml" >"$RULES"
cat >>"$RULES" <<'YAML'
inhibit:
  - name: fire-holds-lower-alarms
    while: {kind: alarm, hazard_type: [fire_smoke, fire_heat], min_level: orange, scope: site}
    hold:  {kind: alarm, hazard_type: [fire_smoke, fire_heat, co_poisoning, electrical_fire], below: holder}
  - name: outage-holds-offline
    while: {kind: warning, hazard_type: power_outage, scope: area}
    hold:  {kind: fault, hazard_type: [device_offline, device_fault], below: red}
area_raise:
  - {name: flood-warning-raises-water-level, warning: [flood, rainstorm], min_level: yellow, raises: [flood], by: 1}
escalation:
  ack:
    red: {grid: 2s, town: 2s, county: 2s, city: 2s}
  repeat: 2s
  major_risk: {start_higher: false}
YAML
HZ_RULES=$RULES hz_pipeline_setup
echo "kafka.out_format = json" >>"$HZ_CONF" # for hz_check_rebuild
Q="select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id) where s.risk_grade <> 'major'"
read -r DA SA TA < <(hz_q "$Q and d.metric = 'smoke' order by d.device_id limit 1" -F ' ')
read -r DB SB TB < <(hz_q "$Q and d.metric = 'smoke' and d.site_id <> '$SA' and exists (select 1 from hazard.devices c where c.site_id = d.site_id and c.metric = 'co') order by d.device_id limit 1" -F ' ')
DBCO=$(hz_q "select device_id from hazard.devices where site_id = '$SB' and metric = 'co' order by device_id limit 1")
read -r DD SD TD < <(hz_q "$Q and d.metric = 'water_level' and s.town_code not in ('$TA', '$TB') order by d.device_id limit 1" -F ' ')
read -r DC SC TC < <(hz_q "$Q and s.town_code not in ('$TA', '$TB', '$TD') order by d.device_id limit 1" -F ' ')
[ -n "$DBCO" ] && [ -n "$DD" ] && [ -n "$DC" ] || hz_fail "the demo registry lacks the devices this test needs"
CTL="$HZ_BUILD/hazardctl"
hz_pipeline_start
tq() { hz_q "select $2 from hazard.tickets where $1"; }

# --- A: silences
if "$CTL" silence add --site NO-SUCH-SITE --for 1h --reason x 2>"$(hz_tmp)/e1"; then hz_fail "a silence of an unknown site was accepted"; fi
hz_assert_grep "$(hz_tmp)/e1" 'unknown site "NO-SUCH-SITE"' "unknown site refused"
rc=0; "$CTL" silence add --site "$SA" --for 1h 2>/dev/null || rc=$?
hz_assert_eq 2 "$rc" "a silence without a reason is a usage error"
if "$CTL" silence add --site "$SA" --until 2001-01-01T00:00:00Z --reason x 2>"$(hz_tmp)/e2"; then hz_fail "a silence ending in the past was accepted"; fi
hz_assert_grep "$(hz_tmp)/e2" "would end in the past" "past end refused"
SID=$("$CTL" silence add --site "$SA" --for 1h --reason "detector maintenance" --actor tech-1 | sed -n 's/^silence \([0-9]*\):.*/\1/p')
[ -n "$SID" ] || hz_fail "no silence id printed"
"$CTL" silence list --active >"$(hz_tmp)/list"
hz_assert_grep "$(hz_tmp)/list" "^$SID +site $SA .*active +tech-1 +detector maintenance" "the silence is listed as active"
sleep 2 # the daemon re-reads silences every second
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(hz_reading ctx-a1 "$DA" METRIC_SMOKE 3)"
hz_wait_for "[ \"\$(tq \"site_id = '$SA'\" count\(*\))\" = 1 ]" 20 "the silenced alarm opens its ticket"
TAID=$(tq "site_id = '$SA'" ticket_id)
hz_assert_eq "yellow|true|1" "$(tq "ticket_id = $TAID" "level || '|' || (ack_due_at is null) || '|' || silenced_count")" "silenced: yellow, no deadline, counted"
hz_assert_eq "silenced|$SID" "$(hz_q "select disposition || '|' || silence_id from hazard.ticket_events where event_id = 'ctx-a1'")" "the event is recorded as silenced"
hz_assert_match "$(hz_q "select reason from hazard.ticket_history where ticket_id = $TAID and seq = 1")" "^silenced by silence $SID: rule smoke-obscuration" "the history names the silence"
sleep 3
hz_assert_eq 0 "$(hz_q "select count(*) from hazard.escalations where ticket_id = $TAID")" "a silenced ticket calls nobody"
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(hz_reading ctx-a2 "$DA" METRIC_SMOKE 12)"
hz_wait_for "[ \"\$(tq \"ticket_id = $TAID\" level)\" = red ]" 20 "red joins the silenced ticket"
hz_assert_eq "false|1|2" "$(tq "ticket_id = $TAID" "(ack_due_at is null) || '|' || silenced_count || '|' || event_count")" "red is never silenced: it sets a deadline"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.escalations where ticket_id = $TAID and tier = 'town'\")\" = 1 ]" 10 "the red alarm escalates"
"$CTL" silence cancel "$SID" --actor tech-1 >/dev/null || hz_fail "silence cancel failed"
if "$CTL" silence cancel "$SID" 2>"$(hz_tmp)/e3"; then hz_fail "a second cancel was accepted"; fi
hz_assert_grep "$(hz_tmp)/e3" "already cancelled" "a second cancel is refused"
hz_assert_eq 0 "$("$CTL" silence list --active --json | grep -c '"silence_id"' || true)" "no active silence left"

# --- B: an open orange fire alarm holds a lower CO alarm at the site
hz_mqtt_pub "hazard/v1/readings/$SB/$DB" "$(hz_reading ctx-b1 "$DB" METRIC_SMOKE 6)"
hz_wait_for "[ \"\$(tq \"site_id = '$SB' and hazard_type = 'fire_smoke'\" level)\" = orange ]" 20 "the orange fire alarm"
TBID=$(tq "site_id = '$SB' and hazard_type = 'fire_smoke'" ticket_id)
printf '%s\n' "$(hz_reading ctx-b2 "$DBCO" METRIC_CO 60)" | hz_kafka_produce "$T_READINGS" -k "$SB" -H content-type=application/json
hz_wait_for "[ \"\$(tq \"ticket_id = $TBID\" held_count)\" = 1 ]" 20 "the CO alarm is held on the fire ticket"
hz_assert_eq 0 "$(tq "site_id = '$SB' and hazard_type = 'co_poisoning'" "count(*)")" "no CO ticket of its own"
hz_assert_eq "orange|2" "$(tq "ticket_id = $TBID" "level || '|' || event_count")" "recorded on the holder without raising it"
hz_assert_eq "$TBID|held" "$(hz_q "select ticket_id || '|' || disposition from hazard.ticket_events where event_id = 'ctx-b2'")" "ticket_events says held"
hz_assert_match "$(hz_q "select reason from hazard.ticket_history where ticket_id = $TBID order by seq desc limit 1")" "^held by fire-holds-lower-alarms on fire_smoke ticket $TBID: rule carbon-monoxide" "the history names the rule"
hz_mqtt_pub "hazard/v1/readings/$SB/$DBCO" "$(hz_reading ctx-b3 "$DBCO" METRIC_CO 250)"
hz_wait_for "[ \"\$(tq \"site_id = '$SB' and hazard_type = 'co_poisoning'\" level)\" = red ]" 20 "a red CO alarm opens its own ticket"

# --- C: a town's power outage holds device faults there
now=$(date -u +%FT%TZ) exp=$(date -u -d '+2 hours' +%FT%TZ)
warn() { # id hazard_type level area
	printf '{"eventId":"ev-%s","sentAt":"%s","warningId":"%s","type":"WARNING_TYPE_ALERT","areaCodes":["%s"],"hazardType":"%s","level":"%s","expires":"%s","sender":"grid-co","headline":"%s"}' \
		"$1" "$now" "$1" "$4" "$2" "$3" "$exp" "$2"
}
hz_mqtt_pub hazard/v1/warnings "$(warn PO1 power_outage LEVEL_YELLOW "$TC")"
hz_wait_for "[ \"\$(tq \"kind = 'warning' and town_code = '$TC'\" count\(*\))\" = 1 ]" 20 "the power outage warning ticket"
TCID=$(tq "kind = 'warning' and town_code = '$TC'" ticket_id)
hz_mqtt_pub "hazard/v1/status/$DC" "{\"eventId\":\"ctx-c1\",\"observedAt\":\"$(date -u +%FT%T.%3NZ)\",\"deviceId\":\"$DC\",\"state\":\"DEVICE_STATE_FAULT\",\"detail\":\"no mains\"}"
hz_wait_for "[ \"\$(tq \"ticket_id = $TCID\" held_count)\" = 1 ]" 20 "the device fault is held on the outage ticket"
hz_assert_eq 0 "$(tq "kind = 'fault' and device_id = '$DC'" "count(*)")" "no fault ticket of its own"
hz_assert_eq "$TCID|held" "$(hz_q "select ticket_id || '|' || disposition from hazard.ticket_events where event_id = 'ctx-c1'")" "the fault is recorded on the outage ticket"

# --- D: a flood warning raises a water-level alarm in its area
hz_mqtt_pub hazard/v1/warnings "$(warn FL1 flood LEVEL_ORANGE "$TD")"
hz_wait_for "[ \"\$(tq \"kind = 'warning' and town_code = '$TD'\" count\(*\))\" = 1 ]" 20 "the flood warning ticket"
TDW=$(tq "kind = 'warning' and town_code = '$TD'" ticket_id)
hz_mqtt_pub "hazard/v1/readings/$SD/$DD" "$(hz_reading ctx-d1 "$DD" METRIC_WATER_LEVEL 1.1)"
hz_wait_for "[ \"\$(tq \"site_id = '$SD' and hazard_type = 'flood'\" count\(*\))\" = 1 ]" 20 "the water-level alarm"
TDID=$(tq "site_id = '$SD' and hazard_type = 'flood'" ticket_id)
hz_assert_eq orange "$(tq "ticket_id = $TDID" level)" "raised yellow -> orange by the flood warning"
hz_assert_match "$(hz_q "select reason from hazard.ticket_history where ticket_id = $TDID and seq = 1")" "^raised yellow->orange by flood warning ticket $TDW" "the history names the warning"
hz_wait_log "$HZ_ESC_LOG" "\"ticket_id\":$TDID,.*raised yellow->orange" 10 "the raise in the escalation log"
hz_stop_daemon
# nothing changes any more: the topic alone must give the table
hz_check_rebuild "$T_TICKETS"

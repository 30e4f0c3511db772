#!/usr/bin/env bash
# hz-timeout: 180
# Drills (CAP status Exercise/Test) run through the whole loop and are
# flagged everywhere: a red smoke reading marked MODE_EXERCISE, sent over
# MQTT, opens its own ticket (it never joins the live ticket of the same
# site and hazard), escalates and is acknowledged like a live one, and
# every row (tickets, ticket_history, ticket_events, escalations), output
# message (TicketEvent, EscalationNotice) and escalation-log line it causes
# carries the mode; the town rating and the dashboard views leave it out
# (hazard.v_drills shows it); the history of all of it verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
sed -e '/^escalation:/,$d' -e 's/^  interval: 10s$/  interval: 1s/' "$HZ_SRC/deploy/rules.yaml" >"$RULES"
cat >>"$RULES" <<'YAML'
escalation:
  ack:
    red: {grid: 2s, town: 30s, county: 30s, city: 30s}
  repeat: 30s
  major_risk: {start_higher: false}
YAML
HZ_RULES=$RULES hz_pipeline_setup
read -r DA SA TA < <(hz_q "select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' order by d.device_id limit 1" -F ' ')
read -r DB SB TB < <(hz_q "select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' and s.town_code <> '$TA' order by d.device_id limit 1" -F ' ')
[ -n "$DB" ] || hz_fail "the demo registry has no smoke device in a second town"
hz_pipeline_start
OUT=$(hz_tmp)/mqtt-out.txt
mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -t 'hazard/v1/out/#' -v >"$OUT" &
SUB=$!
hz_on_exit "kill $SUB 2>/dev/null || true"
sleep 1
reading() { # id device value mode
	printf '{"eventId":"%s","observedAt":"%s","deviceId":"%s","metric":"METRIC_SMOKE","value":%s,"mode":"%s"}' \
		"$1" "$(date -u +%FT%T.%3NZ)" "$2" "$3" "$4"
}
hz_wait_for "[ \"\$(hz_q \"select rating from hazard.town_ratings where town_code = '$TB'\")\" = green ]" 10 "town $TB rated green at start"

# --- a live alarm at A, then a drill at A (same device, same hazard) and one at B
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(reading live-1 "$DA" 12 MODE_ACTUAL)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id = '$SA'\")\" = 1 ]" 20 "the live ticket at $SA"
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(reading drill-a "$DA" 12 MODE_EXERCISE)"
hz_mqtt_pub "hazard/v1/readings/$SB/$DB" "$(reading drill-b "$DB" 12 MODE_EXERCISE)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where mode = 'exercise'\")\" = 2 ]" 20 "two drill tickets"
LIVE=$(hz_q "select ticket_id from hazard.tickets where site_id = '$SA' and mode = 'actual'")
XA=$(hz_q "select ticket_id from hazard.tickets where site_id = '$SA' and mode = 'exercise'")
XB=$(hz_q "select ticket_id from hazard.tickets where site_id = '$SB' and mode = 'exercise'")
hz_assert_eq "1|red" "$(hz_q "select event_count || '|' || level from hazard.tickets where ticket_id = $LIVE")" "the drill did not join the live ticket"
hz_assert_match "$(hz_q "select episode_key from hazard.tickets where ticket_id = $XA")" "^exercise\\|" "a drill's episode is its own"

# --- it escalates like a live one (grid -> town after 2 s); the operator answers
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.escalations where ticket_id in ($XA, $XB)\")\" = 2 ]" 15 "both drills escalated to town"
"$HZ_BUILD/hazardctl" ack "$XB" --actor duty-drill --note "drill answered" >/dev/null || hz_fail "ack of the drill failed"
"$HZ_BUILD/hazardctl" ack "$LIVE" --actor duty-live >/dev/null || hz_fail "ack of the live ticket failed"
hz_wait_for "[ \"\$(hz_q \"select rating from hazard.town_ratings where town_code = '$TA'\")\" = red ]" 10 "the live red ticket makes $TA red"
sleep 2 # two rating rounds

# --- every row
hz_assert_eq "exercise" "$(hz_q "select string_agg(distinct mode, ',') from hazard.ticket_history where ticket_id in ($XA, $XB)")" "history rows of the drills"
hz_assert_ge "$(hz_q "select count(*) from hazard.ticket_history where ticket_id = $XB")" 3 "drill B: opened, escalated, acknowledged"
hz_assert_eq "exercise|duty-drill" "$(hz_q "select mode || '|' || actor from hazard.ticket_history where ticket_id = $XB order by seq desc limit 1")" "the drill's acknowledgement row"
hz_assert_eq "actual" "$(hz_q "select string_agg(distinct mode, ',') from hazard.ticket_history where ticket_id = $LIVE")" "history rows of the live ticket"
hz_assert_eq "drill-a:exercise,drill-b:exercise,live-1:actual" "$(hz_q "select string_agg(event_id || ':' || mode, ',' order by event_id) from hazard.ticket_events")" "ticket_events rows"
hz_assert_eq "exercise" "$(hz_q "select string_agg(distinct mode, ',') from hazard.escalations where ticket_id in ($XA, $XB)")" "escalation rows of the drills"
hz_assert_eq "actual" "$(hz_q "select string_agg(distinct mode, ',') from hazard.escalations where ticket_id = $LIVE")" "escalation rows of the live ticket"
# --- every output message (MQTT JSON; the Kafka protobuf is the same struct)
hz_wait_for "grep -c '\"ticketId\":\"$XB\"' '$OUT' | grep -qx '[2-9]'" 10 "TicketEvent and EscalationNotice of drill B"
n_drill=$(grep -Ec "\"ticketId\":\"($XA|$XB)\"" "$OUT")
n_flag=$(grep -E "\"ticketId\":\"($XA|$XB)\"" "$OUT" | grep -c '"mode":"MODE_EXERCISE"' || true)
hz_assert_eq "$n_drill" "$n_flag" "every output message about a drill says MODE_EXERCISE"
hz_assert_grep "$OUT" "^hazard/v1/out/escalations/[^ ]+ .*\"ticketId\":\"$XB\".*MODE_EXERCISE" "the EscalationNotice of the drill"
hz_assert_no_grep "$OUT" "\"ticketId\":\"$LIVE\".*MODE_EXERCISE" "the live ticket's messages are not drills"
# --- every escalation-log line
n_lines=$(grep -Ec "\"ticket_id\":($XA|$XB)," "$HZ_ESC_LOG")
hz_assert_ge "$n_lines" 4 "log lines of the drills (opened and escalated, twice)"
hz_assert_eq "$n_lines" "$(grep -E "\"ticket_id\":($XA|$XB)," "$HZ_ESC_LOG" | grep -c '"mode":"exercise"')" "every log line of a drill carries mode"
hz_assert_grep "$HZ_ESC_LOG" "\"type\":\"escalation\".*\"ticket_id\":$XB,.*\"mode\":\"exercise\"" "escalation lines too"
hz_assert_no_grep "$HZ_ESC_LOG" "\"ticket_id\":$LIVE,.*\"mode\"" "live lines carry no mode"

# --- live figures leave it out
hz_assert_eq green "$(hz_q "select rating from hazard.town_ratings where town_code = '$TB'")" "a town with only a red drill stays green"
hz_assert_eq "0|0" "$(hz_q "select open_red || '|' || open_tickets from hazard.town_ratings where town_code = '$TB'")" "its figures count no drill"
hz_assert_eq "$TA|red|1" "$(hz_q "select string_agg(town_code || '|' || level || '|' || open_tickets, ',') from hazard.v_open_by_town_level")" "v_open_by_town_level: the live ticket only"
hz_assert_eq "$LIVE" "$(hz_q "select string_agg(ticket_id::text, ',') from hazard.v_time_to_ack")" "v_time_to_ack: the live ticket only"
hz_assert_eq "$LIVE" "$(hz_q "select string_agg(distinct ticket_id::text, ',') from hazard.v_escalation_steps")" "v_escalation_steps: the live ticket only"
hz_assert_eq "$XA|exercise|1,$XB|exercise|1" "$(hz_q "select string_agg(ticket_id || '|' || mode || '|' || escalation_steps, ',' order by ticket_id) from hazard.v_drills")" "v_drills: both drills"
hz_assert_eq "t" "$(hz_q "select time_to_ack is not null from hazard.v_drills where ticket_id = $XB")" "v_drills: the drill's time to acknowledge"

# --- and all of it is chained
V=$("$HZ_BUILD/hazardctl" verify) || hz_fail "verify: $V"
hz_log "drill: $V"

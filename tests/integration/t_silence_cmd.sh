#!/usr/bin/env bash
# hz-timeout: 120
# A silence (maintenance window) set by a Command message reaches the same
# store call as `hazardctl silence add`: applied with its id and end in the
# CommandResult, once for a replayed command id; refused with a reason for
# an unknown target, an actor outside the target's unit, or no end; and a
# silenced site's alarm then calls nobody.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

hz_pipeline_setup
T_RESULTS=$(hz_kafka_topic hazard.command-results 2)
echo "kafka.topic.results = $T_RESULTS" >>"$HZ_CONF"
hz_pipeline_start
read -r SITE TOWN DEV < <(hz_q "select s.site_id, s.town_code, d.device_id from hazard.sites s join hazard.devices d using (site_id) where d.metric = 'smoke' and s.risk_grade <> 'major' order by 1, 3 limit 1" -F ' ')
ACTOR=$(hz_q "select person_id from hazard.people where org_code = '$TOWN' and tier = 'town' order by 1 limit 1")
OTHER=$(hz_q "select person_id from hazard.people p join hazard.org_units o on o.code = p.org_code where o.level = 'town' and p.org_code <> '$TOWN' and p.tier = 'town' order by 1 limit 1")
[ -n "$ACTOR" ] && [ -n "$OTHER" ] || hz_fail "no town people in the demo registry"
until=$(date -u -d '+1 hour' +%FT%TZ)
scmd() { # ID ACTOR TARGET [UNTIL]
	printf '{"commandId":"%s","actedAt":"%s","actorId":"%s","action":"ACTION_SILENCE","silenceTarget":"%s"%s,"reason":"sprinkler maintenance"}' \
		"$1" "$(date -u +%FT%T.%3NZ)" "$2" "$3" "${4:+,\"silenceUntil\":\"$4\"}"
}

hz_mqtt_pub hazard/v1/commands "$(scmd s-1 "$ACTOR" "$SITE" "$until")"
hz_wait_cmd s-1
hz_assert_match "$(hz_cmd_outcome s-1)" "^applied\|" "the silence command is applied"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.silences where target_kind = 'site' and target_id = '$SITE' and actor = '$ACTOR' and not cancelled")" "one silence on the site"
# replayed (same command id, over Kafka this time): one effect, the same result
scmd s-1 "$ACTOR" "$SITE" "$until" | hz_kafka_produce "$T_COMMANDS" -k s-1 -H content-type=application/json
hz_kafka_consume "$T_RESULTS" 2 20 -f '%k\n' >"$(hz_tmp)/results" || hz_fail "fewer than 2 CommandResults for s-1 on $T_RESULTS"
hz_assert_eq 2 "$(grep -cx s-1 "$(hz_tmp)/results")" "the replay answered again with the same command id"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.silences where target_id = '$SITE'")" "still one silence after the replay"
# refusals
hz_mqtt_pub hazard/v1/commands "$(scmd s-2 "$ACTOR" NO-SUCH-SITE "$until")"
hz_mqtt_pub hazard/v1/commands "$(scmd s-3 "$OTHER" "$SITE" "$until")"
hz_mqtt_pub hazard/v1/commands "$(scmd s-4 "$ACTOR" "$SITE")"
hz_wait_cmd s-2; hz_wait_cmd s-3; hz_wait_cmd s-4
hz_assert_eq 'refused|no device, site or org unit "NO-SUCH-SITE" to silence' "$(hz_cmd_outcome s-2)" "an unknown target is refused"
hz_assert_match "$(hz_cmd_outcome s-3)" "^refused\|actor $OTHER of .* may not silence $SITE outside its unit" "an actor of another town is refused"
hz_assert_eq 'refused|a silence needs silence_target and silence_until' "$(hz_cmd_outcome s-4)" "a silence without an end is refused"
hz_assert_eq 1 "$(hz_q "select count(*) from hazard.silences")" "refused commands set no silence"
hz_assert_grep "$HZ_ESC_LOG" '"type":"command".*"command_id":"s-1"' "the command has its escalation-log line"
# the silence works: a yellow alarm at the site calls nobody
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.silences where target_id = '$SITE'\")\" = 1 ]" 5 "silence visible"
sleep 2 # the daemon's context snapshot refreshes every second
hz_mqtt_pub "hazard/v1/readings/$SITE/$DEV" "$(hz_reading sil-1 "$DEV" METRIC_SMOKE 3)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.tickets where site_id = '$SITE'\")\" = 1 ]" 15 "the silenced alarm is recorded on a ticket"
hz_assert_eq "1|true" "$(hz_q "select silenced_count || '|' || (ack_due_at is null) from hazard.tickets where site_id = '$SITE'")" "a silenced alarm calls nobody"
hz_stop_daemon

#!/usr/bin/env bash
# hz-timeout: 120
# SIGHUP reloads the rules atomically: a broken file is refused with its
# file:line:column error, and the old rules keep running; a good file takes
# effect for the next message; open tickets and their timers survive.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
cp "$HZ_SRC/deploy/rules.yaml" "$RULES"
HZ_RULES=$RULES hz_pipeline_setup
mapfile -t DEVS < <(hz_q "select d.device_id || ' ' || d.site_id from hazard.devices d where d.metric = 'smoke' order by d.site_id, d.device_id" | awk '!seen[$2]++' | head -3)
read -r D1 S1 <<<"${DEVS[0]}"
read -r D2 S2 <<<"${DEVS[1]}"
read -r D3 S3 <<<"${DEVS[2]}"
hz_pipeline_start
tickets_at() { hz_q "select count(*) from hazard.tickets where site_id = '$1'"; }

# smoke 3 %/m is yellow under the shipped rules
hz_mqtt_pub "hazard/v1/readings/$S1/$D1" "$(hz_reading rl-1 "$D1" METRIC_SMOKE 3)"
hz_wait_for "[ \$(tickets_at $S1) = 1 ]" 20 "a ticket under the shipped rules"
DUE=$(hz_q "select ack_due_at from hazard.tickets where site_id = '$S1'")

# a broken file: refused, logged with where, old rules stay
printf 'version: 1\nthresholds:\n  - name: smoke\n    metric: smoke\n    hazard_type: fire_smoke\n    above: {yellow: lots}\n' >"$RULES"
kill -HUP "$HZ_DAEMON_PID"
hz_wait_log "$HZ_DLOG" "rules reload refused, the old rules stay \\(1 refused so far\\): .*rules.yaml:6:21: expected a finite number" 10 "the refusal with file:line:col"
hz_mqtt_pub "hazard/v1/readings/$S2/$D2" "$(hz_reading rl-2 "$D2" METRIC_SMOKE 3)"
hz_wait_for "[ \$(tickets_at $S2) = 1 ]" 20 "the old rules still open tickets after a refused reload"

# a good file with a higher threshold takes effect
sed '/^escalation:/,$d' "$HZ_SRC/deploy/rules.yaml" | sed 's/above: {yellow: 2.0, orange: 5.0, red: 10.0}/above: {yellow: 20.0, orange: 50.0, red: 90.0}/' >"$RULES"
grep -q 'yellow: 20.0' "$RULES" || hz_fail "could not rewrite the smoke thresholds"
kill -HUP "$HZ_DAEMON_PID"
hz_wait_log "$HZ_DLOG" "rules reloaded from" 10 "the reload"
hz_mqtt_pub "hazard/v1/readings/$S3/$D3" "$(hz_reading rl-3 "$D3" METRIC_SMOKE 3)"
hz_mqtt_pub "hazard/v1/readings/$S3/$D3" "$(hz_reading rl-4 "$D3" METRIC_SMOKE 25)"
hz_wait_for "[ \$(tickets_at $S3) = 1 ]" 20 "a ticket at the new threshold"
hz_assert_eq "yellow|rl-4|1" "$(hz_q "select level || '|' || first_event_id || '|' || event_count from hazard.tickets where site_id = '$S3'")" "3 %/m no longer alarms; 25 %/m is yellow"
# the first ticket and its timer are untouched by the reloads
hz_assert_eq "$DUE" "$(hz_q "select ack_due_at from hazard.tickets where site_id = '$S1'")" "the open ticket's deadline survives the reloads"
hz_daemon_alive || hz_fail "the daemon died on a reload"
hz_stop_daemon

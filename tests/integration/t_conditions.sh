#!/usr/bin/env bash
# hz-timeout: 180
# Conditions over time through real brokers and PostgreSQL, with the
# events' own timestamps and second-scale durations:
#   A hysteresis: a smoke reading hovering at its threshold opens one
#     ticket and does not flap; back under the clear line it auto-clears
#   B flapping: a ticket that clears more than twice within a minute is
#     held open and marked
#   C double knock: a second detector of the site confirms the fire (red,
#     state confirmed, no confirm step)
#   D sustained (Kafka): a charger overload opens a ticket only once it has
#     held for 2 s
#   E silence: gauges quiet for 3 s get device_offline tickets, a gauge
#     heard again gets its ticket closed, and a daemon killed with -9 and
#     restarted after a gauge fell silent again reports it once
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
cat >"$RULES" <<'YAML'
version: 1
defaults:
  flapping: {clears: 2, within: 1m}
offline:
  after: off
  by_kind: {water_level_gauge: 3s}
  scan: 1s
thresholds:
  - name: smoke
    metric: smoke
    hazard_type: fire_smoke
    above: {yellow: 2, orange: 5, red: 10}
    clear: 1.0
    auto_clear: true
    confirm: {devices: 2, within: 2m, level: red, group: fire}
  - name: charger
    metric: charger_current
    hazard_type: ebike_charging
    above: {yellow: 8}
    for: 2s
    clear: 6
    clear_for: 2s
    auto_clear: true
YAML
HZ_RULES=$RULES hz_pipeline_setup
echo "kafka.out_format = json" >>"$HZ_CONF" # for hz_check_rebuild
smoke_site() { # a non-major site with at least $1 smoke detectors, skipping sites $2..
	hz_q "select site_id from hazard.devices d join hazard.sites s using (site_id) where d.metric='smoke' and s.risk_grade <> 'major' and site_id not in ('${2:-}','${3:-}') group by site_id having count(*) >= $1 order by site_id limit 1"
}
SA=$(smoke_site 1)
SB=$(smoke_site 1 "$SA")
SC=$(smoke_site 2 "$SA" "$SB")
dev_of() { hz_q "select device_id from hazard.devices where site_id='$1' and metric='$2' order by device_id limit 1 offset ${3:-0}"; }
DA=$(dev_of "$SA" smoke); DB=$(dev_of "$SB" smoke); DC1=$(dev_of "$SC" smoke); DC2=$(dev_of "$SC" smoke 1)
read -r DE SE < <(hz_q "select d.device_id, d.site_id from hazard.devices d join hazard.sites s using (site_id) where d.metric='charger_current' and s.risk_grade <> 'major' order by 1 limit 1" -F ' ')
GAUGES=$(hz_q "select count(*) from hazard.devices where kind='water_level_gauge'")
GW=$(hz_q "select device_id from hazard.devices where kind='water_level_gauge' order by 1 limit 1")
GW_SITE=$(hz_q "select site_id from hazard.devices where device_id='$GW'")
[ "$GAUGES" -gt 1 ] || hz_fail "the demo registry has no water level gauges"

BASE=$(( $(date +%s) - 300 ))
ts() { date -u -d "@$((BASE + $1))" +%FT%T.000Z; } # the event's own clock: BASE + N s
reading() { # ID DEVICE METRIC VALUE T
	printf '{"eventId":"%s","observedAt":"%s","deviceId":"%s","metric":"%s","value":%s}' "$1" "$(ts "$5")" "$2" "$3" "$4"
}
mpub() { # ID SITE DEVICE METRIC VALUE T
	hz_mqtt_pub "hazard/v1/readings/$2/$3" "$(reading "$1" "$3" "$4" "$5" "$6")"
}
tickets() { hz_q "select count(*) from hazard.tickets where episode_key = '$1' ${2:+and $2}"; }

hz_pipeline_start

# --- A: hysteresis on a noisy signal, then a clean clear
t=0
for v in 2.2 1.8 2.1 1.6 2.4 1.9 1.5 2.0 1.7 2.3 1.2 2.1; do
	mpub "hy-$t" "$SA" "$DA" METRIC_SMOKE "$v" "$t"
	t=$((t + 1))
done
hz_wait_for "[ \"\$(hz_q \"select event_count from hazard.tickets where episode_key='$SA|fire_smoke'\")\" = 6 ]" 20 "the readings at or over the line joined one ticket"
hz_assert_eq 1 "$(tickets "$SA|fire_smoke")" "A: one ticket for a hovering signal"
hz_assert_eq discovered "$(hz_q "select state from hazard.tickets where episode_key='$SA|fire_smoke'")" "A: still open"
mpub hy-end "$SA" "$DA" METRIC_SMOKE 0.6 20
hz_wait_for "[ \"\$(tickets '$SA|fire_smoke' \"state='closed'\")\" = 1 ]" 20 "A auto-cleared"
TA=$(hz_q "select ticket_id from hazard.tickets where episode_key='$SA|fire_smoke'")
hz_assert_match "$(hz_q "select reason from hazard.ticket_history where ticket_id=$TA order by seq desc limit 1")" "back to normal.*cleared" "A: the clear is in the history"
hz_assert_eq 2 "$(hz_q "select count(*) from hazard.ticket_history where ticket_id=$TA")" "A: opened and cleared, nothing between"
hz_wait_for "grep -q '\"change\":\"cleared\",\"ticket_id\":$TA,' '$HZ_ESC_LOG'" 10 "A: a cleared line in the escalation log"

# --- B: flapping (more than 2 clears within a minute)
# (each step waits for the last: a clear and a new alarm in one batch keep
# the ticket open instead of closing and reopening it)
for i in 0 1 2; do
	mpub "fl-$i-on" "$SB" "$DB" METRIC_SMOKE 3 $((i * 4))
	hz_wait_for "[ \"\$(tickets '$SB|fire_smoke' \"state='discovered'\")\" = 1 ]" 10 "B: alarm $i open"
	mpub "fl-$i-off" "$SB" "$DB" METRIC_SMOKE 0.2 $((i * 4 + 2))
	[ "$i" = 2 ] || hz_wait_for "[ \"\$(tickets '$SB|fire_smoke' \"state='closed'\")\" = $((i + 1)) ]" 10 "B: alarm $i cleared"
done
hz_wait_for "[ \"\$(tickets '$SB|fire_smoke' 'flapping_at is not null')\" = 1 ]" 20 "B marked flapping"
hz_assert_eq 2 "$(tickets "$SB|fire_smoke" "state='closed'")" "B: two clears closed their tickets"
hz_assert_eq 1 "$(tickets "$SB|fire_smoke" "state='discovered'")" "B: the third is held open"
TB=$(hz_q "select ticket_id from hazard.tickets where episode_key='$SB|fire_smoke' and flapping_at is not null")
hz_assert_match "$(hz_q "select reason from hazard.ticket_history where ticket_id=$TB order by seq desc limit 1")" "flapping, held open" "B: history says why it stays open"

# --- C: double knock
mpub kn-1 "$SC" "$DC1" METRIC_SMOKE 3 0
hz_wait_for "[ \"\$(tickets '$SC|fire_smoke')\" = 1 ]" 20 "C: first detector opens a ticket"
hz_assert_eq "discovered yellow" "$(hz_q "select state || ' ' || level from hazard.tickets where episode_key='$SC|fire_smoke'")" "C: one detector is not confirmed"
mpub kn-2 "$SC" "$DC2" METRIC_SMOKE 2.5 40
hz_wait_for "[ \"\$(tickets '$SC|fire_smoke' \"state='confirmed'\")\" = 1 ]" 20 "C: confirmed by the second detector"
TC=$(hz_q "select ticket_id from hazard.tickets where episode_key='$SC|fire_smoke'")
hz_assert_eq red "$(hz_q "select level from hazard.tickets where ticket_id=$TC")" "C: a confirmed fire is red"
hz_assert_match "$(hz_q "select from_state || '>' || to_state || ' ' || reason from hazard.ticket_history where ticket_id=$TC order by seq desc limit 1")" "discovered>confirmed .*double knock" "C: history of the knock"

# --- D: sustained, over Kafka (keyed by site)
kpub() { reading "$1" "$DE" METRIC_CHARGER_CURRENT "$2" "$3" | hz_kafka_produce "$T_READINGS" -k "$SE" -H content-type=application/json; }
kpub su-1 9 0
kpub su-2 9 1
kpub su-3 5 1 # a reading under the line between: the hold restarts
kpub su-4 9 2
kpub su-5 9 3
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.source_offsets where source like '%$T_READINGS%'\")\" -ge 1 ]" 20 "D: the Kafka readings consumed"
sleep 1
hz_assert_eq 0 "$(tickets "$SE|ebike_charging")" "D: not held for 2 s yet: no ticket"
kpub su-6 9 4
hz_wait_for "[ \"\$(tickets '$SE|ebike_charging')\" = 1 ]" 20 "D: ticket once the overload held 2 s"
hz_assert_eq su-6 "$(hz_q "select first_event_id from hazard.tickets where episode_key='$SE|ebike_charging'")" "D: opened by the reading that completed the hold"

# --- E: silence
off_open() { hz_q "select count(*) from hazard.tickets where hazard_type='device_offline' and state not in ('closed','dismissed') ${1:+and device_id='$1'}"; }
hz_wait_for "[ \$(off_open) = $GAUGES ]" 20 "E: every silent gauge reported offline"
hz_assert_eq 0 "$(hz_q "select count(*) from hazard.tickets t join hazard.devices d using (device_id) where t.hazard_type='device_offline' and d.kind <> 'water_level_gauge'")" "E: unwatched kinds are not reported"
hz_assert_eq "$GW_SITE|device_offline|$GW" "$(hz_q "select episode_key from hazard.tickets where hazard_type='device_offline' and device_id='$GW'")" "E: one episode per device"
mpub gw-back "$GW_SITE" "$GW" METRIC_WATER_LEVEL 0.1 100
hz_wait_for "[ \$(off_open $GW) = 0 ]" 10 "E: the gauge heard again: its ticket closes"
hz_assert_match "$(hz_q "select reason from hazard.ticket_history h join hazard.tickets t using (ticket_id) where t.device_id='$GW' and t.hazard_type='device_offline' order by h.seq desc limit 1")" "heard again.*back online" "E: why it closed"
# killed while the gauge is fine; it falls silent while nobody runs
hz_kill_daemon "$HZ_DAEMON_PID" KILL
sleep 5
hz_assert_eq 0 "$(off_open "$GW")" "E: nothing ran, nothing reported"
hz_start_daemon "$HZ_CONF" "$HZ_DLOG"
hz_wait_for "[ \$(off_open $GW) = 1 ]" 15 "E: reported after the restart"
sleep 3
hz_assert_eq 2 "$(hz_q "select count(*) from hazard.tickets where hazard_type='device_offline' and device_id='$GW'")" "E: exactly one new offline ticket for the gauge"
hz_assert_eq "$GAUGES" "$(off_open)" "E: the other gauges keep their one ticket each"
hz_assert_eq 0 "$(hz_q "select count(*) from (select device_id from hazard.tickets where hazard_type='device_offline' and state not in ('closed','dismissed') group by 1 having count(*) > 1) x")" "E: no device has two open offline tickets"
hz_stop_daemon
# nothing changes any more: the topic alone must give the table
hz_check_rebuild "$T_TICKETS"

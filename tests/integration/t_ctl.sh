#!/usr/bin/env bash
# hz-timeout: 240
# t_ctl.sh - hazardctl for people, against the real daemon: tickets list
# filters and JSON, tickets show with escalation steps and who was called,
# stats figures against known rows, and `tail` on the escalation log the
# running daemon writes: a town filter, JSON pass-through, -n/--no-follow,
# and the log truncated (copytruncate), moved away (hazardd keeps writing
# to the moved file) and re-created by SIGHUP (hazardd reopens it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

hz_require psql jq
CTL=$HZ_BUILD/hazardctl
export TZ=UTC
RULES=$(hz_tmp)/rules.yaml
hz_red_rules "$RULES" 2s 2s 6s 6s 6s
HZ_RULES=$RULES hz_pipeline_setup
out=$(hz_tmp)
smoke="select d.device_id, d.site_id, s.town_code from hazard.devices d join hazard.sites s using (site_id)
	where d.metric = 'smoke' and s.risk_grade <> 'major'"
# town A: the town with the most such sites; four sites there; B and C: two other towns
TA=$(hz_q "select town_code from ($smoke) x group by town_code order by count(distinct site_id) desc, town_code limit 1")
mapfile -t A < <(hz_q "select distinct on (site_id) device_id || ' ' || site_id from ($smoke) x where town_code = '$TA' order by site_id, device_id limit 4")
[ "${#A[@]}" = 4 ] || hz_skip "the demo registry has fewer than 4 smoke sites in one town"
read -r DB SB TB < <(hz_q "select device_id, site_id, town_code from ($smoke) x where town_code <> '$TA' order by town_code, device_id limit 1" -F ' ')
TC=$(hz_q "select code from hazard.org_units where level = 'town' and code not in ('$TA', '$TB') order by code limit 1")
read -r DA SA <<<"${A[0]}"
hz_log "town A $TA (sites ${A[*]}), town B $TB ($SB), town C $TC (known rows)"

# --- known rows for stats, in town C: times and calls with known answers --------
hz_psql "
insert into hazard.tickets (ticket_id, kind, state, level, site_id, town_code, county_code, hazard_type, tier,
	episode_key, mode, opened_at, updated_at, acked_at, closed_at) values
 (90001, 'alarm', 'closed', 'red', null, '$TC', null, 'fire_smoke', 'town', 'k1', 'actual',
  now() - interval '2 hours', now(), now() - interval '2 hours' + interval '60 s', now() - interval '2 hours' + interval '600 s'),
 (90002, 'alarm', 'closed', 'red', null, '$TC', null, 'fire_smoke', 'town', 'k2', 'actual',
  now() - interval '2 hours', now(), now() - interval '2 hours' + interval '120 s', now() - interval '2 hours' + interval '1200 s'),
 (90003, 'hazard', 'confirmed', 'yellow', null, '$TC', null, 'blocked_exit', 'county', 'k3', 'actual',
  now() - interval '2 hours', now(), now() - interval '2 hours' + interval '300 s', null),
 (90004, 'alarm', 'discovered', 'red', null, '$TC', null, 'fire_smoke', 'grid', 'k4', 'exercise',
  now() - interval '2 hours', now(), now() - interval '2 hours' + interval '10 s', null),
 (90005, 'alarm', 'closed', 'red', null, '$TC', null, 'fire_smoke', 'grid', 'k5', 'actual',
  now() - interval '40 days', now(), now() - interval '40 days' + interval '5 s', now() - interval '40 days' + interval '9 s');
update hazard.tickets set updated_at = now();
insert into hazard.escalations (ticket_id, tier, repeat, at, from_tier, level, org_code, due_at, reason)
select 90001, 'town', 0, opened_at + interval '30 s', 'grid', 'red', '$TC', opened_at + interval '90 s', 'k' from hazard.tickets where ticket_id = 90001
union all
select 90003, 'town', 0, opened_at + interval '30 s', 'grid', 'yellow', '$TC', opened_at + interval '90 s', 'k' from hazard.tickets where ticket_id = 90003
union all
select 90003, 'county', 0, t.opened_at + interval '90 s', 'town', 'yellow', c.county_code, t.opened_at + interval '900 s', 'k'
	from hazard.tickets t, (select parent_code as county_code from hazard.org_units where code = '$TC') c where ticket_id = 90003
union all
select 90004, 'town', 0, opened_at + interval '5 s', 'grid', 'red', '$TC', opened_at + interval '60 s', 'k' from hazard.tickets where ticket_id = 90004;
" >/dev/null

hz_pipeline_start
[ -e "$HZ_ESC_LOG" ] || hz_fail "the daemon did not create its escalation log"

# --- tail in the background: town A only, plain; escalations only, as JSON -----
"$CTL" tail --file "$HZ_ESC_LOG" --no-color --town "$TA" -n 0 --poll 50ms >"$out/tailA.out" 2>"$out/tailA.err" &
TAIL_A=$!
"$CTL" tail --file "$HZ_ESC_LOG" --json --type escalation -n 0 >"$out/tailJ.out" 2>"$out/tailJ.err" &
TAIL_J=$!
hz_on_exit "kill $TAIL_A $TAIL_J 2>/dev/null; wait $TAIL_A $TAIL_J 2>/dev/null"
sleep 0.5

# --- A climbs grid -> town -> county, then is acknowledged; B answered at town ----
esc() { hz_q "select count(*) from hazard.escalations e join hazard.tickets t using (ticket_id) where t.site_id = '$1' and e.tier = '$2'"; }
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(hz_reading ctl-a1 "$DA" METRIC_SMOKE 12)"
hz_mqtt_pub "hazard/v1/readings/$SB/$DB" "$(hz_reading ctl-b1 "$DB" METRIC_SMOKE 12)"
hz_wait_for "[ \$(esc $SB town) = 1 ]" 20 "B escalated to its town"
ID_B=$(hz_q "select ticket_id from hazard.tickets where site_id = '$SB'")
# acknowledgements are commands: the actor is a registry person on the ticket's chain
DUTY_B=$(hz_q "select person_id from hazard.people where org_code = '$TB' and tier = 'town' order by 1 limit 1")
"$CTL" ack "$ID_B" --actor "$DUTY_B" >/dev/null || hz_fail "ack of B failed"
hz_wait_for "[ \$(esc $SA county) = 1 ]" 20 "A escalated to county"
ID_A=$(hz_q "select ticket_id from hazard.tickets where site_id = '$SA'")
DUTY_A=$(hz_q "select p.person_id from hazard.people p join hazard.sites s on p.org_code = s.county_code where s.site_id = '$SA' and p.tier = 'county' order by 1 limit 1")
"$CTL" ack "$ID_A" --actor "$DUTY_A" >/dev/null || hz_fail "ack of A failed"

# tail A: A's lines, none of B's, the town step names the duty people
duty_name=$(hz_q "select p.name from hazard.duty_roster d join hazard.people p using (person_id) where d.org_code = '$TA' and d.tier = 'town' order by d.role, p.person_id limit 1")
hz_wait_log "$out/tailA.out" "RED +alarm #$ID_A fire_smoke $SA town $TA escalated grid->town \\($TA\\), called: .*$duty_name" 10 "tail: A's town step with who was called"
hz_wait_log "$out/tailA.out" "alarm #$ID_A .* escalated town->county" 10 "tail: A's county step"
hz_assert_grep "$out/tailA.out" "^[0-9]{2}:[0-9]{2}:[0-9]{2} RED +alarm #$ID_A fire_smoke $SA town $TA opened" "tail: A's opening line"
hz_assert_no_grep "$out/tailA.out" "town $TB|#$ID_B " "tail --town shows no line of another town"
hz_assert_no_grep "$out/tailA.out" $'\033' "tail --no-color writes no escape sequence"
hz_wait_log "$out/tailJ.out" "\"ticket_id\":$ID_B,.*\"tier\":\"town\"" 10 "tail --json: B's escalation"
jq -e -s 'length >= 3 and all(.type == "escalation")' "$out/tailJ.out" >/dev/null ||
	{ cat "$out/tailJ.out" >&2; hz_fail "tail --json --type escalation: every line a JSON escalation, at least 3"; }

# -n / --no-follow
"$CTL" tail --file "$HZ_ESC_LOG" --no-follow -n 2 --type escalation --json >"$out/last2.out"
hz_assert_eq "$(grep '"type":"escalation"' "$HZ_ESC_LOG" | tail -n 2)" "$(cat "$out/last2.out")" "tail -n 2 --no-follow: the last two escalations"
rc=0
"$CTL" tail --file "$HZ_ESC_LOG" --no-follow --town 000000000 >/dev/null 2>&1 || rc=$?
hz_assert_eq 1 "$rc" "tail --no-follow with nothing matching exits 1"
rc=0
"$CTL" tail --file "$out/nope.log" --no-follow 2>"$out/nope.err" || rc=$?
hz_assert_eq 1 "$rc" "tail of a missing file exits 1"
hz_assert_grep "$out/nope.err" "^hazardctl: could not open \".*nope.log\": No such file or directory$" "tail: missing file message"
rc=0
"$CTL" tail --file "$HZ_ESC_LOG" --tier nowhere 2>/dev/null || rc=$?
hz_assert_eq 2 "$rc" "tail --tier nowhere is a usage error"
# the config gives the path
"$CTL" tail -c "$HZ_CONF" --no-follow -n 1 --json >"$out/cfg.out"
hz_assert_eq "$(tail -n 1 "$HZ_ESC_LOG")" "$(cat "$out/cfg.out")" "tail -c CONFIG reads log.escalation_file"

# --- tickets list and show ----------------------------------------------------------
list_ids() { "$CTL" tickets list --json "$@" | jq -r '[.[].ticket_id] | join(" ")'; }
hz_assert_eq "$ID_A" "$(list_ids --town "$TA")" "tickets list --town A"
hz_assert_eq "$(printf '%s\n' "$ID_A" "$ID_B" | sort -nr | tr '\n' ' ' | sed 's/ $//')" "$(list_ids --kind alarm --open --level red --since 1h | tr ' ' '\n' | grep -E "^($ID_A|$ID_B)$" | sort -n -r | tr '\n' ' ' | sed 's/ $//')" "tickets list --kind --open --level --since"
hz_assert_eq "90003" "$(list_ids --town "$TC" --state confirmed,rectifying)" "tickets list --state list"
hz_assert_eq "90003" "$(list_ids --town "$TC" --state rectifying --state confirmed)" "tickets list --state repeated"
hz_assert_eq "90004" "$(list_ids --town "$TC" --open --level =red)" "tickets list --level =red (exactly)"
hz_assert_eq "" "$(list_ids --overdue --town "$TA")" "tickets list --overdue: none in town A"
hz_assert_eq "true|false|acked" "$("$CTL" tickets list --json --town "$TC" --open | jq -r '[.[] | select(.ticket_id == 90004) | .drill] + [.[] | select(.ticket_id == 90003) | .drill] | join("|")')|$("$CTL" tickets list --town "$TA" | awk -v id="$ID_A" '$1 == id {print $(NF-1)}')" \
	"JSON drill flag; table ACK column"
"$CTL" tickets list --town "$TC" >"$out/listC.out"
hz_assert_grep "$out/listC.out" '^90004 .* DRILL$' "a drill ticket is marked"

"$CTL" tickets show "$ID_A" --json >"$out/showA.json"
hz_assert_eq "2|missed|answered|$TA|town|county" \
	"$(jq -r '"\(.escalations | length)|\(.escalations[0].outcome)|\(.escalations[1].outcome)|\(.escalations[0].org_unit)|\(.escalations[0].tier)|\(.escalations[1].tier)"' "$out/showA.json")" \
	"tickets show --json: A's two steps, the town one missed (the county step fired first), the county one answered"
want_called=$(hz_q "select string_agg(p.name, ',' order by d.role, p.person_id) from hazard.duty_roster d join hazard.people p using (person_id) where d.org_code = '$TA' and d.tier = 'town'")
hz_assert_eq "$want_called" "$(jq -r '[.escalations[0].called[].name] | join(",")' "$out/showA.json")" "tickets show: who was called at the town step"
hz_assert_eq "$(hz_q "select count(*) from hazard.ticket_history where ticket_id = $ID_A")" "$(jq -r '.history | length' "$out/showA.json")" "tickets show --json: every history row"
hz_assert_ge "$(jq -r '.events.total' "$out/showA.json")" 1 "tickets show --json: events counted"
"$CTL" tickets show "$ID_A" >"$out/showA.out"
hz_assert_grep "$out/showA.out" '^escalations:$' "tickets show: escalations section"
hz_assert_grep "$out/showA.out" "grid -> town +red +$TA .* missed +$duty_name" "tickets show: the town step, missed, who was called"
hz_assert_grep "$out/showA.out" "^  acked +[0-9T:-]+Z \\($DUTY_A\\)\$" "tickets show: acknowledged, and by whom"

# --- stats: known rows in town C, and B ------------------------------------------------
"$CTL" stats --town "$TC" --since 1d --json >"$out/statsC.json"
hz_assert_eq "3|3|120|900|2" "$(jq -r '.times[] | select(.kind == "all") | "\(.opened)|\(.acked)|\(.ack_median_s)|\(.close_median_s)|\(.closed)"' "$out/statsC.json")" \
	"stats times in town C (drill and the 40-day-old ticket left out): 3 opened, median ack 120 s, median close 900 s"
hz_assert_eq "1|1|0" "$(jq -r '.open[] | "\(.total)|\(.confirmed)|\(.unacked)"' "$out/statsC.json")" "stats open tickets in town C (the drill left out)"
hz_assert_eq "2|1|1|50" "$(jq -r ".calls[] | select(.org_unit == \"$TC\" and .tier == \"town\") | \"\(.notices)|\(.answered)|\(.missed)|\(.rate * 100 | round)\"" "$out/statsC.json")" \
	"stats call-and-respond of town C: 2 notices, 1 answered, 1 missed"
n_duty_c=$(hz_q "select count(*) from hazard.duty_roster where org_code = '$TC' and tier = 'town'")
hz_assert_eq "$n_duty_c" "$(jq -r "[.failures[] | select(.org_unit == \"$TC\" and .missed == 1 and .tickets == [90003])] | length" "$out/statsC.json")" \
	"stats duty failures: everyone on town C's roster missed ticket 90003's call once"
"$CTL" stats --town "$TB" --json >"$out/statsB.json"
hz_assert_eq "1|1|0" "$(jq -r ".calls[] | select(.org_unit == \"$TB\") | \"\(.notices)|\(.answered)|\(.missed)\"" "$out/statsB.json")" "stats: B's town answered its call"
"$CTL" stats >"$out/stats.out"
hz_assert_grep "$out/stats.out" '^open tickets by town:$' "stats text output"
hz_assert_grep "$out/stats.out" '^call-and-respond since ' "stats text: call-and-respond section"

# --- rotation -------------------------------------------------------------------------
reading_at() { # reading_at INDEX ID: a red smoke reading at town A's site INDEX
	local d s
	read -r d s <<<"${A[$1]}"
	hz_mqtt_pub "hazard/v1/readings/$s/$d" "$(hz_reading "$2" "$d" METRIC_SMOKE 12)"
	printf '%s\n' "$s"
}
# copytruncate: the daemon writes on at the new end (O_APPEND); tail starts over
truncate -s 0 "$HZ_ESC_LOG"
S1=$(reading_at 1 ctl-r1)
hz_wait_log "$out/tailA.out" "alarm #[0-9]+ fire_smoke $S1 town $TA opened" 20 "tail after truncation"
hz_assert_grep "$out/tailA.err" "was truncated; reading it from the start" "tail says the file was truncated"
# moved away: hazardd keeps writing to the moved file until SIGHUP; tail reads it on
mv "$HZ_ESC_LOG" "$HZ_ESC_LOG.1"
S2=$(reading_at 2 ctl-r2)
hz_wait_log "$out/tailA.out" "fire_smoke $S2 town $TA opened" 20 "tail after the log was moved away"
hz_assert_grep "$HZ_ESC_LOG.1" "\"site_id\":\"$S2\"" "hazardd wrote to the moved file"
hz_assert_grep "$out/tailA.err" "has been moved or removed" "tail says the file was moved"
# SIGHUP: hazardd reopens the name; tail follows the new file
kill -HUP "$HZ_DAEMON_PID"
hz_wait_for "[ -e '$HZ_ESC_LOG' ]" 10 "hazardd re-created its escalation log after SIGHUP"
sleep 0.5
S3=$(reading_at 3 ctl-r3)
hz_wait_log "$out/tailA.out" "fire_smoke $S3 town $TA opened" 20 "tail after the log was re-created"
hz_assert_grep "$HZ_ESC_LOG" "\"site_id\":\"$S3\"" "the new log has the new line"
hz_assert_grep "$out/tailA.err" "has been replaced; following the new file" "tail says it follows the new file"
hz_assert_no_grep "$out/tailA.out" "town $TB" "still no line of another town"
hz_assert_eq 1 "$(grep -c "fire_smoke $S3 town $TA opened" "$out/tailA.out")" "the new file's line printed once"

kill -INT "$TAIL_A"
wait "$TAIL_A" || hz_fail "tail exited with status $? on SIGINT"
hz_stop_daemon
hz_log "ok: list/show/stats figures, tail filtered, truncated, moved, re-created"

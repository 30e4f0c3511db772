#!/usr/bin/env bash
# hz-timeout: 180
# Dispatch suggestion (issue 4): the demo registry's rescue units import
# with the rest; a red smoke alarm at the site nearest to a micro fire
# station escalates (second-scale deadlines) and its EscalationNotice, on
# Kafka (decoded with the daemon's codec) and in the escalation log, names
# that station, its distance and inside_circle=true; a gas alarm's notice
# names none; a site far from every unit is listed by
# `hazardctl rescue-coverage`; an org unit's explicit area is imported and
# used; a bad rescue_units.csv is refused by line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
hz_red_rules "$RULES" 2s 30s 30s 30s 30s
HZ_RULES=$RULES hz_pipeline_setup
hz_assert_eq 19 "$(hz_q "select count(*) from hazard.rescue_units")" "the demo's rescue units imported"
hz_assert_eq 1 "$(hz_q "select version from hazard.registry_version")" "one import, one version"

# great-circle distance in SQL, the same formula as rescue.c
DIST="2*6371008.8*asin(sqrt(power(sin(radians(u.lat-s.lat)/2),2)+cos(radians(s.lat))*cos(radians(u.lat))*power(sin(radians(u.lon-s.lon)/2),2)))"
# the smoke detector whose site is nearest to a micro fire station
read -r DA SA UA DISTA < <(hz_q "select d.device_id, s.site_id, u.unit_id, round($DIST) from hazard.devices d join hazard.sites s using (site_id) cross join hazard.rescue_units u where d.metric = 'smoke' and u.kind = 'micro_station' order by $DIST, d.device_id limit 1" -F ' ')
hz_log "site $SA is ${DISTA} m from micro station $UA"
read -r DG SG < <(hz_q "select d.device_id, d.site_id from hazard.devices d where d.metric = 'gas_lel' order by d.device_id limit 1" -F ' ')

hz_pipeline_start
hz_mqtt_pub "hazard/v1/readings/$SA/$DA" "$(hz_reading disp-a1 "$DA" METRIC_SMOKE 12)"
hz_mqtt_pub "hazard/v1/readings/$SG/$DG" "$(hz_reading disp-g1 "$DG" METRIC_GAS_LEL 80)"
hz_wait_for "[ \"\$(hz_q \"select count(*) from hazard.escalations e join hazard.tickets t using (ticket_id) where t.site_id in ('$SA','$SG') and e.tier = 'town'\")\" = 2 ]" 30 "both alarms escalated to the town"
TA=$(hz_q "select ticket_id from hazard.tickets where site_id='$SA' and hazard_type='fire_smoke'")
TG=$(hz_q "select ticket_id from hazard.tickets where site_id='$SG' and hazard_type='gas_leak'")

# the escalation log line
hz_wait_for "grep -q '\"type\":\"escalation\".*\"ticket_id\":$TG,' '$HZ_ESC_LOG'" 10 "the gas escalation logged"
LINE=$(grep "\"type\":\"escalation\".*\"ticket_id\":$TA," "$HZ_ESC_LOG" | head -1)
[ -n "$LINE" ] || hz_fail "no escalation-log line for ticket $TA"
hz_log "log: $LINE"
hz_assert_eq "$UA" "$(jq -r .nearest_unit <<<"$LINE")" "the log names the nearest micro station"
hz_assert_eq micro_station "$(jq -r .nearest_unit_kind <<<"$LINE")" "of kind micro_station"
hz_assert_eq true "$(jq -r .inside_circle <<<"$LINE")" "the site is inside its rescue circle"
D=$(jq -r .nearest_distance_m <<<"$LINE")
awk -v a="$D" -v b="$DISTA" 'BEGIN { exit !(a - b <= 1 && b - a <= 1) }' || hz_fail "distance ${D} m in the log, ${DISTA} m by SQL"
hz_assert_eq true "$(jq -r '.rescue_units[0].inside_circle' <<<"$LINE")" "the first unit listed is the one inside"
hz_assert_ge "$(jq -r '.rescue_units | length' <<<"$LINE")" 2 "a unit of each kind that exists"
GLINE=$(grep "\"type\":\"escalation\".*\"ticket_id\":$TG," "$HZ_ESC_LOG" | head -1)
hz_assert_eq null "$(jq -r .nearest_unit <<<"$GLINE")" "a gas alarm gets no dispatch suggestion"

# the EscalationNotice on Kafka (protobuf), decoded by the daemon's codec
timeout 20 kcat -b "$HZ_KAFKA_BROKERS" -C -t "$T_ESCALATIONS" -o beginning -c 2 -q -f '%R%s' \
	| "$HZ_BUILD/itest/notice_dump" >"$(hz_tmp)/notices" || true
hz_assert_eq 2 "$(grep -c '' "$(hz_tmp)/notices")" "two EscalationNotices on $T_ESCALATIONS"
KLINE=$(grep "\"ticket_id\":$TA," "$(hz_tmp)/notices")
hz_assert_eq "$UA" "$(jq -r .nearest_unit <<<"$KLINE")" "the Kafka notice names the micro station"
hz_assert_eq true "$(jq -r .inside_circle <<<"$KLINE")" "and inside_circle"
hz_assert_eq "$D" "$(jq -r .nearest_distance_m <<<"$KLINE")" "and the same distance as the log"
hz_assert_eq null "$(jq -r .nearest_unit <<<"$(grep "\"ticket_id\":$TG," "$(hz_tmp)/notices")")" "the gas notice has no suggestion"
hz_stop_daemon

# --- coverage: a homestay deep in the hills, 25 km from 於潜镇
EXTRA=$(hz_tmp extra)
cat >"$EXTRA/sites.csv" <<'CSV'
site_id,name,kind,risk_grade,org_code,lat,lon
SITE-330112003-9001,光明村云上民宿,homestay,general,330112003001,30.05,119.20
CSV
"$HZ_BUILD/hazardctl" import "$EXTRA" >/dev/null || hz_fail "import of the remote site failed"
"$HZ_BUILD/hazardctl" rescue-coverage -c "$HZ_CONF" --json >"$(hz_tmp)/coverage.json" || hz_fail "rescue-coverage failed"
COV=$(hz_tmp)/coverage.json
hz_assert_eq 101 "$(jq .sites "$COV")" "coverage judged every site"
hz_assert_eq "$(jq .sites "$COV")" "$(jq '.inside + .outside + .unlocated' "$COV")" "inside + outside + unlocated = sites"
hz_assert_eq "$(jq .outside "$COV")" "$(jq '.outside_sites | length' "$COV")" "one entry per site outside"
R=$(jq -c '.outside_sites[] | select(.site_id == "SITE-330112003-9001")' "$COV")
[ -n "$R" ] || hz_fail "the remote site is not reported outside every circle"
hz_log "remote: $R"
hz_assert_eq countryside "$(jq -r .area <<<"$R")" "a 村 site is judged by the countryside circle"
hz_assert_eq 15 "$(jq -r .nearest_unit.circle_minutes <<<"$R")" "against 15 minutes"
awk -v m="$(jq -r .nearest_unit.minutes <<<"$R")" 'BEGIN { exit !(m > 15) }' || hz_fail "the remote site's nearest unit is within 15 minutes"
[ -z "$(jq -c --arg s "$SA" '.outside_sites[] | select(.site_id == $s)' "$COV")" ] || hz_fail "$SA is listed outside but its alarm said inside"
"$HZ_BUILD/hazardctl" rescue-coverage -c "$HZ_CONF" >"$(hz_tmp)/coverage.txt" || hz_fail "rescue-coverage (table) failed"
hz_assert_grep "$(hz_tmp)/coverage.txt" "^SITE-330112003-9001 .*countryside" "the table lists the remote site"
# stats flags the same sites
"$HZ_BUILD/hazardctl" stats -c "$HZ_CONF" --json >"$(hz_tmp)/stats.json" || hz_fail "stats failed"
hz_assert_eq "$(jq .outside "$COV")" "$(jq .coverage.outside "$(hz_tmp)/stats.json")" "stats counts the sites outside every circle"
hz_assert_eq 1 "$(jq '[.coverage.outside_sites[] | select(.site_id == "SITE-330112003-9001" and .area == "countryside")] | length' "$(hz_tmp)/stats.json")" "stats lists the remote site"
"$HZ_BUILD/hazardctl" stats -c "$HZ_CONF" >"$(hz_tmp)/stats.txt" || hz_fail "stats (table) failed"
hz_assert_grep "$(hz_tmp)/stats.txt" "^rescue coverage: $(jq .outside "$COV") of [0-9]+ located sites outside every rescue circle" "stats says how many sites lie outside"
hz_assert_grep "$(hz_tmp)/stats.txt" "^SITE-330112003-9001 .*countryside" "stats flags the remote site"

# --- an explicit area: 五常街道 marked countryside, its sites judged by 15 minutes
W=$(hz_tmp wuchang)
printf 'code,name,level,parent_code,area\n330110002,五常街道,town,330110,countryside\n' >"$W/org_units.csv"
"$HZ_BUILD/hazardctl" import "$W" >/dev/null || hz_fail "import of an org unit's area failed"
hz_assert_eq countryside "$(hz_q "select area from hazard.org_units where code = '330110002'")" "org_units.area imported"
hz_assert_eq 30.287 "$(hz_q "select lat from hazard.org_units where code = '330110002'")" "columns absent from the file are kept"
"$HZ_BUILD/hazardctl" rescue-coverage -c "$HZ_CONF" --json >"$(hz_tmp)/coverage2.json" || hz_fail "rescue-coverage failed"
hz_assert_eq 0 "$(jq '[.outside_sites[] | select(.town_code == "330110002" and .area != "countryside")] | length' "$(hz_tmp)/coverage2.json")" \
	"every outside site of 五常街道 is judged as countryside"
hz_assert_le "$(jq .outside "$(hz_tmp)/coverage2.json")" "$(jq .outside "$COV")" "a wider circle leaves no more sites outside"

# --- a bad rescue_units.csv is refused, naming the line, and changes nothing
BAD=$(hz_tmp bad)
printf 'unit_id,name,kind,org_code,lat,lon\nMS-X,某微型消防站,micro_station,330106001,30.1,120.1\nFB-X,某队,brigade,330106001,30.1,120.1\nFB-Y,某队,full_time_brigade,999,30.1,120.1\n' >"$BAD/rescue_units.csv"
if "$HZ_BUILD/hazardctl" import "$BAD" 2>"$(hz_tmp)/bad.err"; then hz_fail "a bad rescue_units.csv was accepted"; fi
hz_assert_grep "$(hz_tmp)/bad.err" "rescue_units.csv:3: column kind: invalid kind \"brigade\"" "the bad kind is named by line"
hz_assert_eq 19 "$(hz_q "select count(*) from hazard.rescue_units")" "nothing imported from the bad file"

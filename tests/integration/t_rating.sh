#!/usr/bin/env bash
# hz-timeout: 120
# The township three-colour rating: computed from open tickets by the
# rules' formula, recorded in hazard.town_ratings and published (Kafka,
# MQTT, escalation log) only when it changes; drills do not count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

RULES=$(hz_tmp)/rules.yaml
sed 's/^  interval: 10s$/  interval: 1s/' "$HZ_SRC/deploy/rules.yaml" >"$RULES"
grep -q '^  interval: 1s$' "$RULES" || hz_fail "could not shorten the rating interval"
HZ_RULES=$RULES hz_pipeline_setup
mapfile -t TOWNS < <(hz_q "select code from hazard.org_units where level = 'town' order by code")
T1=${TOWNS[0]} T2=${TOWNS[1]}
NT=${#TOWNS[@]}
hz_pipeline_start
rating() { hz_q "select coalesce((select rating from hazard.town_ratings where town_code = '$1'), '')"; }
lines() { grep -c "\"type\":\"rating\".*\"town\":\"$1\"" "$HZ_ESC_LOG" || true; }

hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.town_ratings')\" = $NT ]" 10 "every town rated at start"
hz_assert_eq green "$(rating "$T1")" "a town without open tickets is green"
now=$(date -u +%FT%TZ)
exp=$(date -u -d '+6 hours' +%FT%TZ)
warn() { # id type level refs area mode
	printf '{"eventId":"ev-%s","sentAt":"%s","warningId":"%s","type":"%s","references":[%s],"areaCodes":["%s"],"hazardType":"typhoon","level":"%s","expires":"%s","mode":"%s"}' \
		"$1" "$now" "$1" "$2" "$4" "$5" "$3" "$exp" "$6"
}
hz_mqtt_pub hazard/v1/warnings "$(warn R1 WARNING_TYPE_ALERT LEVEL_RED "" "$T1" MODE_ACTUAL)"
hz_mqtt_pub hazard/v1/warnings "$(warn X1 WARNING_TYPE_ALERT LEVEL_RED "" "$T2" MODE_EXERCISE)"
hz_wait_for "[ \"\$(rating $T1)\" = red ]" 10 "a red ticket makes $T1 red"
sleep 2
hz_assert_eq green "$(rating "$T2")" "a drill does not change $T2's rating"
hz_assert_eq 2 "$(lines "$T1")" "two rating lines for $T1 (green at start, red)"
hz_assert_grep "$HZ_ESC_LOG" "\"type\":\"rating\".*\"town\":\"$T1\",\"rating\":\"red\",\"previous\":\"green\"" "the change, with what it was"
hz_mqtt_pub hazard/v1/warnings "$(warn R2 WARNING_TYPE_CANCEL LEVEL_RED '"R1"' "$T1" MODE_ACTUAL)"
hz_wait_for "[ \"\$(rating $T1)\" = green ]" 10 "$T1 green again after the cancel"
sleep 2
hz_assert_eq 3 "$(lines "$T1")" "no rating published without a change"
KEYS=$(hz_kafka_consume "$T_RATINGS" $((NT + 2)) 20 -f '%k\n') || hz_fail "expected $((NT + 2)) TownRatings on hazard.ratings"
hz_assert_eq 3 "$(printf '%s\n' "$KEYS" | grep -cx "$T1")" "three TownRatings keyed by $T1"
hz_stop_daemon

#!/usr/bin/env bash
# hz-timeout: 300
# kill -9 of hazardd in the middle of a 10,000-message Kafka run, several
# times, then a final restart: every message's effect is present exactly
# once (ticket joins, event counts, dead letters, consumed positions).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

N=${HZ_KILL9_MESSAGES:-10000}
hz_pipeline_setup
# small batches so that the run lasts long enough to be killed inside it
echo "pipeline.batch_max = 10" >>"$HZ_CONF"
hz_q "select device_id || ' ' || site_id from hazard.devices where metric = 'smoke' order by device_id" >"$(hz_tmp)/devs"
[ "$(wc -l <"$(hz_tmp)/devs")" -ge 10 ] || hz_fail "need at least 10 smoke devices"

# Every 10th message is an alarm (smoke 3..12 %/m), every 100th (offset by 5)
# is malformed; the rest are quiet readings.
now=$(date -u +%FT%TZ)
awk -v n="$N" -v now="$now" '
	{ dev[NR-1] = $1; site[NR-1] = $2 } END {
	nd = NR
	for (i = 0; i < n; i++) {
		d = i % nd
		if (i % 100 == 5) { printf "%s:{\"eventId\":\"k9-%d\",\"broken\n", site[d], i; continue }
		v = (i % 10 == 0) ? 3 + (i / 10) % 10 : 0.1
		printf "%s:{\"eventId\":\"k9-%d\",\"observedAt\":\"%s\",\"deviceId\":\"%s\",\"metric\":\"METRIC_SMOKE\",\"value\":%s}\n", site[d], i, now, dev[d], v
	}}' "$(hz_tmp)/devs" >"$(hz_tmp)/corpus"
ALARMS=$(awk 'BEGIN{c=0} /"value":[0-9]/ { if ($0 !~ /"value":0.1}/) c++ } END{print c}' "$(hz_tmp)/corpus")
BAD=$(grep -c '"broken' "$(hz_tmp)/corpus")
hz_log "corpus: $N messages, $ALARMS alarms, $BAD malformed"
hz_kafka_produce "$T_READINGS" -K: <"$(hz_tmp)/corpus"

consumed() { hz_q "select coalesce(sum(next_offset),0) from hazard.source_offsets where source='kafka:$T_READINGS'"; }
kills=0
for round in 1 2 3 4; do
	hz_pipeline_start
	# wait for progress, then kill at a moment that moves each round
	before=$(consumed)
	hz_poll "[ \$(consumed) -gt $before ]" 30 || true
	sleep "0.$((round - 1))"
	if [ "$(consumed)" -lt "$N" ]; then
		hz_kill_daemon "$HZ_DAEMON_PID" KILL
		kills=$((kills + 1))
		hz_log "round $round: killed at $(consumed) of $N consumed"
	else
		hz_stop_daemon
		break
	fi
done
hz_daemon_alive 2>/dev/null && hz_stop_daemon
hz_pipeline_start
hz_wait_for "[ \$(consumed) = $N ]" 120 "all $N messages consumed"
hz_wait_for "[ \"\$(hz_q 'select count(*) from hazard.outbox')\" = 0 ]" 30 "outbox drained"
hz_stop_daemon
hz_log "killed $kills times"
hz_assert_ge "$kills" 1 "the daemon was killed at least once mid-run"
hz_assert_eq "$ALARMS" "$(hz_q "select count(*) from hazard.ticket_events where event_id like 'k9-%'")" "every alarm joined a ticket exactly once"
hz_assert_eq "$ALARMS" "$(hz_q "select coalesce(sum(event_count),0) from hazard.tickets")" "event counts add up to the alarms"
hz_assert_eq "$BAD" "$(hz_q "select count(*) from hazard.dead_letters")" "one dead letter per malformed message"
hz_assert_eq 0 "$(hz_q "select count(*) from (select site_id, hazard_type from hazard.tickets where state not in ('closed','dismissed') group by 1,2 having count(*) > 1) d")" "no duplicate open tickets"
hz_assert_eq "$(hz_q "select count(distinct site_id) from hazard.ticket_events e join hazard.tickets t using (ticket_id)")" "$(hz_q "select count(*) from hazard.tickets")" "one ticket per site with alarms"

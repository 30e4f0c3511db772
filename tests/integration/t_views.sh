#!/usr/bin/env bash
# hz-timeout: 60
# The dashboard views of sql/014 (hazard.v_*) on known data: open tickets
# by town and level, overdue tickets, time to acknowledge per ticket and
# per town, call-and-respond steps and performance per org unit, drills.
# Drills and old tickets are in the data to be left out.
. "$(dirname "$0")/lib.sh"

hz_fresh_db
"$HZ_BUILD/hazardctl" --sql-dir "$HZ_SRC/sql" migrate >/dev/null || hz_fail "migrate failed"
# id kind state level town mode opened (ago) acked (after opening) deadline (ago) overdue_at closed
hz_psql "
insert into hazard.tickets (ticket_id, kind, state, level, town_code, hazard_type, tier, episode_key, mode,
	opened_at, updated_at, acked_at, deadline_at, overdue_at, closed_at)
select id, kind, state, level, town, 'x', 'grid', 'ep-' || id, mode, now() - opened, now(),
	now() - opened + acked, now() - deadline, case when marked then now() - deadline + interval '1 s' end,
	case when state in ('closed', 'dismissed') then now() - opened + interval '1 h' end
from (values
	(1, 'alarm',  'discovered', 'red',    'T1', 'actual',   interval '10 min', interval '60 s',  null::interval, false),
	(2, 'alarm',  'discovered', 'red',    'T1', 'actual',   interval '5 min',  null,             null,           false),
	(3, 'hazard', 'rectifying', 'orange', 'T1', 'actual',   interval '2 h',    interval '120 s', interval '1 day', true),
	(4, 'alarm',  'closed',     'yellow', 'T2', 'actual',   interval '3 days', interval '300 s', null,           false),
	(5, 'alarm',  'discovered', 'red',    'T2', 'exercise', interval '5 min',  interval '20 s',  null,           false),
	(6, 'hazard', 'discovered', 'blue',   'T2', 'actual',   interval '20 days', null,            interval '1 h', false),
	(7, 'alarm',  'dismissed',  'red',    'T1', 'actual',   interval '40 days', interval '10 s', null,           false),
	(8, 'alarm',  'closed',     'red',    'T2', 'actual',   interval '1 day',  null,             null,           false),
	(9, 'warning','discovered', 'orange', 'T2', 'actual',   interval '1 h',    null,             interval '1 min', false)
) v(id, kind, state, level, town, mode, opened, acked, deadline, marked);
-- escalation steps: (ticket, tier, org, at = opened + offset)
insert into hazard.escalations (ticket_id, tier, repeat, at, from_tier, level, org_code, reason, mode)
select e.id, e.tier, 0, t.opened_at + e.off, 'grid', t.level, e.org, 'test', t.mode
from (values
	(1, 'town',   'T1', interval '30 s'),     -- answered 30 s later
	(2, 'town',   'T1', interval '60 s'),     -- passed on to the county
	(2, 'county', 'C1', interval '120 s'),    -- still waiting
	(3, 'county', 'C1', interval '1 h'),      -- close-out escalation after the ack
	(4, 'town',   'T2', interval '100 s'),    -- answered 200 s later
	(8, 'town',   'T2', interval '100 s'),    -- closed, never answered
	(5, 'town',   'T2', interval '10 s'),     -- a drill
	(7, 'town',   'T1', interval '5 s')       -- 40 days ago
) e(id, tier, org, off) join hazard.tickets t on t.ticket_id = e.id;"
q() { hz_psql "$1" -F '|'; }
hz_assert_eq "T1|orange|1|0|1
T1|red|2|1|0
T2|blue|1|1|1
T2|orange|1|1|0" "$(q "select town_code, level, open_tickets, unacknowledged, overdue from hazard.v_open_by_town_level order by 1, 2")" "v_open_by_town_level: open live tickets, drills and closed ones left out"
hz_assert_eq "3|t|t
6|f|t" "$(q "select ticket_id, overdue_at is not null, overdue_for > interval '0' from hazard.v_overdue order by 1")" "v_overdue: marked or not yet, warnings left out"
hz_assert_eq "1|60|1
2||2
3|120|0
4|300|1
6||0
7|10|1
8||1
9||0" "$(q "select ticket_id, seconds_to_ack, steps_before_ack from hazard.v_time_to_ack order by 1")" "v_time_to_ack per ticket, no drill"
hz_assert_eq "T1|3|2|1|90
T2|4|1|3|300" "$(q "select town_code, tickets, acknowledged, not_acknowledged, median_seconds from hazard.v_time_to_ack_by_town order by 1")" "v_time_to_ack_by_town: 30 days, median"
hz_assert_eq "1|town|answered|30
2|town|passed_on|
2|county|waiting|
3|county|acked_before|
4|town|answered|200
7|town|answered|5
8|town|closed_unanswered|" "$(q "select ticket_id, tier, outcome, extract(epoch from time_to_answer)::int from hazard.v_escalation_steps order by ticket_id, at")" "v_escalation_steps: each step's outcome"
hz_assert_eq "C1|county|1|0|0|0|1||
T1|town|2|1|1|0|0|50.0|30
T2|town|2|1|0|1|0|50.0|200" "$(q "select org_code, tier, steps, answered, passed_on, closed_unanswered, waiting, answered_pct, median_seconds_to_answer from hazard.v_call_response order by 1")" "v_call_response per org unit, 30 days"
hz_assert_eq "5|exercise|20|1" "$(q "select ticket_id, mode, extract(epoch from time_to_ack)::int, escalation_steps from hazard.v_drills")" "v_drills: the drill alone"
hz_log "views: expected rows"

#!/usr/bin/env bash
# hz-timeout: 120
# The tamper-evident ticket history (sql/014, hazardctl verify): rows
# written before the migration are chained by it; every row inserted
# after is chained by the trigger, also two rows of one new ticket in one
# INSERT; an outsider can recompute a hash with sha256sum; and verify,
# which recomputes the chain in C, finds a changed reason, a rewritten
# hash, a missing row and a ticket without history, as a superuser with
# the append-only trigger disabled would leave them.
. "$(dirname "$0")/lib.sh"

CTL=$HZ_BUILD/hazardctl
hz_fresh_db
# --- a database from before 014, with history in it
OLD=$(hz_tmp old-sql)
for f in "$HZ_SRC"/sql/*.sql; do
	n=${f##*/}
	[[ $n < 014 ]] && cp "$f" "$OLD/"
done
"$CTL" --sql-dir "$OLD" migrate >/dev/null || hz_fail "migrate to 013 failed"
hz_psql "
insert into hazard.tickets (ticket_id, kind, state, level, hazard_type, tier, episode_key, mode, opened_at, updated_at)
select i, 'alarm', 'discovered', 'red', 'fire_smoke', 'grid', 'S-' || i || '|fire_smoke',
       case when i = 3 then 'exercise' else 'actual' end, now(), now() from generate_series(1, 3) i;
insert into hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, tier, actor, reason, event_id)
select t, s, timestamptz '2024-01-01 00:00:00+00' + (t * 10 + s) * interval '1 second',
       case when s > 1 then 'discovered' end, 'discovered', 'red', 'grid', 'hazardd',
       'row ' || s || ' of ' || t || ' | 中文, \"quoted\"', 'ev-' || t || '-' || s
from generate_series(1, 3) t, generate_series(1, 4) s;"
"$CTL" --sql-dir "$HZ_SRC/sql" migrate >/dev/null || hz_fail "migrate to 014 failed"
hz_assert_eq "12|0" "$(hz_psql "select count(*), count(*) filter (where hash is null or (seq > 1) <> (prev_hash is not null)) from hazard.ticket_history")" "the migration chained every existing row"
hz_assert_eq "exercise" "$(hz_psql "select string_agg(distinct mode, ',') from hazard.ticket_history where ticket_id = 3")" "backfilled history rows carry their ticket's mode"
OUT=$("$CTL" verify) || hz_fail "verify of the backfilled chain failed: $OUT"
hz_assert_match "$OUT" "history intact: 12 rows of 3 tickets" "verify says intact"

# --- an outsider recomputes a hash from the documented canonical text
# (built in the shell from the row's columns, the way an outsider would)
row=$(hz_psql "select ticket_id, seq, (extract(epoch from at) * 1000000)::int8, coalesce(from_state,''), to_state, level, tier, actor, reason, event_id, mode, coalesce(action,''), coalesce(actor_tier,''), coalesce((extract(epoch from acted_at) * 1000000)::int8::text,''), coalesce(note,''), coalesce((select string_agg(octet_length(u) || ':' || u || ',', '' order by o) from unnest(evidence_urls) with ordinality x(u, o)),''), coalesce(assignee,''), coalesce(flags,''), encode(prev_hash, 'hex'), encode(hash, 'hex') from hazard.ticket_history where ticket_id = 1 and seq = 2" -F $'\x1f')
IFS=$'\x1f' read -r -a f <<<"$row"
ns() { printf '%d:%s,' "$(printf '%s' "$1" | wc -c)" "$1"; }
canon="$(ns th1)"
for i in $(seq 0 18); do canon+="$(ns "${f[$i]}")"; done
got=$(printf '%s' "$canon" | sha256sum | cut -d' ' -f1)
hz_assert_eq "${f[19]}" "$got" "sha256sum of the documented canonical text is the stored hash"

# --- new rows: the trigger chains them, two of a new ticket in one INSERT
hz_psql "insert into hazard.tickets (ticket_id, kind, state, level, hazard_type, tier, episode_key, mode, opened_at, updated_at)
	values (4, 'alarm', 'closed', 'orange', 'fire_smoke', 'grid', 'S-4|fire_smoke', 'test', now(), now())"
hz_psql "insert into hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, tier, actor, reason, event_id)
	select * from unnest(array[4, 4], array[1, 2], array[now(), now()], array[null, 'discovered'], array['discovered', 'closed'],
	array['orange', 'orange'], array['grid', 'grid'], array['hazardd', 'hazardd'], array['opened', 'cleared'], array['e1', 'e2'])"
hz_assert_eq "t|test" "$(hz_psql "select b.prev_hash = a.hash, b.mode from hazard.ticket_history a join hazard.ticket_history b on b.ticket_id = a.ticket_id and b.seq = 2 where a.ticket_id = 4 and a.seq = 1")" "seq 2 in the same INSERT links to seq 1, mode from the ticket"
hz_psql "insert into hazard.ticket_history (ticket_id, seq, at, from_state, to_state, actor, reason, hash, prev_hash)
	values (1, 5, now(), 'discovered', 'discovered', 'duty-1', 'acknowledged', '\\x00', '\\x00')"
OUT=$("$CTL" verify --json) || hz_fail "verify after the trigger's rows: $OUT"
hz_assert_match "$OUT" '^\{"intact":true,"rows":15,"tickets":4,"breaks":\[\]\}$' "intact, JSON (a writer's own hash is overwritten)"
hz_psql "update hazard.ticket_history set reason = 'x' where ticket_id = 1" 2>/dev/null && hz_fail "an UPDATE of history was allowed"

# --- tampering, as a superuser who turns the append-only trigger off
tamper() {
	hz_psql "alter table hazard.ticket_history disable trigger user; $1; alter table hazard.ticket_history enable trigger user"
}
tamper "update hazard.ticket_history set reason = 'nothing happened' where ticket_id = 2 and seq = 2"
rc=0
OUT=$("$CTL" verify) || rc=$?
hz_assert_eq 1 "$rc" "verify exits 1 on a broken chain"
hz_assert_match "$OUT" "ticket 2 seq 2: hash mismatch" "the changed reason is found"
hz_assert_match "$OUT" "history BROKEN: 1 break in 15 rows" "and nothing else"
# the command columns are in the hash too: swapped evidence is found
tamper "update hazard.ticket_history set evidence_urls = array['https://forged/ok.jpg'] where ticket_id = 1 and seq = 1"
OUT=$("$CTL" verify --ticket 1) && hz_fail "verify passed forged evidence: $OUT"
hz_assert_match "$OUT" "ticket 1 seq 1: hash mismatch" "forged evidence is found"
tamper "update hazard.ticket_history set evidence_urls = NULL where ticket_id = 1 and seq = 1"
"$CTL" verify --ticket 1 >/dev/null || hz_fail "ticket 1 does not verify once the forged evidence is gone"
# a careful forger recomputes the row's hash: the next row's link breaks
tamper "update hazard.ticket_history set hash = sha256(hazard.ticket_history_canon(ticket_id, seq, at, from_state, to_state, level, tier, actor, reason, event_id, mode, action, actor_tier, acted_at, note, evidence_urls, assignee, flags, prev_hash)) where ticket_id = 2 and seq = 2"
OUT=$("$CTL" verify --json --ticket 2) && hz_fail "verify passed a rewritten chain: $OUT"
hz_assert_match "$OUT" '"breaks":\[\{"ticket_id":2,"seq":3,"what":"previous hash mismatch"' "the rewritten hash shows at seq 3"
# a row removed from the middle, and a ticket's whole history removed
tamper "delete from hazard.ticket_history where ticket_id = 3 and seq = 2"
tamper "delete from hazard.ticket_history where ticket_id = 4"
rc=0
OUT=$("$CTL" verify --json) || rc=$?
hz_assert_eq 1 "$rc" "verify exits 1"
hz_assert_eq 3 "$(printf '%s' "$OUT" | jq '.breaks | length')" "three breaks: $OUT"
hz_assert_eq "2 3 previous hash mismatch|3 2 missing seq|4 1 missing seq" \
	"$(printf '%s' "$OUT" | jq -r '[.breaks[] | "\(.ticket_id) \(.seq) \(.what)"] | join("|")')" "every break, by ticket and seq"
OUT=$("$CTL" verify --ticket 1) || hz_fail "ticket 1 is intact: $OUT"
OUT=$("$CTL" verify --since 2024-01-01T00:00:33Z --ticket 3) && hz_fail "since: the gap before the window is a break: $OUT"
hz_assert_match "$OUT" "ticket 3 seq 2: missing seq" "--since links the window to the row before it"
rc=0
OUT=$("$CTL" verify --ticket 99 2>&1) || rc=$?
hz_assert_eq 1 "$rc" "an unknown ticket is an error"
hz_assert_match "$OUT" "ticket 99 does not exist" "and says so"
hz_log "chain: backfill, trigger, outsider's hash, tampering found"

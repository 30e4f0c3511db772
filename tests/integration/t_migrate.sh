#!/usr/bin/env bash
# t_migrate.sh - the schema migrations: applied in full on an empty database,
# a second run applies nothing, six `hazardctl migrate` started together apply
# each migration exactly once, a database newer than the files is refused, a
# broken migration rolls back whole and names its file and line; and the two
# guarantees the schema itself gives: ticket_history is append-only, and at
# most one ticket per episode_key is open at a time.
# hz-timeout: 120
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

hz_require psql
CTL=$HZ_BUILD/hazardctl
SQL=$HZ_SRC/sql
[ -x "$CTL" ] || hz_fail "$CTL is missing: run make"
nfiles=$(find "$SQL" -maxdepth 1 -name '[0-9]*_*.sql' | wc -l)
maxv=$(find "$SQL" -maxdepth 1 -name '[0-9]*_*.sql' -printf '%f\n' | sort | tail -n 1 | sed 's/_.*//; s/^0*//')
hz_assert_ge "$nfiles" 3 "migration files in $SQL"
out=$(hz_tmp)

# run_ctl NAME ARGS...: hazardctl with stdout/stderr in $out/NAME.{out,err};
# sets $rc instead of failing.
run_ctl() {
	local name=$1
	shift
	rc=0
	"$CTL" "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
}
show() { sed 's/^/  | /' "$out/$1.out" "$out/$1.err" >&2; }

# --- an empty database gets every migration --------------------------------
hz_fresh_db
run_ctl first --sql-dir "$SQL" migrate
[ "$rc" = 0 ] || { show first; hz_fail "first migrate exited $rc"; }
hz_assert_eq "applied $nfiles migrations from $SQL; schema at version $maxv" "$(cat "$out/first.out")" \
	"first migrate output"
hz_assert_eq "$nfiles|$nfiles|$maxv" \
	"$(hz_psql 'select count(*), count(distinct version), max(version) from hazard.schema_migrations')" \
	"ledger after the first run (rows|versions|max)"
for t in schema_migrations org_units sites devices people duty_roster registry_version tickets \
	ticket_history ticket_events dead_letters source_offsets outbox; do
	hz_assert_eq t "$(hz_psql "select to_regclass('hazard.$t') is not null")" "table hazard.$t exists"
done
hz_assert_eq "1|0" "$(hz_psql 'select id, version from hazard.registry_version')" "registry_version row"
hz_assert_eq "" "$(cat "$out/first.err")" "first migrate stderr (no notices)"

# --- a second run applies nothing -------------------------------------------
ledger_sql="select string_agg(version || ' ' || applied_at, ', ' order by version) from hazard.schema_migrations"
before=$(hz_psql "$ledger_sql")
run_ctl second --sql-dir "$SQL" migrate
[ "$rc" = 0 ] || { show second; hz_fail "second migrate exited $rc"; }
hz_assert_eq "schema is up to date at version $maxv" "$(cat "$out/second.out")" "second migrate output"
hz_assert_eq "$before" \
	"$(hz_psql "$ledger_sql")" \
	"ledger unchanged by the second run"

# --- six at once on another empty database: each migration exactly once -----
hz_fresh_db
pids=()
for i in 1 2 3 4 5 6; do
	"$CTL" --sql-dir "$SQL" migrate >"$out/par$i.out" 2>"$out/par$i.err" &
	pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { failed=$((failed + 1)); show "par$((i + 1))"; }
done
hz_assert_eq 0 "$failed" "parallel migrate runs that failed"
hz_assert_eq "$nfiles|$nfiles" \
	"$(hz_psql 'select count(*), count(distinct version) from hazard.schema_migrations')" \
	"ledger after six parallel runs (rows|distinct versions)"
total=$(cat "$out"/par*.out | awk '/^applied/ {s += $2} END {print s + 0}')
hz_assert_eq "$nfiles" "$total" "migrations applied, summed over the six runs"
hz_log "six parallel runs applied $total migrations between them"

# --- append-only history ------------------------------------------------------
hz_psql "insert into hazard.tickets (kind, state, level, hazard_type, tier, episode_key,
	opened_at, updated_at) values ('alarm', 'discovered', 'red', 'fire_smoke', 'grid', 'S1|fire_smoke',
	now(), now())" >/dev/null
tid=$(hz_psql "select ticket_id from hazard.tickets where episode_key = 'S1|fire_smoke'")
hz_psql "insert into hazard.ticket_history (ticket_id, seq, at, to_state, actor) values
	($tid, 1, now(), 'discovered', 'hazardd')" >/dev/null
for stmt in "update hazard.ticket_history set actor = 'mallory' where ticket_id = $tid" \
	"delete from hazard.ticket_history where ticket_id = $tid" \
	"truncate hazard.ticket_history"; do
	if msg=$(hz_psql "$stmt" -v VERBOSITY=verbose 2>&1); then
		hz_fail "expected \"$stmt\" to be refused, it succeeded"
	fi
	hz_assert_match "$msg" "23001.*append-only" "refusal of: $stmt"
done
hz_assert_eq "1|hazardd" "$(hz_psql "select count(*), max(actor) from hazard.ticket_history")" \
	"history after refused changes"
hz_psql "insert into hazard.ticket_history (ticket_id, seq, at, from_state, to_state, actor) values
	($tid, 2, now(), 'discovered', 'confirmed', 'P-1')" >/dev/null
hz_assert_eq 2 "$(hz_psql 'select count(*) from hazard.ticket_history')" "appending still works"

# --- one open ticket per episode --------------------------------------------
open_ticket() {
	hz_psql "insert into hazard.tickets (kind, state, level, hazard_type, tier, episode_key,
		opened_at, updated_at) values ('alarm', 'discovered', 'red', 'fire_smoke', 'grid',
		'$1', now(), now()) returning ticket_id" -v VERBOSITY=verbose 2>&1
}
if msg=$(open_ticket 'S1|fire_smoke'); then
	hz_fail "expected a second open ticket for S1|fire_smoke to be refused, got ticket $msg"
fi
hz_assert_match "$msg" "23505.*tickets_open_episode_key" "second open ticket for one episode"
open_ticket 'S2|fire_smoke' >/dev/null || hz_fail "another episode could not open a ticket"
hz_psql "update hazard.tickets set state = 'closed', closed_at = now() where ticket_id = $tid" >/dev/null
new=$(open_ticket 'S1|fire_smoke') || hz_fail "a new ticket after the first was closed was refused: $new"
if msg=$(open_ticket 'S1|fire_smoke'); then
	hz_fail "expected a third (second open) ticket for S1|fire_smoke to be refused, got $msg"
fi
hz_psql "update hazard.tickets set state = 'dismissed' where ticket_id = $new" >/dev/null
open_ticket 'S1|fire_smoke' >/dev/null || hz_fail "a new ticket after a dismissal was refused"
hz_assert_eq "closed,dismissed,discovered" \
	"$(hz_psql "select string_agg(state, ',' order by ticket_id) from hazard.tickets where episode_key = 'S1|fire_smoke'")" \
	"states of the S1|fire_smoke tickets"

# --- a database newer than the files is refused --------------------------------
hz_psql "insert into hazard.schema_migrations (version, name) values (999, '999_future.sql')" >/dev/null
run_ctl newer --sql-dir "$SQL" migrate
hz_assert_eq 1 "$rc" "exit status against a newer schema"
hz_assert_match "$(cat "$out/newer.err")" "schema is at version 999 but the newest migration .* is $maxv" \
	"message against a newer schema"

# --- a broken migration rolls back whole and names file and line ------------------
hz_fresh_db
mkdir -p "$out/sql"
cp "$SQL"/*.sql "$out/sql/"
bad=$(printf '%03d_broken.sql' $((maxv + 1)))
printf -- '-- 一个坏的迁移\nCREATE TABLE hazard.half_done (a int);\n\nCREATE TABLE hazard.never (\n  b no_such_type\n);\n' \
	>"$out/sql/$bad"
run_ctl broken --sql-dir "$out/sql" migrate
hz_assert_eq 1 "$rc" "exit status of a broken migration"
hz_assert_match "$(cat "$out/broken.err")" "migration $bad failed: line 5: type \"no_such_type\" does not exist \(SQLSTATE 42704\)" \
	"message of a broken migration"
hz_assert_match "$(cat "$out/broken.err")" "applied $nfiles migrations before the failure" \
	"the good migrations before it are reported"
hz_assert_eq t "$(hz_psql "select to_regclass('hazard.half_done') is null")" \
	"the broken file's first table was rolled back"
hz_assert_eq "$maxv" "$(hz_psql 'select max(version) from hazard.schema_migrations')" \
	"ledger stops before the broken file"

# --- no password in errors --------------------------------------------------------
run_ctl nopass -d "host=127.0.0.1 port=1 dbname=x user=u password=canary-s3cret connect_timeout=2" --sql-dir "$SQL" migrate
hz_assert_eq 3 "$rc" "exit status when the server is unreachable (3: database unavailable)"
hz_assert_match "$(cat "$out/nopass.err")" '^hazardctl: could not connect to "host=127.0.0.1 port=1 dbname=x user=u password=\*+ connect_timeout=2": connection refused' \
	"connection error"
hz_assert_no_grep "$out/nopass.err" canary "the password is redacted"
hz_log "ok: $nfiles migrations, exactly once under concurrency; history append-only; one open ticket per episode"

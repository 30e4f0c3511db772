#!/usr/bin/env bash
# The cost of the history hash chain (sql/014): the same 10,000 history
# rows appended with the chain trigger on and off, in ten INSERTs of 1,000
# rows shaped like the batch writer's (UNNEST of arrays; half of them seq 2,
# so half the rows probe for their previous row), each run on a fresh copy
# of one database, BENCH_CHAIN_RUNS (default 5) runs each, medians printed.
# Sourced by run.sh (needs SRC, BUILD and the servers' env), or on its own:
#   HZ_RUN_DIR=DIR bash tests/bench/history_chain.sh   (DIR from services.sh start)
if [ -z "${PGHOST:-}" ] && [ -n "${HZ_RUN_DIR:-}" ]; then
	# shellcheck source=/dev/null
	. "$HZ_RUN_DIR/env"
fi
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
RUNS=${BENCH_CHAIN_RUNS:-5}
base=bench_chain_base
cq() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
cq -d postgres -c "DROP DATABASE IF EXISTS $base" >/dev/null 2>&1
cq -d postgres -c "CREATE DATABASE $base OWNER hazard" >/dev/null
HZ_PG_DSN="host=$HZ_PG_HOST port=$HZ_PG_PORT dbname=$base user=hazard" \
	"$BUILD/hazardctl" --sql-dir "$SRC/sql" migrate >/dev/null
cq -d "$base" -c "INSERT INTO hazard.tickets (ticket_id, kind, state, level, hazard_type, tier, episode_key,
	opened_at, updated_at) SELECT g, 'alarm', 'discovered', 'red', 'fire_smoke', 'grid', 'b|' || g, now(), now()
	FROM generate_series(1, 5000) g; ANALYZE hazard.tickets"
# one run: ms for the 10 INSERTs (the writers give the mode, as the batch does)
one_run() { # on|off
	local db=bench_chain_run
	cq -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	cq -d postgres -c "CREATE DATABASE $db TEMPLATE $base" >/dev/null
	[ "$1" = off ] && cq -d "$db" -c "ALTER TABLE hazard.ticket_history DISABLE TRIGGER ticket_history_chain"
	cq -d "$db" -c "DO \$\$
	DECLARE t0 timestamptz := clock_timestamp();
	BEGIN
	FOR b IN 0..9 LOOP
		INSERT INTO hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, tier, actor,
			reason, event_id, mode)
		SELECT u.id, u.seq, now(), u.fs, 'discovered', 'red', 'grid', 'hazardd', u.reason, u.ev, 'actual'
		FROM unnest(array(SELECT (b % 5) * 1000 + g FROM generate_series(1, 1000) g),
		            array(SELECT 1 + b / 5 FROM generate_series(1, 1000)),
		            array(SELECT CASE WHEN b >= 5 THEN 'discovered' END FROM generate_series(1, 1000)),
		            array(SELECT 'rule smoke-obscuration: smoke 12.5 %/m >= red 10 at device D-' || g
		                  FROM generate_series(1, 1000) g),
		            array(SELECT 'ev-' || b || '-' || g FROM generate_series(1, 1000) g))
		     AS u(id, seq, fs, reason, ev);
	END LOOP;
	RAISE NOTICE 'ms=%', round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
	END \$\$" 2>&1 | sed -n 's/.*ms=//p'
	cq -d postgres -c "DROP DATABASE $db" >/dev/null
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
on=() off=()
for _ in $(seq "$RUNS"); do
	off+=("$(one_run off)")
	on+=("$(one_run on)")
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)
cq -d postgres -c "DROP DATABASE $base" >/dev/null
echo "== history hash chain: 10,000 history rows in 10 INSERTs of 1,000 (median of $RUNS runs)"
awk -v on="$m_on" -v off="$m_off" -v a="${on[*]}" -v b="${off[*]}" 'BEGIN {
	printf "   trigger off : %8.1f ms  (%.1f us/row)   runs: %s\n", off, off * 100 / 1000, b
	printf "   trigger on  : %8.1f ms  (%.1f us/row)   runs: %s\n", on, on * 100 / 1000, a
	printf "   overhead    : %8.1f ms per 10,000 rows, %.1f us per row, x%.2f\n", on - off, (on - off) * 100 / 1000, on / off
}'

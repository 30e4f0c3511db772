#!/usr/bin/env bash
# t_hazardctl.sh - hazardctl against a real database: importing the demo
# registry gives the CSVs' row counts and a registry the daemon's loader
# accepts; re-importing changes nothing but the version; a CSV with bad rows
# is refused naming file:line and column and leaves the database exactly as
# it was; `tickets list` filters, `tickets show` (text and --json) and
# `dead-letters` print what psql inserted; usage errors exit 2.
# hz-timeout: 120
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

hz_require psql jq
CTL=$HZ_BUILD/hazardctl
DEMO=$HZ_SRC/deploy/demo/registry
[ -x "$CTL" ] || hz_fail "$CTL is missing: run make"
out=$(hz_tmp)
export TZ=UTC

run_ctl() {
	local name=$1
	shift
	rc=0
	"$CTL" "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
}
show() { sed 's/^/  | /' "$out/$1.out" "$out/$1.err" >&2; }
expect_rc() { # expect_rc WANT NAME WHAT
	[ "$rc" = "$1" ] || { show "$2"; hz_fail "$3: expected exit status $1, got $rc"; }
}
rows() { echo $(($(grep -c '' "$DEMO/$1") - 1)); }
counts_sql="select (select count(*) from hazard.org_units) || ' ' || (select count(*) from hazard.sites)
	|| ' ' || (select count(*) from hazard.devices) || ' ' || (select count(*) from hazard.people)
	|| ' ' || (select count(*) from hazard.duty_roster) || ' v' || (select version from hazard.registry_version)"

hz_fresh_db
run_ctl migrate --sql-dir "$HZ_SRC/sql" migrate
expect_rc 0 migrate "migrate"

# --- the demo registry ------------------------------------------------------------
n_org=$(rows org_units.csv) n_site=$(rows sites.csv) n_dev=$(rows devices.csv)
n_people=$(rows people.csv) n_duty=$(rows duty.csv)
hz_log "demo registry: $n_org org units, $n_site sites, $n_dev devices, $n_people people, $n_duty duty entries"
run_ctl import1 import "$DEMO"
expect_rc 0 import1 "import of the demo registry"
hz_assert_eq "$n_org $n_site $n_dev $n_people $n_duty v1" "$(hz_psql "$counts_sql")" \
	"row counts after importing the demo registry (org sites devices people duty version)"
hz_assert_match "$(cat "$out/import1.out")" "devices.csv +$n_dev rows, +$n_dev new or changed" "import summary"
hz_assert_eq "1 3 9" "$(hz_psql "select count(*) filter (where level = 'city') || ' ' ||
	count(*) filter (where level = 'county') || ' ' || count(*) filter (where level = 'town') from hazard.org_units")" \
	"city, counties, towns"
hz_assert_eq 0 "$(hz_psql "select count(*) from hazard.sites s join hazard.org_units t on t.code = s.town_code
	where t.level <> 'town'")" "sites whose town_code is not a town"
hz_assert_ge "$(hz_psql "select count(*) from hazard.devices where range_min is not null")" 1 "devices with a range"
hz_assert_eq 4 "$(hz_psql "select count(distinct tier) from hazard.duty_roster")" "duty tiers covered"

run_ctl registry registry --json
expect_rc 0 registry "registry (the daemon's loader)"
hz_assert_eq "$n_org $n_site $n_dev $n_people $n_duty 1" \
	"$(jq -r '"\(.org_units) \(.sites) \(.devices) \(.people) \(.duty) \(.version)"' "$out/registry.out")" \
	"the snapshot's counts and version"
per=$(jq -r '.bytes_per_device | floor' "$out/registry.out")
hz_log "registry snapshot: $(jq -r .bytes "$out/registry.out") bytes, $per per device"
hz_assert_le "$per" 250 "registry bytes per device"

run_ctl import2 import "$DEMO"
expect_rc 0 import2 "re-import"
hz_assert_eq "$n_org $n_site $n_dev $n_people $n_duty v2" "$(hz_psql "$counts_sql")" "counts after re-import"
hz_assert_eq 6 "$(grep -c ' 0 new or changed' "$out/import2.out")" "a re-import changes no row (six files with rescue_units.csv)"

# --- bad rows: refused with file:line and column, database unchanged -----------------
bad=$out/bad
rm -rf "$bad"
cp -r "$DEMO" "$bad"
snapshot_sql="select md5(string_agg(t::text, '|' order by t::text)) from (
	select row(o.*)::text as t from hazard.org_units o union all select row(s.*)::text from hazard.sites s
	union all select row(d.*)::text from hazard.devices d union all select row(p.*)::text from hazard.people p
	union all select row(r.*)::text from hazard.duty_roster r union all select row(v.*)::text from hazard.registry_version v) x"
before=$(hz_psql "$snapshot_sql")
# a good change on line 2 (must not survive), a bad risk grade on line 7
sed -i '2s/,[^,]*,\([a-z_]*\),\(major\|significant\|general\|low\),/,改过的名字,\1,\2,/' "$bad/sites.csv"
sed -i '7s/,\(major\|significant\|general\|low\),/,high,/' "$bad/sites.csv"
# an org unit whose parent does not exist, at the end of the file
echo "330106001099,幽灵社区,village,330106999,," >>"$bad/org_units.csv"
org_line=$(grep -c '' "$bad/org_units.csv")
# a device of a site that does not exist
sed -i '5s/^\([^,]*\),[^,]*,/\1,SITE-NOWHERE,/' "$bad/devices.csv"
run_ctl bad1 import "$bad"
expect_rc 1 bad1 "import of a registry with a bad risk grade"
hz_assert_grep "$out/bad1.err" "^$bad/sites.csv:7: column risk_grade: invalid risk grade \"high\" \\(expected major, significant, general or low\\)$" \
	"the bad risk grade is reported with file:line and column"
hz_assert_grep "$out/bad1.err" "import refused, nothing changed" "the refusal says nothing changed"
hz_assert_eq "$before" "$(hz_psql "$snapshot_sql")" "registry unchanged after a refused import"
# with the grade fixed, the reference errors surface (checked in SQL)
sed -i '7s/,high,/,low,/' "$bad/sites.csv"
run_ctl bad2 import "$bad"
expect_rc 1 bad2 "import of a registry with an unknown parent and an unknown site"
hz_assert_grep "$out/bad2.err" "^$bad/org_units.csv:$org_line: column parent_code: unknown org unit \"330106999\"$" \
	"the unknown parent is reported with file:line and column"
hz_assert_grep "$out/bad2.err" "^$bad/devices.csv:5: column site_id: unknown site \"SITE-NOWHERE\"$" \
	"the unknown site is reported with file:line and column"
hz_assert_eq "$before" "$(hz_psql "$snapshot_sql")" "registry unchanged after the second refused import"
hz_assert_eq 0 "$(hz_psql "select count(*) from hazard.sites where name = '改过的名字'")" \
	"the good row of a refused import was not applied"

# --- tickets inserted with psql ---------------------------------------------------------
hz_psql "
insert into hazard.tickets (ticket_id, kind, state, level, site_id, town_code, county_code, hazard_type, tier,
	device_id, episode_key, opened_at, updated_at, deadline_at, event_count, first_event_id, last_event_id) values
 (101, 'alarm', 'discovered', 'red', 'SITE-330106001-0001', '330106001', '330106', 'fire_smoke', 'town',
  'DEV-330106001-0001-SMK-01', 'SITE-330106001-0001|fire_smoke', '2025-10-27T03:15:02Z', '2025-10-27T03:16:30Z',
  '2025-10-27T03:20:00Z', 3, 'ev-1', 'ev-3'),
 (102, 'hazard', 'closed', 'yellow', 'SITE-330110001-0001', '330110001', '330110', 'blocked_exit', 'town',
  null, 'SITE-330110001-0001|blocked_exit', '2025-10-20T01:00:00Z', '2025-10-25T01:00:00Z', null, 1, 'rep-9', 'rep-9'),
 (103, 'fault', 'confirmed', 'yellow', 'SITE-330106001-0002', '330106001', '330106', 'device_fault', 'grid',
  'DEV-330106001-0002-SMK-01', 'SITE-330106001-0002|device_fault', '2025-10-26T09:00:00Z', '2025-10-26T09:05:00Z',
  null, 1, 'st-1', 'st-1');
update hazard.tickets set closed_at = '2025-10-25T01:00:00Z' where ticket_id = 102;
insert into hazard.ticket_history (ticket_id, seq, at, from_state, to_state, level, tier, actor, reason, event_id) values
 (101, 1, '2025-10-27T03:15:02Z', null, 'discovered', 'yellow', 'grid', 'hazardd', 'smoke 2.5 %/m >= 2.0', 'ev-1'),
 (101, 2, '2025-10-27T03:16:00Z', 'discovered', 'discovered', 'red', 'grid', 'hazardd', 'level raised: smoke 11 %/m', 'ev-3'),
 (101, 3, '2025-10-27T03:16:30Z', 'discovered', 'discovered', 'red', 'town', 'hazardd', 'not acknowledged within 60 s', null),
 (102, 1, '2025-10-20T01:00:00Z', null, 'discovered', 'yellow', 'town', 'P-1', '巡查发现：安全出口被堵', 'rep-9'),
 (102, 2, '2025-10-25T01:00:00Z', 'discovered', 'closed', 'yellow', 'town', 'P-2', '已整改，复核通过', null);
insert into hazard.dead_letters (source, topic, partition, \"offset\", reason, payload, dedupe_key) values
 ('kafka', 'hazard.readings', 3, 1234, 'invalid protobuf: truncated varint', '\\x0a0b08ff'::bytea, 'k:3:1234');
" >/dev/null

# list_ids NAME ARGS...: the ticket ids `tickets list ARGS` prints, space-separated
list_ids() {
	local name=$1
	shift
	run_ctl "$name" tickets list "$@"
	expect_rc 0 "$name" "tickets list $*"
	awk 'NR > 1 && /^[0-9]/ {printf "%s%s", sep, $1; sep = " "}' "$out/$name.out"
}
hz_assert_eq "101 103 102" "$(list_ids all)" "tickets list (newest opened first)"
head -n 1 "$out/all.out" | grep -Eq '^ID +KIND +LEVEL +STATE +TIER +TOWN +SITE +NAME +HAZARD_TYPE +AGE +ACK +FLAGS$' ||
	{ show all; hz_fail "tickets list header: expected ID KIND LEVEL STATE TIER TOWN SITE NAME HAZARD_TYPE AGE ACK FLAGS"; }
hz_assert_grep "$out/all.out" '^101 +alarm +red +discovered +town +330106001 +SITE-330106001-0001 +.+ +fire_smoke +[0-9]+d +NO +OVERDUE$' \
	"tickets list row of ticket 101 (open, unacknowledged, past its deadline)"
hz_assert_grep "$out/all.out" '^102 +hazard +yellow +closed +town +330110001 +SITE-330110001-0001 +.+ +blocked_exit +[0-9]+d +- +-$' \
	"tickets list row of ticket 102 (closed)"
hz_assert_grep "$out/all.out" '^\(3 tickets\)$' "tickets list footer"
# the columns line up: every row's KIND starts where the header's does
col=$(head -n 1 "$out/all.out" | awk '{print index($0, "KIND")}')
hz_assert_eq "$col $col $col" "$(awk 'NR > 1 && /^[0-9]/ {printf "%s%s", sep, index($0, $2); sep = " "}' "$out/all.out")" \
	"KIND column position in each row"
hz_assert_eq "101 103" "$(list_ids town --town 330106001)" "tickets list --town 330106001"
hz_assert_eq "102" "$(list_ids county --county 330110)" "tickets list --county 330110"
hz_assert_eq "101 103" "$(list_ids open --open)" "tickets list --open"
hz_assert_eq "102" "$(list_ids closed --state closed)" "tickets list --state closed"
hz_assert_eq "103" "$(list_ids fault --kind fault)" "tickets list --kind fault"
hz_assert_eq "101 103 102" "$(list_ids yellow --level yellow)" "tickets list --level yellow (at least)"
hz_assert_eq "103 102" "$(list_ids yellowx --level =yellow)" "tickets list --level =yellow (exactly)"
hz_assert_eq "101 103" "$(list_ids since --since 2025-10-26T00:00:00+08:00)" "tickets list --since"
hz_assert_eq "103" "$(list_ids combo --town 330106001 --open --kind fault --level yellow)" "tickets list, filters combined"
hz_assert_eq "" "$(list_ids none --town 330112001)" "tickets list --town with no tickets"
hz_assert_eq "101" "$(list_ids limit --limit 1)" "tickets list --limit 1"
hz_assert_grep "$out/limit.out" 'more match' "tickets list --limit says more match"
run_ctl listjson tickets list --open --json
expect_rc 0 listjson "tickets list --json"
hz_assert_eq "101 103" "$(jq -r '[.[].ticket_id] | join(" ")' "$out/listjson.out")" "tickets list --json ids"

run_ctl show tickets show 101
expect_rc 0 show "tickets show 101"
hz_assert_eq "ticket 101: alarm discovered, level red, tier town" "$(head -n 1 "$out/show.out")" "tickets show title"
site_name=$(hz_psql "select name from hazard.sites where site_id = 'SITE-330106001-0001'")
hz_assert_grep "$out/show.out" "^  site +SITE-330106001-0001 \\($site_name\\)$" "tickets show site line"
hz_assert_grep "$out/show.out" '^  town +330106001 \(西溪街道\)$' "tickets show town line"
hz_assert_grep "$out/show.out" '^  deadline +2025-10-27T03:20:00Z \(OVERDUE\)$' "tickets show deadline"
hz_assert_grep "$out/show.out" '^  events +3 \(first ev-1, last ev-3\)$' "tickets show events"
hz_assert_grep "$out/show.out" '^SEQ +AT +CHANGE +LEVEL +TIER +ACTOR +REASON +EVENT_ID +EVIDENCE$' "tickets show history header"
hz_assert_grep "$out/show.out" '^1 +2025-10-27T03:15:02Z +\(new\) -> discovered +yellow +grid +hazardd +smoke 2.5 %/m >= 2.0 +ev-1 +-$' \
	"tickets show history row 1"
hz_assert_grep "$out/show.out" '^3 +2025-10-27T03:16:30Z +discovered -> discovered +red +town +hazardd +not acknowledged within 60 s +- +-$' \
	"tickets show history row 3"

run_ctl showjson tickets show 102 --json
expect_rc 0 showjson "tickets show 102 --json"
hz_assert_eq "102|hazard|closed|yellow|仓前街道|null|2025-10-25T01:00:00.000000Z" \
	"$(jq -r '.ticket | "\(.ticket_id)|\(.kind)|\(.state)|\(.level)|\(.town_name)|\(.device_id)|\(.closed_at)"' "$out/showjson.out")" \
	"tickets show --json ticket fields"
hz_assert_eq "2|null>discovered|discovered>closed|已整改，复核通过|null" \
	"$(jq -r '"\(.history | length)|\(.history[0].from_state)>\(.history[0].to_state)|\(.history[1].from_state)>\(.history[1].to_state)|\(.history[1].reason)|\(.history[1].event_id)"' "$out/showjson.out")" \
	"tickets show --json history"

run_ctl missing tickets show 999
expect_rc 1 missing "tickets show of a missing ticket"
hz_assert_eq "hazardctl: ticket 999 does not exist" "$(cat "$out/missing.err")" "tickets show 999 message"

run_ctl dl dead-letters
expect_rc 0 dl "dead-letters"
hz_assert_grep "$out/dl.out" '^1 +[0-9T:-]+Z +kafka +hazard.readings +3 +1234 +4 +invalid protobuf: truncated varint +0x0a0b08ff$' \
	"dead-letters row"
run_ctl dljson dead-letters --json
hz_assert_eq "kafka|3|1234|CgsI/w==" "$(jq -r '.[0] | "\(.source)|\(.partition)|\(.offset)|\(.payload_base64)"' "$out/dljson.out")" \
	"dead-letters --json"

# a database that fails after the connection (here: a statement timeout behind a
# lock) is the database's trouble, exit 3 like no database, not a refusal (1)
psql -XAtq -c "begin; lock table hazard.org_units in access exclusive mode; select pg_sleep(4); commit" >/dev/null &
LOCK_PID=$!
hz_wait_for "[ \"\$(hz_psql \"select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'org_units' and l.mode = 'AccessExclusiveLock' and l.granted\")\" = 1 ]" 5 "the registry locked"
rc=0
PGOPTIONS='-c statement_timeout=300' "$CTL" registry >"$out/locked.out" 2>"$out/locked.err" || rc=$?
wait "$LOCK_PID" || true
expect_rc 3 locked "registry behind a lock, past the statement timeout"
hz_assert_grep "$out/locked.err" "statement timeout" "the timeout is named"

# --- usage ---------------------------------------------------------------------------------
for args in "tickets list --state bogus" "tickets show abc" "tickets" "frobnicate" "import" \
	"tickets list --limit 0" "dead-letters extra" ""; do
	# shellcheck disable=SC2086 # split on purpose
	run_ctl usage $args
	expect_rc 2 usage "hazardctl $args"
done
for args in "--help" "help tickets" "tickets list --help" "tickets show --help" "import --help" \
	"migrate --help" "dead-letters --help" "tickets --help"; do
	# shellcheck disable=SC2086
	run_ctl help $args
	expect_rc 0 help "hazardctl $args"
	hz_assert_grep "$out/help.out" '^usage: hazardctl' "hazardctl $args prints a usage line"
done
hz_log "ok: demo registry $n_org/$n_site/$n_dev/$n_people/$n_duty, refusals by file:line, ticket list/show, dead letters"

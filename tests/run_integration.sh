#!/usr/bin/env bash
# run_integration.sh - run tests/integration/t_*.sh against throwaway servers.
#
#   tests/run_integration.sh BUILD_DIR
#
# Starts PostgreSQL, mosquitto and the Kafka mock (deploy/dev/services.sh) in
# a fresh run dir, runs each test in name order with a timeout, and stops
# every server and every daemon a test left behind when it ends, whether the
# run passes, fails or is interrupted. Each test's output goes to
# RUN/tests/NAME/output.log and is printed when it fails. The last line is
# always "N passed, N failed"; the status is non-zero if any test failed.
#
# Environment:
#   HZ_ITEST=REGEX          run only tests whose name matches (e.g. services|pg_)
#   HZ_ITEST_TIMEOUT=SECS   per-test timeout (default 300); a test may set its
#                           own with a line "# hz-timeout: SECS"
#   HZ_KEEP=1               keep the run dir (it is kept anyway when a test fails)
#   HZ_ITEST_DIR=DIR        take the t_*.sh from DIR instead of tests/integration
#   SOAK=1                  passed through: long variants of the fault tests
# A test exits 0 to pass, 77 to be skipped, anything else to fail.
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../deploy/dev/lib.sh disable=SC1091
. "$SRC/deploy/dev/lib.sh"

[ $# -eq 1 ] || {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ -d "$1" ] || {
	echo "run_integration: build dir \"$1\" does not exist: run make first" >&2
	exit 2
}
BUILD=$(cd "$1" && pwd)
SERVICES=$SRC/deploy/dev/services.sh
TIMEOUT_DEFAULT=${HZ_ITEST_TIMEOUT:-300}
RUN=$(mktemp -d "${TMPDIR:-/tmp}/hz-itest.XXXXXX")
passed=0
failed=0
skipped=0
current_pid=""
exec 3>&2

# Stop what the tests left behind: recorded daemon pids, checked to still be
# a hazardd before they are signalled.
stop_leftover_daemons() {
	local f pid
	for f in "$RUN"/pids/hazardd.*; do
		[ -e "$f" ] || continue
		if pid=$(svc_pid_read "$f") && svc_pid_alive "$pid" hazardd; then
			echo "run_integration: stopping leftover hazardd (pid $pid)" >&2
			svc_stop_pid "$pid" hazardd 10 hazardd || true
		fi
		rm -f "$f"
	done
}

# Stop the running test, leftover daemons and the servers; keep the run dir
# when something failed. Runs once, from the normal end or from a trap.
teardown() {
	local rc=$1
	[ -n "${torn_down:-}" ] && return 0
	torn_down=1
	if [ -n "$current_pid" ] && svc_pid_alive "$current_pid"; then
		# timeout(1) passes SIGTERM on to the test's whole process group.
		kill -TERM "$current_pid" 2>/dev/null
		svc_pid_wait_gone "$current_pid" "" 15 || kill -KILL "$current_pid" 2>/dev/null
		failed=$((failed + 1))
	fi
	stop_leftover_daemons
	"$SERVICES" stop "$RUN" 2>&1 | sed 's/^/  /' >&2
	if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ] || [ "${HZ_KEEP:-0}" = 1 ]; then
		echo "run_integration: logs kept in $RUN" >&2
	else
		rm -rf "$RUN"
	fi
}
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	exec 2>&3 # this may run inside the wait below, whose stderr is /dev/null
	if [ -z "${torn_down:-}" ]; then
		teardown "$rc"
		echo "$passed passed, $failed failed"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'echo "run_integration: interrupted" >&3; exit 130' INT
trap 'echo "run_integration: terminated" >&3; exit 143' TERM

t0=$(svc_now_ms)
if ! HZ_BUILD=$BUILD HZ_KMOCK=$BUILD/kmock "$SERVICES" start "$RUN" 2>"$RUN/services-start.log"; then
	cat "$RUN/services-start.log" >&2
	echo "run_integration: could not start the servers" >&2
	failed=1
	exit 1
fi
echo "servers up in $(svc_elapsed "$t0") s (run dir $RUN)"

export HZ_BUILD=$BUILD HZ_SRC=$SRC
tests=()
for t in "${HZ_ITEST_DIR:-$SRC/tests/integration}"/t_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "${HZ_ITEST:-}" ] && ! [[ $name =~ $HZ_ITEST ]]; then continue; fi
	tests+=("$t")
done
[ ${#tests[@]} -gt 0 ] || echo "no tests match${HZ_ITEST:+ HZ_ITEST=$HZ_ITEST}"

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	dir=$RUN/tests/$name
	log=$dir/output.log
	mkdir -p "$dir"
	limit=$(sed -n 's/^# hz-timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
	limit=${limit:-$TIMEOUT_DEFAULT}
	# A fault test may have moved a broker or the mock's ports: take the
	# addresses afresh from the env file before every test.
	# shellcheck source=/dev/null
	. "$RUN/env"
	start=$(svc_now_ms)
	HZ_TEST_NAME=$name HZ_TEST_DIR=$dir timeout -k 10 "$limit" bash "$t" >"$log" 2>&1 </dev/null 3>&- &
	current_pid=$!
	# (braces: no "Killed" job report from bash when the timeout fires)
	{ wait "$current_pid"; } 2>/dev/null
	rc=$?
	current_pid=""
	secs=$(svc_elapsed "$start")
	stop_leftover_daemons
	case $rc in
	0)
		echo "PASS $name ($secs s)"
		passed=$((passed + 1))
		;;
	77)
		echo "SKIP $name: $(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: *//')"
		skipped=$((skipped + 1))
		;;
	*)
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name (timed out after $limit s)"
		else
			echo "FAIL $name (exit $rc, $secs s)"
		fi
		echo "----- $name output ($log) -----"
		cat "$log"
		echo "----- end of $name -----"
		failed=$((failed + 1))
		;;
	esac
	# Undo faults a failing test may have left (a stopped or frozen server,
	# a broker down) so that one failure does not cascade.
	if ! "$SERVICES" heal "$RUN" >"$dir/heal.log" 2>&1; then
		cat "$dir/heal.log" >&2
		echo "run_integration: could not restore the servers after $name" >&2
	elif grep -q 'was down\|thawed' "$dir/heal.log"; then
		sed 's/^/  /' "$dir/heal.log" >&2
	fi
done

t1=$(svc_now_ms)
teardown 0
echo "servers stopped in $(svc_elapsed "$t1") s"
[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

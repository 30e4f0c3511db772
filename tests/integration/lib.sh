# shellcheck shell=bash
# lib.sh - helpers for integration tests (tests/integration/t_*.sh). Source it
# first thing:
#
#   #!/usr/bin/env bash
#   # hz-timeout: 120        (optional: this test's timeout in seconds)
#   . "$(dirname "$0")/lib.sh"
#   hz_fresh_db
#   hz_start_daemon "$(hz_tmp)/hazardd.conf" "$(hz_tmp)/hazardd.log"
#   hz_wait_for '[ "$(hz_psql "select count(*) from hazard.tickets")" = 1 ]' 10 "one ticket"
#
# It turns on `set -Eeuo pipefail` and reports the line of any failing
# command. The test passes by exiting 0, fails with any other status (use
# hz_fail), and is skipped with status 77 (hz_skip). On exit every daemon the
# test started is stopped, and on failure the tail of each one's log is shown.
# Register more cleanup with hz_on_exit rather than replacing the EXIT trap.
#
# tests/run_integration.sh provides the environment: the servers' addresses
# from the run dir's env file (HZ_PG_DSN, PG*, HZ_MQTT_*, HZ_KAFKA_BROKERS,
# HZ_KMOCK_CTL, HZ_SERVICES), HZ_BUILD, HZ_SRC, HZ_TEST_NAME and HZ_TEST_DIR.
# A test can also be run by hand against servers started with
# `deploy/dev/services.sh start DIR`: HZ_RUN_DIR=DIR bash tests/integration/t_x.sh
#
# Helpers that set variables (hz_fresh_db, hz_start_daemon) must be called
# directly, not inside $( ): a subshell cannot export to the test.

set -Eeuo pipefail

HZ_SRC=${HZ_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HZ_BUILD=${HZ_BUILD:-$HZ_SRC/build}
if [ -z "${HZ_PG_DSN:-}" ]; then
	if [ -n "${HZ_RUN_DIR:-}" ] && [ -r "$HZ_RUN_DIR/env" ]; then
		# shellcheck source=/dev/null
		. "$HZ_RUN_DIR/env"
	else
		echo "lib.sh: no servers: run through tests/run_integration.sh, or set HZ_RUN_DIR to a dir started with deploy/dev/services.sh" >&2
		exit 1
	fi
fi
HZ_TEST_NAME=${HZ_TEST_NAME:-$(basename "$0" .sh)}
HZ_TEST_DIR=${HZ_TEST_DIR:-$HZ_RUN_DIR/tests/$HZ_TEST_NAME}
export HZ_SRC HZ_BUILD HZ_TEST_NAME HZ_TEST_DIR
mkdir -p "$HZ_TEST_DIR"
# shellcheck source-path=SCRIPTDIR source=../../deploy/dev/lib.sh disable=SC1091
. "$HZ_SRC/deploy/dev/lib.sh"

HZ__T0=$(svc_now_ms)
HZ__DAEMONS=()         # "pid<TAB>log" of every daemon this test started
HZ__CLEANUP=()         # commands for hz_on_exit
HZ__DBS=()             # databases made by hz_fresh_db
HZ__SEQ=0
HZ_DAEMON_PID=
HZ_DAEMON_STATUS=

# ------------------------------------------------------------ reporting

# hz_log MSG...: a progress line on stderr, with seconds since the test began.
hz_log() { echo "[$HZ_TEST_NAME +$(svc_elapsed "$HZ__T0")s] $*" >&2; }

# hz_fail MSG...: fail the test now with MSG.
hz_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# hz_skip REASON: skip the test (the runner reports SKIP, not a failure).
hz_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# hz_require CMD...: skip the test unless every CMD is installed.
hz_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || hz_skip "$c is not installed"
	done
}

# hz_assert_eq EXPECTED ACTUAL MSG: string equality.
hz_assert_eq() {
	[ "$1" = "$2" ] || hz_fail "${3:-values differ}: expected \"$1\", got \"$2\""
}

# hz_assert_ne UNEXPECTED ACTUAL MSG
hz_assert_ne() {
	[ "$1" != "$2" ] || hz_fail "${3:-values equal}: did not expect \"$2\""
}

# hz_assert_ge ACTUAL MIN MSG / hz_assert_le ACTUAL MAX MSG: integers.
hz_assert_ge() {
	[ "$1" -ge "$2" ] 2>/dev/null || hz_fail "${3:-too small}: expected at least $2, got \"$1\""
}
hz_assert_le() {
	[ "$1" -le "$2" ] 2>/dev/null || hz_fail "${3:-too large}: expected at most $2, got \"$1\""
}

# hz_assert_match STRING ERE MSG: STRING matches the extended regex ERE.
hz_assert_match() {
	[[ $1 =~ $2 ]] || hz_fail "${3:-no match}: expected a match for /$2/, got \"$1\""
}

# hz_assert_grep FILE ERE MSG: some line of FILE matches ERE.
hz_assert_grep() {
	grep -Eq -- "$2" "$1" 2>/dev/null || {
		svc_tail "$1" 20
		hz_fail "${3:-pattern not found}: no line of $1 matches /$2/"
	}
}

# hz_assert_no_grep FILE ERE MSG: no line of FILE matches ERE.
hz_assert_no_grep() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then
		grep -En -- "$2" "$1" | head -n 5 | sed 's/^/  | /' >&2
		hz_fail "${3:-unexpected pattern}: $1 has lines matching /$2/"
	fi
}

# hz_poll 'CONDITION' TIMEOUT_S: evaluate the shell CONDITION every 0.1 s
# until it is true (status 0) or TIMEOUT_S passes (status 1).
hz_poll() {
	local deadline=$(($(svc_now_ms) + ${2:-10} * 1000))
	while :; do
		if eval "$1" >/dev/null 2>&1; then return 0; fi
		[ "$(svc_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# hz_wait_for 'CONDITION' TIMEOUT_S MSG: hz_poll, failing the test on timeout.
hz_wait_for() {
	hz_poll "$1" "${2:-10}" || hz_fail "${3:-condition not met}: waited ${2:-10} s for: $1"
}

# hz_wait_log FILE ERE TIMEOUT_S [MSG]: wait until a line of FILE matches ERE.
hz_wait_log() {
	hz_poll "grep -Eq -- $(printf '%q' "$2") $(printf '%q' "$1")" "${3:-10}" || {
		svc_tail "$1" 20
		hz_fail "${4:-log line not seen}: waited ${3:-10} s for /$2/ in $1"
	}
}

# ----------------------------------------------------------- temp, names

# hz_tmp [NAME]: the test's temp dir under the run dir, or its subdir NAME
# (created). Kept with the logs when the run fails.
# shellcheck disable=SC2120 # optional arguments
hz_tmp() {
	local d=$HZ_TEST_DIR/tmp${1:+/$1}
	mkdir -p "$d"
	printf '%s\n' "$d"
}

# hz_unique [PREFIX]: a name no other test or run uses, e.g. for an MQTT
# client id, a consumer group or a topic: PREFIX-TEST-RANDOM.
# shellcheck disable=SC2120 # optional arguments
hz_unique() {
	local n=${HZ_TEST_NAME#t_}
	printf '%s-%s-%s%04x%04x\n' "${1:-hz}" "${n//_/-}" "$(date +%s%N | tail -c 7)" "$RANDOM" "$RANDOM"
}

# hz_mqtt_client_id [PREFIX]: a unique MQTT client id (at most 23 bytes, the
# limit MQTT 3.1.1 brokers must accept).
# shellcheck disable=SC2120 # optional arguments
hz_mqtt_client_id() {
	local id
	id=$(printf '%s-%s%04x' "${1:-hz}" "$(date +%s%N | tail -c 9)" "$RANDOM")
	printf '%s\n' "${id:0:23}"
}

# hz_kafka_topic BASE [PARTITIONS]: create a fresh topic BASE.<unique> in the
# mock cluster (default 8 partitions) and print its name.
hz_kafka_topic() {
	local t
	t=$(hz_unique "$1")
	hz_kafka topic "$t" "${2:-8}" >/dev/null 2>&1 || hz_fail "could not create Kafka topic $t"
	printf '%s\n' "$t"
}

# ------------------------------------------------------------ servers

# hz_svc SUBCOMMAND [ARGS]: deploy/dev/services.sh on this run's servers,
# e.g. hz_svc pg-restart immediate; hz_svc mosquitto-restart 5; hz_svc pg-freeze.
hz_svc() {
	local sub=$1
	shift
	"$HZ_SERVICES" "$sub" "$HZ_RUN_DIR" "$@"
}

# hz_kafka COMMAND...: a fault command to the mock cluster (see kmock -h):
# hz_kafka down 1; hz_kafka rtt 2 500; hz_kafka errors Fetch 5 NOT_LEADER_FOR_PARTITION
hz_kafka() { "$HZ_SERVICES" kafka "$HZ_RUN_DIR" "$@"; }

# hz_psql 'SQL' [PSQL ARGS]: run SQL on the current database (PG* from the
# env, or the one hz_fresh_db made) and print the result unaligned, tuples
# only, fields separated by '|'. On an SQL error prints it and returns 3.
hz_psql() {
	local sql=$1
	shift
	PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5} psql -XAtq -v ON_ERROR_STOP=1 "$@" -c "$sql"
}

# hz_psql_file FILE [PSQL ARGS]: run an SQL file the same way.
hz_psql_file() {
	local f=$1
	shift
	PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5} psql -XAtq -v ON_ERROR_STOP=1 "$@" -f "$f"
}

# hz_fresh_db [TEMPLATE]: create an empty database for this test (owned by
# role hazard, from TEMPLATE or $HZ_DB_TEMPLATE or template0) and point
# PGDATABASE, HZ_PG_DSN, HZ_PG_URL and HZ_DB at it. Dropped when the test
# passes. Call directly, not in $( ).
# shellcheck disable=SC2120 # optional arguments
hz_fresh_db() {
	local tpl=${1:-${HZ_DB_TEMPLATE:-template0}} n
	HZ__SEQ=$((HZ__SEQ + 1))
	n=${HZ_TEST_NAME//[^a-zA-Z0-9_]/_}
	HZ_DB=$(printf 'hz_%s_%d_%d' "${n:0:40}" "$$" "$HZ__SEQ" | tr '[:upper:]' '[:lower:]')
	hz_psql "CREATE DATABASE $HZ_DB OWNER hazard TEMPLATE $tpl" -d postgres >/dev/null ||
		hz_fail "could not create database $HZ_DB from $tpl"
	HZ__DBS+=("$HZ_DB")
	PGDATABASE=$HZ_DB
	HZ_PG_DSN="host=$HZ_PG_HOST port=$HZ_PG_PORT dbname=$HZ_DB user=hazard"
	HZ_PG_URL="postgresql://hazard@$HZ_PG_HOST:$HZ_PG_PORT/$HZ_DB"
	export HZ_DB PGDATABASE HZ_PG_DSN HZ_PG_URL
}

# hz_mqtt_pub TOPIC MESSAGE [mosquitto_pub ARGS]: publish at QoS 1.
hz_mqtt_pub() {
	local topic=$1 msg=$2
	shift 2
	mosquitto_pub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -t "$topic" -m "$msg" "$@"
}

# hz_mqtt_sub TOPIC COUNT TIMEOUT_S [mosquitto_sub ARGS]: print COUNT
# messages (QoS 1); status non-zero if fewer arrive within TIMEOUT_S.
hz_mqtt_sub() {
	local topic=$1 count=$2 t=$3
	shift 3
	mosquitto_sub -h "$HZ_MQTT_HOST" -p "$HZ_MQTT_PORT" -q 1 -t "$topic" -C "$count" -W "$t" "$@"
}

# hz_kafka_produce TOPIC [kcat ARGS] < LINES: produce one message per line
# (acks=all, waiting for delivery); e.g. -k KEY, -H content-type=application/json.
hz_kafka_produce() {
	local topic=$1
	shift
	kcat -b "$HZ_KAFKA_BROKERS" -P -t "$topic" -X acks=all "$@"
}

# hz_kafka_consume TOPIC COUNT [TIMEOUT_S] [kcat ARGS]: print the first COUNT
# messages of TOPIC from the beginning; status non-zero if fewer arrive.
hz_kafka_consume() {
	local topic=$1 count=$2 t=${3:-10} out n
	shift 2
	if [ $# -gt 0 ]; then shift; fi
	out=$(timeout "$t" kcat -b "$HZ_KAFKA_BROKERS" -C -t "$topic" -o beginning -c "$count" -q "$@") || true
	printf '%s' "$out"
	[ -n "$out" ] && echo
	n=$(printf '%s' "$out" | grep -c '' || true)
	[ "$n" -ge "$count" ]
}

# ------------------------------------------------------------ the daemon

# hz_start_daemon CONFIG LOGFILE [ARGS...]: start $HZ_BUILD/hazardd -c CONFIG
# in the background, stdout and stderr appended to LOGFILE. Sets
# HZ_DAEMON_PID (several daemons: save it after each call). Prefix with
# HZ_DAEMON_WRAPPER (e.g. "valgrind -q --error-exitcode=99") if set.
# Call directly, not in $( ).
hz_start_daemon() {
	local conf=$1 log=$2 bin=${HZ_DAEMON_BIN:-$HZ_BUILD/hazardd}
	shift 2
	[ -x "$bin" ] || hz_fail "daemon binary $bin is missing: run make"
	local -a wrap=()
	# shellcheck disable=SC2206 # the wrapper is a command line, split on purpose
	[ -n "${HZ_DAEMON_WRAPPER:-}" ] && wrap=($HZ_DAEMON_WRAPPER)
	mkdir -p "$(dirname "$log")"
	echo "=== $(date -u +%FT%T.%3NZ) hz_start_daemon: ${wrap[*]} $bin -c $conf $*" >>"$log"
	"${wrap[@]}" "$bin" -c "$conf" "$@" >>"$log" 2>&1 </dev/null &
	HZ_DAEMON_PID=$!
	HZ__DAEMONS+=("$HZ_DAEMON_PID"$'\t'"$log")
	# The runner stops whatever a test leaves behind, by this record.
	mkdir -p "$HZ_RUN_DIR/pids"
	echo "$HZ_DAEMON_PID" >"$HZ_RUN_DIR/pids/hazardd.$HZ_DAEMON_PID"
	hz_log "started hazardd (pid $HZ_DAEMON_PID, log $log)"
}

# hz_daemon_alive [PID]: true while the daemon runs.
# shellcheck disable=SC2120 # optional arguments
hz_daemon_alive() { svc_pid_alive "${1:-$HZ_DAEMON_PID}"; }

hz__reap() {
	local pid=$1
	HZ_DAEMON_STATUS=0
	wait "$pid" 2>/dev/null || HZ_DAEMON_STATUS=$?
	rm -f "$HZ_RUN_DIR/pids/hazardd.$pid"
}

# hz_stop_daemon [PID] [TIMEOUT_S]: SIGTERM, wait up to TIMEOUT_S (default
# 10); fails the test if it is still running then (it is SIGKILLed). Sets
# HZ_DAEMON_STATUS to its exit status (128+N when killed by signal N).
hz_stop_daemon() {
	local pid=${1:-$HZ_DAEMON_PID} t=${2:-10}
	[ -n "$pid" ] || hz_fail "hz_stop_daemon: no daemon pid"
	if svc_pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		kill -CONT "$pid" 2>/dev/null || true
		if ! svc_pid_wait_gone "$pid" "" "$t"; then
			kill -KILL "$pid" 2>/dev/null || true
			hz__reap "$pid"
			hz_fail "hazardd (pid $pid) did not exit within $t s of SIGTERM"
		fi
	fi
	hz__reap "$pid"
	hz_log "hazardd (pid $pid) exited with status $HZ_DAEMON_STATUS"
}

# hz_kill_daemon [PID] [SIGNAL]: send SIGNAL (default KILL) and, unless it
# is STOP or CONT, wait for the daemon to die. Sets HZ_DAEMON_STATUS.
hz_kill_daemon() {
	local pid=${1:-$HZ_DAEMON_PID} sig=${2:-KILL}
	[ -n "$pid" ] || hz_fail "hz_kill_daemon: no daemon pid"
	kill "-$sig" "$pid" 2>/dev/null || true
	case "$sig" in STOP | CONT | 19 | 18) return 0 ;; esac
	svc_pid_wait_gone "$pid" "" 10 || hz_fail "hazardd (pid $pid) survived SIG$sig"
	hz__reap "$pid"
}

# ------------------------------------------------------------ exit

# hz_on_exit 'COMMAND': run COMMAND when the test ends (last registered, first run).
hz_on_exit() { HZ__CLEANUP=("$1" "${HZ__CLEANUP[@]}"); }

hz__on_err() {
	# Once, from the test's own shell, not again from each $( ) it ran in.
	[ "$BASHPID" = "$$" ] || return 0
	echo "FAIL: ${BASH_SOURCE[1]:-$0}:$1: command exited with status $2: $3" >&2
}

hz__on_exit() {
	local rc=$? entry pid log c db shown=" "
	set +e
	trap - ERR
	for c in "${HZ__CLEANUP[@]}"; do eval "$c"; done
	for entry in "${HZ__DAEMONS[@]}"; do
		pid=${entry%%$'\t'*}
		log=${entry#*$'\t'}
		if svc_pid_alive "$pid"; then
			svc_stop_pid "$pid" "" 10 hazardd >/dev/null 2>&1
		fi
		wait "$pid" 2>/dev/null
		rm -f "$HZ_RUN_DIR/pids/hazardd.$pid"
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [[ $shown != *" $log "* ]]; then
			svc_tail "$log" 40
			shown+="$log "
		fi
	done
	if [ "$rc" -eq 0 ]; then
		for db in "${HZ__DBS[@]}"; do
			psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
		done
	fi
	exit "$rc"
}

trap 'hz__on_err "$LINENO" "$?" "$BASH_COMMAND"' ERR
trap hz__on_exit EXIT

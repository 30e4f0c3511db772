#!/usr/bin/env bash
# services.sh - throwaway servers for tests and the demo: PostgreSQL 15,
# mosquitto and the Kafka mock cluster (build/kmock), on free loopback ports,
# all state and logs in one run dir. Also the fault-injection commands the
# reliability tests use (restart, stop, freeze PostgreSQL or mosquitto; Kafka
# broker faults through kmock's control FIFO).
#
# Not for production: the PostgreSQL cluster runs with fsync off and trust
# authentication. Processes are only ever stopped by the pids recorded in
# the run dir, never by name.
#
#   services.sh start DIR           start everything, write DIR/env
#   services.sh stop DIR            stop everything (idempotent)
#   services.sh status DIR
#   services.sh heal DIR            undo faults: thaw, restart what is down, kafka reset
#   services.sh pg-restart DIR fast|immediate
#   services.sh pg-stop DIR [fast|immediate|smart]    services.sh pg-start DIR
#   services.sh pg-freeze DIR | pg-thaw DIR           SIGSTOP/SIGCONT the whole server
#   services.sh mosquitto-restart DIR [DELAY_S]
#   services.sh mosquitto-stop DIR | mosquitto-start DIR | mosquitto-kill DIR
#   services.sh mosquitto-freeze DIR | mosquitto-thaw DIR
#   services.sh kafka [DIR] COMMAND...   e.g. kafka down 1; kafka errors Fetch 5 NOT_LEADER_FOR_PARTITION
#       (DIR defaults to $HZ_RUN_DIR; commands: down ID, up ID, rtt ID MS,
#       leader TOPIC PARTITION ID, errors APIKEY COUNT ERR, clear APIKEY,
#       topic NAME PARTITIONS, topic-error TOPIC ERR, coordinator, reset;
#       see build/kmock -h. Waits for kmock's reply, fails if it refused.)
#   services.sh kafka-stop DIR      stop the mock (heal starts a new one on new ports)
#
# Environment: HZ_KMOCK (kmock binary, default build/kmock), HZ_KMOCK_BROKERS
# (3), HZ_KMOCK_PARTITIONS (8), HZ_PGBIN (/usr/lib/postgresql/15/bin).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$HERE/lib.sh"

PGBIN=${HZ_PGBIN:-/usr/lib/postgresql/15/bin}
KMOCK=${HZ_KMOCK:-${HZ_BUILD:-$SRC/build}/kmock}
PG_OS_USER=hazardtest
START_TIMEOUT=${HZ_SERVICES_TIMEOUT:-30}

die() {
	echo "services: $*" >&2
	exit 1
}
note() { echo "services: $*" >&2; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the PostgreSQL owner: initdb and postgres refuse root.
as_pg() {
	if is_root; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

ensure_pg_os_user() {
	is_root || return 0
	id "$PG_OS_USER" >/dev/null 2>&1 && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$PG_OS_USER" 2>/dev/null ||
		id "$PG_OS_USER" >/dev/null 2>&1 ||
		die "could not create system user \"$PG_OS_USER\" for PostgreSQL"
}

# The user mosquitto drops to when started as root.
mosq_os_user() {
	if id mosquitto >/dev/null 2>&1; then echo mosquitto; else echo "$PG_OS_USER"; fi
}

# A free TCP port on 127.0.0.1, below the ephemeral range so that outgoing
# connections never take it between our check and the server's bind.
# Ports given as arguments are avoided too.
free_port() {
	local p _ taken
	for _ in $(seq 1 500); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		case " $* " in *" $p "*) continue ;; esac
		taken=$(ss -Htan "sport = :$p" 2>/dev/null | head -n 1)
		[ -z "$taken" ] && {
			echo "$p"
			return 0
		}
	done
	die "no free port found in 20000-31999"
}

port_listening() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null | head -n 1)" ]; }

rundir_arg() {
	if [ $# -lt 1 ] || [ -z "$1" ]; then usage; fi
	DIR=$(realpath -m -- "$1")
}

# Read back the ports chosen by `start`.
load_state() {
	[ -r "$DIR/services.state" ] || die "$DIR has no services.state: was \"services.sh start $DIR\" run?"
	# shellcheck source=/dev/null
	. "$DIR/services.state"
}

# ---------------------------------------------------------------- PostgreSQL

pg_alive() {
	local pid
	pid=$(svc_pid_read "$DIR/pg.pid") && svc_pid_alive "$pid" "$DIR/pg"
}

pg_init() {
	local t0
	t0=$(svc_now_ms)
	mkdir -p "$DIR/pg" "$DIR/pg-sock"
	: >"$DIR/pg.log"
	if is_root; then
		chown "$PG_OS_USER:" "$DIR/pg" "$DIR/pg-sock" "$DIR/pg.log"
	fi
	chmod 0700 "$DIR/pg"
	# --no-sync: a crash of this machine may corrupt a throwaway cluster.
	if ! as_pg "$PGBIN/initdb" -D "$DIR/pg" -U postgres --auth=trust -E UTF8 \
		--locale=C.UTF-8 --no-sync --no-instructions >"$DIR/pg-initdb.log" 2>&1; then
		svc_tail "$DIR/pg-initdb.log"
		die "initdb failed for $DIR/pg"
	fi
	cat >>"$DIR/pg/postgresql.conf" <<EOF

# --- added by deploy/dev/services.sh for a THROWAWAY TEST CLUSTER ONLY ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR/pg-sock'
max_connections = 100
# fsync, synchronous_commit and full_page_writes off make tests fast and
# would lose or corrupt data on a crash of this machine. Never in production.
# A server crash (pg_ctl stop -m immediate, kill -9) is still survived:
# only an operating system crash is not.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_min_error_statement = error
log_connections = off
log_timezone = 'UTC'
timezone = 'UTC'
EOF
	note "postgres: initdb done ($(svc_elapsed "$t0") s)"
}

pg_ctl_start() {
	local pid
	if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -l "$DIR/pg.log" -w -t "$START_TIMEOUT" -s start >/dev/null 2>&1; then
		svc_tail "$DIR/pg.log"
		return 1
	fi
	pid=$(head -n 1 "$DIR/pg/postmaster.pid" 2>/dev/null) || true
	case "$pid" in '' | *[!0-9]*) die "postgres started but $DIR/pg/postmaster.pid has no pid" ;; esac
	echo "$pid" >"$DIR/pg.pid"
}

pg_wait_ready() {
	local deadline=$(($(svc_now_ms) + START_TIMEOUT * 1000)) out
	while :; do
		out=$(PGCONNECT_TIMEOUT=3 psql -XAtq -h 127.0.0.1 -p "$PG_PORT" -U "${1:-postgres}" \
			-d "${2:-postgres}" -c 'select 1' 2>&1) && [ "$out" = 1 ] && return 0
		if ! pg_alive || [ "$(svc_now_ms)" -ge "$deadline" ]; then
			echo "  last psql answer: $out" >&2
			svc_tail "$DIR/pg.log"
			die "postgres on 127.0.0.1:$PG_PORT is not answering \"select 1\""
		fi
		sleep 0.1
	done
}

pg_create_db() {
	psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
		-c 'CREATE ROLE hazard LOGIN SUPERUSER' \
		-c 'CREATE DATABASE hazard OWNER hazard' >/dev/null ||
		die "could not create role and database \"hazard\""
}

cmd_pg_start() {
	load_state
	if pg_alive; then
		note "postgres already running (pid $(cat "$DIR/pg.pid"))"
		return 0
	fi
	local t0
	t0=$(svc_now_ms)
	pg_ctl_start || die "postgres did not start on 127.0.0.1:$PG_PORT"
	pg_wait_ready hazard hazard
	note "postgres started on 127.0.0.1:$PG_PORT (pid $(cat "$DIR/pg.pid"), $(svc_elapsed "$t0") s)"
}

cmd_pg_stop() {
	local mode=${1:-fast} pid t0
	case "$mode" in fast | immediate | smart) ;; *) die "pg-stop: mode must be fast, immediate or smart" ;; esac
	[ -d "$DIR/pg" ] || return 0
	t0=$(svc_now_ms)
	pg_thaw_quiet
	if ! pg_alive && [ ! -e "$DIR/pg/postmaster.pid" ]; then
		rm -f "$DIR/pg.pid"
		return 0
	fi
	if pg_alive; then
		as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -m "$mode" -w -t 10 -s stop >/dev/null 2>&1 || true
	fi
	if pid=$(svc_pid_read "$DIR/pg.pid"); then
		svc_stop_pid "$pid" "$DIR/pg" 10 postgres || die "could not stop postgres (pid $pid)"
	fi
	rm -f "$DIR/pg.pid"
	note "postgres stopped ($mode, $(svc_elapsed "$t0") s)"
}

cmd_pg_restart() {
	local mode=${1:-}
	case "$mode" in fast | immediate) ;; *) die "pg-restart: mode must be fast or immediate" ;; esac
	load_state
	cmd_pg_stop "$mode"
	cmd_pg_start
}

# SIGSTOP the postmaster and every backend: a server that accepts TCP
# connections and then never answers, which is what a hung database looks like.
cmd_pg_freeze() {
	local pid children c
	load_state
	pg_alive || die "postgres is not running"
	pid=$(cat "$DIR/pg.pid")
	children=$(ps -o pid= --ppid "$pid" | tr -d ' ' | tr '\n' ' ')
	kill -STOP "$pid"
	for c in $children; do kill -STOP "$c" 2>/dev/null || true; done
	echo "$pid $children" >"$DIR/pg.frozen"
	note "postgres frozen (SIGSTOP to $pid $children)"
}

pg_thaw_quiet() {
	local pids p
	[ -r "$DIR/pg.frozen" ] || return 0
	read -r -a pids <"$DIR/pg.frozen" || true
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
	rm -f "$DIR/pg.frozen"
	return 0
}

cmd_pg_thaw() {
	[ -r "$DIR/pg.frozen" ] || {
		note "postgres is not frozen"
		return 0
	}
	pg_thaw_quiet
	note "postgres thawed"
}

# ----------------------------------------------------------------- mosquitto

mosq_alive() {
	local pid
	pid=$(svc_pid_read "$DIR/mosquitto.pid") && svc_pid_alive "$pid" "$DIR/mosquitto.conf"
}

# The test broker's config: every setting of the shipped deploy/mosquitto.conf
# (queues, persistence, inflight, expiry) except those about listeners,
# authentication, TLS, privileges and logging, which are replaced below.
mosq_write_conf() {
	local user
	mkdir -p "$DIR/mosq"
	{
		echo "# generated by deploy/dev/services.sh from $SRC/deploy/mosquitto.conf"
		echo "# (listeners, auth, TLS, user, pid and log settings replaced)"
		awk '
			/^[ \t]*(#|$)/ { next }
			$1 ~ /^(listener|port|bind_address|bind_interface|socket_domain|protocol|allow_anonymous|password_file|acl_file|psk_file|psk_hint|auth_plugin|plugin|plugin_opt_.*|cafile|capath|certfile|keyfile|crlfile|ciphers|ciphers_tls1\.3|tls_version|tls_engine|tls_keyform|require_certificate|use_identity_as_username|use_subject_as_username|mount_point|http_dir|websockets_log_level|user|pid_file|log_dest|log_type|persistence_location|include_dir|per_listener_settings)$/ { next }
			{ print }
		' "$SRC/deploy/mosquitto.conf"
		echo
		echo "per_listener_settings false"
		echo "listener $MQTT_PORT 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence_location $DIR/mosq/"
		echo "log_dest stderr"
		echo "log_type error"
		echo "log_type warning"
		echo "log_type notice"
		echo "log_type information"
		echo "log_type subscribe"
		echo "log_type unsubscribe"
		if is_root; then
			user=$(mosq_os_user)
			echo "user $user"
		fi
	} >"$DIR/mosquitto.conf"
	if is_root; then
		chown "$(mosq_os_user):" "$DIR/mosq"
	fi
}

mosq_launch() {
	: >>"$DIR/mosquitto.log"
	setsid mosquitto -c "$DIR/mosquitto.conf" >>"$DIR/mosquitto.log" 2>&1 </dev/null &
	echo $! >"$DIR/mosquitto.pid"
}

mosq_wait_ready() {
	local deadline=$(($(svc_now_ms) + START_TIMEOUT * 1000)) out
	while :; do
		out=$(mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -i "hz-ready-$$" \
			-t hz/services/ready -m ready 2>&1) && return 0
		if ! mosq_alive || [ "$(svc_now_ms)" -ge "$deadline" ]; then
			echo "  last mosquitto_pub answer: $out" >&2
			svc_tail "$DIR/mosquitto.log"
			return 1
		fi
		sleep 0.05
	done
}

cmd_mosquitto_start() {
	local t0
	load_state
	if mosq_alive; then
		note "mosquitto already running (pid $(cat "$DIR/mosquitto.pid"))"
		return 0
	fi
	t0=$(svc_now_ms)
	port_listening "$MQTT_PORT" && die "port $MQTT_PORT is taken: mosquitto cannot restart on it"
	mosq_launch
	mosq_wait_ready || die "mosquitto did not start on 127.0.0.1:$MQTT_PORT"
	note "mosquitto started on 127.0.0.1:$MQTT_PORT (pid $(cat "$DIR/mosquitto.pid"), $(svc_elapsed "$t0") s)"
}

cmd_mosquitto_stop() {
	local t0
	t0=$(svc_now_ms)
	mosq_alive || {
		rm -f "$DIR/mosquitto.pid" "$DIR/mosquitto.frozen"
		return 0
	}
	svc_stop_pidfile "$DIR/mosquitto.pid" "$DIR/mosquitto.conf" 10 mosquitto ||
		die "could not stop mosquitto"
	rm -f "$DIR/mosquitto.frozen"
	note "mosquitto stopped ($(svc_elapsed "$t0") s)"
}

cmd_mosquitto_kill() {
	local pid
	if pid=$(svc_pid_read "$DIR/mosquitto.pid") && svc_pid_alive "$pid" "$DIR/mosquitto.conf"; then
		kill -KILL "$pid"
		svc_pid_wait_gone "$pid" "$DIR/mosquitto.conf" 5 || die "mosquitto (pid $pid) survived SIGKILL"
		note "mosquitto killed (SIGKILL to $pid; changes since the last autosave are lost)"
	fi
	rm -f "$DIR/mosquitto.pid" "$DIR/mosquitto.frozen"
}

cmd_mosquitto_restart() {
	local delay=${1:-0}
	case "$delay" in '' | *[!0-9.]*) die "mosquitto-restart: delay must be a number of seconds" ;; esac
	load_state
	cmd_mosquitto_stop
	sleep "$delay"
	cmd_mosquitto_start
}

cmd_mosquitto_freeze() {
	mosq_alive || die "mosquitto is not running"
	kill -STOP "$(cat "$DIR/mosquitto.pid")"
	touch "$DIR/mosquitto.frozen"
	note "mosquitto frozen (SIGSTOP to $(cat "$DIR/mosquitto.pid"))"
}

cmd_mosquitto_thaw() {
	if mosq_alive; then kill -CONT "$(cat "$DIR/mosquitto.pid")"; fi
	rm -f "$DIR/mosquitto.frozen"
	note "mosquitto thawed"
}

# ------------------------------------------------------------- Kafka (kmock)

kmock_alive() {
	local pid
	pid=$(svc_pid_read "$DIR/kmock.pid") && svc_pid_alive "$pid" "$DIR/kafka.bootstrap"
}

kmock_launch() {
	[ -x "$KMOCK" ] || die "$KMOCK not found: run make first (or set HZ_KMOCK)"
	rm -f "$DIR/kafka.bootstrap" "$DIR/kmock.reply"
	setsid "$KMOCK" --brokers "${HZ_KMOCK_BROKERS:-3}" --partitions "${HZ_KMOCK_PARTITIONS:-8}" \
		--bootstrap-file "$DIR/kafka.bootstrap" --control "$DIR/kmock.ctl" \
		--reply-file "$DIR/kmock.reply" >>"$DIR/kmock.log" 2>&1 </dev/null &
	echo $! >"$DIR/kmock.pid"
}

kmock_wait_ready() {
	local deadline=$(($(svc_now_ms) + START_TIMEOUT * 1000)) out=""
	while :; do
		if [ -s "$DIR/kafka.bootstrap" ]; then
			KAFKA_BROKERS=$(cat "$DIR/kafka.bootstrap")
			out=$(kcat -b "$KAFKA_BROKERS" -L -m 5 2>&1) && return 0
		fi
		if ! kmock_alive || [ "$(svc_now_ms)" -ge "$deadline" ]; then
			[ -n "$out" ] && echo "  last kcat -L answer: $out" | head -n 5 >&2
			svc_tail "$DIR/kmock.log"
			return 1
		fi
		sleep 0.05
	done
}

cmd_kmock_stop() {
	local t0
	t0=$(svc_now_ms)
	kmock_alive || {
		rm -f "$DIR/kmock.pid" "$DIR/kafka.bootstrap" "$DIR/kmock.ctl"
		return 0
	}
	svc_stop_pidfile "$DIR/kmock.pid" "$DIR/kafka.bootstrap" 10 kmock || die "could not stop kmock"
	rm -f "$DIR/kafka.bootstrap" "$DIR/kmock.ctl"
	note "kmock stopped ($(svc_elapsed "$t0") s)"
}

# kafka [DIR] COMMAND...: one line to kmock's control FIFO, then wait for
# kmock's reply; fails when kmock refused the command.
cmd_kafka() {
	local fifo reply prev="" cur="" line deadline pid
	if [ $# -ge 2 ] && [ -d "$1" ] && [ -p "$1/kmock.ctl" ]; then
		rundir_arg "$1"
		shift
	elif [ -n "${HZ_RUN_DIR:-}" ]; then
		DIR=$HZ_RUN_DIR
	elif [ -n "${HZ_KMOCK_CTL:-}" ]; then
		DIR=$(dirname "$HZ_KMOCK_CTL")
	else
		die "kafka: give the run dir first, or set HZ_RUN_DIR"
	fi
	[ $# -ge 1 ] || die "kafka: no command"
	fifo=$DIR/kmock.ctl
	reply=$DIR/kmock.reply
	kmock_alive || die "kafka: kmock is not running in $DIR"
	pid=$(cat "$DIR/kmock.pid")
	[ -p "$fifo" ] || die "kafka: $fifo is not a FIFO"
	[ -r "$reply" ] && read -r prev _ <"$reply"
	line="$*"
	# kmock always holds the FIFO open, so this cannot block for long;
	# the timeout covers a kmock that died between the check and the write.
	# shellcheck disable=SC2016 # $1 and $2 belong to the inner shell
	timeout 5 bash -c 'printf "%s\n" "$1" >"$2"' _ "$line" "$fifo" ||
		die "kafka: could not write to $fifo"
	deadline=$(($(svc_now_ms) + 10000))
	while :; do
		if [ -r "$reply" ]; then
			read -r cur _ <"$reply" || true
			[ -n "$cur" ] && [ "$cur" != "$prev" ] && break
		fi
		[ "$(svc_now_ms)" -ge "$deadline" ] && die "kafka: no reply from kmock (pid $pid) to \"$line\" within 10 s"
		sleep 0.02
	done
	read -r _ cur line <"$reply" || true
	if [ "$cur" != ok ]; then
		die "kafka: kmock refused: $line"
	fi
	note "kafka: $line"
}

# --------------------------------------------------------------- everything

# Single-quote a value for the env file (readable, and safe to source).
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

write_env() {
	{
		echo "# generated by deploy/dev/services.sh start: source it"
		echo "export HZ_RUN_DIR=$(shq "$DIR")"
		echo "export HZ_SERVICES=$(shq "$HERE/services.sh")"
		echo "export HZ_PG_HOST=127.0.0.1 HZ_PG_PORT=$PG_PORT"
		echo "export HZ_PG_DSN='host=127.0.0.1 port=$PG_PORT dbname=hazard user=hazard'"
		echo "export HZ_PG_URL='postgresql://hazard@127.0.0.1:$PG_PORT/hazard'"
		echo "export HZ_PG_ADMIN_DSN='host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres'"
		echo "export HZ_PG_DATA=$(shq "$DIR/pg") HZ_PG_LOG=$(shq "$DIR/pg.log")"
		echo "export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGDATABASE=hazard PGUSER=hazard"
		echo "export HZ_MQTT_URL='tcp://127.0.0.1:$MQTT_PORT' HZ_MQTT_HOST=127.0.0.1 HZ_MQTT_PORT=$MQTT_PORT"
		echo "export HZ_MQTT_LOG=$(shq "$DIR/mosquitto.log")"
		echo "export HZ_KAFKA_BROKERS=$(shq "$KAFKA_BROKERS")"
		echo "export HZ_KMOCK_CTL=$(shq "$DIR/kmock.ctl") HZ_KMOCK_LOG=$(shq "$DIR/kmock.log")"
	} >"$DIR/env.tmp"
	mv -f "$DIR/env.tmp" "$DIR/env"
}

cmd_start() {
	local t0 t1 tries
	t0=$(svc_now_ms)
	command -v mosquitto >/dev/null || die "mosquitto is not installed: run deploy/deps.sh"
	command -v kcat >/dev/null || die "kcat is not installed: run deploy/deps.sh"
	[ -x "$PGBIN/initdb" ] || die "$PGBIN/initdb not found: run deploy/deps.sh (postgresql-15)"
	[ -x "$KMOCK" ] || die "$KMOCK not found: run make first (or set HZ_KMOCK)"
	mkdir -p "$DIR"
	if [ -e "$DIR/pg/PG_VERSION" ]; then
		die "$DIR already holds a cluster: stop it and remove the dir, or use a new one"
	fi
	if is_root; then
		ensure_pg_os_user
		# The servers run as other users and must reach their dirs.
		chmod 0755 "$DIR"
		for u in "$PG_OS_USER" "$(mosq_os_user)"; do
			runuser -u "$u" -- test -x "$DIR" ||
				die "user $u cannot reach $DIR (a parent dir is private): use a run dir under /tmp"
		done
	fi

	PG_PORT=$(free_port)
	MQTT_PORT=$(free_port "$PG_PORT")
	printf 'PG_PORT=%s\nMQTT_PORT=%s\n' "$PG_PORT" "$MQTT_PORT" >"$DIR/services.state"

	# Launch the two quick servers first; initdb runs while they come up.
	kmock_launch
	mosq_write_conf
	mosq_launch

	pg_init
	tries=1
	until pg_ctl_start; do
		if [ $tries -ge 3 ] || ! grep -q 'could not bind\|Address already in use' "$DIR/pg.log"; then
			die "postgres did not start on 127.0.0.1:$PG_PORT"
		fi
		PG_PORT=$(free_port "$MQTT_PORT")
		note "postgres port taken, retrying on $PG_PORT"
		sed -i "s/^port = .*/port = $PG_PORT/" "$DIR/pg/postgresql.conf"
		printf 'PG_PORT=%s\nMQTT_PORT=%s\n' "$PG_PORT" "$MQTT_PORT" >"$DIR/services.state"
		tries=$((tries + 1))
	done
	pg_wait_ready postgres postgres
	pg_create_db
	pg_wait_ready hazard hazard
	note "postgres 15 on 127.0.0.1:$PG_PORT (pid $(cat "$DIR/pg.pid"), $(svc_elapsed "$t0") s since start)"

	tries=1
	until mosq_wait_ready; do
		if [ $tries -ge 3 ] || ! grep -q 'Address already in use' "$DIR/mosquitto.log"; then
			die "mosquitto did not start on 127.0.0.1:$MQTT_PORT"
		fi
		MQTT_PORT=$(free_port "$PG_PORT")
		note "mosquitto port taken, retrying on $MQTT_PORT"
		printf 'PG_PORT=%s\nMQTT_PORT=%s\n' "$PG_PORT" "$MQTT_PORT" >"$DIR/services.state"
		mosq_write_conf
		mosq_launch
		tries=$((tries + 1))
	done
	note "mosquitto on 127.0.0.1:$MQTT_PORT (pid $(cat "$DIR/mosquitto.pid"))"

	kmock_wait_ready || die "the Kafka mock cluster did not come up"
	note "kafka mock, ${HZ_KMOCK_BROKERS:-3} brokers at $KAFKA_BROKERS (pid $(cat "$DIR/kmock.pid"))"

	write_env
	t1=$(svc_elapsed "$t0")
	note "all ready in $t1 s: source $DIR/env"
}

cmd_stop() {
	local t0 rc=0
	t0=$(svc_now_ms)
	[ -d "$DIR" ] || return 0
	# Each in a subshell: a failure to stop one must not keep the others up.
	(cmd_pg_stop fast) || rc=1
	(cmd_mosquitto_stop) || rc=1
	(cmd_kmock_stop) || rc=1
	note "stopped in $(svc_elapsed "$t0") s"
	return $rc
}

cmd_status() {
	local rc=0
	load_state
	if pg_alive; then
		echo "postgres   up    pid $(cat "$DIR/pg.pid") 127.0.0.1:$PG_PORT$([ -e "$DIR/pg.frozen" ] && echo ' FROZEN')"
	else
		echo "postgres   down  127.0.0.1:$PG_PORT"
		rc=1
	fi
	if mosq_alive; then
		echo "mosquitto  up    pid $(cat "$DIR/mosquitto.pid") 127.0.0.1:$MQTT_PORT$([ -e "$DIR/mosquitto.frozen" ] && echo ' FROZEN')"
	else
		echo "mosquitto  down  127.0.0.1:$MQTT_PORT"
		rc=1
	fi
	if kmock_alive; then
		echo "kmock      up    pid $(cat "$DIR/kmock.pid") $(cat "$DIR/kafka.bootstrap" 2>/dev/null)"
	else
		echo "kmock      down"
		rc=1
	fi
	return $rc
}

# Undo whatever a (failed) fault test left behind, so the next test starts
# from healthy servers. kmock is restarted if it died, which changes the
# Kafka bootstrap address: DIR/env is rewritten, so re-source it.
cmd_heal() {
	load_state
	pg_thaw_quiet
	if [ -e "$DIR/mosquitto.frozen" ]; then cmd_mosquitto_thaw; fi
	if ! pg_alive; then
		note "heal: postgres was down"
		cmd_pg_start
	fi
	if ! mosq_alive; then
		note "heal: mosquitto was down"
		cmd_mosquitto_start
	fi
	if kmock_alive; then
		cmd_kafka "$DIR" reset 2>/dev/null || note "heal: kafka reset failed"
		KAFKA_BROKERS=$(cat "$DIR/kafka.bootstrap")
	else
		note "heal: kmock was down: restarting it (new bootstrap address)"
		rm -f "$DIR/kmock.ctl"
		kmock_launch
		kmock_wait_ready || die "the Kafka mock cluster did not come up"
	fi
	write_env
}

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1
	shift
	case "$cmd" in
	kafka)
		cmd_kafka "$@"
		return
		;;
	-h | --help | help) usage ;;
	esac
	rundir_arg "${1:-}"
	shift
	case "$cmd" in
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	heal) cmd_heal ;;
	pg-start) cmd_pg_start ;;
	pg-stop)
		load_state
		cmd_pg_stop "${1:-fast}"
		;;
	pg-restart) cmd_pg_restart "${1:-}" ;;
	pg-freeze) cmd_pg_freeze ;;
	pg-thaw) cmd_pg_thaw ;;
	mosquitto-start) cmd_mosquitto_start ;;
	mosquitto-stop) cmd_mosquitto_stop ;;
	mosquitto-kill) cmd_mosquitto_kill ;;
	mosquitto-restart) cmd_mosquitto_restart "${1:-0}" ;;
	mosquitto-freeze) cmd_mosquitto_freeze ;;
	mosquitto-thaw) cmd_mosquitto_thaw ;;
	kafka-stop) cmd_kmock_stop ;;
	*) usage ;;
	esac
}

main "$@"

# shellcheck shell=bash
# lib.sh - helpers shared by deploy/dev/services.sh and the integration test
# harness: clocks, checking and stopping processes by recorded pid. Sourced,
# never run. It never finds a process by name: every pid it touches was
# recorded by whoever started the process, and is checked against a marker
# string in its command line (the run dir) so a recycled pid is left alone.

# Milliseconds since the epoch.
svc_now_ms() { date +%s%3N; }

# Seconds since START_MS with one decimal: "1.3".
svc_elapsed() {
	local d=$(($(svc_now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100))
}

# The pid recorded in FILE, or nothing (and status 1) when there is none.
svc_pid_read() {
	local pid
	[ -r "$1" ] || return 1
	read -r pid <"$1" || true
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	printf '%s\n' "$pid"
}

# True when PID is a live (not zombie) process whose command line contains
# MARK (when MARK is given).
svc_pid_alive() {
	local pid=$1 mark=${2:-} state cmd
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
	[ -z "$mark" ] && return 0
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case "$cmd" in *"$mark"*) return 0 ;; esac
	return 1
}

# Poll until PID is gone (or a zombie) or TIMEOUT_S passes; status 1 on timeout.
svc_pid_wait_gone() {
	local pid=$1 mark=${2:-} deadline=$(($(svc_now_ms) + ${3:-10} * 1000))
	while svc_pid_alive "$pid" "$mark"; do
		[ "$(svc_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# Stop PID: SIGTERM (and SIGCONT, in case it is stopped), wait up to
# TIMEOUT_S (default 10), then SIGKILL. Succeeds when it was already gone.
# Prints what it had to do when SIGKILL was needed.
svc_stop_pid() {
	local pid=$1 mark=${2:-} timeout=${3:-10} what=${4:-process}
	svc_pid_alive "$pid" "$mark" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true
	svc_pid_wait_gone "$pid" "$mark" "$timeout" && return 0
	echo "services: $what (pid $pid) still running ${timeout}s after SIGTERM: sending SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
	svc_pid_wait_gone "$pid" "$mark" 5 && return 0
	echo "services: $what (pid $pid) survived SIGKILL" >&2
	return 1
}

# Stop the process recorded in PIDFILE (see svc_stop_pid) and remove the file.
svc_stop_pidfile() {
	local file=$1 mark=${2:-} timeout=${3:-10} what=${4:-process} pid
	if pid=$(svc_pid_read "$file"); then
		svc_stop_pid "$pid" "$mark" "$timeout" "$what" || return 1
	fi
	rm -f "$file"
}

# The last N (default 30) lines of FILE, indented, for error messages.
svc_tail() {
	local file=$1 n=${2:-30}
	if [ -s "$file" ]; then
		echo "  --- last $n lines of $file ---" >&2
		tail -n "$n" "$file" | sed 's/^/  | /' >&2
	else
		echo "  ($file is empty or missing)" >&2
	fi
}

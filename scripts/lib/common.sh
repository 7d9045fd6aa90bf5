# shellcheck shell=bash
# Shared helpers for scripts/dev and scripts/bench. Source this file; it defines functions only
# (plus a few path variables) and never changes shell options.

ESCROWMARKET_ROOT="${ESCROWMARKET_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ESCROWMARKET_CACHE="${ESCROWMARKET_CACHE:-$HOME/.cache/escrowmarket}"

# Topics every environment gets: each with 3 partitions (ESCROWMARKET_TOPIC_PARTITIONS) and a `.dlq` sibling.
# shellcheck disable=SC2034 # used by lib/infra.sh
ESCROWMARKET_TOPICS=(orders.events payments.events escrow.events notifications.events)
# shellcheck disable=SC2034 # used by lib/infra.sh
ESCROWMARKET_TOPIC_PARTITIONS=${ESCROWMARKET_TOPIC_PARTITIONS:-3}

log() { printf '==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The tests and suites a Swift Testing log shows started and never ended (passed, failed or
# skipped): what a run cut off by a timeout was waiting for. Parameterized cases are not listed
# (their test is).
unfinished_tests() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        / (Test|Suite) / && !/ Test (case|run) / {
            line = $0
            if (!match(line, / (Test|Suite) /)) next
            name = substr(line, RSTART + 1)
            if (name ~ / started\.$/) { sub(/ started\.$/, "", name); open[name]++; next }
            if (sub(/ (with [0-9]+ test cases? )?(passed|failed|skipped).*$/, "", name)) open[name]--
        }
        END { for (name in open) if (open[name] > 0) print "    " name }' | sort
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# A python interpreter for small helpers (stdlib only); the dev venv once deps has run.
helper_python() {
    if [[ -n "${VENV_PY:-}" && -x "${VENV_PY}" ]]; then
        printf '%s\n' "$VENV_PY"
    elif command -v python3 >/dev/null 2>&1; then
        command -v python3
    else
        die "python3 not found"
    fi
}

# free_port: prints a TCP port on 127.0.0.1 that the kernel says is free right now.
free_port() {
    "$(helper_python)" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# port_open PORT [HOST]: true if something accepts TCP connections there.
port_open() {
    local port="$1" host="${2:-127.0.0.1}"
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# wait_for_port PORT [TIMEOUT_S] [HOST] [PID]: waits until the port accepts connections.
# With PID, gives up early when that process has died.
wait_for_port() {
    local port="$1" timeout="${2:-30}" host="${3:-127.0.0.1}" pid="${4:-}"
    local deadline=$((SECONDS + timeout))
    until port_open "$port" "$host"; do
        if [[ -n "$pid" ]] && ! proc_running "$pid"; then
            return 1
        fi
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.1
    done
}

# proc_running PID: true if PID is a live process (a zombie counts as dead).
proc_running() {
    local pid="$1" stat
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != "Z" ]]
}

# pid_cmd_matches PID EXPECT: true if the process's command line contains EXPECT (or EXPECT is
# empty). Guards against a stale PID file naming a PID that was reused by something else.
pid_cmd_matches() {
    local pid="$1" expect="${2:-}" cmd
    [[ -z "$expect" ]] && return 0
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmd" == *"$expect"* ]]
}

# pid_alive PIDFILE [EXPECT]: true if the file names a running process (whose command line
# contains EXPECT, when given).
pid_alive() {
    local pidfile="$1" expect="${2:-}" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    proc_running "$pid" && pid_cmd_matches "$pid" "$expect"
}

# spawn_detached PIDFILE LOGFILE CMD...: starts CMD in its own session (so a Ctrl-C in the
# terminal does not reach it), output to LOGFILE, and writes its PID to PIDFILE. Prints the PID.
spawn_detached() {
    local pidfile="$1" logfile="$2"
    shift 2
    rm -f "$pidfile"
    # The inner shell writes its own PID and then execs CMD, so the PID is CMD's whatever setsid does.
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
        >>"$logfile" 2>&1 </dev/null &
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$pidfile" ]] && break
        sleep 0.05
    done
    [[ -s "$pidfile" ]] || die "could not start $1 (no pid file $pidfile)"
    cat "$pidfile"
}

# stop_pid PIDFILE [GRACE_S] [EXPECT]: SIGTERM, wait up to GRACE_S (default 15), then SIGKILL.
# With EXPECT, only signals the PID if its command line contains EXPECT (stale PID files are
# just removed). Removes the PID file. Quiet and successful when nothing is running.
stop_pid() {
    local pidfile="$1" grace="${2:-15}" expect="${3:-}" pid
    if [[ ! -s "$pidfile" ]]; then
        rm -f "$pidfile"
        return 0
    fi
    pid="$(<"$pidfile")"
    if proc_running "$pid" && pid_cmd_matches "$pid" "$expect"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + grace))
        while proc_running "$pid" && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if proc_running "$pid"; then
            warn "pid $pid ($pidfile) ignored SIGTERM for ${grace}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 5))
            while proc_running "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
        fi
    fi
    rm -f "$pidfile"
}

# random_hex NBYTES
random_hex() {
    od -An -tx1 -N"${1:-32}" /dev/urandom | tr -d ' \n'
}

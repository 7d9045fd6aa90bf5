# shellcheck shell=bash
# Postgres clusters and Tansu brokers for the local stack (`up`) and throwaway test/bench
# environments. Requires lib/common.sh (and TANSU_BIN from lib/deps.sh for the broker).

pg_bindir() {
    if [[ -n "${PG_BIN:-}" ]]; then
        printf '%s\n' "$PG_BIN"
    elif [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
    else
        local d
        d="$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n1)"
        [[ -n "$d" && -x "$d/pg_ctl" ]] || die "PostgreSQL server binaries not found (run: scripts/dev deps)"
        printf '%s\n' "$d"
    fi
}

# Postgres refuses to run as root: as root, clusters belong to the `postgres` user.
pg_owner() { if is_root; then echo postgres; else id -un; fi; }

as_pg_owner() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# _pg_prepare_dir DIR: creates DIR owned by the cluster owner, and checks that owner can reach it.
_pg_prepare_dir() {
    local dir="$1"
    mkdir -p "$dir"
    if is_root; then
        chown postgres:postgres "$dir"
        chmod 700 "$dir"
        runuser -u postgres -- test -w "$dir" ||
            die "user postgres cannot reach $dir (a parent directory is not world-searchable?)"
    fi
}

# start_postgres DIR PORT [durable|throwaway]
# A cluster in DIR/data listening on 127.0.0.1:PORT only (socket in DIR/run, log DIR/postgres.log),
# superuser `postgres`, trust auth. `throwaway` (tests, benchmarks) turns off fsync and
# synchronous_commit; `durable` (default, used by `up`) keeps them on. Idempotent: a cluster that
# is already running is left alone.
start_postgres() {
    local dir="$1" port="$2" mode="${3:-durable}"
    local bindir data
    bindir="$(pg_bindir)"
    _pg_prepare_dir "$dir"
    dir="$(cd "$dir" && pwd)"
    data="$dir/data"

    if [[ ! -f "$data/PG_VERSION" ]]; then
        local initdb_opts=(-D "$data" --auth=trust -U postgres --encoding=UTF8 --no-locale)
        [[ "$mode" == throwaway ]] && initdb_opts+=(--no-sync)
        if ! (cd "$dir" && as_pg_owner "$bindir/initdb" "${initdb_opts[@]}") >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            die "initdb failed in $data"
        fi
        printf "\n# Settings for this environment are written by scripts/dev on every start.\ninclude_if_exists = 'escrowmarket.conf'\n" |
            as_pg_owner tee -a "$data/postgresql.conf" >/dev/null
    fi

    if as_pg_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        return 0
    fi

    as_pg_owner mkdir -p "$dir/run"
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$dir/run'"
        echo "max_connections = 800"
        if [[ "$mode" == throwaway ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
        # Extra lines for this cluster (the checkout benchmark loads pg_stat_statements).
        if [[ -n "${PG_EXTRA_SETTINGS:-}" ]]; then printf '%s\n' "$PG_EXTRA_SETTINGS"; fi
    } | as_pg_owner tee "$data/escrowmarket.conf" >/dev/null

    if ! (cd "$dir" && as_pg_owner "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start) >/dev/null 2>&1; then
        tail -n 30 "$dir/postgres.log" >&2 || true
        die "postgres did not start (data $data, port $port)"
    fi
}

# stop_postgres DIR [fast|immediate]: idempotent.
stop_postgres() {
    local dir="$1" mode="${2:-fast}" bindir
    [[ -f "$dir/data/postmaster.pid" ]] || return 0
    bindir="$(pg_bindir)"
    (cd / && as_pg_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop) >/dev/null 2>&1 || {
        as_pg_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 &&
            die "could not stop postgres in $dir/data"
    }
    return 0
}

pg_running() {
    local dir="$1"
    [[ -f "$dir/data/postmaster.pid" ]] || return 1
    as_pg_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

# start_broker DIR PORT: a Tansu broker (memory storage) on 127.0.0.1:PORT, pid DIR/broker.pid,
# log DIR/broker.log. Idempotent.
start_broker() {
    local dir="$1" port="$2" pid
    [[ -n "${TANSU_BIN:-}" && -x "$TANSU_BIN" ]] || die "TANSU_BIN not set (run deps first)"
    mkdir -p "$dir"
    if pid_alive "$dir/broker.pid" tansu; then
        return 0
    fi
    # tansu also reads settings from the environment (STORAGE_ENGINE, SCHEMA_REGISTRY,
    # OTEL_EXPORTER_OTLP_ENDPOINT, ...): flags win, and the optional ones are cleared.
    pid="$(cd "$dir" && spawn_detached "$dir/broker.pid" "$dir/broker.log" \
        env -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
        "$TANSU_BIN" broker \
        --cluster-id escrowmarket \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/)"
    if ! wait_for_port "$port" 30 127.0.0.1 "$pid"; then
        tail -n 30 "$dir/broker.log" >&2 || true
        stop_pid "$dir/broker.pid" 5 tansu
        die "broker did not start on port $port"
    fi
}

stop_broker() {
    local dir="$1"
    stop_pid "$dir/broker.pid" 10 tansu
}

# _broker_url BROKERS: tcp://HOST:PORT of the first broker in a comma-separated list.
_broker_url() {
    local first="${1%%,*}"
    printf 'tcp://%s\n' "${first#*://}"
}

# _topic_partitions BROKERS: "name partitions" lines for every topic, from `tansu topic list`.
_topic_partitions() {
    "$TANSU_BIN" topic list --broker "$(_broker_url "$1")" |
        "$(helper_python)" -c 'import json, sys
for t in json.load(sys.stdin):
    print(t["name"], len(t.get("partitions") or []))'
}

# create_topics BROKERS: every topic in ESCROWMARKET_TOPICS and its `.dlq` sibling, with
# ESCROWMARKET_TOPIC_PARTITIONS partitions each, through tansu's own CLI. Existing topics are
# kept (so it is safe to rerun); the result is checked.
create_topics() {
    local brokers="$1" url existing want=() t out
    [[ -n "${TANSU_BIN:-}" && -x "$TANSU_BIN" ]] || die "TANSU_BIN not set (run deps first)"
    url="$(_broker_url "$brokers")"
    existing="$(_topic_partitions "$brokers")" || die "cannot list topics on $url"
    for t in "${ESCROWMARKET_TOPICS[@]}"; do want+=("$t" "$t.dlq"); done
    for t in "${want[@]}"; do
        grep -q "^$t " <<<"$existing" && continue
        if ! out="$("$TANSU_BIN" topic create "$t" --broker "$url" \
            --partitions "$ESCROWMARKET_TOPIC_PARTITIONS" 2>&1)"; then
            # tansu exits 1 for a topic that already exists (e.g. created concurrently).
            [[ "$out" == *"already exists"* ]] || die "creating topic $t on $url failed: $out"
        fi
    done
    existing="$(_topic_partitions "$brokers")" || die "cannot list topics on $url"
    for t in "${want[@]}"; do
        local n
        n="$(awk -v t="$t" '$1 == t { print $2 }' <<<"$existing")"
        [[ -n "$n" ]] || die "topic $t missing after creation on $url"
        [[ "$n" == "$ESCROWMARKET_TOPIC_PARTITIONS" ]] ||
            warn "topic $t has $n partitions (expected $ESCROWMARKET_TOPIC_PARTITIONS)"
    done
}

# --- throwaway environments (test, bench) ----------------------------------------------------

# start_throwaway_infra: a temp dir under /tmp with its own Postgres and broker on free ports.
# Sets and exports TEST_DATABASE_URL (and its socket's TEST_DATABASE_SOCKET_DIR), TEST_KAFKA_BROKERS,
# TANSU_BIN; sets THROWAWAY_DIR.
# Install the cleanup trap first: trap stop_throwaway_infra EXIT.
THROWAWAY_DIR=""
start_throwaway_infra() {
    THROWAWAY_DIR="$(mktemp -d /tmp/escrowmarket-test.XXXXXX)"
    chmod 755 "$THROWAWAY_DIR" # the postgres user must be able to reach $THROWAWAY_DIR/pg
    local pg_port kafka_port
    pg_port="$(free_port)"
    log "starting throwaway Postgres on 127.0.0.1:$pg_port ($THROWAWAY_DIR/pg)"
    start_postgres "$THROWAWAY_DIR/pg" "$pg_port" throwaway
    kafka_port="$(free_port)"
    log "starting throwaway broker on 127.0.0.1:$kafka_port ($THROWAWAY_DIR/broker)"
    start_broker "$THROWAWAY_DIR/broker" "$kafka_port"
    log "creating topics"
    create_topics "127.0.0.1:$kafka_port"
    local stripe_port
    stripe_port="$(free_port)"
    log "starting localstripe on 127.0.0.1:$stripe_port ($THROWAWAY_DIR/localstripe)"
    start_localstripe "$THROWAWAY_DIR/localstripe" "$stripe_port"
    local smtp_port
    smtp_port="$(free_port)"
    log "starting SMTP sink on 127.0.0.1:$smtp_port ($THROWAWAY_DIR/smtp)"
    start_smtp_sink "$THROWAWAY_DIR/smtp" "$smtp_port"
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
    export TEST_DATABASE_SOCKET_DIR="$THROWAWAY_DIR/pg/run"
    export TEST_KAFKA_BROKERS="127.0.0.1:$kafka_port"
    export TEST_LOCALSTRIPE_URL="http://127.0.0.1:$stripe_port"
    export TEST_SMTP_HOST=127.0.0.1
    export TEST_SMTP_PORT="$smtp_port"
    export TEST_SMTP_MAILDIR="$THROWAWAY_DIR/smtp/mail"
    # Tests that take the SMTP server down start their own sink with these.
    export TEST_PYTHON="$VENV_PY"
    export TEST_SMTP_SINK_SCRIPT="$ESCROWMARKET_ROOT/scripts/lib/smtp_sink.py"
    export TANSU_BIN
}

# start_smtp_sink DIR PORT [OPTION...]: the aiosmtpd sink (scripts/lib/smtp_sink.py) on
# 127.0.0.1:PORT, writing each message to DIR/mail; pid and log in DIR. Idempotent.
start_smtp_sink() {
    local dir="$1" port="$2" pid
    shift 2
    mkdir -p "$dir/mail"
    if pid_alive "$dir/smtp.pid" smtp_sink; then
        return 0
    fi
    pid="$(cd "$dir" && spawn_detached "$dir/smtp.pid" "$dir/smtp.log" \
        "$VENV_PY" "$ESCROWMARKET_ROOT/scripts/lib/smtp_sink.py" --host 127.0.0.1 --port "$port" --maildir "$dir/mail" "$@")"
    if ! wait_for_port "$port" 30 127.0.0.1 "$pid"; then
        tail -n 20 "$dir/smtp.log" >&2 || true
        stop_pid "$dir/smtp.pid" 5 smtp_sink
        die "SMTP sink did not start on port $port"
    fi
}

stop_smtp_sink() {
    stop_pid "$1/smtp.pid" 10 smtp_sink
}

# start_stripe_simulator PIDFILE LOGFILE BINARY PORT WEBHOOK_URL WEBHOOK_SECRET [VAR=VALUE ...]: the Stripe
# simulator (Tools/StripeSimulator, built as `StripeSimulator`) on 127.0.0.1:PORT, sending its signed
# webhooks to WEBHOOK_URL, of the types PaymentService acts on (deploy/stripe/webhook-events.txt, as a
# real endpoint is registered). VAR=VALUE pairs add SIM_* settings (see Tools/StripeSimulator/README.md).
# Waits until GET /_sim/health answers. Idempotent: a simulator that is already running is kept.
start_stripe_simulator() {
    local pidfile="$1" logfile="$2" binary="$3" port="$4" url="$5" secret="$6" pid
    shift 6
    [[ -x "$binary" ]] || die "$binary not found (build it: scripts/dev build --product StripeSimulator)"
    pid_alive "$pidfile" StripeSimulator && return 0
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    local events
    events="$(paste -sd, "$ESCROWMARKET_ROOT/deploy/stripe/webhook-events.txt")"
    pid="$(spawn_detached "$pidfile" "$logfile" env SIM_HOST=127.0.0.1 SIM_PORT="$port" \
        SIM_WEBHOOK_URL="$url" SIM_WEBHOOK_SECRET="$secret" SIM_WEBHOOK_EVENTS="$events" "$@" "$binary")"
    local deadline=$((SECONDS + 30))
    until [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/_sim/health" 2>/dev/null)" == 200 ]]; do
        if ! proc_running "$pid" || ((SECONDS >= deadline)); then
            tail -n 20 "$logfile" >&2 || true
            stop_pid "$pidfile" 5 StripeSimulator
            die "the Stripe simulator did not start on port $port"
        fi
        sleep 0.1
    done
}

# stop_stripe_simulator PIDFILE: idempotent.
stop_stripe_simulator() {
    stop_pid "$1" 10 StripeSimulator
}

# start_localstripe DIR PORT: the fake Stripe server (PyPI localstripe), from scratch (it
# would otherwise reload /tmp/localstripe.pickle), with its pid and log in DIR.
start_localstripe() {
    local dir="$1" port="$2" pid
    mkdir -p "$dir"
    pid="$(cd "$dir" && spawn_detached "$dir/localstripe.pid" "$dir/localstripe.log" \
        "$(dirname "$VENV_PY")/localstripe" --port "$port" --from-scratch)"
    if ! wait_for_port "$port" 30 127.0.0.1 "$pid"; then
        tail -n 20 "$dir/localstripe.log" >&2 || true
        stop_pid "$dir/localstripe.pid" 5 localstripe
        die "localstripe did not start on port $port"
    fi
}

# stop_throwaway_infra: kills the broker, stops Postgres, removes the temp dir. Safe to call
# more than once and from a trap; keeps the caller's exit status.
stop_throwaway_infra() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$THROWAWAY_DIR" && -d "$THROWAWAY_DIR" ]]; then
        log "cleaning up $THROWAWAY_DIR"
        # Subshells: a failure in one step (even a `die`) must not skip the others.
        (stop_broker "$THROWAWAY_DIR/broker") || true
        (stop_pid "$THROWAWAY_DIR/localstripe/localstripe.pid" 5 localstripe) || true
        (stop_smtp_sink "$THROWAWAY_DIR/smtp") || true
        (stop_postgres "$THROWAWAY_DIR/pg" immediate) || true
        rm -rf "$THROWAWAY_DIR"
    fi
    THROWAWAY_DIR=""
    return "$rc"
}

# shellcheck shell=bash
# The stack of a chaos or benchmark run: its own Postgres, broker, topics, SMTP sink and Stripe
# simulator on free ports under a temp dir, and the CHAOS_* environment that
# scripts/lib/chaos_stack.py (Env) reads to start and watch the four services. Sourced after
# common.sh, deps.sh and infra.sh.

RUN_STACK_DIR=""
RUN_STACK_NAME=""

# run_stack_ports N: N distinct free TCP ports below the ephemeral range (a kernel-picked port could
# be taken by an outgoing connection before the process that needs it binds it).
run_stack_ports() {
    "$(helper_python)" - "$1" <<'PY'
import random, socket, sys
low = 32768
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    pass
picked = []
while len(picked) < int(sys.argv[1]):
    port = random.randint(20000, max(20001, low - 1))
    if port in picked:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    picked.append(port)
print(" ".join(map(str, picked)))
PY
}

# run_stack_start NAME BINDIR [throwaway|durable] [INSTANCES]: starts Postgres (fsync off for
# `throwaway`), broker, topics, SMTP sink and the Stripe simulator from BINDIR, picks INSTANCES
# (default 1) ports per service, and exports the CHAOS_* variables (RUN_STACK_RAW_MAIL=1: the SMTP
# sink stores raw mail only). Install `trap run_stack_stop EXIT` first.
run_stack_start() {
    local name="$1" bindir="$2" pg_mode="${3:-throwaway}" instances="${4:-1}"
    RUN_STACK_NAME="$name"
    RUN_STACK_DIR="$(mktemp -d "/tmp/escrowmarket-$name.XXXXXX")"
    chmod 755 "$RUN_STACK_DIR" # the postgres user must be able to reach $RUN_STACK_DIR/pg
    mkdir -p "$RUN_STACK_DIR/logs" "$RUN_STACK_DIR/services"

    local pg_port kafka_port smtp_port
    read -r pg_port kafka_port smtp_port < <(run_stack_ports 3)
    log "starting Postgres ($pg_mode) on 127.0.0.1:$pg_port ($RUN_STACK_DIR/pg)"
    start_postgres "$RUN_STACK_DIR/pg" "$pg_port" "$pg_mode"
    local out
    if ! out="$("$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -f "$ESCROWMARKET_ROOT/deploy/postgres/init.sql" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "init.sql failed"
    fi
    log "starting broker on 127.0.0.1:$kafka_port"
    start_broker "$RUN_STACK_DIR/broker" "$kafka_port"
    log "creating topics"
    create_topics "127.0.0.1:$kafka_port"
    log "starting SMTP sink on 127.0.0.1:$smtp_port"
    # With RUN_STACK_RAW_MAIL=1 (chaos and bench runs, which read no mail back) the sink only
    # stores each message, without decoding it (about 9 ms of CPU, taken from the services under
    # load); the console test reads the decoded mail.
    local sink_options=()
    [[ "${RUN_STACK_RAW_MAIL:-0}" == 1 ]] && sink_options=(--raw-only)
    start_smtp_sink "$RUN_STACK_DIR/smtp" "$smtp_port" "${sink_options[@]}"

    # Service ports: instance 1 of the four services, then instance 2, ...; then the simulator's.
    local ports stripe_port
    read -r -a ports < <(run_stack_ports $((4 * instances + 1)))
    stripe_port="${ports[-1]}"
    unset 'ports[-1]'
    # PaymentService is the only receiver of the gateway's webhooks; every instance takes them in
    # turn (the simulator retries a refused one at the next), as behind a load balancer.
    local webhook_urls="" k
    for ((k = 0; k < instances; k++)); do
        webhook_urls+="${webhook_urls:+,}http://127.0.0.1:${ports[4 * k + 1]}/api/v1/stripe/webhook"
    done
    # They are signed with this.
    local webhook_secret stripe_key
    webhook_secret="whsec_$(random_hex 32)"
    stripe_key="sk_test_${name}_$(random_hex 12)"
    log "starting the Stripe simulator on 127.0.0.1:$stripe_port"
    # Refused webhooks (a service down for a moment) come again within 5 s, not Stripe's hours.
    start_stripe_simulator "$RUN_STACK_DIR/stripe/stripe.pid" "$RUN_STACK_DIR/logs/StripeSimulator.log" "$bindir/StripeSimulator" \
        "$stripe_port" "$webhook_urls" "$webhook_secret" \
        SIM_WEBHOOK_RETRY_BASE_MS=500 SIM_WEBHOOK_RETRY_CAP_MS=5000

    export CHAOS_DIR="$RUN_STACK_DIR" \
        CHAOS_BIN_DIR="$bindir" \
        CHAOS_PG_BIN="$(pg_bindir)" \
        CHAOS_PG_DATA="$RUN_STACK_DIR/pg/data" \
        CHAOS_PG_LOG="$RUN_STACK_DIR/pg/postgres.log" \
        CHAOS_PG_PORT="$pg_port" \
        CHAOS_PG_SOCKET_DIR="$RUN_STACK_DIR/pg/run" \
        CHAOS_PG_OWNER="$(pg_owner)" \
        CHAOS_KAFKA_PORT="$kafka_port" \
        CHAOS_BROKER_PIDFILE="$RUN_STACK_DIR/broker/broker.pid" \
        CHAOS_SMTP_PORT="$smtp_port" \
        CHAOS_SERVICE_PORTS="${ports[*]}" \
        CHAOS_STRIPE_URL="http://127.0.0.1:$stripe_port" \
        CHAOS_STRIPE_KEY="$stripe_key" \
        CHAOS_STRIPE_PIDFILE="$RUN_STACK_DIR/stripe/stripe.pid" \
        CHAOS_WEBHOOK_SECRET="$webhook_secret" \
        CHAOS_TOPICS="${ESCROWMARKET_TOPICS[*]}" \
        CHAOS_PARTITIONS="$ESCROWMARKET_TOPIC_PARTITIONS"
}

# run_stack_stop: stops everything run_stack_start started (an EXIT trap; keeps the exit status).
# The logs are copied to RUN_STACK_KEEP_LOGS, or when the run failed to .dev/<name>/<time>.
RUN_STACK_KEEP_LOGS=""
run_stack_stop() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$RUN_STACK_DIR" && -d "$RUN_STACK_DIR" ]]; then
        log "stopping what the run started ($RUN_STACK_DIR)"
        local pidfile name
        for pidfile in "$RUN_STACK_DIR"/services/*.pid; do
            [[ -e "$pidfile" ]] || continue
            name="$(basename "$pidfile" .pid)"
            # Instance k of a service (OrderService-2) runs the service's binary (OrderService).
            (stop_pid "$pidfile" 10 "${name%-[0-9]}") || true
        done
        (stop_stripe_simulator "$RUN_STACK_DIR/stripe/stripe.pid") || true
        # A broker left frozen by an interrupted run must be thawed to hear SIGTERM.
        if [[ -s "$RUN_STACK_DIR/broker/broker.pid" ]]; then
            kill -CONT "$(<"$RUN_STACK_DIR/broker/broker.pid")" 2>/dev/null || true
        fi
        (stop_broker "$RUN_STACK_DIR/broker") || true
        (stop_smtp_sink "$RUN_STACK_DIR/smtp") || true
        (stop_postgres "$RUN_STACK_DIR/pg" immediate) || true
        local keep="$RUN_STACK_KEEP_LOGS"
        if [[ -z "$keep" && "$rc" -ne 0 ]]; then
            keep="$ESCROWMARKET_ROOT/.dev/$RUN_STACK_NAME/$(date +%Y%m%d-%H%M%S)"
        fi
        if [[ -n "$keep" ]]; then
            mkdir -p "$keep"
            cp -r "$RUN_STACK_DIR/logs/." "$keep/" 2>/dev/null || true
            cp "$RUN_STACK_DIR/broker/broker.log" "$RUN_STACK_DIR/pg/postgres.log" "$keep/" 2>/dev/null || true
            cp "$RUN_STACK_DIR"/*.json "$keep/" 2>/dev/null || true
            info "logs kept in $keep"
        fi
        rm -rf "$RUN_STACK_DIR"
    fi
    RUN_STACK_DIR=""
    return "$rc"
}

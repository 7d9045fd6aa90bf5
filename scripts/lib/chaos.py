#!/usr/bin/env python3
"""The chaos run (`scripts/chaos`): randomized journeys against the four services while faults
are injected (kill -9 of each service in turn, the broker frozen, a Postgres restart, stored
Stripe webhooks re-sent duplicated and shuffled, and meanwhile the Stripe simulator failing,
hanging, duplicating and reordering webhooks, and failing refunds and payouts after they
succeeded); then, once the system is quiet, invariants are checked straight from the databases
and the simulator. Prints one line per check, measurements, and `N passed, M failed`; exits 1
when a check failed.

scripts/chaos starts Postgres, the broker, the SMTP sink and the Stripe simulator and passes them
in CHAOS_* variables; this script runs the services itself (so it can kill and restart them).
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos_checks import Checks, read_gateway, wait_quiescent  # noqa: E402
from chaos_journeys import Http, JourneyError, World  # noqa: E402
from chaos_stack import (  # noqa: E402
    Database, Env, Gateway, Kafka, Restart, broker_pid, make_services, post_webhook, stored_webhooks,
)

FAULT_GRACE = 10.0   # seconds after a fault ends during which a 5xx is blamed on it
FAULTS = ["kill", "freeze", "postgres", "webhooks", "gateway"]
# A lost answer hangs longer than the services wait for one.
LOST_ANSWER_HANG_MS = 12_000  # just past the services' STRIPE_TIMEOUT_MS (10 s) in the chaos stack


def say(text: str) -> None:
    print(text, flush=True)


def note(text: str) -> None:
    print(f"    {text}", flush=True)


class Chaos:
    def __init__(self, args):
        self.args = args
        self.env = Env()
        self.db = Database(self.env)
        self.services = make_services(self.env)
        self.gateway = Gateway(self.env)
        self.rng = random.Random(args.seed)
        self.run = f"{args.seed:x}"[-6:]
        urls = {"orders": self.env.urls("OrderService"), "payments": self.env.urls("PaymentService"),
                "escrow": self.env.urls("EscrowService"), "notifications": self.env.urls("NotificationService")}
        self.http = Http(urls, self.env.jwt_secret, retry_for=args.step_timeout)
        self.world = World(self.http, self.run, self.rng, sellers=args.sellers, step_timeout=args.step_timeout,
                           late_failures=not args.no_faults and "gateway" in args.faults)
        self.fault_windows: list[tuple[float, float, str]] = []
        self.fault_log: list[str] = []
        self.restarts: list[Restart] = []
        # When the broker was frozen: no consumer can get partitions then, restarted or not.
        self.frozen: list[tuple[float, float]] = []
        self.webhook_replays = {"sent": 0, "not_ok": []}
        self.faults_done = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------------

    def start_services(self) -> None:
        for s in self.services.values():
            s.start()
        for s in self.services.values():
            if s.wait_ready(180) is None:
                raise SystemExit(f"chaos: {s.name} did not become ready; see {s.log_path}")
            note(f"{s.name} ready on 127.0.0.1:{s.port} (pid {s.proc.pid})")

    def total_cpu(self) -> float:
        return sum(s.cpu_seconds() for s in self.services.values())

    # --- faults ---------------------------------------------------------------------------------

    def fault(self, label: str, action) -> None:
        started = time.time()
        try:
            detail = action()
        except Exception as e:  # noqa: BLE001 - a fault that cannot be injected is reported, not fatal
            detail = f"FAILED to inject: {e}"
        ended = time.time()
        self.fault_windows.append((started, ended + FAULT_GRACE, label))
        line = f"{time.strftime('%H:%M:%S', time.localtime(started))} {label}: {detail}"
        self.fault_log.append(line)
        note(line)

    def kill_and_restart(self, name: str) -> str:
        s = self.services[name]
        killed = time.time()
        s.kill9()
        time.sleep(self.args.down_seconds)
        s.start()
        r = Restart(service=name, killed_at=killed, started_at=time.time())
        self.restarts.append(r)
        r.ready_after = s.wait_ready(120)
        threading.Thread(target=self.watch_assignment, args=(s, r), daemon=True).start()
        ready = f"ready {r.ready_after:.1f}s after restart" if r.ready_after is not None else "NOT ready within 120s"
        return f"kill -9, restarted after {self.args.down_seconds:.0f}s (pid {s.proc.pid}), {ready}"

    def watch_assignment(self, s, r: Restart) -> None:
        """Seconds from restart until the consumer has partitions again (lag gauge samples)."""
        deadline = time.time() + 240
        while time.time() < deadline and s.alive():
            lag = s.lag()
            if lag:
                r.assigned_after = time.time() - r.started_at
                return
            time.sleep(1)

    def freeze_broker(self) -> str:
        pid = broker_pid(self.env)
        frozen_at = time.time()
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(self.args.freeze_seconds)
        finally:
            os.kill(pid, signal.SIGCONT)
            self.frozen.append((frozen_at, time.time()))
        return f"SIGSTOP for {self.args.freeze_seconds:.0f}s, then SIGCONT"

    def restart_postgres(self) -> str:
        took = self.db.restart()
        return f"pg_ctl restart -m fast took {took:.1f}s"

    def replay_webhooks(self) -> str:
        events = stored_webhooks(self.db)
        batch = [e for e in events for _ in range(2)]
        self.rng.shuffle(batch)
        url = f"{self.env.url('PaymentService')}/api/v1/stripe/webhook"
        lock = threading.Lock()

        def send(item):
            event_id, payload = item
            deadline = time.monotonic() + 60
            while True:
                status = post_webhook(url, payload, self.env.webhook_secret)
                if status == 200 or (status != 0 and status < 500) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)   # PaymentService down for a moment: Stripe would retry too
            with lock:
                self.webhook_replays["sent"] += 1
                if status != 200:
                    self.webhook_replays["not_ok"].append((event_id, status))

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(send, batch))
        return f"{len(events)} stored events re-sent twice each, shuffled ({len(batch)} POSTs)"

    def gateway_plan(self) -> dict:
        """The simulator's fault document for the gateway fault: rates low enough for the short run
        to finish (a lost answer costs one command the services' 10 s client timeout, then a retry)."""
        return {
            "rules": [
                # Done at the gateway, answered too late: the services retry with the same key.
                {"kind": "lost_answer", "method": "POST", "path": "/v1/transfers", "rate": 0.25, "count": 1,
                 "hangMs": LOST_ANSWER_HANG_MS},
                {"kind": "lost_answer", "method": "POST", "path": "/v1/refunds", "rate": 0.25, "count": 1,
                 "hangMs": LOST_ANSWER_HANG_MS},
                {"kind": "lost_answer", "method": "POST", "path": "/v1/payouts", "rate": 0.5, "count": 1,
                 "hangMs": LOST_ANSWER_HANG_MS},
                {"kind": "server_error", "rate": 0.2},
                {"kind": "latency", "rate": 0.3, "latencyMs": 200},
            ],
            "webhooks": {"duplicateRate": 0.25, "reorder": True},
            "lateFailures": {"refundRate": 0.4, "payoutRate": 0.4, "delayMs": 1000},
            "seed": self.args.seed,
        }

    def gateway_faults(self) -> str:
        plan = self.gateway_plan()
        before = self.gateway.control("GET", "state")
        self.gateway.control("PUT", "faults", plan)
        try:
            time.sleep(self.args.gateway_seconds)
            left = self.gateway.control("GET", "faults")
        finally:
            self.gateway.control("DELETE", "faults")
        after = self.gateway.control("GET", "state")
        lost = {r["path"]: (r.get("count") or 0) for r in plan["rules"] if r["kind"] == "lost_answer"}
        for r in left.get("rules", []):
            if r.get("kind") == "lost_answer":
                lost[r["path"]] -= r.get("count") or 0
        events = after["events"]["count"] - before["events"]["count"]
        deliveries = after["webhooks"]["delivered"] - before["webhooks"]["delivered"]
        failed_refunds = lambda state: (state["refunds"]["byStatus"].get("failed") or {}).get("count", 0)  # noqa: E731
        return (f"PUT /_sim/faults for {self.args.gateway_seconds:.0f}s, then DELETE: 20% server_error, 200 ms latency on 30%, "
                f"lost answers ({LOST_ANSWER_HANG_MS / 1000:.0f} s hang) "
                + ", ".join(f"{n} on POST {p}" for p, n in lost.items())
                + f"; webhooks 25% duplicated and reordered ({events} events, {deliveries} deliveries); late failures of "
                  f"40% of refunds and payouts ({failed_refunds(after) - failed_refunds(before)} refunds failed so far)")

    def inject_faults(self) -> None:
        gateway = None
        try:
            time.sleep(self.args.fault_delay)
            if "gateway" in self.args.faults:
                # Alongside the faults below, so that it meets the journeys even in the short run.
                gateway = threading.Thread(target=self.fault, args=("the Stripe simulator misbehaves", self.gateway_faults),
                                           daemon=True)
                gateway.start()
            if "kill" in self.args.faults:
                # One instance of each service in turn (with several, the others carry on).
                programs = list(dict.fromkeys(s.binary.name for s in self.services.values()))
                for i, program in enumerate(programs):
                    name = program if i % self.env.instances == 0 else f"{program}-{i % self.env.instances + 1}"
                    self.fault(f"kill {name}", lambda n=name: self.kill_and_restart(n))
                    if self.env.instances > 1:
                        # The next fault waits for this restart's recovery (at most the limit the
                        # check allows): a broker frozen meanwhile makes the whole group rebalance,
                        # which with several members outlasts the freeze and is the freeze's doing.
                        restart = self.restarts[-1]
                        deadline = time.monotonic() + self.args.recovery_limit
                        while restart.assigned_after is None and time.monotonic() < deadline:
                            time.sleep(0.5)
                    time.sleep(self.args.fault_gap)
            if "freeze" in self.args.faults:
                self.fault("freeze the broker", self.freeze_broker)
                time.sleep(self.args.fault_gap)
            if "postgres" in self.args.faults:
                self.fault("restart Postgres", self.restart_postgres)
                time.sleep(self.args.fault_gap)
            if "webhooks" in self.args.faults:
                self.fault("re-send stored webhooks", self.replay_webhooks)
        finally:
            if gateway is not None:
                gateway.join()
            self.faults_done.set()

    # --- the run --------------------------------------------------------------------------------

    def play(self) -> int:
        a = self.args
        say(f"==> chaos run: seed {a.seed}, {a.journeys} journeys, {a.concurrency} at a time, "
            f"faults {'off' if a.no_faults else ', '.join(a.faults)}")
        say("==> starting the services")
        self.start_services()
        say(f"==> onboarding {a.sellers} sellers (one with a bank whose payouts fail) and listing their items")
        try:
            self.world.setup(listings_per_seller=2, stock=a.stock)
        except JourneyError as e:
            say(f"setup failed: {e}")
            return 2
        journeys = self.world.plan(a.journeys)
        kinds = {}
        for j in journeys:
            kinds[j.kind] = kinds.get(j.kind, 0) + 1
        note("planned: " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())))

        cpu_before = self.total_cpu()
        say("==> playing journeys" + ("" if a.no_faults else " while injecting faults"))
        started = time.time()
        self.world.budget_end = time.monotonic() + a.budget
        fault_thread = None
        if not a.no_faults:
            fault_thread = threading.Thread(target=self.inject_faults, daemon=True)
            fault_thread.start()
        done = [0]

        def one(j):
            self.world.play(j)
            done[0] += 1
            if j.skipped:
                return
            state = "ok" if j.finished else f"STALLED ({j.stalled})" if j.stalled else f"ERROR ({j.error})"
            note(f"journey {j.index:>3} {j.kind:<13} {len(j.orders)} order(s) "
                 f"{','.join(o.action for o in j.orders) or '-':<40} {state}")

        with ThreadPoolExecutor(max_workers=a.concurrency) as pool:
            list(pool.map(one, journeys))
        journeys_took = time.time() - started
        cpu_journeys = self.total_cpu() - cpu_before
        if fault_thread:
            fault_thread.join()
            if "webhooks" in a.faults:
                # Webhooks that arrived after the first replay (payouts, late refunds) get theirs too.
                self.fault("re-send stored webhooks (after the journeys)", self.replay_webhooks)

        say(f"==> waiting for quiescence (at most {a.settle_timeout:.0f}s)")
        quiet, waited, why = wait_quiescent(self.db, self.services, self.gateway, a.settle_timeout)
        note(f"quiet after {waited:.1f}s" if quiet else f"NOT quiet after {waited:.0f}s: {why}")
        with open(self.env.dir / "journeys.json", "w") as f:
            json.dump([j.summary() for j in journeys], f, indent=1)

        if a.tamper:
            self.tamper()
        say("==> checks")
        checks = Checks(self.db, read_gateway(self.gateway))
        checks.record(quiet, "the system became quiet (outboxes, webhooks, refunds, payouts, gateway commands, emails, consumers)",
                      f"after {waited:.1f}s" if quiet else f"still busy after {waited:.0f}s: {why}")
        checks.payments_orders_escrows()
        checks.ledger()
        checks.wallets()
        checks.gateway_transfers()
        checks.gateway_refunds()
        checks.gateway_payouts()
        checks.states(journeys, self.world.listings)
        checks.in_flight()
        checks.gateway_commands()
        checks.gateway_webhooks(self.gateway)
        checks.notifications()
        checks.dead_letters(Kafka("127.0.0.1", self.env.kafka_port), self.env.topics, self.env.partitions)
        self.check_services(checks)
        self.check_consumers(checks)
        self.check_reconciliation(checks)
        self.check_server_errors(checks)
        if not a.no_faults and "webhooks" in a.faults:
            bad = self.webhook_replays["not_ok"]
            checks.record(not bad, "every re-sent webhook is acknowledged with 200 (and changes nothing: see the checks above)",
                          f"{self.webhook_replays['sent']} POSTs" + (f"; not 200: {bad[:6]}" if bad else ""))
        if not a.no_faults and "kill" in a.faults:
            self.check_recovery(checks)
        self.check_idle_cpu(checks)

        say("==> measurements")
        self.measure(journeys, journeys_took, cpu_journeys)
        self.check_sigterm(checks)
        say(f"{checks.passed} passed, {checks.failed} failed")
        return 1 if checks.failed else 0

    def tamper(self) -> None:
        """Corrupts the throwaway databases on purpose (--tamper), one kind of damage per check,
        to show that the checks can fail."""
        say("==> tampering with the data (--tamper): the checks below must fail")
        env = self.env
        damage = [
            ("an order of a succeeded payment back to pending_payment",
             "UPDATE orders.orders SET status = 'pending_payment' WHERE id = (SELECT o.id FROM orders.orders o "
             "JOIN escrow.escrows e ON e.order_id = o.id WHERE o.status = 'completed' ORDER BY o.id LIMIT 1) RETURNING id"),
            ("an escrow's gross off by one",
             "UPDATE escrow.escrows SET gross_amount = gross_amount + 1, net_amount = net_amount + 1 WHERE id = (SELECT id FROM "
             "escrow.escrows WHERE status = 'refunded' ORDER BY id LIMIT 1) RETURNING id"),
            ("an unbalanced ledger entry on an escrow's held account (triggers off)",
             "SET session_replication_role = replica; INSERT INTO escrow.journal_entries (transaction_id, account, amount, currency) "
             "SELECT id, 'escrow_held:' || (SELECT id FROM escrow.escrows WHERE status = 'released' ORDER BY id OFFSET 1 LIMIT 1), -7, 'usd' "
             "FROM escrow.journal_transactions ORDER BY created_at LIMIT 1 RETURNING id"),
            ("a second transfer for a release, made at the gateway", self._second_transfer),
            ("a succeeded refund ten times larger",
             "UPDATE payments.refunds SET amount = amount * 10 WHERE id = (SELECT id FROM payments.refunds WHERE status = 'succeeded' "
             "ORDER BY id LIMIT 1) RETURNING id"),
            ("a paid payout larger than anything the seller earned",
             "INSERT INTO escrow.payouts (id, seller_id, account_id, amount, currency, status) SELECT gen_random_uuid(), seller_id, "
             "account_id, 99999999, 'usd', 'paid' FROM escrow.seller_accounts ORDER BY seller_id LIMIT 1 RETURNING id"),
            ("a completed order's escrow back to held",
             "UPDATE escrow.escrows SET status = 'held' WHERE order_id = (SELECT o.id FROM orders.orders o JOIN escrow.escrows e "
             "ON e.order_id = o.id WHERE o.status = 'completed' AND e.status = 'released' ORDER BY o.id DESC LIMIT 1) RETURNING id"),
            ("a gateway command left pending",
             "INSERT INTO escrow.gateway_commands (id, kind, subject, amount, currency, idempotency_key, correlation_id, next_attempt_at) "
             "VALUES (gen_random_uuid(), 'tamper', 'tamper', 1, 'usd', 'tamper-' || gen_random_uuid(), 'tamper', now() + interval '1 day') "
             "RETURNING id"),
            ("a stored Stripe event forgotten",
             "DELETE FROM payments.stripe_events WHERE id = (SELECT id FROM payments.stripe_events ORDER BY received_at LIMIT 1) RETURNING id"),
            ("an outbox row marked unpublished",
             "UPDATE orders.outbox SET published_at = NULL WHERE id = (SELECT max(id) FROM orders.outbox) RETURNING id"),
            ("a buyer's wallet overdrawn by 5 (triggers off)",
             "SET session_replication_role = replica; INSERT INTO escrow.journal_entries (transaction_id, account, amount, currency) "
             "SELECT id, 'buyer_wallet:tamper-buyer', 5, 'usd' FROM escrow.journal_transactions ORDER BY created_at LIMIT 1 RETURNING id"),
            ("a spent store-credit hold marked held again",
             "UPDATE escrow.wallet_holds SET status = 'held' WHERE payment_id = (SELECT payment_id FROM escrow.wallet_holds "
             "WHERE status = 'spent' ORDER BY payment_id LIMIT 1) RETURNING payment_id"),
            ("listing stock off by one",
             "UPDATE orders.listings SET stock = stock - 1 WHERE id = (SELECT id FROM orders.listings ORDER BY id LIMIT 1) RETURNING id"),
        ]
        for label, action in damage:
            try:
                if callable(action):
                    note(f"{label}: {action()}")
                    continue
                out = self._psql_script(action)
                note(f"{label}: {len([x for x in out.split() if x and not x.startswith(('SET', 'INSERT', 'UPDATE', 'DELETE'))])} row(s)")
            except Exception as e:  # noqa: BLE001
                note(f"{label}: could not apply ({e})")
        # A dead letter that is not poison: a well-formed envelope on a .dlq topic.
        envelope = json.dumps({"id": "00000000-0000-4000-8000-000000000001", "type": "payment.succeeded", "schemaVersion": 1,
                               "payload": {}})
        subprocess.run([os.environ.get("TANSU_BIN", "tansu"), "cat", "produce", "payments.events.dlq", "--broker",
                        f"tcp://127.0.0.1:{env.kafka_port}", "--partition", "0", "-"],
                       input=json.dumps({"value": json.loads(envelope)}), text=True, capture_output=True, timeout=30)
        note("a well-formed payment.succeeded envelope on payments.events.dlq")

    def _second_transfer(self) -> str:
        """Pays a released escrow's seller once more, in the escrow's transfer group."""
        rows = self.db.rows("SELECT e.checkout_id, e.currency, a.account_id FROM escrow.escrows e JOIN escrow.seller_accounts a "
                            "ON a.seller_id = e.seller_id WHERE e.transfer_id IS NOT NULL ORDER BY e.id LIMIT 1")
        if not rows:
            return "no released escrow with a transfer"
        r = rows[0]
        transfer = self.gateway.call("POST", "/v1/transfers", form={
            "amount": 100, "currency": r["currency"], "destination": r["account_id"], "transfer_group": r["checkout_id"]})
        return f"{transfer['id']} to {r['account_id']}"

    def _psql_script(self, sql: str) -> str:
        proc = subprocess.run(
            [str(self.env.pg_bin / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.env.pg_port),
             "-U", "postgres", "-d", "escrowmarket", "-c", sql], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip())
        return proc.stdout.strip().replace("\n", " ")

    # --- checks on the processes ----------------------------------------------------------------

    def check_services(self, checks: Checks) -> None:
        bad = []
        for s in self.services.values():
            if not s.alive():
                bad.append(f"{s.name} exited ({s.proc.returncode if s.proc else '-'})")
            elif not s.ready():
                bad.append(f"{s.name} /health/ready not 200")
        if not self.gateway.alive():
            bad.append("the Stripe simulator is not running or /_sim/health is not 200")
        checks.record(not bad, "every service process (and the Stripe simulator) alive and /health/ready 200", "; ".join(bad))

    def check_consumers(self, checks: Checks) -> None:
        bad, seen = [], []
        for s in self.services.values():
            lag = s.lag()
            stalled = s.gauge_sum("kafka_consumer_stalled_partitions")
            if not lag:
                bad.append(f"{s.name}: no partitions assigned")
                continue
            behind = sum(v for _, _, v in lag)
            seen.append(f"{s.name} {len(lag)} partitions")
            if behind:
                bad.append(f"{s.name}: {int(behind)} messages behind (" +
                           ", ".join(f"{t}/{p} {int(v)}" for t, p, v in lag if v) + ")")
            if stalled:
                bad.append(f"{s.name}: {int(stalled)} partition(s) held by a failing message")
        checks.record(not bad, "every consumer has its partitions, caught up, none held by a failing message",
                      "; ".join(bad) if bad else ", ".join(seen))

    def check_reconciliation(self, checks: Checks) -> None:
        try:
            status, report = self.http.call("escrow", "POST", "/api/v1/admin/reconciliation", self.world.admin, "admin")
        except JourneyError as e:
            checks.record(False, "reconciliation finds no discrepancy", f"could not run: {e}")
            return
        if status not in (200, 201):
            checks.record(False, "reconciliation finds no discrepancy", f"→ {status}: {report}")
            return
        found = report.get("discrepancies") or []
        checks.record(not found, "reconciliation finds no discrepancy",
                      f"{report.get('checked')} checks" + (f"; {len(found)} discrepancies: {json.dumps(found[:5])}" if found else ""))

    def check_server_errors(self, checks: Checks) -> None:
        outside = [e for e in self.http.server_errors
                   if not any(start <= e[0] <= end for start, end, _ in self.fault_windows)]
        by_endpoint: dict[str, int] = {}
        for _, endpoint, status, _ in outside:
            by_endpoint[f"{endpoint} {status}"] = by_endpoint.get(f"{endpoint} {status}", 0) + 1
        sample = outside[0][3] if outside else ""
        checks.record(not outside, "no HTTP 5xx outside fault windows (each fault + 10 s)",
                      f"{len(self.http.server_errors)} 5xx in total" +
                      (f"; outside: {by_endpoint}; e.g. {sample[:200]}" if outside else ""))

    def consuming_again(self, r: Restart) -> float | None:
        """Seconds from a restart until its consumer worked again: the first event it handled (the
        inbox row's time), or its partitions showing up in /metrics (up to 5 s late: the gauges
        are cached), whichever came first."""
        s = self.services[r.service]
        try:
            first = self.db.value(
                f"SELECT extract(epoch FROM min(handled_at)) FROM {s.role}.inbox "
                f"WHERE consumer = '{s.consumer}' AND handled_at > to_timestamp({r.started_at})")
        except Exception:  # noqa: BLE001 - the measurement is then the gauge's alone
            first = None
        r.handled_after = float(first) - r.started_at if first is not None else None
        known = [t for t in (r.handled_after, r.assigned_after) if t is not None]
        if not known:
            return None
        took = min(known)
        # Time the broker spent frozen inside that window is the broker's, not the restart's.
        end = r.started_at + took
        r.frozen_during = sum(max(0.0, min(end, b) - max(r.started_at, a)) for a, b in self.frozen)
        return took - r.frozen_during

    def check_recovery(self, checks: Checks) -> None:
        took = {r.service: self.consuming_again(r) for r in self.restarts}
        slow = [f"{n}: " + ("never" if t is None else f"{t:.0f}s") for n, t in took.items()
                if t is None or t > self.args.recovery_limit]
        checks.record(not slow, f"every restarted service consumes again within {self.args.recovery_limit:.0f}s",
                      "; ".join(slow) or ", ".join(f"{n} {t:.1f}s" for n, t in took.items()))

    def check_idle_cpu(self, checks: Checks) -> None:
        before = {n: s.cpu_seconds() for n, s in self.services.items()}
        time.sleep(5)
        use = {n: (s.cpu_seconds() - before[n]) / 5 for n, s in self.services.items()}
        busy = {n: u for n, u in use.items() if u > self.args.idle_cpu_limit}
        checks.record(not busy, f"idle services use under {self.args.idle_cpu_limit:.0%} of a core",
                      ", ".join(f"{n} {u:.0%}" for n, u in use.items()))

    def check_sigterm(self, checks: Checks) -> None:
        took: dict = {}

        def stop(name, s):
            took[name] = s.stop_term(grace=self.args.stop_grace)

        threads = [threading.Thread(target=stop, args=item) for item in self.services.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = {name: took[name] for name in self.services}
        slow = [n for n, t in took.items() if t is None]
        checks.record(not slow, f"every service stops within {self.args.stop_grace:.0f}s of SIGTERM",
                      ", ".join(f"{n} {'did not stop' if t is None else f'{t:.1f}s'}" for n, t in took.items()))

    # --- measurements ---------------------------------------------------------------------------

    def measure(self, journeys, took: float, cpu: float) -> None:
        finished = sum(1 for j in journeys if j.finished)
        note(f"journeys: {len(journeys)} in {took:.1f}s = {len(journeys) / took:.2f} journeys/s "
             f"({finished} ran to their end); {self.http.calls} HTTP calls, {self.http.transient} connection-level "
             f"failures retried, {len(self.http.server_errors)} 5xx answers, {self.http.payment_pending} create-intents "
             f"asked to retry while their checkout's event was queued")
        note(f"CPU used by the services while journeys ran: {cpu:.1f}s = {cpu / max(len(journeys), 1):.2f}s per journey")
        for s in self.services.values():
            note(f"  {s.name:<20} {s.cpu_seconds():7.1f} CPU-s in total (killed instances included)")
        for r in self.restarts:
            self.consuming_again(r)
            handled = f"first event handled {r.handled_after:.1f}s" if r.handled_after is not None else "no event handled"
            ready = f"{r.ready_after:.1f}s" if r.ready_after is not None else "never"
            assigned = f"{r.assigned_after:.1f}s" if r.assigned_after is not None else "not within 240s"
            frozen = f" ({r.frozen_during:.0f}s of it with the broker frozen)" if r.frozen_during >= 0.5 else ""
            note(f"restart of {r.service}: ready {ready}, partitions assigned {assigned}, {handled} after the restart{frozen}")
        mail = self.db.rows("SELECT status, count(*) AS n FROM notifications.notifications GROUP BY status ORDER BY status")
        note("notifications: " + (", ".join(f"{r['n']} {r['status']}" for r in mail) or "none"))
        for line in self.fault_log:
            note(f"fault {line}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="scripts/chaos", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--journeys", type=int, default=40)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--no-faults", action="store_true")
    p.add_argument("--faults", default=",".join(FAULTS),
                   help="which faults: in this order kill (each service), freeze (the broker), postgres (restart), webhooks "
                        "(re-send); and alongside them gateway (the Stripe simulator's fault plan, for --gateway-seconds)")
    p.add_argument("--sellers", type=int, default=6)
    p.add_argument("--stock", type=int, default=100000)
    p.add_argument("--step-timeout", type=float, default=45)
    p.add_argument("--budget", type=float, default=150,
                   help="seconds for the journeys; later ones are not started, waits end (reported as failures)")
    p.add_argument("--settle-timeout", type=float, default=90)
    p.add_argument("--fault-delay", type=float, default=3, help="seconds of journeys before the first fault")
    p.add_argument("--fault-gap", type=float, default=3)
    p.add_argument("--down-seconds", type=float, default=2, help="how long a killed service stays down")
    p.add_argument("--freeze-seconds", type=float, default=10)
    p.add_argument("--gateway-seconds", type=float, default=45,
                   help="how long the simulator misbehaves (server errors, latency, lost answers, duplicated and reordered "
                        "webhooks, late failures of refunds and payouts)")
    p.add_argument("--recovery-limit", type=float, default=15, help="seconds a restarted consumer may take")
    p.add_argument("--idle-cpu-limit", type=float, default=0.3)
    p.add_argument("--stop-grace", type=float, default=10)
    p.add_argument("--tamper", action="store_true",
                   help="corrupt the throwaway data before checking (one kind of damage per check), to see the checks fail")
    args = p.parse_args(argv)
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        p.error(f"unknown faults: {', '.join(sorted(unknown))}")
    if not args.faults:
        args.no_faults = True
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    if args.journeys < 1 or args.concurrency < 1 or args.sellers < 3:
        p.error("--journeys and --concurrency must be positive, --sellers at least 3")
    return Chaos(args).play()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

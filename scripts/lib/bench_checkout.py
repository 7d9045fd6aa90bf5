#!/usr/bin/env python3
"""`scripts/bench checkout`: the end-to-end load. scripts/bench starts Postgres, the broker, the
SMTP sink and the Stripe simulator (scripts/lib/runstack.sh); this script starts the four services
(release build), onboards sellers and lists their items, optionally preloads history, runs the
buyers (the CheckoutBench binary: checkout with items of N sellers, create-intent, confirm with
pm_card_visa), and then reads the databases and /proc:

- checkouts/s held end to end: checkouts begun during the load whose every order got its escrow
  `held`, over the load's seconds;
- checkout -> escrow held: from the checkout's commit (orders.checkouts.created_at) to the last of
  its escrows' creation (escrow.escrows.created_at; an escrow is created `held`), one clock;
- each call's latency percentiles and answers by status;
- CPU seconds per held checkout of each process (services, Postgres, broker, Stripe simulator, SMTP sink, the bench),
  over the load, and over the load plus what each process did above its idle rate until all were at
  rest again (the work of the load's checkouts still queued when the buyers stopped);
- resident memory of each service at rest, at its peak under load, and after;
- emails delivered per second once the load stops (the backlog draining).

Prints a table and then one line of JSON; --json FILE writes the JSON there too. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos_journeys import Http, World  # noqa: E402
from chaos_stack import FETCH_WAITS_MS, ON_THE_WAY_TO_ESCROW, Database, Env, consumer_properties, fetch_wait_ms, make_services  # noqa: E402
from bench_processes import MemorySampler, Processes, Scraper, cores_over, percentiles, rss_mb, settle  # noqa: E402

import bench_preload  # noqa: E402


def say(text: str) -> None:
    print(text, flush=True)


# Processes that stand in for what a deployment has elsewhere: Stripe, the mail provider, the buyers.
STAND_INS = ("StripeSimulator", "SMTPSink", "CheckoutBench")


def sustainable(per_checkout: dict[str, float | None], total: float | None) -> dict:
    """The checkouts per second this machine's cores allow, sustained, at what a checkout costs until
    every process is at rest (`total`, its mail and events included, which a load defers): for every
    process, and for the services, Postgres and the broker without the stand-ins (their CPU per
    checkout too). Both are ceilings: they assume the processes had every core to themselves and
    scaled without waiting."""
    def per_second(ms: float | None) -> float | None:
        return round((os.cpu_count() or 1) * 1000 / ms, 1) if ms else None
    stack = round(sum(v or 0.0 for k, v in per_checkout.items() if k not in STAND_INS), 2)
    return {"perSecond": per_second(total), "stackCpuMsPerCheckout": stack, "stackPerSecond": per_second(stack)}


def ms_per_checkout(seconds: float, held: int) -> float | None:
    """CPU seconds as ms per held checkout."""
    return round(seconds / held * 1000, 2) if held else None


def held_latencies(db: Database, run: str, started: float, ended: float) -> tuple[int, int, list[float]]:
    """(checkouts begun during the load, of those fully held, their checkout -> last escrow ms)."""
    rows = db.rows(f"""
        SELECT c.id,
               (SELECT count(*) FROM orders.orders o WHERE o.checkout_id = c.id) AS orders,
               count(e.id) AS held,
               extract(epoch FROM max(e.created_at) - c.created_at) * 1000 AS ms
        FROM orders.checkouts c LEFT JOIN escrow.escrows e ON e.checkout_id = c.id
        WHERE c.buyer_id LIKE '{run}-%'
          AND c.created_at >= to_timestamp({started}) AND c.created_at < to_timestamp({ended})
        GROUP BY c.id, c.created_at""", timeout=120)
    held = [r for r in rows if r["orders"] > 0 and r["held"] == r["orders"]]
    return len(rows), len(held), [float(r["ms"]) for r in held]


def wait_held(db: Database, run: str, started: float, ended: float, timeout: float) -> None:
    """Until every checkout begun during the load is held, or none got held for 5 s (some were
    left unpaid when the load stopped), or `timeout`."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        begun, held, _ = held_latencies(db, run, started, ended)
        if held == begun:
            return
        if held != last:
            last, last_change = held, time.monotonic()
        elif time.monotonic() - last_change > 5:
            return
        time.sleep(1)


STAGES = ["payment created", "intent created", "webhook stored", "payment succeeded", "orders paid", "escrows held"]


def stages(db: Database, run: str, started: float, ended: float) -> dict:
    """For checkouts held end to end: ms from the checkout's commit to each step, from the rows'
    timestamps (one clock): where the time between checkout and escrow goes."""
    # Set-based (joins on grouped rows, no per-row subqueries): a 10-minute load has 10,000s.
    rows = db.rows(f"""
        WITH c AS (SELECT id, created_at FROM orders.checkouts
                   WHERE buyer_id LIKE '{run}-%' AND created_at >= to_timestamp({started}) AND created_at < to_timestamp({ended})),
             p AS (SELECT p.id, p.checkout_id, p.intent_id, p.created_at FROM payments.payments p JOIN c ON c.id = p.checkout_id),
             hooks AS (SELECT convert_from(payload, 'UTF8')::jsonb #>> '{{data,object,id}}' AS intent, min(received_at) AS at
                       FROM payments.stripe_events WHERE type = 'payment_intent.succeeded' GROUP BY 1),
             trail AS (SELECT t.payment_id, min(t.created_at) FILTER (WHERE t.kind = 'intent_created') AS intent_at,
                              min(t.created_at) FILTER (WHERE t.kind = 'succeeded') AS succeeded_at
                       FROM payments.payment_trail t JOIN p ON p.id = t.payment_id GROUP BY 1),
             paid AS (SELECT o.checkout_id, max(h.created_at) AS at FROM orders.order_history h
                      JOIN orders.orders o ON o.id = h.order_id JOIN c ON c.id = o.checkout_id
                      WHERE h.to_status = 'paid' GROUP BY 1),
             held AS (SELECT e.checkout_id, max(e.created_at) AS at FROM escrow.escrows e JOIN c ON c.id = e.checkout_id GROUP BY 1)
        SELECT extract(epoch FROM p.created_at - c.created_at) * 1000 AS "payment created",
               extract(epoch FROM trail.intent_at - c.created_at) * 1000 AS "intent created",
               extract(epoch FROM hooks.at - c.created_at) * 1000 AS "webhook stored",
               extract(epoch FROM trail.succeeded_at - c.created_at) * 1000 AS "payment succeeded",
               extract(epoch FROM paid.at - c.created_at) * 1000 AS "orders paid",
               extract(epoch FROM held.at - c.created_at) * 1000 AS "escrows held"
        FROM c JOIN p ON p.checkout_id = c.id LEFT JOIN trail ON trail.payment_id = p.id
             LEFT JOIN hooks ON hooks.intent = p.intent_id LEFT JOIN paid ON paid.checkout_id = c.id
             LEFT JOIN held ON held.checkout_id = c.id""", timeout=600)
    out = {}
    for stage in STAGES:
        values = [float(r[stage]) for r in rows if r.get(stage) is not None]
        out[stage] = {k: round(v, 1) for k, v in percentiles(values).items()}
    return out


def statements_reset(db: Database) -> dict:
    """Resets pg_stat_statements; returns the database's commit, rollback and deadlock counters."""
    bench_preload.psql(db.env, "SELECT pg_stat_statements_reset()")
    return db.rows(DATABASE_COUNTERS)[0]


DATABASE_COUNTERS = "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = 'escrowmarket'"


def statements(db: Database, before: dict, held: int) -> dict:
    """Commits and statements per held checkout, and the statements that took the most time."""
    now = db.rows(DATABASE_COUNTERS)[0]
    top = db.rows("""
        SELECT r.rolname AS role, s.calls, round(s.total_exec_time::numeric, 1) AS total_ms,
               round(s.mean_exec_time::numeric, 3) AS mean_ms, s.rows,
               left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) AS query
        FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
        WHERE s.query NOT LIKE '%pg_stat_%'
        ORDER BY s.total_exec_time DESC LIMIT 15""")
    most_called = db.rows("""
        SELECT r.rolname AS role, s.calls, left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) AS query
        FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
        WHERE s.query NOT LIKE '%pg_stat_%' AND r.rolname <> 'postgres'
        ORDER BY s.calls DESC LIMIT 40""")
    totals = db.rows("SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(total_exec_time), 0) AS ms "
                     "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_%'")[0]
    per = (lambda v: round(v / held, 2) if held else None)
    by_role = db.rows("""
        SELECT r.rolname AS role, sum(s.calls) FILTER (WHERE s.query ILIKE 'commit%') AS commits, sum(s.calls) AS statements
        FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
        WHERE r.rolname <> 'postgres' GROUP BY 1 ORDER BY 1""")
    return {
        "byRole": {r["role"]: {"commits": per(float(r["commits"] or 0)), "statements": per(float(r["statements"]))} for r in by_role},
        "commitsPerCheckout": per(now["xact_commit"] - before["xact_commit"]),
        "rollbacksPerCheckout": per(now["xact_rollback"] - before["xact_rollback"]),
        "deadlocks": now["deadlocks"] - before["deadlocks"],
        "statementsPerCheckout": per(float(totals["calls"])),
        "execMsPerCheckout": per(float(totals["ms"])),
        "top": [dict(r, callsPerCheckout=per(r["calls"])) for r in top],
        "mostCalled": [dict(r, callsPerCheckout=per(r["calls"])) for r in most_called],
    }


def email_counts(db: Database) -> tuple[int, int]:
    """Mails sent, and mails queued or being sent (or waiting to be retried)."""
    row = db.rows("SELECT count(*) FILTER (WHERE status = 'sent') AS sent, "
                  "count(*) FILTER (WHERE status IN ('queued', 'sending', 'failed')) AS pending "
                  "FROM notifications.notifications")[0]
    return int(row["sent"]), int(row["pending"])


def email_drain(db: Database, timeout: float) -> dict:
    """Emails delivered per second from the end of the load until the queue is empty."""
    sent0, pending0 = email_counts(db)
    started = time.monotonic()
    sent, pending = sent0, pending0
    while pending and time.monotonic() - started < timeout:
        time.sleep(1)
        sent, pending = email_counts(db)
    seconds = time.monotonic() - started
    return {"backlogAtLoadEnd": pending0, "sentWhileDraining": sent - sent0, "drainSeconds": round(seconds, 1),
            "left": pending, "perSecond": round((sent - sent0) / seconds, 1) if seconds > 0 and sent > sent0 else None,
            "sentTotal": sent}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench checkout", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concurrency", type=int, default=64, help="buyers at a time (default 64)")
    p.add_argument("--seconds", type=int, default=60, help="load duration (default 60)")
    p.add_argument("--sellers", type=int, default=2, help="sellers per cart (default 2)")
    p.add_argument("--listings", type=int, default=200, help="listings, 10 per seller (default 200)")
    p.add_argument("--preload", type=int, default=0, help="historical checkouts seeded first (default 0)")
    p.add_argument("--warmup", type=int, default=5, help="seconds of load before the measured load (default 5)")
    p.add_argument("--fetch-wait-ms", type=int, default=FETCH_WAITS_MS[ON_THE_WAY_TO_ESCROW[0]],
                   help=f"the fetch.wait.max.ms of the consumers on the way to escrow, {' and '.join(ON_THE_WAY_TO_ESCROW)} "
                        f"(default {FETCH_WAITS_MS[ON_THE_WAY_TO_ESCROW[0]]}, as the dev stack: scripts/lib/fetch-waits; the "
                        "local broker answers a fetch only when this runs out, so it trades hop latency against the "
                        "broker's polling CPU; OrderService keeps the file's)")
    p.add_argument("--mail-fetch-wait-ms", type=int, default=FETCH_WAITS_MS["NotificationService"],
                   help=f"NotificationService's fetch.wait.max.ms (default {FETCH_WAITS_MS['NotificationService']}, as the "
                        "dev stack: nothing on the way to escrow waits for its events)")
    p.add_argument("--event-loop-threads", type=int, default=1,
                   help="each service's NIO event loop threads, EVENT_LOOP_THREADS (default 1, as the dev stack; "
                        "2, one per core, is NIO's own default)")
    p.add_argument("--scrape-seconds", type=float, default=15,
                   help="scrape every instance's /metrics this often, as compose's Prometheus does (default 15; 0: never)")
    p.add_argument("--json", help="also write the JSON report to this file")
    p.add_argument("--bench-bin", required=True, help="the CheckoutBench binary")
    p.add_argument("--commit", default="", help="the commit measured (for the report)")
    a = p.parse_args(argv)
    if not 1 <= a.event_loop_threads <= 64:
        p.error("--event-loop-threads must be from 1 to 64")
    if not (0 <= a.fetch_wait_ms <= 10_000 and 0 <= a.mail_fetch_wait_ms <= 10_000):
        p.error("--fetch-wait-ms and --mail-fetch-wait-ms must be from 0 to 10000")
    if not (a.scrape_seconds == 0 or 1 <= a.scrape_seconds <= 3600):
        p.error("--scrape-seconds must be 0 or from 1 to 3600")
    if a.concurrency < 1 or a.seconds < 1 or a.sellers < 1 or a.listings < a.sellers or a.preload < 0:
        p.error("--concurrency, --seconds and --sellers must be positive, --listings at least --sellers")

    env = Env()
    db = Database(env)
    services = make_services(env)
    for s in services.values():
        s.environ["KAFKA_CONSUMER_PROPERTIES"] = consumer_properties(s.binary.name, a.fetch_wait_ms, a.mail_fetch_wait_ms)
        s.environ["EVENT_LOOP_THREADS"] = str(a.event_loop_threads)
    run = f"b{random.randrange(1 << 24):06x}"
    urls = {"orders": env.urls("OrderService"), "payments": env.urls("PaymentService"),
            "escrow": env.urls("EscrowService"), "notifications": env.urls("NotificationService")}

    say("==> starting the services")
    for s in services.values():
        s.start()
    for s in services.values():
        if s.wait_ready(180) is None:
            say(f"{s.name} did not become ready; see {s.log_path}")
            return 2
    sellers = max(a.sellers, (a.listings + 9) // 10)
    say(f"==> onboarding {sellers} sellers and listing {a.listings} items")
    http = Http(urls, env.jwt_secret, retry_for=30)
    world = World(http, run, random.Random(1), sellers=sellers, step_timeout=60)
    world.setup(listings_per_seller=max(1, a.listings // sellers), stock=1_000_000)
    listings_file = env.dir / "listings.json"
    listings_file.write_text(json.dumps([{"id": l["id"], "seller": l["seller"]} for l in world.listings]))

    if a.preload:
        say(f"==> preloading {a.preload} historical checkouts")
        took = bench_preload.preload(db, a.preload, [l for l in world.listings])
        say(f"    {took:.0f} s")

    def buyers(seconds: int, name: str) -> dict:
        cmd = [a.bench_bin, "--order-url", ",".join(urls["orders"]), "--payment-url", ",".join(urls["payments"]),
               "--jwt-secret", env.jwt_secret, "--listings", str(listings_file), "--run", name,
               "--concurrency", str(a.concurrency), "--seconds", str(seconds), "--sellers", str(a.sellers)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"CheckoutBench failed ({proc.returncode})")
        return json.loads(out)

    # From here on, through the idle measurement too: a deployment is scraped at rest as well.
    scraper = Scraper(urls, a.scrape_seconds)
    if a.scrape_seconds:
        scraper.start()
    processes = Processes(env, services)
    say("==> idle CPU, 5 s with no load")
    idle = {k: round(v, 3) for k, v in cores_over(processes, 5).items()}
    say("    " + ", ".join(f"{k} {v:.3f}" for k, v in idle.items()) + f" cores; total {sum(idle.values()):.3f}")

    if a.warmup:
        say(f"==> warm-up: {a.warmup} s of load")
        buyers(a.warmup, f"{run}w")
        wait_held(db, f"{run}w", 0, time.time() + 3600, timeout=60)
        time.sleep(2)

    bench_preload.psql(env, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    stats_before = statements_reset(db)
    rest_rss = {name: round(rss_mb(s.proc.pid), 1) for name, s in services.items()}
    sampler = MemorySampler(services)
    sampler.start()
    cpu_before = processes.cpu()
    say(f"==> load: {a.concurrency} buyers for {a.seconds} s, {a.sellers} sellers per cart")
    bench_started = time.monotonic()
    bench_rusage_before = os.times()
    report = buyers(a.seconds, run)
    bench_cpu = (os.times().children_user + os.times().children_system
                 - bench_rusage_before.children_user - bench_rusage_before.children_system)
    cpu_after = processes.cpu()
    load_ended = time.monotonic()
    sampler.stop.set()
    load_seconds = report["endedAt"] - report["startedAt"]
    say(f"    buyers done after {time.monotonic() - bench_started:.1f} s; draining")
    drain_result: dict = {}

    def drain_emails():
        drain_result.update(email_drain(db, timeout=120))
    email_drain_thread = threading.Thread(target=drain_emails, daemon=True)
    email_drain_thread.start()
    wait_held(db, run, report["startedAt"], report["endedAt"], timeout=60)
    begun, held, latencies = held_latencies(db, run, report["startedAt"], report["endedAt"])
    database = statements(db, stats_before, held)
    steps = stages(db, run, report["startedAt"], report["endedAt"])
    email_drain_thread.join()
    after_rss = {name: round(rss_mb(s.proc.pid), 1) for name, s in services.items()}
    # The work of the load's checkouts that is left when the buyers stop (events still queued,
    # mail still to send) falls outside the load window, and how much does varies from run to
    # run. So also count the CPU until every process is back at rest, less its idle rate over
    # that time: what the load's checkouts cost in all.
    at_rest = settle(processes, idle)
    cpu_settled = processes.cpu()
    scraper.stop.set()
    # The drain above ends when no mail is waiting, which can be before NotificationService has
    # made the mail of the events still queued; once every process is at rest, all of it is made.
    drain_result["sentAtRest"], drain_result["pendingAtRest"] = email_counts(db)
    after_load = time.monotonic() - load_ended
    settled = {name: max(0.0, seconds - idle.get(name, 0.0) * after_load)
               for name, seconds in Processes.used(cpu_after, cpu_settled).items()}

    cpu = Processes.used(cpu_before, cpu_after)
    cpu["CheckoutBench"] = bench_cpu
    per_checkout = {name: ms_per_checkout(seconds, held) for name, seconds in cpu.items()}
    with_tail = {name: cpu[name] + settled.get(name, 0.0) for name in cpu}
    per_checkout_settled = {name: ms_per_checkout(seconds, held) for name, seconds in with_tail.items()}
    settled_total = ms_per_checkout(sum(with_tail.values()), held)
    errors: dict[str, int] = {}
    for call, c in report["calls"].items():
        for status, n in c["statuses"].items():
            if not status.startswith("2"):
                errors[f"{call} {status}"] = n
    result = {
        "commit": a.commit,
        "machine": machine(),
        "instances": env.instances, "concurrency": a.concurrency, "seconds": a.seconds, "sellersPerCart": a.sellers, "fetchWaitMs": a.fetch_wait_ms, "mailFetchWaitMs": a.mail_fetch_wait_ms, "eventLoopThreads": a.event_loop_threads,
        "fetchWaitsMs": {program: fetch_wait_ms(program, a.fetch_wait_ms, a.mail_fetch_wait_ms) for program in FETCH_WAITS_MS},
        "listings": len(world.listings), "preload": a.preload,
        "checkoutsBegun": begun, "checkoutsHeld": held,
        "heldPerSecond": round(held / load_seconds, 1),
        "checkoutToHeldMs": {k: round(v, 1) for k, v in percentiles(latencies).items()},
        "checkoutToStepMs": steps,
        "calls": {name: {"count": c["count"], "latencyMs": {k: round(v, 1) for k, v in c["latencyMs"].items()}}
                  for name, c in sorted(report["calls"].items())},
        "errors": errors, "errorSamples": report["errorSamples"], "retriedAfter503": report.get("retries", {}),
        "cpuSeconds": {k: round(v, 1) for k, v in cpu.items()},
        "idleCores": idle,
        "cpuMsPerCheckout": per_checkout,
        "cpuMsPerCheckoutTotal": ms_per_checkout(sum(cpu.values()), held),
        # The load window's CPU plus what the processes did above their idle rate until they were
        # at rest again, settleSeconds after the load (atRest false: still busy after waiting 120 s
        # past the drain, so the figures are short of the whole).
        "cpuMsPerCheckoutSettled": per_checkout_settled,
        "cpuMsPerCheckoutSettledTotal": settled_total,
        "sustainable": sustainable(per_checkout_settled, settled_total),
        "settleSeconds": round(after_load, 1),
        "atRest": at_rest,
        "rssMb": {name: {"rest": rest_rss[name], "peak": round(sampler.peak[name], 1), "after": after_rss[name],
                         **sampler.growth(name)} for name in services},
        "emails": drain_result,
        "database": database,
        "scrapes": scraper.report(),
    }
    print_table(result)
    line = json.dumps(result, sort_keys=True)
    print(line)
    if a.json:
        Path(a.json).write_text(line + "\n")
    return 0 if held and not errors else 1


def machine() -> str:
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), "?")
    mem = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")))
    return f"{os.cpu_count()} cores, {model}, {mem // 1024 // 1024} GB"


def print_table(r: dict) -> None:
    def lat(d: dict) -> str:
        return " / ".join(f"{d.get(k, float('nan')):7.1f}" for k in ("p50", "p90", "p99", "max"))
    say("")
    say(f"machine: {r['machine']}; commit {r['commit'] or '?'}")
    say(f"load: {r['instances']} instance(s) of each service, {r['concurrency']} buyers, {r['seconds']} s, {r['sellersPerCart']} sellers per cart, "
        f"{r['listings']} listings, preload {r['preload']}, fetch waits (ms) {', '.join(f'{k} {v}' for k, v in r['fetchWaitsMs'].items())}, {r['eventLoopThreads']} event loop(s) per service")
    say(f"checkouts held end to end: {r['checkoutsHeld']} of {r['checkoutsBegun']} begun = {r['heldPerSecond']}/s")
    say(f"{'latency ms':<24}{'p50':>7} / {'p90':>5} / {'p99':>5} / {'max':>5}")
    say(f"{'checkout -> escrow held':<24}{lat(r['checkoutToHeldMs'])}")
    for name, c in r["calls"].items():
        say(f"{name + ' (' + str(c['count']) + ')':<24}{lat(c['latencyMs'])}")
    say("from the checkout's commit to:")
    for name, d in r["checkoutToStepMs"].items():
        say(f"  {name:<22}{lat(d)}")
    say("errors: " + (", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"))
    if r["retriedAfter503"]:
        say("503s retried after their Retry-After (not errors): "
            + ", ".join(f"{k}: {v}" for k, v in r["retriedAfter503"].items()))
    for k, v in r["errorSamples"].items():
        say(f"    {k}: {v[:200]}")
    say(f"{'CPU':<24}{'seconds':>8}{'ms/checkout':>13}{'until at rest':>15}")
    nan = float("nan")
    for name, seconds in r["cpuSeconds"].items():
        per, settled = r["cpuMsPerCheckout"].get(name), r["cpuMsPerCheckoutSettled"].get(name)
        say(f"{name:<24}{seconds:>8.1f}{(per if per is not None else nan):>13.2f}{(settled if settled is not None else nan):>15.2f}")
    say(f"{'total':<24}{sum(r['cpuSeconds'].values()):>8.1f}{(r['cpuMsPerCheckoutTotal'] or nan):>13.2f}"
        f"{(r['cpuMsPerCheckoutSettledTotal'] or nan):>15.2f}")
    say(f"    'until at rest': the load's CPU plus each process's CPU above its idle rate until all were at "
        f"rest again, {r['settleSeconds']} s after the load"
        + ("" if r["atRest"] else " (NOT at rest then: still busy after 120 s of waiting; these figures are short)"))
    su = r["sustainable"]
    say(f"    so the cores allow at most {su['perSecond']} checkouts/s sustained; {su['stackPerSecond']}/s for the services, "
        f"Postgres and the broker alone ({su['stackCpuMsPerCheckout']} ms per checkout, without {', '.join(STAND_INS)})")
    say(f"{'resident MB':<24}{'rest':>8}{'peak':>8}{'after':>8}{'1st 10%':>9}{'last 10%':>9}")
    for name, m in r["rssMb"].items():
        say(f"{name:<24}{m['rest']:>8.1f}{m['peak']:>8.1f}{m['after']:>8.1f}{m.get('firstTenth', 0):>9.1f}{m.get('lastTenth', 0):>9.1f}")
    say("resident MB, the peak of each tenth of the load (all / allocated by the process, RssAnon):")
    for name, m in r["rssMb"].items():
        say(f"    {name:<24}" + " ".join("    -" if v is None else f"{v:5.1f}" for v in m.get("byTenth", [])))
        say(f"    {'':<24}" + " ".join("    -" if v is None else f"{v:5.1f}" for v in m.get("anonByTenth", [])))
    d = r["database"]
    say(f"database per held checkout: {d['commitsPerCheckout']} commits, {d['rollbacksPerCheckout']} rollbacks, "
        f"{d.get('deadlocks')} deadlocks in all, {d['statementsPerCheckout']} statements, {d['execMsPerCheckout']} ms executing")
    say("    by service: " + ", ".join(f"{k} {v['commits']} commits / {v['statements']} statements" for k, v in d["byRole"].items()))
    say("    the costliest statements:")
    say(f"    {'role':<14}{'calls/co':>9}{'total ms':>10}{'mean ms':>9}  query")
    for t in d["top"]:
        say(f"    {t['role']:<14}{t['callsPerCheckout'] or 0:>9.2f}{float(t['total_ms']):>10.0f}{float(t['mean_ms']):>9.3f}  {t['query']}")
    e = r["emails"]
    say(f"emails: {e.get('backlogAtLoadEnd')} queued at the load's end, {e.get('sentWhileDraining')} sent in "
        f"{e.get('drainSeconds')} s = {e.get('perSecond')}/s ({e.get('left')} left); "
        f"{e.get('sentAtRest')} sent in all once at rest ({e.get('pendingAtRest')} pending)")
    sc = r["scrapes"]
    if sc["latencyMs"] or sc["failures"]:
        say(f"/metrics scraped every {sc['intervalSeconds']:g} s, ms p50 / p99 / max: " + ", ".join(
            f"{name} {m['p50']:.0f} / {m['p99']:.0f} / {m['max']:.0f} ({m['count']})" for name, m in sc["latencyMs"].items())
            + (f"; failed: {sc['failures']}" if sc["failures"] else ""))
    say("")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

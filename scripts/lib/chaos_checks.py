"""The chaos run's checks, read straight from the four schemas (as the superuser, so one query can
join what different services own), the Stripe simulator (what the gateway holds: transfers, refunds,
payouts, webhooks), the broker's DLQ topics and the running services."""

from __future__ import annotations

import json
import time
from collections import defaultdict

from chaos_stack import SCHEMAS, Database, Gateway, Kafka
from chaos_checks_gateway import GatewayChecks, GatewayView, read_gateway, show  # noqa: F401 - read_gateway is used through this module
from chaos_checks_money import PAID, MoneyChecks

SOLD = "('paid', 'shipped', 'delivered', 'completed', 'disputed', 'refunded')"


class Checks(MoneyChecks, GatewayChecks):
    def __init__(self, db: Database, gateway: GatewayView | None = None):
        self.db = db
        self.gateway = gateway or GatewayView(error="not read")
        self.results: list[tuple[bool, str, str]] = []

    def record(self, ok: bool, name: str, detail: str = "") -> None:
        self.results.append((ok, name, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}{' — ' + detail if detail else ''}", flush=True)

    def none(self, name: str, sql: str, checked_sql: str | None = None, what: str = "rows") -> None:
        """Passes when `sql` returns no row (each row is a violation, shown)."""
        try:
            bad = self.db.rows(sql)
            checked = self.db.value(checked_sql) if checked_sql else None
        except Exception as e:  # noqa: BLE001 - a check that cannot run fails
            self.record(False, name, f"could not run: {e}")
            return
        scope = f"{checked} {what} checked" if checked is not None else ""
        if bad:
            self.record(False, name, f"{len(bad)} violation(s): {show(bad)}" + (f" ({scope})" if scope else ""))
        else:
            self.record(True, name, scope)

    @property
    def passed(self) -> int:
        return sum(1 for ok, _, _ in self.results if ok)

    @property
    def failed(self) -> int:
        return sum(1 for ok, _, _ in self.results if not ok)

    # --- money across services ------------------------------------------------------------------

    def payments_orders_escrows(self) -> None:
        paid_payments = f"SELECT count(*) FROM payments.payments WHERE status IN {PAID}"
        self.none(
            "every succeeded payment's orders are past pending_payment",
            f"""SELECT p.id AS payment, po.order_id, o.status AS order_status
                FROM payments.payments p JOIN payments.payment_orders po ON po.payment_id = p.id
                LEFT JOIN orders.orders o ON o.id = po.order_id
                WHERE p.status IN {PAID} AND (o.status IS NULL OR o.status = 'pending_payment')""",
            paid_payments, "succeeded payments")
        self.none(
            "each of those orders has exactly one escrow whose gross is its share",
            f"""SELECT po.order_id, po.amount AS share, count(e.id) AS escrows, min(e.gross_amount) AS gross,
                       bool_and(e.payment_id = p.id AND e.currency = p.currency) AS same_payment
                FROM payments.payments p JOIN payments.payment_orders po ON po.payment_id = p.id
                LEFT JOIN escrow.escrows e ON e.order_id = po.order_id
                WHERE p.status IN {PAID}
                GROUP BY po.order_id, po.amount
                HAVING count(e.id) <> 1 OR min(e.gross_amount) <> po.amount
                    OR NOT coalesce(bool_and(e.payment_id = p.id AND e.currency = p.currency), false)""",
            f"SELECT count(*) FROM payments.payment_orders po JOIN payments.payments p ON p.id = po.payment_id WHERE p.status IN {PAID}",
            "orders")
        self.none(
            "each payment's shares add up to its amount",
            """SELECT p.id, p.amount, sum(po.amount) AS shares FROM payments.payments p
               JOIN payments.payment_orders po ON po.payment_id = p.id GROUP BY p.id, p.amount HAVING sum(po.amount) <> p.amount""",
            "SELECT count(*) FROM payments.payments", "payments")
        self.none(
            "no order paid (or escrowed) without a succeeded payment",
            f"""SELECT o.id AS order_id, o.status AS order_status, p.status AS payment_status, (e.id IS NOT NULL) AS escrow
                FROM orders.orders o
                LEFT JOIN payments.payment_orders po ON po.order_id = o.id
                LEFT JOIN payments.payments p ON p.id = po.payment_id
                LEFT JOIN escrow.escrows e ON e.order_id = o.id
                WHERE (o.status IN {SOLD} OR e.id IS NOT NULL) AND coalesce(p.status, '-') NOT IN {PAID}
                UNION ALL
                SELECT e.order_id, NULL, p.status, true FROM escrow.escrows e
                LEFT JOIN payments.payments p ON p.id = e.payment_id
                WHERE coalesce(p.status, '-') NOT IN {PAID}""",
            "SELECT count(*) FROM orders.orders", "orders")

    # --- states -------------------------------------------------------------------------------

    def states(self, journeys: list, listings: list[dict]) -> None:
        self.none(
            "every escrow state agrees with its order state",
            """SELECT o.id AS order_id, o.status AS order_status, e.status AS escrow_status, e.dispute_id, e.refunded_amount
               FROM orders.orders o LEFT JOIN escrow.escrows e ON e.order_id = o.id
               -- A refund that failed after it succeeded holds the money in escrow again, flagged for admins.
               CROSS JOIN LATERAL (SELECT e.flagged_at IS NOT NULL AND EXISTS (
                   SELECT 1 FROM payments.refunds r JOIN escrow.journal_transactions t ON t.source = 'refund-returned:' || r.id::text
                   WHERE r.order_id = o.id) AS late) returned
               WHERE NOT CASE o.status
                   WHEN 'pending_payment' THEN e.id IS NULL
                   WHEN 'paid' THEN e.status = 'held' AND e.dispute_id IS NULL
                   WHEN 'shipped' THEN e.status = 'held' AND e.dispute_id IS NULL
                   WHEN 'delivered' THEN e.status = 'parked'
                   WHEN 'completed' THEN e.status = 'released'
                   WHEN 'disputed' THEN e.status IN ('held', 'parked') AND e.dispute_id IS NOT NULL
                   WHEN 'cancelled' THEN e.id IS NULL OR e.status = 'refunded' OR (e.status = 'held' AND returned.late)
                   WHEN 'refunded' THEN e.status IN ('refunded', 'charged_back') OR (e.status = 'released' AND e.refunded_amount > 0)
                       OR (e.status IN ('held', 'released') AND returned.late)
                   ELSE false END
               UNION ALL
               SELECT e.order_id, NULL, e.status, e.dispute_id, e.refunded_amount FROM escrow.escrows e
               WHERE NOT EXISTS (SELECT 1 FROM orders.orders o WHERE o.id = e.order_id)""",
            "SELECT count(*) FROM orders.orders", "orders")

        orders = {r["id"]: r for r in self.db.rows(
            "SELECT o.id, o.status, e.status AS escrow, e.refunded_amount, e.released_gross FROM orders.orders o "
            "LEFT JOIN escrow.escrows e ON e.order_id = o.id")}
        payments = {r["checkout_id"]: r for r in self.db.rows("SELECT checkout_id, id, status FROM payments.payments")}
        payouts = {r["id"]: r for r in self.db.rows("SELECT id, status, amount, stripe_payout_id FROM escrow.payouts")}
        # What the gateway failed after it had succeeded (its late-failure fault) changes the intended end
        # state: that money is held in escrow again, or back on the seller's balance. Read at the gateway.
        late_refunds: dict[str, int] = defaultdict(int)
        for r in self.db.rows("SELECT order_id, stripe_refund_id FROM payments.refunds WHERE stripe_refund_id IS NOT NULL"):
            failed = self.gateway.failed_refunds.get(r["stripe_refund_id"])
            if failed:
                late_refunds[r["order_id"]] += failed["amount"]
        wrong, checked, late = [], 0, 0
        for j in journeys:
            if j.skipped:
                continue
            if j.checkout_id is None:
                wrong.append({"journey": j.index, "problem": "no checkout", "error": j.error or j.stalled})
                continue
            refunded_total = 0
            for o in j.orders:
                checked += 1
                got = orders.get(o.order_id) or {}
                escrow, refunded = o.expect_escrow, o.expect_refunded
                if late_refunds.get(o.order_id) and escrow:
                    late += 1
                    refunded -= late_refunds[o.order_id]
                    escrow = "held" if escrow == "refunded" else escrow
                refunded_total += refunded
                want = (o.expect_order, escrow, refunded if escrow else None, o.expect_released_gross if escrow else None)
                have = (got.get("status"), got.get("escrow"), got.get("refunded_amount"), got.get("released_gross"))
                if want != have:
                    wrong.append({"journey": j.index, "action": o.action, "order": o.order_id,
                                  "want": "order %s, escrow %s, refunded %s, released %s" % want,
                                  "have": "order %s, escrow %s, refunded %s, released %s" % have})
                if o.payout_id:
                    p = payouts.get(o.payout_id) or {}
                    expect = o.payout_expect
                    if p.get("stripe_payout_id") in self.gateway.returned_payouts:
                        late += 1
                        expect = "failed"
                    if p.get("status") != expect or p.get("amount") != o.payout_amount:
                        wrong.append({"journey": j.index, "payout": o.payout_id, "want": f"{expect} {o.payout_amount}",
                                      "have": f"{p.get('status')} {p.get('amount')}"})
            expect_payment = j.expect_payment
            if any(late_refunds.get(o.order_id) for o in j.orders):
                total = sum(o.gross for o in j.orders)
                expect_payment = ["refunded"] if refunded_total == total else ["partially_refunded"] if refunded_total else ["succeeded"]
            pay = payments.get(j.checkout_id) or {}
            if pay.get("status") not in expect_payment:
                wrong.append({"journey": j.index, "kind": j.kind, "payment": pay.get("id"),
                              "want": "/".join(expect_payment), "have": pay.get("status")})
        if wrong:
            self.record(False, "every journey's intended end state reached (as far as its accepted requests go)",
                        f"{len(wrong)} wrong ({checked} orders, {len(journeys)} payments and their payouts checked): {show(wrong, 8)}")
        else:
            self.record(True, "every journey's intended end state reached (as far as its accepted requests go)",
                        f"{checked} orders, {len(journeys)} payments, {sum(1 for j in journeys for o in j.orders if o.payout_id)} payouts"
                        + (f"; {late} of them with a late failure at the gateway" if late else ""))

        incomplete = [{"journey": j.index, "kind": j.kind, "stalled": j.stalled, "error": j.error}
                      for j in journeys if not j.finished and not j.skipped]
        skipped = sum(1 for j in journeys if j.skipped)
        if incomplete or skipped:
            self.record(False, "every journey ran to its end (no stalled step, no unexpected answer)",
                        f"{len(incomplete)} of {len(journeys)} stalled or failed"
                        + (f", {skipped} not started (time budget used up)" if skipped else "")
                        + (f": {show(incomplete, 6)}" if incomplete else ""))
        else:
            self.record(True, "every journey ran to its end (no stalled step, no unexpected answer)", f"{len(journeys)} journeys")

        ids = ", ".join(f"'{l['id']}'" for l in listings) or "NULL"
        initial = {l["id"]: l["stock"] for l in listings}
        try:
            rows = self.db.rows(
                f"""SELECT l.id, l.stock, l.reserved, l.sold,
                       coalesce((SELECT sum(i.quantity) FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
                                 WHERE i.listing_id = l.id AND o.status = 'pending_payment'), 0) AS pending_units,
                       coalesce((SELECT sum(i.quantity) FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
                                 WHERE i.listing_id = l.id AND o.status IN {SOLD}), 0) AS sold_units
                    FROM orders.listings l WHERE l.id IN ({ids})""")
            bad = [r for r in rows if r["stock"] + r["reserved"] + r["sold"] != initial[r["id"]]
                   or r["reserved"] != r["pending_units"] or r["sold"] != r["sold_units"]]
            self.record(not bad, "stock adds up: stock + reserved + sold = listed; reserved = unpaid units; sold = paid units",
                        f"{len(bad)} listing(s) off: {show(bad)}" if bad else f"{len(rows)} listings")
        except Exception as e:  # noqa: BLE001
            self.record(False, "stock adds up", f"could not run: {e}")

    # --- nothing left in flight ---------------------------------------------------------------

    def in_flight(self) -> None:
        outbox = " UNION ALL ".join(
            f"SELECT '{s}' AS schema, id, event_type, created_at FROM {s}.outbox WHERE published_at IS NULL" for s in SCHEMAS)
        self.none("every outbox row is published", f"SELECT schema, count(*) AS unpublished, min(event_type) AS example, "
                  f"min(created_at) AS oldest FROM ({outbox}) x GROUP BY schema",
                  "SELECT " + " + ".join(f"(SELECT count(*) FROM {s}.outbox)" for s in SCHEMAS), "outbox rows")
        self.none("every stored Stripe webhook is processed",
                  "SELECT id, type, attempts, waiting_for, left(last_error, 200) AS last_error FROM payments.stripe_events "
                  "WHERE processed_at IS NULL", "SELECT count(*) FROM payments.stripe_events", "webhook events")
        self.none("no refund, payout or escrow refund left waiting",
                  """SELECT 'refund' AS what, id::text, status, attempts::text AS detail FROM payments.refunds WHERE status = 'requested'
                     UNION ALL SELECT 'payout', id::text, status, stripe_payout_id FROM escrow.payouts WHERE status IN ('pending', 'in_transit')
                     UNION ALL SELECT 'escrow', id::text, status, refund_requested::text FROM escrow.escrows WHERE status = 'refunding'
                     UNION ALL SELECT 'deferred order event', order_id::text, event_type, received_at::text FROM escrow.deferred_order_events""")

    def notifications(self) -> None:
        self.none(
            "every succeeded payment has a receipt; every failed payment's buyer got a payment-failed email",
            f"""SELECT 'no receipt' AS problem, p.id AS payment, p.buyer_id FROM payments.payments p
                WHERE p.status IN {PAID} AND NOT EXISTS (SELECT 1 FROM notifications.receipts r WHERE r.payment_id = p.id)
                UNION ALL
                SELECT 'no payment_failed email', p.id, p.buyer_id FROM payments.payments p
                WHERE p.status = 'failed' AND NOT EXISTS (SELECT 1 FROM notifications.notifications n
                    WHERE n.kind = 'payment_failed' AND n.recipient_id = p.buyer_id)""",
            f"SELECT count(*) FROM payments.payments WHERE status IN {PAID} OR status = 'failed'", "payments")

    # --- the broker ---------------------------------------------------------------------------

    def dead_letters(self, kafka: Kafka, topics: list[str], partitions: int) -> None:
        poison, other, read = [], [], 0
        try:
            for topic in topics:
                for p in range(partitions):
                    for rec in kafka.fetch_all(f"{topic}.dlq", p):
                        read += 1
                        error = rec["headers"].get("dlq-error") or ""
                        envelope = None
                        try:
                            envelope = json.loads(rec["value"] or b"")
                        except ValueError:
                            pass
                        item = {"dlq": f"{topic}.dlq/{p}@{rec['offset']}", "consumer": rec["headers"].get("dlq-consumer"),
                                "type": (envelope or {}).get("type") if isinstance(envelope, dict) else None,
                                "event": (envelope or {}).get("id") if isinstance(envelope, dict) else None,
                                "error": error[:240]}
                        # Poison: an undecodable envelope or payload, or a handler's explicit EventRejected.
                        is_poison = (not isinstance(envelope, dict) or "undecodable" in error or "event rejected:" in error
                                     or any(k in error for k in ("dataCorrupted", "keyNotFound", "typeMismatch", "valueNotFound")))
                        (poison if is_poison else other).append(item)
        except Exception as e:  # noqa: BLE001
            self.record(False, "nothing in a DLQ topic that is not poison", f"could not read the DLQ topics: {e}")
            return
        detail = f"{read} dead letter(s) read, {len(poison)} poison"
        if other:
            self.record(False, "nothing in a DLQ topic that is not poison", f"{detail}; not poison: {show(other, 6)}")
        else:
            self.record(True, "nothing in a DLQ topic that is not poison", detail)


def consumers_caught_up(services) -> tuple[bool, str]:
    behind, unassigned = [], []
    for s in services.values():
        lag = s.lag()
        if lag is None:
            unassigned.append(f"{s.name} (no /metrics)")
        elif not lag:
            unassigned.append(s.name)
        else:
            behind += [f"{s.name} {t}/{p}: {int(v)}" for t, p, v in lag if v > 0]
    ok = not behind and not unassigned
    return ok, "; ".join(behind + [f"{u}: no partitions assigned" for u in unassigned])


def pending_work(db: Database, gateway: Gateway) -> dict[str, int]:
    outbox = " + ".join(f"(SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL)" for s in SCHEMAS)
    row = db.rows(f"""SELECT {outbox} AS outbox,
        (SELECT count(*) FROM payments.stripe_events WHERE processed_at IS NULL) AS webhooks,
        (SELECT count(*) FROM payments.refunds WHERE status = 'requested') AS refunds,
        (SELECT count(*) FROM escrow.payouts WHERE status IN ('pending', 'in_transit')) AS payouts,
        (SELECT count(*) FROM escrow.escrows WHERE status IN ('refunding', 'releasing')) AS "refunding/releasing escrows",
        (SELECT count(*) FROM payments.gateway_commands WHERE status = 'pending')
            + (SELECT count(*) FROM escrow.gateway_commands WHERE status = 'pending') AS "gateway commands",
        (SELECT count(*) FROM notifications.notifications
         WHERE status IN ('queued', 'failed') AND next_attempt_at <= now()
           AND (recipient_email IS NOT NULL OR audience = 'admin')) AS "emails due",
        ({' + '.join(f'(SELECT count(*) FROM {s}.inbox)' for s in SCHEMAS)}) AS inbox""", retry_for=60)[0]
    # (An email left `sending` by an interrupted send waits out NotificationService's sending
    # timeout before it is tried again, so that it is never sent twice: not work to wait for.)
    row["gateway webhooks"] = gateway.control("GET", "state").get("webhooks", {}).get("pending", 0)
    return row


def wait_quiescent(db: Database, services, gateway: Gateway, timeout: float, stuck_after: float = 45) -> tuple[bool, float, str]:
    """Outboxes empty, webhooks/refunds/payouts/gateway commands settled, the gateway's webhooks
    delivered, no email due, consumers caught up, and nothing new handled for a few seconds (the lag gauges are
    up to 5 s old). Bounded by `timeout`, and given up earlier when nothing at all has moved for
    `stuck_after` seconds."""
    started = time.monotonic()
    stable_since, last_inbox, why = None, None, ""
    last_snapshot, moved_at = None, time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            work = pending_work(db, gateway)
        except Exception as e:  # noqa: BLE001
            why = f"database or gateway: {e}"
            time.sleep(1)
            continue
        snapshot = tuple(sorted(work.items()))
        if snapshot != last_snapshot:
            last_snapshot, moved_at = snapshot, time.monotonic()
        inbox = work.pop("inbox")
        busy = {k: v for k, v in work.items() if v}
        caught_up, lag = consumers_caught_up(services)
        if busy or not caught_up or inbox != last_inbox:
            stable_since = None
            why = ", ".join(f"{k} {v}" for k, v in busy.items()) + (("; " if busy else "") + lag if lag else "")
            if inbox != last_inbox and not busy and caught_up:
                why = "events still being handled"
        elif stable_since is None:
            stable_since = time.monotonic()
        elif time.monotonic() - stable_since >= 6:
            return True, time.monotonic() - started, ""
        last_inbox = inbox
        if (busy or not caught_up) and time.monotonic() - moved_at >= stuck_after:
            return False, time.monotonic() - started, f"{why} (nothing moved for {stuck_after:.0f}s)"
        time.sleep(1)
    return False, time.monotonic() - started, why

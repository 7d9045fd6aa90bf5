"""The chaos run's checks, read straight from the four schemas (as the superuser, so one query can
join what different services own), the Stripe simulator (what the gateway holds: transfers, refunds,
payouts, webhooks), the broker's DLQ topics and the running services."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

from chaos_stack import SCHEMAS, Database, Gateway, Kafka

PAID = "('succeeded', 'partially_refunded', 'refunded')"
SOLD = "('paid', 'shipped', 'delivered', 'completed', 'disputed', 'refunded')"
# The Stripe event types PaymentService stores and acts on (WebhookProcessor.handledTypes, which a
# test holds to this file); the simulator is set to send only these, as a real endpoint is registered.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "stripe", "webhook-events.txt")) as _events:
    HANDLED_WEBHOOKS = set(_events.read().split())


def _show(rows: list[dict], limit: int = 5) -> str:
    shown = "; ".join(json.dumps(r, separators=(",", ":"), default=str) for r in rows[:limit])
    return shown + (f"; … {len(rows) - limit} more" if len(rows) > limit else "")


@dataclass
class GatewayView:
    """What the Stripe simulator holds once the run is quiet: every transfer, refund and payout as it
    stands now, and the late failures it injected (a refund that failed after it succeeded, a payout
    returned after it was paid)."""
    state: dict = field(default_factory=dict)
    transfers: list = field(default_factory=list)
    refunds: dict = field(default_factory=dict)     # id -> refund
    payouts: dict = field(default_factory=dict)     # id -> payout, with "account"
    returned_payouts: set = field(default_factory=set)
    error: str | None = None

    @property
    def failed_refunds(self) -> dict:
        return {i: r for i, r in self.refunds.items() if r.get("status") == "failed"}


def read_gateway(gateway: Gateway) -> GatewayView:
    view = GatewayView()
    try:
        view.state = gateway.control("GET", "state")
        view.transfers = gateway.list_all("/v1/transfers")
        for event in gateway.list_all("/v1/events", {"type": "refund.created"}):
            refund = event["data"]["object"]["id"]
            view.refunds[refund] = gateway.call("GET", f"/v1/refunds/{refund}")
        for event in gateway.list_all("/v1/events", {"type": "payout.created"}):
            account = event.get("account")
            payout = gateway.call("GET", f"/v1/payouts/{event['data']['object']['id']}", account=account)
            view.payouts[payout["id"]] = dict(payout, account=account)
        paid = {e["data"]["object"]["id"] for e in gateway.list_all("/v1/events", {"type": "payout.paid"})}
        failed = {e["data"]["object"]["id"] for e in gateway.list_all("/v1/events", {"type": "payout.failed"})}
        view.returned_payouts = paid & failed
    except Exception as e:  # noqa: BLE001 - the gateway checks then fail, saying why
        view.error = f"{type(e).__name__}: {e}"
    return view


class Checks:
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
            self.record(False, name, f"{len(bad)} violation(s): {_show(bad)}" + (f" ({scope})" if scope else ""))
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

    def ledger(self) -> None:
        self.none(
            "the ledger balances per currency (and per journal transaction)",
            """SELECT 'ledger' AS scope, currency, sum(amount)::bigint AS sum FROM escrow.journal_entries GROUP BY currency HAVING sum(amount) <> 0
               UNION ALL
               SELECT transaction_id::text, currency, sum(amount)::bigint FROM escrow.journal_entries
               GROUP BY transaction_id, currency HAVING sum(amount) <> 0""",
            "SELECT count(*) FROM escrow.journal_transactions", "journal transactions")
        self.none(
            "the held balances the ledger keeps (the held gauge's) are its entries' sums",
            """SELECT account, currency, b.balance AS kept, e.balance AS entries FROM escrow.escrow_held_balances b
               FULL JOIN (SELECT account, currency, sum(amount)::bigint AS balance FROM escrow.journal_entries
                          WHERE account LIKE 'escrow\\_held:%' GROUP BY account, currency) e USING (account, currency)
               WHERE b.balance IS DISTINCT FROM e.balance""",
            "SELECT count(*) FROM escrow.escrow_held_balances", "held accounts")
        self.none(
            "the payments' counts by status that the table keeps (the payments gauge's) are its counts",
            """SELECT status, k.n AS kept, p.n AS counted
               FROM (SELECT status, sum(count)::bigint AS n FROM payments.payment_status_counts GROUP BY status HAVING sum(count) <> 0) k
               FULL JOIN (SELECT status, count(*)::bigint AS n FROM payments.payments GROUP BY status) p USING (status)
               WHERE k.n IS DISTINCT FROM p.n""",
            "SELECT count(*) FROM payments.payments", "payments")
        # Where each escrow's gross went, from the ledger (held, and what came back after release) and
        # from the escrow row (released, refunded).
        flows = """
            SELECT e.id, e.order_id, e.status, e.gross_amount AS gross, e.released_gross, e.refunded_amount, e.reversed_amount,
                coalesce((SELECT -sum(j.amount) FROM escrow.journal_entries j WHERE j.account = 'escrow_held:' || e.id::text), 0) AS held,
                coalesce((SELECT -sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'escrow_held:' || e.id::text AND t.source LIKE 'rehold:%'), 0) AS reheld,
                coalesce((SELECT sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'escrow_held:' || e.id::text AND t.source LIKE 'chargeback-lost:%'), 0) AS charged_back,
                coalesce((SELECT sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'refund_losses' AND t.source IN (
                              SELECT r.source FROM escrow.journal_transactions r
                              WHERE r.source LIKE 'refund:%' AND r.memo = 'escrow ' || e.id::text || ' refunded to the buyer'
                              UNION ALL  -- a refund that failed after it succeeded is mirrored: what it had lost comes back
                              SELECT 'refund-returned:' || substr(r.source, 8) FROM escrow.journal_transactions r
                              WHERE r.source LIKE 'refund:%' AND r.memo = 'escrow ' || e.id::text || ' refunded to the buyer')), 0) AS uncovered,
                coalesce((SELECT sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'seller_available:' || e.seller_id AND j.amount > 0
                            AND (t.source LIKE 'rehold:' || e.id::text || ':%' OR t.source LIKE 'chargeback:%:' || e.id::text)), 0) AS ledger_reversed
            FROM escrow.escrows e"""
        self.none(
            "per escrow: held + released + refunded = gross (+ what came back after release); held never negative",
            f"""SELECT * FROM ({flows}) f
                WHERE held + released_gross + refunded_amount + charged_back <> gross + reheld + uncovered OR held < 0""",
            "SELECT count(*) FROM escrow.escrows", "escrows")
        self.none(
            "per escrow: transfer reversals in the ledger equal reversed_amount",
            f"SELECT id, reversed_amount, ledger_reversed FROM ({flows}) f WHERE reversed_amount <> ledger_reversed",
            "SELECT count(*) FROM escrow.escrows", "escrows")
        self.none(
            "each release booked once: held → fee + seller available, as the escrow says",
            """SELECT e.id, e.status, e.released_gross, e.released_fee, e.released_net, count(t.id) AS release_transactions,
                      sum(j.amount) FILTER (WHERE j.account = 'escrow_held:' || e.id::text) AS ledger_gross,
                      -sum(j.amount) FILTER (WHERE j.account = 'platform_fees') AS ledger_fee,
                      -sum(j.amount) FILTER (WHERE j.account = 'seller_available:' || e.seller_id) AS ledger_net
               FROM escrow.escrows e
               LEFT JOIN escrow.journal_transactions t ON t.source = 'release:' || e.id::text
               LEFT JOIN escrow.journal_entries j ON j.transaction_id = t.id
               GROUP BY e.id
               HAVING (e.released_gross > 0) <> (count(DISTINCT t.id) = 1) OR e.released_fee + e.released_net <> e.released_gross
                   OR (e.released_gross > 0 AND (sum(j.amount) FILTER (WHERE j.account = 'escrow_held:' || e.id::text) <> e.released_gross
                       OR coalesce(-sum(j.amount) FILTER (WHERE j.account = 'platform_fees'), 0) <> e.released_fee
                       OR coalesce(-sum(j.amount) FILTER (WHERE j.account = 'seller_available:' || e.seller_id), 0) <> e.released_net))""",
            "SELECT count(*) FROM escrow.escrows WHERE released_gross > 0", "released escrows")
        self.none(
            "refunds never exceed the charge (per payment and per order), and both services agree on them",
            """WITH r AS (SELECT order_id, sum(amount) FILTER (WHERE status = 'succeeded') AS ok,
                                 sum(amount) FILTER (WHERE status <> 'failed') AS promised
                          FROM payments.refunds GROUP BY order_id)
               SELECT 'payment' AS scope, p.id::text AS ref, p.amount, p.amount_refunded, sum(rf.amount) AS refunds, NULL::bigint AS escrow_refunded
               FROM payments.payments p JOIN payments.refunds rf ON rf.payment_id = p.id AND rf.status = 'succeeded'
               GROUP BY p.id HAVING sum(rf.amount) > p.amount OR sum(rf.amount) <> p.amount_refunded
               UNION ALL
               SELECT 'order', po.order_id::text, po.amount, coalesce(r.ok, 0), coalesce(r.promised, 0), e.refunded_amount
               FROM payments.payment_orders po LEFT JOIN r ON r.order_id = po.order_id
               LEFT JOIN escrow.escrows e ON e.order_id = po.order_id
               WHERE coalesce(r.promised, 0) > po.amount OR coalesce(e.refunded_amount, 0) <> coalesce(r.ok, 0)
                  OR coalesce(e.refunded_amount, 0) > coalesce(e.gross_amount, 0)""",
            "SELECT count(*) FROM payments.refunds", "refunds")
        self.none(
            "payouts never exceed what became available; in-transit and paid-out balances match the payouts",
            """WITH s AS (SELECT seller_id, sum(released_net - reversed_amount) AS earned FROM escrow.escrows GROUP BY seller_id),
                    p AS (SELECT seller_id, sum(amount) FILTER (WHERE status <> 'failed') AS out,
                                 coalesce(sum(amount) FILTER (WHERE status IN ('pending', 'in_transit')), 0) AS transit,
                                 coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0) AS paid
                          FROM escrow.payouts GROUP BY seller_id),
                    l AS (SELECT split_part(account, ':', 1) AS kind, substr(account, strpos(account, ':') + 1) AS seller_id,
                                 -sum(amount) AS balance
                          FROM escrow.journal_entries WHERE account LIKE 'seller_%' GROUP BY account)
               SELECT p.seller_id, coalesce(s.earned, 0) AS earned, p.out, p.transit, p.paid,
                      (SELECT balance FROM l WHERE l.kind = 'seller_available' AND l.seller_id = p.seller_id) AS available,
                      (SELECT balance FROM l WHERE l.kind = 'seller_in_transit' AND l.seller_id = p.seller_id) AS ledger_transit,
                      (SELECT balance FROM l WHERE l.kind = 'seller_paid_out' AND l.seller_id = p.seller_id) AS ledger_paid
               FROM p LEFT JOIN s ON s.seller_id = p.seller_id
               WHERE p.out > coalesce(s.earned, 0)
                  OR coalesce((SELECT balance FROM l WHERE l.kind = 'seller_available' AND l.seller_id = p.seller_id), 0) < 0
                  OR coalesce((SELECT balance FROM l WHERE l.kind = 'seller_in_transit' AND l.seller_id = p.seller_id), 0) <> p.transit
                  OR coalesce((SELECT balance FROM l WHERE l.kind = 'seller_paid_out' AND l.seller_id = p.seller_id), 0) <> p.paid""",
            "SELECT count(*) FROM escrow.payouts", "payouts")

    def wallets(self) -> None:
        self.none(
            "no buyer wallet ever below zero (its running balance, entry by entry)",
            """SELECT account, currency, max(running) AS most_overdrawn FROM (
                   SELECT account, currency, sum(amount) OVER (PARTITION BY account, currency ORDER BY id) AS running
                   FROM escrow.journal_entries WHERE account LIKE 'buyer_wallet:%') w
               GROUP BY account, currency HAVING max(running) > 0""",
            "SELECT count(DISTINCT account) FROM escrow.journal_entries WHERE account LIKE 'buyer_wallet:%'", "wallets")
        self.none(
            "store credit: each payment's hold is what it spent; spent when it succeeded, back in the wallet when it did not; "
            "held credit in the ledger is the holds still open",
            f"""SELECT h.payment_id, h.amount AS hold, h.status AS hold_status, p.wallet_amount, p.status AS payment_status,
                      (SELECT coalesce(sum(e.wallet_amount), 0) FROM escrow.escrows e WHERE e.payment_id = h.payment_id) AS in_escrows,
                      (SELECT coalesce(-sum(j.amount), 0) FROM escrow.journal_entries j
                       WHERE j.account = 'wallet_held:' || h.payment_id::text) AS ledger_held
               FROM escrow.wallet_holds h LEFT JOIN payments.payments p ON p.id = h.payment_id
               WHERE p.id IS NULL OR p.wallet_amount IS DISTINCT FROM h.amount
                  OR (p.status IN {PAID} AND (h.status <> 'spent' OR (SELECT coalesce(sum(e.wallet_amount), 0) FROM escrow.escrows e
                                                                      WHERE e.payment_id = h.payment_id) <> h.amount))
                  OR (p.status IN ('failed', 'cancelled') AND h.status <> 'returned')
                  OR (SELECT coalesce(-sum(j.amount), 0) FROM escrow.journal_entries j WHERE j.account = 'wallet_held:' || h.payment_id::text)
                     <> CASE WHEN h.status = 'held' THEN h.amount ELSE 0 END""",
            "SELECT count(*) FROM escrow.wallet_holds", "wallet holds")

    # --- the gateway (the Stripe simulator) -----------------------------------------------------

    def _unread(self, name: str) -> bool:
        if self.gateway.error:
            self.record(False, name, f"could not read the gateway: {self.gateway.error}")
        return bool(self.gateway.error)

    def _report(self, name: str, bad: list, scope: str) -> None:
        self.record(not bad, name, f"{len(bad)} violation(s): {_show(bad)} ({scope})" if bad else scope)

    def gateway_transfers(self) -> None:
        name = ("at most one transfer per release at the gateway, for the released net, to the seller's account; "
                "reversals as booked; no transfer the escrows do not book")
        if self._unread(name):
            return
        view = self.gateway
        try:
            escrows = self.db.rows(
                """SELECT e.id, e.checkout_id, e.status, e.released_gross, e.released_net, e.reversed_amount, e.transfer_id,
                          e.chargeback_return_transfer_id, a.account_id
                   FROM escrow.escrows e LEFT JOIN escrow.seller_accounts a ON a.seller_id = e.seller_id""")
            returns = {r["id"] for r in self.db.rows(
                "SELECT id::text AS id FROM escrow.gateway_commands WHERE kind = 'chargeback_return_transfer'")}
        except Exception as e:  # noqa: BLE001
            self.record(False, name, f"could not run: {e}")
            return
        by_id = {t["id"]: t for t in view.transfers}
        # A checkout's escrows have one seller each: its transfers to one account belong to one escrow.
        releases = defaultdict(list)
        for t in view.transfers:
            if (t.get("metadata") or {}).get("command_id") not in returns:   # paying back a won chargeback is no release
                releases[(t.get("transfer_group"), t.get("destination"))].append(t)
        bad = []
        for e in escrows:
            mine = releases.get((e["checkout_id"], e["account_id"]), [])
            t = by_id.get(e["transfer_id"]) if e["transfer_id"] else None
            problems = []
            if len(mine) > 1:
                problems.append(f"{len(mine)} transfers: " + ", ".join(f"{x['id']} ({x['amount']})" for x in mine))
            if e["released_net"] > 0 and t is None:
                problems.append("its transfer is not at the gateway")
            if t is not None and (t["amount"], t["destination"], t.get("transfer_group")) != (
                    e["released_net"], e["account_id"], e["checkout_id"]):
                problems.append(f"the gateway's transfer is {t['amount']} to {t['destination']} in group {t.get('transfer_group')}")
            if t is not None and t.get("amount_reversed", 0) != e["reversed_amount"]:
                problems.append(f"{t.get('amount_reversed')} reversed at the gateway")
            if e["released_gross"] == 0 and e["transfer_id"]:
                problems.append("a transfer without a release")
            if not e["transfer_id"] and mine:
                problems.append(f"{mine[0]['id']} at the gateway is not booked")
            if problems:
                bad.append({"escrow": e["id"], "status": e["status"], "released_net": e["released_net"],
                            "reversed": e["reversed_amount"], "transfer": e["transfer_id"], "problems": problems})
        booked = {e["transfer_id"] for e in escrows} | {e["chargeback_return_transfer_id"] for e in escrows}
        bad += [{"transfer": t["id"], "amount": t["amount"], "destination": t.get("destination"), "group": t.get("transfer_group"),
                 "problem": "no escrow books it"} for t in view.transfers if t["id"] not in booked]
        counted = view.state.get("transfers", {}).get("count")
        if counted != len(view.transfers):
            bad.append({"problem": f"the transfer listing has {len(view.transfers)}, /_sim/state counts {counted}"})
        self._report(name, bad, f"{len(view.transfers)} transfers at the gateway, {len(escrows)} escrows checked")

    def gateway_payouts(self) -> None:
        name = ("every payout at the gateway matches exactly one payout row with the same amount and account, every accepted "
                "payout is at the gateway, and their statuses agree (a payout returned after it was paid is failed)")
        if self._unread(name):
            return
        view = self.gateway
        try:
            rows = self.db.rows("SELECT id, account_id, amount, status, stripe_payout_id FROM escrow.payouts")
        except Exception as e:  # noqa: BLE001
            self.record(False, name, f"could not run: {e}")
            return
        ours = defaultdict(list)
        for r in rows:
            if r["stripe_payout_id"]:
                ours[r["stripe_payout_id"]].append(r)
        settled = {"paid": "paid", "failed": "failed", "canceled": "failed"}
        bad = []
        for p in view.payouts.values():
            mine = ours.get(p["id"], [])
            if len(mine) != 1 or (mine[0]["amount"], mine[0]["account_id"]) != (p["amount"], p["account"]) \
                    or mine[0]["status"] != settled.get(p["status"], "(not settled at the gateway)"):
                bad.append({"gateway_payout": p["id"], "amount": p["amount"], "account": p["account"], "status": p["status"],
                            "rows": [{k: r[k] for k in ("id", "amount", "account_id", "status")} for r in mine]})
        for r in rows:
            if r["stripe_payout_id"] and r["stripe_payout_id"] not in view.payouts:
                bad.append({"payout": r["id"], "status": r["status"], "problem": f"{r['stripe_payout_id']} is not at the gateway"})
            elif not r["stripe_payout_id"] and r["status"] in ("in_transit", "paid"):
                bad.append({"payout": r["id"], "status": r["status"], "amount": r["amount"], "problem": "accepted, but no gateway payout"})
        counted = view.state.get("payouts", {}).get("count")
        if counted != len(view.payouts):
            bad.append({"problem": f"payout.created events name {len(view.payouts)} payouts, /_sim/state counts {counted}"})
        refused = sum(1 for r in rows if r["status"] == "failed" and not r["stripe_payout_id"])
        self._report(name, bad, f"{len(view.payouts)} payouts at the gateway, {len(view.returned_payouts)} returned after they were "
                                f"paid; {len(rows)} payout rows, {refused} refused before reaching the gateway")

    def gateway_refunds(self) -> None:
        name = ("every refund at the gateway matches one refund row (amount, status) and the other way round; one that failed "
                "after it succeeded is failed in payments.refunds, reversed in the escrow ledger and its escrow flagged")
        if self._unread(name):
            return
        view = self.gateway
        try:
            rows = self.db.rows(
                """SELECT r.id, r.order_id, r.amount, r.status, r.stripe_refund_id,
                          EXISTS (SELECT 1 FROM escrow.journal_transactions t WHERE t.source = 'refund:' || r.id::text) AS booked,
                          EXISTS (SELECT 1 FROM escrow.journal_transactions t WHERE t.source = 'refund-returned:' || r.id::text)
                              AS reversed,
                          (SELECT e.flagged_at IS NOT NULL FROM escrow.escrows e WHERE e.order_id = r.order_id) AS flagged
                   FROM payments.refunds r WHERE r.wallet_amount = 0""")
            # Refunds of store credit go back to the wallet, never through the gateway.
            refunded = self.db.value(
                """SELECT coalesce((SELECT sum(amount_refunded) FROM payments.payments), 0)
                          - coalesce((SELECT sum(amount) FROM payments.refunds WHERE wallet_amount > 0 AND status = 'succeeded'), 0)""")
        except Exception as e:  # noqa: BLE001
            self.record(False, name, f"could not run: {e}")
            return
        ours = defaultdict(list)
        for r in rows:
            if r["stripe_refund_id"]:
                ours[r["stripe_refund_id"]].append(r)
        bad = []
        for g in view.refunds.values():
            mine = ours.get(g["id"], [])
            r = mine[0] if len(mine) == 1 else None
            if r is None or r["amount"] != g["amount"]:
                problem = "amounts differ" if r else f"{len(mine)} refund rows name it"
            elif g["status"] == "succeeded":
                problem = None if (r["status"], r["booked"], r["reversed"]) == ("succeeded", True, False) else "not succeeded here"
            elif g["status"] == "failed":
                problem = None if (r["status"], r["booked"], r["reversed"], r["flagged"]) == ("failed", True, True, True) \
                    else "failed at the gateway after it succeeded, not failed + reversed + flagged here"
            else:
                problem = f"still {g['status']} at the gateway"
            if problem:
                bad.append({"gateway_refund": g["id"], "amount": g["amount"], "status": g["status"], "problem": problem,
                            "rows": mine})
        for r in rows:
            if r["status"] == "succeeded" and r["stripe_refund_id"] not in view.refunds:
                bad.append({"refund": r["id"], "status": r["status"], "problem": f"{r['stripe_refund_id']} is not at the gateway"})
        charges = view.state.get("charges", {}).get("amountRefunded")
        if charges != refunded:
            bad.append({"problem": f"the gateway's charges say {charges} refunded, the payments {refunded}"})
        counted = view.state.get("refunds", {}).get("count")
        if counted != len(view.refunds):
            bad.append({"problem": f"refund.created events name {len(view.refunds)} refunds, /_sim/state counts {counted}"})
        self._report(name, bad, f"{len(view.refunds)} refunds at the gateway ({len(view.failed_refunds)} failed after they "
                                f"succeeded), {len(rows)} refund rows, {refunded} refunded in total")

    def gateway_commands(self) -> None:
        self.none(
            "no gateway command left pending, no escrow stuck in releasing",
            """SELECT 'payments' AS schema, id::text, kind, subject, attempts, left(last_error, 160) AS last_error
               FROM payments.gateway_commands WHERE status = 'pending'
               UNION ALL SELECT 'escrow', id::text, kind, subject, attempts, left(last_error, 160)
               FROM escrow.gateway_commands WHERE status = 'pending'
               UNION ALL SELECT 'escrow', id::text, 'escrow releasing', order_id::text, NULL, parked_reason
               FROM escrow.escrows WHERE status = 'releasing'""",
            """SELECT format('%s (%s succeeded, %s refused, %s needed more than one attempt)', count(*),
                      count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'refused'),
                      count(*) FILTER (WHERE attempts > 1))
               FROM (SELECT status, attempts FROM payments.gateway_commands
                     UNION ALL SELECT status, attempts FROM escrow.gateway_commands) c""",
            "gateway commands")

    def gateway_webhooks(self, gateway: Gateway) -> None:
        name = ("the gateway delivered every webhook (none pending, none abandoned) and PaymentService stored each event "
                "of a type it acts on once")
        if self._unread(name):
            return
        webhooks = self.gateway.state.get("webhooks", {})
        try:
            events = {e["id"] for e in gateway.list_all("/v1/events") if e["type"] in HANDLED_WEBHOOKS}
            stored = {r["id"] for r in self.db.rows("SELECT id FROM payments.stripe_events")}
        except Exception as e:  # noqa: BLE001
            self.record(False, name, f"could not run: {e}")
            return
        bad = []
        if webhooks.get("pending") or webhooks.get("abandoned"):
            bad.append({"pending": webhooks.get("pending"), "abandoned": webhooks.get("abandoned")})
        if events - stored:
            bad.append({"never stored": sorted(events - stored)[:10], "count": len(events - stored)})
        if stored - events:
            bad.append({"stored, unknown to the gateway": sorted(stored - events)[:10], "count": len(stored - events)})
        self._report(name, bad, f"{len(events)} events, {webhooks.get('delivered')} deliveries, "
                                f"{webhooks.get('failedAttempts')} refused attempts retried")

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
                        f"{len(wrong)} wrong ({checked} orders, {len(journeys)} payments and their payouts checked): {_show(wrong, 8)}")
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
                        + (f": {_show(incomplete, 6)}" if incomplete else ""))
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
                        f"{len(bad)} listing(s) off: {_show(bad)}" if bad else f"{len(rows)} listings")
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
            self.record(False, "nothing in a DLQ topic that is not poison", f"{detail}; not poison: {_show(other, 6)}")
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

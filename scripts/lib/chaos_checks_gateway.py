"""The chaos run's checks of what the gateway (the Stripe simulator) holds against what the
services booked: transfers, payouts, refunds and webhooks. `GatewayChecks` is part of
`chaos_checks.Checks`, whose `db`, `gateway`, `record` and `none` it uses."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field

from chaos_stack import Gateway

# The Stripe event types PaymentService stores and acts on (WebhookProcessor.handledTypes, which a
# test holds to this file); the simulator is set to send only these, as a real endpoint is registered.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "stripe", "webhook-events.txt")) as _events:
    HANDLED_WEBHOOKS = set(_events.read().split())


def show(rows: list[dict], limit: int = 5) -> str:
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


class GatewayChecks:
    # --- the gateway (the Stripe simulator) -----------------------------------------------------

    def _unread(self, name: str) -> bool:
        if self.gateway.error:
            self.record(False, name, f"could not read the gateway: {self.gateway.error}")
        return bool(self.gateway.error)

    def _report(self, name: str, bad: list, scope: str) -> None:
        self.record(not bad, name, f"{len(bad)} violation(s): {show(bad)} ({scope})" if bad else scope)

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

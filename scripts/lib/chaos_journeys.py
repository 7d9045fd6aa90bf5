"""The chaos run's journeys: buyers, sellers and an admin using the HTTP API exactly as
scripts/lib/demo.py does, tolerant of services that are down for a moment (connection failures
and 5xx are retried, with the same Idempotency-Key where the API takes one). Each journey records
the end state it intends for each of its orders, checked later from the databases."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from mint_token import mint

DECLINE_CARDS = [
    "pm_card_chargeDeclined", "pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedExpiredCard",
    "pm_card_chargeDeclinedIncorrectCvc",
]
GOOD_CARDS = ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit"]
ADDRESS = {"name": "Chaos Buyer", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}

# What a journey does with its whole cart, and (when paid) with each order.
JOURNEY_KINDS = [("paid", 70), ("declined", 15), ("cancel_unpaid", 15)]
ORDER_ACTIONS = [
    ("release", 30), ("release_payout", 20), ("cancel_buyer", 8), ("cancel_seller", 7),
    ("dispute_refund", 12), ("dispute_release", 11), ("dispute_split", 12),
]


class JourneyError(Exception):
    """An answer the API should not have given."""


class Stalled(Exception):
    """An asynchronous step did not happen within the step timeout."""


def weighted(rng: random.Random, table):
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


class Http:
    """Authenticated JSON calls; counts transient failures and 5xx with their time."""

    def __init__(self, urls: dict[str, str | list[str]], jwt_secret: str, retry_for: float):
        # With several instances of a service, each attempt goes to one of them at random (as
        # through a load balancer), so a retry after a dead instance reaches a live one.
        self.urls = {k: v if isinstance(v, list) else [v] for k, v in urls.items()}
        self.secret, self.retry_for = jwt_secret, retry_for
        self.lock = threading.Lock()
        self.server_errors: list[tuple[float, str, int, str]] = []   # (wall time, endpoint, status, body)
        # 503 payment-pending: the checkout's event is still queued (a consumer restarting or
        # catching up, which can outlast a fault's window); retried, and not a server error.
        self.payment_pending = 0
        self.transient = 0
        self.calls = 0

    def token(self, user: str, role: str) -> str:
        return mint(self.secret, user, [role], f"{user}@example.test", 3600)

    def call(self, service: str, method: str, path: str, user: str, role: str, body=None, key: str | None = None):
        """(status, parsed body). Connection failures, timeouts, 5xx and 429 are retried for up to
        `retry_for` seconds (same key); every other answer is returned."""
        data = None if body is None else json.dumps(body).encode()
        deadline = time.monotonic() + self.retry_for
        pause = 0.3
        endpoint = f"{method} {service}{_pattern(path)}"
        while True:
            url = random.choice(self.urls[service]) + path
            req = urllib.request.Request(url, data=data, method=method)
            req.add_header("Authorization", "Bearer " + self.token(user, role))
            req.add_header("X-Request-ID", f"chaos-{uuid.uuid4().hex[:12]}")
            if data is not None:
                req.add_header("Content-Type", "application/json")
            if key:
                req.add_header("Idempotency-Key", key)
            retry_after = None
            try:
                with self.lock:
                    self.calls += 1
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, raw = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, e.read()
                retry_after = e.headers.get("Retry-After")
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError, http.client.HTTPException, OSError):
                with self.lock:
                    self.transient += 1
                if time.monotonic() > deadline:
                    raise JourneyError(f"{endpoint}: no answer for {self.retry_for:.0f}s")
                time.sleep(pause)
                pause = min(pause * 1.5, 2)
                continue
            if status == 503 and b"/problems/payment-pending" in raw:
                with self.lock:
                    self.payment_pending += 1
            elif status >= 500:
                with self.lock:
                    self.server_errors.append((time.time(), endpoint, status, raw.decode(errors="replace")[:300]))
            # The same Idempotency-Key still being worked on (our lost first attempt): ask again.
            in_progress = status == 409 and key is not None and b"still in progress" in raw
            if status >= 500 or status == 429 or in_progress:
                if time.monotonic() > deadline:
                    raise JourneyError(f"{endpoint} → {status} for {self.retry_for:.0f}s: {raw.decode(errors='replace')[:300]}")
                wait = pause
                if status == 429 and retry_after:
                    try:
                        wait = max(wait, float(retry_after))
                    except ValueError:
                        pass
                time.sleep(wait)
                pause = min(pause * 1.5, 2)
                continue
            try:
                parsed = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                parsed = raw.decode(errors="replace")
            return status, parsed

    def browser(self, method: str, url: str, form: str | None = None) -> str:
        deadline = time.monotonic() + self.retry_for
        while True:
            req = urllib.request.Request(url, data=None if form is None else form.encode(), method=method)
            if form is not None:
                req.add_header("Content-Type", "application/x-www-form-urlencoded")
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.read().decode()
            except urllib.error.HTTPError as e:
                if e.code < 500 or time.monotonic() > deadline:
                    raise JourneyError(f"{method} {url} → {e.code}: {e.read()[:300]!r}")
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise JourneyError(f"{method} {url}: no answer")
            time.sleep(0.5)


def _pattern(path: str) -> str:
    parts = []
    for p in path.split("?")[0].split("/"):
        try:
            uuid.UUID(p)
            parts.append("{id}")
        except ValueError:
            parts.append(p)
    return "/".join(parts)


@dataclass
class OrderPlan:
    order_id: str
    seller: str
    gross: int
    action: str
    ship_first: bool = False
    refund_amount: int = 0            # for dispute_split
    expect_order: str = ""
    expect_escrow: str | None = None  # None: no escrow at all
    expect_refunded: int = 0
    expect_released_gross: int = 0
    payout_id: str | None = None
    payout_amount: int = 0
    payout_expect: str | None = None
    done: bool = False


@dataclass
class Journey:
    index: int
    buyer: str
    kind: str
    lines: list                      # [(listing, quantity)]
    card: str
    order_rng_seed: int
    use_wallet: bool = False          # store credit granted after checkout, spent first
    wallet_topped_up: int = 0
    wallet_spent: int = 0
    checkout_id: str | None = None
    payment_id: str | None = None
    orders: list = field(default_factory=list)
    expect_payment: list = field(default_factory=list)
    step: str = "not started"
    stalled: str | None = None
    error: str | None = None
    finished: bool = False
    skipped: bool = False
    started_at: float = 0
    ended_at: float = 0

    def summary(self) -> dict:
        return {
            "index": self.index, "buyer": self.buyer, "kind": self.kind, "checkout": self.checkout_id,
            "wallet": {"toppedUp": self.wallet_topped_up, "spent": self.wallet_spent} if self.use_wallet else None,
            "payment": self.payment_id, "expect_payment": self.expect_payment, "stalled": self.stalled,
            "error": self.error, "finished": self.finished,
            "orders": [o.__dict__ for o in self.orders],
        }


class World:
    """Sellers, listings and the admin shared by every journey."""

    def __init__(self, http: Http, run: str, rng: random.Random, sellers: int, step_timeout: float, late_failures: bool = False):
        self.http, self.run, self.rng = http, run, rng
        self.step_timeout = step_timeout
        # The gateway may fail a refund or a payout after it succeeded (the run's gateway fault): a
        # journey then takes that end as reached, and the checks hold it against the gateway's records.
        self.late_failures = late_failures
        self.sellers = [f"seller-{run}-{i}" for i in range(sellers)]
        # The last seller's bank fails every payout (the onboarding page's second button).
        self.failing_seller = self.sellers[-1]
        self.admin = f"admin-{run}"
        self.listings: list[dict] = []   # {id, seller, price, stock}
        self.payout_lock = {s: threading.Lock() for s in self.sellers}
        self.budget_end: float | None = None   # monotonic time after which nothing more is waited for

    def eventually(self, what: str, check, timeout: float | None = None, interval: float = 0.4):
        deadline = time.monotonic() + (timeout or self.step_timeout)
        if self.budget_end is not None:
            deadline = min(deadline, max(self.budget_end, time.monotonic() + 1))
        last = None
        while time.monotonic() < deadline:
            try:
                value = check()
                if value:
                    return value
            except JourneyError as error:
                last = error
            time.sleep(interval)
        budget = " (the run's time budget is used up)" if self.budget_end and time.monotonic() >= self.budget_end else ""
        raise Stalled(f"{what} (not within {timeout or self.step_timeout:.0f}s{'; last: ' + str(last) if last else ''}){budget}")

    def setup(self, listings_per_seller: int, stock: int) -> None:
        for seller in self.sellers:
            status, link = self.http.call("escrow", "POST", "/api/v1/sellers/stripe-onboard", seller, "seller")
            if status not in (200, 201):
                raise JourneyError(f"onboarding {seller}: {status} {link}")
            page = self.http.browser("GET", link["onboardingUrl"])
            if "Complete onboarding" not in page:
                raise JourneyError("the onboarding page has no button")
            outcome = "failing_bank" if seller == self.failing_seller else "complete"
            self.http.browser("POST", link["onboardingUrl"], f"outcome={outcome}")
        for seller in self.sellers:
            self.eventually(f"{seller} can receive payouts", lambda s=seller: self._status(s).get("payoutsEnabled"), timeout=90)
            for n in range(listings_per_seller):
                price = self.rng.randint(300, 9999)
                status, listing = self.http.call("orders", "POST", "/api/v1/listings", seller, "seller", {
                    "title": f"Chaos item {n} of {seller}", "priceAmount": price, "currency": "usd", "stock": stock})
                if status != 201:
                    raise JourneyError(f"listing: {status} {listing}")
                self.listings.append({"id": listing["id"].lower(), "seller": seller, "price": price, "stock": stock})

    def _status(self, seller: str) -> dict:
        status, body = self.http.call("escrow", "GET", "/api/v1/sellers/me/stripe-status", seller, "seller")
        return body if status == 200 else {}

    def plan(self, count: int) -> list[Journey]:
        by_seller: dict[str, list] = {}
        for listing in self.listings:
            by_seller.setdefault(listing["seller"], []).append(listing)
        journeys = []
        for i in range(count):
            kind = weighted(self.rng, JOURNEY_KINDS)
            sellers = self.rng.sample(self.sellers, self.rng.choice([1, 1, 2, 2, 3]))
            lines = []
            for s in sellers:
                for listing in self.rng.sample(by_seller[s], self.rng.choice([1, 1, 2])):
                    lines.append((listing, self.rng.randint(1, 3)))
            card = self.rng.choice(DECLINE_CARDS if kind == "declined" else GOOD_CARDS)
            # A third of the paying buyers spend store credit first (some of it, all of it, or more than they need).
            use_wallet = kind == "paid" and self.rng.random() < 0.35
            journeys.append(Journey(i, f"buyer-{self.run}-{i}", kind, lines, card, self.rng.randrange(1 << 30), use_wallet))
        return journeys

    # --- one journey --------------------------------------------------------------------------

    def play(self, j: Journey) -> None:
        j.started_at = time.time()
        if self.budget_end is not None and time.monotonic() >= self.budget_end:
            j.skipped = True
            j.stalled = "not started: the run's time budget is used up"
            j.ended_at = time.time()
            return
        try:
            self._play(j)
            j.finished = True
        except Stalled as s:
            j.stalled = f"{j.step}: {s}"
        except JourneyError as e:
            j.error = f"{j.step}: {e}"
        except Exception as e:  # noqa: BLE001 - any crash is reported with the journey
            j.error = f"{j.step}: {type(e).__name__}: {e}"
        j.ended_at = time.time()

    def _play(self, j: Journey) -> None:
        rng = random.Random(j.order_rng_seed)
        http, buyer = self.http, j.buyer
        expected_total = sum(l["price"] * q for l, q in j.lines)
        request = {"items": [{"listingId": l["id"], "quantity": q} for l, q in j.lines], "shippingAddress": ADDRESS}
        if j.use_wallet:
            # Store credit bought with a card (the platform's balance then holds what a release of
            # it transfers): part of the total, all of it, or more. Half the buyers say so at
            # checkout (the hold is asked for with the payment), half at create-intent.
            j.step = "top up store credit"
            j.wallet_topped_up = max(50, rng.choice([expected_total // 3, expected_total, expected_total + 700]))
            status, top_up = http.call("payments", "POST", "/api/v1/wallet/top-ups", buyer, "buyer",
                                       {"amount": j.wallet_topped_up, "currency": "usd"}, key=f"top-up-{buyer}")
            if status not in (200, 201):
                raise JourneyError(f"top-up → {status}: {top_up}")
            status, body = http.call("payments", "POST", f"/api/v1/wallet/top-ups/{top_up['id']}/confirm", buyer, "buyer",
                                     {"paymentMethod": j.card})
            if status != 200 and not (status == 409 and _state(body) == "succeeded"):
                raise JourneyError(f"top-up confirm → {status}: {body}")
            j.step = "store credit in the wallet"
            self.eventually("the top-up credited", lambda: self._wallet(buyer) == j.wallet_topped_up)
            if rng.random() < 0.5:
                request["useWallet"] = True
        j.step = "checkout"
        status, checkout = http.call("orders", "POST", "/api/v1/checkouts", buyer, "buyer", request, key=f"checkout-{buyer}")
        if status != 201:
            raise JourneyError(f"checkout → {status}: {checkout}")
        if checkout["totalAmount"] != expected_total:
            raise JourneyError(f"checkout total {checkout['totalAmount']} != {expected_total} from the listings' prices")
        j.checkout_id = checkout["checkoutId"].lower()
        for order in sorted(checkout["orders"], key=lambda o: o["sellerId"]):
            o = OrderPlan(order_id=order["id"].lower(), seller=order["sellerId"], gross=order["totalAmount"], action="-")
            if j.kind == "paid":
                o.action = weighted(rng, ORDER_ACTIONS)
                o.ship_first = rng.random() < 0.5 and o.action not in ("cancel_buyer", "cancel_seller")
                if o.action == "dispute_split":
                    o.refund_amount = rng.randint(1, o.gross - 1) if o.gross > 1 else 0
                    if o.refund_amount == 0:
                        o.action = "dispute_refund"
            self._expect(o, "pending_payment", None)
            j.orders.append(o)
        # What a journey expects is what its accepted requests imply, updated as it goes: a journey
        # that stalls is still checked against what the system must reach by itself.
        j.expect_payment = ["requires_payment"]
        total = checkout["totalAmount"]

        if j.kind == "cancel_unpaid":
            j.step = "cancel before payment"
            for o in j.orders:
                self._move(o, "cancel", buyer, "buyer", {}, "cancelled")
                self._expect(o, "cancelled", None)
            return

        j.step = "create the payment intent"
        # create-intent is rate limited (30/min per buyer): ask no faster than the limit refills.
        intent = self.eventually("the payment to exist", lambda: self._intent(j), interval=2.5)
        j.payment_id = intent["paymentId"].lower()
        j.expect_payment = ["processing"]
        if intent["amount"] != total:
            raise JourneyError(f"payment amount {intent['amount']} != checkout total {total}")
        if j.use_wallet:
            j.wallet_spent = intent["walletAmount"]
            if j.wallet_spent != min(j.wallet_topped_up, total) or intent["cardAmount"] != total - j.wallet_spent:
                raise JourneyError(f"store credit {j.wallet_topped_up} for {total}: wallet {intent['walletAmount']}, card {intent['cardAmount']}")

        if j.kind == "declined":
            j.step = f"pay with {j.card}"
            status, body = http.call("payments", "POST", "/api/v1/payments/confirm", buyer, "buyer",
                                     {"paymentId": j.payment_id, "paymentMethod": j.card})
            if status != 402 and not (status == 409 and _state(body) == "failed"):
                raise JourneyError(f"declined card → {status}: {body}")
            j.expect_payment = ["failed"]
            for o in j.orders:
                self._expect(o, "cancelled", None)
            j.step = "orders cancelled after the decline"
            for o in j.orders:
                self.eventually(f"order {o.order_id} cancelled", lambda o=o: self._order(buyer, o.order_id) == "cancelled")
            return

        if intent.get("cardAmount", total) > 0:
            j.step = f"pay with {j.card}"
            status, body = http.call("payments", "POST", "/api/v1/payments/confirm", buyer, "buyer",
                                     {"paymentId": j.payment_id, "paymentMethod": j.card})
            if status != 200 and not (status == 409 and _state(body) in ("succeeded", "partially_refunded", "refunded")):
                raise JourneyError(f"confirm → {status}: {body}")
        elif intent["status"] not in ("succeeded", "partially_refunded", "refunded"):
            raise JourneyError(f"store credit covered it all, yet the payment is {intent['status']}")
        j.expect_payment = ["succeeded"]
        for o in j.orders:
            self._expect(o, "paid", "held")
        j.step = "orders paid and escrows open"
        for o in j.orders:
            self.eventually(f"order {o.order_id} paid", lambda o=o: self._order(buyer, o.order_id) == "paid")
            escrow = self.eventually(f"escrow of {o.order_id}", lambda o=o: self._escrow(o.order_id))
            if escrow["grossAmount"] != o.gross:
                raise JourneyError(f"escrow gross {escrow['grossAmount']} != order total {o.gross}")
        for o in j.orders:
            j.step = f"{o.action} of order {o.order_id}"
            self._order_action(j, o, rng)
            o.done = True

    @staticmethod
    def _expect(o: OrderPlan, order: str, escrow: str | None, refunded: int = 0, released: int = 0) -> None:
        o.expect_order, o.expect_escrow, o.expect_refunded, o.expect_released_gross = order, escrow, refunded, released

    def _final(self, j: Journey, o: OrderPlan) -> None:
        """The order's end state, once the request that decides it was accepted."""
        a = o.action
        if a in ("release", "release_payout", "dispute_release"):
            self._expect(o, "completed", "released", released=o.gross)
        elif a in ("cancel_buyer", "cancel_seller"):
            self._expect(o, "cancelled", "refunded", refunded=o.gross)
        elif a == "dispute_refund":
            self._expect(o, "refunded", "refunded", refunded=o.gross)
        elif a == "dispute_split":
            self._expect(o, "completed", "released", refunded=o.refund_amount, released=o.gross - o.refund_amount)
        refunded = sum(x.expect_refunded for x in j.orders)
        total = sum(x.gross for x in j.orders)
        j.expect_payment = ["refunded"] if refunded == total else ["partially_refunded"] if refunded else ["succeeded"]

    def _order_action(self, j: Journey, o: OrderPlan, rng: random.Random) -> None:
        buyer, http = j.buyer, self.http
        if o.ship_first or o.action in ("release", "release_payout"):
            self._move(o, "ship", o.seller, "seller",
                       {"carrier": "UPS", "trackingNumber": f"1Z-{o.order_id[:8]}"}, "shipped")
            self._expect(o, "shipped", "held")
        if o.action in ("release", "release_payout"):
            self._move(o, "confirm-delivery", buyer, "buyer", {}, "delivered")
            self._final(j, o)
            self.eventually(f"escrow of {o.order_id} released", lambda: self._escrow_status(o.order_id) == "released")
            self.eventually(f"order {o.order_id} completed", lambda: self._order(buyer, o.order_id) == "completed")
            if o.action == "release_payout":
                self._payout(o)
        elif o.action in ("cancel_buyer", "cancel_seller"):
            who, role = (buyer, "buyer") if o.action == "cancel_buyer" else (o.seller, "seller")
            self._move(o, "cancel", who, role, {"reason": "changed my mind"}, "cancelled")
            self._final(j, o)
            self.eventually(f"escrow of {o.order_id} refunded",
                            lambda: self._escrow_status(o.order_id) == "refunded" or self._refund_returned(o))
        else:
            status, dispute = http.call("escrow", "POST", "/api/v1/disputes", buyer, "buyer", {
                "orderId": o.order_id, "reason": rng.choice(["not_received", "damaged", "not_as_described"]),
                "description": "Opened by the chaos run."})
            if status == 409 and isinstance(dispute, dict) and dispute.get("disputeId"):
                dispute = {"id": dispute["disputeId"]}   # our first attempt got through; its answer was lost
            elif status != 201:
                raise JourneyError(f"open dispute → {status}: {dispute}")
            self._expect(o, "disputed", "held")
            self.eventually(f"order {o.order_id} disputed", lambda: self._order(buyer, o.order_id) == "disputed")
            outcome = o.action.removeprefix("dispute_")
            body = {"outcome": outcome, "note": "chaos"}
            if outcome == "split":
                body["refundAmount"] = o.refund_amount
            status, resolved = http.call("escrow", "POST", f"/api/v1/admin/disputes/{dispute['id']}/resolve",
                                         self.admin, "admin", body)
            if status != 200 and not (status == 409 and _state(resolved) == "resolved"):
                raise JourneyError(f"resolve → {status}: {resolved}")
            self._final(j, o)
            self.eventually(f"escrow of {o.order_id} {o.expect_escrow}",
                            lambda: self._escrow_matches(o) or self._refund_returned(o))
            self.eventually(f"order {o.order_id} {o.expect_order}", lambda: self._order(buyer, o.order_id) == o.expect_order)

    def _payout(self, o: OrderPlan) -> None:
        """The same payout request twice at once, with one Idempotency-Key: one payout."""
        seller, http = o.seller, self.http
        with self.payout_lock[seller]:   # one seller's journeys do not race each other's balance reads
            status, balance = http.call("escrow", "GET", "/api/v1/sellers/me/balance", seller, "seller")
            if status != 200:
                raise JourneyError(f"balance → {status}: {balance}")
            usd = next((b for b in balance.get("balances", []) if b.get("currency") == "usd"), {"available": 0})
            amount = min(usd.get("available", 0), o.gross)
            if amount <= 0:
                return
            key = f"payout-{o.order_id}"
            results: list = [None, None]

            def send(i):
                try:
                    results[i] = http.call("escrow", "POST", "/api/v1/payouts", seller, "seller",
                                           {"amount": amount, "currency": "usd"}, key=key)
                except JourneyError as e:
                    results[i] = (0, str(e))

            threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        # A racing duplicate may be told to retry (409 while the first is in progress): retry it.
        final = []
        for status, body in results:
            if status == 409:
                status, body = http.call("escrow", "POST", "/api/v1/payouts", seller, "seller",
                                         {"amount": amount, "currency": "usd"}, key=key)
            final.append((status, body))
        ids = {b.get("id").lower() for s, b in final if s in (202, 422) and isinstance(b, dict) and b.get("id")}
        statuses = [s for s, _ in final]
        if any(s not in (202, 422) for s in statuses):
            raise JourneyError(f"payout answers {final}")
        if len(set(statuses)) > 1:
            raise JourneyError(f"one Idempotency-Key got different answers: {final}")
        if len(ids) > 1:
            raise JourneyError(f"one Idempotency-Key made two payouts: {sorted(ids)}")
        if not ids:
            return  # refused (insufficient balance) both times, consistently
        o.payout_id = ids.pop()
        o.payout_amount = amount
        o.payout_expect = "failed" if seller == self.failing_seller else "paid"
        # A paid payout the bank returns a moment later (a late failure) ends failed.
        ends = {o.payout_expect, "failed"} if self.late_failures else {o.payout_expect}
        self.eventually(f"payout {o.payout_id} {o.payout_expect}", lambda: any(
            p["id"].lower() == o.payout_id and p["status"] in ends
            for p in (http.call("escrow", "GET", "/api/v1/payouts?limit=100", seller, "seller")[1] or {}).get("items", [])))

    # --- reads and moves ----------------------------------------------------------------------

    def _intent(self, j: Journey):
        request = {"checkoutId": j.checkout_id}
        if j.use_wallet:
            request["useWallet"] = True
        status, body = self.http.call("payments", "POST", "/api/v1/payments/create-intent", j.buyer, "buyer", request)
        if status in (200, 201):
            return body
        if status == 404:
            return None   # checkout.created not applied yet
        raise JourneyError(f"create-intent → {status}: {body}")

    def _wallet(self, buyer: str) -> int:
        status, body = self.http.call("escrow", "GET", "/api/v1/wallet", buyer, "buyer")
        if status != 200:
            raise JourneyError(f"wallet → {status}: {body}")
        return next((b["balance"] for b in body["balances"] if b["currency"] == "usd"), 0)

    def _order(self, user: str, order_id: str) -> str | None:
        status, body = self.http.call("orders", "GET", f"/api/v1/orders/{order_id}", user, "buyer")
        if status != 200:
            raise JourneyError(f"order → {status}: {body}")
        return body["status"]

    def _escrow(self, order_id: str):
        status, body = self.http.call("escrow", "GET", f"/api/v1/escrows/{order_id}", self.admin, "admin")
        if status == 200:
            return body
        if status == 404:
            return None
        raise JourneyError(f"escrow → {status}: {body}")

    def _escrow_status(self, order_id: str) -> str | None:
        escrow = self._escrow(order_id)
        return escrow and escrow["status"]

    def _refund_returned(self, o: OrderPlan) -> bool:
        """A refund of the order failed after it had succeeded: the escrow holds it again, flagged."""
        if not self.late_failures:
            return False
        e = self._escrow(o.order_id)
        return bool(e) and "failed after it had succeeded" in (e.get("flagReason") or "")

    def _escrow_matches(self, o: OrderPlan) -> bool:
        e = self._escrow(o.order_id)
        return bool(e) and e["status"] == o.expect_escrow and e["refundedAmount"] == o.expect_refunded \
            and e["releasedGross"] == o.expect_released_gross

    def _move(self, o: OrderPlan, action: str, user: str, role: str, body: dict, target: str) -> None:
        status, answer = self.http.call("orders", "POST", f"/api/v1/orders/{o.order_id}/{action}", user, role, body)
        if status == 200 and answer.get("status") == target:
            return
        # Our first attempt went through and its answer was lost: the order is already there.
        if status == 409 and _state(answer) == target:
            return
        raise JourneyError(f"{action} → {status}: {answer}")


def _state(body) -> str | None:
    return body.get("currentState") if isinstance(body, dict) else None

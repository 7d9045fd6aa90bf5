#!/usr/bin/env python3
"""The whole money flow against a running stack and its Stripe simulator (`scripts/dev demo`).

Seller onboards → lists an item → a buyer checks out a cart from two sellers → pays → the
sellers ship → the buyer confirms one delivery → that escrow is released and transferred →
the seller pays out → the buyer disputes the other order → an admin resolves it with a split →
the refund and the transfer happen → every expected email is in the mail sink → the ledger
balances (reconciliation finds no discrepancy).

Every step checks what it claims and the script exits non-zero at the first that does not
hold, so the same script is the end-to-end test (Tests/JourneyTests runs it against the four
real processes). Standard library only; configuration from a stack.env file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mint_token import mint, read_env_file  # noqa: E402


class JourneyError(Exception):
    pass


class Stack:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.urls = {
            "orders": env["ORDER_SERVICE_URL"],
            "payments": env["PAYMENT_SERVICE_URL"],
            "escrow": env["ESCROW_SERVICE_URL"],
            "notifications": env["NOTIFICATION_SERVICE_URL"],
        }
        self.secret = env["JWT_SECRET"]
        self.run = uuid.uuid4().hex[:6]
        self.correlation = f"demo-{self.run}"

    def token(self, user: str, role: str) -> str:
        return mint(self.secret, user, [role], f"{user}@example.test", 3600)

    def call(self, service: str, method: str, path: str, user: str, role: str, body=None, key: str | None = None,
             expect: tuple[int, ...] = (200, 201, 202)):
        url = self.urls[service] + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token(user, role))
        request.add_header("X-Request-ID", self.correlation)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        if status not in expect:
            raise JourneyError(f"{method} {url} → {status}: {raw.decode(errors='replace')[:500]}")
        return json.loads(raw) if raw else None

    def browser(self, method: str, url: str, form: str | None = None) -> str:
        data = None if form is None else form.encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()


def eventually(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except JourneyError as error:
            last = error
        time.sleep(0.25)
    raise JourneyError(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


def money(amount: int, currency: str = "usd") -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def step(number: int, text: str):
    print(f"\n{number:>2}. {text}")


def say(text: str):
    print(f"    {text}")


def journey(stack: Stack, maildir: Path | None) -> None:
    run = stack.run
    seller_a, seller_b = f"seller-a-{run}", f"seller-b-{run}"
    buyer, admin = f"buyer-{run}", f"admin-{run}"

    step(1, "Sellers onboard (the Stripe simulator's Connect onboarding page)")
    for seller in (seller_a, seller_b):
        link = stack.call("escrow", "POST", "/api/v1/sellers/stripe-onboard", seller, "seller")
        page = stack.browser("GET", link["onboardingUrl"])
        if "Complete onboarding" not in page:
            raise JourneyError("the onboarding page has no button")
        stack.browser("POST", link["onboardingUrl"], "outcome=complete")
        eventually(f"{seller} can receive payouts", lambda s=seller: stack.call(
            "escrow", "GET", "/api/v1/sellers/me/stripe-status", s, "seller")["payoutsEnabled"])
        say(f"{seller}: account {link['accountId']} can receive payouts")

    step(2, "Sellers list items")
    lamp = stack.call("orders", "POST", "/api/v1/listings", seller_a, "seller",
                      {"title": "Brass desk lamp", "priceAmount": 4200, "currency": "usd", "stock": 5})
    mugs = stack.call("orders", "POST", "/api/v1/listings", seller_b, "seller",
                      {"title": "Stoneware mug", "priceAmount": 2599, "currency": "usd", "stock": 20})
    say(f"{seller_a}: {lamp['title']} at {money(lamp['priceAmount'])}")
    say(f"{seller_b}: {mugs['title']} at {money(mugs['priceAmount'])}")

    step(3, "The buyer checks out one cart from two sellers")
    checkout = stack.call("orders", "POST", "/api/v1/checkouts", buyer, "buyer", {
        "items": [{"listingId": lamp["id"], "quantity": 1}, {"listingId": mugs["id"], "quantity": 2}],
        "shippingAddress": {"name": "Ada Buyer", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"},
    }, key=f"checkout-{run}")
    orders = {order["sellerId"]: order for order in checkout["orders"]}
    order_a, order_b = orders[seller_a], orders[seller_b]
    say(f"checkout {checkout['checkoutId']}: {money(checkout['totalAmount'])} in {len(orders)} orders")
    for order in (order_a, order_b):
        say(f"order {order['orderNumber']} ({order['sellerId']}): {money(order['totalAmount'])}")

    step(4, "The buyer pays (test card pm_card_visa)")
    intent = eventually("the payment to exist", lambda: stack.call(
        "payments", "POST", "/api/v1/payments/create-intent", buyer, "buyer", {"checkoutId": checkout["checkoutId"]},
        expect=(200, 201)))
    stack.call("payments", "POST", "/api/v1/payments/confirm", buyer, "buyer",
               {"paymentId": intent["paymentId"], "paymentMethod": "pm_card_visa"})
    for order in (order_a, order_b):
        eventually(f"order {order['orderNumber']} paid", lambda o=order: stack.call(
            "orders", "GET", f"/api/v1/orders/{o['id']}", buyer, "buyer")["status"] == "paid")
    say(f"payment {intent['paymentId']} succeeded: {money(intent['amount'])} held by the platform")
    for order, seller in ((order_a, seller_a), (order_b, seller_b)):
        escrow = eventually("the escrow", lambda o=order, s=seller: stack.call(
            "escrow", "GET", f"/api/v1/escrows/{o['id']}", s, "seller"))
        say(f"escrow for {order['orderNumber']}: gross {money(escrow['grossAmount'])}, fee {money(escrow['feeAmount'])}, "
            f"seller net {money(escrow['netAmount'])}, {escrow['status']}")

    step(5, "Both sellers ship")
    for order, seller, tracking in ((order_a, seller_a, "1Z-LAMP"), (order_b, seller_b, "1Z-MUGS")):
        shipped = stack.call("orders", "POST", f"/api/v1/orders/{order['id']}/ship", seller, "seller",
                             {"carrier": "UPS", "trackingNumber": f"{tracking}-{run}"})
        say(f"{order['orderNumber']}: {shipped['status']} with UPS {tracking}-{run}")

    step(6, "The buyer confirms the lamp's delivery; its escrow is released and transferred")
    stack.call("orders", "POST", f"/api/v1/orders/{order_a['id']}/confirm-delivery", buyer, "buyer", {})
    released = eventually("the lamp's escrow released", lambda: (lambda e: e if e["status"] == "released" else None)(
        stack.call("escrow", "GET", f"/api/v1/escrows/{order_a['id']}", seller_a, "seller")))
    say(f"transfer {released['transferId']}: {money(released['releasedNet'])} to {seller_a} "
        f"(platform fee {money(released['releasedFee'])})")

    step(7, f"{seller_a} pays out the available balance")
    balance = stack.call("escrow", "GET", "/api/v1/sellers/me/balance", seller_a, "seller")["balances"][0]
    payout = stack.call("escrow", "POST", "/api/v1/payouts", seller_a, "seller",
                        {"amount": balance["available"], "currency": "usd"}, key=f"payout-{run}")
    eventually("the payout paid", lambda: any(p["id"] == payout["id"] and p["status"] == "paid" for p in stack.call(
        "escrow", "GET", "/api/v1/payouts", seller_a, "seller")["items"]))
    say(f"payout {payout['id']}: {money(payout['amount'])} paid to the seller's bank")

    step(8, "The buyer disputes the mugs")
    dispute = stack.call("escrow", "POST", "/api/v1/disputes", buyer, "buyer", {
        "orderId": order_b["id"], "reason": "damaged", "description": "One of the two mugs arrived broken."})
    stack.call("escrow", "POST", f"/api/v1/disputes/{dispute['id']}/messages", seller_b, "seller",
               {"body": "Sorry to hear it; happy to refund one mug."})
    say(f"dispute {dispute['id']} open; the escrow is frozen")

    step(9, "An admin resolves it with a split")
    escrow_b = stack.call("escrow", "GET", f"/api/v1/escrows/{order_b['id']}", admin, "admin")
    refund = mugs["priceAmount"]
    resolved = stack.call("escrow", "POST", f"/api/v1/admin/disputes/{dispute['id']}/resolve", admin, "admin",
                          {"outcome": "split", "refundAmount": refund, "note": "One mug refunded."})
    say(f"outcome {resolved['outcome']}: refund {money(resolved['refundAmount'])}, release {money(resolved['releaseAmount'])}")

    step(10, "The refund and the transfer happen")
    settled = eventually("refund and transfer", lambda: (lambda e: e if e["refundedAmount"] == refund and e["status"] == "released" else None)(
        stack.call("escrow", "GET", f"/api/v1/escrows/{order_b['id']}", admin, "admin")))
    parts = settled["refundedAmount"] + settled["releasedFee"] + settled["releasedNet"]
    say(f"refunded {money(settled['refundedAmount'])}, transferred {money(settled['releasedNet'])} "
        f"(transfer {settled['transferId']}), fee {money(settled['releasedFee'])}")
    if parts != escrow_b["grossAmount"]:
        raise JourneyError(f"the split does not add up: {parts} != {escrow_b['grossAmount']}")
    say(f"refund + fee + transfer = {money(parts)} = the order's {money(escrow_b['grossAmount'])}")

    step(11, "Every email that should have been sent is in the mail sink")
    expected = [
        (f"{buyer}@example.test", f"Order {order_a['orderNumber']} confirmed"),
        (f"{buyer}@example.test", "Receipt "),
        (f"{buyer}@example.test", f"Order {order_b['orderNumber']} has shipped"),
        (f"{buyer}@example.test", f"Delivery of order {order_a['orderNumber']} confirmed"),
        (f"{buyer}@example.test", f"Your dispute on order {order_b['orderNumber']} is resolved"),
        (f"{buyer}@example.test", f"Refund of "),
        (f"{seller_a}@example.test", f"New paid order {order_a['orderNumber']}"),
        (f"{seller_a}@example.test", f"released to you for order {order_a['orderNumber']}"),
        (f"{seller_a}@example.test", "Payout of "),
        (f"{seller_b}@example.test", f"A dispute was opened on order {order_b['orderNumber']}"),
        (f"{seller_b}@example.test", f"released to you for order {order_b['orderNumber']}"),
    ]
    if maildir is None:
        say("no SMTP_MAILDIR in the stack's env: skipped (mail went to the configured SMTP server)")
    else:
        def received():
            mails = []
            for path in maildir.glob("*.json"):
                try:
                    mails.append(json.loads(path.read_text()))
                except (OSError, json.JSONDecodeError):
                    continue
            missing = [(to, subject) for to, subject in expected
                       if not any(to in mail.get("rcptTos", []) and subject in mail.get("subject", "") for mail in mails)]
            return mails, missing
        try:
            mails, _ = eventually("the emails", lambda: (lambda got: got if not got[1] else None)(received()), timeout=90)
        except JourneyError:
            raise JourneyError(f"emails missing: {received()[1]}")
        mine = [m for m in mails if any(run in to for to in m.get("rcptTos", []))]
        for mail in sorted(mine, key=lambda m: m.get("receivedAt", 0)):
            say(f"{', '.join(mail['rcptTos'])}: {mail['subject']}")

    step(12, "The ledger balances and matches the gateway")
    report = stack.call("escrow", "POST", "/api/v1/admin/reconciliation", admin, "admin")
    if report["discrepancies"]:
        raise JourneyError(f"reconciliation found discrepancies: {report['discrepancies']}")
    say(f"reconciliation {report['id']}: {report['checked']} checks, no discrepancy")
    print("\nThe journey completed.")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=str(Path(__file__).resolve().parents[2] / ".dev" / "stack.env"),
                        help="stack.env written by scripts/dev up (default: .dev/stack.env)")
    args = parser.parse_args(argv)
    env = read_env_file(Path(args.env))
    if not env.get("ORDER_SERVICE_URL"):
        print(f"demo: {args.env} has no service URLs: run scripts/dev up first", file=sys.stderr)
        return 2
    stack = Stack(env)
    maildir = Path(env["SMTP_MAILDIR"]) if env.get("SMTP_MAILDIR") else None
    try:
        journey(stack, maildir)
    except (JourneyError, urllib.error.URLError, KeyError) as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

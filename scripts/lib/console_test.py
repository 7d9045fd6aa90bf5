#!/usr/bin/env python3
"""The web console in a real headless Chromium (Debian's, driven by Playwright), through the
whole journey, against the four services and the Stripe simulator that scripts/console-test
started on free ports (the chaos run's stack, scripts/lib/runstack.sh).

Sellers onboard (the simulator's onboarding page) and list; a buyer buys from both in one cart
and pays with a test card; the sellers ship; the buyer confirms one order and disputes the
other; an admin resolves the dispute with a split; a seller pays out; the buyer opens the
receipt from its email and downloads the PDF; reconciliation finds nothing. Each step asserts
what the pages show and waits on page state (the pages are re-rendered until it appears: events
flow between the services asynchronously). A screenshot of each main page goes to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos_stack import Env, http_get, make_services  # noqa: E402

from playwright.sync_api import Error as PlaywrightError, Page, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")


class Failure(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """The WebConsole process, started like the services (its pid file is where the run's stop finds it)."""

    def __init__(self, env: Env, port: int, name: str = "WebConsole", extra: dict[str, str] | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CHAOS_")}
        environ.update({
            "APP_ENV": "development", "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port), "JWT_SECRET": env.jwt_secret,
            "ORDER_SERVICE_URL": env.url("OrderService"), "PAYMENT_SERVICE_URL": env.url("PaymentService"),
            "ESCROW_SERVICE_URL": env.url("EscrowService"), "NOTIFICATION_SERVICE_URL": env.url("NotificationService"),
        })
        environ.update(extra or {})
        log = open(env.dir / "logs" / f"{name}.log", "ab")
        self.proc = subprocess.Popen([str(env.bin_dir / "WebConsole")], env=environ, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        (env.dir / "services" / f"{name}.pid").write_text(f"{self.proc.pid}\n")

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure("the web console exited at start (see WebConsole.log)")
            if http_get(f"{self.url}/health/live")[0] == 200:
                return
            time.sleep(0.2)
        raise Failure("the web console did not answer /health/live")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# Stands in for https://js.stripe.com/v3/ (not reachable here): the documented surface the console
# uses (Stripe(key), elements({clientSecret}), create("payment").mount(el), confirmPayment), with
# every call recorded. The first confirmation is declined the way Stripe.js reports card errors.
FAKE_STRIPE_JS = """
window.__stripe = { calls: [], confirmations: 0 };
window.Stripe = function (key) {
  window.__stripe.calls.push(["Stripe", key]);
  return {
    elements(options) {
      window.__stripe.calls.push(["elements", options.clientSecret]);
      return { create(type) {
        window.__stripe.calls.push(["create", type]);
        return { mount(el) {
          window.__stripe.calls.push(["mount", el.id]);
          el.textContent = "[Stripe Payment Element test double]";
        } };
      } };
    },
    async confirmSetup(options) {
      window.__stripe.calls.push(["confirmSetup", options.redirect, options.confirmParams.return_url, !!options.elements]);
      return { setupIntent: { status: "succeeded" } };
    },
    async confirmPayment(options) {
      window.__stripe.calls.push(["confirmPayment", options.redirect, options.confirmParams.return_url, !!options.elements]);
      window.__stripe.confirmations += 1;
      if (window.__stripe.confirmations === 1) return { error: { type: "card_error", code: "card_declined", message: "Your card was declined." } };
      return { paymentIntent: { status: "processing" } };
    },
  };
};
"""


class Journey:
    def __init__(self, browser, console: Console, out: Path, maildir: Path, element_console: Console | None = None):
        self.browser, self.console, self.out, self.maildir = browser, console, out, maildir
        self.element_console = element_console
        self.shots = 0
        self.pages: list[Page] = []
        self.run = uuid.uuid4().hex[:6]
        self.errors: list[str] = []

    # --- helpers -----------------------------------------------------------------------------

    def user(self, sub: str, *roles: str) -> Page:
        """A browser of its own (its own session storage) signed in through the development sign-in."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        self.pages.append(page)
        page.on("pageerror", lambda e: self.errors.append(f"{sub}: {e}"))
        self.goto(page, "/sign-in")
        page.fill("#dev-sign-in input[name=sub]", sub)
        for role in roles:
            page.check(f"#dev-sign-in input[name=role-{role}]")
        page.click("#dev-sign-in button[type=submit]")
        self.ready(page, "/")
        self.expect_text(page, "#who", sub)
        return page

    def ready(self, page: Page, path: str | None = None) -> None:
        selector = '#page[data-ready="true"]' if path is None else f'#page[data-ready="true"][data-path="{path}"]'
        page.wait_for_selector(selector, state="attached", timeout=30_000)

    def goto(self, page: Page, path: str) -> None:
        page.goto(self.console.url + path)
        self.ready(page)

    def text(self, page: Page, selector: str) -> str:
        return page.locator(selector).first.inner_text(timeout=5_000)

    def expect_text(self, page: Page, selector: str, *wanted: str) -> str:
        text = self.text(page, selector)
        for w in wanted:
            if w not in text:
                raise Failure(f"{selector} on {page.url} does not show {w!r}: {text[:400]!r}")
        return text

    def until(self, page: Page, what: str, check, timeout: float = 60) -> None:
        """Re-renders the page until `check()` holds (the services apply events asynchronously)."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                if check():
                    return
            except (PlaywrightError, Failure) as error:
                last = str(error).splitlines()[0]
            if time.monotonic() > deadline:
                raise Failure(f"timed out after {timeout:.0f}s waiting for {what} on {page.url} ({last})")
            page.wait_for_timeout(400)
            page.reload()
            self.ready(page)

    def shows(self, page: Page, selector: str, *wanted: str):
        return lambda: all(w in self.text(page, selector) for w in wanted)

    def flash(self, page: Page, *wanted: str, kind: str = "info") -> str:
        page.wait_for_selector(f"#flash.{kind}:not([hidden])", timeout=30_000)
        return self.expect_text(page, "#flash", *wanted)

    def shot(self, page: Page, name: str) -> None:
        self.shots += 1
        path = self.out / f"{self.shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"    screenshot {path.name}")

    def step(self, text: str) -> None:
        print(f"\n{text}", flush=True)

    # --- the journey -------------------------------------------------------------------------

    def play(self) -> None:
        run = self.run
        seller_a, seller_b, buyer, admin = f"seller-a-{run}", f"seller-b-{run}", f"buyer-{run}", f"admin-{run}"

        self.step("1. The sign-in page shows the API's problem for a bad request (no role picked)")
        probe = self.browser.new_context().new_page()
        self.goto(probe, "/sign-in")
        self.shot(probe, "sign-in")
        probe.fill("#dev-sign-in input[name=sub]", "nobody")
        probe.click("#dev-sign-in button[type=submit]")
        print("    " + self.flash(probe, "Invalid request", "Pick at least one role", kind="error"))
        # Amounts per currency, as the pages format and parse them (zero- and three-decimal currencies too).
        formats = probe.evaluate("""import('/js/format.js').then((m) => [
            m.money(4500, 'jpy'), m.money(123456, 'usd'), m.money(12345, 'kwd'),
            m.toMinor('4500', 'jpy'), m.toMinor('45.5', 'jpy'), m.toMinor('12.345', 'kwd'), m.toMinor('25.99', 'usd')])""")
        expected = ["¥4,500", "$1,234.56", "KWD", 4500, None, 12345, 2599]
        if formats[:2] != expected[:2] or "12.345" not in formats[2] or formats[3:] != expected[3:]:
            raise Failure(f"amounts are formatted or parsed wrongly: {formats}")
        print(f"    amounts: {formats[0]}, {formats[1]}, {formats[2]}")
        probe.context.close()

        self.step("2. Two sellers set up payments through the (simulated) Stripe onboarding")
        sellers = {}
        for seller in (seller_a, seller_b):
            page = self.user(seller, "seller")
            self.goto(page, "/seller/onboarding")
            self.expect_text(page, "#kyc", "none yet", "disabled")
            if seller == seller_a:
                self.shot(page, "seller-onboarding-before")
            with page.expect_popup() as popup_info:
                page.click("#set-up-payments")
            popup = popup_info.value
            popup.wait_for_selector("button[value=complete]", timeout=30_000)
            self.expect_text(popup, "body", "This page stands in for Stripe's hosted onboarding")
            popup.click("button[value=complete]")
            popup.wait_for_load_state()
            self.expect_text(popup, "h1", "Onboarding submitted")
            popup.close()
            # The page polls the status and re-renders once payouts are enabled (account.updated → EscrowService).
            page.wait_for_selector("#onboarding-summary:has-text('Your account can receive payouts')", timeout=60_000)
            self.expect_text(page, "#kyc", "acct_", "enabled", "nothing")
            print(f"    {seller}: {self.text(page, '#onboarding-summary')}")
            sellers[seller] = page
        self.shot(sellers[seller_a], "seller-onboarding-done")

        self.step("3. They list items; seller B edits the stock")
        for seller, title, price, stock in ((seller_a, "Brass desk lamp", "42.00", "5"), (seller_b, "Stoneware mug", "25.99", "20")):
            page = sellers[seller]
            self.goto(page, "/seller/listings")
            page.fill("#new-listing input[name=title]", title)
            page.fill("#new-listing input[name=description]", f"{title} ({run})")
            page.fill("#new-listing input[name=price]", price)
            page.select_option("#new-listing select[name=currency]", "usd")
            page.fill("#new-listing input[name=stock]", stock)
            page.click("#new-listing button[type=submit]")
            self.flash(page, f"Listed “{title}”")
            self.expect_text(page, f'#listings tr[data-listing="{title}"]', f"${price}", stock, "active")
        page = sellers[seller_b]
        row = page.locator('#listings tr[data-listing="Stoneware mug"]')
        row.locator("input[name=stock]").fill("12")
        row.locator("button:has-text('Save')").click()
        self.flash(page, "Saved “Stoneware mug”")
        self.expect_text(page, '#listings tr[data-listing="Stoneware mug"]', "12")
        self.shot(page, "seller-listings")

        self.step("4. The buyer puts both in one cart, checks out and pays with a test card")
        shopper = self.user(buyer, "buyer")
        self.goto(shopper, "/shop")
        for title, qty in (("Brass desk lamp", "1"), ("Stoneware mug", "2")):
            row = shopper.locator(f'#listings tr[data-listing="{title}"]').filter(has_text=run)
            row.locator("input[aria-label=Quantity]").fill(qty)
            row.locator("button:has-text('Add to cart')").click()
            self.flash(shopper, f"Added {qty} × “{title}”")
        self.shot(shopper, "buyer-shop")
        self.goto(shopper, "/cart")
        self.expect_text(shopper, "#cart-total", "$93.98", "2 sellers")
        for field, value in (("name", "Ada Buyer"), ("line1", "1 Main St"), ("city", "Springfield"), ("postalCode", "12345")):
            shopper.fill(f"#checkout input[name={field}]", value)
        shopper.click("#checkout button[type=submit]")
        self.flash(shopper, "Checkout created: 2 order(s), $93.98")
        self.expect_text(shopper, "#payment", "$42.00", "$51.98")
        shopper.select_option("#test-card", "pm_card_visa")
        self.shot(shopper, "buyer-checkout-pay")
        shopper.click("#pay")
        shopper.wait_for_selector("#payment-result:has-text('submitted')", timeout=30_000)
        print("    " + self.text(shopper, "#payment-result"))

        self.step("5. Both orders become paid")
        self.goto(shopper, "/orders")
        self.until(shopper, "both orders paid", lambda: all(
            "paid" in self.text(shopper, f'#orders tr[data-seller="{s}"]') for s in (seller_a, seller_b)))
        self.expect_text(shopper, f'#orders tr[data-seller="{seller_a}"]', "$42.00", "1 × Brass desk lamp")
        self.expect_text(shopper, f'#orders tr[data-seller="{seller_b}"]', "$51.98", "2 × Stoneware mug")
        self.shot(shopper, "buyer-orders-paid")
        order_ids = {}
        for s in (seller_a, seller_b):
            href = shopper.locator(f'#orders tr[data-seller="{s}"] a').get_attribute("href")
            order_ids[s] = href.rsplit("/", 1)[1]

        self.step("6. The sellers see the sale with its breakdown and ship it")
        for seller, tracking, gross, fee, net in ((seller_a, f"1Z-LAMP-{run}", "$42.00", "$2.10", "$39.90"),
                                                 (seller_b, f"1Z-MUGS-{run}", "$51.98", "$2.60", "$49.38")):
            page = sellers[seller]
            self.goto(page, "/seller/sales")
            self.until(page, f"{seller}'s sale with its escrow", self.shows(page, "#sales tbody tr", "paid", "held"))
            self.expect_text(page, "#sales tbody tr", gross, fee, net)
            if seller == seller_a:
                self.shot(page, "seller-sales")
            page.click("#sales tbody tr a")
            self.ready(page)
            page.fill("#ship input[name=carrier]", "UPS")
            page.fill("#ship input[name=trackingNumber]", tracking)
            page.click("#ship button[type=submit]")
            self.flash(page, "Marked shipped")
            self.expect_text(page, "#order-status", "shipped")
            self.expect_text(page, "#shipment", f"UPS {tracking}")
            page.fill("#tracking-update input[name=status]", "in_transit")
            page.fill("#tracking-update input[name=location]", "Memphis, TN")
            page.click("#tracking-update button[type=submit]")
            self.flash(page, "Tracking updated")
            self.expect_text(page, "#tracking", "in_transit", "Memphis, TN")
            self.expect_text(page, "#escrow", gross, fee, net)
            if seller == seller_a:
                self.shot(page, "seller-order-shipped")
            print(f"    {seller}: shipped with UPS {tracking}; gross {gross}, fee {fee}, net {net}")

        self.step("7. The buyer confirms the lamp's delivery and disputes the mugs")
        self.goto(shopper, f"/orders/{order_ids[seller_a]}")
        self.expect_text(shopper, "#shipment", f"1Z-LAMP-{run}")
        self.expect_text(shopper, "#tracking", "Memphis, TN")
        if shopper.locator("#open-dispute").count() != 1 or shopper.locator("#ship").count() != 0:
            raise Failure("the buyer should be offered a dispute and never the seller's ship form")
        shopper.click("#confirm-delivery")
        self.flash(shopper, "Delivery confirmed")
        self.until(shopper, "the lamp's order completed", self.shows(shopper, "#order-status", "completed"))
        self.expect_text(shopper, "#escrow", "released", "$39.90")
        if shopper.locator("#open-dispute").count():
            raise Failure("a dispute is offered on a released order")
        self.shot(shopper, "buyer-order-completed")
        self.goto(shopper, f"/orders/{order_ids[seller_b]}")
        shopper.select_option("#open-dispute select[name=reason]", "damaged")
        shopper.fill("#open-dispute textarea[name=description]", "One of the two mugs arrived broken; photo attached.")
        shopper.click("#open-dispute button[type=submit]")
        self.flash(shopper, "Dispute opened")
        self.expect_text(shopper, "#dispute", "open", "One of the two mugs arrived broken")
        self.until(shopper, "the mugs' order disputed", self.shows(shopper, "#order-status", "disputed"))
        page = sellers[seller_b]
        self.goto(page, f"/orders/{order_ids[seller_b]}")
        page.fill("#dispute-message textarea[name=body]", "Sorry to hear it; happy to refund one mug.")
        page.click("#dispute-message button[type=submit]")
        self.flash(page, "Message added")
        self.expect_text(page, "#dispute", "happy to refund one mug", f"{seller_b} (seller)")
        self.shot(shopper, "buyer-order-disputed")

        self.step("8. An admin resolves the dispute with a split")
        boss = self.user(admin, "admin")
        self.goto(boss, "/admin/disputes")
        self.expect_text(boss, "#open-disputes", buyer, seller_b, "damaged")
        self.shot(boss, "admin-disputes")
        boss.click(f'#open-disputes tr[data-order="{order_ids[seller_b]}"] a')
        self.ready(boss)
        self.expect_text(boss, "#dispute", "One of the two mugs arrived broken", "happy to refund one mug")
        self.expect_text(boss, "#held", "$51.98")
        boss.select_option("#resolve select[name=outcome]", "split")
        boss.fill("#resolve input[name=refundAmount]", "25.99")
        boss.fill("#resolve input[name=note]", "One mug refunded.")
        self.shot(boss, "admin-dispute")
        boss.click("#resolve button[type=submit]")
        print("    " + self.flash(boss, "Resolved (split): $25.99 to the buyer, $25.99 released"))
        self.until(boss, "the refund and the transfer", lambda: "$25.99" in self.text(boss, "#refunded") and "$" in self.text(boss, "#released"))
        released = self.text(boss, "#released")
        print(f"    refunded $25.99; released {released} to {seller_b}")
        self.expect_text(boss, "#dispute", "resolved", "split")
        self.shot(boss, "admin-dispute-resolved")
        self.goto(shopper, f"/orders/{order_ids[seller_b]}")
        # A resolved dispute is no longer on the escrow (its disputeId is cleared): the buyer sees the money's split.
        self.until(shopper, "the buyer sees the split", self.shows(shopper, "#escrow", "released", "$25.99", released))
        self.expect_text(shopper, "#escrow-refunded", "$25.99")
        # The parties still find the resolved dispute and the admin's decision on the order.
        self.expect_text(shopper, "section[id^='dispute-']", "resolved", "split", "One of the two mugs arrived broken")
        self.shot(shopper, "buyer-dispute-resolved")

        self.step("9. Seller A requests a payout of the available balance")
        page = sellers[seller_a]
        self.goto(page, "/seller/payouts")
        self.until(page, "seller A's balance available", self.shows(page, '#balances tr[data-currency="usd"]', "$39.90"))
        page.fill('#balances form[data-currency="usd"] input[name=amount]', "39.90")
        page.click('#balances form[data-currency="usd"] button')
        self.flash(page, "Payout of $39.90 requested")
        self.until(page, "the payout paid", self.shows(page, "#payouts tbody tr", "$39.90", "paid"))
        self.expect_text(page, '#balances tr[data-currency="usd"]', "$0.00", "$39.90")
        page.select_option("#payout-schedule select[name=interval]", "weekly")
        page.select_option("#payout-schedule select[name=weeklyAnchor]", "friday")
        page.fill("#payout-schedule input[name=minimumAmount]", "1000")
        page.click("#payout-schedule button")
        self.flash(page, "Schedule saved. Every friday")
        self.expect_text(page, "#schedule-summary", "Every friday", "at least 1000", "Next run")
        self.shot(page, "seller-payouts")

        self.step("10. The buyer opens the receipt from its email and downloads the PDF")
        link = self.receipt_link(f"{buyer}@example.test")
        if not link.startswith(self.console.url + "/api/v1/receipts/"):
            raise Failure(f"the receipt email links elsewhere: {link}")
        page = shopper
        page.goto(link)  # the console sends the emailed PDF link to the receipt's page
        self.ready(page)
        if "/receipts/" not in page.url or "/api/" in page.url:
            raise Failure(f"the emailed link did not open the receipt page: {page.url}")
        self.expect_text(page, "#receipt-total", "$93.98")
        self.until(page, "the receipt with the refund", self.shows(page, "#receipt-net", "$67.99"))
        self.expect_text(page, "#receipt", "Brass desk lamp", "Stoneware mug", "$25.99")
        with page.expect_download() as download_info:
            page.click("#download-pdf")
        pdf = self.out / "receipt.pdf"
        download_info.value.save_as(str(pdf))
        if not pdf.read_bytes().startswith(b"%PDF"):
            raise Failure("the downloaded receipt is not a PDF")
        self.shot(page, "buyer-receipt")
        print(f"    receipt PDF saved to {pdf}")
        self.goto(page, "/receipts")
        row = self.expect_text(page, "#receipts tbody tr", "R-", "$93.98", "$25.99", "$67.99")
        if page.locator("#receipts tbody tr").count() != 1:
            raise Failure("the buyer's receipts list should hold exactly the one payment's receipt")
        self.shot(page, "buyer-receipts")
        print(f"    receipts list: {' '.join(row.split())}")

        self.step("11. The admin's other pages: sellers and their verification, reconciliation finds no discrepancy; flagged escrows, refunds, operations")
        self.goto(boss, "/admin/sellers")
        for seller in (seller_a, seller_b):
            self.expect_text(boss, f'#sellers tr[data-seller="{seller}"]', "verified", "enabled", "nothing")
        self.shot(boss, "admin-sellers")
        boss.select_option("#seller-status", "pending")
        self.ready(boss)
        self.until(boss, "the pending filter applied", lambda: "status=pending" in boss.url and boss.locator(f'#sellers tr[data-seller="{seller_a}"]').count() == 0)
        self.goto(boss, "/admin/reconciliation")
        boss.click("#run-reconciliation")
        self.flash(boss, "0 discrepancies")
        self.expect_text(boss, "#discrepancy-count", "0")
        self.shot(boss, "admin-reconciliation")
        self.goto(boss, "/admin/escrows")
        self.shot(boss, "admin-flagged-escrows")
        self.goto(boss, "/admin/refunds")
        self.expect_text(boss, "#refunds", buyer, "$51.98", "$25.99")
        self.shot(boss, "admin-refunds")
        self.goto(boss, "/admin/operations")
        for svc in ("orders", "payments", "escrow", "notifications"):
            self.expect_text(boss, f"#dead-letters-{svc}", "Nothing yet.")
        self.shot(boss, "admin-operations")

        if self.element_console:
            self.pay_in_the_payment_element(buyer=f"buyer-element-{run}", run=run)
            self.step("13. The admin marks the abandoned payment failed; Stripe is asked first")
            self.goto(boss, "/admin/payments")
            row = boss.locator(f'#payments tr[data-buyer="buyer-element-{run}"]')
            if row.count() != 1:
                raise Failure(f"the abandoned payment is not listed: {self.text(boss, '#payments')[:300]!r}")
            # The state machine allows succeeded from processing, but Stripe has no success: refused.
            row.locator("select[name=status]").select_option("succeeded")
            row.locator("input[name=reason]").fill("the buyer says they paid")
            row.locator("button").click()
            print("    " + self.flash(boss, "Stripe reports the intent requires_payment_method", kind="error"))
            row = boss.locator(f'#payments tr[data-buyer="buyer-element-{run}"]')
            row.locator("select[name=status]").select_option("failed")
            row.locator("input[name=reason]").fill("buyer abandoned the Payment Element; intent unconfirmed at Stripe")
            row.locator("button").click()
            self.flash(boss, "is now failed")
            self.shot(boss, "admin-payments")

        self.step("14. Store credit: the admin imports balances (dry run, then apply), grants credit, rolls the import back")
        self.goto(boss, "/admin/wallets")
        boss.fill("#wallet-import input[name=reference]", f"legacy-{run}")
        boss.fill("#wallet-import textarea[name=rows]",
                  f"external_id,buyer_id,currency,amount\nold-{run}-1,{buyer},usd,1500\nold-{run}-2,{buyer},usd,-3")
        boss.click("#import-check")
        boss.wait_for_selector("#import-verdict:has-text('1 problem')", timeout=30_000)
        self.expect_text(boss, "#import-problems", "3", f"old-{run}-2", "amount")
        self.shot(boss, "admin-wallet-import-check")
        boss.fill("#wallet-import textarea[name=rows]", f"external_id,buyer_id,currency,amount\nold-{run}-1,{buyer},usd,1500")
        boss.click("#import-check")
        boss.wait_for_selector("#import-verdict:has-text('1 rows, ready to apply')", timeout=30_000)
        boss.click("#import-apply")
        self.ready(boss)
        self.until(boss, "the import applied", self.shows(boss, "#import", "applied", "$15.00"))
        import_page = boss.url
        self.goto(shopper, "/wallet")
        self.expect_text(shopper, '#wallet-balances tr[data-currency="usd"]', "$15.00")
        self.goto(boss, f"/admin/wallets?buyer={buyer}")
        boss.fill("#grant-credit input[name=amount]", "5.00")
        boss.fill("#grant-credit input[name=reason]", "sorry for the broken mug")
        boss.click("#grant-credit button")
        self.flash(boss, f"Granted $5.00 to {buyer}")
        self.expect_text(boss, '#wallet-balances tr[data-currency="usd"]', "$20.00")
        self.shot(boss, "admin-wallet")
        boss.goto(import_page)
        self.ready(boss)
        boss.fill("#import-rollback input[name=reason]", "imported from the wrong export")
        boss.click("#import-rollback button")
        self.flash(boss, "rolled back")
        self.goto(shopper, "/wallet")
        self.expect_text(shopper, '#wallet-balances tr[data-currency="usd"]', "$5.00")
        self.expect_text(shopper, "#wallet-history", "sorry for the broken mug", "rolled back", "+$15.00", "-$15.00")
        self.shot(shopper, "buyer-wallet")

        self.step("15. The buyer saves a card, makes it the default and pays with it")
        self.goto(shopper, "/cards")
        shopper.select_option("#save-card select[name=paymentMethod]", "pm_card_mastercard")
        shopper.click("#save-card button")
        self.flash(shopper, "Saved mastercard •••• 4444")
        shopper.locator('#saved-cards tr[data-last4="4444"] button:has-text("Make default")').click()
        self.flash(shopper, "is your default card")
        self.expect_text(shopper, "#saved-cards", "mastercard •••• 4444", "Default")
        self.shot(shopper, "buyer-saved-cards")
        number = self.buy_a_mug(shopper, run)
        chosen = shopper.locator("#test-card option:checked").inner_text()
        if "Saved: mastercard •••• 4444" not in chosen or "(default)" not in chosen:
            raise Failure(f"the default saved card should be preselected, not {chosen!r}")
        shopper.click("#pay")
        shopper.wait_for_selector("#payment-result:has-text('submitted')", timeout=30_000)
        self.goto(shopper, "/orders")
        self.until(shopper, "the order paid with the saved card", self.shows(shopper, f'#orders tr[data-order="{number}"]', "paid"))

        self.step("16. The buyer pays on Stripe Checkout's hosted page (the simulator's)")
        number = self.buy_a_mug(shopper, run)
        shopper.click("#pay-on-checkout")
        shopper.wait_for_selector("#amount", timeout=30_000)
        self.expect_text(shopper, "body", "stands in for Stripe's hosted Checkout", number)
        self.shot(shopper, "stripe-checkout-page")
        shopper.select_option("select[name=payment_method]", "pm_card_chargeDeclined")
        shopper.click("#pay")
        self.expect_text(shopper, "#error", "Your card was declined")
        shopper.select_option("select[name=payment_method]", "pm_card_visa")
        shopper.click("#pay")
        self.ready(shopper, "/orders")
        self.flash(shopper, "Paid on Stripe Checkout")
        self.until(shopper, "the order paid on Checkout", self.shows(shopper, f'#orders tr[data-order="{number}"]', "paid"))
        self.shot(shopper, "buyer-orders-after-checkout")

        self.step("17. The buyer tops up store credit with the saved card")
        self.goto(shopper, "/wallet")
        shopper.fill("#top-up input[name=amount]", "20.00")
        chosen = shopper.locator("#top-up select option:checked").inner_text()
        if "Saved: mastercard •••• 4444" not in chosen:
            raise Failure(f"the default saved card should be preselected for a top-up, not {chosen!r}")
        shopper.click("#top-up button")
        self.flash(shopper, "Top-up of $20.00 paid")
        self.until(shopper, "the top-up credited", self.shows(shopper, '#wallet-balances tr[data-currency="usd"]', "$25.00"))
        self.expect_text(shopper, "#top-ups", "$20.00", "succeeded")
        self.expect_text(shopper, "#wallet-history", "top-up", "+$20.00")
        self.shot(shopper, "buyer-wallet-topped-up")

        self.step("18. The admin turns top-ups off; the buyer is no longer offered them; back on")
        self.goto(boss, "/admin/flags")
        row = boss.locator('#flags tr[data-flag="wallet.enabled"]')
        row.locator("input[name=reason]").fill("card processor maintenance")
        row.locator("button").click()
        self.flash(boss, "wallet.enabled is now off")
        self.expect_text(boss, '#flags tr[data-flag="wallet.enabled"]', "off", "card processor maintenance")
        self.shot(boss, "admin-flags")
        self.goto(shopper, "/wallet")
        self.expect_text(shopper, "#top-ups-off", "turned off")
        if shopper.locator("#top-up").count():
            raise Failure("the top-up form is offered while wallet.enabled is off")
        row = boss.locator('#flags tr[data-flag="wallet.enabled"]')
        row.locator("input[name=reason]").fill("maintenance over")
        row.locator("button").click()
        self.flash(boss, "wallet.enabled is now on")

        self.step("19. The buyer spends store credit first: it covers $25.00 of a $25.99 mug, the card the rest")
        number = self.buy_a_mug(shopper, run)
        self.expect_text(shopper, "#wallet-choice", "Use store credit first", "$25.00 available")
        shopper.check("#use-wallet")
        shopper.click("#pay")
        shopper.wait_for_selector("#payment-result:has-text('submitted')", timeout=30_000)
        self.expect_text(shopper, "#payment-result", "$0.99 by card", "$25.00 from store credit")
        self.shot(shopper, "buyer-paid-with-store-credit")
        self.goto(shopper, "/orders")
        self.until(shopper, "the order paid with store credit and a card", self.shows(shopper, f'#orders tr[data-order="{number}"]', "paid"))
        self.goto(shopper, "/wallet")
        self.expect_text(shopper, '#wallet-balances tr[data-currency="usd"]', "$0.00")
        self.expect_text(shopper, "#wallet-history", "store credit held for payment", "-$25.00")
        if self.errors:
            raise Failure(f"JavaScript errors on the pages: {self.errors}")

    def pay_in_the_payment_element(self, buyer: str, run: str) -> None:
        self.step("12. With a publishable key, the buyer pays in Stripe's Payment Element and saves a card there (Stripe.js stood in for)")
        console = self.element_console
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        self.pages.append(page)
        page.on("pageerror", lambda e: self.errors.append(f"{buyer}: {e}"))
        page.route("https://js.stripe.com/v3/**", lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=FAKE_STRIPE_JS))
        page.goto(console.url + "/sign-in")
        self.ready(page)
        page.fill("#dev-sign-in input[name=sub]", buyer)
        page.check("#dev-sign-in input[name=role-buyer]")
        page.click("#dev-sign-in button[type=submit]")
        self.ready(page, "/")
        page.goto(console.url + "/shop")
        self.ready(page)
        row = page.locator('#listings tr[data-listing="Brass desk lamp"]').filter(has_text=run)
        row.locator("button:has-text('Add to cart')").click()
        self.flash(page, "Added 1 × “Brass desk lamp”")
        page.goto(console.url + "/cart")
        self.ready(page)
        for field, value in (("name", "Bo Buyer"), ("line1", "2 Main St"), ("city", "Springfield"), ("postalCode", "12345")):
            page.fill(f"#checkout input[name={field}]", value)
        page.click("#checkout button[type=submit]")
        self.flash(page, "Checkout created: 1 order(s), $42.00")
        self.expect_text(page, "#payment-element", "Payment Element test double")
        if page.locator("#test-card").count():
            raise Failure("with a publishable key the test-card picker must not be offered")
        calls = page.evaluate("window.__stripe.calls")
        secret = next((c[1] for c in calls if c[0] == "elements"), "")
        if calls[0] != ["Stripe", "pk_test_consoletest"] or not re.fullmatch(r"pi_\w+_secret_\w+", secret or "") \
                or ["create", "payment"] not in calls or ["mount", "payment-element"] not in calls:
            raise Failure(f"Stripe.js was not driven as documented: {calls}")
        self.shot(page, "buyer-payment-element")
        page.click("#pay")
        self.flash(page, "Your card was declined", kind="error")
        if page.locator("#payment-element").count() != 1:
            raise Failure("after a decline the buyer must be able to pay again")
        page.click("#pay")
        self.expect_text(page, "#payment-result", "submitted (processing)")
        confirm = [c for c in page.evaluate("window.__stripe.calls") if c[0] == "confirmPayment"]
        if confirm[-1] != ["confirmPayment", "if_required", console.url + "/orders", True]:
            raise Failure(f"confirmPayment was called wrongly: {confirm}")
        print(f"    Stripe.js: {secret.split('_secret_')[0]} confirmed in the element; the decline was shown and a retry offered")
        page.goto(console.url + "/orders?payment_intent=pi_x&redirect_status=failed")
        self.ready(page)
        self.flash(page, "The payment did not go through", kind="error")
        if "redirect_status" in page.url:
            raise Failure("the redirect's parameters should be dropped from the address bar")
        # Saving a card: the SetupIntent's client secret goes to Stripe.js, which confirms it.
        page.goto(console.url + "/cards")
        self.ready(page)
        if page.locator("#save-card select").count():
            raise Failure("with a publishable key the test-card picker must not be offered for saving a card")
        page.click("#add-card")
        self.expect_text(page, "#setup-element", "Payment Element test double")
        page.click("#confirm-card")
        self.expect_text(page, "#setup-result", "Card saved (succeeded)")
        calls = page.evaluate("window.__stripe.calls")
        secrets = [c[1] for c in calls if c[0] == "elements"]
        if not re.fullmatch(r"seti_\w+_secret_\w+", secrets[-1] or "") \
                or ["confirmSetup", "if_required", console.url + "/cards", True] not in calls:
            raise Failure(f"Stripe.js was not driven as documented to save a card: {calls}")
        print(f"    Stripe.js: {secrets[-1].split('_secret_')[0]} confirmed in the element to save a card")

    def buy_a_mug(self, page: Page, run: str) -> str:
        """One mug in the cart, checked out: the payment section is shown; returns the order's number."""
        self.goto(page, "/shop")
        row = page.locator('#listings tr[data-listing="Stoneware mug"]').filter(has_text=run)
        row.locator("button:has-text('Add to cart')").click()
        self.flash(page, "Added 1 × “Stoneware mug”")
        self.goto(page, "/cart")
        for field, value in (("name", "Ada Buyer"), ("line1", "1 Main St"), ("city", "Springfield"), ("postalCode", "12345")):
            page.fill(f"#checkout input[name={field}]", value)
        page.click("#checkout button[type=submit]")
        self.flash(page, "Checkout created: 1 order(s), $25.99")
        return page.locator("#payment a").first.inner_text().strip()

    def failed(self) -> None:
        """What each browser showed when the journey failed: a screenshot, the flash and JavaScript errors."""
        for n, page in enumerate(self.pages):
            try:
                page.screenshot(path=str(self.out / f"failed-{n}.png"), full_page=True)
                flash = page.locator("#flash").inner_text(timeout=1_000)
                print(f"    browser {n} at {page.url}: flash {flash!r}", file=sys.stderr)
            except PlaywrightError:
                pass
        for error in self.errors:
            print(f"    JavaScript error: {error}", file=sys.stderr)

    def receipt_link(self, recipient: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(self.maildir.glob("*.json")):
                try:
                    mail = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                if recipient in mail.get("rcptTos", []) and mail.get("subject", "").startswith("Receipt "):
                    text = " ".join(str(p.get("content", "")) for p in mail.get("parts", []))
                    found = re.search(r"https?://[^\s\"<>]+/api/v1/receipts/[0-9a-f-]{36}/pdf", text)
                    if found:
                        return found.group(0)
            time.sleep(0.5)
        raise Failure(f"no receipt email for {recipient}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / ".dev" / "console-test"),
                        help="screenshots and the receipt PDF (default .dev/console-test)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    started = time.monotonic()
    env = Env()
    console = Console(env, free_port())
    element_console = Console(env, free_port(), name="WebConsole-element", extra={"STRIPE_PUBLISHABLE_KEY": "pk_test_consoletest"})
    services = make_services(env)
    # Links in emails (receipts, orders) point at this run's console.
    services["NotificationService"].environ["NOTIFY_LINK_BASE_URL"] = console.url
    try:
        for s in services.values():
            s.start()
        console.wait_live()
        element_console.wait_live()
        for s in services.values():
            if s.wait_ready(180) is None:
                raise Failure(f"{s.name} did not become ready (see {s.log_path})")
        print(f"console on {console.url}; services ready after {time.monotonic() - started:.0f}s; screenshots in {out}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            journey = Journey(browser, console, out, env.dir / "smtp" / "mail", element_console)
            try:
                journey.play()
            except (Failure, PlaywrightError):
                journey.failed()
                raise
            finally:
                browser.close()
    except (Failure, PlaywrightError) as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        print(f"screenshots so far in {out}", file=sys.stderr)
        return 1
    finally:
        console.stop()
        element_console.stop()
        for s in services.values():
            s.stop_term(grace=10)
    print(f"\nconsole test passed in {time.monotonic() - started:.0f}s; screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

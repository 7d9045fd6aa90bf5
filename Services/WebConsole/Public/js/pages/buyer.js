// Buyer pages: shop, cart across sellers, checkout and payment (test cards with the
// simulator), orders, receipts (view and PDF).
import { api, apiAll, apiBlob, apiRetrying, consoleConfig, newKey, session } from "../api.js";
import { paymentElementSection, setupElementSection } from "./payment-element.js";
import { h, link, status, table, facts, values } from "../dom.js";
import { money, when, shortId } from "../format.js";
import { act, flash, navigate, route } from "../app.js";

const CART = "escrowmarket.cart";
const PENDING = "escrowmarket.checkout";

function cart() {
  try {
    return JSON.parse(localStorage.getItem(`${CART}.${session().sub}`) || "[]");
  } catch {
    return [];
  }
}

function saveCart(items) {
  localStorage.setItem(`${CART}.${session().sub}`, JSON.stringify(items));
}

// Test payment methods of Stripe's test mode (the simulator knows the same ones).
export const TEST_CARDS = [
  ["pm_card_visa", "Visa 4242 4242 4242 4242 (succeeds)"],
  ["pm_card_mastercard", "Mastercard 5555 5555 5555 4444 (succeeds)"],
  ["pm_card_chargeDeclined", "Visa 4000 0000 0000 0002 (declined)"],
  ["pm_card_visa_chargeDeclinedInsufficientFunds", "Visa 4000 0000 0000 9995 (insufficient funds)"],
];

export async function shop(main) {
  const me = session();
  const listings = (await apiAll("orders", "listings", {}, 200)).filter((l) => l.active && l.sellerId !== me.sub);
  main.append(h("h1", {}, "Shop"), h("p", {}, link("/cart", `Cart (${cart().reduce((n, i) => n + i.quantity, 0)} items)`, { id: "cart-link" })));
  main.append(table(["Item", "Seller", "Price", "In stock", ""], listings.map((l) => {
    const available = l.stock;
    const qty = h("input", { type: "number", min: 1, max: available, value: 1, size: 3, "aria-label": "Quantity" });
    const add = h("button", { disabled: available < 1 }, "Add to cart");
    add.addEventListener("click", () => {
      const items = cart();
      const quantity = Number(qty.value);
      if (!(quantity >= 1 && quantity <= available)) return flash(`Pick 1 to ${available}.`);
      const existing = items.find((i) => i.listingId === l.id);
      if (existing) existing.quantity += quantity;
      else items.push({ listingId: l.id, title: l.title, sellerId: l.sellerId, priceAmount: l.priceAmount, currency: l.currency, quantity });
      saveCart(items);
      route().then(() => flash(`Added ${quantity} × “${l.title}” to the cart.`, "info"));
    });
    return h("tr", { dataset: { listing: l.title } },
      h("td", {}, h("strong", {}, l.title), h("div", { class: "muted" }, l.description || "")), h("td", {}, l.sellerId),
      h("td", { class: "num" }, money(l.priceAmount, l.currency)), h("td", { class: "num" }, available),
      h("td", {}, available > 0 ? h("div", { class: "inline" }, qty, add) : "sold out"));
  }), { id: "listings" }));
}

export { cartPage as cart };

async function cartPage(main) {
  main.append(h("h1", {}, "Cart"));
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  if (pending && pending.buyer === session().sub) main.append(await paymentSection(pending));
  const items = cart();
  if (!items.length) {
    main.append(h("p", { id: "cart-empty" }, "Your cart is empty. ", link("/shop", "Shop")));
    return;
  }
  const currencies = [...new Set(items.map((i) => i.currency))];
  const sellers = [...new Set(items.map((i) => i.sellerId))];
  main.append(table(["Item", "Seller", "Qty", "Price", "Line total", ""], items.map((i, index) =>
    h("tr", {}, h("td", {}, i.title), h("td", {}, i.sellerId), h("td", { class: "num" }, i.quantity),
      h("td", { class: "num" }, money(i.priceAmount, i.currency)), h("td", { class: "num" }, money(i.priceAmount * i.quantity, i.currency)),
      h("td", {}, h("button", { class: "secondary", onclick: () => { const all = cart(); all.splice(index, 1); saveCart(all); route(); } }, "Remove")))),
    { id: "cart" }));
  if (currencies.length > 1) {
    main.append(h("p", { class: "status bad" }, "A checkout must be in one currency: remove the items in other currencies."));
    return;
  }
  const total = items.reduce((sum, i) => sum + i.priceAmount * i.quantity, 0);
  main.append(h("p", { id: "cart-total" }, `Total ${money(total, currencies[0])} from ${sellers.length} seller${sellers.length > 1 ? "s" : ""} (one order each, one payment). Prices are confirmed at checkout.`));
  const form = h("form", { id: "checkout", class: "card" }, h("h2", {}, "Shipping address"),
    h("div", { class: "inline" },
      h("label", {}, "Name", h("input", { name: "name", required: true })),
      h("label", {}, "Street", h("input", { name: "line1", required: true })),
      h("label", {}, "City", h("input", { name: "city", required: true })),
      h("label", {}, "Postal code", h("input", { name: "postalCode", required: true, size: 8 })),
      h("label", {}, "Country", h("input", { name: "country", required: true, value: "US", size: 3 }))),
    h("button", { type: "submit" }, "Check out"));
  const key = newKey();  // the same key for retries of this checkout
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(form.querySelector("button"), async () => {
      const checkout = await api("orders", "checkouts", {
        method: "POST", key,
        body: { items: items.map((i) => ({ listingId: i.listingId, quantity: i.quantity })), shippingAddress: values(form) },
      });
      sessionStorage.setItem(PENDING, JSON.stringify({ buyer: session().sub, checkoutId: checkout.checkoutId, totalAmount: checkout.totalAmount, currency: checkout.currency, orders: checkout.orders.map((o) => ({ id: o.id, orderNumber: o.orderNumber, sellerId: o.sellerId, totalAmount: o.totalAmount })) }));
      saveCart([]);
      await route();
      flash(`Checkout created: ${checkout.orders.length} order(s), ${money(checkout.totalAmount, checkout.currency)}. Pay below.`, "info");
    });
  });
  main.append(form);
}

async function paymentSection(pending) {
  const section = h("section", { class: "card", id: "payment" }, h("h2", {}, `Pay ${money(pending.totalAmount, pending.currency)}`),
    table(["Order", "Seller", "Amount"], pending.orders.map((o) => h("tr", {}, h("td", {}, link(`/orders/${o.id}`, o.orderNumber)), h("td", {}, o.sellerId), h("td", { class: "num" }, money(o.totalAmount, pending.currency))))));
  const { stripePublishableKey } = await consoleConfig();
  if (stripePublishableKey) {
    await paymentElementSection(section, pending, stripePublishableKey, () => sessionStorage.removeItem(PENDING));
    return section;
  }
  // Saved cards first (the default one selected), then Stripe's test cards.
  const [{ items: saved }, { flags }] = await Promise.all([api("payments", "payment-methods"), api("payments", "flags")]);
  // Store credit first, when there is some: the card pays the rest (nothing if it covers all).
  let credit = 0;
  if (flags["wallet.enabled"]) {
    const wallet = await api("escrow", "wallet", { query: { limit: 1 } });
    credit = (wallet.balances.find((b) => b.currency === pending.currency) || { balance: 0 }).balance;
  }
  const useWallet = h("input", { type: "checkbox", id: "use-wallet", checked: flags["wallet.spendFirst"] === true });
  const select = h("select", { name: "paymentMethod", id: "test-card" },
    saved.map((c) => h("option", { value: c.id, selected: c.default }, `Saved: ${cardLabel(c)}`)),
    TEST_CARDS.map(([value, text]) => h("option", { value }, text)));
  const pay = h("button", { id: "pay" }, "Pay");
  const hosted = h("button", { id: "pay-on-checkout", class: "secondary" }, "Pay on Stripe Checkout");
  hosted.addEventListener("click", () => act(hosted, async () => {
    // Opens the checkout's session or returns the open one again: safe to retry like create-intent.
    const session = await apiRetrying("payments", "payments/checkout-session", {
      method: "POST", body: { checkoutId: pending.checkoutId, successUrl: `${location.origin}/orders?checkout=paid`, cancelUrl: `${location.origin}/cart` },
    });
    location.assign(session.url);
  }));
  const result = h("p", { id: "payment-result" });
  pay.addEventListener("click", () => act(pay, async () => {
    // create-intent waits for the payment the checkout's event creates, and returns the same intent again
    // (so a 503 asking to retry, while that event is queued, is retried).
    const body = { checkoutId: pending.checkoutId };
    if (credit > 0) body.useWallet = useWallet.checked;
    const intent = await apiRetrying("payments", "payments/create-intent", { method: "POST", body });
    const fromWallet = intent.walletAmount > 0 ? `${money(intent.walletAmount, intent.currency)} from store credit` : "";
    if (intent.cardAmount === 0) {
      sessionStorage.removeItem(PENDING);
      result.replaceChildren(`Paid with ${fromWallet}. `, link("/orders", "See your orders"));
    } else {
      const confirmed = await api("payments", "payments/confirm", { method: "POST", body: { paymentId: intent.paymentId, paymentMethod: select.value } });
      sessionStorage.removeItem(PENDING);
      result.replaceChildren(
        `Payment ${shortId(confirmed.paymentId)} submitted (${confirmed.intentStatus}): ${money(intent.cardAmount, intent.currency)} by card${fromWallet ? `, ${fromWallet}` : ""}. The orders become paid when Stripe confirms it. `,
        link("/orders", "See your orders"));
    }
    choices.remove();
    walletChoice.remove();
  }));
  const choices = h("div", { class: "inline" }, h("label", {}, "Card", select), pay, flags["checkoutSessions.enabled"] ? hosted : "");
  const walletChoice = credit > 0
    ? h("label", { id: "wallet-choice" }, useWallet, ` Use store credit first (${money(credit, pending.currency)} available)`)
    : h("span", {});
  section.append(h("p", { class: "muted" }, "Simulated mode: pick a saved card or a Stripe test card, or pay on Stripe's hosted Checkout page."),
    walletChoice, choices, result);
  return section;
}

export async function orders(main) {
  // Back from a redirect-based payment method (3-D Secure, bank redirects): Stripe says how it went.
  const params = new URLSearchParams(location.search);
  const redirect = params.get("redirect_status");
  if (params.get("checkout") === "paid") {
    // Back from Stripe Checkout's success_url: the payment settles by webhook.
    sessionStorage.removeItem(PENDING);
    flash("Paid on Stripe Checkout: the orders become paid when Stripe confirms it.", "info");
    history.replaceState({}, "", "/orders");
  } else if (redirect) {
    if (redirect === "failed") flash("The payment did not go through: pay again from the cart.");
    else {
      sessionStorage.removeItem(PENDING);
      flash(`Payment ${redirect}: the orders become paid when Stripe confirms it.`, "info");
    }
    history.replaceState({}, "", "/orders");
  }
  const list = await apiAll("orders", "orders", { as: "buyer" }, 100);
  main.append(h("h1", {}, "My orders"), h("button", { class: "secondary", id: "refresh", onclick: () => route() }, "Refresh"));
  main.append(table(["Order", "Seller", "Items", "Total", "Status", "Tracking", "Placed"], list.map((o) =>
    h("tr", { dataset: { order: o.orderNumber, seller: o.sellerId } },
      h("td", {}, link(`/orders/${o.id}`, o.orderNumber)), h("td", {}, o.sellerId),
      h("td", {}, o.items.map((i) => `${i.quantity} × ${i.title}`).join(", ")),
      h("td", { class: "num" }, money(o.totalAmount, o.currency)), h("td", {}, status(o.status)),
      h("td", {}, o.trackingNumber ? `${o.carrier} ${o.trackingNumber}` : "–"), h("td", {}, when(o.createdAt)))),
    { id: "orders" }));
  main.append(h("p", { class: "muted" }, "Receipts are emailed after payment. ", link("/receipts", "All your receipts")));
}

export function cardLabel(c) {
  return `${c.brand} •••• ${c.last4}, ${String(c.expMonth).padStart(2, "0")}/${c.expYear}${c.default ? " (default)" : ""}`;
}

export async function cards(main) {
  const { items } = await api("payments", "payment-methods");
  main.append(h("h1", {}, "Saved cards"), h("p", { class: "muted" }, "Stripe keeps the cards; this console and our servers never see their numbers."));
  main.append(table(["Card", "Expires", "", ""], items.map((c) => {
    const makeDefault = h("button", { class: "secondary", disabled: c.default }, c.default ? "Default" : "Make default");
    makeDefault.addEventListener("click", () => act(makeDefault, async () => {
      await api("payments", `payment-methods/${c.id}/default`, { method: "POST", body: {} });
      await route(); flash(`${c.brand} •••• ${c.last4} is your default card.`, "info");
    }));
    const remove = h("button", { class: "secondary" }, "Remove");
    remove.addEventListener("click", () => act(remove, async () => {
      await api("payments", `payment-methods/${c.id}`, { method: "DELETE" });
      await route(); flash(`${c.brand} •••• ${c.last4} removed.`, "info");
    }));
    return h("tr", { dataset: { last4: c.last4 } }, h("td", {}, `${c.brand} •••• ${c.last4}`), h("td", {}, `${String(c.expMonth).padStart(2, "0")}/${c.expYear}`), h("td", {}, makeDefault), h("td", {}, remove));
  }), { id: "saved-cards" }));
  const { stripePublishableKey } = await consoleConfig();
  if (stripePublishableKey) {
    const section = h("section", { class: "card", id: "save-card-element" }, h("h2", {}, "Save a card"));
    main.append(section);
    await setupElementSection(section, stripePublishableKey, () => flash("Card saved with Stripe.", "info"));
    return;
  }
  const form = h("form", { class: "inline card", id: "save-card" },
    h("label", {}, "Test card", h("select", { name: "paymentMethod" }, TEST_CARDS.map(([value, text]) => h("option", { value }, text)))),
    h("button", { type: "submit" }, "Save card"));
  form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
    const setup = await api("payments", "payment-methods", { method: "POST", body: values(form) });
    await route(); flash(`Saved ${setup.paymentMethod ? cardLabel(setup.paymentMethod) : "the card"}.`, "info");
  }); });
  main.append(h("h2", {}, "Save a card"), h("p", { class: "muted" }, "Simulated mode: pick a Stripe test card."), form);
}

export async function receipts(main) {
  const list = await apiAll("notifications", "receipts", {}, 200);
  main.append(h("h1", {}, "Receipts"), h("button", { class: "secondary", id: "refresh", onclick: () => route() }, "Refresh"));
  if (!list.length) {
    main.append(h("p", { id: "no-receipts" }, "No receipts yet: one is issued for every successful payment."));
    return;
  }
  main.append(table(["Receipt", "Orders", "Total", "Refunded", "Net", "Issued", ""], list.map((r) =>
    h("tr", { dataset: { receipt: r.receiptNumber } },
      h("td", {}, link(`/receipts/${r.id}`, r.receiptNumber)), h("td", { class: "num" }, r.orderCount),
      h("td", { class: "num" }, money(r.totalAmount, r.currency)), h("td", { class: "num" }, money(r.refundedAmount, r.currency)),
      h("td", { class: "num" }, money(r.netAmount, r.currency)), h("td", {}, when(r.issuedAt)),
      h("td", {}, r.emailed ? "emailed" : h("span", { class: "muted" }, "email waits for the order details")))),
    { id: "receipts" }));
}

export async function receipt(main, id) {
  const r = await api("notifications", `receipts/${id}`);
  main.append(h("h1", {}, `Receipt ${r.receiptNumber}`));
  const download = h("button", { id: "download-pdf" }, "Download PDF");
  download.addEventListener("click", () => act(download, async () => {
    const blob = await apiBlob("notifications", `receipts/${id}/pdf`);
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `${r.receiptNumber}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }));
  main.append(h("section", { class: "card", id: "receipt" },
    facts([["Issued", when(r.issuedAt)], ["Payment", shortId(r.paymentId)], ["Seller of record", `${r.platform.name}, ${r.platform.address}`]]),
    table(["Order", "Item", "Qty", "Unit price", "Line total"], r.lines.map((l) => h("tr", {},
      h("td", {}, l.orderNumber || shortId(l.orderId)), h("td", {}, l.title), h("td", { class: "num" }, l.quantity),
      h("td", { class: "num" }, money(l.unitPriceAmount, r.currency)), h("td", { class: "num" }, money(l.lineTotalAmount, r.currency))))),
    facts([
      ["Total", h("strong", { id: "receipt-total" }, money(r.totalAmount, r.currency))],
      ["Refunded", money(r.refundedAmount, r.currency)],
      ["Net", h("span", { id: "receipt-net" }, money(r.netAmount, r.currency))],
    ]),
    r.refunds.length ? table(["Refund", "Order", "Amount", "When"], r.refunds.map((f) => h("tr", {}, h("td", {}, shortId(f.refundId)), h("td", {}, (r.orders.find((o) => o.orderId === f.orderId) || {}).orderNumber || shortId(f.orderId)), h("td", { class: "num" }, money(f.amount, r.currency)), h("td", {}, when(f.refundedAt))))) : null,
    h("p", {}, download)));
}

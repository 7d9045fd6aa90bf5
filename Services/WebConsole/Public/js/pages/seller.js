// Seller pages: payments setup (Stripe Connect onboarding), listings, sales, balance and payouts.
import { api, apiAll, newKey, session } from "../api.js";
import { h, link, status, table, facts, values } from "../dom.js";
import { money, toMinor, toMajorText, when, shortId } from "../format.js";
import { act, flash, route } from "../app.js";

export const CURRENCIES = ["usd", "eur", "gbp", "jpy", "chf", "kwd"];

function refreshButton() {
  return h("button", { class: "secondary", id: "refresh", onclick: () => route() }, "Refresh");
}

export async function onboarding(main) {
  const state = await api("escrow", "sellers/me/stripe-status");
  const ready = state.payoutsEnabled && state.chargesEnabled;
  main.append(h("h1", {}, "Payments setup"), refreshButton());
  main.append(h("section", { class: "card", id: "kyc" },
    h("h2", {}, "Verification (KYC)"),
    facts([
      ["Connected account", state.accountId || "none yet"],
      ["Charges", status(state.chargesEnabled ? "enabled" : "disabled")],
      ["Payouts", status(state.payoutsEnabled ? "enabled" : "disabled")],
      ["Details submitted", state.detailsSubmitted ? "yes" : "no"],
      ["Still due", state.currentlyDue.length ? h("ul", { id: "currently-due" }, state.currentlyDue.map((d) => h("li", {}, d))) : "nothing"],
    ]),
    h("p", { id: "onboarding-summary" }, ready ? "Your account can receive payouts." : state.accountId ? "Onboarding is not finished." : "Set up payments to receive the money from your sales.")));
  if (!ready) {
    const button = h("button", { id: "set-up-payments" }, state.accountId ? "Continue onboarding" : "Set up payments");
    const note = h("p", { class: "muted", id: "onboarding-link" });
    button.addEventListener("click", () => {
      // Opened now, while the click counts as a user gesture (popup blockers), and pointed at the
      // link once it is there. The link is single-use and short-lived: a fresh one each time.
      const opened = window.open("about:blank", "_blank");
      act(button, async () => {
      let link;
      try {
        link = await api("escrow", "sellers/stripe-onboard", { method: "POST" });
      } catch (error) {
        if (opened) opened.close();
        throw error;
      }
      if (opened) opened.location.href = link.onboardingUrl;
      note.replaceChildren(`Onboarding opened in a new window (link valid until ${when(link.expiresAt)}). `,
        h("a", { href: link.onboardingUrl, target: "_blank", rel: "noopener" }, "Open it again"),
        " — this page updates when you are back.");
      if (!opened) flash("Your browser blocked the onboarding window; use the link below.", "info");
      watch(main);
      });
    });
    main.append(h("section", { class: "card" }, button, note));
  }
}

/** Polls the status after the onboarding link was opened and re-renders when it changes. */
function watch(page) {
  let tries = 0;
  const timer = setInterval(async () => {
    if (!page.isConnected || ++tries > 300) return clearInterval(timer);
    try {
      const state = await api("escrow", "sellers/me/stripe-status");
      if (state.payoutsEnabled) {
        clearInterval(timer);
        route();
      }
    } catch {}
  }, 2000);
}

export async function listings(main) {
  const me = session();
  const items = await apiAll("orders", "listings", { sellerId: me.sub });
  const mine = items.filter((l) => l.sellerId === me.sub);
  main.append(h("h1", {}, "Listings"));
  const form = h("form", { class: "inline", id: "new-listing" },
    h("label", {}, "Title", h("input", { name: "title", required: true })),
    h("label", {}, "Description", h("input", { name: "description" })),
    h("label", {}, "Price", h("input", { name: "price", required: true, inputmode: "decimal", size: 8 })),
    h("label", {}, "Currency", h("select", { name: "currency" }, CURRENCIES.map((c) => h("option", { value: c }, c.toUpperCase())))),
    h("label", {}, "Stock", h("input", { name: "stock", type: "number", min: 0, value: 1, required: true, size: 5 })),
    h("button", { type: "submit" }, "Create listing"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = values(form);
    act(form.querySelector("button"), async () => {
      const price = toMinor(v.price, v.currency);
      if (price === null || price <= 0) throw new Error(`Enter a price like ${toMajorText(1250, v.currency)} for ${v.currency.toUpperCase()}.`);
      await api("orders", "listings", { method: "POST", body: { title: v.title, description: v.description, priceAmount: price, currency: v.currency, stock: Number(v.stock) } });
      await route();
      flash(`Listed “${v.title}”.`, "info");
    });
  });
  main.append(h("section", { class: "card" }, h("h2", {}, "New listing"), form));
  main.append(h("h2", {}, "Your listings"), table(
    ["Title", "Price", "Stock", "Reserved", "Sold", "State", "Change"],
    mine.map((l) => {
      const price = h("input", { name: "price", value: toMajorText(l.priceAmount, l.currency), size: 8, "aria-label": "Price" });
      const stock = h("input", { name: "stock", type: "number", min: 0, value: l.stock, size: 5, "aria-label": "Stock" });
      const save = h("button", { class: "secondary" }, "Save");
      save.addEventListener("click", () => act(save, async () => {
        const amount = toMinor(price.value, l.currency);
        if (amount === null || amount <= 0) throw new Error("Enter a valid price.");
        await api("orders", `listings/${l.id}`, { method: "PATCH", body: { priceAmount: amount, stock: Number(stock.value) } });
        await route();
        flash(`Saved “${l.title}”.`, "info");
      }));
      const toggle = h("button", { class: "secondary" }, l.active ? "Deactivate" : "Activate");
      toggle.addEventListener("click", () => act(toggle, async () => {
        await api("orders", `listings/${l.id}`, { method: "PATCH", body: { active: !l.active } });
        await route();
      }));
      return h("tr", { dataset: { listing: l.title } },
        h("td", {}, l.title), h("td", { class: "num" }, money(l.priceAmount, l.currency)),
        h("td", { class: "num" }, l.stock), h("td", { class: "num" }, l.reserved), h("td", { class: "num" }, l.sold),
        h("td", {}, status(l.active ? "active" : "inactive")),
        h("td", {}, h("div", { class: "inline" }, price, stock, save, toggle)));
    }), { id: "listings" }));
}

export async function sales(main) {
  const orders = await apiAll("orders", "orders", { as: "seller" }, 100);
  main.append(h("h1", {}, "Sales"), refreshButton());
  // The per-order breakdown comes from the escrow of each paid order.
  const escrows = await Promise.all(orders.map((o) => o.status === "pending_payment" || o.status === "cancelled"
    ? null : api("escrow", `escrows/${o.id}`).catch(() => null)));
  main.append(table(
    ["Order", "Buyer", "Status", "Gross", "Fee", "Net", "Escrow", "Released", "Created"],
    orders.map((o, i) => {
      const e = escrows[i];
      return h("tr", { dataset: { order: o.orderNumber } },
        h("td", {}, link(`/orders/${o.id}`, o.orderNumber)), h("td", {}, o.buyerId), h("td", {}, status(o.status)),
        h("td", { class: "num" }, money(e ? e.grossAmount : o.totalAmount, o.currency)),
        h("td", { class: "num" }, e ? money(e.feeAmount, e.currency) : "–"),
        h("td", { class: "num" }, e ? money(e.netAmount, e.currency) : "–"),
        h("td", {}, e ? status(e.status) : "–"),
        h("td", {}, e && e.releasedAt ? when(e.releasedAt) : "–"),
        h("td", {}, when(o.createdAt)));
    }), { id: "sales" }));
}

export async function payouts(main) {
  const [{ balances }, history, state] = await Promise.all([
    api("escrow", "sellers/me/balance"), apiAll("escrow", "payouts", {}, 100), api("escrow", "sellers/me/stripe-status"),
  ]);
  main.append(h("h1", {}, "Balance & payouts"), refreshButton());
  main.append(h("h2", {}, "Balance"), table(
    ["Currency", "Pending (in escrow)", "Available", "In transit", "Paid out", "Request payout"],
    balances.map((b) => {
      let action = h("span", { class: "muted" }, b.available > 0 ? "payouts not enabled yet" : "nothing available");
      if (b.available > 0 && state.payoutsEnabled) {
        const form = h("form", { class: "inline payout-form", dataset: { currency: b.currency } },
          h("input", { name: "amount", value: toMajorText(b.available, b.currency), size: 8, "aria-label": "Payout amount" }),
          h("button", { type: "submit" }, "Request payout"));
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          act(form.querySelector("button"), async () => {
            const amount = toMinor(values(form).amount, b.currency);
            if (amount === null || amount <= 0 || amount > b.available) throw new Error(`Enter an amount up to ${money(b.available, b.currency)}.`);
            // One key per request; a retry of the same request would reuse it.
            await api("escrow", "payouts", { method: "POST", body: { amount, currency: b.currency }, key: newKey() });
            await route();
            flash(`Payout of ${money(amount, b.currency)} requested.`, "info");
          });
        });
        action = form;
      }
      return h("tr", { dataset: { currency: b.currency } },
        h("td", {}, b.currency.toUpperCase()), h("td", { class: "num" }, money(b.pending, b.currency)),
        h("td", { class: "num" }, money(b.available, b.currency)), h("td", { class: "num" }, money(b.inTransit, b.currency)),
        h("td", { class: "num" }, money(b.paidOut, b.currency)), h("td", {}, action));
    }), { id: "balances" }));
  main.append(h("h2", {}, "Payout schedule"), await scheduleSection());
  main.append(h("h2", {}, "Payout history"), table(
    ["Payout", "Amount", "Status", "Requested", "Updated", "Failure"],
    history.map((p) => h("tr", {},
      h("td", {}, shortId(p.id)), h("td", { class: "num" }, money(p.amount, p.currency)), h("td", {}, status(p.status)),
      h("td", {}, when(p.createdAt)), h("td", {}, when(p.updatedAt)), h("td", {}, p.failureReason || ""))),
    { id: "payouts" }));
}

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** The automatic payout schedule (Stripe's intervals; runs at 00:00 UTC). */
async function scheduleSection() {
  const schedule = await api("escrow", "sellers/me/payout-schedule");
  const describe = (s) => s.interval === "manual" ? "Manual: you request each payout."
    : `${s.interval === "daily" ? "Every day" : s.interval === "weekly" ? `Every ${s.weeklyAnchor}` : `Monthly on day ${s.monthlyAnchor}`}, paying each currency's available balance of at least ${s.minimumAmount} minor units. Next run: ${when(s.nextRunAt)} (${s.timeZone} midnight).`;
  const interval = h("select", { name: "interval" }, ["manual", "daily", "weekly", "monthly"].map((v) => h("option", { value: v, selected: v === schedule.interval }, v)));
  const weekday = h("label", {}, "Weekday", h("select", { name: "weeklyAnchor" }, WEEKDAYS.map((d) => h("option", { value: d, selected: d === schedule.weeklyAnchor }, d))));
  const day = h("label", {}, "Day of month", h("input", { name: "monthlyAnchor", type: "number", min: 1, max: 31, value: schedule.monthlyAnchor || 1, size: 3 }));
  const minimum = h("label", {}, "Minimum (minor units, e.g. cents)", h("input", { name: "minimumAmount", type: "number", min: 0, value: schedule.minimumAmount, size: 8 }));
  const sync = () => { weekday.hidden = interval.value !== "weekly"; day.hidden = interval.value !== "monthly"; minimum.hidden = interval.value === "manual"; };
  interval.addEventListener("change", sync);
  sync();
  const form = h("form", { class: "inline", id: "payout-schedule" }, h("label", {}, "Interval", interval), weekday, day, minimum, h("button", { type: "submit" }, "Save schedule"));
  form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
    const v = values(form);
    const body = { interval: v.interval };
    if (v.interval === "weekly") body.weeklyAnchor = v.weeklyAnchor;
    if (v.interval === "monthly") body.monthlyAnchor = Number(v.monthlyAnchor);
    if (v.interval !== "manual") body.minimumAmount = Number(v.minimumAmount || 0);
    const saved = await api("escrow", "sellers/me/payout-schedule", { method: "PUT", body });
    await route(); flash(`Schedule saved. ${describe(saved)}`, "info");
  }); });
  return h("section", { class: "card" }, h("p", { id: "schedule-summary" }, describe(schedule)), form);
}

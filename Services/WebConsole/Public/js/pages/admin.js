// Admin pages: dispute queue and resolution, flagged escrows, refunds, reconciliation, and the
// operability tools (dead letters of every service, parked Stripe webhooks) with replay.
import { api, apiAll, newKey } from "../api.js";
import { h, link, status, table, facts, values } from "../dom.js";
import { money, toMinor, toMajorText, when, shortId } from "../format.js";
import { act, flash, navigate, route } from "../app.js";
import { disputeSection } from "./order.js";

function refreshButton() {
  return h("button", { class: "secondary", id: "refresh", onclick: () => route() }, "Refresh");
}

export async function disputes(main) {
  const [open, resolved] = await Promise.all([
    apiAll("escrow", "admin/disputes", { status: "open" }, 200), apiAll("escrow", "admin/disputes", { status: "resolved" }, 50),
  ]);
  main.append(h("h1", {}, "Disputes"), refreshButton());
  const row = (d) => h("tr", { dataset: { order: d.orderId } },
    h("td", {}, link(`/admin/disputes/${d.id}`, shortId(d.id))), h("td", {}, link(`/orders/${d.orderId}`, shortId(d.orderId))),
    h("td", {}, d.buyerId), h("td", {}, d.sellerId), h("td", {}, d.reason), h("td", {}, status(d.outcome || d.status)),
    h("td", {}, d.messages ? d.messages.length : ""), h("td", {}, when(d.createdAt)));
  const headers = ["Dispute", "Order", "Buyer", "Seller", "Reason", "State", "Messages", "Opened"];
  main.append(h("h2", {}, `Open (${open.length}), oldest first`), table(headers, open.map(row), { id: "open-disputes" }));
  main.append(h("h2", {}, "Recently resolved"), table(headers, resolved.map(row), { id: "resolved-disputes" }));
}

export async function dispute(main, id) {
  const d = await api("escrow", `disputes/${id}`);
  const [escrow, order] = await Promise.all([api("escrow", `escrows/${d.orderId}`), api("orders", `orders/${d.orderId}`)]);
  main.append(h("h1", {}, `Dispute on order ${order.orderNumber}`), refreshButton());
  main.append(h("section", { class: "card", id: "dispute-escrow" }, facts([
    ["Order", link(`/orders/${order.id}`, `${order.orderNumber} (${order.status})`)],
    ["Buyer / seller", `${d.buyerId} / ${d.sellerId}`],
    ["Escrow", status(escrow.status)],
    ["Gross held", h("span", { id: "held" }, money(escrow.grossAmount - (escrow.refundedAmount || 0) - (escrow.releasedGross || 0), escrow.currency))],
    ["Fee / seller net", `${money(escrow.feeAmount, escrow.currency)} / ${money(escrow.netAmount, escrow.currency)}`],
    escrow.refundedAmount ? ["Refunded", h("span", { id: "refunded" }, money(escrow.refundedAmount, escrow.currency))] : null,
    escrow.releasedNet ? ["Released to seller", h("span", { id: "released" }, money(escrow.releasedNet, escrow.currency))] : null,
  ])));
  main.append(await disputeSection(id, escrow.currency, false));
  if (d.status === "open" && !escrow.chargebackId) {
    const held = escrow.grossAmount - (escrow.refundedAmount || 0) - (escrow.releasedGross || 0);
    const amount = h("label", { id: "split-amount" }, "Refund to buyer (split)", h("input", { name: "refundAmount", placeholder: toMajorText(Math.floor(held / 2), escrow.currency), size: 8 }));
    const outcome = h("select", { name: "outcome" }, [["refund", "Refund everything held"], ["release", "Release to the seller"], ["split", "Split"]].map(([v, t]) => h("option", { value: v }, t)));
    const sync = () => { amount.hidden = outcome.value !== "split"; };
    outcome.addEventListener("change", sync);
    sync();
    const form = h("form", { class: "inline", id: "resolve" }, h("label", {}, "Outcome", outcome), amount,
      h("label", {}, "Note", h("input", { name: "note", size: 30 })), h("button", { type: "submit" }, "Resolve"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      const v = values(form);
      const body = { outcome: v.outcome, note: v.note || undefined };
      if (v.outcome === "split") {
        body.refundAmount = toMinor(v.refundAmount, escrow.currency);
        if (!body.refundAmount) throw new Error(`Enter the buyer's part, between ${money(1, escrow.currency)} and ${money(held - 1, escrow.currency)}.`);
      }
      const result = await api("escrow", `admin/disputes/${id}/resolve`, { method: "POST", body });
      await route();
      flash(`Resolved (${result.outcome}): ${money(result.refundAmount, escrow.currency)} to the buyer, ${money(result.releaseAmount, escrow.currency)} released.`, "info");
    }); });
    main.append(h("section", { class: "card" }, h("h2", {}, "Resolve"), h("p", { class: "muted" }, `Held: ${money(held, escrow.currency)}. A split refunds the buyer's part and releases the rest (the fee shrinks with it).`), form));
  } else if (d.status === "open") {
    main.append(h("p", { class: "status bad" }, "A card chargeback is open on this payment: resolve the dispute after it closes."));
  }
}

export async function escrows(main) {
  const flagged = await apiAll("escrow", "admin/escrows/flagged", {}, 200);
  main.append(h("h1", {}, "Flagged escrows"), refreshButton(), table(
    ["Order", "Buyer", "Seller", "Gross", "Status", "Reason", "Parked", "Flagged"],
    flagged.map((e) => h("tr", {}, h("td", {}, link(`/orders/${e.orderId}`, shortId(e.orderId))), h("td", {}, e.buyerId), h("td", {}, e.sellerId),
      h("td", { class: "num" }, money(e.grossAmount, e.currency)), h("td", {}, status(e.status)), h("td", {}, e.flagReason || ""),
      h("td", {}, e.parkedReason || ""), h("td", {}, when(e.flaggedAt)))), { id: "flagged" }));
}

const VERIFICATION = [["", "Every status"], ["verified", "Verified (charges and payouts on)"], ["restricted", "Restricted (submitted, something due)"], ["pending", "Pending (onboarding not finished)"]];

export async function sellers(main) {
  const wanted = new URLSearchParams(location.search).get("status") || "";
  const list = await apiAll("escrow", "admin/sellers", { status: wanted }, 500);
  const filter = h("select", { id: "seller-status", "aria-label": "Verification status" },
    VERIFICATION.map(([value, text]) => h("option", { value, selected: value === wanted }, text)));
  filter.addEventListener("change", () => navigate(filter.value ? `/admin/sellers?status=${filter.value}` : "/admin/sellers"));
  main.append(h("h1", {}, "Sellers"), h("div", { class: "inline" }, h("label", {}, "Show ", filter), refreshButton()));
  main.append(h("p", { class: "muted" }, "Sellers with a connected account, newest first. Stripe decides verification; a restricted seller's money stays in escrow or in their balance until what is due is provided."));
  main.append(table(["Seller", "Email", "Account", "Verification", "Charges", "Payouts", "Still due", "Onboarding started", "Updated"], list.map((s) =>
    h("tr", { dataset: { seller: s.sellerId } },
      h("td", {}, s.sellerId), h("td", {}, s.email || "–"), h("td", {}, s.accountId), h("td", {}, status(s.status)),
      h("td", {}, s.chargesEnabled ? "enabled" : "off"), h("td", {}, s.payoutsEnabled ? "enabled" : "off"),
      h("td", {}, s.currentlyDue.length ? s.currentlyDue.join(", ") : "nothing"), h("td", {}, when(s.createdAt)), h("td", {}, when(s.updatedAt)))),
    { id: "sellers" }));
  if (!list.length) main.append(h("p", { id: "no-sellers" }, "No seller matches."));
}

// What an admin may set from each status (the state machine; PaymentService also asks Stripe).
const OVERRIDES = {
  requires_payment: ["failed", "cancelled"], processing: ["failed", "cancelled", "succeeded"], failed: ["succeeded"],
};

export async function payments(main) {
  const wanted = new URLSearchParams(location.search).get("status") || "";
  const list = await apiAll("payments", "payments", { as: "admin", status: wanted, sort: "desc" }, 200);
  const filter = h("select", { id: "payment-status", "aria-label": "Status" },
    ["", "requires_payment", "processing", "failed", "cancelled", "succeeded", "partially_refunded", "refunded"].map((v) => h("option", { value: v, selected: v === wanted }, v || "Every status")));
  filter.addEventListener("change", () => navigate(filter.value ? `/admin/payments?status=${filter.value}` : "/admin/payments"));
  main.append(h("h1", {}, "Payments"), h("div", { class: "inline" }, h("label", {}, "Show ", filter), refreshButton()),
    h("p", { class: "muted" }, "A payment stuck without an outcome can be moved along its state machine: PaymentService asks Stripe first, and refuses what Stripe contradicts (succeeded only when Stripe has it succeeded; failed or cancelled only when no money moved)."));
  main.append(table(["Payment", "Buyer", "Amount", "Status", "Reason", "Updated", "Move"], list.map((p) => {
    const targets = OVERRIDES[p.status] || [];
    let form = "";
    if (targets.length) {
      form = h("form", { class: "inline override-form" },
        h("select", { name: "status", "aria-label": "New status" }, targets.map((t) => h("option", { value: t }, t))),
        h("input", { name: "reason", required: true, size: 18, placeholder: "reason (what you checked)", "aria-label": "Reason" }),
        h("button", { type: "submit", class: "secondary" }, "Set"));
      form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
        const v = values(form);
        const result = await api("payments", `admin/payments/${p.id}/status`, { method: "POST", body: v });
        await route(); flash(`Payment ${shortId(p.id)} is now ${result.payment.status}.`, "info");
      }); });
    }
    return h("tr", { dataset: { payment: p.id, buyer: p.buyerId } }, h("td", {}, shortId(p.id)), h("td", {}, p.buyerId),
      h("td", { class: "num" }, money(p.amount, p.currency)), h("td", {}, status(p.status)), h("td", {}, p.failureReason || ""),
      h("td", {}, when(p.updatedAt)), h("td", {}, form));
  }), { id: "payments" }));
}

export async function flags(main) {
  const { flags } = await api("payments", "admin/flags");
  main.append(h("h1", {}, "Feature flags"), h("p", { class: "muted" }, "Each flag routes a flow at once on every instance; a change needs a reason and is recorded."));
  main.append(table(["Flag", "Now", "Default", "Last change", "Change"], flags.map((f) => {
    const form = h("form", { class: "inline flag-form" },
      h("input", { name: "reason", required: true, size: 24, placeholder: "reason", "aria-label": "Reason" }),
      h("button", { type: "submit", class: "secondary" }, f.enabled ? "Turn off" : "Turn on"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      await api("payments", "admin/flags", { method: "PUT", body: { flags: { [f.name]: !f.enabled }, reason: values(form).reason } });
      await route(); flash(`${f.name} is now ${f.enabled ? "off" : "on"}.`, "info");
    }); });
    return h("tr", { dataset: { flag: f.name } }, h("td", {}, h("code", {}, f.name)), h("td", {}, status(f.enabled ? "enabled" : "off")),
      h("td", {}, f.defaultValue ? "on" : "off"), h("td", {}, f.updatedBy ? `${f.updatedBy}, ${when(f.updatedAt)}: ${f.reason}` : "never changed"), h("td", {}, form));
  }), { id: "flags" }));
}

export async function refunds(main) {
  const payments = await apiAll("payments", "payments", { as: "admin" }, 100);
  main.append(h("h1", {}, "Refunds"), refreshButton(),
    h("p", { class: "muted" }, "Refund (part of) an order from its escrow: from held funds, or after release by a transfer reversal plus a refund. Refunds run asynchronously; the payment shows what was refunded."));
  const rows = [];
  for (const p of payments.filter((p) => ["succeeded", "partially_refunded"].includes(p.status) || p.amountRefunded)) {
    for (const o of p.orders || []) {
      const form = h("form", { class: "inline refund-form" },
        h("input", { name: "amount", size: 7, placeholder: toMajorText(o.amount, p.currency), "aria-label": "Amount" }),
        h("input", { name: "reason", size: 14, placeholder: "reason", required: true, "aria-label": "Reason" }),
        h("button", { type: "submit", class: "secondary" }, "Refund"));
      form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
        const v = values(form);
        const amount = toMinor(v.amount, p.currency);
        if (!amount) throw new Error("Enter an amount.");
        await api("escrow", `admin/escrows/${o.orderId}/refund`, { method: "POST", body: { amount, reason: v.reason }, key: newKey() });
        await route(); flash(`Refund of ${money(amount, p.currency)} requested for order ${o.orderNumber}.`, "info");
      }); });
      rows.push(h("tr", {}, h("td", {}, shortId(p.id)), h("td", {}, p.buyerId), h("td", {}, link(`/orders/${o.orderId}`, o.orderNumber)),
        h("td", {}, o.sellerId), h("td", { class: "num" }, money(o.amount, p.currency)), h("td", {}, status(p.status)),
        h("td", { class: "num" }, money(p.amountRefunded || 0, p.currency)), h("td", {}, p.status === "refunded" ? "" : form)));
    }
  }
  main.append(table(["Payment", "Buyer", "Order", "Seller", "Order amount", "Payment", "Payment refunded", "Refund"], rows, { id: "refunds" }));
}

export async function reconciliation(main) {
  main.append(h("h1", {}, "Reconciliation"));
  const run = h("button", { id: "run-reconciliation" }, "Run reconciliation now");
  run.addEventListener("click", () => act(run, async () => {
    const report = await api("escrow", "admin/reconciliation", { method: "POST" });
    await route();
    flash(`Reconciliation checked ${report.checked} items: ${report.discrepancies.length} discrepancies.`, report.discrepancies.length ? "error" : "info");
  }));
  main.append(h("p", {}, run));
  let report = null;
  try {
    report = await api("escrow", "admin/reconciliation");
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  if (!report) {
    main.append(h("p", { class: "muted", id: "no-report" }, "No reconciliation has run yet."));
    return;
  }
  main.append(h("section", { class: "card", id: "report" }, facts([
    ["Latest report", shortId(report.id)], ["Requested by", report.requestedBy || "–"], ["Finished", when(report.finishedAt)],
    ["Checked", h("span", { id: "checked" }, report.checked)],
    ["Discrepancies", h("strong", { id: "discrepancy-count" }, report.discrepancies.length)],
  ])));
  const keys = [...new Set(report.discrepancies.flatMap((d) => Object.keys(d)))];
  if (keys.length) {
    main.append(h("h2", {}, "Discrepancies"), table(keys, report.discrepancies.map((d) => h("tr", {}, keys.map((k) => h("td", {}, typeof d[k] === "object" ? JSON.stringify(d[k]) : d[k] ?? "")))), { id: "discrepancies" }));
  }
}

const SERVICES = [["orders", "OrderService"], ["payments", "PaymentService"], ["escrow", "EscrowService"], ["notifications", "NotificationService"]];

export async function operations(main) {
  main.append(h("h1", {}, "Dead letters & parked webhooks"), refreshButton());
  const letters = await Promise.all(SERVICES.map(([svc]) => api(svc, "admin/dead-letters").then((r) => r.items).catch((e) => e)));
  for (const [index, [svc, name]] of SERVICES.entries()) {
    const items = letters[index];
    main.append(h("h2", {}, `${name}: dead letters`));
    if (items instanceof Error) {
      main.append(h("p", { class: "status bad" }, items.text || items.message));
      continue;
    }
    const replay = async (button, body) => act(button, async () => {
      const r = await api(svc, "admin/dead-letters/replay", { method: "POST", body });
      await route(); flash(`${name}: ${r.replayed} message(s) published again.`, "info");
    });
    main.append(table(["Topic", "Partition", "Offset", "Event", "Error", ""], items.map((d) => {
      const b = h("button", { class: "secondary" }, "Replay");
      b.addEventListener("click", () => replay(b, { topic: d.topic, partition: d.partition, offset: d.offset }));
      return h("tr", {}, h("td", {}, d.topic), h("td", { class: "num" }, d.partition), h("td", { class: "num" }, d.offset),
        h("td", {}, `${d.eventType || "?"} ${shortId(d.eventId)}`), h("td", {}, d.error || ""), h("td", {}, b));
    }), { id: `dead-letters-${svc}` }));
    if (items.length) {
      const all = h("button", {}, "Replay all");
      all.addEventListener("click", () => replay(all, { all: true }));
      main.append(h("p", {}, all));
    }
  }
  main.append(h("h2", {}, "Stripe webhooks"));
  for (const state of ["failed", "waiting"]) {
    const { items } = await api("payments", "admin/stripe-events", { query: { state } });
    main.append(h("h3", {}, state === "failed" ? "Parked after repeated failures" : "Waiting for their payment"), table(
      ["Event", "Type", "Received", "Attempts", "Last error", ""],
      items.map((e) => {
        let action = "";
        if (state === "failed") {
          action = h("button", { class: "secondary" }, "Replay");
          action.addEventListener("click", () => act(action, async () => {
            await api("payments", `admin/stripe-events/${e.id}/replay`, { method: "POST" });
            await route(); flash(`Stripe event ${e.id} is back in line.`, "info");
          }));
        }
        return h("tr", {}, h("td", {}, e.id), h("td", {}, e.type), h("td", {}, when(e.receivedAt)), h("td", { class: "num" }, e.attempts),
          h("td", {}, e.lastError || e.waitingFor || ""), h("td", {}, action));
      }), { id: `stripe-events-${state}` }));
  }
}

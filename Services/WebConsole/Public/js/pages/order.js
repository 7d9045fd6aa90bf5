// One order, for its buyer, its seller or an admin: status history, tracking, the escrow's
// breakdown and the dispute; the moves the API allows this user in this state.
import { api, apiAll, hasRole, session } from "../api.js";
import { h, link, status, table, facts, values } from "../dom.js";
import { money, toMinor, toMajorText, when, shortId } from "../format.js";
import { act, flash, route } from "../app.js";

export const DISPUTE_REASONS = [["not_received", "Not received"], ["not_as_described", "Not as described"], ["damaged", "Damaged"], ["unauthorized", "Unauthorized"], ["other", "Other"]];

export async function render(main, id) {
  const me = session();
  const order = await api("orders", `orders/${id}`);
  const isBuyer = order.buyerId === me.sub && hasRole("buyer");
  const isSeller = order.sellerId === me.sub && hasRole("seller");
  const isAdmin = hasRole("admin");
  const escrow = ["pending_payment", "cancelled"].includes(order.status) && !order.history.some((m) => m.toStatus === "paid")
    ? null : await api("escrow", `escrows/${id}`).catch(() => null);

  main.append(h("h1", {}, `Order ${order.orderNumber} `, status(order.status)),
    h("button", { class: "secondary", id: "refresh", onclick: () => route() }, "Refresh"));
  const a = order.shippingAddress || {};
  main.append(h("section", { class: "card", id: "order-facts" }, facts([
    ["Status", h("span", { id: "order-status" }, order.status)],
    ["Buyer", order.buyerId], ["Seller", order.sellerId],
    ["Total", h("span", { id: "order-total" }, money(order.totalAmount, order.currency))],
    ["Ship to", [a.name, a.line1, a.line2, a.postalCode, a.city, a.country].filter(Boolean).join(", ")],
    ["Shipment", order.trackingNumber ? h("span", { id: "shipment" }, `${order.carrier} ${order.trackingNumber}`) : "not shipped"],
    order.autoConfirmAt ? ["Confirmed automatically", when(order.autoConfirmAt)] : null,
    order.expiresAt && order.status === "pending_payment" ? ["Unpaid order expires", when(order.expiresAt)] : null,
  ]), h("h2", {}, "Items"), table(["Item", "Qty", "Unit price", "Line total"], order.items.map((i) => h("tr", {},
    h("td", {}, i.title), h("td", { class: "num" }, i.quantity), h("td", { class: "num" }, money(i.unitPriceAmount, order.currency)),
    h("td", { class: "num" }, money(i.lineTotalAmount, order.currency)))))));

  if (escrow) {
    main.append(h("section", { class: "card", id: "escrow" }, h("h2", {}, "Money (escrow) ", status(escrow.status)), facts([
      ["Gross", h("span", { id: "escrow-gross" }, money(escrow.grossAmount, escrow.currency))],
      ["Platform fee", h("span", { id: "escrow-fee" }, money(escrow.feeAmount, escrow.currency))],
      ["Seller net", h("span", { id: "escrow-net" }, money(escrow.netAmount, escrow.currency))],
      escrow.refundedAmount ? ["Refunded to buyer", h("span", { id: "escrow-refunded" }, money(escrow.refundedAmount, escrow.currency))] : null,
      escrow.releasedNet ? ["Released to seller", h("span", { id: "escrow-released" }, money(escrow.releasedNet, escrow.currency))] : null,
      ["Release date", escrow.releasedAt ? when(escrow.releasedAt) : escrow.status === "held" && order.autoConfirmAt ? `after delivery (at the latest ${when(order.autoConfirmAt)})` : "not released"],
      escrow.parkedReason ? ["Parked", escrow.parkedReason] : null,
    ])));
  }

  const actions = h("section", { class: "card", id: "actions" }, h("h2", {}, "Actions"));
  let offered = 0;
  if (isSeller && order.status === "paid") {
    offered++;
    const form = h("form", { class: "inline", id: "ship" },
      h("label", {}, "Carrier", h("input", { name: "carrier", required: true, value: "UPS" })),
      h("label", {}, "Tracking number", h("input", { name: "trackingNumber", required: true })),
      h("button", { type: "submit" }, "Mark shipped"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      await api("orders", `orders/${id}/ship`, { method: "POST", body: values(form) });
      await route(); flash("Marked shipped.", "info");
    }); });
    actions.append(h("h3", {}, "Ship"), form);
  }
  if (isSeller && ["shipped", "delivered"].includes(order.status)) {
    offered++;
    const form = h("form", { class: "inline", id: "tracking-update" },
      h("label", {}, "Tracking status", h("input", { name: "status", required: true, placeholder: "in_transit" })),
      h("label", {}, "Location", h("input", { name: "location", placeholder: "Memphis, TN" })),
      h("button", { type: "submit" }, "Add tracking update"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      const v = values(form);
      await api("orders", `orders/${id}/tracking`, { method: "POST", body: { status: v.status, location: v.location || undefined, at: new Date().toISOString() } });
      await route(); flash("Tracking updated.", "info");
    }); });
    actions.append(h("h3", {}, "Tracking"), form);
  }
  if (isBuyer && order.status === "shipped") {
    offered++;
    const button = h("button", { id: "confirm-delivery" }, "Confirm delivery");
    button.addEventListener("click", () => act(button, async () => {
      await api("orders", `orders/${id}/confirm-delivery`, { method: "POST", body: {} });
      await route(); flash("Delivery confirmed: the seller will be paid.", "info");
    }));
    actions.append(h("p", {}, button, " releases the money to the seller."));
  }
  if ((isBuyer && ["pending_payment", "paid"].includes(order.status)) || (isSeller && order.status === "paid")) {
    offered++;
    const button = h("button", { class: "secondary", id: "cancel-order" }, order.status === "paid" ? "Cancel (full refund)" : "Cancel order");
    button.addEventListener("click", () => act(button, async () => {
      await api("orders", `orders/${id}/cancel`, { method: "POST", body: {} });
      await route(); flash("Order cancelled.", "info");
    }));
    actions.append(h("p", {}, button));
  }
  const disputable = escrow && ["held", "parked"].includes(escrow.status) && !escrow.releasedGross && !escrow.disputeId && !escrow.chargebackId
    && ["paid", "shipped", "delivered"].includes(order.status);
  if (isBuyer && disputable) {
    offered++;
    const form = h("form", { id: "open-dispute" },
      h("div", { class: "inline" }, h("label", {}, "Reason", h("select", { name: "reason" }, DISPUTE_REASONS.map(([v, t]) => h("option", { value: v }, t)))),
        h("label", {}, "What happened (evidence)", h("textarea", { name: "description", required: true }))),
      h("button", { type: "submit" }, "Open dispute"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      await api("escrow", "disputes", { method: "POST", body: { orderId: id, ...values(form) } });
      await route(); flash("Dispute opened: the money is frozen until an admin decides.", "info");
    }); });
    actions.append(h("h3", {}, "Problem with this order?"), form);
  }
  if (!offered) actions.append(h("p", { class: "muted" }, "Nothing to do on this order right now."));
  main.append(actions);

  if (escrow && escrow.disputeId) main.append(await disputeSection(escrow.disputeId, escrow.currency, isAdmin));
  if (escrow && (isBuyer || isSeller)) {
    // Resolved disputes: the escrow no longer names them, the parties' list does.
    const past = (await apiAll("escrow", "disputes", { orderId: id, status: "resolved" }, 20)).filter((d) => d.id !== escrow.disputeId);
    for (const d of past) main.append(await disputeSection(d.id, escrow.currency, isAdmin, `dispute-${d.id}`));
  }

  main.append(h("h2", {}, "Status history"), table(["From", "To", "By", "Reason", "When"], order.history.map((m) => h("tr", {},
    h("td", {}, m.fromStatus || "–"), h("td", {}, status(m.toStatus)), h("td", {}, m.actor), h("td", {}, m.reason || ""), h("td", {}, when(m.at)))), { id: "history" }));
  main.append(h("h2", {}, "Tracking"), table(["Status", "Location", "When"], (order.tracking || []).map((t) => h("tr", {},
    h("td", {}, t.status), h("td", {}, t.location || ""), h("td", {}, when(t.occurredAt)))), { id: "tracking" }));
}

/** A dispute with both parties' messages, and a message form while it is open. */
export async function disputeSection(disputeId, currency, isAdmin, sectionId = "dispute") {
  const d = await api("escrow", `disputes/${disputeId}`);
  const section = h("section", { class: "card", id: sectionId }, h("h2", {}, "Dispute ", status(d.status)),
    facts([
      ["Reason", d.reason], ["Opened", when(d.createdAt)],
      d.outcome ? ["Outcome", h("span", { class: "dispute-outcome" }, d.outcome)] : null,
      d.outcome ? ["Refunded / released", `${money(d.refundAmount, currency)} / ${money(d.releaseAmount, currency)}`] : null,
      d.resolutionNote ? ["Note", d.resolutionNote] : null,
      isAdmin ? ["Admin", link(`/admin/disputes/${d.id}`, "Open in the dispute queue")] : null,
    ]),
    h("div", { class: "message" }, h("div", { class: "meta" }, `${d.buyerId} (buyer) · ${when(d.createdAt)}`), d.description),
    d.messages.map((m) => h("div", { class: "message" }, h("div", { class: "meta" }, `${m.authorId} (${m.authorRole}) · ${when(m.createdAt)}`), m.body)));
  if (d.status === "open") {
    const form = h("form", { class: "inline", id: "dispute-message" }, h("label", {}, "Add evidence or a message", h("textarea", { name: "body", required: true })), h("button", { type: "submit" }, "Send"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      await api("escrow", `disputes/${d.id}/messages`, { method: "POST", body: values(form) });
      await route(); flash("Message added.", "info");
    }); });
    section.append(form);
  }
  return section;
}

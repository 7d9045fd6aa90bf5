// Store credit: the buyer's wallet; for admins, any buyer's wallet with a credit grant, and
// balance imports from another marketplace (dry run, apply, rollback).
import { api, newKey } from "../api.js";
import { h, link, status, table, facts, values } from "../dom.js";
import { money, toMinor, when } from "../format.js";
import { act, flash, navigate, route } from "../app.js";
import { TEST_CARDS, cardLabel } from "./buyer.js";

function walletView(wallet) {
  const section = h("section", { class: "card", id: "wallet" }, h("h2", {}, "Balance"),
    wallet.balances.length
      ? table(["Currency", "Balance"], wallet.balances.map((b) => h("tr", { dataset: { currency: b.currency } }, h("td", {}, b.currency.toUpperCase()), h("td", { class: "num" }, money(b.balance, b.currency)))), { id: "wallet-balances" })
      : h("p", { id: "wallet-empty" }, "No store credit yet."));
  const history = table(["When", "What", "Amount"], wallet.history.items.map((m) => h("tr", {},
    h("td", {}, when(m.createdAt)), h("td", {}, m.memo), h("td", { class: "num" }, (m.amount > 0 ? "+" : "") + money(m.amount, m.currency)))), { id: "wallet-history" });
  return [section, h("h2", {}, "History"), history];
}

export async function mine(main) {
  const [wallet, topUps, saved, { flags }] = await Promise.all([
    api("escrow", "wallet", { query: { limit: 100 } }), api("payments", "wallet/top-ups"), api("payments", "payment-methods"), api("payments", "flags"),
  ]);
  main.append(h("h1", {}, "Store credit"), h("button", { class: "secondary", id: "refresh", onclick: () => route() }, "Refresh"), ...walletView(wallet));
  const card = h("select", { name: "paymentMethod", "aria-label": "Card" },
    saved.items.map((c) => h("option", { value: c.id, selected: c.default }, `Saved: ${cardLabel(c)}`)),
    TEST_CARDS.map(([value, text]) => h("option", { value }, text)));
  const form = h("form", { class: "inline card", id: "top-up" },
    h("label", {}, "Amount", h("input", { name: "amount", required: true, size: 8 })),
    h("label", {}, "Currency", h("input", { name: "currency", required: true, value: "usd", size: 4 })),
    h("label", {}, "Card", card), h("button", { type: "submit" }, "Top up"));
  const key = newKey();  // one top-up per rendering of the form, however often it is submitted
  form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
    const v = values(form);
    const amount = toMinor(v.amount, v.currency);
    if (!amount) throw new Error("Enter an amount.");
    const topUp = await api("payments", "wallet/top-ups", { method: "POST", key, body: { amount, currency: v.currency } });
    await api("payments", `wallet/top-ups/${topUp.id}/confirm`, { method: "POST", body: { paymentMethod: v.paymentMethod } });
    await route(); flash(`Top-up of ${money(amount, v.currency)} paid: it is credited when Stripe confirms it (Refresh).`, "info");
  }); });
  main.append(h("h2", {}, "Top up with a card"), flags["wallet.enabled"] ? form : h("p", { class: "muted", id: "top-ups-off" }, "Top-ups are turned off for now."), h("h2", {}, "Top-ups"),
    table(["When", "Amount", "Status", ""], topUps.items.map((t) => h("tr", {}, h("td", {}, when(t.createdAt)), h("td", { class: "num" }, money(t.amount, t.currency)),
      h("td", {}, status(t.status)), h("td", {}, t.failureReason || ""))), { id: "top-ups" }));
}

export async function admin(main) {
  const wanted = new URLSearchParams(location.search).get("buyer") || "";
  main.append(h("h1", {}, "Wallets"));
  const lookup = h("form", { class: "inline", id: "wallet-lookup" }, h("label", {}, "Buyer id", h("input", { name: "buyer", required: true, value: wanted })), h("button", { type: "submit" }, "Show"));
  lookup.addEventListener("submit", (e) => { e.preventDefault(); navigate(`/admin/wallets?buyer=${encodeURIComponent(values(lookup).buyer.trim())}`); });
  main.append(lookup);
  if (wanted) {
    const wallet = await api("escrow", `admin/wallets/${encodeURIComponent(wanted)}`, { query: { limit: 100 } });
    main.append(h("h2", {}, `Wallet of ${wallet.buyerId}`), ...walletView(wallet));
    const grant = h("form", { class: "inline card", id: "grant-credit" },
      h("label", {}, "Amount", h("input", { name: "amount", required: true, size: 8 })),
      h("label", {}, "Currency", h("input", { name: "currency", required: true, value: "usd", size: 4 })),
      h("label", {}, "Reason", h("input", { name: "reason", required: true, size: 30 })),
      h("button", { type: "submit" }, "Grant credit"));
    const key = newKey();  // one grant per rendering of the form, however often it is submitted
    grant.addEventListener("submit", (e) => { e.preventDefault(); act(grant.querySelector("button"), async () => {
      const v = values(grant);
      const amount = toMinor(v.amount, v.currency);
      if (!amount) throw new Error("Enter an amount.");
      await api("escrow", `admin/wallets/${encodeURIComponent(wanted)}/credits`, { method: "POST", key, body: { amount, currency: v.currency, reason: v.reason } });
      await route(); flash(`Granted ${money(amount, v.currency)} to ${wanted}.`, "info");
    }); });
    main.append(h("h3", {}, "Grant store credit"), grant);
  }
  main.append(h("h2", {}, "Import balances"), h("p", { class: "muted" },
    "From another marketplace: CSV with the header external_id,buyer_id,currency,amount (amounts in minor units). Check it first; applying books every row once, and an import can be rolled back while nothing of it was spent."));
  const form = h("form", { class: "card", id: "wallet-import" },
    h("label", {}, "Reference (names the import)", h("input", { name: "reference", required: true, size: 30 })),
    h("label", {}, "Rows", h("textarea", { name: "rows", required: true, rows: 6, placeholder: "external_id,buyer_id,currency,amount\nlegacy-1,buyer-1,usd,1500" })),
    h("div", { class: "inline" }, h("button", { type: "submit", value: "check", id: "import-check" }, "Check (dry run)"), h("button", { type: "submit", value: "apply", id: "import-apply", class: "secondary" }, "Apply")));
  const report = h("div", { id: "import-report" });
  form.addEventListener("submit", (e) => { e.preventDefault(); const apply = e.submitter && e.submitter.value === "apply"; act(e.submitter, async () => {
    const v = values(form);
    const result = await api("escrow", "admin/wallet-imports", { method: "POST", query: { reference: v.reference, dryRun: String(!apply) }, text: v.rows, type: "text/csv" });
    if (apply) return navigate(`/admin/wallet-imports/${result.id}`);
    report.replaceChildren(
      h("p", { class: `status ${result.valid ? "good" : "bad"}`, id: "import-verdict" }, result.valid ? `${result.rowCount} rows, ready to apply` : `${result.problems.length} problem(s): nothing would be imported`),
      facts(result.totals.map((t) => [`Total ${t.currency.toUpperCase()}`, money(t.balance, t.currency)])),
      result.problems.length ? table(["Line", "External id", "Problem"], result.problems.map((p) => h("tr", {}, h("td", { class: "num" }, p.line), h("td", {}, p.externalId || ""), h("td", {}, p.message))), { id: "import-problems" }) : "");
  }); });
  main.append(form, report);
}

export async function importPage(main, id) {
  const record = await api("escrow", `admin/wallet-imports/${id}`);
  main.append(h("h1", {}, `Import ${record.reference}`), h("section", { class: "card", id: "import" }, facts([
    ["Status", status(record.status)], ["Rows", record.rowCount], ["By", `${record.createdBy}, ${when(record.createdAt)}`],
    ...record.totals.map((t) => [`Total ${t.currency.toUpperCase()}`, money(t.balance, t.currency)]),
    record.rolledBackAt ? ["Rolled back", `${record.rolledBackBy}, ${when(record.rolledBackAt)}: ${record.rollbackReason}`] : null,
  ])), h("p", {}, link("/admin/wallets", "Wallets")));
  if (record.status === "applied") {
    const form = h("form", { class: "inline", id: "import-rollback" }, h("label", {}, "Reason", h("input", { name: "reason", required: true, size: 30 })), h("button", { type: "submit", class: "secondary" }, "Roll back the whole import"));
    form.addEventListener("submit", (e) => { e.preventDefault(); act(form.querySelector("button"), async () => {
      await api("escrow", `admin/wallet-imports/${id}/rollback`, { method: "POST", body: values(form) });
      await route(); flash(`Import ${record.reference} rolled back.`, "info");
    }); });
    main.append(form);
  }
}

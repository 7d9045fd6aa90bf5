// The console: a small single-page app (history routing, no build step). Each page renders
// from the services' APIs into <main>; actions are offered only when the API would allow them.
import { ApiError, hasRole, session, signOut } from "./api.js";
import { h, link } from "./dom.js";
import * as signin from "./pages/signin.js";
import * as seller from "./pages/seller.js";
import * as buyer from "./pages/buyer.js";
import * as order from "./pages/order.js";
import * as admin from "./pages/admin.js";
import * as wallet from "./pages/wallet.js";

const routes = [
  [/^\/sign-in$/, signin.render, null],
  [/^\/$/, home, null],
  [/^\/seller(?:\/onboarding)?$/, seller.onboarding, "seller"],
  [/^\/seller\/listings$/, seller.listings, "seller"],
  [/^\/seller\/sales$/, seller.sales, "seller"],
  [/^\/seller\/payouts$/, seller.payouts, "seller"],
  [/^\/shop$/, buyer.shop, "buyer"],
  [/^\/(?:cart|checkout)$/, buyer.cart, "buyer"],
  [/^\/orders$/, buyer.orders, "buyer"],
  [/^\/orders\/([0-9a-fA-F-]{36})$/, order.render, null],
  [/^\/receipts$/, buyer.receipts, "buyer"],
  [/^\/wallet$/, wallet.mine, "buyer"],
  [/^\/cards$/, buyer.cards, "buyer"],
  [/^\/receipts\/([0-9a-fA-F-]{36})$/, buyer.receipt, null],
  [/^\/admin(?:\/disputes)?$/, admin.disputes, "admin"],
  [/^\/admin\/disputes\/([0-9a-fA-F-]{36})$/, admin.dispute, "admin"],
  [/^\/admin\/escrows$/, admin.escrows, "admin"],
  [/^\/admin\/sellers$/, admin.sellers, "admin"],
  [/^\/admin\/payments$/, admin.payments, "admin"],
  [/^\/admin\/flags$/, admin.flags, "admin"],
  [/^\/admin\/wallets$/, wallet.admin, "admin"],
  [/^\/admin\/wallet-imports\/([0-9a-fA-F-]{36})$/, wallet.importPage, "admin"],
  [/^\/admin\/refunds$/, admin.refunds, "admin"],
  [/^\/admin\/reconciliation$/, admin.reconciliation, "admin"],
  [/^\/admin\/operations$/, admin.operations, "admin"],
];

const NAV = {
  seller: [["/seller/onboarding", "Payments setup"], ["/seller/listings", "Listings"], ["/seller/sales", "Sales"], ["/seller/payouts", "Balance & payouts"]],
  buyer: [["/shop", "Shop"], ["/cart", "Cart"], ["/orders", "My orders"], ["/receipts", "Receipts"], ["/cards", "Saved cards"], ["/wallet", "Store credit"]],
  admin: [["/admin/disputes", "Disputes"], ["/admin/escrows", "Flagged escrows"], ["/admin/sellers", "Sellers"], ["/admin/payments", "Payments"], ["/admin/refunds", "Refunds"], ["/admin/wallets", "Wallets"], ["/admin/flags", "Flags"], ["/admin/reconciliation", "Reconciliation"], ["/admin/operations", "Dead letters & webhooks"]],
};

export function navigate(path) {
  history.pushState({}, "", path);
  route();
}

/** Shows an error (a problem's title and detail) or a notice above the page. */
export function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  box.textContent = message instanceof ApiError ? message.text : message instanceof Error ? message.message : String(message);
  box.className = kind;
  box.hidden = false;
}

export function clearFlash() {
  const box = document.getElementById("flash");
  box.hidden = true;
  box.textContent = "";
}

/** Runs an action of a button or form: errors are shown, the button is disabled meanwhile. */
export async function act(button, work, success) {
  clearFlash();
  if (button) button.disabled = true;
  try {
    await work();
    if (success) flash(success, "info");
  } catch (error) {
    flash(error);
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
}

function renderNav() {
  const user = session();
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  nav.replaceChildren();
  who.replaceChildren();
  if (!user) {
    who.append(link("/sign-in", "Sign in"));
    return;
  }
  for (const role of ["buyer", "seller", "admin"]) {
    if (!user.roles.includes(role)) continue;
    nav.append(h("span", { class: "group" }, role));
    for (const [href, text] of NAV[role]) nav.append(link(href, text, { class: location.pathname === href ? "active" : "" }));
  }
  who.append(`${user.sub} (${user.roles.join(", ")}) `, h("button", { class: "secondary", id: "sign-out", onclick: () => { signOut(); navigate("/sign-in"); } }, "Sign out"));
}

function home(main) {
  const user = session();
  main.append(h("h1", {}, `Welcome, ${user.sub}`));
  for (const role of user.roles) {
    main.append(h("section", { class: "card" }, h("h2", {}, role), (NAV[role] || []).map(([href, text]) => h("p", {}, link(href, text)))));
  }
}

let generation = 0;

export async function route() {
  const mine = ++generation;
  clearFlash();
  renderNav();
  const main = document.getElementById("main");
  const path = location.pathname.replace(/\/+$/, "") || "/";
  // A token handed over by the identity provider: /?token=… (then dropped from the address bar).
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    const { signIn } = await import("./api.js");
    try {
      signIn(params.get("token"));
    } catch (error) {
      flash(error);
    }
    params.delete("token");
    history.replaceState({}, "", location.pathname + (params.toString() ? `?${params}` : ""));
    renderNav();
  }
  const match = routes.map(([re, fn, role]) => [path.match(re), fn, role]).find(([m]) => m);
  const fresh = h("div", { id: "page", "data-path": path });
  main.replaceChildren(fresh);
  if (!match) {
    fresh.append(h("h1", {}, "Not found"), h("p", {}, link("/", "Home")));
    fresh.dataset.ready = "true";
    return;
  }
  const [m, fn, role] = match;
  if (fn !== signin.render && !session()) {
    sessionStorage.setItem("escrowmarket.after", location.pathname + location.search);
    return navigate("/sign-in");
  }
  if (role && !hasRole(role)) {
    fresh.append(h("h1", {}, "Not for your role"), h("p", {}, `This page is for the ${role} role; you are signed in as ${session().roles.join(", ")}.`));
    fresh.dataset.ready = "true";
    return;
  }
  try {
    await fn(fresh, ...m.slice(1));
  } catch (error) {
    if (mine === generation) flash(error);
  }
  fresh.dataset.ready = "true";
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (!a || event.metaKey || event.ctrlKey || a.target) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);
route();

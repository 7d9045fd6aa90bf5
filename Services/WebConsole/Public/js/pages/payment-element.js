// Paying in Stripe's Payment Element (Stripe.js) when the console has a publishable key: the card
// goes from the browser to Stripe, never through our servers. PaymentService creates the
// PaymentIntent (create-intent returns its client secret); Stripe.js confirms it; the orders
// become paid when Stripe's webhook reaches PaymentService, as with every other payment.
import { api, apiRetrying } from "../api.js";
import { h, link } from "../dom.js";
import { act, flash } from "../app.js";
import { shortId } from "../format.js";

const STRIPE_JS = "https://js.stripe.com/v3/";
let loading;

/** Loads Stripe.js once (it must come from js.stripe.com, never bundled). */
function loadStripe() {
  loading ||= new Promise((resolve, reject) => {
    if (window.Stripe) return resolve(window.Stripe);
    const script = h("script", { src: STRIPE_JS });
    script.addEventListener("load", () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js did not load."))));
    script.addEventListener("error", () => { loading = undefined; reject(new Error("Stripe.js could not be loaded from js.stripe.com.")); });
    document.head.append(script);
  });
  return loading;
}

export async function paymentElementSection(section, pending, publishableKey, paid) {
  // create-intent waits for the payment the checkout's event creates, and returns the same intent again
  // (so a 503 asking to retry, while that event is queued, is retried).
  const intent = await apiRetrying("payments", "payments/create-intent", { method: "POST", body: { checkoutId: pending.checkoutId } });
  if (intent.cardAmount === 0) {
    // Store credit paid it all (wallet.spendFirst): there is no card to ask for.
    paid();
    section.append(h("p", { id: "payment-result" }, "Paid with store credit. ", link("/orders", "See your orders")));
    return;
  }
  if (!intent.clientSecret) throw new Error("The payment has no client secret: is PaymentService in stripe mode with this account?");
  const Stripe = await loadStripe();
  const stripe = Stripe(publishableKey);
  const elements = stripe.elements({ clientSecret: intent.clientSecret });
  const mountPoint = h("div", { id: "payment-element" });
  const pay = h("button", { id: "pay" }, "Pay");
  const result = h("p", { id: "payment-result" });
  section.append(h("p", { class: "muted" }, "Card details go straight to Stripe."), mountPoint, h("p", {}, pay), result);
  elements.create("payment").mount(mountPoint);
  pay.addEventListener("click", () => act(pay, async () => {
    const outcome = await stripe.confirmPayment({
      elements, redirect: "if_required", confirmParams: { return_url: `${location.origin}/orders` },
    });
    // Card errors and validation errors come back here with a message meant for the buyer.
    if (outcome.error) throw new Error(outcome.error.message || "The payment did not go through.");
    paid();
    result.replaceChildren(
      `Payment ${shortId(intent.paymentId)} submitted (${outcome.paymentIntent.status}). The orders become paid when Stripe confirms it. `,
      link("/orders", "See your orders"));
    pay.remove();
    mountPoint.remove();
  }));
}

/**
 * Saving a card in the Payment Element: PaymentService makes a SetupIntent for the buyer's Stripe
 * Customer (POST /payment-methods with no card returns its client secret); Stripe.js confirms it,
 * so the card number goes only to Stripe, and the saved cards list (read from Stripe) shows it.
 */
export async function setupElementSection(section, publishableKey, saved) {
  const start = h("button", { id: "add-card" }, "Add a card");
  const result = h("p", { id: "setup-result" });
  section.append(h("p", { class: "muted" }, "Card details go straight to Stripe."), h("p", {}, start), result);
  start.addEventListener("click", () => act(start, async () => {
    const setup = await api("payments", "payment-methods", { method: "POST", body: {} });
    if (!setup.clientSecret) throw new Error("The card setup has no client secret: is PaymentService in stripe mode with this account?");
    const Stripe = await loadStripe();
    const stripe = Stripe(publishableKey);
    const elements = stripe.elements({ clientSecret: setup.clientSecret });
    const mountPoint = h("div", { id: "setup-element" });
    const save = h("button", { id: "confirm-card" }, "Save card");
    start.replaceWith(mountPoint, h("p", {}, save));
    elements.create("payment").mount(mountPoint);
    save.addEventListener("click", () => act(save, async () => {
      const outcome = await stripe.confirmSetup({
        elements, redirect: "if_required", confirmParams: { return_url: `${location.origin}/cards` },
      });
      if (outcome.error) throw new Error(outcome.error.message || "The card was not saved.");
      result.replaceChildren(`Card saved (${outcome.setupIntent.status}). It appears below once Stripe has it.`);
      save.remove();
      mountPoint.remove();
      saved();
    }));
  }));
}

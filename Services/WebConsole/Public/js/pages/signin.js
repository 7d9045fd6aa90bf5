// Sign-in: outside production a development sign-in (pick a user and roles; the console mints
// the token); in production a token from the marketplace's identity provider (pasted, or
// handed over as /?token=…).
import { consoleConfig, signIn, ApiError } from "../api.js";
import { h, values } from "../dom.js";
import { act, navigate } from "../app.js";

function done() {
  const after = sessionStorage.getItem("escrowmarket.after");
  sessionStorage.removeItem("escrowmarket.after");
  navigate(after && after !== "/sign-in" ? after : "/");
}

export async function render(main) {
  const config = await consoleConfig();
  main.append(h("h1", {}, "Sign in"));
  if (config.devSignIn) {
    const form = h("form", { id: "dev-sign-in", class: "card" },
      h("p", { class: "muted" }, `Development sign-in (${config.environment}): any user id; the console signs the token with JWT_SECRET. It does not exist in production.`),
      h("div", { class: "inline" },
        h("label", {}, "User id", h("input", { name: "sub", required: true, placeholder: "seller-1" })),
        h("label", {}, "Email (optional)", h("input", { name: "email", type: "email", placeholder: "seller-1@example.test" }))),
      h("p", {}, ["buyer", "seller", "admin"].map((role) =>
        h("label", { style: "display:inline-flex;flex-direction:row;gap:.3rem;margin-right:1rem" },
          h("input", { type: "checkbox", name: `role-${role}`, value: role }), role))),
      h("button", { type: "submit" }, "Sign in"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const v = values(form);
      const roles = ["buyer", "seller", "admin"].filter((r) => v[`role-${r}`]);
      act(form.querySelector("button"), async () => {
        const response = await fetch("/console/dev-token", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ sub: v.sub, email: v.email || undefined, roles }),
        });
        const body = await response.json();
        if (!response.ok) throw new ApiError(response.status, body);
        signIn(body.token);
        done();
      });
    });
    main.append(h("section", { class: "card" }, form));
  }
  const paste = h("form", { id: "token-sign-in" },
    h("p", { class: "muted" }, "Sign in with a token from the marketplace's identity provider."),
    h("label", {}, "Bearer token (JWT)", h("textarea", { name: "token", required: true })),
    h("button", { type: "submit" }, "Use token"));
  paste.addEventListener("submit", (event) => {
    event.preventDefault();
    act(paste.querySelector("button"), async () => {
      signIn(values(paste).token.trim());
      done();
    });
  });
  main.append(h("section", { class: "card" }, paste));
}

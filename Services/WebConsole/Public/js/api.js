// Every call goes through the console's own origin: /api/<service>/<path> is forwarded to
// <service>/api/v1/<path>. Errors are the services' problem+json documents.

const KEY = "escrowmarket.session";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
  /** What the user reads: the problem's title and detail. */
  get text() {
    const { title, detail } = this.problem;
    return title && detail ? `${title}: ${detail}` : detail || title || this.message;
  }
}

/** The signed-in user (from the token's claims) or null. */
export function session() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (!saved || !saved.token) return null;
    if (saved.exp && saved.exp * 1000 < Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return saved;
  } catch {
    return null;
  }
}

function claimsOf(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("That is not a JWT.");
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json);
}

/** Keeps a token (from the development sign-in or the identity provider). */
export function signIn(token) {
  const claims = claimsOf(token);
  if (!claims.sub) throw new Error("The token has no subject.");
  const user = { token, sub: claims.sub, roles: claims.roles || [], email: claims.email, exp: claims.exp };
  sessionStorage.setItem(KEY, JSON.stringify(user));
  return user;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export function hasRole(role) {
  const user = session();
  return !!user && user.roles.includes(role);
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

async function send(service, path, { method = "GET", body, key, query, text, type } = {}) {
  const headers = { Accept: "application/json, application/problem+json, application/pdf" };
  const user = session();
  if (user) headers.Authorization = `Bearer ${user.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (text !== undefined) headers["Content-Type"] = type || "text/plain";
  if (key) headers["Idempotency-Key"] = key;
  let url = `/api/${service}/${path.replace(/^\//, "")}`;
  if (query) {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""));
    if ([...params].length) url += `?${params}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: text !== undefined ? text : body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, { title: "Network error", detail: "The console could not be reached." });
  }
  if (!response.ok) {
    let problem = { title: `HTTP ${response.status}` };
    try {
      problem = await response.json();
    } catch {}
    throw new ApiError(response.status, problem);
  }
  return response;
}

let config;

/** What `/console/config` says about this deployment (fetched once per page load). */
export function consoleConfig() {
  config ||= fetch("/console/config").then((r) => r.json()).catch((error) => { config = undefined; throw error; });
  return config;
}

/** JSON from a service (null for an empty answer). */
export async function api(service, path, options) {
  const response = await send(service, path, options);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * `api` for a call that is safe to repeat (such as create-intent, which returns the same intent
 * again): a 503 that says when to come back (`retryAfterSeconds`, at most 10) is retried after
 * it, up to `attempts` times in all.
 */
export async function apiRetrying(service, path, options, attempts = 5) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api(service, path, options);
    } catch (error) {
      const seconds = Number(error instanceof ApiError && error.status === 503 ? error.problem.retryAfterSeconds : NaN);
      if (attempt >= attempts || !(seconds >= 0 && seconds <= 10)) throw error;
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }
}

/** A binary answer (e.g. a receipt's PDF) as a Blob. */
export async function apiBlob(service, path) {
  const response = await send(service, path);
  return response.blob();
}

/** Every page of a cursor-paginated list, up to `max` items. */
export async function apiAll(service, path, query = {}, max = 500) {
  const items = [];
  let cursor;
  do {
    const page = await api(service, path, { query: { ...query, limit: 100, cursor } });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}

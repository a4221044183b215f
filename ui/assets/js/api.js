// The REST client of the dashboard: every request goes to the server that
// served the page, with the bearer token of this tab when there is one.
// Errors come back as ApiError, with the code and message of the API's
// error object ({"error": {"code", "message", "field"}}).

const tokenKey = "courier.token";

/** token returns the bearer token of this tab, or "" when none is set. */
export function token() {
  return sessionStorage.getItem(tokenKey) || "";
}

/** setToken keeps t for this tab ("" forgets it). */
export function setToken(t) {
  if (t) sessionStorage.setItem(tokenKey, t);
  else sessionStorage.removeItem(tokenKey);
}

/** ApiError is a failed request: the HTTP status and the API's error object. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || "";
  }
  toString() {
    return `${this.code}: ${this.message}`;
  }
}

// The function called when the server answers 401 (set by the app).
let unauthenticated = () => {};

/** onUnauthenticated sets the function called with the error of a 401. */
export function onUnauthenticated(fn) {
  unauthenticated = fn;
}

function headers(json) {
  const h = {};
  const t = token();
  if (t) h.Authorization = "Bearer " + t;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function request(method, path, body, opts) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "unavailable", `the server did not answer (${e.message})`);
  }
  const text = await res.text();
  if (res.ok) return {res, text};
  let e = null;
  try {
    e = JSON.parse(text).error;
  } catch {
    // not the API's error object
  }
  const err = new ApiError(res.status, e?.code || "http_" + res.status, e?.message || text.trim() || res.statusText, e?.field);
  if (res.status === 401 && !opts?.quiet) unauthenticated(err);
  throw err;
}

/**
 * api makes a request and returns the decoded JSON answer (null for an
 * empty one). body, when not undefined, is sent as JSON. With
 * {quiet: true} a 401 only throws, without calling onUnauthenticated.
 */
export async function api(method, path, body, opts) {
  const {text} = await request(method, path, body, opts);
  return text ? JSON.parse(text) : null;
}

/** apiText is api for answers that are not JSON (/metrics). */
export async function apiText(path) {
  const {text} = await request("GET", path);
  return text;
}

/** path joins URL path segments, escaping each: path("/v1/queues", name, "peek"). */
export function path(base, ...segments) {
  return base + segments.map((s) => "/" + encodeURIComponent(s)).join("");
}

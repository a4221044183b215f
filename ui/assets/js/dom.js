// Small helpers to build the DOM and to format values. Text always goes
// in as text nodes, never as HTML, so data from the server cannot inject
// markup.

/**
 * h builds an element. tag may carry classes and an id ("div.card#x").
 * props: "class", "text", "dataset" (an object), "on<event>" (listeners),
 * boolean true/false for boolean attributes, anything else an attribute.
 * children: nodes, strings, numbers, arrays of them; null is skipped.
 */
export function h(tag, props, ...children) {
  const [, name, rest] = tag.match(/^([a-z0-9-]+)(.*)$/i);
  const el = document.createElement(name);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  setProps(el, props);
  append(el, children);
  return el;
}

const svgNS = "http://www.w3.org/2000/svg";

/** s builds an SVG element; props are attributes. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(svgNS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** errorBox shows an error: the API's code and message. */
export function errorBox(err) {
  const code = err.code ? err.code + (err.status ? ` (${err.status})` : "") : "error";
  let message = err.message || String(err);
  // The server's messages often start with the code in words ("permission denied: ...").
  if (err.code) message = message.replace(new RegExp("^" + err.code.replace(/_/g, "[ _]") + ": "), "");
  return h("div.error", {role: "alert"}, h("strong", null, code), ": ", message);
}

/** table builds a table from column headings and rows of cells. */
export function table(columns, rows, empty) {
  if (rows.length === 0) return h("p.muted", null, empty || "None.");
  return h("div.table-wrap", null, h("table", null,
    h("thead", null, h("tr", null, columns.map((c) => h("th", null, c)))),
    h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c)))))));
}

/** kv builds a two-column list of names and values. */
export function kv(pairs) {
  return h("dl.kv", null, pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

/** stat is one big number with its label. */
export function stat(label, value, id) {
  return h("div.stat", id ? {id} : null, h("div.stat-value", null, value), h("div.stat-label", null, label));
}

/** link is an anchor to a route of the dashboard ("#/queues/orders"). */
export function link(route, text) {
  return h("a", {href: "#" + route}, text);
}

/** route builds a route from a section and a name: route("queues", "a b") is "/queues/a%20b". */
export function route(section, name) {
  return "/" + section + (name === undefined ? "" : "/" + encodeURIComponent(name));
}

/** json shows a JSON value on as few lines as it needs. */
export function json(v) {
  return h("pre.json", null, JSON.stringify(v));
}

/** badge is a small label. */
export function badge(text, kind) {
  return h("span.badge" + (kind ? "." + kind : ""), null, text);
}

const numberFormat = new Intl.NumberFormat("en");

/** num formats a count. */
export function num(n) {
  return n === undefined || n === null || Number.isNaN(n) ? "—" : numberFormat.format(n);
}

/** compact formats a number shortly (1.2k, 3.4M). */
export function compact(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return +(n / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return +(n / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return +(n / 1e3).toFixed(1) + "k";
  if (a > 0 && a < 10 && !Number.isInteger(n)) return String(+n.toFixed(2));
  return String(Math.round(n));
}

/** bytes formats a size. */
export function bytes(n) {
  if (n === undefined || n === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

/** parseDuration reads a Go duration ("1m30.5s", "200ms") as seconds; NaN if it is none. */
export function parseDuration(d) {
  if (typeof d !== "string" || d === "") return NaN;
  if (d === "0") return 0;
  const units = {h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, "µs": 1e-6, ns: 1e-9};
  let total = 0;
  const re = /([0-9.]+)(h|ms|m|s|us|µs|ns)/g;
  let m;
  let seen = 0;
  while ((m = re.exec(d)) !== null) {
    total += parseFloat(m[1]) * units[m[2]];
    seen += m[0].length;
  }
  return seen === d.replace(/^-/, "").length ? (d[0] === "-" ? -total : total) : NaN;
}

/** age formats seconds as a short duration ("3m 12s"). */
export function age(seconds) {
  if (seconds === undefined || seconds === null || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return seconds === 0 ? "0s" : Math.round(seconds * 1000) + "ms";
  const d = Math.floor(seconds / 86400);
  const hh = Math.floor((seconds % 86400) / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const ss = Math.floor(seconds % 60);
  const parts = [];
  if (d) parts.push(d + "d");
  if (hh) parts.push(hh + "h");
  if (mm && !d) parts.push(mm + "m");
  if (!d && !hh) parts.push(ss + "s");
  return parts.join(" ");
}

/** time formats an RFC 3339 time as local date and time ("—" for the zero time). */
export function time(t) {
  if (!t || t.startsWith("0001-") || t.startsWith("1970-01-01T00:00:00")) return "—";
  const d = new Date(t);
  return d.toLocaleString("en-GB", {dateStyle: "short", timeStyle: "medium"});
}

/** clock formats a time of day (for chart axes). */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB");
}

/** truncate shortens text to n characters. */
export function truncate(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

/** body shows a message body: text, or its base64 marked as binary. */
export function body(m) {
  if (m.body !== undefined) return m.body;
  if (m.body_base64 !== undefined) return "(binary, base64) " + m.body_base64;
  return "";
}

/** field is a labelled form control. */
export function field(label, control, hint) {
  return h("label.field", null, h("span.field-label", null, label), control, hint ? h("span.hint", null, hint) : null);
}

/** parseJSON parses the text of a form field, naming the field in the error. */
export function parseJSON(text, name, optional) {
  if (optional && text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw Object.assign(new Error(`${name} is not valid JSON: ${e.message}`), {code: "invalid_json"});
  }
}

/** replace puts the children in place of el's content. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

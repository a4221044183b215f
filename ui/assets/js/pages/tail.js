// The live-tail panel of the topic and stream pages: a WebSocket
// subscription (live.js) whose messages or records show newest first.

import {h, body, field, parseJSON, replace, truncate, errorBox} from "../dom.js";
import {openTail} from "../live.js";

/**
 * tail builds a live-tail panel for a subscribe target; withFilter adds
 * a filter-policy field (topics). The tail stops when the page is left.
 */
export function tail(page, target, note, withFilter) {
  const filterIn = withFilter ? h("input#tail-filter", {type: "text", placeholder: '{"region": ["eu"]} (optional)', spellcheck: "false"}) : null;
  const startBtn = h("button#tail-start.primary", {type: "button"}, "Start");
  const stopBtn = h("button#tail-stop", {type: "button", disabled: true}, "Stop");
  const status = h("span#tail-status.muted", null, "stopped");
  const errors = h("div#tail-error");
  const list = h("ol#tail-list.tail");
  let conn = null;
  const stop = () => {
    conn?.close();
    conn = null;
    startBtn.disabled = false;
    stopBtn.disabled = true;
  };
  startBtn.addEventListener("click", () => {
    replace(errors);
    const t = {...(typeof target === "function" ? target() : target)};
    try {
      if (filterIn?.value.trim()) t.filter_policy = parseJSON(filterIn.value, "Filter policy");
    } catch (e) {
      replace(errors, errorBox(e));
      return;
    }
    startBtn.disabled = true;
    stopBtn.disabled = false;
    conn = openTail(t, {
      onStatus: (st) => {
        status.textContent = st;
        status.className = st === "live" ? "live" : "muted";
        if (st !== "live" && st !== "connecting") {
          // Closed, by the user or not: ready to start again.
          conn = null;
          startBtn.disabled = false;
          stopBtn.disabled = true;
        }
      },
      onError: (err) => {
        replace(errors, errorBox(err));
        stop();
      },
      onMessage: (f) => {
        list.prepend(f.record ? recordItem(f.record) : messageItem(f.message, f.dropped));
        while (list.children.length > 200) list.lastChild.remove();
      },
    });
  });
  stopBtn.addEventListener("click", stop);
  page.onStop(stop);
  return [
    h("p.note", null, note),
    h("div.buttons", null, filterIn ? field("Filter policy", filterIn) : null, startBtn, stopBtn, status),
    errors, list,
  ];
}

function messageItem(m, dropped) {
  return h("li", null, h("span.when", null, new Date().toLocaleTimeString("en-GB")), " ",
    h("span.body", null, truncate(body(m), 300)),
    m.headers ? h("span.headers", null, " ", Object.entries(m.headers).map(([k, v]) => `${k}=${v}`).join(" ")) : null,
    dropped ? h("span.warn", null, ` (dropped so far: ${dropped})`) : null);
}

function recordItem(r) {
  const key = r.key ?? (r.key_base64 !== undefined ? "(base64) " + r.key_base64 : "");
  const value = r.value ?? (r.value_base64 !== undefined ? "(base64) " + r.value_base64 : "");
  return h("li", null, h("span.when", null, `p${r.partition} @${r.offset}`), " ",
    key ? [h("code", null, key), " → "] : null, h("span.body", null, truncate(value, 300)));
}

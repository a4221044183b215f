// Live tails over the WebSocket endpoint /v1/ws (docs/http-api.md,
// WebSocket): one connection, one subscription, with credit granted back
// as messages are shown, so the server never pushes more than the page
// has room for.

import {token} from "./api.js";

const credit = 50;

/**
 * openTail subscribes to target (the subscribe frame's target fields:
 * {topic, raw, filter_policy} or {stream, partition, from}) and calls
 * onMessage with each pushed frame, onStatus with the state of the
 * connection ("connecting", "live", "closed ..."), and onError with the
 * API's error object of a refused subscription or an ended one. It
 * returns {close()}.
 */
export function openTail(target, {onMessage, onStatus, onError}) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let url = `${scheme}//${location.host}/v1/ws`;
  if (token()) url += "?access_token=" + encodeURIComponent(token()); // browsers cannot set headers here
  const ws = new WebSocket(url);
  let shown = 0;
  let closing = false;
  let live = false;
  onStatus("connecting");
  ws.onopen = () => {
    ws.send(JSON.stringify({op: "subscribe", id: "subscribe", sub: "tail", credit, ...target}));
  };
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    switch (f.op) {
      case "ok":
        if (f.id === "subscribe") {
          live = true;
          onStatus("live");
        }
        break;
      case "error":
        onError(f.error);
        break;
      case "end":
        onError(f.error);
        break;
      case "message":
        onMessage(f);
        // Give the credit back in halves of the window.
        if (++shown >= credit / 2) {
          ws.send(JSON.stringify({op: "credit", sub: "tail", credit: shown}));
          shown = 0;
        }
        break;
    }
  };
  ws.onclose = (e) => {
    if (closing) onStatus("stopped");
    else if (!live) onStatus("could not connect (is the token allowed to connect? see the server log)");
    else onStatus(`closed by the server: ${e.code}${e.reason ? " " + e.reason : ""}`);
  };
  return {
    close() {
      closing = true;
      if (ws.readyState <= WebSocket.OPEN) ws.close(1000);
    },
  };
}

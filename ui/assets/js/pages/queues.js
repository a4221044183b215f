// Queues: the list with depths, and a queue's page with charts, a peek at
// its messages (which consumes nothing), a test send, purge and redrive.

import {api, path} from "../api.js";
import {h, table, kv, stat, link, route, num, age, parseDuration, time, truncate, body, badge, field, parseJSON, replace} from "../dom.js";
import {lineChart} from "../chart.js";
import {loadHistory, points} from "../history.js";
import {confirmName} from "../dialog.js";
import {start, card, slot, action, result, settle} from "./common.js";

// allQueues answers the info of every queue (those whose info the
// identity may not read are left out).
async function allQueues() {
  const {queues} = await api("GET", "/v1/queues");
  const infos = await Promise.allSettled(queues.map((n) => api("GET", path("/v1/queues", n))));
  return {names: queues, infos: infos.filter((r) => r.status === "fulfilled").map((r) => r.value)};
}

// sourcesOf maps a dead-letter queue to the queues that use it.
function sourcesOf(infos) {
  const m = new Map();
  for (const q of infos) {
    const d = q.attributes.dead_letter_queue;
    if (d) m.set(d, [...(m.get(d) || []), q.name]);
  }
  return m;
}

export function queueList(page) {
  const root = start(page, "queues", "Queues");
  const list = slot("queue-list");
  root.append(card("All queues", list));
  page.every(async () => {
    await settle(list, allQueues(), ({infos}) => {
      const dlqs = sourcesOf(infos);
      return table(["Name", "Kind", "Visible", "In flight", "Delayed", "Oldest", "Dead-letter queue"],
        infos.map((q) => [
          [link(route("queues", q.name), q.name), dlqs.has(q.name) ? [" ", badge("DLQ", "warn")] : null],
          q.attributes.fifo ? "FIFO" : "standard",
          num(q.stats.visible), num(q.stats.in_flight), num(q.stats.delayed), age(parseDuration(q.stats.oldest_age)),
          q.attributes.dead_letter_queue ? [link(route("queues", q.attributes.dead_letter_queue), q.attributes.dead_letter_queue), ` after ${q.attributes.max_receives}`] : "—",
        ]), "No queues yet.");
    });
  });
}

export function queueDetail(page, name) {
  const root = start(page, "queue", name, [["/queues", "Queues"]], name);
  const stats = slot("queue-stats");
  const charts = h("div.charts", null, slot(), slot());
  const attrs = slot("queue-attributes");
  const role = slot("queue-role");
  const peek = slot("peek");
  const peekMax = h("select#peek-max", {"aria-label": "Messages to show"}, [10, 25, 50, 100].map((n) => h("option", {value: n}, `${n} messages`)));

  root.append(
    stats,
    card("Over time", charts),
    h("div.grid", null, card("Attributes", attrs), card("Actions", actions(name, role, () => refresh()))),
    card("Messages", [
      h("p.note", null, "A peek: it shows the queue's messages in every state without receiving them, and ",
        "refreshes every few seconds. (A live tail over the WebSocket would receive, and so consume, what it shows; ",
        "for a queue this page peeks instead.)"),
      peek,
    ], peekMax));

  const loadPeek = () => settle(peek, api("GET", path("/v1/queues", name, "peek") + "?max=" + peekMax.value), ({messages}) =>
    table(["State", "ID", "Body", "Headers", "Receives", "Sent", "From"], messages.map((m) => [
      badge(m.state.replace("_", " "), m.state === "visible" ? "good" : "warn"),
      h("code.id", null, m.id),
      h("span.body", {title: body(m)}, truncate(body(m), 120)),
      m.headers ? Object.entries(m.headers).map(([k, v]) => h("div", null, h("code", null, k), "=", v)) : "—",
      num(m.receive_count),
      time(m.sent_at),
      m.source_queue ? link(route("queues", m.source_queue), m.source_queue) : (m.group ? "group " + m.group : "—"),
    ]), "The queue is empty."));

  const refresh = page.every(async () => {
    const info = await api("GET", path("/v1/queues", name));
    const a = info.attributes;
    replace(stats, h("div.stats.wide", null,
      stat("visible", num(info.stats.visible), "stat-visible"),
      stat("in flight", num(info.stats.in_flight), "stat-in-flight"),
      stat("delayed", num(info.stats.delayed), "stat-delayed"),
      stat("oldest message", age(parseDuration(info.stats.oldest_age)), "stat-oldest")));
    replace(attrs, kv([
      ["Kind", a.fifo ? "FIFO" : "standard"],
      ["Visibility timeout", a.visibility_timeout],
      ["Retention", a.retention_period],
      ["Delivery delay", a.delivery_delay],
      ["Receive wait", a.receive_wait],
      ["Max message size", num(a.max_message_size) + " bytes"],
      ["Dead-letter queue", a.dead_letter_queue ? [link(route("queues", a.dead_letter_queue), a.dead_letter_queue), ` after ${a.max_receives} receives`] : "none"],
      ["Content-based dedup", a.content_based_dedup ? "on" : "off"],
      ["Created", time(info.created_at)],
    ]));

    // Which queues dead-letter into this one (needs the list of queues).
    try {
      const {infos} = await allQueues();
      const src = sourcesOf(infos).get(name) || [];
      replace(role, src.length
        ? ["This is the dead-letter queue of ", src.map((q, i) => [i ? ", " : "", link(route("queues", q), q)]), ". Redrive moves its messages back."]
        : "No queue dead-letters into this one; a redrive needs a destination for messages that were sent here directly.");
    } catch (e) {
      if (e.status === 401) throw e;
      replace(role, h("span.muted", null, "(Cannot tell which queues dead-letter here: " + e.message + ")"));
    }

    await loadPeek();

    const hist = await loadHistory(["queue:" + name]);
    const ser = hist.series.get("queue:" + name);
    replace(charts,
      lineChart("Depth", [
        {label: "visible", points: points(ser, "visible")},
        {label: "in flight", points: points(ser, "in_flight")},
        {label: "delayed", points: points(ser, "delayed")},
      ], {id: "chart-depth", empty: hist.enabled ? "No samples yet." : "History sampling is off on this server."}),
      lineChart("Age of the oldest message", [{label: "seconds", points: points(ser, "oldest_age_seconds")}],
        {id: "chart-age", format: age, empty: hist.enabled ? "No samples yet." : "History sampling is off on this server."}));
  });
  peekMax.addEventListener("change", () => loadPeek().catch((e) => page.fail(e)));
}

// actions builds the send, purge and redrive controls of a queue.
function actions(name, role, refresh) {
  const bodyIn = h("textarea#send-body", {rows: 3, spellcheck: "false"}, "test message from the dashboard");
  const headersIn = h("input#send-headers", {type: "text", placeholder: '{"tenant": "acme"}', spellcheck: "false"});
  const groupIn = h("input#send-group", {type: "text", placeholder: "FIFO queues only"});
  const send = h("button#send", {type: "button", class: "primary"}, "Send");
  const sendOut = result("send-result");
  action(send, sendOut, async () => {
    const msg = {body: bodyIn.value};
    const headers = parseJSON(headersIn.value, "Headers", true);
    if (headers !== undefined) msg.headers = headers;
    if (groupIn.value.trim()) msg.group = groupIn.value.trim();
    const res = await api("POST", path("/v1/queues", name, "messages"), msg);
    return ["sent, id ", h("code", null, res.id)];
  }, refresh);

  const purge = h("button#purge", {type: "button", class: "danger"}, "Purge…");
  const purgeOut = result("purge-result");
  action(purge, purgeOut, async () => {
    const ok = await confirmName({
      title: `Purge ${name}?`,
      text: "Purge deletes every message of the queue: visible, in flight and delayed. It cannot be undone.",
      name, action: "Purge",
    });
    if (!ok) return undefined;
    const res = await api("POST", path("/v1/queues", name, "purge"));
    return `purged ${res.purged}`;
  }, refresh);

  const redrive = h("button#redrive-open", {type: "button", class: "danger"}, "Redrive…");
  const redriveOut = result("redrive-result");
  action(redrive, redriveOut, async () => {
    const v = await confirmName({
      title: `Redrive ${name}?`,
      text: "Redrive moves the visible messages of this queue, oldest first, to the queue each was dead-lettered from " +
        "(or to the destination below). Moved messages start again with a receive count of 0.",
      name, action: "Redrive",
      fields: [
        {id: "redrive-max", label: "At most (messages)", placeholder: "all", hint: "Empty or 0 moves them all."},
        {id: "redrive-destination", label: "Destination queue", placeholder: "each message's source queue"},
      ],
    });
    if (!v) return undefined;
    const req = {};
    if (v["redrive-max"]) {
      const n = Number(v["redrive-max"]);
      if (!Number.isInteger(n) || n < 0) throw Object.assign(new Error("At most: a whole number of messages, 0 or more"), {code: "invalid_argument"});
      req.max = n;
    }
    if (v["redrive-destination"]) req.destination = v["redrive-destination"];
    const res = await api("POST", path("/v1/queues", name, "redrive"), req);
    return `moved ${res.moved}`;
  }, refresh);

  return [
    h("h3", null, "Send a test message"),
    field("Body", bodyIn),
    h("div.row", null, field("Headers (JSON object)", headersIn), field("Group", groupIn)),
    h("div.buttons", null, send), sendOut,
    h("h3", null, "Redrive"),
    h("p.note", null, role),
    h("div.buttons", null, redrive), redriveOut,
    h("h3", null, "Purge"),
    h("div.buttons", null, purge), purgeOut,
  ];
}


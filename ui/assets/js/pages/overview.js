// Overview: health, counts, throughput and storage of the whole server,
// and the depth of all queues together over time.

import {api, apiText} from "../api.js";
import {h, kv, stat, num, bytes, badge, replace, errorBox, compact, link} from "../dom.js";
import {lineChart} from "../chart.js";
import {loadHistory, ofKind, sum, rate} from "../history.js";
import {start, card, slot} from "./common.js";

export function overview(page) {
  const root = start(page, "overview", "Overview");
  const health = slot("health");
  const counts = slot("counts");
  const throughput = slot("throughput");
  const storage = slot("storage");
  const charts = h("div.charts", null, slot("chart-queues"), slot("chart-rates"));
  root.append(
    h("div.grid", null,
      card("Health", health),
      card("Resources", counts),
      card("Throughput", throughput),
      card("Storage", storage)),
    card("Over time", charts));

  let lastRequests = null; // {total, at} of the previous /metrics sample

  page.every(async () => {
    const [healthz, readyz, caps, metrics, history] = await Promise.allSettled([
      api("GET", "/healthz"), api("GET", "/readyz"), api("GET", "/v1/capabilities"), apiText("/metrics"), loadHistory()]);
    replace(health, kv([
      ["Liveness (/healthz)", status(healthz, "ok")],
      ["Readiness (/readyz)", status(readyz, "ready")],
      ["Backend", caps.status === "fulfilled" ? backend(caps.value) : errorBox(caps.reason)],
      ["History sampling", history.status === "fulfilled"
        ? (history.value.enabled ? `every ${history.value.intervalSeconds}s` : badge("off on this server", "warn"))
        : errorBox(history.reason)],
    ]));

    const lists = await Promise.allSettled([
      api("GET", "/v1/queues"), api("GET", "/v1/topics"), api("GET", "/v1/streams"), api("GET", "/v1/buses")]);
    const [queues, topics, streams, buses] = lists.map((r, i) => r.status === "fulfilled" ? r.value[["queues", "topics", "streams", "buses"][i]] : r.reason);
    replace(counts, h("div.stats", null,
      countStat("Queues", queues, "/queues"), countStat("Topics", topics, "/topics"),
      countStat("Streams", streams, "/streams"), countStat("Buses", buses, "/buses")));

    // Throughput: requests per second from /metrics, messages per second
    // from the history of topic, stream and bus counters.
    let reqRate = h("span.muted", {title: "The rate needs two samples of /metrics"}, "…");
    if (metrics.status === "fulfilled") {
      const total = requestsTotal(metrics.value);
      const now = Date.now();
      if (lastRequests && now > lastRequests.at) reqRate = compact(Math.max(0, (total - lastRequests.total) / ((now - lastRequests.at) / 1000)));
      lastRequests = {total, at: now};
    }
    const hist = history.status === "fulfilled" ? history.value : null;
    const published = hist ? rate(sum(ofKind(hist, "topic:"), "published")) : [];
    const sent = hist ? rate(sum(ofKind(hist, "queue:"), "sent_total")) : [];
    const appended = hist ? rate(sum(ofKind(hist, "stream:"), "end")) : [];
    const accepted = hist ? rate(sum(ofKind(hist, "bus:"), "accepted")) : [];
    const lastOf = (pts) => (pts.length ? compact(pts[pts.length - 1][1]) : "—");
    replace(throughput, h("div.stats", null,
      stat("HTTP requests/s", metrics.status === "fulfilled" ? reqRate : h("span.muted", {title: metrics.reason.message}, "n/a")),
      stat("Queue messages/s", lastOf(sent)),
      stat("Topic messages/s", lastOf(published)),
      stat("Stream records/s", lastOf(appended)),
      stat("Bus events/s", lastOf(accepted))));

    replace(storage, await storageStats(caps, queues, streams, buses));

    if (!hist) {
      replace(charts, errorBox(history.reason));
    } else if (!hist.enabled) {
      replace(charts, h("p.muted", null, "The server samples no history (it was started without server.WithHistory), so there are no charts."));
    } else {
      const qs = ofKind(hist, "queue:");
      replace(charts,
        lineChart("Messages in all queues", [
          {label: "visible", points: sum(qs, "visible")},
          {label: "in flight", points: sum(qs, "in_flight")},
          {label: "delayed", points: sum(qs, "delayed")},
        ], {id: "chart-queues"}),
        lineChart("Throughput (per second)", [
          {label: "queue messages", points: sent},
          {label: "topic messages", points: published},
          {label: "stream records", points: appended},
          {label: "bus events", points: accepted},
        ], {id: "chart-rates"}));
    }
  });
}

function status(r, want) {
  if (r.status === "rejected") return errorBox(r.reason);
  return r.value?.status === want ? badge(want, "good") : badge(String(r.value?.status), "warn");
}

function backend(c) {
  const kinds = ["queues", "topics", "streams", "buses"].filter((k) => c[k]);
  return [c.persistent ? badge("persistent", "good") : badge("in memory", "warn"), " ", kinds.join(", ")];
}

function countStat(label, list, route) {
  if (list instanceof Error) return h("div.stat", null, errorBox(list), h("div.stat-label", null, label));
  return stat(link(route, label), num(list.length));
}

// requestsTotal adds up courier_http_requests_total over its labels.
function requestsTotal(text) {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("courier_http_requests_total")) total += parseFloat(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  }
  return total;
}

// storageStats adds up what the queues, streams and archives hold now.
async function storageStats(caps, queues, streams, buses) {
  const persistent = caps.status === "fulfilled" ? (caps.value.persistent ? "on disk" : "in memory") : "—";
  const settled = (ps) => Promise.allSettled(ps).then((rs) => rs.filter((r) => r.status === "fulfilled").map((r) => r.value));
  const [qinfos, sinfos, archives] = await Promise.all([
    Array.isArray(queues) ? settled(queues.map((n) => api("GET", "/v1/queues/" + encodeURIComponent(n)))) : [],
    Array.isArray(streams) ? settled(streams.map((n) => api("GET", "/v1/streams/" + encodeURIComponent(n)))) : [],
    Array.isArray(buses) ? settled(buses.map((n) => api("GET", "/v1/buses/" + encodeURIComponent(n) + "/archives"))) : [],
  ]);
  const messages = qinfos.reduce((a, q) => a + q.stats.visible + q.stats.in_flight + q.stats.delayed, 0);
  const parts = sinfos.flatMap((s) => s.partitions);
  const arch = archives.flatMap((a) => a.archives);
  return kv([
    ["Data", persistent],
    ["Messages in queues", num(messages)],
    ["Stream records", `${num(parts.reduce((a, p) => a + p.records, 0))} (${bytes(parts.reduce((a, p) => a + p.bytes, 0))})`],
    ["Archived events", `${num(arch.reduce((a, x) => a + x.events, 0))} (${bytes(arch.reduce((a, x) => a + x.bytes, 0))})`],
  ]);
}

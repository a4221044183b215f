// Reading GET /v1/history: the samples the server takes every interval of
// each queue, topic, stream, consumer group and bus (server.WithHistory).

import {api} from "./api.js";
import {parseDuration} from "./dom.js";

/**
 * loadHistory fetches the series of resources ("queue:orders", ...; none
 * for all). It answers {enabled, intervalSeconds, series: Map(resource ->
 * {fields, points})}.
 */
export async function loadHistory(resources = []) {
  const q = resources.map((r) => "resource=" + encodeURIComponent(r)).join("&");
  const res = await api("GET", "/v1/history" + (q ? "?" + q : ""));
  const seconds = parseDuration(res.interval);
  const history = {
    enabled: res.interval !== "" && res.interval !== undefined,
    intervalSeconds: Number.isNaN(seconds) ? 0 : seconds,
    series: new Map(res.series.map((x) => [x.resource, x])),
  };
  noteInterval(history);
  return history;
}

/** points returns the [timeMs, value] pairs of one field of a series (none if absent). */
export function points(series, field) {
  if (!series) return [];
  const i = series.fields.indexOf(field);
  if (i < 0) return [];
  return series.points.map((p) => [Date.parse(p.at), p.values[i]]);
}

/** sum adds one field over several series, sample by sample. */
export function sum(seriesList, field) {
  const byTime = new Map();
  for (const x of seriesList) {
    for (const [t, v] of points(x, field)) byTime.set(t, (byTime.get(t) || 0) + v);
  }
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]);
}

/** rate turns a counter's points into per-second rates between samples (resets count as 0). */
export function rate(pts) {
  const out = [];
  for (let i = 1; i < pts.length; i++) {
    const dt = (pts[i][0] - pts[i - 1][0]) / 1000;
    if (dt > 0) out.push([pts[i][0], Math.max(0, (pts[i][1] - pts[i - 1][1]) / dt)]);
  }
  return out;
}

/** ofKind returns the series whose resource starts with prefix ("queue:"). */
export function ofKind(history, prefix) {
  return [...history.series.values()].filter((x) => x.resource.startsWith(prefix));
}

// The sampling interval the server last reported, in seconds (0: unknown).
let interval = 0;

/** refreshMs is how often pages refresh: the sampling interval, within 1 to 30 seconds (5 when unknown). */
export function refreshMs() {
  const seconds = interval > 0 ? interval : 5;
  return Math.min(30, Math.max(1, seconds)) * 1000;
}

/** noteInterval records the sampling interval of a history answer. */
export function noteInterval(history) {
  if (history.intervalSeconds > 0) interval = history.intervalSeconds;
}

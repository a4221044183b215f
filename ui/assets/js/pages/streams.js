// Streams: the list, and a stream's page with its partitions and offsets,
// its consumer groups and their lag over time, and a live tail of a
// partition.

import {api, path} from "../api.js";
import {h, table, kv, link, route, num, bytes, time, replace, field} from "../dom.js";
import {lineChart} from "../chart.js";
import {loadHistory, points} from "../history.js";
import {start, card, slot, settle} from "./common.js";
import {tail} from "./tail.js";

const totalLag = (g) => Object.values(g.lag || {}).reduce((a, b) => a + b, 0);

export function streamList(page) {
  const root = start(page, "streams", "Streams");
  const list = slot("stream-list");
  root.append(card("All streams", list));
  page.every(async () => {
    await settle(list, (async () => {
      const {streams} = await api("GET", "/v1/streams");
      const rs = await Promise.allSettled(streams.map((n) => api("GET", path("/v1/streams", n))));
      return rs.filter((r) => r.status === "fulfilled").map((r) => r.value);
    })(), (infos) => table(["Name", "Partitions", "Records", "Size", "Groups", "Total lag"], infos.map((s) => [
      link(route("streams", s.name), s.name), num(s.attributes.partitions),
      num(s.partitions.reduce((a, p) => a + p.records, 0)), bytes(s.partitions.reduce((a, p) => a + p.bytes, 0)),
      num(s.groups.length), num(s.groups.reduce((a, g) => a + totalLag(g), 0)),
    ]), "No streams yet."));
  });
}

export function streamDetail(page, name) {
  const root = start(page, "stream", name, [["/streams", "Streams"]], name);
  const attrs = slot("stream-attributes");
  const parts = slot("partitions");
  const groups = slot("groups");
  const charts = h("div.charts", null, slot(), slot());
  const partitionIn = h("select#tail-partition", {"aria-label": "Partition"}, h("option", {value: 0}, "partition 0"));
  const fromIn = h("select#tail-from", {"aria-label": "Start from"}, h("option", {value: "latest"}, "new records (latest)"), h("option", {value: "earliest"}, "the earliest record"));
  root.append(
    h("div.grid", null, card("Attributes", attrs), card("Partitions", parts)),
    card("Consumer groups", groups),
    card("Over time", charts),
    card("Live tail", [
      h("div.row", null, field("Partition", partitionIn), field("From", fromIn)),
      tail(page, () => ({stream: name, partition: Number(partitionIn.value), from: fromIn.value}),
        "Reads the partition over the WebSocket as records are appended. Reading a stream moves no group's offsets."),
    ]));

  let partitionsShown = 1;
  page.every(async () => {
    const info = await api("GET", path("/v1/streams", name));
    const a = info.attributes;
    replace(attrs, kv([
      ["Partitions", num(a.partitions)],
      ["Retention", a.retention === "0s" ? "no age limit" : a.retention],
      ["Retention per partition", a.retention_bytes ? bytes(a.retention_bytes) : "no size limit"],
      ["Compacted", a.compact ? `yes (delete markers kept ${a.delete_retention})` : "no"],
      ["Max record size", bytes(a.max_record_size)],
      ["Created", time(info.created_at)],
    ]));
    replace(parts, table(["Partition", "First offset", "End offset", "Records", "Size"], info.partitions.map((p) => [
      num(p.partition), num(p.first_offset), num(p.end_offset), num(p.records), bytes(p.bytes),
    ])));
    if (info.partitions.length !== partitionsShown) {
      partitionsShown = info.partitions.length;
      const keep = partitionIn.value;
      replace(partitionIn, info.partitions.map((p) => h("option", {value: p.partition}, `partition ${p.partition}`)));
      partitionIn.value = keep;
    }
    replace(groups, table(["Group", "Generation", "Members", "Committed", "Lag", "Total lag"], info.groups.map((g) => [
      g.name, num(g.generation),
      g.members?.length ? g.members.map((m) => h("div", null, h("code", null, m.name), ` partitions ${m.partitions.join(", ") || "none"}`)) : h("span.muted", null, "none"),
      offsets(g.committed), offsets(g.lag), h("strong", null, num(totalLag(g))),
    ]), "No consumer groups."));

    const resources = ["stream:" + name, ...info.groups.map((g) => `group:${name}/${g.name}`)];
    const hist = await loadHistory(resources);
    const empty = hist.enabled ? "No samples yet." : "History sampling is off on this server.";
    const ser = hist.series.get("stream:" + name);
    replace(charts,
      lineChart("Consumer group lag", info.groups.map((g) => ({label: g.name, points: points(hist.series.get(`group:${name}/${g.name}`), "lag")})),
        {id: "chart-lag", empty: info.groups.length ? empty : "No consumer groups."}),
      lineChart("Records", [
        {label: "records kept", points: points(ser, "records")},
        {label: "end offsets (sum)", points: points(ser, "end")},
      ], {id: "chart-records", empty}));
  });
}

function offsets(m) {
  const e = Object.entries(m || {});
  return e.length ? e.map(([p, o]) => h("div", null, `p${p}: ${num(o)}`)) : "—";
}

// Buses: the list, and a bus's page with its rules, a pattern tester, its
// archives and replays.

import {api, path} from "../api.js";
import {h, table, stat, link, route, num, bytes, time, badge, field, parseJSON, replace, json} from "../dom.js";
import {lineChart} from "../chart.js";
import {loadHistory, points} from "../history.js";
import {start, card, slot, action, result, settle, matchResult} from "./common.js";

export function busList(page) {
  const root = start(page, "buses", "Event buses");
  const list = slot("bus-list");
  root.append(card("All buses", list));
  page.every(async () => {
    await settle(list, (async () => {
      const {buses} = await api("GET", "/v1/buses");
      const rs = await Promise.allSettled(buses.map((n) => api("GET", path("/v1/buses", n))));
      return rs.filter((r) => r.status === "fulfilled").map((r) => r.value);
    })(), (infos) => table(["Name", "Description", "Accepted", "Matched", "Unmatched", "Rules", "Archives"], infos.map((b) => [
      link(route("buses", b.name), b.name), b.attributes.description || "—",
      num(b.stats.accepted), num(b.stats.matched), num(b.stats.unmatched), num(b.stats.rules), num(b.stats.archives),
    ]), "No buses."));
  });
}

const sampleEvent = {
  "version": "0", "id": "test-1", "detail-type": "Order Placed", "source": "shop", "account": "000000000000",
  "time": new Date().toISOString().replace(/\.\d+Z$/, "Z"), "region": "local", "resources": [], "detail": {"id": 7, "total": 250},
};

export function busDetail(page, name) {
  const root = start(page, "bus", name, [["/buses", "Event buses"]], name);
  const stats = slot("bus-stats");
  const rules = slot("rules");
  const archives = slot("archives");
  const replays = slot("replays");
  const chart = h("div.charts", null, slot());

  const patternIn = h("textarea#pattern", {rows: 12, spellcheck: "false"}, JSON.stringify({"source": ["shop"]}, null, 2));
  const eventIn = h("textarea#pattern-event", {rows: 12, spellcheck: "false"}, JSON.stringify(sampleEvent, null, 2));
  const test = h("button#pattern-test.primary", {type: "button"}, "Test");
  const testOut = result("pattern-result");
  action(test, testOut, async () => {
    const res = await api("POST", path("/v1/buses", name, "test-pattern"),
      {pattern: parseJSON(patternIn.value, "Pattern"), event: parseJSON(eventIn.value, "Event")});
    return matchResult(res.match);
  });
  const useRule = (r) => {
    patternIn.value = JSON.stringify(r.pattern, null, 2);
    patternIn.scrollIntoView({block: "center"});
  };

  // Start a replay.
  const replayName = h("input#replay-name", {type: "text", value: "replay-" + Date.now().toString(36)});
  const replayArchive = h("select#replay-archive", null);
  const hourAgo = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, "Z");
  const replayStart = h("input#replay-start", {type: "text", value: hourAgo, spellcheck: "false"});
  const replayEnd = h("input#replay-end", {type: "text", placeholder: "now", spellcheck: "false"});
  const replayRules = h("input#replay-rules", {type: "text", placeholder: "all rules (or: big, audit)"});
  const replayBtn = h("button#replay-start-btn.primary", {type: "button"}, "Start replay");
  const replayOut = result("replay-result");
  action(replayBtn, replayOut, async () => {
    const req = {
      name: replayName.value.trim(), bus: name, archive: replayArchive.value,
      start: replayStart.value.trim(), end: replayEnd.value.trim() || new Date().toISOString(),
    };
    const rs = replayRules.value.split(",").map((x) => x.trim()).filter(Boolean);
    if (rs.length) req.rules = rs;
    const res = await api("POST", "/v1/replays", req);
    replayName.value = "replay-" + Date.now().toString(36);
    return `replay ${res.name} ${res.state}`;
  }, () => refresh());

  root.append(
    stats,
    card("Rules", rules),
    card("Test an event pattern", [
      h("p.note", null, "Match an event against a pattern with the matcher the rules use. “Use” on a rule loads its pattern here."),
      h("div.row", null, field("Pattern", patternIn), field("Event (the envelope)", eventIn)),
      h("div.buttons", null, test), testOut]),
    card("Over time", chart),
    h("div.grid", null,
      card("Archives", archives),
      card("Replays", [replays,
        h("h3", null, "Replay archived events"),
        h("div.row", null, field("Name", replayName), field("Archive", replayArchive)),
        h("div.row", null, field("From (RFC 3339)", replayStart), field("Until (RFC 3339)", replayEnd)),
        field("Only the rules", replayRules),
        h("div.buttons", null, replayBtn), replayOut])));

  const refresh = page.every(async () => {
    const info = await api("GET", path("/v1/buses", name));
    replace(stats, h("div.stats.wide", null,
      stat("accepted", num(info.stats.accepted)), stat("matched", num(info.stats.matched)),
      stat("unmatched", num(info.stats.unmatched)), stat("rules", num(info.stats.rules)), stat("archives", num(info.stats.archives))));

    await settle(rules, api("GET", path("/v1/buses", name, "rules")), (res) => table(
      ["Rule", "State", "Pattern or schedule", "Targets", "Matched", ""],
      res.rules.map((r) => [
        [h("strong", null, r.name), r.description ? h("div.hint", null, r.description) : null],
        badge(r.state, r.state === "enabled" ? "good" : "warn"),
        r.schedule ? [h("code", null, r.schedule), r.next_fire ? h("div.hint", null, "next " + time(r.next_fire)) : null] : json(r.pattern),
        r.targets.map((t) => {
          const st = r.stats.targets.find((x) => x.id === t.id);
          return h("div", null, h("code", null, t.id), " → ", targetOf(t),
            st ? h("span.hint", null, ` delivered ${num(st.delivered)}, failed ${num(st.failed)}, backlog ${num(st.backlog.visible)}`) : null);
        }),
        num(r.stats.matched),
        r.pattern ? h("button.small", {type: "button", onclick: () => useRule(r), dataset: {rule: r.name}}, "Use") : null,
      ]), "No rules."));

    const arch = await settle(archives, api("GET", path("/v1/buses", name, "archives")), (res) => table(
      ["Archive", "Events", "Size", "Retention", "Pattern", "Created"],
      res.archives.map((a) => [a.name, num(a.events), bytes(a.bytes), a.retention === "0s" ? "for ever" : a.retention,
        a.pattern ? json(a.pattern) : "all events", time(a.created_at)]), "No archives."));
    if (arch) {
      const keep = replayArchive.value;
      replace(replayArchive, arch.archives.map((a) => h("option", {value: a.name}, a.name)));
      if (keep) replayArchive.value = keep;
    }

    await settle(replays, api("GET", "/v1/replays"), (res) => table(
      ["Replay", "Archive", "State", "Replayed", "Window", "Started", ""],
      res.replays.filter((r) => r.bus === name).map((r) => [
        r.name, r.archive, [badge(r.state, r.state === "failed" ? "bad" : r.state === "running" ? "warn" : "good"), r.error ? h("div.hint", null, r.error) : null],
        num(r.replayed), `${time(r.start)} – ${time(r.end)}`, time(r.started_at),
        r.state === "running" ? cancelButton(r.name) : null,
      ]), "No replays of this bus."));

    const hist = await loadHistory(["bus:" + name]);
    const ser = hist.series.get("bus:" + name);
    replace(chart, lineChart("Events (totals since the server started)", [
      {label: "accepted", points: points(ser, "accepted")},
      {label: "matched", points: points(ser, "matched")},
      {label: "unmatched", points: points(ser, "unmatched")},
    ], {id: "chart-bus", empty: hist.enabled ? "No samples yet." : "History sampling is off on this server."}));
  });
}

function targetOf(t) {
  switch (t.kind) {
    case "queue": return ["queue ", link(route("queues", t.queue), t.queue)];
    case "topic": return ["topic ", link(route("topics", t.topic), t.topic)];
    case "stream": return ["stream ", link(route("streams", t.stream), t.stream)];
    case "bus": return ["bus ", link(route("buses", t.bus), t.bus)];
    case "http": return ["http ", h("code", null, t.http?.endpoint || "")];
    default: return t.kind;
  }
}

function cancelButton(replay) {
  const b = h("button.small", {type: "button"}, "Cancel");
  const out = h("span");
  action(b, out, async () => {
    const res = await api("POST", path("/v1/replays", replay, "cancel"));
    return res.state;
  });
  return [b, out];
}

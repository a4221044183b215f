// Topics: the list, and a topic's page with its subscriptions and their
// filter policies, a filter-policy tester, a test publish and a live tail.

import {api, path} from "../api.js";
import {h, table, stat, link, route, num, time, badge, field, parseJSON, replace, json} from "../dom.js";
import {lineChart} from "../chart.js";
import {loadHistory, points} from "../history.js";
import {tail} from "./tail.js";
import {start, card, slot, action, result, settle, matchResult} from "./common.js";

export function topicList(page) {
  const root = start(page, "topics", "Topics");
  const list = slot("topic-list");
  root.append(card("All topics", list));
  page.every(async () => {
    await settle(list, (async () => {
      const {topics} = await api("GET", "/v1/topics");
      const rs = await Promise.allSettled(topics.map((n) => api("GET", path("/v1/topics", n))));
      return rs.filter((r) => r.status === "fulfilled").map((r) => r.value);
    })(), (infos) => table(["Name", "Kind", "Published", "Subscriptions", "Live tails", "Created"], infos.map((t) => [
      link(route("topics", t.name), t.name), t.attributes.fifo ? "FIFO" : "standard",
      num(t.stats.published), num(t.stats.subscriptions), num(t.stats.tails), time(t.created_at),
    ]), "No topics yet."));
  });
}

const sampleHeaders = '{"region": "eu"}';

export function topicDetail(page, name) {
  const root = start(page, "topic", name, [["/topics", "Topics"]], name);
  const stats = slot("topic-stats");
  const chart = h("div.charts", null, slot());
  const subs = slot("subscriptions");

  // The filter tester.
  const policyIn = h("textarea#filter-policy", {rows: 5, spellcheck: "false"}, '{"region": ["eu"]}');
  const scopeIn = h("select#filter-scope", null, h("option", {value: "attributes"}, "attributes (headers)"), h("option", {value: "body"}, "body (a JSON body)"));
  const msgBody = h("textarea#filter-body", {rows: 3, spellcheck: "false"}, '{"total": 250}');
  const msgHeaders = h("textarea#filter-headers", {rows: 2, spellcheck: "false"}, sampleHeaders);
  const test = h("button#filter-test.primary", {type: "button"}, "Test");
  const testOut = result("filter-result");
  action(test, testOut, async () => {
    const req = {
      filter_policy: parseJSON(policyIn.value, "Filter policy"),
      filter_scope: scopeIn.value,
      message: {body: msgBody.value},
    };
    const headers = parseJSON(msgHeaders.value, "Headers", true);
    if (headers !== undefined) req.message.headers = headers;
    const res = await api("POST", path("/v1/topics", name, "test-filter"), req);
    return matchResult(res.match);
  });
  const useSubscription = (sub) => {
    policyIn.value = JSON.stringify(sub.filter_policy || {}, null, 2);
    scopeIn.value = sub.filter_scope || "attributes";
    policyIn.scrollIntoView({block: "center"});
  };

  // Publish a test message.
  const pubBody = h("textarea#publish-body", {rows: 2, spellcheck: "false"}, "hello from the dashboard");
  const pubHeaders = h("input#publish-headers", {type: "text", spellcheck: "false", value: sampleHeaders});
  const publish = h("button#publish.primary", {type: "button"}, "Publish");
  const pubOut = result("publish-result");
  action(publish, pubOut, async () => {
    const msg = {body: pubBody.value};
    const headers = parseJSON(pubHeaders.value, "Headers", true);
    if (headers !== undefined) msg.headers = headers;
    const res = await api("POST", path("/v1/topics", name, "messages"), msg);
    return ["published, id ", h("code", null, res.id)];
  }, () => refresh());

  root.append(
    stats,
    card("Subscriptions", subs),
    h("div.grid", null,
      card("Test a filter policy", [
        h("p.note", null, "Match a sample message against a filter policy, as a subscription would. " +
          "“Use” on a subscription loads its policy here."),
        field("Filter policy", policyIn), field("Scope", scopeIn),
        field("Message body", msgBody), field("Message headers (JSON object)", msgHeaders),
        h("div.buttons", null, test), testOut]),
      card("Publish a test message", [field("Body", pubBody), field("Headers (JSON object)", pubHeaders), h("div.buttons", null, publish), pubOut])),
    card("Live tail", tail(page, {topic: name, raw: true}, "An ephemeral subscription over the WebSocket: it shows what is published " +
      "while it is open, consumes nothing from the subscriptions, and ends when you stop it or leave the page.", true)),
    card("Over time", chart));

  const refresh = page.every(async () => {
    const info = await api("GET", path("/v1/topics", name));
    replace(stats, h("div.stats.wide", null,
      stat("published", num(info.stats.published)), stat("subscriptions", num(info.stats.subscriptions)),
      stat("live tails", num(info.stats.tails)), stat("kind", info.attributes.fifo ? "FIFO" : "standard")));
    await settle(subs, api("GET", path("/v1/topics", name, "subscriptions")), ({subscriptions}) =>
      table(["Name", "Kind", "Delivers to", "Filter policy", "Status", "Delivered", "Filtered out", "Backlog", ""],
        subscriptions.map((sub) => [
          sub.name, sub.kind + (sub.raw ? " (raw)" : ""),
          sub.kind === "queue" ? link(route("queues", sub.queue), sub.queue) : sub.kind === "http" ? h("code", null, sub.endpoint) : "its own queue",
          sub.filter_policy ? [json(sub.filter_policy), h("span.hint", null, "on " + (sub.filter_scope || "attributes"))] : h("span.muted", null, "everything"),
          badge(sub.status.replace("_", " "), sub.status === "active" ? "good" : "warn"),
          num(sub.stats.delivered), num(sub.stats.filtered_out),
          `${num(sub.stats.backlog.visible)} visible, ${num(sub.stats.backlog.in_flight)} in flight`,
          h("button.small", {type: "button", onclick: () => useSubscription(sub), dataset: {sub: sub.name}}, "Use"),
        ]), "No subscriptions."));
    const hist = await loadHistory(["topic:" + name]);
    const ser = hist.series.get("topic:" + name);
    replace(chart, lineChart("Published (total) and subscriptions", [
      {label: "published", points: points(ser, "published")},
      {label: "subscriptions", points: points(ser, "subscriptions")},
      {label: "live tails", points: points(ser, "tails")},
    ], {id: "chart-topic", empty: hist.enabled ? "No samples yet." : "History sampling is off on this server."}));
  });
}

// Line charts drawn as SVG, for the series of GET /v1/history. A chart
// scales uniformly with its container (viewBox); colours come from the
// style sheet (classes s0, s1, ...), so the page needs no inline style.

import {h, s, compact, clock} from "./dom.js";

const W = 640;
const H = 210;
const M = {left: 52, right: 14, top: 12, bottom: 26};

/**
 * lineChart draws series ([{label, points: [[timeMs, value], ...]}]) and
 * returns a figure with a title and a legend that shows each series' last
 * value. opts.format formats values (default compact); opts.id sets the
 * figure's id.
 */
export function lineChart(title, series, opts = {}) {
  const format = opts.format || compact;
  const all = series.flatMap((x) => x.points);
  const fig = h("figure.chart", opts.id ? {id: opts.id} : null, h("figcaption", null, title));
  if (all.length === 0) {
    fig.append(h("div.chart-empty", null, opts.empty || "No samples yet."));
    return fig;
  }
  let t0 = Math.min(...all.map((p) => p[0]));
  let t1 = Math.max(...all.map((p) => p[0]));
  if (t1 === t0) {
    t0 -= 1000;
    t1 += 1000;
  }
  const top = niceMax(Math.max(...all.map((p) => p[1])));
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (v / top) * (H - M.top - M.bottom);

  const svg = s("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title});
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    svg.append(
      s("line", {x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: "grid"}),
      s("text", {x: M.left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end"}, format(v)));
  }
  for (const [t, anchor] of [[t0, "start"], [(t0 + t1) / 2, "middle"], [t1, "end"]]) {
    svg.append(s("text", {x: x(t), y: H - 8, class: "axis", "text-anchor": anchor}, clock(t)));
  }
  series.forEach((ser, i) => {
    const cls = "s" + (i % 8);
    if (ser.points.length === 1) {
      const [t, v] = ser.points[0];
      svg.append(s("circle", {cx: x(t), cy: y(v), r: 3, class: "dot " + cls}));
      return;
    }
    const d = ser.points.map(([t, v], j) => (j ? "L" : "M") + x(t).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
    svg.append(s("path", {d, class: "line " + cls}));
  });
  fig.append(svg, h("ul.legend", null, series.map((ser, i) => {
    const last = ser.points.length ? ser.points[ser.points.length - 1][1] : undefined;
    return h("li", null, h("span.swatch.s" + (i % 8)), ser.label + ": ", h("strong", null, last === undefined ? "—" : format(last)));
  })));
  return fig;
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) {
    if (v <= m * p) return m * p;
  }
  return 10 * p;
}

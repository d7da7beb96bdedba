// report.js: draws the charts of an `mdp report` page from the data the page embeds (REPORT, written by
// apps/report.cpp), as SVG, with a smoothing slider that works as TensorBoard's (an exponential moving
// average, debiased at the start). Embedded in the page at build time: the page needs no network.
// Each element <div class="chart" data-chart="N"> gets REPORT.charts[N]:
//   {title, x_label, y_label, smooth (bool), series: [{name, x: [..], y: [..]}]}
// Axes span round tick values (steps of 1, 2 or 5 times a power of ten); a single point is drawn as a
// point; the legend lists every series under the chart.
"use strict";

// A script error is recorded on the page itself (tools/check_report.py fails on it, as on any console message).
window.addEventListener("error", (e) => { document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + "; "; });

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"];
const SVG_NS = "http://www.w3.org/2000/svg";

// integer: the values are counts (iterations), so no step below 1.
function niceTicks(lo, hi, target, integer = false) {
  // Values equal up to rounding (a constant logged as 0.1 and 0.10000000000000002): one tick, as for
  // equal ones; a step below the values' resolution would never advance the loop below.
  if (hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) return [lo];
  const raw = (hi - lo) / target, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
  const step = Math.max(integer ? 1 : 0, mag * (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10));
  const ticks = [];
  for (let i = Math.floor(lo / step + 1e-9); i * step < hi + step * (1 - 1e-9) && ticks.length < 50; i++)
    ticks.push(Math.abs(i * step) < step * 1e-9 ? 0 : i * step);
  return ticks;
}

function tickLabel(v, ticks) {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : Math.abs(v);
  let decimals = 0;  // the fewest that show the step exactly
  while (decimals < 6 && step > 0) {
    const scaled = step * Math.pow(10, decimals);
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) break;
    decimals++;
  }
  if (Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-4 && v !== 0)) return v.toExponential(1);
  return v.toFixed(decimals);
}

// TensorBoard's smoothing: y_t = w * y_{t-1} + (1 - w) * x_t, divided by 1 - w^t (no pull towards 0).
function smooth(ys, w) {
  if (w <= 0) return ys;
  let last = 0, n = 0;
  return ys.map((y) => {
    if (!Number.isFinite(y)) return y;
    last = last * w + (1 - w) * y;
    n++;
    return last / (1 - Math.pow(w, n));
  });
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawChart(div, chart, weight) {
  div.textContent = "";
  const W = 460, H = 280, l = 60, r = W - 15, t = 30, b = H - 40;
  const svg = el("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "chart-svg"});
  svg.appendChild(el("text", {x: W / 2, y: 18, "text-anchor": "middle", "font-size": 14, class: "chart-title"}, chart.title));
  const w = chart.smooth ? weight : 0;
  const shown = chart.series.map((s) => ({name: s.name, x: s.x, raw: s.y, y: smooth(s.y, w)}));
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const s of shown)
    s.x.forEach((x, i) => {
      for (const y of [s.y[i], s.raw[i]]) {
        if (!Number.isFinite(y)) continue;
        xmin = Math.min(xmin, x); xmax = Math.max(xmax, x);
        ymin = Math.min(ymin, y); ymax = Math.max(ymax, y);
      }
    });
  if (!Number.isFinite(xmin)) {
    svg.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#888"}, "no data"));
    div.appendChild(svg);
    return;
  }
  const xt = niceTicks(xmin, xmax, 4, true), yt = niceTicks(ymin, ymax, 4);
  let x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
  if (xt.length === 1) { x0 = xmin - 1; x1 = xmin + 1; }  // one x value (one evaluation): in the middle
  if (yt.length === 1) { y0 = ymin - 1; y1 = ymin + 1; }
  const X = (v) => l + (v - x0) / (x1 - x0) * (r - l), Y = (v) => b - (v - y0) / (y1 - y0) * (b - t);
  for (const v of yt) {
    svg.appendChild(el("line", {x1: l, x2: r, y1: Y(v), y2: Y(v), stroke: "#eee"}));
    svg.appendChild(el("text", {x: l - 4, y: Y(v) + 3, "text-anchor": "end", "font-size": 10, class: "tick"}, tickLabel(v, yt)));
  }
  for (const v of (xt.length === 1 ? [xmin] : xt))
    svg.appendChild(el("text", {x: X(v), y: b + 14, "text-anchor": "middle", "font-size": 10, class: "tick"}, tickLabel(v, xt)));
  svg.appendChild(el("line", {x1: l, x2: r, y1: b, y2: b, stroke: "black"}));
  svg.appendChild(el("line", {x1: l, x2: l, y1: t, y2: b, stroke: "black"}));
  svg.appendChild(el("text", {x: (l + r) / 2, y: b + 32, "text-anchor": "middle", "font-size": 11}, chart.x_label));
  svg.appendChild(el("text", {x: 12, y: (t + b) / 2, "text-anchor": "middle", "font-size": 11,
                              transform: `rotate(-90 12 ${(t + b) / 2})`}, chart.y_label));
  const legend = document.createElement("div");
  legend.className = "legend";
  shown.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    const points = (ys) => s.x.map((x, i) => Number.isFinite(ys[i]) ? `${X(x).toFixed(1)},${Y(ys[i]).toFixed(1)}` : null)
                                .filter((p) => p !== null).join(" ");
    if (w > 0) svg.appendChild(el("polyline", {points: points(s.raw), fill: "none", stroke: color, "stroke-opacity": 0.25}));
    svg.appendChild(el("polyline", {points: points(s.y), fill: "none", stroke: color, "stroke-width": 1.5, class: "series"}));
    const finite = s.x.filter((x, i) => Number.isFinite(s.y[i])).length;
    if (finite < 40)  // few points (one evaluation included) are drawn as points
      s.x.forEach((x, i) => {
        if (!Number.isFinite(s.y[i])) return;
        const c = el("circle", {cx: X(x), cy: Y(s.y[i]), r: 2.5, fill: color, class: "point"});
        c.appendChild(el("title", {}, `${s.name}: ${s.raw[i]} at ${x}`));
        svg.appendChild(c);
      });
    const item = document.createElement("span");
    item.className = "legend-item";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = color;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(s.name));
    legend.appendChild(item);
  });
  div.appendChild(svg);
  div.appendChild(legend);
}

function drawAll() {
  const weight = Number(document.getElementById("smoothing").value);
  document.getElementById("smoothing-value").textContent = weight.toFixed(2);
  for (const div of document.querySelectorAll("div.chart")) drawChart(div, REPORT.charts[Number(div.dataset.chart)], weight);
}

document.getElementById("smoothing").addEventListener("input", drawAll);
drawAll();

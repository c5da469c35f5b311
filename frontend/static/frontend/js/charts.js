// Scene signals as stacked uPlot charts sharing one time axis: hover cursors are synced,
// a playhead line follows the master clock, disengagements are marked, a click seeks.
import { h } from "./dom.js";
import { KMH_PER_MPS } from "./format.js";

const AXIS = { stroke: "#8b93a7", grid: { stroke: "rgba(255,255,255,0.05)", width: 1 }, ticks: { stroke: "rgba(255,255,255,0.08)", width: 1 } };
const FONT = '11px "Inter Variable", system-ui, sans-serif';

// What to plot, from the signal channels a scene's manifest line may carry.
const PANELS = [
  { title: "Speed", unit: "km/h", series: [{ channel: "speed_mps", label: "speed", color: "#7c8cff", scale: KMH_PER_MPS, fill: "rgba(124,140,255,0.10)" }] },
  { title: "Acceleration", unit: "m/s²", zero: true, series: [{ channel: "accel_mps2", label: "accel", color: "#3fcf8e" }] },
  { title: "Steering", unit: "°", zero: true, series: [{ channel: "steering_angle_deg", label: "steering", color: "#f3b54a" }] },
  { title: "Brake / throttle", unit: "0–1", range: [0, 1], series: [
    { channel: "brake", label: "brake", color: "#ff6370" },
    { channel: "throttle", label: "throttle", color: "#3fcf8e" },
  ] },
  { title: "GNSS fix", unit: "", step: true, series: [{ channel: "gnss_fix", label: "fix", color: "#c08cff", fill: "rgba(192,140,255,0.10)" }] },
];

function valueText(v, digits = 1) {
  return v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toFixed(digits);
}

export function renderCharts(container, signals, { duration, disengagements, onSeek }) {
  const uPlot = window.uPlot;
  container.replaceChildren();
  if (!signals || !signals.t_s || !signals.t_s.length) {
    container.append(h("div", { class: "empty-note" }, "This scene has no signals."));
    return { update() {} };
  }
  const t = signals.t_s;
  const channels = signals.channels || {};
  const charts = [];
  let playheadT = 0;

  const panels = PANELS.map((panel) => ({
    ...panel,
    series: panel.series.filter((s) => Array.isArray(channels[s.channel])),
  })).filter((panel) => panel.series.length);

  panels.forEach((panel, index) => {
    const last = index === panels.length - 1;
    const data = [t, ...panel.series.map((s) => channels[s.channel].map((v) => (v === null ? null : v * (s.scale || 1))))];
    const label = h("div", { class: "chart-label" });
    const host = h("div", { class: "chart" }, label);
    container.append(host);

    const showValues = (idx) => {
      const values = panel.series.map((s, i) => `${s.label === panel.series[0].label && panel.series.length === 1 ? "" : `${s.label} `}${valueText(data[i + 1][idx], panel.step ? 0 : 1)}`);
      label.replaceChildren(`${panel.title}${panel.unit ? ` (${panel.unit})` : ""}`, h("b", {}, values.join("  ")));
    };

    const opts = {
      width: Math.max(200, container.clientWidth - 8),
      height: last ? 104 : 78,
      legend: { show: false },
      padding: [16, 10, 0, 0],
      cursor: {
        sync: { key: "scene-signals", setSeries: false },
        drag: { x: false, y: false },
        points: { size: 6 },
      },
      scales: {
        x: { time: false, range: [0, duration] },
        y: panel.range ? { range: panel.range } : { range: (u, min, max) => padRange(min, max, panel.zero) },
      },
      axes: [
        { ...AXIS, show: true, size: last ? 28 : 0, font: FONT, values: last ? (u, vals) => vals.map((v) => `${v}s`) : () => [], ticks: { ...AXIS.ticks, show: last } },
        { ...AXIS, size: 52, font: FONT, ticks: { ...AXIS.ticks, show: false }, values: (u, vals) => vals.map((v) => +v.toFixed(2)) },
      ],
      series: [
        {},
        ...panel.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.6,
          fill: s.fill,
          points: { show: false },
          paths: panel.step ? uPlot.paths.stepped({ align: 1 }) : undefined,
          spanGaps: false,
        })),
      ],
      hooks: {
        draw: [(u) => drawMarkers(u, disengagements)],
        setCursor: [(u) => showValues(u.cursor.idx ?? indexAt(t, playheadT))],
      },
    };
    const chart = new uPlot(opts, data, host);
    const playhead = h("div", { class: "playhead", style: "position:absolute;top:0;bottom:0;width:0;border-left:1.5px solid #fff;pointer-events:none;opacity:.85" });
    chart.over.append(playhead);
    chart.over.addEventListener("click", (event) => {
      const rect = chart.over.getBoundingClientRect();
      onSeek(Math.max(0, Math.min(duration, chart.posToVal(event.clientX - rect.left, "x"))));
    });
    chart.over.style.cursor = "pointer";
    charts.push({ chart, playhead, showValues });
    showValues(0);
  });

  new ResizeObserver(() => {
    const width = Math.max(200, container.clientWidth - 8);
    charts.forEach(({ chart }) => chart.setSize({ width, height: chart.height }));
    update(playheadT);
  }).observe(container);

  function update(time) {
    playheadT = time;
    const idx = indexAt(t, time);
    for (const { chart, playhead, showValues } of charts) {
      playhead.style.left = `${chart.valToPos(time, "x")}px`;
      if (chart.cursor.idx === null || chart.cursor.left < 0) showValues(idx);
    }
  }
  return { update };
}

function padRange(min, max, zero) {
  if (min === null || max === null) return [0, 1];
  if (zero) {
    const m = Math.max(Math.abs(min), Math.abs(max), 0.5) * 1.1;
    return [-m, m];
  }
  const span = max - min || Math.max(1, Math.abs(max));
  return [Math.min(0, min - span * 0.05), max + span * 0.08];
}

function indexAt(t, time) {
  if (!t.length) return 0;
  const hz = t.length > 1 ? 1 / (t[1] - t[0]) : 1;
  return Math.max(0, Math.min(t.length - 1, Math.round(time * hz)));
}

function drawMarkers(u, disengagements) {
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = "rgba(255,99,112,0.85)";
  ctx.lineWidth = 1.5 * devicePixelRatio;
  ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
  for (const d of disengagements) {
    const x = Math.round(u.valToPos(d.t_s, "x", true));
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
  }
  ctx.restore();
}

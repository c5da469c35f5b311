// The search's active filters as removable chips above the results, in the units the form
// uses, so the whole search reads at a glance even when the sidebar is scrolled.
import { config } from "./config.js";
import { h } from "./dom.js";
import { KMH_PER_MPS, localDateTime } from "./format.js";

const num = (v, scale = 1, digits = 0) => {
  const n = Number(v);
  return Number.isFinite(n) ? (n * scale).toFixed(digits).replace(/\.0+$/, "") : v;
};
const kmh = (v) => `${num(v, KMH_PER_MPS)} km/h`;
const pct = (v) => `${num(v, 100)}%`;

const LABELS = {
  vehicle: (v) => ["vehicle", v],
  tag: (v) => ["tag", v],
  drive: (v) => ["drive", v],
  start_after: (v) => ["after", localDateTime(v)],
  start_before: (v) => ["before", localDateTime(v)],
  max_speed_gte: (v) => ["max speed ≥", kmh(v)],
  max_speed_lte: (v) => ["max speed ≤", kmh(v)],
  mean_speed_gte: (v) => ["mean speed ≥", kmh(v)],
  mean_speed_lte: (v) => ["mean speed ≤", kmh(v)],
  has_disengagement: (v) => [v === "true" ? "with disengagements" : v === "false" ? "without disengagements" : "disengagement", v === "true" || v === "false" ? "" : v],
  gnss_fix_rate_gte: (v) => ["GNSS fix ≥", pct(v)],
  gnss_fix_rate_lte: (v) => ["GNSS fix ≤", pct(v)],
  near: (v) => {
    const [lat, lon, r] = String(v).split(",");
    return ["near", r === undefined ? v : `${num(lat, 1, 4)}, ${num(lon, 1, 4)} · ${num(r)} m`];
  },
  bbox: () => ["in drawn box", ""],
  hour_gte: (v) => ["hour ≥", v],
  hour_lte: (v) => ["hour ≤", v],
  speed_mps_gte: (v) => ["at the moment speed ≥", kmh(v)],
  speed_mps_lte: (v) => ["at the moment speed ≤", kmh(v)],
  accel_mps2_gte: (v) => ["at the moment accel ≥", `${num(v, 1, 1)} m/s²`],
  accel_mps2_lte: (v) => ["at the moment accel ≤", `${num(v, 1, 1)} m/s²`],
  brake_gte: (v) => ["at the moment brake ≥", pct(v)],
  steering_abs_deg_gte: (v) => ["at the moment steering ≥", `${num(v)}°`],
  disengagement_within_s: (v) => ["disengagement within", `${num(v, 1, 1)} s`],
  quality: (v) => ["quality", v === "ok" ? "no flags" : v === "flagged" ? "flagged" : v],
};

export function renderActiveFilters(host, params, onRemove) {
  const chips = [];
  for (const name of [...(config.filterNames || []), ...(config.momentNames || [])]) {
    for (const value of params.getAll(name)) {
      if (value === "") continue;
      const [label, shown] = (LABELS[name] || ((v) => [name, v]))(value);
      chips.push(h("span", { class: "chip", "data-filter": name },
        label, shown ? h("b", {}, shown) : null,
        h("button", { type: "button", "aria-label": `Remove filter ${label} ${shown}`, onclick: () => onRemove(name, value) }, "×")));
    }
  }
  host.replaceChildren(...chips);
}

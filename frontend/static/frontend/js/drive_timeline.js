// A drive on one time axis: where each scene lies (`offset_s` from the drive's start),
// where the car recorded nothing, and the timeline drawn from them.
import { h } from "./dom.js";

// Shorter holes between scenes (encoder jitter) are not drawn as gaps; the player still
// steps over them.
export const VISIBLE_GAP_S = 1;

// `{index, inScene}`: the scene covering drive time `t` (inScene), or, in a gap or before
// the first scene, the index of the next scene (scenes.length past the last).
export function locate(scenes, t) {
  let lo = 0;
  let hi = scenes.length - 1;
  let last = -1; // last scene starting at or before t
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (scenes[mid].offset_s <= t) {
      last = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (last >= 0 && t < end(scenes[last])) return { index: last, inScene: true };
  return { index: last + 1, inScene: false };
}

export function end(scene) {
  return scene.offset_s + scene.duration_s;
}

// `[{from, to}]` in drive seconds where nothing was recorded for at least VISIBLE_GAP_S.
export function gaps(scenes) {
  const out = [];
  let reach = scenes.length ? end(scenes[0]) : 0;
  for (const scene of scenes.slice(1)) {
    if (scene.offset_s - reach >= VISIBLE_GAP_S) out.push({ from: reach, to: scene.offset_s });
    reach = Math.max(reach, end(scene));
  }
  return out;
}

// Contiguous recording: `[{from, to}]` covering the scenes, split at visible gaps.
function runs(scenes) {
  const out = [];
  for (const scene of scenes) {
    const last = out[out.length - 1];
    if (last && scene.offset_s - last.to < VISIBLE_GAP_S) last.to = Math.max(last.to, end(scene));
    else out.push({ from: scene.offset_s, to: end(scene) });
  }
  return out;
}

// "1 h 02 min", "4 min 05 s", "12.5 s"
export function span(seconds) {
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

// "1:02:03" / "2:03.4": position in the drive.
export function clockText(seconds, { tenths = false } = {}) {
  const s = Math.max(0, seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const sec = tenths ? ss.toFixed(1).padStart(4, "0") : String(Math.floor(ss)).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${sec}` : `${mm}:${sec}`;
}

const AXIS_STEPS_S = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];
const MAX_AXIS_LABELS = 9;

// The drive as a lane: recorded runs, hatched gaps, one tick per scene boundary (one SVG
// path, however many scenes), disengagement marks, a playhead, and local wall-clock labels
// under it. `wallLabel(t)` formats drive time `t` as local time; `utcOffsetS` aligns labels
// to whole local hours and minutes.
export function renderTimeline({ lane, playhead, axis, scenes, duration, wallLabel, utcOffsetS, startMs, onMark }) {
  const pct = (t) => `${((t / duration) * 100).toFixed(4)}%`;
  const width = (from, to) => `${(((to - from) / duration) * 100).toFixed(4)}%`;
  const items = [];
  for (const g of gaps(scenes)) {
    items.push(h("div", {
      class: "tl-gap", style: `left:${pct(g.from)};width:${width(g.from, g.to)}`,
      title: `Not recorded: ${wallLabel(g.from)}–${wallLabel(g.to)} (${span(g.to - g.from)})`,
      "data-from": g.from.toFixed(3), "data-to": g.to.toFixed(3),
    }));
  }
  for (const r of runs(scenes)) {
    items.push(h("div", { class: "tl-run", style: `left:${pct(r.from)};width:${width(r.from, r.to)}` }));
  }
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "tl-bounds");
  svg.setAttribute("viewBox", `0 0 ${duration} 1`);
  svg.setAttribute("preserveAspectRatio", "none");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", scenes.slice(1).map((s) => `M${s.offset_s.toFixed(3)} 0V1`).join(""));
  path.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(path);
  items.push(svg);
  for (const scene of scenes) {
    for (const d of scene.disengagements || []) {
      const t = scene.offset_s + d.t_s;
      items.push(h("button", {
        type: "button", class: "tl-diseng", style: `left:${pct(t)}`, "data-t": t.toFixed(3),
        title: `${d.kind.replaceAll("_", " ")} at ${wallLabel(t)} (${scene.scene_id})`,
        "aria-label": `Seek to ${d.kind} at ${wallLabel(t)}`,
        onclick: (event) => { event.stopPropagation(); onMark(t); },
      }));
    }
  }
  lane.replaceChildren(...items);

  const step = AXIS_STEPS_S.find((s) => duration / s <= MAX_AXIS_LABELS) || AXIS_STEPS_S.at(-1);
  const startLocal = startMs / 1000 + utcOffsetS;
  const labels = [];
  for (let local = Math.ceil(startLocal / step) * step; local - startLocal <= duration; local += step) {
    const t = local - startLocal;
    labels.push(h("span", { style: `left:${pct(t)}` }, wallLabel(t, { seconds: false })));
  }
  axis.replaceChildren(...labels);

  return {
    update(t) {
      playhead.style.left = pct(Math.max(0, Math.min(duration, t)));
    },
  };
}

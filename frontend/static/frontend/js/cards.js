// Result cards: the matched moment's thumbnail, score, vehicle, local time, speed and
// disengagements. Each card carries `data-scene-id`, by which tests and scripts find it.
import { h, icon } from "./dom.js";
import { kmh, localDateTime, seconds } from "./format.js";

export function sceneHref(sceneId, frame) {
  const base = `/scenes/${encodeURIComponent(sceneId)}`;
  if (!frame) return base;
  const params = new URLSearchParams({ t: String(frame.t_s), camera: frame.camera });
  return `${base}?${params}`;
}

// Search results and scene list rows share a card; attributes may sit on the result or
// under `result.scene`.
export function normalize(result) {
  const scene = result.scene && typeof result.scene === "object" ? result.scene : result;
  const sceneId = result.scene_id || scene.scene_id;
  const frame = result.frame || null;
  const diseng = scene.disengagement_count ?? (Array.isArray(scene.disengagements) ? scene.disengagements.length : null);
  return {
    sceneId,
    score: typeof result.score === "number" ? result.score : null,
    frame,
    href: sceneHref(sceneId, frame),
    vehicle: scene.vehicle_id ?? scene.vehicle ?? null,
    startTime: scene.start_time ?? null,
    maxSpeed: scene.max_speed_mps ?? null,
    meanSpeed: scene.mean_speed_mps ?? null,
    disengagements: diseng,
    tags: scene.tags || [],
    matched: result.matched_by || result.match || null,
    startLat: scene.start_lat ?? null,
    startLon: scene.start_lon ?? null,
    qualityFlags: scene.quality_flags || [],
  };
}

const QUALITY_LABELS = {
  gnss_low: ["GNSS low", "GNSS fix rate below the threshold"],
  gnss_outage: ["GNSS outage", "Recorded on a fleet-wide GNSS outage day"],
};

// A scene's quality flags as warning chips (left out of frozen versions by default).
export function qualityChips(flags) {
  return flags.map((flag) => {
    const [label, title] = QUALITY_LABELS[flag] || [flag, flag];
    return h("span", { class: "badge badge-warn quality-flag", title: `${title}: left out of frozen versions`, "data-flag": flag }, icon("alert"), label);
  });
}

// Tags the query's words matched (search fuses a tag ranking with the vector ranking).
function matchedTags(match) {
  return match && Array.isArray(match.tags) ? match.tags : [];
}

export function renderCard(r, { selected = false } = {}) {
  const thumb = h("a", { class: "thumb", href: r.href, tabindex: "-1", "aria-hidden": "true" });
  if (r.frame && r.frame.thumbnail_url) {
    thumb.append(h("img", { src: r.frame.thumbnail_url, alt: "", loading: "lazy", decoding: "async" }));
  } else {
    thumb.append(h("span", { class: "noframe" }, icon("film", "icon-lg"), " no frame sampled yet"));
  }
  if (r.score !== null) {
    const pct = Math.max(0, Math.min(1, r.score)) * 100;
    thumb.append(
      h("span", { class: "score", title: "Cosine similarity of the matched frame" },
        r.score.toFixed(3),
        h("span", { class: "score-bar" }, h("i", { style: `width:${pct.toFixed(0)}%` }))),
    );
  }
  const overlay = h("span", { class: "thumb-overlay" });
  overlay.append(h("span", {}, r.frame ? `${r.frame.camera} · ${seconds(r.frame.t_s)}` : ""));
  const state = momentState(r.frame);
  if (state) thumb.append(h("span", { class: "moment-state", title: "The car at this moment" }, state));
  if (r.disengagements) {
    const label = r.disengagements === 1 ? "1 disengagement" : `${r.disengagements} disengagements`;
    overlay.append(
      h("span", { class: "badge badge-danger solid", title: label, "aria-label": label },
        icon("alert"), String(r.disengagements)),
    );
  }
  thumb.append(overlay);

  const meta = h("div", { class: "card-meta" });
  if (r.qualityFlags.length) meta.append(...qualityChips(r.qualityFlags));
  if (r.vehicle) meta.append(h("span", { title: "Vehicle" }, icon("car"), r.vehicle));
  if (r.startTime) meta.append(h("span", { title: "Start (local time)" }, icon("clock"), localDateTime(r.startTime)));
  if (r.maxSpeed !== null) {
    meta.append(h("span", { title: `max ${kmh(r.maxSpeed, 1)} · mean ${kmh(r.meanSpeed, 1)}` }, icon("gauge"), `${kmh(r.maxSpeed)} max`));
  }
  const matched = matchedTags(r.matched);
  const tags = h("div", { class: "card-tags" });
  for (const tag of matched) tags.append(h("span", { class: "chip static matched", title: "Tag matched by the query text" }, tag));
  for (const tag of r.tags.filter((t) => !matched.includes(t)).slice(0, 4)) tags.append(h("span", { class: "chip static" }, tag));

  return h(
    "article",
    { class: `card${selected ? " selected" : ""}`, "data-scene-id": r.sceneId },
    h("label", { class: "select", title: "Select" },
      h("input", { type: "checkbox", checked: selected, "aria-label": `Select ${r.sceneId}` })),
    thumb,
    h("div", { class: "card-body" },
      h("div", { class: "card-title" }, h("a", { href: r.href, title: r.sceneId }, r.sceneId)),
      meta,
      h("div", { class: "card-foot" },
        tags,
        h("a", { class: "more-like", href: `/?like=${encodeURIComponent(r.sceneId)}`, "data-like": r.sceneId },
          icon("sparkle"), "More like this"))),
  );
}

// What the car did at the moment shown: "32 km/h · braking 60% · 1.5 s to disengagement".
export function momentState(frame) {
  const signals = frame && frame.signals;
  if (!signals) return "";
  const parts = [];
  if (typeof signals.speed_mps === "number") parts.push(kmh(signals.speed_mps));
  if (typeof signals.brake === "number" && signals.brake >= 0.05) parts.push(`brake ${Math.round(signals.brake * 100)}%`);
  else if (typeof signals.accel_mps2 === "number" && Math.abs(signals.accel_mps2) >= 0.5) {
    parts.push(`${signals.accel_mps2 > 0 ? "+" : "−"}${Math.abs(signals.accel_mps2).toFixed(1)} m/s²`);
  }
  if (typeof signals.steering_angle_deg === "number" && Math.abs(signals.steering_angle_deg) >= 10) {
    parts.push(`steer ${Math.round(signals.steering_angle_deg)}°`);
  }
  if (typeof signals.disengagement_dt_s === "number" && signals.disengagement_dt_s <= 10) {
    parts.push(`${signals.disengagement_dt_s.toFixed(1)} s to disengagement`);
  }
  return parts.join(" · ");
}

export function skeletonCards(count = 12) {
  return Array.from({ length: count }, () =>
    h("div", { class: "card skeleton-card", "aria-hidden": "true" },
      h("div", { class: "thumb skeleton" }),
      h("div", { class: "card-body" },
        h("div", { class: "skeleton skeleton-line", style: "width:70%" }),
        h("div", { class: "skeleton skeleton-line", style: "width:45%" }))),
  );
}

// The scene viewer: all cameras on one master clock, signals under them, the GNSS track
// beside them. The URL names the moment (`?t=&camera=`) and follows pauses and seeks.
import { api } from "./api.js";
import { renderCharts } from "./charts.js";
import { MasterClock, followClock, frameDuration } from "./clock.js";
import { copyText, h, icon, toast } from "./dom.js";
import { kmh, localDateTime, percent, seconds } from "./format.js";
import { asText, createMap } from "./maps.js";

const page = document.getElementById("scene-page");
const sceneId = page.dataset.sceneId;
const duration = Number(page.dataset.duration) || 20;
let camera = page.dataset.camera;

// Filled in once the scene's API detail arrives.
let charts = { update() {} };
let trackMarker = { update() {} };
let detail = null;

const clock = new MasterClock(duration, Number(page.dataset.t) || 0);

const cams = [...document.querySelectorAll(".cam")];
const videos = cams.map((c) => c.querySelector("video"));
const mainVideo = () => document.querySelector(".cam.main video");
followClock(clock, videos, mainVideo);
let frameStep = frameDuration(mainVideo());

// ---- URL: the moment on screen -------------------------------------------------------

function momentUrl({ absolute = false } = {}) {
  const params = new URLSearchParams({ t: clock.t.toFixed(2), camera });
  const path = `/scenes/${encodeURIComponent(sceneId)}?${params}`;
  return absolute ? `${location.origin}${path}` : path;
}

function syncUrl() {
  history.replaceState(null, "", momentUrl());
}

// The same moment elsewhere: in the whole drive (its offset + t), and as a search example;
// the neighbouring scenes of the drive on the same camera.
const drive = page.dataset.driveId
  ? { id: page.dataset.driveId, offset: Number(page.dataset.driveOffset) || 0 }
  : null;
const openDrive = document.getElementById("open-drive");
const likeMoment = document.getElementById("like-moment");
const sceneSteps = ["prev-scene", "next-scene"].map((id) => document.getElementById(id)).filter((a) => a && a.href);

function renderLinks() {
  const t = clock.t.toFixed(2);
  if (drive && openDrive) {
    const params = new URLSearchParams({ t: (drive.offset + clock.t).toFixed(2), camera });
    openDrive.href = `/drives/${encodeURIComponent(drive.id)}?${params}`;
  }
  const like = new URLSearchParams({ like: sceneId, like_camera: camera, like_t: t });
  likeMoment.href = `/?${like}`;
}

function renderSceneSteps() {
  for (const link of sceneSteps) {
    link.href = `/scenes/${encodeURIComponent(link.dataset.sceneId)}?${new URLSearchParams({ camera })}`;
  }
}

// ---- transport ------------------------------------------------------------------------

const playButton = document.getElementById("play");
const timeLabel = document.getElementById("time");
const copyT = document.getElementById("copy-t");
const scrubber = document.getElementById("scrubber");
const fill = document.getElementById("scrubber-fill");
const head = document.getElementById("scrubber-head");

function renderTime() {
  const t = clock.t;
  const pct = (t / duration) * 100;
  fill.style.width = `${pct}%`;
  head.style.left = `${pct}%`;
  scrubber.setAttribute("aria-valuenow", t.toFixed(2));
  timeLabel.replaceChildren(t.toFixed(2), " ", h("span", {}, `/ ${duration.toFixed(2)} s`));
  copyT.textContent = `${t.toFixed(2)} s`;
  renderLinks();
  charts.update(t);
  trackMarker.update(t);
  markFilmstrip(t);
}

function markFilmstrip(t) {
  const buttons = [...document.querySelectorAll("#filmstrip .strip button")];
  let current = null;
  for (const b of buttons) if (Number(b.dataset.t) <= t + 1e-3) current = b;
  buttons.forEach((b) => b.classList.toggle("current", b === current));
}

clock.addEventListener("tick", renderTime);
clock.addEventListener("settle", syncUrl);
clock.addEventListener("state", () => {
  playButton.replaceChildren(icon(clock.playing ? "pause" : "play"));
  playButton.setAttribute("aria-pressed", String(clock.playing));
});

playButton.addEventListener("click", () => clock.toggle());
document.getElementById("step-back").addEventListener("click", () => clock.step(-frameStep()));
document.getElementById("step-fwd").addEventListener("click", () => clock.step(frameStep()));
document.getElementById("rate").addEventListener("change", (e) => clock.setRate(Number(e.target.value)));

function scrubTo(event) {
  const rect = scrubber.getBoundingClientRect();
  clock.seek(((event.clientX - rect.left) / rect.width) * duration);
}
scrubber.addEventListener("pointerdown", (event) => {
  if (event.target.closest(".diseng-mark")) return;
  scrubber.setPointerCapture(event.pointerId);
  scrubTo(event);
  const move = (e) => scrubTo(e);
  scrubber.addEventListener("pointermove", move);
  scrubber.addEventListener("pointerup", () => scrubber.removeEventListener("pointermove", move), { once: true });
});

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea")) return;
  const big = event.shiftKey ? 5 : 1;
  if (event.key === " ") clock.toggle();
  else if (event.key === "ArrowLeft") clock.seek(clock.t - big);
  else if (event.key === "ArrowRight") clock.seek(clock.t + big);
  else if (event.key === ",") clock.step(-frameStep());
  else if (event.key === ".") clock.step(frameStep());
  else if (/^[1-9]$/.test(event.key) && cams[Number(event.key) - 1]) selectCamera(cams[Number(event.key) - 1].dataset.camera);
  else if (event.key === "[" || event.key === "]") stepScene(event.key === "[" ? "prev-scene" : "next-scene");
  else return;
  event.preventDefault();
});

function stepScene(id) {
  const link = document.getElementById(id);
  if (link && link.href) location.assign(link.href);
}

// ---- cameras ------------------------------------------------------------------------------

function selectCamera(name) {
  if (name === camera) return;
  camera = name;
  for (const cam of cams) {
    const on = cam.dataset.camera === name;
    cam.classList.toggle("main", on);
    cam.title = on ? name : `${name} — click to enlarge`;
  }
  frameStep = frameDuration(mainVideo());
  syncUrl();
  renderLinks();
  renderSceneSteps();
  renderFilmstrip();
}
for (const cam of cams) cam.addEventListener("click", () => selectCamera(cam.dataset.camera));
for (const video of videos) {
  const state = video.parentElement.querySelector(".cam-state");
  video.addEventListener("waiting", () => (state.textContent = "buffering…"));
  video.addEventListener("playing", () => (state.textContent = ""));
  video.addEventListener("canplay", () => (state.textContent = ""));
  video.addEventListener("error", () => (state.textContent = "cannot play"));
}

document.getElementById("copy-link").addEventListener("click", async () => {
  const url = momentUrl({ absolute: true });
  syncUrl();
  const ok = await copyText(url);
  toast(ok ? `Copied link at ${clock.t.toFixed(2)} s on ${camera}` : url, ok ? "ok" : "info");
});

// ---- data from the API ----------------------------------------------------------------------

function renderDisengagements(list) {
  const host = document.getElementById("diseng-list");
  document.getElementById("diseng-count").textContent = String(list.length);
  document.getElementById("diseng-count").className = list.length ? "badge badge-danger" : "badge";
  host.replaceChildren();
  if (!list.length) host.append(h("li", { class: "empty-note" }, "None in this scene."));
  for (const d of list) {
    host.append(h("li", {}, h("button", { type: "button", onclick: () => { clock.pause(); clock.seek(d.t_s); } },
      h("span", { class: "t" }, seconds(d.t_s, 2)), d.kind.replaceAll("_", " "))));
    scrubber.append(h("button", {
      type: "button", class: "diseng-mark", style: `left:${(d.t_s / duration) * 100}%`,
      title: `${d.kind} at ${seconds(d.t_s, 2)}`, "aria-label": `Seek to ${d.kind} at ${seconds(d.t_s, 2)}`,
      onclick: () => { clock.pause(); clock.seek(d.t_s); },
    }));
  }
}

function renderFacts(s) {
  const rows = [
    ["Start", localDateTime(s.start_time)],
    ["Duration", seconds(s.duration_s)],
    ["Max speed", kmh(s.max_speed_mps, 1)],
    ["Mean speed", kmh(s.mean_speed_mps, 1)],
    ["Max decel", s.max_decel_mps2 === null ? "—" : `${s.max_decel_mps2.toFixed(2)} m/s²`],
    ["GNSS fix rate", percent(s.gnss_fix_rate, 1)],
    ["Local hour", String(s.local_hour)],
  ];
  document.getElementById("facts").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function renderEmbedding(e) {
  const host = document.getElementById("embed-state");
  const badge = document.getElementById("embed-badge");
  if (!e) {
    host.replaceChildren(h("span", { class: "faint" }, "Not known."));
    return;
  }
  const state = e.state || (e.done ? "done" : "pending");
  const kind = { done: "badge-ok", failed: "badge-danger", running: "badge-accent", pending: "badge-warn" }[state] || "";
  const pill = () => h("span", { class: `badge ${kind}`, title: "Embedding state" }, `embedding ${state}`);
  badge.replaceChildren(pill());
  const lines = [h("div", {}, pill(), e.model ? h("span", { class: "mono faint", style: "margin-left:8px" }, e.model) : null)];
  const frames = e.frames ?? e.frame_count ?? (detail && detail.frames ? detail.frames.length : null);
  if (frames !== null && frames !== undefined) lines.push(h("div", { class: "faint" }, `${frames} sampled frames`));
  if (e.updated_at) lines.push(h("div", { class: "faint" }, `updated ${localDateTime(e.updated_at)}`));
  if (e.error) lines.push(h("div", { class: "embed-error" }, e.error));
  host.replaceChildren(...lines);
}

function renderTrack(s) {
  const L = window.L;
  const element = document.getElementById("track-map");
  const channels = (s.signals && s.signals.channels) || {};
  const hz = (s.signals && s.signals.hz) || 10;
  let points = [];
  if (channels.lat && channels.lon) {
    points = channels.lat.map((lat, i) => [lat, channels.lon[i]]);
  }
  const valid = points.filter(([a, b]) => a !== null && b !== null);
  const track = valid.length ? valid : (s.track || []);
  if (!L || !track.length) {
    element.replaceChildren(h("div", { class: "empty-note" }, "No GNSS track."));
    return;
  }
  const map = createMap(element, { zoomControl: false, attributionControl: false });
  L.polyline(track, { color: "#7c8cff", weight: 3, opacity: 0.9 }).addTo(map);
  L.circleMarker(track[0], { radius: 4, color: "#3fcf8e", fillColor: "#3fcf8e", fillOpacity: 1, weight: 1 }).bindTooltip(asText("start")).addTo(map);
  L.circleMarker(track[track.length - 1], { radius: 4, color: "#9aa2b4", fillColor: "#9aa2b4", fillOpacity: 1, weight: 1 }).bindTooltip(asText("end")).addTo(map);
  const at = (t) => {
    if (valid.length) {
      const i = Math.max(0, Math.min(points.length - 1, Math.round(t * hz)));
      for (let d = 0; d < points.length; d++) {
        for (const j of [i - d, i + d]) if (points[j] && points[j][0] !== null && points[j][1] !== null) return points[j];
      }
    }
    const j = Math.max(0, Math.min(track.length - 1, Math.round((t / duration) * (track.length - 1))));
    return track[j];
  };
  for (const d of s.disengagements || []) {
    L.circleMarker(at(d.t_s), { radius: 5, color: "#ff6370", fillColor: "#ff6370", fillOpacity: 0.9, weight: 1 })
      .bindTooltip(asText(`${d.kind} · ${seconds(d.t_s, 1)}`))
      .on("click", () => { clock.pause(); clock.seek(d.t_s); })
      .addTo(map);
  }
  const marker = L.circleMarker(at(clock.t), { radius: 6, color: "#fff", weight: 2, fillColor: "#7c8cff", fillOpacity: 1 }).addTo(map);
  map.fitBounds(L.latLngBounds(track), { padding: [20, 20], maxZoom: 17 });
  const pos = document.getElementById("track-pos");
  trackMarker = {
    update(t) {
      const p = at(t);
      if (!p) return;
      marker.setLatLng(p);
      pos.textContent = `${p[0].toFixed(5)}, ${p[1].toFixed(5)}`;
    },
  };
  trackMarker.update(clock.t);
}

// Sampled frames of the main camera under the transport: what the embedder saw.
function renderFilmstrip() {
  const host = document.getElementById("filmstrip");
  if (!host || !detail) return;
  const frames = (detail.frames || []).filter((f) => f.camera === camera && f.thumbnail_url);
  host.hidden = !frames.length;
  host.querySelector(".strip").replaceChildren(...frames.map((f) =>
    h("button", { type: "button", "data-t": String(f.t_s), title: `${f.camera} · ${seconds(f.t_s, 1)} — seek`, onclick: () => { clock.pause(); clock.seek(f.t_s); } },
      h("img", { src: f.thumbnail_url, alt: "", loading: "lazy" }), h("span", {}, seconds(f.t_s, 1)))));
  markFilmstrip(clock.t);
}

async function load() {
  try {
    detail = await api.get(`scenes/${encodeURIComponent(sceneId)}/`);
  } catch (error) {
    document.getElementById("charts").replaceChildren(h("div", { class: "empty-note" }, `Could not load the scene: ${error.message}`));
    return;
  }
  for (const video of videos) {
    const url = (detail.cameras || {})[video.dataset.camera];
    if (url) video.src = url;
    else video.parentElement.querySelector(".cam-state").textContent = "no video";
  }
  const disengagements = detail.disengagements || [];
  charts = renderCharts(document.getElementById("charts"), detail.signals, {
    duration,
    disengagements,
    onSeek: (t) => clock.seek(t),
  });
  renderDisengagements(disengagements);
  renderFacts(detail);
  renderEmbedding(detail.embedding);
  renderTrack(detail);
  renderFilmstrip();
  renderTime();
}

renderTime();
load();

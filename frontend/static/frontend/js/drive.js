// A whole drive played as one video: one camera at a time, scene after scene on one clock
// of drive time (seconds from the start of the drive's first scene). The next scene's video
// waits, loaded and paused, in a second <video> under the visible one and takes its place
// when the playhead crosses the boundary, so the picture does not reload. Where the car
// recorded nothing, playback steps over the gap. The URL names the moment
// (`?t=&camera=`) and follows pauses, seeks and scene changes.
import { api } from "./api.js";
import { MasterClock } from "./clock.js";
import { config } from "./config.js";
import { copyText, h, icon, toast } from "./dom.js";
import { zoneLabel } from "./format.js";
import { VISIBLE_GAP_S, clockText, end, gaps, locate, renderTimeline, span } from "./drive_timeline.js";

const HARD_SYNC_S = 0.25; // beyond this drift the video is seeked
const SOFT_SYNC_S = 0.04; // beyond this its playback rate is nudged
// Scene details carry signed media URLs that expire after an hour; only the current and
// the next scene's are asked for, and none is kept for long.
const DETAIL_TTL_MS = 15 * 60 * 1000;
const DETAILS_KEPT = 4;

const page = document.getElementById("drive-page");
const driveId = page.dataset.driveId;
const duration = Number(page.dataset.duration) || 0;
const startMs = Date.parse(page.dataset.start);
const cameraSelect = document.getElementById("camera");
const cameras = [...cameraSelect.options].map((o) => o.value);
let camera = page.dataset.camera;

const clock = new MasterClock(duration, Number(page.dataset.t) || 0);
let scenes = []; // the drive's scenes (one window of them when the drive is very long)
let truncated = false;
let windowLoading = null;
let current = -1; // the scene on screen: the one under the playhead, or the next after a gap

// ---- time labels ----------------------------------------------------------------------

const tz = config.timezone || "UTC";
const wallFormats = {
  true: new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }),
  false: new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
};
const zone = zoneLabel(new Date(startMs));

function wallLabel(t, { seconds = true } = {}) {
  return wallFormats[seconds].format(new Date(startMs + t * 1000));
}

function utcOffsetS(ms) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 1000);
}

// ---- scene details (playable camera URLs) ---------------------------------------------

const details = new Map(); // scene_id -> {at, promise}

function detail(sceneId) {
  const hit = details.get(sceneId);
  if (hit && performance.now() - hit.at < DETAIL_TTL_MS) return hit.promise;
  const promise = api.get(`scenes/${encodeURIComponent(sceneId)}/`);
  details.delete(sceneId);
  details.set(sceneId, { at: performance.now(), promise });
  promise.catch(() => details.delete(sceneId));
  while (details.size > DETAILS_KEPT) details.delete(details.keys().next().value);
  return promise;
}

// ---- the two video slots ------------------------------------------------------------------

const slots = [...document.querySelectorAll("#screen video.slot")].map((video) => ({
  video, key: null, state: "empty", startAt: 0, cameras: [], error: "",
}));
let active = slots[0];
const standby = () => (active === slots[0] ? slots[1] : slots[0]);
const keyFor = (index) => `${scenes[index].scene_id}\n${camera}`;

function unload(slot) {
  slot.video.pause();
  if (slot.video.getAttribute("src")) {
    slot.video.removeAttribute("src");
    slot.video.load();
  }
}

// Point `slot` at scene `index` on the current camera, `at` seconds in.
async function load(slot, index, at) {
  const key = keyFor(index);
  slot.startAt = at;
  if (slot.key === key && slot.state !== "error") return;
  slot.key = key;
  slot.state = "loading";
  slot.video.pause();
  renderState();
  let info;
  try {
    info = await detail(scenes[index].scene_id);
  } catch (error) {
    if (slot.key !== key) return;
    Object.assign(slot, { state: "error", error: `Could not load the scene: ${error.message}` });
    unload(slot);
    renderState();
    return;
  }
  if (slot.key !== key) return; // the slot was given another scene meanwhile
  slot.cameras = Object.keys(info.cameras || {});
  const url = (info.cameras || {})[camera];
  if (!url) {
    slot.state = "missing";
    unload(slot);
  } else {
    slot.video.src = url; // loadedmetadata places it
  }
  renderState();
}

for (const slot of slots) {
  const { video } = slot;
  video.addEventListener("loadedmetadata", () => {
    const at = slot === active ? localTime() : slot.startAt;
    video.currentTime = Math.max(0, Math.min(at, video.duration - 0.001));
    video.playbackRate = clock.rate;
    slot.state = "ready";
    if (slot === active) follow();
    renderState();
  });
  video.addEventListener("error", () => {
    if (!video.getAttribute("src")) return;
    Object.assign(slot, { state: "error", error: `The ${camera} video cannot be played.` });
    renderState();
  });
  for (const type of ["waiting", "playing", "canplay", "seeked"]) video.addEventListener(type, renderState);
}

function showSlot(slot) {
  if (slot !== active) active.video.pause();
  active = slot;
  for (const s of slots) {
    s.video.classList.toggle("active", s === active);
    s.video.setAttribute("aria-hidden", String(s !== active));
  }
}

// The clock waits while the picture it should show is still coming.
clock.holding = () => {
  if (windowLoading) return true;
  if (!here().inScene) return false;
  if (active.state === "loading") return true;
  if (active.state !== "ready") return false;
  const v = active.video;
  return v.readyState < 3 && !v.ended && v.currentTime < v.duration - 0.05;
};

// ---- following the clock -------------------------------------------------------------------

const here = () => locate(scenes, clock.t);

function localTime() {
  if (current < 0) return 0;
  return Math.max(0, clock.t - scenes[current].offset_s);
}

function showScene(index) {
  const changed = current !== -1 && current !== index;
  current = index;
  const ready = standby();
  if (ready.key === keyFor(index) && ready.state !== "error") {
    ready.startAt = localTime();
    showSlot(ready);
  } else {
    load(active, index, localTime());
  }
  if (index + 1 < scenes.length) load(standby(), index + 1, 0);
  else {
    standby().key = null;
    unload(standby());
  }
  renderScene();
  if (changed) syncUrl();
}

function follow() {
  const pos = here();
  const v = active.video;
  if (!pos.inScene || active.state !== "ready" || v.readyState < 1) {
    v.pause();
    return;
  }
  const t = localTime();
  if (!clock.playing) {
    v.pause();
    const target = Math.min(t, v.duration - 0.001);
    if (Math.abs(v.currentTime - target) > 1e-3) v.currentTime = target;
    return;
  }
  if (t >= v.duration || v.readyState < 2) return; // a scene may outlast its video
  if (v.paused) v.play().catch(() => {});
  const drift = v.currentTime - t;
  if (Math.abs(drift) > HARD_SYNC_S) {
    v.currentTime = t;
    v.playbackRate = clock.rate;
  } else if (Math.abs(drift) > SOFT_SYNC_S) {
    v.playbackRate = clock.rate * Math.max(0.5, Math.min(1.5, 1 - drift * 2));
  } else if (v.playbackRate !== clock.rate) {
    v.playbackRate = clock.rate;
  }
}

function sync() {
  if (!scenes.length) return;
  const t = clock.t;
  const pos = here();
  if (!pos.inScene && clock.playing) {
    if (pos.index < scenes.length) {
      const next = scenes[pos.index].offset_s;
      if (next - t >= VISIBLE_GAP_S) toast(`Skipped ${span(next - t)} without recording`);
      clock.seek(next); // comes back here through the clock's tick
      return;
    }
    if (truncated && t < duration) {
      readWindow(end(scenes[scenes.length - 1]));
      return;
    }
  }
  const index = Math.min(pos.index, scenes.length - 1);
  if (index !== current) showScene(index);
  follow();
  renderTime();
}

// ---- URL: the moment on screen -----------------------------------------------------------

function momentUrl({ absolute = false } = {}) {
  const params = new URLSearchParams({ t: clock.t.toFixed(2), camera });
  const path = `/drives/${encodeURIComponent(driveId)}?${params}`;
  return absolute ? `${location.origin}${path}` : path;
}

function syncUrl() {
  history.replaceState(null, "", momentUrl());
}

// The scene viewer and the search by example, at the moment on screen.
function sceneMoment() {
  const pos = here();
  const index = Math.min(pos.index, scenes.length - 1);
  const t = pos.inScene ? clock.t - scenes[index].offset_s : 0;
  return { scene: scenes[index], t };
}

// ---- rendering ------------------------------------------------------------------------------

const timeLabel = document.getElementById("time");
const wallclock = document.getElementById("wallclock");
const copyT = document.getElementById("copy-t");
const openScene = document.getElementById("open-scene");
const likeMoment = document.getElementById("like-moment");
const timelineEl = document.getElementById("timeline");
const sceneScrubber = document.getElementById("scene-scrubber");
const note = document.getElementById("note");
let timeline = { update() {} };

function renderTime() {
  const t = clock.t;
  timeLabel.replaceChildren(clockText(t, { tenths: true }), " ", h("span", {}, `/ ${clockText(duration)}`));
  wallclock.textContent = `${wallLabel(t)} ${zone}`;
  copyT.textContent = clockText(t, { tenths: true });
  timeline.update(t);
  timelineEl.setAttribute("aria-valuenow", t.toFixed(2));
  const { scene, t: local } = sceneMoment();
  if (!scene) return;
  const pct = `${Math.min(100, (local / scene.duration_s) * 100)}%`;
  document.getElementById("scene-fill").style.width = pct;
  document.getElementById("scene-head").style.left = pct;
  const at = new URLSearchParams({ t: local.toFixed(2), camera });
  openScene.href = `/scenes/${encodeURIComponent(scene.scene_id)}?${at}`;
  const like = new URLSearchParams({ like: scene.scene_id, like_camera: camera, like_t: local.toFixed(2) });
  likeMoment.href = `/?${like}`;
  renderNote();
}

function renderScene() {
  const scene = scenes[current];
  document.getElementById("scene-label").replaceChildren(
    h("span", { class: "faint" }, `Scene ${current + 1}/${scenes.length} `),
    h("a", { class: "mono", href: `/scenes/${encodeURIComponent(scene.scene_id)}`, title: "Open in the scene viewer" }, scene.scene_id),
  );
  document.getElementById("prev-scene").disabled = previousIndex() < 0;
  document.getElementById("next-scene").disabled = nextIndex() >= scenes.length;
  sceneScrubber.querySelectorAll(".diseng-mark").forEach((m) => m.remove());
  for (const d of scene.disengagements || []) {
    sceneScrubber.append(h("button", {
      type: "button", class: "diseng-mark", style: `left:${(d.t_s / scene.duration_s) * 100}%`,
      title: `${d.kind} at ${d.t_s.toFixed(2)} s`, "aria-label": `Seek to ${d.kind}`,
      onclick: () => seekAndPause(scene.offset_s + d.t_s),
    }));
  }
}

function renderNote() {
  const pos = here();
  let text = null;
  if (!pos.inScene && scenes.length) {
    if (pos.index >= scenes.length) text = "End of the drive.";
    else {
      const from = pos.index > 0 ? end(scenes[pos.index - 1]) : 0;
      const to = scenes[pos.index].offset_s;
      text = `Not recorded ${wallLabel(from)}–${wallLabel(to)} ${zone} (${span(to - from)}). Playing goes on at the next scene.`;
    }
  } else if (active.state === "missing") {
    const others = active.cameras.length ? ` It has ${active.cameras.join(", ")}.` : "";
    text = `This scene has no ${camera} video.${others}`;
  } else if (active.state === "error") {
    text = active.error;
  }
  note.hidden = text === null;
  if (text !== null && note.textContent !== text) note.textContent = text;
  document.getElementById("screen").classList.toggle("dimmed", text !== null);
}

function renderState() {
  const v = active.video;
  const state = document.getElementById("cam-state");
  state.textContent = active.state === "loading" || (active.state === "ready" && v.readyState < 3 && clock.playing) ? "loading…" : "";
  renderNote();
}

// ---- controls -------------------------------------------------------------------------------

const playButton = document.getElementById("play");
clock.addEventListener("tick", sync);
clock.addEventListener("settle", syncUrl);
clock.addEventListener("state", () => {
  playButton.replaceChildren(icon(clock.playing ? "pause" : "play"));
  playButton.setAttribute("aria-pressed", String(clock.playing));
  for (const slot of slots) slot.video.playbackRate = clock.rate;
  sync();
});

function seekAndPause(t) {
  clock.pause();
  clock.seek(t);
}

// Scene steps: from a gap, "previous" is the scene before it and "next" the one after.
function previousIndex() {
  return here().inScene ? current - 1 : Math.min(here().index, scenes.length) - 1;
}
function nextIndex() {
  return here().inScene ? current + 1 : here().index;
}
function stepScene(delta) {
  const index = delta < 0 ? previousIndex() : nextIndex();
  if (index >= 0 && index < scenes.length) clock.seek(scenes[index].offset_s);
}

function selectCamera(name) {
  if (name === camera || !cameras.includes(name)) return;
  camera = name;
  cameraSelect.value = name;
  document.getElementById("cam-label").textContent = name;
  if (current >= 0) {
    load(active, current, localTime());
    if (current + 1 < scenes.length) load(standby(), current + 1, 0);
  }
  syncUrl();
  renderTime();
}

playButton.addEventListener("click", () => clock.toggle());
document.getElementById("prev-scene").addEventListener("click", () => stepScene(-1));
document.getElementById("next-scene").addEventListener("click", () => stepScene(1));
document.getElementById("rate").addEventListener("change", (e) => clock.setRate(Number(e.target.value)));
cameraSelect.addEventListener("change", () => selectCamera(cameraSelect.value));

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
  const big = event.shiftKey ? 5 : 1;
  if (event.key === " ") clock.toggle();
  else if (event.key === "ArrowLeft") clock.seek(clock.t - big);
  else if (event.key === "ArrowRight") clock.seek(clock.t + big);
  else if (event.key === "[") stepScene(-1);
  else if (event.key === "]") stepScene(1);
  else if (/^[1-9]$/.test(event.key) && cameras[Number(event.key) - 1]) selectCamera(cameras[Number(event.key) - 1]);
  else return;
  event.preventDefault();
});

function dragSeek(element, toTime) {
  element.addEventListener("pointerdown", (event) => {
    if (event.target.closest(".tl-diseng, .diseng-mark")) return;
    element.setPointerCapture(event.pointerId);
    const seek = (e) => clock.seek(toTime(e));
    seek(event);
    element.addEventListener("pointermove", seek);
    element.addEventListener("pointerup", () => element.removeEventListener("pointermove", seek), { once: true });
  });
}
const fraction = (element, event) => {
  const rect = element.getBoundingClientRect();
  return Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
};
dragSeek(timelineEl, (e) => fraction(timelineEl, e) * duration);
dragSeek(sceneScrubber, (e) => {
  const { scene } = sceneMoment();
  return scene.offset_s + fraction(sceneScrubber, e) * scene.duration_s;
});

const hover = document.getElementById("tl-hover");
timelineEl.addEventListener("pointermove", (event) => {
  if (!scenes.length) return;
  const f = fraction(timelineEl, event);
  const t = f * duration;
  const pos = locate(scenes, t);
  const what = pos.inScene ? scenes[pos.index].scene_id : "not recorded";
  hover.textContent = `${wallLabel(t)} · ${clockText(t)} · ${what}`;
  hover.style.left = `${f * 100}%`;
  hover.hidden = false;
});
timelineEl.addEventListener("pointerleave", () => (hover.hidden = true));

document.getElementById("copy-link").addEventListener("click", async () => {
  const url = momentUrl({ absolute: true });
  syncUrl();
  const ok = await copyText(url);
  toast(ok ? `Copied link at ${wallLabel(clock.t)} ${zone} on ${camera}` : url, ok ? "ok" : "info");
});

// ---- loading the drive ----------------------------------------------------------------------

async function readWindow(fromS) {
  if (windowLoading) return windowLoading;
  windowLoading = (async () => {
    const data = await api.get(`drives/${encodeURIComponent(driveId)}/`, fromS > 0 ? { from_s: fromS.toFixed(3) } : undefined);
    scenes = data.scenes;
    truncated = data.truncated;
    current = -1;
    drawTimeline(data);
  })();
  try {
    await windowLoading;
  } finally {
    windowLoading = null;
  }
  sync();
}

function drawTimeline(data) {
  timeline = renderTimeline({
    lane: document.getElementById("tl-lane"),
    playhead: document.getElementById("tl-playhead"),
    axis: document.getElementById("tl-axis"),
    scenes, duration, wallLabel, startMs, utcOffsetS: utcOffsetS(startMs), onMark: seekAndPause,
  });
  const holes = gaps(scenes);
  const missing = holes.reduce((sum, g) => sum + g.to - g.from, 0);
  document.getElementById("drive-gaps").textContent = holes.length
    ? `${holes.length} gap${holes.length === 1 ? "" : "s"} without recording (${span(missing)})` : "recorded without gaps";
  const diseng = scenes.reduce((n, s) => n + (s.disengagements || []).length, 0);
  document.getElementById("drive-diseng").replaceChildren(diseng
    ? h("span", { class: "badge badge-danger" }, icon("alert"), `${diseng} disengagement${diseng === 1 ? "" : "s"}`) : "");
  if (data.truncated || data.from_s > 0) {
    document.getElementById("drive-size").textContent =
      `${data.scene_count} scenes (showing ${scenes.length} from ${clockText(data.from_s)})`;
  }
}

async function start() {
  try {
    await readWindow(0);
    if (truncated && clock.t > end(scenes[scenes.length - 1])) await readWindow(clock.t);
  } catch (error) {
    document.getElementById("tl-lane").replaceChildren(h("div", { class: "empty-note" }, `Could not load the drive: ${error.message}`));
  }
}

renderTime();
start();

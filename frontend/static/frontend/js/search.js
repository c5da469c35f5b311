// The search page: the URL is the search. Loading the page runs the URL's search; editing
// the form rewrites the URL (pushState) and runs it; back/forward restore both.
import { api, ApiError, countText, errorLines, pageReader } from "./api.js";
import { initChips } from "./chips.js";
import { renderActiveFilters } from "./filterchips.js";
import { normalize, renderCard, skeletonCards } from "./cards.js";
import { h, icon } from "./dom.js";
import { localDateTime, seconds } from "./format.js";
import { loadMoreBlock } from "./loadmore.js";
import { initMining } from "./mining.js";
import { initPlaceMap } from "./placemap.js";
import { initSetPicker } from "./setpicker.js";
import { activeFilterCount, formToParams, hasQuery, likeMoment, paramsToBody, paramsToForm } from "./urlstate.js";
import { initWatchDialog } from "./watchdialog.js";

const form = document.getElementById("search-form");
const results = document.getElementById("results");
const meta = document.getElementById("result-meta");
const filterCount = document.getElementById("filter-count");
const selectionBar = document.getElementById("selection-bar");
const likeChip = document.getElementById("like-chip");
const selected = new Set();
let current = []; // normalized results on screen
let inflight = null;
let latest = null; // the empty query's scene list: read page by page as the user scrolls
let stopScrolling = () => {};

const setChips = initChips(form, () => apply());
const place = initPlaceMap({ onChange: () => apply() });
const openSetPicker = initSetPicker();
const openWatchDialog = initWatchDialog();
const watchButton = document.getElementById("watch-search");

// ---- running a search ---------------------------------------------------------------

function apply({ push = true } = {}) {
  const params = formToParams(form);
  const query = params.toString();
  const url = query ? `/?${query}` : "/";
  if (url !== location.pathname + location.search) {
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }
  run(params);
}

async function run(params) {
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  stopScrolling();
  latest = null;
  clearFieldErrors();
  updateChrome(params);
  showLoading();
  try {
    const started = performance.now();
    let data;
    if (hasQuery(params)) {
      data = await api.post("search/", paramsToBody(params), { signal: controller.signal });
    } else {
      const pageSize = params.get("limit") || form.elements.limit.dataset.default;
      latest = pageReader("scenes/", { page_size: pageSize }, { signal: controller.signal });
      data = await latest.read();
    }
    if (controller.signal.aborted) return;
    render(params, data, performance.now() - started);
  } catch (error) {
    if (error.name === "AbortError") return;
    showError(error, params);
  } finally {
    if (inflight === controller) inflight = null;
  }
}

function removeFilter(name, value) {
  const params = new URLSearchParams(location.search);
  const kept = params.getAll(name).filter((v) => v !== value);
  params.delete(name);
  kept.forEach((v) => params.append(name, v));
  paramsToForm(form, params, { setChips });
  place.sync();
  apply();
}

function updateChrome(params) {
  renderActiveFilters(document.getElementById("active-filters"), params, removeFilter);
  const n = activeFilterCount(params);
  filterCount.hidden = n === 0;
  filterCount.textContent = String(n);
  const like = params.get("like");
  const moment = likeMoment(params);
  likeChip.hidden = !like;
  document.getElementById("like-id").textContent = like || "";
  const at = document.getElementById("like-at");
  at.hidden = !moment;
  at.textContent = moment ? `${moment.camera} @ ${moment.t} s` : "";
  const text = params.get("text");
  const example = moment ? `Like ${like} @ ${moment.t} s` : like ? `Like ${like}` : "Search";
  document.title = `${text || example} · Scene catalog`;
  watchButton.hidden = !hasQuery(params);
  renderExample(moment);
}

// ---- the example moment -------------------------------------------------------------------

let exampleKey = null;

// The sampled frame the search compares with: the camera's nearest to t (earlier on a tie).
function nearestFrame(frames, camera, t) {
  let best = null;
  for (const f of frames || []) {
    if (f.camera !== camera) continue;
    const d = Math.abs(f.t_s - t);
    if (!best || d < best.d || (d === best.d && f.t_s < best.f.t_s)) best = { f, d };
  }
  return best ? best.f : null;
}

async function renderExample(moment) {
  const host = document.getElementById("like-example");
  const key = moment ? `${moment.sceneId}\n${moment.camera}\n${moment.t}` : null;
  if (key === exampleKey) return;
  exampleKey = key;
  host.hidden = !moment;
  if (!moment) {
    host.replaceChildren();
    return;
  }
  const t = Number(moment.t);
  const href = `/scenes/${encodeURIComponent(moment.sceneId)}?${new URLSearchParams({ t: moment.t, camera: moment.camera })}`;
  host.replaceChildren(h("span", { class: "spinner", "aria-label": "Loading the example" }));
  let detail = null;
  try {
    detail = await api.get(`scenes/${encodeURIComponent(moment.sceneId)}/`);
  } catch {
    // The search itself reports a missing scene.
  }
  if (exampleKey !== key) return;
  const frame = detail ? nearestFrame(detail.frames, moment.camera, t) : null;
  const when = detail && Number.isFinite(t) ? localDateTime(new Date(Date.parse(detail.start_time) + t * 1000).toISOString()) : null;
  host.replaceChildren(
    h("a", { class: "example-thumb", href, title: "Open this moment in the scene viewer" },
      frame && frame.thumbnail_url
        ? h("img", { src: frame.thumbnail_url, alt: `${moment.camera} at ${moment.t} s of ${moment.sceneId}` })
        : h("span", { class: "noframe" }, icon("film", "icon-lg"))),
    h("div", { class: "example-body" },
      h("h3", {}, "Searching by this moment"),
      h("a", { class: "mono", href }, moment.sceneId),
      h("div", { class: "faint" }, `${moment.camera} · ${Number.isFinite(t) ? seconds(t, 2) : moment.t}${when ? ` · ${when}` : ""}`),
      h("div", { class: "faint" }, frame
        ? `Compared by its sampled frame at ${seconds(frame.t_s, 1)}; the example scene itself is left out of the results.`
        : "No sampled frame of this camera yet.")),
  );
}

// ---- states ---------------------------------------------------------------------------

function showLoading() {
  meta.replaceChildren(h("span", { class: "spinner", "aria-label": "Searching" }), h("span", {}, "Searching…"));
  results.replaceChildren(h("div", { class: "grid", "aria-busy": "true" }, skeletonCards(12)));
}

function showError(error, params) {
  const lines = errorLines(error);
  markFieldErrors(lines);
  meta.replaceChildren(h("span", { class: "badge badge-danger" }, icon("alert"), error.status ? `HTTP ${error.status}` : "Error"));
  let title = "Search failed";
  let detail = error.message;
  if (error instanceof ApiError && error.status === 400) {
    title = lines.length ? "Some filters are not valid" : "The search was not accepted";
  } else if (error instanceof ApiError && error.status === 404) {
    title = params.get("like") ? `Scene “${params.get("like")}” was not found` : "Not found";
  }
  const body = h("div", { class: "state state-error", role: "alert" }, icon("alert", "icon-lg"), h("h2", {}, title));
  if (lines.length) {
    body.append(h("ul", {}, lines.map((l) =>
      h("li", { "data-error-field": l.field }, h("code", {}, l.field), ": ", l.message))));
  } else if (detail) {
    body.append(h("p", {}, detail));
  }
  body.append(h("button", { type: "button", class: "btn", onclick: () => run(params) }, "Retry"));
  results.replaceChildren(body);
}

function showEmpty(params, reason) {
  if (!hasQuery(params)) {
    results.replaceChildren(
      h("div", { class: "state" }, icon("film", "icon-lg"), h("h2", {}, "The catalog is empty"),
        h("p", {}, "Ingest a scene manifest: ", h("code", {}, "python manage.py ingest MANIFEST"),
          " (or ", h("code", {}, "POST /api/v1/ingest/"), ").")),
    );
    return;
  }
  const hint = reason
    ? `${reason[0].toUpperCase()}${reason.slice(1)}: similarity search needs embedded scenes (see the status bar).`
    : activeFilterCount(params)
      ? "Loosen a filter, or clear the place or time range."
      : "Try other words: describe what a camera would see.";
  results.replaceChildren(
    h("div", { class: "state" }, icon("search", "icon-lg"), h("h2", {}, "No scenes match"), h("p", {}, hint)),
  );
}

function clearFieldErrors() {
  form.querySelectorAll("[data-error-for]").forEach((p) => {
    p.hidden = true;
    p.textContent = "";
  });
  form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
}

function markFieldErrors(lines) {
  for (const { field, message } of lines) {
    const target = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (!target) continue;
    target.textContent = message;
    target.hidden = false;
    target.closest(".subfield, .filter-group")?.classList.add("invalid");
  }
  const first = form.querySelector(".field-error:not([hidden])");
  first?.closest(".filter-group")?.scrollIntoView({ block: "nearest" });
}

// ---- results ----------------------------------------------------------------------------

function render(params, data, elapsedMs) {
  const rows = data.results || [];
  current = rows.map(normalize);
  const searched = hasQuery(params);
  const parts = [];
  if (searched) {
    const ranked = params.get("text") || params.get("like") ? "ranked by similarity" : "newest first";
    parts.push(h("span", {}, h("strong", {}, String(current.length)), ` scene${current.length === 1 ? "" : "s"}`));
    parts.push(h("span", { class: "sep" }, "·"), h("span", {}, ranked));
  } else {
    const total = typeof data.count === "number" ? countText(data) : String(current.length);
    const estimated = data.count_is_estimate ? " (estimated)" : "";
    parts.push(h("span", { title: `scenes in the catalog${estimated}` }, "Latest scenes · ", h("strong", {}, total), " in the catalog"));
  }
  const took = typeof data.took_ms === "number" ? data.took_ms : elapsedMs;
  const plan = data.plan ? JSON.stringify(data.plan) : null;
  parts.push(h("span", { class: "sep" }, "·"), h("span", { class: "mono", title: plan ? `query plan: ${plan}` : null }, `${Math.round(took)} ms`));
  if (data.model && (data.model.name || typeof data.model === "string")) {
    parts.push(h("span", { class: "sep" }, "·"), h("span", { class: "mono faint" }, data.model.name || data.model));
  }
  meta.replaceChildren(...parts);

  if (!current.length) {
    showEmpty(params, data.plan && data.plan.reason);
    return;
  }
  for (const id of [...selected]) if (!current.some((r) => r.sceneId === id)) selected.delete(id);
  const grid = data.patterns
    ? renderPatterns(data.patterns, current)
    : h("div", { class: "grid" }, current.map((r) => renderCard(r, { selected: selected.has(r.sceneId) })));
  const limit = Number(params.get("limit") || form.elements.limit.dataset.default);
  const children = [grid];
  if (searched && current.length >= limit && limit < 500) {
    children.push(h("div", { class: "load-more" },
      h("button", { type: "button", class: "btn", onclick: () => loadMore(limit) }, "Show more results")));
  }
  if (!searched && latest && !latest.done) children.push(latestMore(grid));
  results.replaceChildren(...children);
  updateSelection();
}

// Results grouped by look: one band per pattern, largest first, led by the moment
// nearest its centre; every result appears in exactly one band.
function renderPatterns(patterns, cards) {
  const byScene = new Map(cards.map((r) => [r.sceneId, r]));
  return h("div", { class: "patterns" }, patterns.map((p) => {
    const members = p.scene_ids.map((id) => byScene.get(id)).filter(Boolean);
    const rep = p.representative;
    const head = h("div", { class: "pattern-head" },
      rep && rep.frame && rep.frame.thumbnail_url
        ? h("img", { class: "pattern-rep", src: rep.frame.thumbnail_url, alt: "", title: `Representative: ${rep.scene_id}` })
        : null,
      h("h3", {}, rep ? `Pattern ${p.id}` : "Not embedded yet"),
      h("span", { class: "faint" }, `${p.size} scene${p.size === 1 ? "" : "s"}`),
      rep ? h("span", { class: "faint mono" }, `like ${rep.scene_id}`) : null);
    return h("section", { class: "pattern", "data-pattern": String(p.id) },
      head,
      h("div", { class: "grid" }, members.map((r) => renderCard(r, { selected: selected.has(r.sceneId) }))));
  }));
}

// The next pages of the latest scenes, appended as the user scrolls to the end (or clicks).
function latestMore(grid) {
  const reader = latest;
  const more = loadMoreBlock(reader, {
    label: "Show more scenes",
    kind: "scenes",
    onPage: (data) => {
      if (reader !== latest) return false;
      const shown = new Set(current.map((r) => r.sceneId));
      const rows = (data.results || []).map(normalize).filter((r) => !shown.has(r.sceneId));
      current.push(...rows);
      grid.append(...rows.map((r) => renderCard(r, { selected: selected.has(r.sceneId) })));
      updateSelection();
      return true;
    },
  });
  stopScrolling = more.stop;
  return more.block;
}

function loadMore(limit) {
  form.elements.limit.value = String(Math.min(500, limit * 2));
  apply({ push: false });
}

// ---- selection & sets -------------------------------------------------------------------

function updateSelection() {
  selectionBar.hidden = selected.size === 0;
  document.getElementById("selection-count").textContent = String(selected.size);
  results.querySelectorAll(".grid").forEach((grid) => grid.classList.toggle("selecting", selected.size > 0));
  results.querySelectorAll(".card[data-scene-id]").forEach((card) => {
    const on = selected.has(card.dataset.sceneId);
    card.classList.toggle("selected", on);
    const box = card.querySelector(".select input");
    if (box) box.checked = on;
  });
}

results.addEventListener("change", (event) => {
  const box = event.target.closest(".select input");
  if (!box) return;
  const id = box.closest("[data-scene-id]").dataset.sceneId;
  if (box.checked) selected.add(id);
  else selected.delete(id);
  updateSelection();
});

results.addEventListener("click", (event) => {
  const like = event.target.closest("a[data-like]");
  if (!like || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  form.elements.like.value = like.dataset.like;
  form.elements.like_camera.value = "";
  form.elements.like_t.value = "";
  form.elements.text.value = "";
  apply();
  document.querySelector(".results-col").scrollTo({ top: 0 });
});

document.getElementById("select-all").addEventListener("click", () => {
  current.forEach((r) => selected.add(r.sceneId));
  updateSelection();
});
document.getElementById("select-none").addEventListener("click", () => {
  selected.clear();
  updateSelection();
});
// The search on screen, as a body for POST search/ (what a sample or mining starts from).
function currentBody() {
  return paramsToBody(new URLSearchParams(location.search));
}

document.getElementById("add-to-set").addEventListener("click", async () => {
  const added = await openSetPicker({ ids: [...selected], search: currentBody() });
  if (added) {
    selected.clear();
    updateSelection();
  }
});
document.getElementById("add-search").addEventListener("click", () => {
  openSetPicker({ ids: [...selected], search: currentBody() });
});
initMining({ currentBody, results, meta });

// ---- standing query ---------------------------------------------------------------------

watchButton.addEventListener("click", () => {
  const params = formToParams(form);
  const like = params.get("like");
  const named = params.get("text") || (like ? `Like ${like}` : "Filtered scenes");
  openWatchDialog(paramsToBody(params), named);
});

// ---- form wiring ------------------------------------------------------------------------

form.addEventListener("submit", (event) => {
  event.preventDefault();
  apply();
});
// Filters apply as soon as a field is committed (change fires on blur/Enter, not per key).
form.addEventListener("change", (event) => {
  if (event.target.closest("[data-chips]") || event.target.id === "f-radius" || event.target.name === "text") return;
  if (event.target.matches("[data-param]")) apply();
});
document.getElementById("like-clear").addEventListener("click", () => {
  form.elements.like.value = "";
  form.elements.like_camera.value = "";
  form.elements.like_t.value = "";
  apply();
});
document.getElementById("reset-filters").addEventListener("click", () => {
  const kept = ["text", "like", "like_camera", "like_t"].map((name) => [name, form.elements[name].value]);
  paramsToForm(form, new URLSearchParams(), { setChips });
  for (const [name, value] of kept) form.elements[name].value = value;
  place.sync();
  apply();
});
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, textarea, select");
  if (event.key === "/" && !typing) {
    event.preventDefault();
    form.elements.text.focus();
    form.elements.text.select();
  }
});
window.addEventListener("popstate", () => {
  const params = new URLSearchParams(location.search);
  paramsToForm(form, params, { setChips });
  place.sync();
  run(params);
});

// First load: the server already filled the form from the URL; run the URL's search
// (not the form's) so a malformed value reaches the API and is reported by name.
run(new URLSearchParams(location.search));

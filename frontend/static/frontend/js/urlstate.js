// The search page's state lives in its URL, so a pasted link reproduces it: `text`,
// `like` (an example scene; with `like_camera` and `like_t`, one moment of it), `limit`
// and the `GET scenes/` filter names in API units. The form shows some of
// them in friendlier units, declared on each input: `data-scale` (form value = API value × scale: km/h,
// percent) and `data-kind="local-time"` (datetime-local in the catalog's zone).
import { config } from "./config.js";
import { localInputToIso } from "./format.js";

const STRING_FILTERS = new Set(["drive", "start_after", "start_before", "near", "bbox", "quality"]);
const BOOLEAN_FILTERS = new Set(["has_disengagement"]);
const FILTER_NAMES = config.filterNames || [];
const REPEATABLE = new Set(config.repeatable || []);
// `at_moment` conditions: in the URL under their API names, sent as `body.at_moment`.
const MOMENT_NAMES = config.momentNames || [];
const FORM_NAMES = [...FILTER_NAMES, ...MOMENT_NAMES];

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function number(raw) {
  const text = String(raw).trim().replace(",", ".");
  return text === "" ? NaN : Number(text);
}

function toApi(input, raw) {
  if (input.dataset.scale) {
    const value = number(raw);
    return Number.isFinite(value) ? String(round(value / Number(input.dataset.scale), 6)) : raw;
  }
  if (input.dataset.kind === "local-time") return localInputToIso(raw);
  return raw;
}

function toForm(input, raw) {
  if (input.dataset.scale) {
    const value = number(raw);
    return Number.isFinite(value) ? String(round(value * Number(input.dataset.scale), 1)) : raw;
  }
  if (input.dataset.kind === "local-time") return isoToLocalInput(raw);
  return raw;
}

// "2026-11-28T00:30:00Z" -> "2026-11-28T09:30" in the catalog's zone.
function isoToLocalInput(iso) {
  const date = new Date(String(iso).replace(" ", "+"));
  if (Number.isNaN(date.getTime())) return iso;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: config.timezone || "UTC", hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).formatToParts(date).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function inputsFor(form, name) {
  return [...form.querySelectorAll(`[data-param="${name}"]`)];
}

export function formToParams(form) {
  const params = new URLSearchParams();
  const text = form.elements.text.value.trim();
  const like = form.elements.like.value.trim();
  if (text) params.set("text", text);
  if (like) {
    params.set("like", like);
    const camera = form.elements.like_camera.value.trim();
    const t = form.elements.like_t.value.trim();
    if (camera) params.set("like_camera", camera);
    if (t) params.set("like_t", t);
  }
  for (const name of FORM_NAMES) {
    for (const input of inputsFor(form, name)) {
      if (input.type === "radio" && !input.checked) continue;
      const raw = input.value.trim();
      if (raw !== "") params.append(name, toApi(input, raw));
    }
  }
  if (form.elements.patterns?.value) params.set("patterns", form.elements.patterns.value);
  const limit = form.elements.limit;
  if (limit.value && limit.value !== limit.dataset.default) params.set("limit", limit.value);
  return params;
}

// Fill the form from a URL (used on back/forward; the server fills it on first load).
// Repeatable filters are chips, which `setChips` (from chips.js) rebuilds.
export function paramsToForm(form, params, { setChips }) {
  form.elements.text.value = params.get("text") || "";
  form.elements.like.value = params.get("like") || "";
  form.elements.like_camera.value = params.get("like_camera") || "";
  form.elements.like_t.value = params.get("like_t") || "";
  form.elements.limit.value = params.get("limit") || form.elements.limit.dataset.default;
  if (form.elements.patterns) form.elements.patterns.value = params.get("patterns") || "";
  for (const name of FORM_NAMES) {
    const values = params.getAll(name);
    if (REPEATABLE.has(name)) {
      setChips(name, values);
      continue;
    }
    for (const input of inputsFor(form, name)) {
      if (input.type === "radio") input.checked = input.value === (values[0] || "");
      else input.value = values.length ? toForm(input, values[0]) : "";
    }
  }
}

// The body of `POST search/`: repeatable filters as lists, numbers and booleans as JSON
// values. A value that does not parse is sent as typed so the API's 400 names it.
export function paramsToBody(params) {
  const filters = {};
  for (const name of FILTER_NAMES) {
    const values = params.getAll(name).filter((v) => v !== "");
    if (!values.length) continue;
    if (REPEATABLE.has(name)) {
      filters[name] = values;
      continue;
    }
    const raw = values.length > 1 ? values : values[0];
    if (Array.isArray(raw) || STRING_FILTERS.has(name)) filters[name] = raw;
    else if (BOOLEAN_FILTERS.has(name)) filters[name] = raw === "true" ? true : raw === "false" ? false : raw;
    else filters[name] = Number.isFinite(number(raw)) ? number(raw) : raw;
  }
  const body = { text: params.get("text") || null, like_scene: params.get("like") || null, filters };
  const moment = likeMoment(params);
  if (moment) {
    // A time that does not parse is sent as typed, so that the API's 400 names it.
    const t = number(moment.t);
    body.like_frame = { scene_id: moment.sceneId, camera: moment.camera, t_s: Number.isFinite(t) ? t : moment.t };
    body.like_scene = null;
  }
  const atMoment = {};
  for (const name of MOMENT_NAMES) {
    const raw = params.get(name);
    if (raw === null || raw === "") continue;
    atMoment[name] = Number.isFinite(number(raw)) ? number(raw) : raw;
  }
  if (Object.keys(atMoment).length) body.at_moment = atMoment;
  const patterns = params.get("patterns");
  if (patterns) body.patterns = Number.isInteger(Number(patterns)) ? Number(patterns) : patterns;
  const limit = Number(params.get("limit"));
  if (Number.isInteger(limit) && limit > 0) body.limit = limit;
  else if (params.get("limit")) body.limit = params.get("limit");
  return body;
}

export function activeFilterCount(params) {
  return FORM_NAMES.filter((name) => params.getAll(name).some((v) => v !== "")).length;
}

export function hasQuery(params) {
  return Boolean(params.get("text") || params.get("like")) || activeFilterCount(params) > 0;
}

// The example moment (`like` + `like_camera` + `like_t`), or null when the example is a
// whole scene (or there is none).
export function likeMoment(params) {
  const sceneId = params.get("like");
  const camera = params.get("like_camera");
  const t = params.get("like_t");
  return sceneId && camera && t ? { sceneId, camera, t } : null;
}

// The search page URL of a `POST search/` body (a saved search's): the inverse of
// paramsToBody for what the URL can hold.
export function bodyToParams(body) {
  const params = new URLSearchParams();
  if (body.text) params.set("text", body.text);
  if (body.like_frame) {
    params.set("like", body.like_frame.scene_id);
    params.set("like_camera", body.like_frame.camera);
    params.set("like_t", String(body.like_frame.t_s));
  } else if (body.like_scene) {
    params.set("like", body.like_scene);
  }
  for (const [name, value] of Object.entries(body.filters || {})) {
    if (value === null || value === undefined) continue;
    for (const v of [].concat(value)) params.append(name, String(v));
  }
  if (body.limit) params.set("limit", String(body.limit));
  return params;
}

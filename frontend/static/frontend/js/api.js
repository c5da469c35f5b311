// The one way pages talk to /api/v1/: session cookie + CSRF header, JSON in and out,
// errors as ApiError carrying the API's `{detail, errors: {field: [messages]}}`.
import { config } from "./config.js";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && (body.detail || body.message)) || `HTTP ${status}`;
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.errors = (body && body.errors) || null;
    this.body = body;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function apiUrl(path) {
  if (/^(https?:)?\//.test(path)) return path;
  return config.api + path;
}

export async function request(method, path, { body, params, signal } = {}) {
  let url = apiUrl(path);
  if (params) {
    const query = new URLSearchParams(params).toString();
    if (query) url += (url.includes("?") ? "&" : "?") + query;
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { detail: "The server could not be reached. Check your connection." });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) || response.statusText };
  }
  if (!response.ok) {
    // A session that expired answers 401 (or 403 "credentials were not provided").
    const signedOut = response.status === 401 ||
      (response.status === 403 && /credentials/i.test(String(data && data.detail)));
    if (signedOut) {
      window.location.assign(`/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

export const api = {
  get: (path, params, options = {}) => request("GET", path, { params, ...options }),
  post: (path, body, options = {}) => request("POST", path, { body, ...options }),
  patch: (path, body) => request("PATCH", path, { body }),
  del: (path, body) => request("DELETE", path, { body }),
};

// Every page of a short paginated list ({count, next, results}) or a plain list. Lists
// that grow with the fleet (scenes, set items) are read page by page with pageReader.
export async function getAll(path, params, { maxPages = 20 } = {}) {
  let data = await api.get(path, params);
  if (Array.isArray(data)) return data;
  const out = [...(data.results || [])];
  let pages = 1;
  while (data.next && pages < maxPages) {
    data = await api.get(data.next);
    out.push(...(data.results || []));
    pages += 1;
  }
  return out;
}

// A paginated list read one page at a time by following its `next` links (cursors:
// page 2,000 costs the server what page 1 does). `read()` resolves to the next page's
// body ({count, count_is_estimate, next, results}); `done` once the last was read.
export function pageReader(path, params, options = {}) {
  let next = null;
  let started = false;
  return {
    get done() {
      return started && !next;
    },
    async read() {
      if (started && !next) return null;
      const data = started ? await api.get(next, undefined, options) : await api.get(path, params, options);
      started = true;
      next = data.next || null;
      return data;
    },
  };
}

// A list's `count` as text: "~1,200,000" when the server estimated it.
export function countText(data) {
  const count = Number(data.count || 0).toLocaleString();
  return data.count_is_estimate ? `~${count}` : count;
}

// Infinite scroll: calls `load()` whenever `sentinel` comes within a screen of view,
// and again after each load while it stays there, until `load()` resolves false. Returns
// a function that stops it. The page also shows a button calling `load` (keyboard use,
// and browsers without IntersectionObserver).
export function loadWhileVisible(sentinel, load) {
  if (!("IntersectionObserver" in window)) return () => {};
  let busy = false;
  let visible = false;
  let stopped = false;
  const pump = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      while (visible && !stopped) {
        if ((await load()) === false) {
          stop();
          break;
        }
        // Let layout and the observer's report of where the sentinel is now come first.
        await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      }
    } finally {
      busy = false;
    }
  };
  const observer = new IntersectionObserver((entries) => {
    visible = entries.some((entry) => entry.isIntersecting);
    pump();
  }, { rootMargin: "0px 0px 100% 0px" });
  function stop() {
    stopped = true;
    observer.disconnect();
  }
  observer.observe(sentinel);
  return stop;
}

// "field: message" lines from an ApiError, with the JSON body's `filters.` prefix removed
// so a message names the same parameter as the page URL.
export function errorLines(error) {
  if (!(error instanceof ApiError) || !error.errors) return [];
  return Object.entries(error.errors).map(([field, messages]) => ({
    field: field.replace(/^(filters|at_moment)\./, ""),
    message: [].concat(messages).join(" "),
  }));
}

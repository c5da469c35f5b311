// The leakage panel of a set page: pick a version of this set and a version of any set;
// list the scene pairs that leak between them (same drive, near-duplicate, same place).
import { api, ApiError, errorLines, getAll } from "./api.js";
import { h } from "./dom.js";

const PAGE = 200;
const REASON_TEXT = { same_drive: "same drive", near_duplicate: "near-duplicate", same_place: "same place" };

function options(select, items, label) {
  select.replaceChildren(...items.map((item) => h("option", { value: String(item.value) }, label(item))));
}

export function initLeakage({ setId, versions }) {
  const form = document.getElementById("leak-form");
  const mine = document.getElementById("leak-version");
  const otherSet = document.getElementById("leak-against-set");
  const otherVersion = document.getElementById("leak-against-version");
  const result = document.getElementById("leak-result");
  const error = document.getElementById("leak-error");
  let pairs = [];

  async function loadOtherVersions() {
    delete otherVersion.dataset.loaded;
    otherVersion.replaceChildren();
    if (!otherSet.value) return;
    const list = otherSet.value === String(setId) ? versions() : await getAll(`sets/${otherSet.value}/versions/`);
    options(otherVersion, list.map((v) => ({ value: v.version, count: v.count })).reverse(), (v) => `v${v.value} · ${v.count} scenes`);
    // Against this set itself, default to another version than the one checked.
    if (otherSet.value === String(setId) && otherVersion.options.length > 1 && otherVersion.value === mine.value) {
      otherVersion.selectedIndex = 1;
    }
    otherVersion.dataset.loaded = "true";
  }

  async function refresh() {
    const own = versions();
    options(mine, own.map((v) => ({ value: v.version, count: v.count })).reverse(), (v) => `v${v.value} · ${v.count} scenes`);
    form.hidden = own.length === 0;
    if (!own.length) {
      result.replaceChildren(h("p", { class: "empty-note" }, "Freeze a version first."));
      return;
    }
    const sets = await getAll("sets/");
    options(otherSet, sets.map((s) => ({ value: s.id, name: s.name })), (s) => (String(s.value) === String(setId) ? `${s.name} (this set)` : s.name));
    otherSet.value = String(sets.find((s) => String(s.id) !== String(setId))?.id ?? setId);
    await loadOtherVersions();
    form.dataset.ready = "true";
  }

  function render(body, offset) {
    pairs = offset ? [...pairs, ...body.pairs] : body.pairs;
    const summary = h("div", { class: "leak-summary", "data-count": String(body.count) },
      h("strong", {}, String(body.count)), ` leaking pair${body.count === 1 ? "" : "s"}`,
      body.count ? h("span", { class: "faint" }, ` · ${body.leaking_scenes} scene${body.leaking_scenes === 1 ? "" : "s"} of this version · `,
        Object.entries(body.reasons).filter(([, n]) => n).map(([r, n]) => `${REASON_TEXT[r]} ${n}`).join(", ")) : null);
    const rows = pairs.map((p) => h("tr", { class: "leak-pair", "data-a": p.a, "data-b": p.b },
      h("td", {}, h("a", { href: `/scenes/${encodeURIComponent(p.a)}`, class: "mono" }, p.a)),
      h("td", {}, h("a", { href: `/scenes/${encodeURIComponent(p.b)}`, class: "mono" }, p.b)),
      h("td", {}, p.reasons.map((r) => h("span", { class: "badge badge-warn", "data-reason": r }, REASON_TEXT[r])))));
    const children = [summary];
    if (pairs.length) {
      children.push(h("table", { class: "table leak-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "This version"), h("th", {}, "Other"), h("th", {}, "Why"))),
        h("tbody", {}, rows)));
    }
    if (pairs.length < body.count) {
      children.push(h("button", { type: "button", class: "btn btn-sm", id: "leak-more", onclick: () => check(pairs.length) },
        `Show more (${body.count - pairs.length} left)`));
    }
    result.replaceChildren(...children);
  }

  async function check(offset = 0) {
    error.hidden = true;
    if (!offset) result.replaceChildren(h("span", { class: "spinner", "aria-label": "Checking" }));
    try {
      const body = await api.get(`sets/${setId}/versions/${mine.value}/leakage`, {
        against: `${otherSet.value}:${otherVersion.value}`,
        within_s: document.getElementById("leak-within").value,
        min_score: document.getElementById("leak-min-score").value,
        limit: PAGE,
        offset,
      });
      render(body, offset);
    } catch (e) {
      const lines = e instanceof ApiError ? errorLines(e) : [];
      error.textContent = lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : e.message;
      error.hidden = false;
      if (!offset) result.replaceChildren();
    }
  }

  otherSet.addEventListener("change", () => loadOtherVersions());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  return { refresh };
}

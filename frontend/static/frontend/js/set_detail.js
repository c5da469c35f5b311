// One scene set: items with thumbnails and labels (remove, with undo; labels editable),
// read page by page as the grid scrolls; frozen versions with counts, sha256, the diff to
// the previous version and manifest downloads; freeze a new version; leakage between two
// versions; split into parts.
import { api, ApiError, errorLines, getAll, pageReader } from "./api.js";
import { loadMoreBlock } from "./loadmore.js";
import { sceneHref } from "./cards.js";
import { copyText, h, icon, toast } from "./dom.js";
import { localDateTime } from "./format.js";
import { initLeakage } from "./leakage.js";
import { initSplit } from "./split.js";

const page = document.getElementById("set-page");
const setId = page.dataset.setId;
const canEdit = page.dataset.canEdit === "true";
const itemsHost = document.getElementById("items");
const versionsHost = document.getElementById("versions");
const itemCount = document.getElementById("item-count");
const freezeButton = document.getElementById("freeze");
const labelCounts = document.getElementById("label-counts");
let versionList = [];
// Items are read a page at a time as the grid scrolls (a set may hold 10^5 scenes).
const ITEMS_PAGE_SIZE = 100;
let stopScrolling = () => {};

// ---- items ----------------------------------------------------------------------------

function itemTile(item) {
  const frame = item.frame;
  const diseng = item.scene ? item.scene.disengagement_count : 0;
  const href = sceneHref(item.scene_id, frame);
  const thumb = h("a", { class: "thumb", href, tabindex: "-1" });
  if (frame) thumb.append(h("img", { src: frame.thumbnail_url, alt: "", loading: "lazy" }));
  else thumb.append(h("span", { class: "noframe" }, "no frame yet"));
  if (diseng) {
    thumb.append(h("span", { class: "thumb-overlay" }, h("span", {}), h("span", { class: "badge badge-danger" }, icon("alert"), String(diseng))));
  }
  const tile = h("div", { class: "item", "data-scene-id": item.scene_id, "data-label": item.label || "" },
    thumb,
    h("div", { class: "item-body" },
      h("a", { href, title: item.scene_id }, item.scene_id),
      h("span", { class: "faint nowrap", style: "font-size:11px" }, item.vehicle || "")),
    labelField(item));
  if (canEdit) {
    tile.append(h("button", {
      type: "button", class: "remove", title: "Remove from set", "aria-label": `Remove ${item.scene_id}`,
      onclick: () => removeItem(item.scene_id, tile),
    }, icon("x")));
  }
  return tile;
}

// A label: editable (saved on change, Enter or leaving the field) for who may edit.
function labelField(item) {
  if (!canEdit) {
    return item.label ? h("div", { class: "item-label-row" }, h("span", { class: "badge item-label" }, item.label)) : null;
  }
  const input = h("input", {
    type: "text", class: "item-label", value: item.label || "", maxlength: "64", list: "item-label-suggestions",
    placeholder: "label", "aria-label": `Label of ${item.scene_id}`,
  });
  input.addEventListener("change", async () => {
    const label = input.value.trim();
    input.classList.remove("saved", "invalid");
    try {
      const saved = await api.patch(`sets/${setId}/items/${encodeURIComponent(item.scene_id)}/`, { label });
      item.label = saved.label;
      input.value = saved.label;
      input.closest(".item").dataset.label = saved.label;
      input.classList.add("saved");
      countLabels();
    } catch (e) {
      input.classList.add("invalid");
      const lines = errorLines(e);
      toast(lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : `Could not save the label: ${e.message}`, "error");
    }
  });
  return h("div", { class: "item-label-row" }, input);
}

function countLabels() {
  const counts = {};
  itemsHost.querySelectorAll(".item[data-label]").forEach((tile) => {
    const label = tile.dataset.label;
    if (label) counts[label] = (counts[label] || 0) + 1;
  });
  labelCounts.replaceChildren(...Object.entries(counts).sort().map(([label, n]) =>
    h("span", { class: "badge", "data-label-count": label }, `${label} ${n}`)));
}

async function loadItems() {
  stopScrolling();
  const reader = pageReader(`sets/${setId}/items/`, { page_size: ITEMS_PAGE_SIZE });
  try {
    const first = await reader.read();
    if (!first.count_is_estimate) itemCount.textContent = String(first.count);
    if (!first.results.length) {
      itemsHost.replaceChildren(h("div", { class: "state" }, icon("layers", "icon-lg"), h("h2", {}, "This set is empty"),
        h("p", {}, "Select result cards on the search page and choose “Add to set”.")));
      return;
    }
    const grid = h("div", { class: "items-grid" }, first.results.map(itemTile));
    itemsHost.replaceChildren(grid,
      h("datalist", { id: "item-label-suggestions" }, ["positive", "negative"].map((v) => h("option", { value: v }))));
    if (!reader.done) itemsHost.append(moreItems(reader, grid));
    countLabels();
  } catch (e) {
    itemsHost.replaceChildren(h("div", { class: "state state-error" }, h("h2", {}, "Could not load items"), h("p", {}, e.message)));
  }
}

// The rest of the items, a page each time the end of the grid comes into view (or the
// button is clicked).
function moreItems(reader, grid) {
  const note = h("span", { class: "faint", style: "margin-left:10px" });
  // Of the page head's count: exact, and kept up to date as items are removed.
  const total = () => Number(itemCount.textContent).toLocaleString();
  const describe = () => { note.textContent = `${grid.children.length.toLocaleString()} of ${total()} shown`; };
  describe();
  const more = loadMoreBlock(reader, {
    label: "Show more",
    kind: "items",
    note,
    onPage: (data) => {
      grid.append(...data.results.map(itemTile));
      countLabels();
      describe();
      return true;
    },
  });
  stopScrolling = more.stop;
  return more.block;
}

async function removeItem(sceneId, tile) {
  try {
    await api.del(`sets/${setId}/items/`, { scene_ids: [sceneId] });
    tile.remove();
    itemCount.textContent = String(Number(itemCount.textContent) - 1);
    const undo = h("button", { type: "button", class: "link-button", style: "color:var(--accent);margin-left:10px" }, "Undo");
    undo.addEventListener("click", async () => {
      await api.post(`sets/${setId}/items/`, { scene_ids: [sceneId] });
      loadItems();
    });
    toast(h("span", {}, "Removed ", h("code", {}, sceneId), undo), "ok", { timeout: 7000 });
  } catch (e) {
    toast(`Could not remove ${sceneId}: ${e.message}`, "error");
  }
}

// ---- versions --------------------------------------------------------------------------

function diffLine(diff, previous) {
  const line = h("span", { class: "diff", title: `compared with v${previous}` },
    h("span", { class: "add" }, `+${diff.added_count}`),
    h("span", { class: "del" }, `−${diff.removed_count}`));
  if (diff.changed_count) line.append(h("span", { class: "dim" }, `~${diff.changed_count}`));
  return line;
}

function diffDetails(diff, previous) {
  const list = (kind, ids) => ids.length
    ? h("div", {}, h("span", { class: kind === "added" ? "add" : kind === "removed" ? "del" : "dim" }, `${kind} (${ids.length})`),
      h("div", { class: "mono faint", style: "font-size:11px;word-break:break-all" }, ids.slice(0, 50).join("  "), ids.length > 50 ? ` … ${ids.length - 50} more` : ""))
    : null;
  return h("details", { class: "diff-details" },
    h("summary", { class: "faint", style: "cursor:pointer;font-size:12px" }, `Diff against v${previous}`),
    list("added", diff.added || []), list("removed", diff.removed || []), list("changed", diff.changed || []));
}

function versionRow(v, diff) {
  const urls = v.manifest_urls || {};
  const downloads = h("div", { class: "downloads" }, ["jsonl", "csv", "parquet"].filter((f) => urls[f]).map((f) =>
    h("a", { class: "btn btn-sm", href: urls[f], download: "", "data-format": f }, icon("download"), f)));
  const sha = h("div", { class: "version-sha" }, h("span", {}, "sha256"), h("code", { title: v.sha256 }, v.sha256),
    h("button", { type: "button", class: "link-button", title: "Copy sha256", onclick: async () => { await copyText(v.sha256); toast("sha256 copied", "ok"); } }, icon("copy")));
  const row = h("li", { class: "version", "data-version": String(v.version) },
    h("div", { class: "version-head" },
      h("span", { class: "version-n" }, `v${v.version}`),
      h("span", { class: "badge" }, `${v.count} scene${v.count === 1 ? "" : "s"}`),
      v.excluded_count
        ? h("a", { class: "badge badge-warn", href: `/api/v1/sets/${setId}/versions/${v.version}/excluded/`, title: "Left out for their quality flags (bad GNSS): the list", "data-excluded": String(v.excluded_count) },
          `${v.excluded_count} flagged left out`)
        : null,
      diff ? diffLine(diff, v.version - 1) : h("span", { class: "diff faint" }, "first version")),
    h("div", { class: "faint", style: "margin-top:4px;font-size:12px" }, `${v.created_by || ""} · ${localDateTime(v.created_at)}`),
    v.note ? h("div", { style: "margin-top:4px" }, v.note) : null,
    sha,
    downloads);
  if (diff && (diff.added_count || diff.removed_count || diff.changed_count)) row.append(diffDetails(diff, v.version - 1));
  return row;
}

async function loadVersions() {
  try {
    const versions = await getAll(`sets/${setId}/versions/`);
    versionList = versions;
    leakage.refresh().catch((e) => toast(`Could not load sets for the leakage panel: ${e.message}`, "error"));
    const diffs = await Promise.all(versions.map((v) =>
      v.version > 1 ? api.get(`sets/${setId}/versions/${v.version}/diff`, { against: v.version - 1 }).catch(() => null) : null));
    if (freezeButton) freezeButton.lastChild.textContent = `Freeze version ${versions.length ? versions[versions.length - 1].version + 1 : 1}`;
    if (!versions.length) {
      versionsHost.replaceChildren(h("li", { class: "empty-note" }, "No frozen versions yet. Freezing snapshots the current items into an immutable, downloadable manifest."));
      return;
    }
    versionsHost.replaceChildren(...versions.map((v, i) => versionRow(v, diffs[i])).reverse());
  } catch (e) {
    versionsHost.replaceChildren(h("li", { class: "empty-note" }, `Could not load versions: ${e.message}`));
  }
}

async function freeze(confirm = false) {
  const note = document.getElementById("freeze-note");
  freezeButton.disabled = true;
  try {
    const includeFlagged = document.getElementById("freeze-include-flagged");
    const v = await api.post(`sets/${setId}/versions/`, { note: note.value.trim(), confirm, include_flagged: includeFlagged.checked });
    note.value = "";
    const left = v.excluded_count ? `; ${v.excluded_count} flagged left out` : "";
    toast(`Froze v${v.version}: ${v.count} scenes${left}`, "ok");
    await loadVersions();
  } catch (e) {
    const lines = errorLines(e);
    const needsConfirm = e instanceof ApiError && e.status === 400 && lines.some((l) => l.field === "confirm");
    if (needsConfirm && window.confirm(`${lines.map((l) => l.message).join(" ")}\n\nFreeze anyway?`)) {
      freezeButton.disabled = false;
      return freeze(true);
    }
    toast(lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : `Could not freeze: ${e.message}`, "error");
  } finally {
    freezeButton.disabled = false;
  }
}

if (freezeButton) freezeButton.addEventListener("click", () => freeze());
const deleteButton = document.getElementById("delete-set");
if (deleteButton) {
  deleteButton.addEventListener("click", async () => {
    if (!window.confirm("Delete this set? Its frozen versions stay downloadable at their URLs.")) return;
    try {
      await api.del(`sets/${setId}/`);
      location.assign("/sets/");
    } catch (e) {
      toast(`Could not delete: ${e.message}`, "error");
    }
  });
}

const leakage = initLeakage({ setId, versions: () => versionList });
initSplit({ setId });

loadItems();
loadVersions();

// "Add to set": choose an existing set or name a new one, then add the selected scenes
// or a sample (diverse or random) of the whole search, optionally skipping
// near-duplicates and labelling the new items.
import { api, ApiError, errorLines, getAll } from "./api.js";
import { h, toast } from "./dom.js";

const NEW = "__new__";

export function setLabel(set) {
  const count = set.item_count ?? set.count ?? set.items_count;
  return count === undefined ? set.name : `${set.name} · ${count} scenes`;
}

// Options of a <select> of sets: "+ New set…" first, then the sets (most recent first).
export async function fillSetChoice(select, { none = null } = {}) {
  const options = [];
  if (none) options.push(h("option", { value: "" }, none));
  options.push(h("option", { value: NEW }, "+ New set…"));
  select.replaceChildren(...options);
  const sets = await getAll("sets/");
  for (const set of sets) select.append(h("option", { value: String(set.id) }, setLabel(set)));
  return sets;
}

// The chosen set, created first when "+ New set…" is chosen.
export async function chosenSet(select, nameInput, description) {
  if (select.value !== NEW) {
    return { id: select.value, name: select.selectedOptions[0].textContent.split(" · ")[0] };
  }
  const name = nameInput.value.trim();
  if (!name) throw new Error("Give the new set a name.");
  return api.post("sets/", { name, description });
}

function addedMessage(result, set) {
  const added = result && typeof result.added === "number" ? result.added : 0;
  const parts = [`Added ${added} scene${added === 1 ? "" : "s"} to `, h("a", { href: `/sets/${set.id}/` }, set.name)];
  const skipped = result && result.skipped_duplicates_count;
  if (skipped) parts.push(` · skipped ${skipped} near-duplicate${skipped === 1 ? "" : "s"}`);
  return h("span", { "data-testid": "added-message" }, ...parts);
}

export function initSetPicker() {
  const dialog = document.getElementById("set-dialog");
  const form = document.getElementById("set-dialog-form");
  const choice = document.getElementById("set-choice");
  const nameRow = document.getElementById("new-set-fields");
  const name = document.getElementById("new-set-name");
  const error = document.getElementById("set-dialog-error");
  const ok = document.getElementById("set-dialog-ok");
  const modeSelected = document.getElementById("add-mode-selected");
  const modeSample = document.getElementById("add-mode-sample");
  const sampleFields = document.getElementById("sample-fields");
  const field = (id) => document.getElementById(id);
  let sceneIds = [];
  let search = null;
  let resolve = null;

  const showError = (message) => {
    error.textContent = message;
    error.hidden = !message;
  };
  const syncChoice = () => {
    nameRow.hidden = choice.value !== NEW;
    if (!nameRow.hidden) name.focus();
  };
  const syncMode = () => {
    sampleFields.hidden = !modeSample.checked;
    const ranked = Boolean(search && (search.text || search.like_scene));
    field("sample-pool-field").hidden = !ranked;
    field("sample-hint").hidden = ranked;
    ok.textContent = modeSample.checked ? "Add sample" : "Add scenes";
  };
  choice.addEventListener("change", syncChoice);
  modeSelected.addEventListener("change", syncMode);
  modeSample.addEventListener("change", syncMode);
  document.getElementById("set-dialog-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => resolve && resolve(null));

  async function loadSets() {
    delete choice.dataset.loaded;
    try {
      const sets = await fillSetChoice(choice);
      choice.value = sets.length ? String(sets[0].id) : NEW;
    } catch (e) {
      showError(`Could not load sets: ${e.message}`);
      choice.value = NEW;
    }
    choice.dataset.loaded = "true";
    syncChoice();
  }

  // The request body: the selected scenes, or a sample of the search (a ranked search's
  // top results, or every scene matching a filters-only search).
  function body() {
    const out = {};
    if (field("set-dedup").checked) {
      out.dedup = true;
      out.dedup_min_score = Number(field("set-dedup-score").value);
    }
    const label = field("set-label").value.trim();
    if (label) out.label = label;
    if (!modeSample.checked) return { ...out, scene_ids: sceneIds };
    out.sample = {
      n: Number(field("sample-n").value),
      strategy: field("sample-strategy").value,
      seed: Number(field("sample-seed").value || 0),
    };
    if (search && (search.text || search.like_scene)) {
      out.search = { ...search, limit: Number(field("sample-pool").value) };
    } else {
      out.filters = (search && search.filters) || {};
    }
    return out;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    ok.disabled = true;
    try {
      const set = await chosenSet(choice, name, `Created from search ${location.pathname}${location.search}`);
      const result = await api.post(`sets/${set.id}/items/`, body());
      toast(addedMessage(result, set), "ok", { timeout: 8000 });
      const done = resolve;
      resolve = null;
      dialog.close();
      done && done({ set, result });
    } catch (e) {
      const lines = e instanceof ApiError ? errorLines(e) : [];
      showError(lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : e.message);
    } finally {
      ok.disabled = false;
    }
  });

  // open({ ids, search }): `ids` the selected scene ids (may be empty), `search` the
  // current search body (for a sample).
  return function open({ ids = [], search: current = null } = {}) {
    sceneIds = [...ids];
    search = current;
    document.getElementById("set-dialog-count").textContent = String(sceneIds.length);
    modeSelected.disabled = sceneIds.length === 0;
    modeSelected.checked = sceneIds.length > 0;
    modeSample.checked = sceneIds.length === 0;
    syncMode();
    name.value = "";
    showError("");
    dialog.showModal();
    loadSets();
    return new Promise((r) => {
      resolve = r;
    });
  };
}

// "Add to set": choose an existing set or name a new one, then add scenes by id.
import { api, ApiError, errorLines, getAll } from "./api.js";
import { h, toast } from "./dom.js";

const NEW = "__new__";

export function setLabel(set) {
  const count = set.item_count ?? set.count ?? set.items_count;
  return count === undefined ? set.name : `${set.name} · ${count} scenes`;
}

export function initSetPicker() {
  const dialog = document.getElementById("set-dialog");
  const form = document.getElementById("set-dialog-form");
  const choice = document.getElementById("set-choice");
  const nameRow = document.getElementById("new-set-fields");
  const name = document.getElementById("new-set-name");
  const error = document.getElementById("set-dialog-error");
  const ok = document.getElementById("set-dialog-ok");
  let sceneIds = [];
  let resolve = null;

  const showError = (message) => {
    error.textContent = message;
    error.hidden = !message;
  };
  const syncChoice = () => {
    nameRow.hidden = choice.value !== NEW;
    if (!nameRow.hidden) name.focus();
  };
  choice.addEventListener("change", syncChoice);
  document.getElementById("set-dialog-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => resolve && resolve(null));

  async function loadSets() {
    delete choice.dataset.loaded;
    choice.replaceChildren(h("option", { value: NEW }, "+ New set…"));
    try {
      const sets = await getAll("sets/");
      for (const set of sets) choice.append(h("option", { value: String(set.id) }, setLabel(set)));
      choice.value = sets.length ? String(sets[0].id) : NEW;
    } catch (e) {
      showError(`Could not load sets: ${e.message}`);
      choice.value = NEW;
    }
    choice.dataset.loaded = "true";
    syncChoice();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    ok.disabled = true;
    try {
      let set;
      if (choice.value === NEW) {
        if (!name.value.trim()) {
          showError("Give the new set a name.");
          return;
        }
        set = await api.post("sets/", {
          name: name.value.trim(),
          description: `Created from search ${location.pathname}${location.search}`,
        });
      } else {
        set = { id: choice.value, name: choice.selectedOptions[0].textContent.split(" · ")[0] };
      }
      const result = await api.post(`sets/${set.id}/items/`, { scene_ids: sceneIds });
      const added = result && typeof result.added === "number" ? result.added : sceneIds.length;
      toast(
        h("span", {}, `Added ${added} scene${added === 1 ? "" : "s"} to `,
          h("a", { href: `/sets/${set.id}/` }, set.name)),
        "ok",
      );
      const done = resolve;
      resolve = null;
      dialog.close();
      done && done(set);
    } catch (e) {
      const lines = e instanceof ApiError ? errorLines(e) : [];
      showError(lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : e.message);
    } finally {
      ok.disabled = false;
    }
  });

  return function open(ids) {
    sceneIds = [...ids];
    document.getElementById("set-dialog-count").textContent = String(sceneIds.length);
    name.value = "";
    showError("");
    dialog.showModal();
    loadSets();
    return new Promise((r) => {
      resolve = r;
    });
  };
}

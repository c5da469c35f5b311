// "Watch": save the current search as a standing query (POST searches/ with a watch), so
// every new batch of scenes is searched with it.
import { api, ApiError, getAll } from "./api.js";
import { h, toast } from "./dom.js";
import { setLabel } from "./setpicker.js";

export function initWatchDialog() {
  const dialog = document.getElementById("watch-dialog");
  const form = document.getElementById("watch-dialog-form");
  const name = document.getElementById("watch-name");
  const minScore = document.getElementById("watch-min-score");
  const intoSet = document.getElementById("watch-into-set");
  const webhook = document.getElementById("watch-webhook");
  const general = document.getElementById("watch-dialog-error");
  const ok = document.getElementById("watch-dialog-ok");
  let search = null;

  const clearErrors = () => {
    for (const p of dialog.querySelectorAll("[data-watch-error], #watch-dialog-error")) {
      p.hidden = true;
      p.textContent = "";
    }
  };
  const showErrors = (error) => {
    const errors = error instanceof ApiError && error.errors ? error.errors : {};
    const rest = [];
    for (const [field, messages] of Object.entries(errors)) {
      const text = [].concat(messages).join(" ");
      const target = dialog.querySelector(`[data-watch-error="${CSS.escape(field)}"]`);
      if (target) {
        target.textContent = text;
        target.hidden = false;
      } else {
        rest.push(`${field}: ${text}`);
      }
    }
    if (rest.length || !Object.keys(errors).length) {
      general.textContent = rest.length ? rest.join("; ") : error.message;
      general.hidden = false;
    }
  };

  async function loadSets() {
    intoSet.replaceChildren(h("option", { value: "" }, "No set"));
    try {
      const sets = (await getAll("sets/")).filter((set) => set.can_edit);
      for (const set of sets) intoSet.append(h("option", { value: String(set.id) }, setLabel(set)));
    } catch {
      // Without the list the watch can still be saved without a set.
    }
  }

  document.getElementById("watch-dialog-cancel").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const score = minScore.value.trim();
    const watch = {
      min_score: score === "" ? null : Number(score.replace(",", ".")),
      into_set: intoSet.value ? Number(intoSet.value) : null,
      webhook_url: webhook.value.trim() || null,
    };
    if (watch.min_score !== null && !Number.isFinite(watch.min_score)) watch.min_score = score;
    ok.disabled = true;
    try {
      const saved = await api.post("searches/", { name: name.value.trim(), search, watch });
      dialog.close();
      toast(
        h("span", {}, "Watching ", h("a", { href: `/watches/#search-${saved.id}` }, saved.name),
          ": new scenes that match will show up there."),
        "ok",
        { timeout: 8000 },
      );
    } catch (error) {
      showErrors(error);
    } finally {
      ok.disabled = false;
    }
  });

  return function open(body, suggestedName) {
    search = body;
    name.value = suggestedName;
    minScore.value = body.min_score ?? "";
    webhook.value = "";
    clearErrors();
    dialog.showModal();
    name.select();
    loadSets();
  };
}

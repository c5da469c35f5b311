// "Mine disengagements" on the search page: the current filters, the kinds and how many
// hard negatives per disengagement; optionally straight into a set. The answer replaces
// the results: each disengagement (positive) beside its look-alike moments (negatives).
import { api, ApiError, errorLines } from "./api.js";
import { sceneHref } from "./cards.js";
import { h, icon, toast } from "./dom.js";
import { seconds } from "./format.js";
import { chosenSet, fillSetChoice } from "./setpicker.js";

function tile(role, sceneId, frame, caption) {
  const href = sceneHref(sceneId, frame);
  const thumb = h("a", { class: "thumb", href, tabindex: "-1" });
  if (frame && frame.thumbnail_url) thumb.append(h("img", { src: frame.thumbnail_url, alt: "", loading: "lazy" }));
  else thumb.append(h("span", { class: "noframe" }, frame ? `${frame.camera} · ${seconds(frame.t_s)}` : "no frame yet"));
  return h("div", { class: `mined mined-${role}`, "data-scene-id": sceneId, "data-role": role },
    thumb,
    h("div", { class: "mined-body" },
      h("span", { class: `badge ${role === "positive" ? "badge-danger" : "badge-ok"}` }, role),
      h("a", { href, title: sceneId, class: "mono" }, sceneId),
      h("span", { class: "faint" }, caption)));
}

export function renderMining(host, meta, data) {
  const { positives, negatives } = data;
  meta.replaceChildren(
    h("span", {}, h("strong", { id: "mined-positives" }, String(positives.length)), " disengagements"),
    h("span", { class: "sep" }, "·"),
    h("span", {}, h("strong", { id: "mined-negatives" }, String(negatives.length)), " hard negatives"),
  );
  if (!positives.length) {
    host.replaceChildren(h("div", { class: "state" }, icon("search", "icon-lg"), h("h2", {}, "No disengagements match"),
      h("p", {}, "Loosen the filters or the kinds.")));
    return;
  }
  const rows = positives.map((p, index) => {
    const mine = negatives.filter((n) => n.positive === index);
    return h("div", { class: "mined-row", "data-positive": String(index) },
      tile("positive", p.scene_id, p.frame, `${p.kind} at ${seconds(p.t_s)}`),
      h("div", { class: "mined-negatives" }, mine.length
        ? mine.map((n) => tile("negative", n.scene_id, n.frame, `score ${n.score.toFixed(3)}`))
        : h("span", { class: "faint" }, p.frame ? "no look-alike without a disengagement" : "not embedded yet")));
  });
  host.replaceChildren(h("div", { class: "mining" }, rows));
}

export function initMining({ currentBody, results, meta }) {
  const dialog = document.getElementById("mine-dialog");
  const form = document.getElementById("mine-form");
  const error = document.getElementById("mine-error");
  const choice = document.getElementById("mine-set");
  const newFields = document.getElementById("mine-new-set-fields");
  const newName = document.getElementById("mine-new-set-name");
  const ok = document.getElementById("mine-ok");
  const showError = (message) => {
    error.textContent = message;
    error.hidden = !message;
  };
  choice.addEventListener("change", () => {
    newFields.hidden = choice.value !== "__new__";
  });
  document.getElementById("mine-cancel").addEventListener("click", () => dialog.close());

  document.getElementById("mine-open").addEventListener("click", async () => {
    showError("");
    const filters = currentBody().filters || {};
    const names = Object.keys(filters);
    document.getElementById("mine-filters").replaceChildren(names.length
      ? h("span", { class: "faint" }, `Filters: ${names.map((n) => `${n}=${[].concat(filters[n]).join(",")}`).join(" · ")}`)
      : h("span", { class: "faint" }, "No filters: every disengagement in the catalog."));
    dialog.showModal();
    delete choice.dataset.loaded;
    try {
      await fillSetChoice(choice, { none: "Don't add" });
    } catch (e) {
      showError(`Could not load sets: ${e.message}`);
    }
    choice.value = "";
    newFields.hidden = true;
    choice.dataset.loaded = "true";
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    ok.disabled = true;
    try {
      const kinds = document.getElementById("mine-kinds").value.split(",").map((k) => k.trim()).filter(Boolean);
      const body = {
        filters: currentBody().filters || {},
        kinds: kinds.length ? kinds : null,
        negatives_per_positive: Number(document.getElementById("mine-negatives").value),
      };
      let set = null;
      if (choice.value) {
        set = await chosenSet(choice, newName, "Mined disengagements (positive) and hard negatives (negative).");
        body.into_set = Number(set.id);
      }
      const data = await api.post("mining/disengagements/", body);
      dialog.close();
      renderMining(results, meta, data);
      if (set) {
        toast(h("span", {}, "Added to ", h("a", { href: `/sets/${set.id}/` }, set.name), " with labels"), "ok", { timeout: 8000 });
      }
    } catch (e) {
      const lines = e instanceof ApiError ? errorLines(e) : [];
      showError(lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : e.message);
    } finally {
      ok.disabled = false;
    }
  });
}

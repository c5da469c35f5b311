// The split dialog of a set page: parts with fractions (train 0.8 / val 0.2 to start),
// a seed, and whether scenes at the same place stay together. Creates one set per part.
import { api, ApiError, errorLines } from "./api.js";
import { h, icon } from "./dom.js";

const MAX_PARTS = 10;

export function initSplit({ setId, onSplit }) {
  const dialog = document.getElementById("split-dialog");
  const form = document.getElementById("split-form");
  const partsHost = document.getElementById("split-parts");
  const error = document.getElementById("split-error");
  const result = document.getElementById("split-result");
  const ok = document.getElementById("split-ok");

  function partRow(name = "", fraction = "") {
    const row = h("div", { class: "split-part" },
      h("input", { type: "text", class: "split-name", value: name, placeholder: "part name", maxlength: "64", "aria-label": "Part name" }),
      h("input", { type: "number", class: "split-fraction", value: String(fraction), min: "0", max: "1", step: "0.05", "aria-label": "Fraction" }),
      h("button", { type: "button", class: "btn btn-ghost btn-sm", title: "Remove part", onclick: () => row.remove() }, icon("x")));
    return row;
  }

  function reset() {
    partsHost.replaceChildren(partRow("train", 0.8), partRow("val", 0.2));
    result.replaceChildren();
    error.hidden = true;
    ok.disabled = false;
  }

  document.getElementById("split-open").addEventListener("click", () => {
    reset();
    dialog.showModal();
  });
  document.getElementById("split-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("split-add-part").addEventListener("click", () => {
    if (partsHost.children.length < MAX_PARTS) partsHost.append(partRow());
  });

  // Scenes a split by place could not put in any part, and why.
  function leftOut(out) {
    if (!out || !out.count) return "";
    const plural = (n) => `${n} scene${n === 1 ? "" : "s"}`;
    return h("p", { class: "split-left-out" },
      `Left out: ${plural(out.count)} (${out.on_borders} on a border between areas, ` +
      `${out.group_elsewhere} in another part's area than most of their drive).`);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const parts = {};
    for (const row of partsHost.querySelectorAll(".split-part")) {
      parts[row.querySelector(".split-name").value.trim()] = Number(row.querySelector(".split-fraction").value);
    }
    ok.disabled = true;
    try {
      const body = await api.post(`sets/${setId}/split/`, {
        parts,
        seed: Number(document.getElementById("split-seed").value || 0),
        by_place: document.getElementById("split-by-place").checked,
      });
      result.replaceChildren(h("ul", { class: "split-result" }, body.sets.map((s) =>
        h("li", {}, h("a", { href: `/sets/${s.id}/`, "data-part": s.part }, s.name), ` · ${s.count} scene${s.count === 1 ? "" : "s"}`))),
      h("p", { class: "faint" }, `${body.groups.count} group${body.groups.count === 1 ? "" : "s"}; the largest has ${body.groups.largest} scene${body.groups.largest === 1 ? "" : "s"}.`),
      leftOut(body.left_out));
      onSplit && onSplit(body);
    } catch (e) {
      const lines = e instanceof ApiError ? errorLines(e) : [];
      error.textContent = lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : e.message;
      error.hidden = false;
      ok.disabled = false;
    }
  });
}

// Chip inputs for repeatable filters (vehicle, tag): each chip carries a hidden input with
// the filter's `data-param`, so the form reads chips like any other field.
import { h } from "./dom.js";

function chip(param, value) {
  return h(
    "span",
    { class: "chip" },
    value,
    h("input", { type: "hidden", name: param, "data-param": param, value }),
    h("button", { type: "button", "aria-label": `Remove ${value}` }, "×"),
  );
}

export function initChips(form, onChange) {
  const boxes = new Map();
  for (const box of form.querySelectorAll("[data-chips]")) {
    const param = box.dataset.chips;
    const entry = box.querySelector('input[type="text"]');
    boxes.set(param, box);
    const values = () => [...box.querySelectorAll(`input[data-param="${param}"]`)].map((i) => i.value);
    const add = (raw) => {
      const value = raw.trim();
      if (!value || values().includes(value)) return false;
      box.insertBefore(chip(param, value), entry);
      return true;
    };
    box.addEventListener("click", (event) => {
      const button = event.target.closest(".chip button");
      if (button) {
        button.closest(".chip").remove();
        onChange();
      } else {
        entry.focus();
      }
    });
    entry.addEventListener("keydown", (event) => {
      if ((event.key === "Enter" || event.key === ",") && entry.value.trim()) {
        event.preventDefault();
        if (add(entry.value)) onChange();
        entry.value = "";
      } else if (event.key === "Backspace" && !entry.value) {
        const last = box.querySelector(".chip:last-of-type");
        if (last) {
          last.remove();
          onChange();
        }
      }
    });
    // Picking a datalist suggestion fires `input` with the full value and no keydown.
    entry.addEventListener("input", (event) => {
      if (event.inputType === "insertReplacementText" || event.inputType === undefined) {
        const options = [...(entry.list ? entry.list.options : [])].map((o) => o.value);
        if (options.includes(entry.value) && add(entry.value)) {
          entry.value = "";
          onChange();
        }
      }
    });
    entry.addEventListener("blur", () => {
      if (entry.value.trim() && add(entry.value)) onChange();
      entry.value = "";
    });
  }
  return function setChips(param, values) {
    const box = boxes.get(param);
    if (!box) return;
    box.querySelectorAll(".chip").forEach((c) => c.remove());
    const entry = box.querySelector('input[type="text"]');
    for (const value of values) box.insertBefore(chip(param, value), entry);
  };
}

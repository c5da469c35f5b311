// The sets list: the table is rendered by the server; this adds "New set".
import { api, errorLines } from "./api.js";

const toggle = document.getElementById("new-set-toggle");
const form = document.getElementById("new-set-form");
const error = document.getElementById("new-set-error");

toggle.addEventListener("click", () => {
  form.hidden = !form.hidden;
  if (!form.hidden) document.getElementById("new-set-name").focus();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  try {
    const set = await api.post("sets/", {
      name: document.getElementById("new-set-name").value.trim(),
      description: document.getElementById("new-set-description").value.trim(),
    });
    location.assign(`/sets/${set.id}/`);
  } catch (e) {
    const lines = errorLines(e);
    error.textContent = lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join("; ") : e.message;
    error.hidden = false;
  }
});

// Standing queries: each watched search's latest hits, those found since this browser's
// last visit marked new (the newest `found_at` seen is kept in localStorage).
import { api } from "./api.js";
import { normalize, renderCard } from "./cards.js";
import { h, toast } from "./dom.js";
import { localDateTime } from "./format.js";
import { bodyToParams } from "./urlstate.js";

const PAGE = 12;
const seenKey = (id) => `watch-seen:${id}`;

function readSeen(id) {
  try {
    return localStorage.getItem(seenKey(id));
  } catch {
    return null;
  }
}

function writeSeen(id, iso) {
  try {
    localStorage.setItem(seenKey(id), iso);
  } catch {
    // Private mode: nothing is remembered, every visit shows all hits as new.
  }
}

function hitCard(hit, isNew) {
  const card = renderCard(normalize(hit));
  card.classList.toggle("new-hit", isNew);
  card.dataset.foundAt = hit.found_at;
  const body = card.querySelector(".card-body") || card;
  body.append(h("div", { class: "faint found-at" }, isNew ? h("b", {}, "new · ") : null, `found ${localDateTime(hit.found_at)}`));
  return card;
}

async function loadHits(section) {
  const id = section.dataset.searchId;
  const host = section.querySelector("[data-hits]");
  const badge = section.querySelector('[data-testid="new-hits"]');
  const seen = readSeen(id);
  try {
    const [latest, fresh] = await Promise.all([
      api.get(`searches/${id}/hits/`, { page_size: PAGE }),
      seen ? api.get(`searches/${id}/hits/`, { since: seen, page_size: 1 }) : null,
    ]);
    const newCount = fresh ? fresh.count : latest.count;
    badge.hidden = newCount === 0;
    badge.textContent = `${newCount.toLocaleString()} new`;
    if (!latest.results.length) {
      host.replaceChildren(h("div", { class: "empty-note" }, "Nothing found yet: hits appear as new scenes land."));
      return;
    }
    const isNew = (hit) => !seen || Date.parse(hit.found_at) > Date.parse(seen);
    const grid = h("div", { class: "grid" }, latest.results.map((hit) => hitCard(hit, isNew(hit))));
    const children = [grid];
    if (latest.count > latest.results.length) {
      children.push(h("div", { class: "faint watch-more" }, `${latest.count.toLocaleString()} hits in all; the newest ${latest.results.length} are shown.`));
    }
    host.replaceChildren(...children);
    writeSeen(id, latest.results[0].found_at);
  } catch (error) {
    host.replaceChildren(h("div", { class: "empty-note" }, `Could not load hits: ${error.message}`));
  }
}

function wire(section) {
  const body = JSON.parse(section.dataset.search);
  const query = bodyToParams(body).toString();
  section.querySelector("[data-open-search]").href = query ? `/?${query}` : "/";
  const unwatch = section.querySelector("[data-unwatch]");
  unwatch?.addEventListener("click", async () => {
    unwatch.disabled = true;
    try {
      await api.patch(`searches/${section.dataset.searchId}/`, { watch: null });
      toast("No longer watching; the hits found so far stay with the saved search.", "ok");
      section.remove();
    } catch (error) {
      toast(`Could not stop watching: ${error.message}`, "error");
      unwatch.disabled = false;
    }
  });
}

for (const section of document.querySelectorAll(".watch[data-search-id]")) {
  wire(section);
  loadHits(section);
}

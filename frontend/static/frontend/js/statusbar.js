// The status bar: how fresh the catalog is (GET /api/v1/status/), polled while visible.
import { api } from "./api.js";
import { h } from "./dom.js";
import { localDateTime } from "./format.js";

const bar = document.getElementById("statusbar");
const POLL_MS = 15000;

function item(dotClass, label, value, title) {
  return h("span", { class: "item", title: title || null },
    h("span", { class: `dot ${dotClass}` }), label, value !== undefined ? h("b", {}, value) : null);
}

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return "just now";
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function render(status) {
  const items = [item("ok", "Catalog", `${status.scenes.toLocaleString()} scenes`)];
  const waiting = status.pending_embed;
  items.push(
    item(
      status.failed_embed ? "warn" : waiting ? "busy" : "ok",
      "Embedding",
      waiting ? `${waiting.toLocaleString()} waiting` : "up to date",
      `${status.embedded.toLocaleString()} of ${status.scenes.toLocaleString()} scenes embedded`,
    ),
  );
  if (status.failed_embed) {
    items.push(h("span", { class: "item failures" }, `${status.failed_embed.toLocaleString()} failed`));
  }
  items.push(
    h("span", { class: "item", dataset: { testid: "last-ingest" }, title: status.last_ingest_at ? localDateTime(status.last_ingest_at) : null },
      "Last ingest ", h("b", {}, status.last_ingest_at ? ago(status.last_ingest_at) : "never")),
  );
  if (status.watch_uri) {
    items.push(item("ok", "Watching", undefined, `New manifests in ${status.watch_uri} are ingested automatically`),
      h("span", { class: "item mono" }, status.watch_uri));
  }
  items.push(h("span", { class: "item grow" }));
  items.push(h("span", { class: "item mono" }, status.model || ""));
  bar.replaceChildren(...items);
  bar.dataset.state = "ok";
}

async function poll() {
  if (document.hidden) return;
  try {
    render(await api.get("status/"));
  } catch (error) {
    bar.replaceChildren(item("bad", "Status unavailable", undefined, String(error.message || error)));
    bar.dataset.state = "error";
  }
}

if (bar) {
  poll();
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
}

// The status bar: ingestion and embedding backlog and failures, polled while visible.
import { h } from "./dom.js";

const bar = document.getElementById("statusbar");
const POLL_MS = 15000;

function item(dotClass, label, value, title) {
  return h("span", { class: "item", title: title || null },
    h("span", { class: `dot ${dotClass}` }), label, value !== undefined ? h("b", {}, value) : null);
}

function render(status) {
  const { ingest, embedding } = status;
  const ingestBusy = ingest.running + ingest.queued;
  const items = [
    item("ok", "Catalog", `${status.scenes.toLocaleString()} scenes`),
    item(
      ingest.failed_24h ? "bad" : ingestBusy ? "busy" : "ok",
      "Ingestion",
      ingestBusy ? `${ingest.running} running · ${ingest.queued} queued` : "idle",
      ingest.last_error || null,
    ),
  ];
  if (ingest.failed_24h) {
    items.push(h("span", { class: "item failures", title: ingest.last_error || "" },
      `${ingest.failed_24h} ingest failure${ingest.failed_24h === 1 ? "" : "s"} (24 h)`));
  }
  const backlog = embedding.pending + embedding.running;
  items.push(
    item(
      embedding.failed ? "warn" : backlog ? "busy" : "ok",
      "Embedding",
      backlog ? `${backlog.toLocaleString()} waiting` : "up to date",
      embedding.model ? `model ${embedding.model}` : "no model registered yet",
    ),
  );
  if (embedding.failed) {
    items.push(h("span", { class: "item failures" }, `${embedding.failed.toLocaleString()} failed`));
  }
  items.push(h("span", { class: "item grow" }));
  items.push(h("span", { class: "item mono" }, embedding.model || ""));
  bar.replaceChildren(...items);
  bar.dataset.state = "ok";
}

async function poll() {
  if (document.hidden) return;
  try {
    const response = await fetch("/ui/status.json", { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    bar.replaceChildren(item("bad", "Status unavailable", undefined, String(error)));
    bar.dataset.state = "error";
  }
}

if (bar) {
  poll();
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
}

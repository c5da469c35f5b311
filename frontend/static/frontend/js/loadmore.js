// A "Show more" block under a paged list: each click, or each time the block scrolls into
// view, reads the reader's next page (api.pageReader) and hands it to `onPage`, which
// returns false to stop; the block goes once the list's end is reached.
import { loadWhileVisible } from "./api.js";
import { h } from "./dom.js";

export function loadMoreBlock(reader, { label, kind, onPage, note = null }) {
  const button = h("button", { type: "button", class: "btn", "data-more": kind }, label);
  const block = h("div", { class: "load-more" }, button, note);
  let loading = null;
  const next = () => {
    loading ??= (async () => {
      button.disabled = true;
      try {
        const data = await reader.read();
        if (!data || onPage(data) === false) return false;
        if (reader.done) block.remove();
        return !reader.done;
      } catch (error) {
        if (error.name !== "AbortError") button.textContent = `Could not load more: ${error.message}. Retry`;
        return false;
      } finally {
        button.disabled = false;
        loading = null;
      }
    })();
    return loading;
  };
  button.addEventListener("click", next);
  return { block, stop: loadWhileVisible(block, next) };
}

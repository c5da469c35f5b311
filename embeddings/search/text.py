"""Text queries: the text-vector cache, and matching query words against scene tags.

The text tower costs ~70 ms per query on CPU, more than the whole vector search; people
repeat queries (paging, tweaking filters, shared URLs), so vectors are kept in a bounded
LRU keyed by (model, normalised text).

Tags are matched with PostgreSQL full-text search (english stemming: "pedestrians"
finds the tag "pedestrian") over `catalog_tags_tsvector(tags)`, which has a GIN
expression index (migration embeddings 0100). Any query word may match (OR), so
"pedestrians crossing at night" finds scenes tagged "night".
"""

import functools
import threading
from collections import OrderedDict

import numpy as np
from django.db import connection

TEXT_CACHE_SIZE = 2048  # ~4 MiB of float32 512-d vectors
TAGS_TSVECTOR = "catalog_tags_tsvector({alias}.tags)"  # must match the index expression


def normalise_text(text: str) -> str:
    # open_clip's tokenizer lowercases and collapses whitespace: same tokens, same vector.
    return " ".join(text.lower().split())


class TextVectorCache:
    """Thread-safe bounded LRU of text vectors. The lock is not held while encoding, so
    two concurrent misses of one text may both encode (harmless, same result)."""

    def __init__(self, maxsize: int = TEXT_CACHE_SIZE):
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, model_name: str, text: str) -> np.ndarray | None:
        key = (model_name, normalise_text(text))
        with self._lock:
            vector = self._items.get(key)
            if vector is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return vector

    def put(self, model_name: str, text: str, vector: np.ndarray) -> None:
        vector = np.array(vector, dtype=np.float32, copy=True)
        vector.setflags(write=False)
        key = (model_name, normalise_text(text))
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


text_vectors = TextVectorCache()


def encode_text_cached(encoder, text: str) -> tuple[np.ndarray, bool]:
    """(vector, cache_hit) for `text` with `encoder` (see embeddings/encoder.py)."""
    cached = text_vectors.get(encoder.model_name, text)
    if cached is not None:
        return cached, True
    vector = np.asarray(encoder.encode_text([normalise_text(text)])[0], dtype=np.float32)
    text_vectors.put(encoder.model_name, text, vector)
    return text_vectors.get(encoder.model_name, text), False


@functools.lru_cache(maxsize=4096)
def tags_tsquery(text: str) -> str:
    """The query's words as an OR tsquery (text form, '' when only stop words). Kept
    per process: it depends only on the text and the server's English dictionary, and
    standing queries ask for the same texts on every batch."""
    with connection.cursor() as cur:
        cur.execute("SELECT replace(plainto_tsquery('english', %s)::text, ' & ', ' | ')", [text])
        return cur.fetchone()[0] or ""


def tags_match_sql(alias: str = "s") -> str:
    """Boolean SQL: the scene's tags match the tsquery given as one %s parameter."""
    return f"{TAGS_TSVECTOR.format(alias=alias)} @@ %s::tsquery"


def matched_tags(scene_pks: list[int], tsquery: str) -> dict[int, list[str]]:
    """For each scene, which of its tags matched the query."""
    if not scene_pks or not tsquery:
        return {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT s.id, ARRAY(SELECT t FROM unnest(s.tags) AS t "
            "WHERE to_tsvector('english', t) @@ %s::tsquery ORDER BY t) "
            "FROM catalog_scene s WHERE s.id = ANY(%s)",
            [tsquery, scene_pks],
        )
        return {pk: list(tags) for pk, tags in cur.fetchall() if tags}

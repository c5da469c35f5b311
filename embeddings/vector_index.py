"""The per-model HNSW indexes, and the two kinds of frame index a model can have.

Every model has an HNSW index over its scene vectors (`halfvec`, cosine) and one over its
frame vectors, restricted to its rows (`WHERE model_id = <id>`) so that a second model
never rebuilds or slows the first one's. The frame index is one of:

- `halfvec`: the vectors themselves (2 bytes a dimension), cosine distance. ~1.3 KiB of
  index per 512-d frame (measured): 13 GiB at 10^7 frames, 91 GiB at 7x10^7.
- `bit`: the sign of each dimension (`binary_quantize`, 64 bytes for 512-d), Hamming
  distance: ~0.35 KiB per frame (measured), 3.7x smaller. Its walk only *finds
  candidates* (ranked by Hamming distance, a rough proxy); every frame of the scenes it
  reaches is then scored exactly on the stored `halfvec` (see search.vector_sql), so
  results keep exact scores. It walks more candidates for the same recall
  (BIT_CANDIDATES_MIN frames, BIT_SCENES_MIN scenes of the scene-vector walk).

`CATALOG_FRAME_INDEX` picks the kind for models registered from then on; `manage.py
vector_index` rebuilds an existing model's frame index as the other kind without
blocking search (built CONCURRENTLY beside the old one, then swapped).
"""

from collections.abc import Callable

from django.db import connection

from embeddings.models import EmbeddingModel

HNSW_OPTIONS = "m = 16, ef_construction = 64"
# The scene graph is the `bit` search's main candidate source, and scenes of one place
# are dense: a graph built with pgvector's defaults reached 0.68-0.76 of the true top 300
# scenes at 10^6 scene vectors (bench/scale.py data, ef_search 100-1,000); built with
# these, 0.98-0.99 at the same ef, for 1.7x the build time (16 min at 10^6 on 2 cores).
SCENE_HNSW_OPTIONS = "m = 32, ef_construction = 128"
KINDS = ("halfvec", "bit")
# Frames a `bit` walk returns at least. Hamming distance ranks coarsely (bench/scale.py
# at 10^7 frames: the scenes of the 400 best Hamming frames held 39% of the true top 10,
# of the best 4,000 85%): the scene walk carries recall, and a small frame walk adds the
# scenes with one strong moment, which their mean vector ranks low.
BIT_CANDIDATES_MIN = 40
# Scenes the scene-vector walk returns at least beside a `bit` frame walk: the scene graph
# is exact (halfvec) and cheap to re-score (~10 frames a scene). bench/scale.py at 10^7
# frames, unfiltered, 20 queries: recall@10 0.915 with 100 scenes, 0.965 with 200,
# 0.975 with 300 (0.945 over the bench's 40), 0.99 with 500 (0.958 over its 40).
BIT_SCENES_MIN = 500
# A filtered walk asks for BIT_CANDIDATES_MIN times the filter's share, at least this share:
# fewer frames compete, while each candidate costs 1/share index entries to find.
BIT_FILTERED_SHARE_MIN = 0.25
# ... and for BIT_SCENES_MIN times the share, at least this share (at 10^7 frames, 10%
# filter: recall@10 0.975 with 100 scenes, 0.995 with 150, 0.993 with 250 at twice the
# index entries).
BIT_SCENE_SHARE_MIN = 0.3
FRAME_TABLE = "embeddings_frameembedding"
SCENE_TABLE = "embeddings_sceneembedding"


def frame_index_name(model: EmbeddingModel) -> str:
    return f"frame_emb_hnsw_m{model.pk}"


def scene_index_name(model: EmbeddingModel) -> str:
    return f"scene_emb_hnsw_m{model.pk}"


def frame_key_sql(kind: str, dim: int, alias: str = "fe") -> str:
    """The indexed expression of a frame index of `kind` (queries must order by exactly
    this expression to use the index)."""
    if kind == "bit":
        return f"binary_quantize({alias}.embedding::halfvec({dim}))::bit({dim})"
    return f"{alias}.embedding::halfvec({dim})"


def frame_walk_distance_sql(kind: str, dim: int) -> str:
    """The distance a frame walk orders by, with the query as one %s parameter."""
    key = frame_key_sql(kind, dim)
    if kind == "bit":
        return f"{key} <~> binary_quantize(%s::halfvec({dim}))"
    return f"{key} <=> %s::halfvec({dim})"


def walk_sizes(kind: str, *, frames: int, scenes: int, share: float) -> tuple[int, int]:
    """How many frames and scenes the two walks return for a query that needs `frames`
    and `scenes`, over a frame index of `kind` and a filter keeping `share` of the rows.

    Hamming distance ranks roughly: a `bit` walk casts a wider net for the exact
    re-score. A filter leaves fewer frames competing (a smaller net suffices) while each
    candidate costs 1/share index entries to find (bench at 10^6 frames, 10% filter: 100
    candidates recall@10 1.0 at p95 72 ms, 400: 1.0 at 107 ms)."""
    if kind != "bit":
        return frames, scenes
    share = min(1.0, share)
    return (
        max(frames, round(BIT_CANDIDATES_MIN * max(share, BIT_FILTERED_SHARE_MIN))),
        max(scenes, round(BIT_SCENES_MIN * max(share, BIT_SCENE_SHARE_MIN))),
    )


def frame_index_ddl(model: EmbeddingModel, kind: str, *, name: str, concurrently: bool) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown frame index kind {kind!r} (one of {', '.join(KINDS)})")
    key = frame_key_sql(kind, model.dim, alias=FRAME_TABLE).replace(f"{FRAME_TABLE}.", "")
    ops = "bit_hamming_ops" if kind == "bit" else "halfvec_cosine_ops"
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {name} ON {FRAME_TABLE} USING hnsw "
        f"(({key}) {ops}) WITH ({HNSW_OPTIONS}) WHERE model_id = {int(model.pk)}"
    )


def scene_index_ddl(model: EmbeddingModel, *, name: str = "", concurrently: bool = False) -> str:
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {name or scene_index_name(model)} ON {SCENE_TABLE} "
        f"USING hnsw ((embedding::halfvec({int(model.dim)})) halfvec_cosine_ops) "
        f"WITH ({SCENE_HNSW_OPTIONS}) WHERE model_id = {int(model.pk)}"
    )


def create_indexes(model: EmbeddingModel) -> None:
    """Both indexes of a newly registered model (it has no rows yet: a plain build)."""
    with connection.cursor() as cursor:
        cursor.execute(
            frame_index_ddl(
                model, model.frame_index, name=frame_index_name(model), concurrently=False
            )
        )
        cursor.execute(scene_index_ddl(model))


def rebuild_frame_index(model: EmbeddingModel, kind: str, *, progress=print) -> None:
    """Rebuild the model's frame index as `kind`, online (see _swap_in), and switch the
    model row. Run outside a transaction."""
    name = frame_index_name(model)
    progress(f"building the {kind} frame index of {model.name} (CONCURRENTLY)")
    _swap_in(name, lambda temporary: frame_index_ddl(
        model, kind, name=temporary, concurrently=True))  # fmt: skip
    EmbeddingModel.objects.filter(pk=model.pk).update(frame_index=kind)
    model.frame_index = kind


def rebuild_scene_index(model: EmbeddingModel, *, progress=print) -> None:
    """Rebuild the model's scene index with today's SCENE_HNSW_OPTIONS (an index built
    before them finds fewer of the right scenes), online. Run outside a transaction."""
    name = scene_index_name(model)
    progress(f"building the scene index of {model.name} ({SCENE_HNSW_OPTIONS}, CONCURRENTLY)")
    _swap_in(name, lambda temporary: scene_index_ddl(model, name=temporary, concurrently=True))


def _swap_in(name: str, ddl: Callable[[str], str]) -> None:
    """Build the index `ddl(temporary name)` creates (CONCURRENTLY) while searches keep
    using `name`, then drop the old index and give the new one its name."""
    temporary = f"{name}_new"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {temporary}")
        cursor.execute(ddl(temporary))
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        cursor.execute(f"ALTER INDEX {temporary} RENAME TO {name}")

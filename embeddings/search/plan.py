"""Choosing the plan of one vector query: exact scan or HNSW walk.

An HNSW scan applies SQL filters *after* it walks the graph, so a filter keeping 1% of
the frames returns a fraction of the true top-k. pgvector 0.8's iterative scans keep
walking until enough rows pass the filter: fast for broad filters, but the walk visits
about `fetch / selectivity` tuples and its recall decays the further it goes. An exact
scan costs one distance per matching frame and has recall 1.0. With M frames matching
out of N, exact costs ~M and HNSW ~fetch*N/M, so the crossover is at M* ~ sqrt(fetch*N).
`choose_plan` counts the filter's scenes up to that cap with one LIMITed query (served
by the scene indexes): at most the cap, an exact scan over exactly those scenes'
frames; more, an HNSW walk with iterative-scan settings sized to the selectivity.

Scene queries (nearest_scenes) have a third plan between the two, the scene scan: a
filter keeping up to SCENE_SCAN_MAX_SCENES scenes but too many frames to score them all
in a few tens of ms has the exact distances of its scenes' mean vectors computed (one a
scene, not one a frame), and every frame of its best scenes by mean scored exactly. At
10^7 frames a 1% filter (10^4 scenes, 10^5 frames) took 150 ms by the exact scan, 500-700
ms by walks (each walk entry costs 1/selectivity index entries to find), ~50 ms so.
"""

import functools
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.db import connection

from catalog.sql import id_array_literal
from embeddings.vector_index import walk_sizes

# Below this many matching frames an exact scan takes a few ms, less than the fixed cost
# of an HNSW walk: never approximate.
EXACT_MIN_FRAMES = 2_000
# Crossover constant C in M* = sqrt(C * fetch * N). bench/search.py (200k frames): an
# exact scan costs ~2-5 us per matching frame, an iterative walk ~10 ms plus ~40 us per
# tuple visited (~fetch / selectivity), so the two meet near C = 10.
EXACT_TRADEOFF = 10.0
# Cap on the scene ids collected for an exact scan (a bound on the IN-list we send).
EXACT_MAX_SCENES = 20_000
# A scene query scans every matching frame only up to this many (bench/scale.py, 10^7
# frames: an exact scan costs ~1.5 us a frame, 10^4 frames ~20 ms); beyond, the scene scan.
SCENE_QUERY_EXACT_MAX_FRAMES = 20_000
# The scene scan: at most this many scenes (their ids travel as one array; each scene's
# vector is a random heap row, ~3 us), and frames re-scored: those of the best scenes by
# mean, up to this budget, at least twice the scenes wanted. With ~10 frames a scene,
# 150 scenes: as many as a walk under a filter takes (vector_index.BIT_SCENE_SHARE_MIN:
# fewer scenes compete), and these are the exact best by mean, not a walk's.
SCENE_SCAN_MAX_SCENES = EXACT_MAX_SCENES
SCENE_SCAN_RESCORED_FRAMES = 1_500
# A filter the planner estimates at this many times the scene scan's cap is not counted:
# it is walked (a walk that runs out falls back to an exact scan, so an estimate that is
# wrong costs time, never results). Counting 2x10^4 scenes costs ~15 ms at 10^6 scenes.
ESTIMATE_TRUSTED_ABOVE = 4.0
# HNSW candidate list. bench/search.py, frame walk + exact re-score of the reached
# scenes: recall@10 0.975 at ef 40 (pgvector's default), 0.99 at 64; with the scene
# walk added (vector_sql.hnsw_rerank_sql) 1.0 at 64.
EF_SEARCH_MIN = 64
EF_SEARCH_MAX = 1_000  # pgvector's limit
# Tuples an iterative scan may visit: `SCAN_SAFETY * fetch / selectivity`, bounded.
SCAN_SAFETY = 4.0
MAX_SCAN_TUPLES_MIN = 20_000
MAX_SCAN_TUPLES_MAX = 2_000_000
STATS_TTL_S = 60.0
# Below this many rows (or never analysed) count exactly instead of reading statistics:
# a count over 200k rows already costs ~50 ms.
SMALL_TABLE_ROWS = 20_000

FE = "embeddings_frameembedding"
SE = "embeddings_sceneembedding"
# A vector row's frame, where its moment state lives (moment conditions are over `mf`).
MOMENT_JOIN = "JOIN embeddings_frame mf ON mf.id = fe.frame_id"


# VectorScope.restricted_to; the ids travel as one array literal, rendered once per
# scope: every query of a standing-query run sends the same 1,000 ids, and rendering a
# Python list as an array costs ~0.2 ms each time.
RESTRICTION_SQL = "s.id = ANY(%s::bigint[])"


# A standing-query run restricts hundreds of scopes to one batch: its ids are sorted and
# rendered once.
@functools.lru_cache(maxsize=8)
def _sorted_ids(ids: tuple) -> tuple[int, ...]:
    return tuple(sorted({int(i) for i in ids}))


@functools.lru_cache(maxsize=8)
def within_literal(pks: tuple[int, ...]) -> str:
    """The array literal of a scope's `within` scenes (RESTRICTION_SQL's parameter)."""
    return id_array_literal(pks)


@dataclass(frozen=True)
class VectorScope:
    """Which frame vectors a query ranks: one model, scenes passing a filter, cameras."""

    model_id: int
    dim: int
    filter_sql: str = "TRUE"  # boolean over `catalog_scene AS s`
    filter_params: tuple = ()
    cameras: tuple[str, ...] = ()
    exclude_scene_pk: int | None = None
    # Moment conditions over the vector row's frame `mf` (see with_moments, MOMENT_JOIN).
    frame_sql: str = "TRUE"
    frame_params: tuple = ()
    # The kind of the model's frame index (embeddings.vector_index): what a walk orders by.
    frame_index: str = "halfvec"
    # Only these scenes (see restricted_to); None: the whole catalog.
    within: tuple[int, ...] | None = None

    @classmethod
    def of_model(cls, model, **fields) -> "VectorScope":
        """The scope of `model`'s vectors: its id, dimension and frame index kind."""
        return cls(model.id, model.dim, frame_index=model.frame_index, **fields)

    @property
    def filtered(self) -> bool:
        return self.filter_sql.strip().upper() != "TRUE"

    @property
    def has_moment_conditions(self) -> bool:
        return self.frame_sql.strip().upper() != "TRUE"

    def narrowed(self, sql: str, params: Sequence) -> "VectorScope":
        """The same scope with one more condition over `s` (e.g. a tag match)."""
        combined = f"({self.filter_sql}) AND ({sql})" if self.filtered else sql
        return replace(self, filter_sql=combined, filter_params=(*self.filter_params, *params))

    def restricted_to(self, scene_pks) -> "VectorScope":
        """Only the scenes `scene_pks` (e.g. the scenes that just finished embedding, for
        standing queries): every query is then exact over just their frames, so it costs
        O(len(scene_pks)) whatever the size of the catalog (vector search answers it
        from those scenes' vectors in memory: `embeddings.search.within`)."""
        pks = _sorted_ids(tuple(scene_pks))
        return replace(self.narrowed(RESTRICTION_SQL, [within_literal(pks)]), within=pks)

    def with_moments(self, conditions) -> "VectorScope":
        """Only frames whose moment satisfies `conditions` (MomentConditions)."""
        if conditions is None or conditions.is_empty():
            return self
        frame_sql, frame_params = conditions.sql("mf")
        return replace(self, frame_sql=frame_sql, frame_params=tuple(frame_params))

    def scene_level(self) -> "VectorScope":
        """The scope for plans over scenes (counting the filter's scenes, walking scene
        vectors): moment conditions become "the scene has a qualifying moment". Frame
        queries test the conditions on each row instead, without this subquery."""
        if not self.has_moment_conditions:
            return self
        cameras, params = "", [*self.frame_params]
        if self.cameras:
            cameras = " AND fe.camera = ANY(%s)"
            params.append(list(self.cameras))
        scoped = self.narrowed(
            f"EXISTS (SELECT 1 FROM embeddings_frame mf JOIN {FE} fe ON fe.frame_id = mf.id "
            f"AND fe.model_id = {int(self.model_id)} WHERE mf.scene_id = s.id "
            f"AND {self.frame_sql}{cameras})",
            params,
        )
        return replace(scoped, frame_sql="TRUE", frame_params=())


@dataclass
class Plan:
    arm: str  # "exact" | "scenes" (the scene scan) | "hnsw"
    reason: str
    total_frames: int
    matched_frames_est: float | None = None
    matched_scenes_est: float = 0.0  # scenes with vectors that pass the filter
    # exact and scenes arms: the filter's scenes, already counted
    scene_pks: list[int] | None = None
    rescored_scenes: int = 0  # scenes arm: how many of the best by mean have frames scored
    settings: dict[str, str] = field(default_factory=dict)
    fallback: bool = False

    def describe(self) -> dict:
        out = {"arm": self.arm, "reason": self.reason}
        if self.fallback:
            out["fallback"] = "exact"
        if self.matched_frames_est is not None:
            out["matched_frames_est"] = round(self.matched_frames_est)
        if self.arm == "scenes":
            out["rescored_scenes"] = self.rescored_scenes
        return out


# --- statistics --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStats:
    frames: int  # frame vectors of the model
    scenes: int  # scenes in the catalog
    vector_scenes: int  # scenes with a scene vector of the model
    camera_share: dict[str, float]
    at: float

    @property
    def embedded_share(self) -> float:
        return min(1.0, self.vector_scenes / max(self.scenes, 1))

    @property
    def frames_per_scene(self) -> float:
        return self.frames / max(self.vector_scenes, 1)

    def share_of(self, cameras: Sequence[str]) -> float:
        if not cameras or not self.camera_share:
            return 1.0
        return min(1.0, sum(self.camera_share.get(c, 0.0) for c in cameras))


_stats_lock = threading.Lock()
_stats: dict[int, ModelStats] = {}


def model_stats(model_id: int, *, refresh: bool = False) -> ModelStats:
    """Frame/scene counts per model (exact when small, planner statistics when large),
    cached per process for a minute: the plan needs magnitudes, not exact figures."""
    now = time.monotonic()
    with _stats_lock:
        cached = _stats.get(model_id)
    if cached and not refresh and now - cached.at < STATS_TTL_S:
        return cached
    with connection.cursor() as cur:
        frames_est = _reltuples(cur, FE)
        if frames_est < SMALL_TABLE_ROWS:
            cur.execute(
                f"SELECT camera, count(*) FROM {FE} WHERE model_id = %s GROUP BY camera",
                [model_id],
            )
            counts = dict(cur.fetchall())
            frames = sum(counts.values())
            shares = {c: n / frames for c, n in counts.items()} if frames else {}
        else:
            frames = round(frames_est * _mcv_share(cur, FE, "model_id", model_id, default=1.0))
            shares = _mcv_shares(cur, FE, "camera")
        scenes_est = _reltuples(cur, "catalog_scene")
        if scenes_est < SMALL_TABLE_ROWS:
            cur.execute("SELECT count(*) FROM catalog_scene")
            scenes = cur.fetchone()[0]
        else:
            scenes = round(scenes_est)
        vector_scenes_est = _reltuples(cur, SE)
        if vector_scenes_est < SMALL_TABLE_ROWS:
            cur.execute(f"SELECT count(*) FROM {SE} WHERE model_id = %s", [model_id])
            vector_scenes = cur.fetchone()[0]
        else:
            share = _mcv_share(cur, SE, "model_id", model_id, default=1.0)
            vector_scenes = round(vector_scenes_est * share)
    stats = ModelStats(frames, scenes, vector_scenes, shares, now)
    with _stats_lock:
        _stats[model_id] = stats
    return stats


def clear_stats() -> None:
    with _stats_lock:
        _stats.clear()


def _reltuples(cur, table: str) -> float:
    cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    row = cur.fetchone()
    return float(row[0]) if row else -1.0  # -1: never analysed


def _mcv_shares(cur, table: str, column: str) -> dict[str, float]:
    cur.execute(
        "SELECT most_common_vals::text::text[], most_common_freqs FROM pg_stats "
        "WHERE tablename = %s AND attname = %s",
        [table, column],
    )
    row = cur.fetchone()
    if not row or row[0] is None:
        return {}
    return dict(zip(row[0], row[1], strict=False))


def _mcv_share(cur, table: str, column: str, value, *, default: float) -> float:
    shares = _mcv_shares(cur, table, column)
    return shares.get(str(value), default) if shares else default


# --- planning ----------------------------------------------------------------------------


def exact_cap_frames(fetch: int, total_frames: int) -> float:
    return max(EXACT_MIN_FRAMES, math.sqrt(EXACT_TRADEOFF * max(fetch, 1) * total_frames))


def walk_rows(kind: str, *, frames: int, scenes: int) -> int:
    """Rows the walks return for a query that needs `frames` and `scenes` under a filter
    (each costs 1/selectivity index entries): what an exact scan competes with. A `bit`
    walk returns more than asked (bench/scale.py at 10^7 frames, 1% filter: 40,000 index
    entries, 500-700 ms, where the exact scan of 10^5 frames took 150 ms)."""
    return sum(walk_sizes(kind, frames=frames, scenes=scenes, share=0.0))


def choose_plan(
    scope: VectorScope,
    *,
    fetch: int,
    scenes: int = 0,
    force: str | None = None,
    scene_scan: bool = False,
) -> Plan:
    """Pick exact or HNSW for `fetch` nearest frames (and `scenes` nearest scenes by
    mean vector) in `scope`, or the scene scan when `scene_scan` (a scene query) and the
    filter keeps a mid-sized set of scenes (see module docstring)."""
    stats = model_stats(scope.model_id)
    total = max(stats.frames, 1)
    cam_share = stats.share_of(scope.cameras)
    cap_frames = exact_cap_frames(walk_rows(scope.frame_index, frames=fetch, scenes=scenes), total)
    counted = scope.scene_level()
    if scope.within is not None:
        return _restricted_plan(counted, stats, total, cam_share)
    if not counted.filtered:
        matched = total * cam_share
        arm = "exact" if matched <= cap_frames else "hnsw"
        plan = Plan(arm, f"no filter, ~{matched:.0f} frames", total, matched, stats.vector_scenes)
    elif scope.has_moment_conditions:
        # Count the qualifying moments themselves (through the condition's index): a
        # condition that keeps 1% of the moments keeps far more than 1% of the scenes.
        rows = _moment_scene_pks(scope, int(cap_frames) + 1)
        pks = sorted(set(rows))
        scenes = len(pks) * stats.embedded_share
        if len(rows) <= cap_frames:
            reason = f"{len(rows)} moments qualify"
            plan = Plan("exact", reason, total, len(rows), scenes, pks)
        else:
            matched = total * cam_share * _moment_share(scope, stats.frames)
            if scope.filtered:
                matched *= min(1.0, _scene_share(scope, stats))
            reason = f"> {int(cap_frames)} moments qualify"
            plan = Plan("hnsw", reason, total, matched, stats.vector_scenes * matched / total)
    else:
        plan = _scene_filter_plan(counted, stats, cap_frames, cam_share, scene_scan, scenes)
    if force and force != plan.arm:
        plan.arm, plan.reason = force, f"forced ({plan.reason})"
        plan.scene_pks = None
    if plan.arm == "hnsw":
        plan.settings = hnsw_settings(fetch, selectivity(plan))
    return plan


def _scene_filter_plan(
    counted: VectorScope,
    stats: ModelStats,
    cap_frames: float,
    cam_share: float,
    scene_scan: bool,
    wanted_scenes: int,
) -> Plan:
    """The plan of a filter over scenes: its scenes counted up to the largest plan that
    needs them (unless the planner is sure there are far more), then exact, the scene
    scan or a walk."""
    total = max(stats.frames, 1)
    # Frames per catalog scene (not every scene may be embedded yet).
    per_scene = stats.frames_per_scene * stats.embedded_share * cam_share
    if scene_scan:
        cap_frames = min(cap_frames, SCENE_QUERY_EXACT_MAX_FRAMES)
    cap_scenes = min(EXACT_MAX_SCENES, max(1, math.ceil(cap_frames / max(per_scene, 1e-6))))
    count_to = max(cap_scenes, SCENE_SCAN_MAX_SCENES) if scene_scan else cap_scenes
    # A catalog this small cannot hold a filter that far past the cap: no estimate asked.
    if stats.scenes > ESTIMATE_TRUSTED_ABOVE * count_to:
        estimate = _scene_share(counted, stats) * stats.scenes
        if estimate > ESTIMATE_TRUSTED_ABOVE * count_to:
            matched, scenes = estimate * per_scene, estimate * stats.embedded_share
            reason = f"filter keeps ~{estimate:.0f} scenes (planner's estimate)"
            return Plan("hnsw", reason, total, matched, scenes)
    pks = _filter_scene_pks(counted, count_to + 1)
    matched, scenes = len(pks) * per_scene, len(pks) * stats.embedded_share
    if len(pks) <= cap_scenes:
        return Plan("exact", f"filter keeps {len(pks)} scenes", total, matched, scenes, pks)
    if len(pks) <= count_to:
        plan = Plan("scenes", f"filter keeps {len(pks)} scenes", total, matched, scenes, pks)
        budget = SCENE_SCAN_RESCORED_FRAMES / max(stats.frames_per_scene * cam_share, 1.0)
        plan.rescored_scenes = max(2 * wanted_scenes, math.ceil(budget))
        return plan
    return Plan("hnsw", f"filter keeps > {count_to} scenes", total, matched, scenes)


def _restricted_plan(counted: VectorScope, stats: ModelStats, total: int, cam_share: float):
    """A scope restricted to a few scenes: an exact scan over those of them that pass
    the filter, however many; never an index walk over the whole catalog."""
    pks = _filter_scene_pks(counted, len(counted.within or ()) + 1)
    matched = len(pks) * stats.frames_per_scene * cam_share
    reason = f"restricted to {len(counted.within or ())} scenes, {len(pks)} pass the filter"
    return Plan("exact", reason, total, matched, float(len(pks)), pks)


def hnsw_settings(fetch: int, selectivity: float, *, ef: int | None = None) -> dict[str, str]:
    """Settings of a walk that returns `fetch` rows; `ef` (default `fetch`) sizes its
    candidate list: an iterative scan goes on past it, so a walk that returns many rows
    need not search that wide first (bench/scale.py at 10^7 frames: 300 scenes and 40
    frames at ef 64 held the recall of ef 300, at p50 18-20 ms instead of 24-31)."""
    ef = min(EF_SEARCH_MAX, max(EF_SEARCH_MIN, fetch if ef is None else ef))
    budget = SCAN_SAFETY * fetch / max(selectivity, 1e-9)
    max_tuples = int(min(MAX_SCAN_TUPLES_MAX, max(MAX_SCAN_TUPLES_MIN, budget)))
    return {
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.ef_search": str(ef),
        "hnsw.max_scan_tuples": str(max_tuples),
        # We already decided on the index: with small or stale statistics the planner
        # would rather sort a join, so take the sort-based plans off the table (the
        # outer re-sort of n rows still runs; it has no alternative).
        "enable_sort": "off",
    }


def _moment_scene_pks(scope: VectorScope, limit: int) -> list[int]:
    """The scene of each qualifying moment in scope (the scene filter included), up to
    `limit` moments."""
    join, params = "", [*scope.frame_params]
    where = scope.frame_sql
    if scope.filtered:
        join = "JOIN catalog_scene s ON s.id = fe.scene_id"
        where = f"({where}) AND ({scope.filter_sql})"
        params.extend(scope.filter_params)
    if scope.cameras:
        where += " AND fe.camera = ANY(%s)"
        params.append(list(scope.cameras))
    if scope.exclude_scene_pk is not None:
        where += " AND fe.scene_id <> %s"
        params.append(scope.exclude_scene_pk)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT fe.scene_id FROM embeddings_frame mf JOIN {FE} fe ON fe.frame_id = mf.id "
            f"AND fe.model_id = {int(scope.model_id)} {join} WHERE {where} LIMIT %s",
            [*params, limit],
        )
        return [row[0] for row in cur.fetchall()]


def _scene_share(scope: VectorScope, stats: "ModelStats") -> float:
    """The planner's estimate of the share of scenes a scene filter keeps."""
    with connection.cursor() as cur:
        cur.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM catalog_scene s WHERE {scope.filter_sql}",
            list(scope.filter_params),
        )
        rows = cur.fetchone()[0][0]["Plan"]["Plan Rows"]
    return max(float(rows), 1.0) / max(stats.scenes, 1)


def _moment_share(scope: VectorScope, frames: int) -> float:
    """The planner's estimate of the share of the model's frames whose moment satisfies
    the conditions (magnitudes are enough here)."""
    with connection.cursor() as cur:
        cur.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM embeddings_frame mf WHERE {scope.frame_sql}",
            list(scope.frame_params),
        )
        rows = cur.fetchone()[0][0]["Plan"]["Plan Rows"]
    return min(1.0, max(float(rows), 1.0) / max(frames, 1))


def _filter_scene_pks(scope: VectorScope, limit: int) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id FROM catalog_scene s WHERE {scope.filter_sql} LIMIT %s",
            [*scope.filter_params, limit],
        )
        return [row[0] for row in cur.fetchall()]


def selectivity(plan: Plan) -> float:
    return min(1.0, max(plan.matched_frames_est or 0.0, 1.0) / max(plan.total_frames, 1))

"""Grouping a search's results by what they look like (`"patterns": k`).

Pedestrians crossing come as single walkers, groups, cyclists, people with umbrellas:
k-means over the CLIP vectors of the results' moments (unit vectors, so Euclidean
distance orders like cosine) puts each result in exactly one group. Each group is
represented by the result nearest its centre. Seeded, so the same results give the same
groups. Results whose moment has no vector (not embedded yet) form one last group with no
representative.
"""

import numpy as np
from django.db import connection

from embeddings.models import EmbeddingModel

MIN_PATTERNS = 2
MAX_PATTERNS = 12
SEED = 0


def result_vectors(results: list[dict], model: EmbeddingModel) -> dict[int, np.ndarray]:
    """The vector of each result's moment, by the result's index."""
    keyed = [(i, r["scene_id"], r["frame"]) for i, r in enumerate(results) if r.get("frame")]
    if not keyed:
        return {}
    dim = int(model.dim)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT w.i, fe.embedding::halfvec({dim})::vector({dim})::text "
            "FROM unnest(%s::int[], %s::text[], %s::text[], %s::float8[]) AS w(i, sid, cam, t) "
            "JOIN catalog_scene s ON s.scene_id = w.sid "
            "JOIN embeddings_frame f ON f.scene_id = s.id AND f.camera = w.cam AND f.t_s = w.t "
            "JOIN embeddings_frameembedding fe ON fe.frame_id = f.id "
            f"AND fe.model_id = {int(model.pk)}",
            [
                [i for i, _, _ in keyed],
                [sid for _, sid, _ in keyed],
                [frame["camera"] for _, _, frame in keyed],
                [frame["t_s"] for _, _, frame in keyed],
            ],
        )
        rows = cur.fetchall()
    return {i: np.asarray(text[1:-1].split(","), dtype=np.float32) for i, text in rows}


def group(results: list[dict], vectors: dict[int, np.ndarray], k: int) -> list[dict]:
    """Patterns over `results` (each result gets a `pattern` id, in place): `[{"id",
    "size", "scene_ids", "representative": {"scene_id", "frame"} | None}]`, largest
    first."""
    from sklearn.cluster import KMeans

    with_vector = sorted(vectors)
    patterns: list[dict] = []
    if with_vector:
        matrix = np.stack([vectors[i] for i in with_vector])
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        clusters = min(k, len(with_vector))
        model = KMeans(n_clusters=clusters, n_init=4, random_state=SEED).fit(matrix)
        members: dict[int, list[int]] = {}
        for row, label in enumerate(model.labels_):
            members.setdefault(int(label), []).append(row)
        # Largest first; ties by the best-ranked member, so the order is stable.
        order = sorted(members, key=lambda label: (-len(members[label]), min(members[label])))
        for number, label in enumerate(order, start=1):
            rows = members[label]
            centre = model.cluster_centers_[label]
            nearest = rows[int(np.argmin(np.linalg.norm(matrix[rows] - centre, axis=1)))]
            indices = [with_vector[row] for row in rows]
            patterns.append(_pattern(number, results, indices, with_vector[nearest]))
    missing = [i for i in range(len(results)) if i not in vectors]
    if missing:
        patterns.append(_pattern(len(patterns) + 1, results, missing, None))
    return patterns


def _pattern(number: int, results: list[dict], indices: list[int], rep: int | None) -> dict:
    for i in indices:
        results[i]["pattern"] = number
    representative = None
    if rep is not None:
        representative = {"scene_id": results[rep]["scene_id"], "frame": results[rep]["frame"]}
    return {
        "id": number,
        "size": len(indices),
        "scene_ids": [results[i]["scene_id"] for i in sorted(indices)],
        "representative": representative,
    }

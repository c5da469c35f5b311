"""Keeping each frame's moment state (speed, brake, ... at its `t_s`) right.

The state is computed from the scene's stored signals and disengagements by
`catalog.moments.states_at` and written to the frame (search joins it to the vector rows
it ranks). It is written when a scene's frames are stored, and
again when a scene whose signals changed is re-ingested (before its re-embedding, so
search never filters on a state the signals no longer show). Plain SQL and numpy only:
the migration that added the columns backfills with the same code.
"""

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction

from catalog.moments import MOMENT_FIELDS, states_at

CHUNK_SCENES = 500


def refresh_moment_states(scene_pks: Sequence[int], using=None) -> int:
    """Recompute the state of every stored frame of these scenes; returns frames updated."""
    conn = connection if using is None else using
    updated = 0
    pks = sorted(set(scene_pks))
    for start in range(0, len(pks), CHUNK_SCENES):
        chunk = pks[start : start + CHUNK_SCENES]
        with transaction.atomic(using=conn.alias), conn.cursor() as cur:
            updated += _refresh_chunk(cur, chunk)
    return updated


def _refresh_chunk(cur, pks: list[int]) -> int:
    cur.execute(
        "SELECT f.scene_id, array_agg(f.id ORDER BY f.id), array_agg(f.t_s ORDER BY f.id), "
        "sig.hz, sig.channels, sig.samples, sig.data, "
        "(SELECT array_agg(d.t_s) FROM catalog_disengagement d WHERE d.scene_id = f.scene_id) "
        "FROM embeddings_frame f LEFT JOIN catalog_scenesignals sig ON sig.scene_id = f.scene_id "
        "WHERE f.scene_id = ANY(%s) GROUP BY f.scene_id, sig.scene_id",
        [pks],
    )
    ids: list[int] = []
    columns: dict[str, list] = {name: [] for name in MOMENT_FIELDS}
    for _, frame_ids, times, hz, channels, samples, data, diseng in cur.fetchall():
        matrix = None
        if data is not None:
            matrix = np.frombuffer(bytes(data), dtype="<f4").reshape(len(channels), samples)
        states = states_at(
            hz=hz,
            channels=channels or (),
            matrix=matrix,
            disengagement_times=diseng or (),
            times=times,
        )
        ids.extend(frame_ids)
        for state in states:
            for name in MOMENT_FIELDS:
                columns[name].append(state[name])
    if not ids:
        return 0
    assignments = ", ".join(f"{name} = v.{name}" for name in MOMENT_FIELDS)
    unnest = ", ".join("%s::float8[]" for _ in MOMENT_FIELDS)
    values = f"unnest(%s::bigint[], {unnest}) AS v(id, {', '.join(MOMENT_FIELDS)})"
    params = [ids, *(columns[name] for name in MOMENT_FIELDS)]
    cur.execute(
        f"UPDATE embeddings_frame t SET {assignments} FROM {values} WHERE t.id = v.id", params
    )
    return len(ids)


def backfill_moment_states(apps, schema_editor) -> None:
    """Migration step: states for the frames stored before the columns existed."""
    conn = schema_editor.connection
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT scene_id FROM embeddings_frame ORDER BY scene_id")
        pks = [row[0] for row in cur.fetchall()]
    refresh_moment_states(pks, using=conn)

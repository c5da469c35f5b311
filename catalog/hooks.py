"""Explicit extension points through which the catalog reports changes upward.

The catalog knows nothing of embeddings; but ingesting a scene must lead to embedding
it. Upper apps register a listener here (in their `AppConfig.ready()`), and the catalog
calls every listener after the transaction that changed the scenes has committed, so a
listener never sees rows that could still roll back.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from django.db import transaction

ScenesChangedListener = Callable[[Sequence[int]], None]

_scenes_changed: list[ScenesChangedListener] = []


def register_scenes_changed(listener: ScenesChangedListener) -> None:
    """`listener(scene_pks)` runs after commit for scenes inserted or whose content changed."""
    if listener not in _scenes_changed:
        _scenes_changed.append(listener)


def notify_scenes_changed(scene_pks: Sequence[int]) -> None:
    if not scene_pks:
        return
    pks = list(scene_pks)
    for listener in list(_scenes_changed):
        transaction.on_commit(lambda listener=listener: listener(pks))


@contextmanager
def scenes_changed_paused() -> Iterator[None]:
    """Ingest without telling listeners, e.g. a bulk backfill that is embedded later by
    `manage.py embed` (which finds every scene not yet embedded)."""
    saved = list(_scenes_changed)
    _scenes_changed.clear()
    try:
        yield
    finally:
        _scenes_changed[:] = saved

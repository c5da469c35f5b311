"""Explicit extension point through which the embeddings app reports finished work upward.

Embeddings knows nothing of saved searches; but a scene that finishes embedding must be
looked at by every standing query. Upper apps register a listener here (in their
`AppConfig.ready()`); each is called after the transaction that stored the scene's
vectors has committed, so it never sees vectors that could still roll back.
"""

from collections.abc import Callable, Sequence

from django.db import transaction

# listener(scene_pks, model_name): the scenes whose vectors for that model are now stored.
ScenesEmbeddedListener = Callable[[Sequence[int], str], None]

_scenes_embedded: list[ScenesEmbeddedListener] = []


def register_scenes_embedded(listener: ScenesEmbeddedListener) -> None:
    """`listener(scene_pks, model_name)` runs after commit for scenes that finished
    embedding (vectors stored for their current content)."""
    if listener not in _scenes_embedded:
        _scenes_embedded.append(listener)


def notify_scenes_embedded(scene_pks: Sequence[int], model_name: str) -> None:
    """Call inside the transaction that stored the vectors."""
    if not scene_pks:
        return
    pks = list(scene_pks)
    for listener in list(_scenes_embedded):
        # robust: a listener's failure is logged, never the embedding's.
        transaction.on_commit(lambda listener=listener: listener(pks, model_name), robust=True)

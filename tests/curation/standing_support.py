"""Test data for standing queries: a catalog with an example scene, and new scenes that
finish embedding on demand."""

import numpy as np

from curation import standing
from tests.embeddings.search_support import TINY_DIM, add_vectors, analyze, ensure_model, unit
from tests.factories import SceneFactory


class World:
    """An example scene, older look-alikes and unrelated scenes already in the catalog,
    and `arrive(lookalikes, others)`: new scenes that have just finished embedding."""

    def __init__(self):
        self.model = ensure_model()
        self.rng = np.random.default_rng(8)
        self.centre = self.rng.normal(size=TINY_DIM)
        self.example = self.scene(self.centre, scene_id="example")
        self.old_lookalikes = [self.scene(self.centre) for _ in range(4)]
        self.old_others = [self.scene(self.rng.normal(size=TINY_DIM)) for _ in range(8)]
        analyze()

    def scene(self, centre, **kw):
        scene = SceneFactory(cameras={"front_wide": "s3://f/a.mp4", "rear": "s3://f/b.mp4"}, **kw)
        vectors = unit(centre + self.rng.normal(scale=0.15, size=(6, TINY_DIM)))
        add_vectors(scene, self.model, vectors, ("front_wide", "rear"))
        return scene

    def arrive(self, lookalikes: int, others: int, **kw) -> tuple[list, list]:
        near = [self.scene(self.centre, **kw) for _ in range(lookalikes)]
        far = [self.scene(self.rng.normal(size=TINY_DIM), **kw) for _ in range(others)]
        standing.on_scenes_embedded([s.pk for s in near + far], self.model.name)
        return near, far

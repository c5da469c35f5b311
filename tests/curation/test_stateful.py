"""Random sequences of add / remove / annotate / freeze / delete / re-ingest: after every
step each frozen version's manifest still hashes to its sha256 and lists exactly the
scenes the set held when it was frozen."""

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from catalog.errors import InvalidInput, NotFound
from catalog.models import Scene
from curation import selectors, services
from tests.curation.helpers import manifest_bytes, sha256
from tests.factories import SceneFactory, UserFactory

POOL = [f"hyp-{n:02d}" for n in range(8)]
scene_ids = st.lists(st.sampled_from(POOL), min_size=1, max_size=4)
_names = itertools.count()


class SceneSetMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.owner = UserFactory()
        self.scene_set = services.scene_set_create(owner=self.owner, name=f"m{next(_names)}")
        self.members: set[str] = set()
        self.versions: list[tuple] = []  # (version, scene ids it must list)
        self.deleted = False

    def _call(self, service, **kwargs):
        """Run a change; a deleted set must refuse every one of them (None)."""
        if self.deleted:
            with pytest.raises(NotFound):
                service(scene_set_id=self.scene_set.pk, actor=self.owner, **kwargs)
            return None
        return service(scene_set_id=self.scene_set.pk, actor=self.owner, **kwargs)

    @rule(ids=scene_ids)
    def add(self, ids):
        if self._call(services.scene_set_add_scenes, scene_ids=ids) is not None:
            self.members |= set(ids)

    @rule(ids=scene_ids)
    def add_with_unknown_id_adds_nothing(self, ids):
        try:
            self._call(services.scene_set_add_scenes, scene_ids=[*ids, "ghost"])
        except InvalidInput:
            assert not self.deleted

    @rule(ids=scene_ids)
    def remove(self, ids):
        if self._call(services.scene_set_remove_scenes, scene_ids=ids) is not None:
            self.members -= set(ids)

    @rule(
        scene_id=st.sampled_from(POOL),
        note=st.text(max_size=20),
        window=st.none() | st.tuples(st.floats(0, 9.5), st.floats(10, 20)),
    )
    def annotate(self, scene_id, note, window):
        start, end = window or (None, None)
        try:
            self._call(
                services.scene_set_item_annotate,
                scene_id=scene_id,
                note=note,
                t_start_s=start,
                t_end_s=end,
            )
        except NotFound:
            assert scene_id not in self.members and not self.deleted

    @rule()
    def freeze(self):
        try:
            version = self._call(services.scene_set_freeze)
        except InvalidInput:
            assert not self.members
            return
        if version is not None:
            self.versions.append((version, sorted(self.members)))

    @rule()
    def delete(self):
        self._call(services.scene_set_delete)
        self.deleted = True

    @rule(scene_id=st.sampled_from(POOL), tag=st.sampled_from(["rain", "sun", "snow"]))
    def reingest(self, scene_id, tag):
        Scene.objects.filter(scene_id=scene_id).update(
            tags=[tag], cameras={"front_wide": f"s3://fleet/{tag}/{scene_id}.mp4"}
        )

    @invariant()
    def versions_hash_to_their_sha256(self):
        for version, expected in self.versions:
            stored = selectors.version_get(scene_set_id=self.scene_set.pk, number=version.number)
            data = manifest_bytes(stored)
            assert sha256(data) == stored.sha256 == version.sha256
            assert stored.count == len(expected) == data.count(b"\n")

    @invariant()
    def items_match_model(self):
        if not self.deleted:
            items = selectors.scene_set_items(scene_set=self.scene_set)
            assert {i.scene.scene_id for i in items} == self.members


@pytest.mark.django_db
def test_scene_set_state_machine():
    for scene_id in POOL:
        SceneFactory(scene_id=scene_id)
    run_state_machine_as_test(
        SceneSetMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

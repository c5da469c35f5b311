"""scene_summaries: the one summary of a scene that results, cards and set items show."""

import pytest

from catalog.models import Disengagement
from catalog.selectors import scene_summaries
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


def test_summary_names_the_vehicle_drive_and_disengagements_in_time_order():
    scene = SceneFactory(disengagement_count=2, tags=["rain"], max_speed_mps=12.5)
    Disengagement.objects.create(scene=scene, t_s=9.5, kind="brake")
    Disengagement.objects.create(scene=scene, t_s=3.0, kind="driver_override")
    summary = scene_summaries(scene_pks=[scene.pk])[scene.pk]
    assert summary["scene_id"] == scene.scene_id
    assert summary["vehicle_id"] == scene.vehicle.vehicle_id
    assert summary["drive_id"] == (scene.drive.drive_id if scene.drive else None)
    assert (summary["tags"], summary["max_speed_mps"]) == (["rain"], 12.5)
    assert summary["disengagements"] == [
        {"t_s": 3.0, "kind": "driver_override"},
        {"t_s": 9.5, "kind": "brake"},
    ]


def test_only_the_asked_scenes_and_unknown_pks_ignored():
    scenes = SceneFactory.create_batch(3)
    summaries = scene_summaries(scene_pks=[scenes[0].pk, scenes[2].pk, 10**9])
    assert set(summaries) == {scenes[0].pk, scenes[2].pk}
    assert summaries[scenes[0].pk]["disengagements"] == []

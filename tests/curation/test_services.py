import json

import pytest
from django.core.exceptions import PermissionDenied

from catalog.errors import InvalidInput, NotFound
from catalog.models import Scene
from curation import services
from curation.models import SceneSetItem, SceneSetVersion
from tests.curation.helpers import make_scenes, make_set, manifest_bytes, sha256
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_strips_name_and_sets_owner(user):
    scene_set = services.scene_set_create(owner=user, name="  night peds ", description="d")
    assert (scene_set.name, scene_set.owner, scene_set.description) == ("night peds", user, "d")


def test_create_refuses_duplicate_live_name_for_same_owner(user):
    services.scene_set_create(owner=user, name="a")
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_create(owner=user, name="a")
    assert "name" in exc.value.errors


def test_deleted_set_frees_its_name(user):
    first = services.scene_set_create(owner=user, name="a")
    services.scene_set_delete(scene_set_id=first.pk, actor=user)
    assert services.scene_set_create(owner=user, name="a").pk != first.pk


def test_create_refuses_empty_name(user):
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_create(owner=user, name=" ")
    assert "name" in exc.value.errors


def test_add_by_id_records_who_when_and_no_query(user):
    scene = make_scenes(1)[0]
    scene_set = make_set(user, [scene])
    item = SceneSetItem.objects.get(scene_set=scene_set)
    assert (item.scene, item.added_by, item.query) == (scene, user, None)
    assert item.added_at is not None


def test_add_is_idempotent(user):
    scenes = make_scenes(3)
    scene_set = make_set(user, scenes[:2])
    result = services.scene_set_add_scenes(
        scene_set_id=scene_set.pk, actor=user, scene_ids=[s.scene_id for s in scenes]
    )
    assert (result.added, result.already_present, result.count) == (1, 2, 3)


def test_add_ignores_repeated_ids_in_one_request(user):
    scene = make_scenes(1)[0]
    scene_set = make_set(user)
    result = services.scene_set_add_scenes(
        scene_set_id=scene_set.pk, actor=user, scene_ids=[scene.scene_id] * 3
    )
    assert (result.requested, result.added, result.count) == (1, 1, 1)


def test_add_with_unknown_ids_lists_them_and_adds_nothing(user):
    scene = make_scenes(1)[0]
    scene_set = make_set(user)
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_add_scenes(
            scene_set_id=scene_set.pk, actor=user, scene_ids=[scene.scene_id, "nope-1", "nope-2"]
        )
    assert "nope-1" in exc.value.errors["scene_ids"][0]
    assert "nope-2" in exc.value.errors["scene_ids"][0]
    assert not SceneSetItem.objects.filter(scene_set=scene_set).exists()


def test_remove_reports_ids_not_in_set(user):
    scenes = make_scenes(2)
    scene_set = make_set(user, scenes)
    result = services.scene_set_remove_scenes(
        scene_set_id=scene_set.pk, actor=user, scene_ids=[scenes[0].scene_id, "other"]
    )
    assert (result.removed, result.not_in_set, result.count) == (1, ["other"], 1)


def test_other_user_cannot_change_set(user, other_user):
    scene_set = make_set(user, make_scenes(1))
    with pytest.raises(PermissionDenied):
        services.scene_set_update(scene_set_id=scene_set.pk, actor=other_user, name="x")


def test_staff_can_change_any_set(user):
    scene_set = make_set(user)
    staff = UserFactory(is_staff=True)
    updated = services.scene_set_update(scene_set_id=scene_set.pk, actor=staff, name="renamed")
    assert updated.name == "renamed"


def test_deleted_set_cannot_be_changed(user):
    scene_set = make_set(user, make_scenes(1))
    services.scene_set_delete(scene_set_id=scene_set.pk, actor=user)
    with pytest.raises(NotFound):
        services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)


def test_annotate_sets_note_and_window(user):
    scene = make_scenes(1)[0]
    scene_set = make_set(user, [scene])
    item = services.scene_set_item_annotate(
        scene_set_id=scene_set.pk,
        actor=user,
        scene_id=scene.scene_id,
        note="cut-in",
        t_start_s=2.5,
        t_end_s=8,
    )
    assert (item.note, item.t_start_s, item.t_end_s) == ("cut-in", 2.5, 8.0)


def test_annotate_refuses_window_beyond_scene_duration(user):
    scene = make_scenes(1, duration_s=20.0)[0]
    scene_set = make_set(user, [scene])
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_item_annotate(
            scene_set_id=scene_set.pk, actor=user, scene_id=scene.scene_id, t_end_s=20.5
        )
    assert "t_end_s" in exc.value.errors


def test_annotate_refuses_end_before_start(user):
    scene = make_scenes(1)[0]
    scene_set = make_set(user, [scene])
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_item_annotate(
            scene_set_id=scene_set.pk,
            actor=user,
            scene_id=scene.scene_id,
            t_start_s=5,
            t_end_s=4,
        )
    assert "t_end_s" in exc.value.errors


def test_annotate_unknown_item_is_not_found(user):
    scene_set = make_set(user)
    with pytest.raises(NotFound):
        services.scene_set_item_annotate(
            scene_set_id=scene_set.pk, actor=user, scene_id="missing", note="x"
        )


def test_freeze_numbers_versions_per_set(user):
    scene_set = make_set(user, make_scenes(2))
    first = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    second = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    other = services.scene_set_freeze(scene_set_id=make_set(user, make_scenes(1)).pk, actor=user)
    assert (first.number, second.number, other.number) == (1, 2, 1)


def test_freeze_records_count_sha_and_size_of_jsonl(user):
    scene_set = make_set(user, make_scenes(3))
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user, note="train-a")
    data = manifest_bytes(version)
    assert (version.count, version.sha256, version.size_bytes) == (3, sha256(data), len(data))
    assert version.created_by == user


def test_freeze_refuses_empty_set(user):
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_freeze(scene_set_id=make_set(user).pk, actor=user)
    assert "items" in exc.value.errors


def test_freeze_over_limit_needs_confirmation(user, settings):
    settings.CATALOG_MAX_UNCONFIRMED_SCENES = 2
    scene_set = make_set(user, make_scenes(3))
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    assert "CATALOG_MAX_UNCONFIRMED_SCENES" in exc.value.errors["confirm"][0]
    assert not SceneSetVersion.objects.filter(scene_set=scene_set).exists()


def test_freeze_over_limit_with_confirmation(user, settings):
    settings.CATALOG_MAX_UNCONFIRMED_SCENES = 2
    scene_set = make_set(user, make_scenes(3))
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user, confirm=True)
    assert version.count == 3


def test_version_keeps_scene_data_after_reingest(user):
    scene = make_scenes(1, tags=["rain"])[0]
    scene_set = make_set(user, [scene])
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    before = manifest_bytes(version)
    Scene.objects.filter(pk=scene.pk).update(
        tags=["sun"], cameras={"front_wide": "s3://elsewhere/x.mp4"}, duration_s=19.0
    )
    assert manifest_bytes(version) == before


def test_version_keeps_items_after_set_changes(user):
    scenes = make_scenes(2)
    scene_set = make_set(user, scenes)
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    services.scene_set_remove_scenes(
        scene_set_id=scene_set.pk, actor=user, scene_ids=[scenes[0].scene_id]
    )
    services.scene_set_delete(scene_set_id=scene_set.pk, actor=user)
    assert sha256(manifest_bytes(version)) == version.sha256


def test_version_records_queries_that_built_it(user):
    scenes = make_scenes(2)
    scene_set = make_set(user, scenes[:1])
    SceneSetItem.objects.create(
        scene_set=scene_set,
        scene=scenes[1],
        added_by=user,
        query={"text": "rain"},
        query_model="ViT-B-32/laion",
    )
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    assert version.model_names == ["ViT-B-32/laion"]
    assert version.queries == [
        {"search": None, "model": None, "scenes": 1},
        {"search": {"text": "rain"}, "model": "ViT-B-32/laion", "scenes": 1},
    ]


def test_manifest_rows_are_in_scene_id_order(user):
    scenes = make_scenes(3)
    scene_set = make_set(user, list(reversed(scenes)))
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    rows = [json.loads(line) for line in manifest_bytes(version).splitlines()]
    assert [r["scene_id"] for r in rows] == sorted(s.scene_id for s in scenes)

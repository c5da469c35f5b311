import pytest

from catalog.errors import NotFound
from catalog.models import Scene
from curation import selectors, services
from tests.curation.helpers import make_scenes, make_set

pytestmark = pytest.mark.django_db


def test_list_counts_items_and_versions(user):
    scene_set = make_set(user, make_scenes(3))
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    listed = selectors.scene_set_list().get(pk=scene_set.pk)
    assert (listed.item_count, listed.version_count, listed.latest_version) == (3, 2, 2)


def test_list_filters_by_owner(user, other_user):
    make_set(user)
    theirs = make_set(other_user)
    assert [s.pk for s in selectors.scene_set_list(owner_username=other_user.username)] == [
        theirs.pk
    ]


def test_deleted_set_is_hidden_from_list_and_detail(user):
    scene_set = make_set(user)
    services.scene_set_delete(scene_set_id=scene_set.pk, actor=user)
    assert not selectors.scene_set_list().filter(pk=scene_set.pk).exists()
    with pytest.raises(NotFound):
        selectors.scene_set_get(scene_set_id=scene_set.pk)


def test_versions_of_deleted_set_stay_readable(user):
    scene_set = make_set(user, make_scenes(1))
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    services.scene_set_delete(scene_set_id=scene_set.pk, actor=user)
    assert selectors.version_get(scene_set_id=scene_set.pk, number=1).count == 1


def test_diff_lists_added_removed_and_changed(user):
    a, b, c = make_scenes(3)
    scene_set = make_set(user, [a, b])
    first = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    services.scene_set_remove_scenes(scene_set_id=scene_set.pk, actor=user, scene_ids=[a.scene_id])
    services.scene_set_add_scenes(scene_set_id=scene_set.pk, actor=user, scene_ids=[c.scene_id])
    Scene.objects.filter(pk=b.pk).update(tags=["re-ingested"])
    second = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    diff = selectors.version_diff(version=second, against=first)
    assert diff == {"added": [c.scene_id], "removed": [a.scene_id], "changed": [b.scene_id]}


def test_diff_of_identical_versions_is_empty(user):
    scene_set = make_set(user, make_scenes(2))
    first = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    second = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    assert selectors.version_diff(version=second, against=first) == {
        "added": [],
        "removed": [],
        "changed": [],
    }

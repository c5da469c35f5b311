"""Adding a search's results to a set (search runs server-side, `embeddings.search`)."""

import pytest

from catalog.errors import InvalidInput
from curation import services
from curation.models import SceneSetItem
from tests.curation.helpers import make_scenes, make_set
from tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenes():
    vehicle = VehicleFactory(vehicle_id="veh-search")
    make_scenes(2)  # other vehicles: must not be added
    return make_scenes(3, vehicle=vehicle)


def test_filters_only_search_adds_matching_scenes_with_query(user, scenes):
    body = {"filters": {"vehicle": ["veh-search"]}, "limit": 10}
    scene_set = make_set(user)
    result = services.scene_set_add_search(scene_set_id=scene_set.pk, actor=user, search=body)
    items = SceneSetItem.objects.filter(scene_set=scene_set)
    assert (result.added, result.count) == (3, 3)
    assert {i.scene.scene_id for i in items} == {s.scene_id for s in scenes}
    assert all(i.query == body and i.added_by == user for i in items)


def test_search_add_respects_limit(user, scenes):
    body = {"filters": {"vehicle": ["veh-search"]}, "limit": 2}
    scene_set = make_set(user)
    result = services.scene_set_add_search(scene_set_id=scene_set.pk, actor=user, search=body)
    assert result.added == 2


def test_search_add_is_idempotent(user, scenes):
    body = {"filters": {"vehicle": ["veh-search"]}}
    scene_set = make_set(user, scenes[:1])
    result = services.scene_set_add_search(scene_set_id=scene_set.pk, actor=user, search=body)
    assert (result.added, result.already_present, result.count) == (2, 1, 3)


def test_bad_search_body_names_the_search_field(user):
    scene_set = make_set(user)
    with pytest.raises(InvalidInput) as exc:
        services.scene_set_add_search(
            scene_set_id=scene_set.pk, actor=user, search={"limit": 100000}
        )
    assert "search.limit" in exc.value.errors


def test_search_add_through_api(api, scenes):
    scene_set = make_set(api.user)
    response = api.post(
        f"/api/v1/sets/{scene_set.pk}/items/",
        {"search": {"filters": {"vehicle": ["veh-search"]}}},
        format="json",
    )
    assert (response.status_code, response.json()["added"]) == (200, 3)


def test_search_add_without_model_is_503_and_adds_nothing(api, scenes, settings, tmp_path):
    # Configured weights that are not on this machine: the text tower cannot load.
    settings.CATALOG_CLIP_CHECKPOINT = str(tmp_path / "missing-weights.pt")
    scene_set = make_set(api.user)
    response = api.post(
        f"/api/v1/sets/{scene_set.pk}/items/", {"search": {"text": "rain"}}, format="json"
    )
    assert response.status_code == 503
    assert "missing-weights.pt" in response.json()["detail"]
    assert not SceneSetItem.objects.filter(scene_set=scene_set).exists()

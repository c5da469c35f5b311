"""Access matrix: any signed-in user reads sets and versions; only the owner (or staff)
writes. Every write endpoint and method, tried by another user, is refused and changes
nothing."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from curation import services
from curation.models import (
    SavedSearch,
    SceneSet,
    SceneSetItem,
    SceneSetVersion,
    SceneSetVersionItem,
)
from tests.curation.helpers import make_scenes, make_set
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SET = "/api/v1/sets/{set}/"
ITEMS = "/api/v1/sets/{set}/items/"
ITEM = "/api/v1/sets/{set}/items/{scene}/"
VERSIONS = "/api/v1/sets/{set}/versions/"
VERSION = "/api/v1/sets/{set}/versions/1/"
MANIFEST = "/api/v1/sets/{set}/versions/1/manifest"
DIFF = "/api/v1/sets/{set}/versions/1/diff?against=1"
SEARCH = "/api/v1/searches/{search}/"

# (method, url, body, expected status): 403 where the method exists but the user may not,
# 405 where no endpoint offers the method (versions are never written through the API).
WRITES = [
    ("patch", SET, {"name": "hijacked"}, 403),
    ("put", SET, {"name": "hijacked"}, 405),
    ("delete", SET, None, 403),
    ("post", ITEMS, {"scene_ids": ["{spare}"]}, 403),
    ("delete", ITEMS, {"scene_ids": ["{scene}"]}, 403),
    ("put", ITEMS, {"scene_ids": ["{spare}"]}, 405),
    ("patch", ITEM, {"note": "hijacked"}, 403),
    ("put", ITEM, {"note": "hijacked"}, 405),
    ("delete", ITEM, None, 405),
    ("post", VERSIONS, {}, 403),
    ("post", VERSION, {}, 405),
    ("patch", VERSION, {"count": 0}, 405),
    ("put", VERSION, {"count": 0}, 405),
    ("delete", VERSION, None, 405),
    ("post", MANIFEST, {}, 405),
    ("delete", MANIFEST, None, 405),
    ("post", DIFF, {}, 405),
    ("patch", SEARCH, {"name": "hijacked"}, 403),
    ("delete", SEARCH, None, 403),
]
READS = [SET, ITEMS, ITEM, VERSIONS, VERSION, MANIFEST, DIFF, SEARCH, "/api/v1/sets/"]


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def world(user):
    scene, spare = make_scenes(2)
    scene_set = make_set(user, [scene], name="owned")
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    saved = services.saved_search_create(owner=user, name="s", search={"text": "rain"})
    return {
        "set": scene_set.pk,
        "scene": scene.scene_id,
        "spare": spare.scene_id,
        "search": saved.pk,
    }


def _fill(template, world):
    if isinstance(template, str):
        return template.format(**world)
    if isinstance(template, list):
        return [_fill(value, world) for value in template]
    if isinstance(template, dict):
        return {key: _fill(value, world) for key, value in template.items()}
    return template


def _snapshot() -> dict:
    models = (SceneSet, SceneSetItem, SceneSetVersion, SceneSetVersionItem, SavedSearch)
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in models}


@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), WRITES, ids=[f"{m} {u}" for m, u, _, _ in WRITES]
)
def test_other_user_cannot_write(world, other_user, method, url, body, expected):
    before = _snapshot()
    response = getattr(_client(other_user), method)(
        _fill(url, world), _fill(body, world), format="json"
    )
    assert response.status_code == expected, response.content
    assert _snapshot() == before


@pytest.mark.parametrize("url", READS)
def test_other_user_can_read(world, other_user, url):
    assert _client(other_user).get(_fill(url, world)).status_code == 200


@pytest.mark.parametrize("url", READS)
def test_anonymous_cannot_read(world, anon_api, url):
    assert anon_api.get(_fill(url, world)).status_code in (401, 403)


def test_staff_can_write_others_set(world):
    staff = _client(UserFactory(is_staff=True))
    response = staff.patch(_fill(SET, world), {"name": "moderated"}, format="json")
    assert response.status_code == 200

"""Scene detail does not tell non-staff callers where the server keeps local manifests."""

import pytest
from rest_framework.test import APIClient

from tests.factories import SceneFactory, UserFactory

pytestmark = pytest.mark.django_db
CAMERAS = {"front_wide": "file:///srv/fleet/front_wide.mp4"}


def detail(client, scene) -> dict:
    return client.get(f"/api/v1/scenes/{scene.scene_id}/").json()


def test_local_manifest_path_is_hidden_from_non_staff(api):
    scene = SceneFactory(cameras=CAMERAS, manifest_uri="file:///srv/catalog/.data/fleet/m.jsonl")
    assert detail(api, scene)["manifest_uri"] is None


def test_staff_see_the_local_manifest_path():
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    scene = SceneFactory(cameras=CAMERAS, manifest_uri="file:///srv/fleet/m.jsonl")
    assert detail(staff, scene)["manifest_uri"] == "file:///srv/fleet/m.jsonl"


def test_s3_manifest_uri_is_shown_to_everyone(api):
    scene = SceneFactory(cameras=CAMERAS, manifest_uri="s3://fleet/2026/m.jsonl")
    assert detail(api, scene)["manifest_uri"] == "s3://fleet/2026/m.jsonl"

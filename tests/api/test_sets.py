"""sets/ endpoints: the HTTP contract (services are tested in tests/curation)."""

import csv
import hashlib
import io
import json

import pyarrow.parquet as pq
import pytest

from curation.models import SceneSet, SceneSetItem
from tests.curation.helpers import make_scenes, make_set

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def frozen(api):
    """A set of three scenes, frozen as version 1, owned by `api.user`."""
    scene_set = make_set(api.user, make_scenes(3))
    response = api.post(f"/api/v1/sets/{scene_set.pk}/versions/", {}, format="json")
    assert response.status_code == 201, response.json()
    return scene_set


def test_create_returns_set_with_owner_and_counts(api):
    response = api.post("/api/v1/sets/", {"name": "peds", "description": "night"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["owner"], body["item_count"], body["version_count"]) == (
        "peds",
        api.user.username,
        0,
        0,
    )
    assert body["can_edit"] is True


def test_create_refuses_read_only_fields(api, other_user):
    response = api.post("/api/v1/sets/", {"name": "x", "owner": other_user.username}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()["errors"]
    assert not SceneSet.objects.exists()


def test_create_without_name_names_the_field(api):
    response = api.post("/api/v1/sets/", {"description": "x"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_list_is_paginated(api):
    make_set(api.user)
    body = api.get("/api/v1/sets/").json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert body["count"] == 1


def test_list_owner_me(api, other_user):
    mine = make_set(api.user)
    make_set(other_user)
    body = api.get("/api/v1/sets/?owner=me").json()
    assert [s["id"] for s in body["results"]] == [mine.pk]


def test_anonymous_is_refused(anon_api):
    assert anon_api.get("/api/v1/sets/").status_code in (401, 403)


def test_patch_renames_and_describes(api):
    scene_set = make_set(api.user)
    response = api.patch(
        f"/api/v1/sets/{scene_set.pk}/", {"name": "new", "description": "d"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == ("new", "d")


def test_patch_refuses_counts(api):
    scene_set = make_set(api.user)
    response = api.patch(f"/api/v1/sets/{scene_set.pk}/", {"item_count": 9}, format="json")
    assert response.status_code == 400
    assert "item_count" in response.json()["errors"]


def test_delete_hides_set(api):
    scene_set = make_set(api.user)
    assert api.delete(f"/api/v1/sets/{scene_set.pk}/").status_code == 204
    assert api.get(f"/api/v1/sets/{scene_set.pk}/").status_code == 404
    assert api.get("/api/v1/sets/").json()["count"] == 0


def test_add_by_ids_then_again_is_idempotent(api):
    scene_set = make_set(api.user)
    ids = [s.scene_id for s in make_scenes(2)]
    first = api.post(f"/api/v1/sets/{scene_set.pk}/items/", {"scene_ids": ids}, format="json")
    again = api.post(f"/api/v1/sets/{scene_set.pk}/items/", {"scene_ids": ids}, format="json")
    assert (first.json()["added"], again.json()["added"], again.json()["count"]) == (2, 0, 2)


def test_add_unknown_ids_is_400_listing_them(api):
    scene_set = make_set(api.user)
    response = api.post(
        f"/api/v1/sets/{scene_set.pk}/items/", {"scene_ids": ["ghost"]}, format="json"
    )
    assert response.status_code == 400
    assert "ghost" in response.json()["errors"]["scene_ids"][0]


def test_add_needs_ids_or_search(api):
    scene_set = make_set(api.user)
    response = api.post(f"/api/v1/sets/{scene_set.pk}/items/", {}, format="json")
    assert response.status_code == 400


def test_items_list_shows_provenance(api):
    scene = make_scenes(1)[0]
    scene_set = make_set(api.user, [scene])
    body = api.get(f"/api/v1/sets/{scene_set.pk}/items/").json()
    item = body["results"][0]
    assert (item["scene_id"], item["added_by"], item["query"]) == (
        scene.scene_id,
        api.user.username,
        None,
    )


def test_remove_items(api):
    scenes = make_scenes(2)
    scene_set = make_set(api.user, scenes)
    response = api.delete(
        f"/api/v1/sets/{scene_set.pk}/items/", {"scene_ids": [scenes[0].scene_id]}, format="json"
    )
    assert (response.status_code, response.json()["removed"], response.json()["count"]) == (
        200,
        1,
        1,
    )


def test_annotate_item(api):
    scene = make_scenes(1)[0]
    scene_set = make_set(api.user, [scene])
    response = api.patch(
        f"/api/v1/sets/{scene_set.pk}/items/{scene.scene_id}/",
        {"note": "cut-in", "t_start_s": 3, "t_end_s": 7.5},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["note"], response.json()["t_end_s"]) == ("cut-in", 7.5)


def test_annotate_outside_scene_names_field(api):
    scene = make_scenes(1)[0]
    scene_set = make_set(api.user, [scene])
    response = api.patch(
        f"/api/v1/sets/{scene_set.pk}/items/{scene.scene_id}/", {"t_start_s": -1}, format="json"
    )
    assert response.status_code == 400
    assert "t_start_s" in response.json()["errors"]


def test_freeze_returns_version_count_sha(api, frozen):
    body = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/").json()
    assert (body["version"], body["count"], len(body["sha256"])) == (1, 3, 64)
    assert body["created_by"] == api.user.username
    assert body["manifest_urls"]["parquet"].endswith(
        f"/api/v1/sets/{frozen.pk}/versions/1/manifest?format=parquet"
    )


def test_versions_list(api, frozen):
    api.post(f"/api/v1/sets/{frozen.pk}/versions/", {"note": "again"}, format="json")
    body = api.get(f"/api/v1/sets/{frozen.pk}/versions/").json()
    assert [v["version"] for v in body["results"]] == [1, 2]


def test_freeze_over_limit_is_400_until_confirmed(api, settings):
    settings.CATALOG_MAX_UNCONFIRMED_SCENES = 1
    scene_set = make_set(api.user, make_scenes(2))
    url = f"/api/v1/sets/{scene_set.pk}/versions/"
    refused = api.post(url, {}, format="json")
    assert refused.status_code == 400
    assert "confirm" in refused.json()["errors"]
    assert api.post(f"{url}?confirm=true", {}, format="json").status_code == 201
    assert api.post(url, {"confirm": True}, format="json").status_code == 201


def test_jsonl_manifest_hashes_to_sha256(api, frozen):
    version = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/").json()
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest?format=jsonl")
    data = _body(response)
    assert response.status_code == 200
    assert hashlib.sha256(data).hexdigest() == version["sha256"]
    assert int(response["Content-Length"]) == len(data)
    assert response["Content-Disposition"] == (
        f'attachment; filename="sceneset-{frozen.pk}-v1.jsonl"'
    )
    assert [json.loads(line)["scene_id"] for line in data.splitlines()]


def test_csv_manifest(api, frozen):
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest?format=csv")
    rows = list(csv.DictReader(io.StringIO(_body(response).decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert len(rows) == 3


def test_parquet_manifest_reads_back(api, frozen):
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest?format=parquet")
    table = pq.read_table(io.BytesIO(_body(response)))
    assert table.num_rows == 3
    assert response["Content-Disposition"].endswith('v1.parquet"')


def test_manifest_unknown_format_is_400(api, frozen):
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest?format=xml")
    assert response.status_code == 400
    assert "format" in response.json()["errors"]


def test_manifest_export_over_limit_needs_confirm(api, frozen, settings):
    settings.CATALOG_MAX_UNCONFIRMED_SCENES = 2
    url = f"/api/v1/sets/{frozen.pk}/versions/1/manifest?format=csv"
    assert api.get(url).status_code == 400
    assert api.get(f"{url}&confirm=true").status_code == 200


def test_manifest_presign_adds_urls(api, frozen, s3):
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest?presign=300")
    rows = [json.loads(line) for line in _body(response).splitlines()]
    assert all("camera_urls" in row for row in rows)
    assert "Content-Length" not in response


def test_deleted_set_keeps_manifest_url(api, frozen):
    sha = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/").json()["sha256"]
    api.delete(f"/api/v1/sets/{frozen.pk}/")
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest")
    assert hashlib.sha256(_body(response)).hexdigest() == sha


def test_unknown_version_is_404(api, frozen):
    assert api.get(f"/api/v1/sets/{frozen.pk}/versions/9/manifest").status_code == 404


def test_diff(api, frozen):
    first_item = SceneSetItem.objects.filter(scene_set=frozen).order_by("pk").first()
    api.delete(
        f"/api/v1/sets/{frozen.pk}/items/",
        {"scene_ids": [first_item.scene.scene_id]},
        format="json",
    )
    api.post(f"/api/v1/sets/{frozen.pk}/versions/", {}, format="json")
    body = api.get(f"/api/v1/sets/{frozen.pk}/versions/2/diff?against=1").json()
    assert (body["removed"], body["added"], body["removed_count"]) == (
        [first_item.scene.scene_id],
        [],
        1,
    )


def test_diff_needs_against(api, frozen):
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/diff")
    assert response.status_code == 400
    assert "against" in response.json()["errors"]


def test_versions_have_no_write_endpoints(api, frozen):
    url = f"/api/v1/sets/{frozen.pk}/versions/1/"
    assert api.patch(url, {"count": 1}, format="json").status_code == 405
    assert api.delete(url).status_code == 405


def test_presign_over_limit_is_400(api, frozen, monkeypatch):
    from curation import limits

    monkeypatch.setattr(limits, "MAX_PRESIGN_SCENES", 2)
    response = api.get(f"/api/v1/sets/{frozen.pk}/versions/1/manifest?presign=60")
    assert response.status_code == 400
    assert "presign" in response.json()["errors"]

"""Freezing through the GNSS gate: flagged scenes left out (and recorded with their flags)
unless `include_flagged`; the manifest lists only what was kept; exclusions are immutable."""

import json

import pytest
from django.db import IntegrityError, connection, transaction

from catalog.errors import InvalidInput
from curation import services
from curation.models import SceneSetVersionExclusion
from tests.curation.helpers import make_set, manifest_bytes, sha256
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed(user):
    """A set of six scenes: two fine, one low, one on an outage day, one both, one fine."""
    flags = [
        (False, False),
        (False, False),
        (True, False),
        (False, True),
        (True, True),
        (False, False),
    ]
    scenes = [
        SceneFactory(scene_id=f"s-{i}", gnss_fix_rate=0.5 if low else 0.97, gnss_outage=outage)
        for i, (low, outage) in enumerate(flags)
    ]
    return make_set(user, scenes)


def manifest_ids(version) -> list[str]:
    return [json.loads(line)["scene_id"] for line in manifest_bytes(version).splitlines()]


def test_freeze_leaves_flagged_scenes_out(user, mixed):
    version = services.scene_set_freeze(scene_set_id=mixed.pk, actor=user)
    assert (version.count, version.excluded_count, version.include_flagged) == (3, 3, False)
    assert manifest_ids(version) == ["s-0", "s-1", "s-5"]
    data = manifest_bytes(version)
    assert sha256(data) == version.sha256 and len(data) == version.size_bytes


def test_freeze_records_what_it_left_out_and_why(user, mixed):
    version = services.scene_set_freeze(scene_set_id=mixed.pk, actor=user)
    exclusions = SceneSetVersionExclusion.objects.filter(version=version).order_by("scene_id")
    assert [(e.scene_id, e.reasons) for e in exclusions] == [
        ("s-2", ["gnss_low"]),
        ("s-3", ["gnss_outage"]),
        ("s-4", ["gnss_low", "gnss_outage"]),
    ]


def test_freeze_with_include_flagged_keeps_everything(user, mixed):
    version = services.scene_set_freeze(scene_set_id=mixed.pk, actor=user, include_flagged=True)
    assert (version.count, version.excluded_count, version.include_flagged) == (6, 0, True)
    assert manifest_ids(version) == [f"s-{i}" for i in range(6)]
    assert not SceneSetVersionExclusion.objects.filter(version=version).exists()


def test_the_same_clean_items_hash_the_same_either_way(user):
    clean = [SceneFactory(scene_id=f"c-{i}") for i in range(3)]
    gated = services.scene_set_freeze(scene_set_id=make_set(user, clean).pk, actor=user)
    kept = services.scene_set_freeze(
        scene_set_id=make_set(user, clean, name="again").pk, actor=user, include_flagged=True
    )
    assert gated.sha256 == kept.sha256


def test_freezing_only_flagged_scenes_is_refused(user):
    scene_set = make_set(user, [SceneFactory(gnss_outage=True), SceneFactory(gnss_fix_rate=0.2)])
    with pytest.raises(InvalidInput) as info:
        services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    assert "include_flagged" in info.value.errors
    assert not scene_set.versions.exists()
    assert not SceneSetVersionExclusion.objects.exists()


def test_exclusions_cannot_change_after_freezing(user, mixed):
    version = services.scene_set_freeze(scene_set_id=mixed.pk, actor=user)
    table = "curation_scenesetversionexclusion"
    for statement in (
        f"UPDATE {table} SET reasons = '{{}}' WHERE version_id = %s",
        f"DELETE FROM {table} WHERE version_id = %s",
        f"INSERT INTO {table} (version_id, scene_id, reasons) VALUES (%s, 'x', '{{}}')",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [version.pk])
    assert SceneSetVersionExclusion.objects.filter(version=version).count() == 3


# --- over HTTP ---------------------------------------------------------------------------


def test_freeze_over_http_reports_the_excluded(api, mixed):
    response = api.post(f"/api/v1/sets/{mixed.pk}/versions/", {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["count"], body["excluded_count"], body["include_flagged"]) == (3, 3, False)
    assert [e["scene_id"] for e in body["excluded"]] == ["s-2", "s-3", "s-4"]
    detail = api.get(f"/api/v1/sets/{mixed.pk}/versions/{body['version']}/").json()
    assert detail["excluded"] == body["excluded"]
    assert detail["excluded"][2] == {"scene_id": "s-4", "reasons": ["gnss_low", "gnss_outage"]}
    manifest = api.get(f"/api/v1/sets/{mixed.pk}/versions/{body['version']}/manifest")
    rows = b"".join(manifest.streaming_content).splitlines()
    assert [json.loads(row)["scene_id"] for row in rows] == ["s-0", "s-1", "s-5"]


def test_freeze_over_http_with_include_flagged(api, mixed):
    body = {"include_flagged": True, "note": "all of them"}
    created = api.post(f"/api/v1/sets/{mixed.pk}/versions/", body, format="json").json()
    assert (created["count"], created["excluded_count"], created["excluded"]) == (6, 0, [])


def test_freeze_over_http_names_include_flagged_when_all_are_flagged(api, user):
    scene_set = make_set(user, [SceneFactory(gnss_fix_rate=0.2)])
    response = api.post(f"/api/v1/sets/{scene_set.pk}/versions/", {}, format="json")
    assert response.status_code == 400
    assert "include_flagged" in response.json()["errors"]


def test_excluded_list_is_paginated(api, user):
    scenes = [SceneFactory(scene_id=f"f-{i:03d}", gnss_outage=True) for i in range(120)]
    scenes.append(SceneFactory(scene_id="ok-1"))
    scene_set = make_set(user, scenes)
    created = api.post(f"/api/v1/sets/{scene_set.pk}/versions/", {}, format="json").json()
    assert created["excluded_count"] == 120
    assert len(created["excluded"]) == 100  # the detail shows the first hundred
    first = api.get(created["excluded_url"], {"page_size": 50}).json()
    assert (first["count"], len(first["results"])) == (120, 50)
    last = api.get(created["excluded_url"], {"page_size": 50, "page": 3}).json()
    assert [e["scene_id"] for e in last["results"]] == [f"f-{i:03d}" for i in range(100, 120)]


def test_versions_list_counts_the_excluded(api, mixed):
    api.post(f"/api/v1/sets/{mixed.pk}/versions/", {}, format="json")
    listed = api.get(f"/api/v1/sets/{mixed.pk}/versions/").json()["results"]
    assert [(v["count"], v["excluded_count"]) for v in listed] == [(3, 3)]

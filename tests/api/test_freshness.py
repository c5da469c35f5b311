"""status/ and ingest/manifests/: how fresh the catalog is, and what the watch brought in."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from catalog.models import IngestedManifest
from embeddings.encoder import configured_model_name
from embeddings.models import EmbeddingModel, SceneEmbeddingState
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_status_counts_scenes_by_embedding_state(api, settings):
    settings.CATALOG_INGEST_WATCH_URI = "s3://fleet/manifests/"
    model = EmbeddingModel.objects.create(
        name=configured_model_name(), architecture="test-tiny", dim=8
    )
    scenes = [SceneFactory() for _ in range(7)]
    for scene, state in zip(
        scenes, ["done", "done", "done", "failed", "pending", "running"], strict=False
    ):
        SceneEmbeddingState.objects.create(scene=scene, model=model, state=state)
    status = api.get("/api/v1/status/").json()
    assert {k: status[k] for k in ("scenes", "embedded", "pending_embed", "failed_embed")} == {
        "scenes": 7,
        "embedded": 3,
        "pending_embed": 3,  # pending, running and the one never queued
        "failed_embed": 1,
    }
    assert status["watch_uri"] == "s3://fleet/manifests/"
    assert status["model"] == configured_model_name()


def test_status_without_a_model_or_a_watch(api, settings):
    settings.CATALOG_INGEST_WATCH_URI = None
    SceneFactory()
    status = api.get("/api/v1/status/").json()
    assert (status["scenes"], status["embedded"], status["pending_embed"]) == (1, 0, 1)
    assert status["watch_uri"] is None


def test_last_ingest_is_the_newest_arrival(api):
    assert api.get("/api/v1/status/").json()["last_ingest_at"] is None
    cache.clear()
    scene = SceneFactory()
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert api.get("/api/v1/status/").json()["last_ingest_at"] == _iso(scene.ingested_at)
    cache.clear()
    _manifest("s3://b/m.jsonl", ingested_at=later)
    assert api.get("/api/v1/status/").json()["last_ingest_at"] == _iso(later)


def test_status_is_cached_for_a_few_seconds(api):
    SceneFactory()
    assert api.get("/api/v1/status/").json()["scenes"] == 1
    SceneFactory()
    assert api.get("/api/v1/status/").json()["scenes"] == 1


def test_status_needs_a_signed_in_user(anon_api):
    assert anon_api.get("/api/v1/status/").status_code in (401, 403)


def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _manifest(uri: str, **fields) -> IngestedManifest:
    defaults = {
        "sha256": f"{abs(hash(uri)):064x}"[:64],
        "size_bytes": 10,
        "state": "done",
        "claimed_at": datetime.now(UTC),
    }
    return IngestedManifest.objects.create(uri=uri, **{**defaults, **fields})


def test_manifests_are_listed_newest_first_with_their_counts(api):
    now = datetime.now(UTC)
    _manifest("s3://b/a.jsonl", inserted=5, ingested_at=now - timedelta(hours=4))
    _manifest("s3://b/b.jsonl", updated=2, rejected=1, ingested_at=now - timedelta(hours=2))
    _manifest("s3://b/c.jsonl", state="running")
    body = api.get("/api/v1/ingest/manifests/").json()
    assert body["count"] == 3
    assert [m["uri"] for m in body["results"]] == [
        "s3://b/c.jsonl",  # in progress
        "s3://b/b.jsonl",
        "s3://b/a.jsonl",
    ]
    newest = body["results"][1]
    assert {k: newest[k] for k in ("inserted", "updated", "rejected", "state")} == {
        "inserted": 0,
        "updated": 2,
        "rejected": 1,
        "state": "done",
    }
    assert set(newest) >= {"uri", "sha256", "job", "ingested_at"}


def test_manifests_are_paginated(api):
    for i in range(3):
        _manifest(f"s3://b/{i}.jsonl", ingested_at=datetime.now(UTC))
    page = api.get("/api/v1/ingest/manifests/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]

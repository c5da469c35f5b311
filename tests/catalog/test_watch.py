"""Watched ingest: manifests appearing in a folder or an S3 prefix are ingested once per
content, half-written files wait, and racing ticks ingest a manifest once."""

import gzip
import json
import os
import threading
import time

import boto3
import pytest
from django.db import connection

from catalog import hooks
from catalog.ingest import watch_source
from catalog.ingest.watch import MAX_ATTEMPTS, manifest_claim, watch_tick
from catalog.ingest.watch_source import Candidate, Unsettled, content_sha256, is_manifest_name
from catalog.models import IngestedManifest, Job, Scene
from tests.manifests import scene_record

OLD = time.time() - 3600  # a modification time long settled


def _lines(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _write(path, text: str, *, mtime: float | None = OLD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def watched(tmp_path, settings, django_capture_on_commit_callbacks):
    """A watched folder, and `tick()`: one beat tick with its queued ingests run (Celery
    is eager in tests). Embedding is not triggered: these tests are about ingest."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    settings.CATALOG_INGEST_WATCH_URI = folder.as_uri() + "/"
    settings.CATALOG_INGEST_WATCH_SETTLE_S = 5

    def tick():
        with hooks.scenes_changed_paused(), django_capture_on_commit_callbacks(execute=True):
            return watch_tick()

    tick.folder = folder
    return tick


@pytest.mark.django_db
def test_a_new_manifest_in_the_folder_is_ingested(watched):
    _write(watched.folder / "batch-001.jsonl", _lines(scene_record(i) for i in range(3)))
    report = watched()
    assert len(report.claimed) == 1
    manifest = IngestedManifest.objects.get()
    assert manifest.uri == (watched.folder / "batch-001.jsonl").as_uri()
    assert (manifest.state, manifest.inserted, manifest.updated, manifest.rejected) == (
        "done",
        3,
        0,
        0,
    )
    assert manifest.ingested_at is not None
    assert Job.objects.get(pk=manifest.job_id).state == "done"
    assert Scene.objects.count() == 3


@pytest.mark.django_db
def test_a_manifest_is_ingested_once(watched):
    _write(watched.folder / "batch-001.jsonl", _lines(scene_record(i) for i in range(3)))
    watched()
    assert watched().claimed == []
    assert IngestedManifest.objects.count() == 1
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_an_unchanged_reupload_is_not_ingested_again(watched):
    path = _write(watched.folder / "batch-001.jsonl", _lines(scene_record(i) for i in range(3)))
    watched()
    before = list(Scene.objects.order_by("pk").values_list("pk", "updated_at"))
    _write(path, path.read_text(), mtime=OLD + 60)  # copied again: same bytes, new mtime
    assert watched().claimed == []
    assert IngestedManifest.objects.count() == 1
    assert list(Scene.objects.order_by("pk").values_list("pk", "updated_at")) == before


@pytest.mark.django_db
def test_a_changed_manifest_is_ingested_again(watched):
    path = _write(watched.folder / "batch-001.jsonl", _lines(scene_record(i) for i in range(3)))
    watched()
    changed = [scene_record(0, tags=["rain"]), scene_record(1), scene_record(2), scene_record(3)]
    _write(path, _lines(changed), mtime=OLD + 60)
    assert len(watched().claimed) == 1
    newest = IngestedManifest.objects.order_by("-id").first()
    assert (newest.inserted, newest.updated) == (1, 1)
    assert IngestedManifest.objects.count() == 2
    assert Scene.objects.get(scene_id=scene_record(0)["scene_id"]).tags == ["rain"]


@pytest.mark.django_db
def test_content_that_comes_back_is_ingested_again(watched):
    path = watched.folder / "batch-001.jsonl"
    first, second = _lines([scene_record(0)]), _lines([scene_record(0, tags=["rain"])])
    for text, mtime in ((first, OLD), (second, OLD + 60), (first, OLD + 120)):
        _write(path, text, mtime=mtime)
        assert len(watched().claimed) == 1
    assert IngestedManifest.objects.count() == 2  # one row per content
    assert Scene.objects.get().tags == ["urban"]


@pytest.mark.django_db
def test_a_file_being_written_waits_until_it_is_complete(watched):
    records = [scene_record(i) for i in range(4)]
    text = _lines(records)
    path = _write(watched.folder / "batch-002.jsonl", text[: len(text) // 2], mtime=None)
    assert watched().claimed == []  # modified just now: still being written
    assert IngestedManifest.objects.count() == 0
    _write(path, text, mtime=OLD)
    assert len(watched().claimed) == 1
    assert IngestedManifest.objects.get().inserted == 4


@pytest.mark.django_db
def test_a_file_that_changes_while_hashed_is_not_claimed(tmp_path):
    path = _write(tmp_path / "m.jsonl", _lines([scene_record(0)]))
    candidate = Candidate(path.as_uri(), path.stat().st_size, "0:0:0")  # listed earlier
    with pytest.raises(Unsettled):
        content_sha256(candidate)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("batch.jsonl", True),
        ("2026/11/28/batch.jsonl.gz", True),
        ("batch.parquet", True),
        ("BATCH.JSONL", True),
        (".batch.jsonl.tmp", False),
        (".batch.jsonl", False),
        ("batch.jsonl.tmp", False),
        ("batch.jsonl.part", False),
        ("_temporary/0/batch.jsonl", False),
        ("_SUCCESS", False),
        ("notes.txt", False),
        (".hidden/batch.jsonl", False),
    ],
)
def test_which_names_are_manifests(name, expected):
    assert is_manifest_name(name) is expected


@pytest.mark.django_db
def test_hidden_and_temporary_files_are_never_read(watched):
    good = _lines([scene_record(0)])
    _write(watched.folder / ".batch.jsonl.tmp", _lines([scene_record(1)]))
    _write(watched.folder / "_temporary" / "0" / "part.jsonl", _lines([scene_record(2)]))
    _write(watched.folder / "README.txt", "not a manifest")
    gz = watched.folder / "day" / "batch.jsonl.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(good.encode()))
    os.utime(gz, (OLD, OLD))
    watched()
    assert list(IngestedManifest.objects.values_list("uri", flat=True)) == [gz.as_uri()]
    assert list(Scene.objects.values_list("scene_id", flat=True)) == [scene_record(0)["scene_id"]]


@pytest.mark.django_db
def test_a_manifest_that_can_never_be_read_is_failed_once(watched):
    _write(watched.folder / "broken.parquet", "not parquet at all")
    watched()
    manifest = IngestedManifest.objects.get()
    assert manifest.state == "failed"
    assert "Parquet" in manifest.error
    assert manifest.attempts == MAX_ATTEMPTS  # not worth another try
    assert watched().claimed == []
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_watching_is_off_without_a_location(settings):
    settings.CATALOG_INGEST_WATCH_URI = None
    report = watch_tick()
    assert (report.root, report.claimed) == (None, [])


@pytest.mark.django_db
def test_manifests_under_an_s3_prefix_are_ingested_once_per_content(
    s3, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_INGEST_WATCH_URI = f"{s3}/incoming/"
    client = boto3.client("s3")
    key = "incoming/2026-11-28/batch.jsonl"

    def put(key, records):
        client.put_object(Bucket="catalog-test", Key=key, Body=_lines(records).encode())

    def tick():
        with hooks.scenes_changed_paused(), django_capture_on_commit_callbacks(execute=True):
            return watch_tick()

    put(key, [scene_record(i) for i in range(2)])
    put("elsewhere/batch.jsonl", [scene_record(9)])  # outside the prefix
    put("incoming/.batch.jsonl.tmp", [scene_record(8)])
    assert len(tick().claimed) == 1
    assert Scene.objects.count() == 2
    put(key, [scene_record(i) for i in range(2)])  # uploaded again, unchanged
    assert tick().claimed == []
    put(key, [scene_record(i) for i in range(3)])  # changed
    assert len(tick().claimed) == 1
    assert Scene.objects.count() == 3
    assert list(IngestedManifest.objects.values_list("uri", "inserted").order_by("id")) == [
        (f"{s3}/{key}", 2),
        (f"{s3}/{key}", 1),
    ]


@pytest.mark.django_db
def test_watch_root_normalises_the_location(settings, tmp_path):
    settings.CATALOG_INGEST_WATCH_URI = "s3://bucket/prefix"
    assert watch_source.watch_root() == "s3://bucket/prefix/"
    settings.CATALOG_INGEST_WATCH_URI = "s3://bucket/"
    assert watch_source.watch_root() == "s3://bucket/"
    settings.CATALOG_INGEST_WATCH_URI = tmp_path.as_uri() + "/"
    assert watch_source.watch_root() == tmp_path.as_uri()


# --- races (real transactions, one connection per thread) -----------------------------------


def _in_threads(n: int, work):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_ingest_a_manifest_once(tmp_path, settings):
    folder = tmp_path / "incoming"
    _write(folder / "batch.jsonl", _lines(scene_record(i) for i in range(5)))
    settings.CATALOG_INGEST_WATCH_URI = folder.as_uri()
    with hooks.scenes_changed_paused():
        reports = _in_threads(2, watch_tick)
    assert sum(len(r.claimed) for r in reports) == 1
    assert IngestedManifest.objects.count() == 1
    assert Job.objects.count() == 1
    assert IngestedManifest.objects.get().inserted == 5
    assert Scene.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_racing_claims_of_one_manifest_have_one_winner(tmp_path):
    path = _write(tmp_path / "batch.jsonl", _lines([scene_record(0)]))
    candidate = Candidate(path.as_uri(), path.stat().st_size, "fp")
    sha256 = content_sha256(Candidate(path.as_uri(), 0, watch_source._fingerprint(path.stat())))
    with hooks.scenes_changed_paused():
        claims = _in_threads(4, lambda: manifest_claim(candidate=candidate, sha256=sha256))
    assert sum(claim is not None for claim in claims) == 1
    assert IngestedManifest.objects.count() == 1

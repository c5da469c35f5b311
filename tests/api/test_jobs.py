"""`POST ingest/` and `GET jobs/<id>/`: who may ingest, which files the server may read
for them, what a job tells whom, and what happens when the broker is down."""

import socket

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import uris
from catalog.hooks import scenes_changed_paused
from catalog.models import Job, Scene
from config.celery import app as celery_app
from tests.factories import UserFactory
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_embedding():
    with scenes_changed_paused():  # the videos here are not real
        yield


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


@pytest.fixture
def ingester(db):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="ingest_manifest"))
    return client_for(user)


@pytest.fixture
def staff(db):
    return client_for(UserFactory(is_staff=True))


@pytest.fixture
def root(tmp_path, settings):
    folder = tmp_path / "root"
    folder.mkdir()
    settings.CATALOG_LOCAL_ROOTS = [str(folder)]
    return folder


def manifest_in(folder, lines=None):
    """A manifest with the default records' videos in place."""
    lines = lines if lines is not None else [scene_record(0), scene_record(1), "{"]
    for index in (0, 1):
        for camera in scene_record(index)["cameras"].values():
            (folder / camera).parent.mkdir(parents=True, exist_ok=True)
            (folder / camera).write_bytes(b"video")
    return write_manifest(folder / "m.jsonl", lines)


def post_ingest(client, manifest_uri):
    return client.post("/api/v1/ingest/", {"manifest_uri": str(manifest_uri)}, format="json")


def test_ingest_runs_a_job_with_progress(ingester, root):
    response = post_ingest(ingester, manifest_in(root))
    assert response.status_code == 202
    job = ingester.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert (job["kind"], job["state"], job["done"], job["total"]) == ("ingest", "failed", 3, 3)
    assert job["error"] == "1 line(s) rejected"
    assert job["result"]["rejected"][0]["line"] == 3
    assert Scene.objects.count() == 2


def test_user_without_the_permission_gets_403(api, root):
    response = post_ingest(api, manifest_in(root))
    assert response.status_code == 403
    assert "catalog.ingest_manifest" in response.json()["detail"]
    assert not Job.objects.exists()


def test_anonymous_caller_is_refused(anon_api, root):
    assert post_ingest(anon_api, manifest_in(root)).status_code in (401, 403)


def test_staff_may_ingest_without_a_grant(staff, root):
    assert post_ingest(staff, manifest_in(root)).status_code == 202


def test_superuser_may_ingest(root):
    superuser = client_for(UserFactory(is_superuser=True))
    assert post_ingest(superuser, manifest_in(root)).status_code == 202


def test_missing_and_forbidden_manifests_get_the_same_400(ingester, root, tmp_path, settings):
    outside = manifest_in(tmp_path)
    settings.DATA_DIR = root / "data"
    inside_data = write_manifest(root / "data" / "m.jsonl", [scene_record(0)])
    (root / "link.jsonl").symlink_to(outside)
    bodies = []
    for location in (
        root / "missing.jsonl",
        outside,
        inside_data,
        root / "link.jsonl",
        f"{root}/../{outside.name}",
        "/etc/passwd",
        "/dev/zero",
    ):
        response = post_ingest(ingester, location)
        assert response.status_code == 400, location
        bodies.append(response.json())
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["errors"] == {"manifest_uri": [uris.NOT_ALLOWED]}
    assert not Job.objects.exists()


def test_without_roots_local_manifests_are_refused(ingester, root, settings):
    settings.CATALOG_LOCAL_ROOTS = []
    response = post_ingest(ingester, manifest_in(root))
    assert response.status_code == 400
    assert response.json()["errors"]["manifest_uri"] == [uris.NOT_ALLOWED]


@pytest.mark.parametrize("location", ["ftp://host/m.jsonl", "http://host/m.jsonl", "s3://"])
def test_other_schemes_are_refused_naming_the_field(ingester, location):
    response = post_ingest(ingester, location)
    assert response.status_code == 400
    assert "manifest_uri" in response.json()["errors"]


def test_missing_s3_manifest_gets_the_same_400(ingester, s3):
    response = post_ingest(ingester, f"{s3}/none.jsonl")
    assert response.status_code == 400
    assert response.json()["errors"] == {"manifest_uri": [uris.NOT_ALLOWED]}


def test_ingest_requires_manifest_uri(ingester):
    response = ingester.post("/api/v1/ingest/", {}, format="json")
    assert response.status_code == 400
    assert "manifest_uri" in response.json()["errors"]


def test_job_is_visible_to_its_owner_and_staff_only(ingester, staff, api, root):
    job_id = post_ingest(ingester, manifest_in(root)).json()["id"]
    assert ingester.get(f"/api/v1/jobs/{job_id}/").status_code == 200
    assert staff.get(f"/api/v1/jobs/{job_id}/").status_code == 200
    hidden = api.get(f"/api/v1/jobs/{job_id}/")
    missing = api.get("/api/v1/jobs/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_unknown_job_is_404(staff):
    assert staff.get("/api/v1/jobs/999999/").status_code == 404


@pytest.fixture
def broker_down():
    """The broker URL points at a port nobody listens on, and tasks really go to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    celery_app.conf.task_always_eager = False
    celery_app._after_fork()  # drop pooled connections to the real broker
    yield
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    celery_app._after_fork()


def test_broker_down_answers_503_and_fails_the_job(ingester, root, broker_down):
    response = post_ingest(ingester, manifest_in(root))
    assert response.status_code == 503
    assert "task queue is unavailable" in response.json()["detail"]
    job = Job.objects.get()
    assert job.state == Job.State.FAILED
    assert job.error.startswith("not queued")

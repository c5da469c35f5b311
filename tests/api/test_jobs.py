import pytest

from catalog.models import Job, Scene
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db(transaction=True)


def test_ingest_endpoint_runs_a_job_with_progress(api, tmp_path):
    path = write_manifest(tmp_path / "m.jsonl", [scene_record(0), scene_record(1), "{"])
    response = api.post("/api/v1/ingest/", {"manifest_uri": str(path)}, format="json")
    assert response.status_code == 202
    job = api.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert (job["kind"], job["state"], job["done"], job["total"]) == ("ingest", "failed", 3, 3)
    assert job["error"] == "1 line(s) rejected"
    assert job["result"]["rejected"][0]["line"] == 3
    assert Scene.objects.count() == 2


def test_ingest_endpoint_rejects_missing_manifest(api, tmp_path):
    response = api.post(
        "/api/v1/ingest/", {"manifest_uri": str(tmp_path / "none.jsonl")}, format="json"
    )
    assert response.status_code == 400
    assert "manifest_uri" in response.json()["errors"]
    assert not Job.objects.exists()


def test_ingest_endpoint_requires_manifest_uri(api):
    response = api.post("/api/v1/ingest/", {}, format="json")
    assert response.status_code == 400
    assert "manifest_uri" in response.json()["errors"]


def test_unknown_job_is_404(api):
    assert api.get("/api/v1/jobs/999999/").status_code == 404

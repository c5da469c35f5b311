import hashlib
import io
import json

import boto3
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from curation import services
from tests.curation.helpers import make_scenes, make_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(user):
    scene_set = make_set(user, make_scenes(3), name="export me")
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    return services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)


def _export(*args) -> str:
    out = io.StringIO()
    call_command("export_set", *args, stdout=out)
    return out.getvalue()


def test_parquet_by_id(version, tmp_path):
    path = tmp_path / "m.parquet"
    _export(str(version.scene_set_id), "--version", "1", "--format", "parquet", "--out", str(path))
    assert pq.read_table(path).num_rows == 3


def test_jsonl_by_name_defaults_to_latest_and_matches_sha(version, tmp_path):
    path = tmp_path / "m.jsonl"
    report = _export("export me", "--out", str(path))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == version.sha256
    assert "version 2" in report


def test_csv_to_s3(version, s3):
    _export(str(version.scene_set_id), "--version", "2", "--format", "csv", "--out", f"{s3}/m.csv")
    body = boto3.client("s3").get_object(Bucket="catalog-test", Key="m.csv")["Body"].read()
    assert body.decode().splitlines()[0].startswith("scene_id,")


def test_deleted_set_still_exports_by_id(version, user, tmp_path):
    services.scene_set_delete(scene_set_id=version.scene_set_id, actor=user)
    path = tmp_path / "m.jsonl"
    _export(str(version.scene_set_id), "--version", "1", "--out", str(path))
    assert [json.loads(line) for line in path.read_text().splitlines()]


def test_unknown_set_exits_2(db, tmp_path):
    with pytest.raises(CommandError, match="no scene set named") as exc:
        _export("missing", "--out", str(tmp_path / "x"))
    assert exc.value.returncode == 2


def test_unknown_version_exits_2(version, tmp_path):
    with pytest.raises(CommandError, match="no version 7") as exc:
        _export(str(version.scene_set_id), "--version", "7", "--out", str(tmp_path / "x"))
    assert exc.value.returncode == 2


def test_ambiguous_name_lists_ids_and_exits_2(version, other_user, tmp_path):
    make_set(other_user, name="export me")
    with pytest.raises(CommandError, match="use an id") as exc:
        _export("export me", "--out", str(tmp_path / "x"))
    assert exc.value.returncode == 2


def test_unwritable_destination_exits_1(version, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CommandError) as exc:
        _export(str(version.scene_set_id), "--out", str(blocker / "sub" / "m.jsonl"))
    assert exc.value.returncode == 1

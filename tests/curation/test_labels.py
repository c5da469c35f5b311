"""Item labels: set, cleared, refused when too long, frozen with the item and exported as
the `label` column in every format from manifest schema 2 on; a version frozen under
schema 1 keeps its bytes."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from catalog.errors import InvalidInput
from curation import manifest, services
from curation.models import SceneSetVersion, SceneSetVersionItem
from tests.curation.helpers import make_scenes, make_set, manifest_bytes
from tests.factories import DriveFactory, SceneFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def label(scene_set, user, scene, value):
    return services.scene_set_item_annotate(
        scene_set_id=scene_set.pk, actor=user, scene_id=scene.scene_id, label=value
    )


def test_label_is_set_trimmed_and_cleared(user):
    scene = make_scenes(1)[0]
    scene_set = make_set(user, [scene])
    assert label(scene_set, user, scene, "  positive ").label == "positive"
    assert label(scene_set, user, scene, "").label == ""


@pytest.mark.parametrize("value", ["x" * 65, "two\nlines", 3])
def test_bad_labels_are_refused_naming_the_field(user, value):
    scene = make_scenes(1)[0]
    scene_set = make_set(user, [scene])
    with pytest.raises(InvalidInput) as error:
        label(scene_set, user, scene, value)
    assert "label" in error.value.errors


@pytest.fixture
def labelled_version(user):
    scenes = make_scenes(3)
    scene_set = make_set(user, scenes)
    label(scene_set, user, scenes[0], "positive")
    label(scene_set, user, scenes[1], 'négatif, "x"')
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    return version, {
        s.scene_id: v for s, v in zip(scenes, ["positive", 'négatif, "x"', ""], strict=True)
    }


def test_new_versions_use_schema_2_with_label_last(labelled_version):
    version, _ = labelled_version
    assert version.manifest_schema == SceneSetVersion.MANIFEST_SCHEMA == 2
    assert manifest.column_names(2) == (*manifest.COLUMN_NAMES, "label")


def test_label_round_trips_through_jsonl(labelled_version):
    version, labels = labelled_version
    rows = [json.loads(line) for line in manifest_bytes(version).splitlines()]
    assert {r["scene_id"]: r["label"] for r in rows} == labels
    assert list(rows[0])[-1] == "label"


def test_label_round_trips_through_csv(labelled_version):
    version, labels = labelled_version
    rows = list(csv.DictReader(io.StringIO(manifest_bytes(version, "csv").decode())))
    assert {r["scene_id"]: r["label"] for r in rows} == labels


def test_label_round_trips_through_parquet(labelled_version):
    version, labels = labelled_version
    table = pq.read_table(io.BytesIO(manifest_bytes(version, "parquet")))
    assert table.schema.field("label").type == "string"
    assert (
        dict(zip(table["scene_id"].to_pylist(), table["label"].to_pylist(), strict=True)) == labels
    )


def test_sha256_covers_the_labels(labelled_version):
    version, _ = labelled_version
    assert hashlib.sha256(manifest_bytes(version)).hexdigest() == version.sha256


def test_relabelling_after_a_freeze_changes_the_next_version_only(user, labelled_version):
    version, labels = labelled_version
    scene_set = version.scene_set
    first = next(s for s, v in labels.items() if v == "positive")
    services.scene_set_item_annotate(
        scene_set_id=scene_set.pk, actor=user, scene_id=first, label="negative"
    )
    again = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    from curation.selectors import version_diff

    assert version_diff(version=again, against=version)["changed"] == [first]
    rows = [json.loads(line) for line in manifest_bytes(version).splitlines()]
    assert {r["scene_id"]: r["label"] for r in rows}[first] == "positive"


# --- a version frozen before labels existed -----------------------------------------------

# What the exporter wrote for this version before manifest schema 2 existed (recorded from
# the release before it): schema 1 must keep producing exactly these bytes.
SCHEMA_1_JSONL = (
    b'{"scene_id":"golden-a","vehicle_id":"veh-golden","drive_id":null,'
    b'"start_time":"2026-11-28T00:30:20Z","end_time":"2026-11-28T00:30:40Z","duration_s":20.0,'
    b'"t_start_s":null,"t_end_s":null,"note":"",'
    b'"cameras":{"front_wide":"s3://fleet/golden-a/front_wide.mp4"},"tags":[],"local_hour":9,'
    b'"max_speed_mps":12.5,"mean_speed_mps":8.0,"max_decel_mps2":1.0,"gnss_fix_rate":0.75,'
    b'"disengagement_count":2,"start_lat":null,"start_lon":null,"end_lat":35.581,'
    b'"end_lon":139.741}\n'
    b'{"scene_id":"golden-b","vehicle_id":"veh-golden","drive_id":"veh-golden_20261128",'
    b'"start_time":"2026-11-28T00:30:00Z","end_time":"2026-11-28T00:30:20Z","duration_s":20.0,'
    b'"t_start_s":1.5,"t_end_s":4.0,"note":"ped, \\"crossing\\"\\nsecond line",'
    b'"cameras":{"front_wide":"s3://fleet/golden-b/front_wide.mp4",'
    b'"rear":"s3://fleet/golden-b/rear.mp4"},"tags":["rain","night"],"local_hour":9,'
    b'"max_speed_mps":10.0,"mean_speed_mps":8.0,"max_decel_mps2":1.0,"gnss_fix_rate":1.0,'
    b'"disengagement_count":0,"start_lat":35.58,"start_lon":139.74,"end_lat":35.581,'
    b'"end_lon":139.741}\n'
)
SCHEMA_1_CSV = (
    b"scene_id,vehicle_id,drive_id,start_time,end_time,duration_s,t_start_s,t_end_s,note,"
    b"cameras,tags,local_hour,max_speed_mps,mean_speed_mps,max_decel_mps2,gnss_fix_rate,"
    b"disengagement_count,start_lat,start_lon,end_lat,end_lon\n"
    b"golden-a,veh-golden,,2026-11-28T00:30:20Z,2026-11-28T00:30:40Z,20.0,,,,"
    b'"{""front_wide"":""s3://fleet/golden-a/front_wide.mp4""}",[],9,12.5,8.0,1.0,0.75,2,,,'
    b"35.581,139.741\n"
    b"golden-b,veh-golden,veh-golden_20261128,2026-11-28T00:30:00Z,2026-11-28T00:30:20Z,20.0,"
    b'1.5,4.0,"ped, ""crossing""\nsecond line","{""front_wide"":""s3://fleet/golden-b/'
    b'front_wide.mp4"",""rear"":""s3://fleet/golden-b/rear.mp4""}","[""rain"",""night""]",9,'
    b"10.0,8.0,1.0,1.0,0,35.58,139.74,35.581,139.741\n"
)
SCHEMA_1_SHA256 = "88da5b4087a0a5f13a512f595142eaaa2a4f679c9d2c967190d9420155188572"


@pytest.fixture
def schema_1_version(user):
    """A version as the release before labels froze it: manifest_schema 1, sealed with
    the sha256 it had then; its items carry a label now (the new column), unexported."""
    vehicle = VehicleFactory(vehicle_id="veh-golden")
    drive = DriveFactory(vehicle=vehicle, drive_id="veh-golden_20261128")
    start = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
    SceneFactory(
        scene_id="golden-b", vehicle=vehicle, drive=drive, start_time=start, tags=["rain", "night"],
        cameras={"rear": "s3://fleet/golden-b/rear.mp4", "front_wide": "s3://fleet/golden-b/front_wide.mp4"},
    )  # fmt: skip
    SceneFactory(
        scene_id="golden-a", vehicle=vehicle, drive=None, max_speed_mps=12.5,
        start_time=start + timedelta(seconds=20), gnss_fix_rate=0.75, disengagement_count=2,
        start_lat=None, start_lon=None,
    )  # fmt: skip
    scene_set = make_set(user)
    version = SceneSetVersion.objects.create(
        scene_set=scene_set, number=1, created_by=user, manifest_schema=1
    )
    common = dict(
        version=version, vehicle_id="veh-golden", duration_s=20.0, local_hour=9,
        mean_speed_mps=8.0, max_decel_mps2=1.0, end_lat=35.581, end_lon=139.741,
        label="positive",
    )  # fmt: skip
    SceneSetVersionItem.objects.bulk_create(
        [
            SceneSetVersionItem(
                **common,
                position=1,
                scene_id="golden-a",
                drive_id=None,
                start_time=start + timedelta(seconds=20),
                end_time=start + timedelta(seconds=40),
                cameras={"front_wide": "s3://fleet/golden-a/front_wide.mp4"},
                tags=[],
                max_speed_mps=12.5,
                gnss_fix_rate=0.75,
                disengagement_count=2,
            ),
            SceneSetVersionItem(
                **common,
                position=2,
                scene_id="golden-b",
                drive_id="veh-golden_20261128",
                start_time=start,
                end_time=start + timedelta(seconds=20),
                t_start_s=1.5,
                t_end_s=4.0,
                note='ped, "crossing"\nsecond line',
                tags=["rain", "night"],
                cameras={
                    "rear": "s3://fleet/golden-b/rear.mp4",
                    "front_wide": "s3://fleet/golden-b/front_wide.mp4",
                },
                max_speed_mps=10.0,
                gnss_fix_rate=1.0,
                disengagement_count=0,
                start_lat=35.58,
                start_lon=139.74,
            ),
        ]
    )
    SceneSetVersion.objects.filter(pk=version.pk).update(
        count=2, sha256=SCHEMA_1_SHA256, size_bytes=len(SCHEMA_1_JSONL)
    )
    version.refresh_from_db()
    return version


def test_schema_1_version_exports_its_old_jsonl_bytes(schema_1_version):
    body = manifest_bytes(schema_1_version)
    assert body == SCHEMA_1_JSONL
    assert hashlib.sha256(body).hexdigest() == schema_1_version.sha256 == SCHEMA_1_SHA256


def test_schema_1_version_exports_its_old_csv_bytes(schema_1_version):
    assert manifest_bytes(schema_1_version, "csv") == SCHEMA_1_CSV


def test_schema_1_version_parquet_has_no_label_column(schema_1_version):
    table = pq.read_table(io.BytesIO(manifest_bytes(schema_1_version, "parquet")))
    assert tuple(table.column_names) == manifest.COLUMN_NAMES

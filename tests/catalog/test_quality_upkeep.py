"""The GNSS gate kept right as data keeps arriving (catalog.quality_upkeep): late manifests,
re-ingests that fix a day or move a scene, and a rebuild that agrees with the increments."""

import importlib
import io
import random
import threading
import time
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from catalog import quality, quality_upkeep
from catalog.models import GnssVehicleDay, Scene
from tests.factories import SceneFactory, VehicleFactory
from tests.gnss import gnss_record, ingest, vehicle_day

pytestmark = pytest.mark.django_db

DAY = "2026-11-28"
GOOD, BAD = [0.99, 0.97, 1.0], [0.4, 0.6, 0.5]
gate_migration = importlib.import_module("catalog.migrations.0011_gnss_gate")


def aggregates() -> dict[tuple[str, str], tuple]:
    return {
        (row.day.isoformat(), row.vehicle.vehicle_id): (
            row.scenes,
            round(row.fix_rate_sum, 9),
            row.fix_rate_known,
        )
        for row in GnssVehicleDay.objects.select_related("vehicle")
    }


def scene_flags(scene) -> list[str]:
    return quality.scene_flags(gnss_fix_rate=scene.gnss_fix_rate, gnss_outage=scene.gnss_outage)


def flag_state() -> dict[str, list[str]]:
    return {scene.scene_id: scene_flags(scene) for scene in Scene.objects.all()}


def outage_count(day: str = DAY) -> int:
    return Scene.objects.filter(gnss_outage=True, scene_id__contains=day.replace("-", "")).count()


def test_a_late_manifest_turns_a_day_into_an_outage_day(tmp_path):
    ingest(tmp_path, "morning", vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-02", DAY, GOOD))
    assert outage_count() == 0
    # Hours later, the third vehicle's scenes of the same day arrive: also bad.
    ingest(tmp_path, "late", vehicle_day("veh-03", DAY, BAD))
    assert outage_count() == 9  # the earlier manifest's scenes included


def test_a_reingest_that_fixes_the_data_ends_the_outage(tmp_path):
    ingest(tmp_path, "first", vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-02", DAY, BAD)
           + vehicle_day("veh-03", DAY, GOOD))  # fmt: skip
    assert outage_count() == 9
    # The pipeline re-derives veh-02's positions with the corrections that had been late.
    ingest(tmp_path, "fixed", vehicle_day("veh-02", DAY, GOOD))
    assert outage_count() == 0
    assert aggregates()[(DAY, "veh-02")] == (3, round(sum(GOOD), 9), 3)
    low = Scene.objects.filter(gnss_fix_rate__lt=0.9).values_list("vehicle__vehicle_id", flat=True)
    assert sorted(low) == ["veh-01"] * 3


def test_a_scene_moving_to_another_day_moves_its_counts_and_flags(tmp_path):
    # veh-01 and veh-02 low on the 28th: an outage. Then one of veh-02's scenes turns out
    # to have been recorded on the 27th (a clock fixed upstream) with its real fix rate.
    ingest(tmp_path, "first", vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-02", DAY, [0.5])
           + vehicle_day("veh-03", DAY, GOOD))  # fmt: skip
    assert outage_count() == 7
    moved = gnss_record("veh-02", DAY, 0, 0.5)
    moved.update(start_time="2026-11-27T10:00:00+09:00", drive_id=None)
    ingest(tmp_path, "moved", [moved])
    counts = aggregates()
    assert (DAY, "veh-02") not in counts  # its only scene left the day
    assert counts[("2026-11-27", "veh-02")] == (1, 0.5, 1)
    assert outage_count() == 0  # the 28th is left with one low vehicle of two
    assert flag_state()[moved["scene_id"]] == ["gnss_low"]


def test_a_scene_moving_to_another_vehicle_moves_its_counts(tmp_path):
    ingest(tmp_path, "first", vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-03", DAY, GOOD))
    record = gnss_record("veh-01", DAY, 2, 0.5)
    record.update(vehicle_id="veh-02", drive_id=None)
    ingest(tmp_path, "moved", [record])
    counts = aggregates()
    assert counts[(DAY, "veh-01")] == (2, 1.0, 2)
    assert counts[(DAY, "veh-02")] == (1, 0.5, 1)
    # Now two low vehicles of three: an outage, found on the re-ingest alone.
    assert outage_count() == 6


def test_an_unchanged_reingest_writes_nothing(tmp_path):
    records = vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-02", DAY, BAD)
    ingest(tmp_path, "first", records)
    before = (aggregates(), flag_state())
    report = ingest(tmp_path, "again", records)
    assert report.unchanged == 6
    assert (aggregates(), flag_state()) == before


def test_increments_agree_with_a_rebuild(tmp_path):
    """Many manifests (late days, changed rates, moves) in turn: the running aggregates and
    flags are what a rebuild from the scenes gives."""
    rng = random.Random(7)
    vehicles = [f"veh-{i:02d}" for i in range(5)]
    days = ["2026-11-26", "2026-11-27", "2026-11-28"]
    for batch in range(6):
        records = {}
        for _ in range(25):
            vehicle, day, k = rng.choice(vehicles), rng.choice(days), rng.randrange(6)
            rate = rng.choice([None, 0.2, 0.5, 0.85, 0.95, 1.0])
            record = gnss_record(vehicle, day, k, rate)
            if rng.random() < 0.2:  # re-ingested under another vehicle or day
                record.update(vehicle_id=rng.choice(vehicles), drive_id=None,
                              start_time=f"{rng.choice(days)}T11:00:00+09:00")  # fmt: skip
            records[record["scene_id"]] = record
        ingest(tmp_path, f"batch-{batch}", list(records.values()))
    incremental = (aggregates(), flag_state())
    assert any("gnss_outage" in flags for flags in incremental[1].values())  # exercised
    with connection.cursor() as cursor:
        quality_upkeep.refresh_all(cursor)
    assert (aggregates(), flag_state()) == incremental


def test_refresh_applies_a_new_threshold(tmp_path, settings):
    ingest(tmp_path, "m", vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-02", DAY, BAD))
    assert outage_count() == 6
    settings.CATALOG_GNSS_MIN_FIX_RATE = 0.45
    with connection.cursor() as cursor:
        result = quality_upkeep.refresh_all(cursor)
    assert result["outage_days"] == 0
    assert outage_count() == 0
    low = Scene.objects.filter(gnss_fix_rate__lt=0.45)
    assert low.count() == 2  # the two 0.4 scenes (gnss_low follows the setting as read)
    assert all(scene_flags(s) == ["gnss_low"] for s in low)


def test_refresh_counts_scenes_written_outside_ingest():
    vehicle = VehicleFactory(vehicle_id="veh-09")
    SceneFactory(vehicle=vehicle, gnss_fix_rate=0.2)
    with connection.cursor() as cursor:
        quality_upkeep.refresh_all(cursor)
    assert list(aggregates().values()) == [(1, 0.2, 1)]
    assert scene_flags(Scene.objects.get()) == ["gnss_low"]


def test_the_migration_fills_aggregates_and_flags_of_existing_scenes():
    start = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    for i in range(2):
        SceneFactory(
            vehicle=VehicleFactory(vehicle_id=f"veh-{i}"), gnss_fix_rate=0.3, start_time=start
        )
    good = SceneFactory(
        vehicle=VehicleFactory(vehicle_id="veh-ok"), gnss_fix_rate=None, start_time=start
    )
    with connection.schema_editor() as editor:
        gate_migration.fill(apps, editor)
    assert {vehicle for (_, vehicle) in aggregates()} == {"veh-0", "veh-1", "veh-ok"}
    assert {day for (day, _) in aggregates()} == {"2026-11-28"}
    good.refresh_from_db()
    assert scene_flags(good) == ["gnss_outage"]
    assert Scene.objects.filter(gnss_outage=True).count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_one_day_see_each_other(tmp_path, monkeypatch):
    """Two manifests of the same day land at once, each with one low vehicle: the second
    batch waits for the first one's day and then counts both, so the outage is found."""
    real = quality_upkeep.scenes_written
    first_inside, release = threading.Event(), threading.Event()
    calls = []

    def held_open(cursor, **kwargs):
        real(cursor, **kwargs)
        calls.append(1)
        if len(calls) == 1:  # the first batch keeps its transaction open for a while
            first_inside.set()
            release.wait(10)

    monkeypatch.setattr(quality_upkeep, "scenes_written", held_open)
    errors = []

    def run(name, records):
        try:
            ingest(tmp_path, name, records)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("a", vehicle_day("veh-01", DAY, BAD)))
    second = threading.Thread(target=run, args=("b", vehicle_day("veh-02", DAY, BAD)))
    first.start()
    assert first_inside.wait(30)
    second.start()
    _wait_for_advisory_lock_waiter(timeout_s=10)
    release.set()
    first.join()
    second.join()
    assert errors == []
    assert outage_count() == 6


def _wait_for_advisory_lock_waiter(timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the second batch never waited for the first one's day")


def test_refresh_command_reports_what_it_did(tmp_path, settings):
    ingest(tmp_path, "m", vehicle_day("veh-01", DAY, BAD) + vehicle_day("veh-02", DAY, BAD))
    settings.CATALOG_GNSS_OUTAGE_MIN_VEHICLES = 3
    out = io.StringIO()
    call_command("quality_refresh", stdout=out)
    assert out.getvalue().startswith("2 vehicle-days, 0 outage days, 6 scenes' flags changed")
    assert outage_count() == 0

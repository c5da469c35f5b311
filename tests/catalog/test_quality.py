"""The GNSS gate's rules (catalog.quality): low scenes, low vehicle-days, outage days, and
the per-day report, on manifests ingested for real."""

from datetime import date

import pytest

from catalog import quality
from catalog.errors import InvalidInput
from catalog.models import Scene
from tests.gnss import gnss_record, ingest, vehicle_day

pytestmark = pytest.mark.django_db

DAY = "2026-11-28"
OTHER_DAY = "2026-11-27"
GOOD, BAD = [0.99, 0.97, 1.0], [0.4, 0.6, 0.5]


def flags(scene_id_prefix: str = "") -> dict[str, list[str]]:
    rows = Scene.objects.filter(scene_id__startswith=scene_id_prefix).order_by("scene_id")
    return {
        s.scene_id: quality.scene_flags(gnss_fix_rate=s.gnss_fix_rate, gnss_outage=s.gnss_outage)
        for s in rows
    }


def report(by: str = "day", first: str = OTHER_DAY, last: str = DAY) -> list[dict]:
    window = quality.ReportWindow(date.fromisoformat(first), date.fromisoformat(last))
    return quality.gnss_report(by=by, window=window)


def day_row(day: str = DAY) -> dict:
    return next(row for row in report() if row["day"] == date.fromisoformat(day))


def fleet(tmp_path, low: int, total: int, *, day: str = DAY) -> None:
    """`total` vehicles drive on `day`, the first `low` of them with a bad fix rate; a
    good distractor day before it."""
    records = []
    for i in range(total):
        records += vehicle_day(f"veh-{i:02d}", day, BAD if i < low else GOOD)
        records += vehicle_day(f"veh-{i:02d}", OTHER_DAY, GOOD)
    ingest(tmp_path, f"fleet-{low}-{total}", records)


def test_one_low_vehicle_is_not_an_outage(tmp_path):
    fleet(tmp_path, low=1, total=3)
    row = day_row()
    assert (row["vehicles"], row["low_vehicles"], row["flagged"], row["reason"]) == (
        3,
        1,
        False,
        None,
    )
    assert not Scene.objects.filter(gnss_outage=True).exists()
    # Its own scenes are low, all three of them, and nothing else is flagged.
    flagged = {scene_id: f for scene_id, f in flags().items() if f}
    assert len(flagged) == 3
    assert all(s.startswith("veh-00_") and f == ["gnss_low"] for s, f in flagged.items())


def test_two_of_three_low_vehicles_make_an_outage_day(tmp_path):
    fleet(tmp_path, low=2, total=3)
    row = day_row()
    assert (row["low_vehicles"], row["vehicles"], row["flagged"]) == (2, 3, True)
    assert row["reason"].startswith("gnss_outage: 2 of 3 vehicles")
    # Every scene of the day, the good vehicle's too; none of the day before.
    outage = set(Scene.objects.filter(gnss_outage=True).values_list("scene_id", flat=True))
    assert outage == {s for s in flags() if f"_{DAY.replace('-', '')}T" in s}
    assert len(outage) == 9
    assert not day_row(OTHER_DAY)["flagged"]


def test_two_of_five_low_vehicles_are_not_an_outage(tmp_path):
    fleet(tmp_path, low=2, total=5)
    row = day_row()
    assert (row["low_vehicles"], row["vehicles"], row["flagged"]) == (2, 5, False)
    assert not Scene.objects.filter(gnss_outage=True).exists()


def test_exactly_half_of_the_vehicles_low_is_an_outage(tmp_path):
    fleet(tmp_path, low=2, total=4)
    assert day_row()["flagged"] is True


def test_the_fewest_low_vehicles_come_from_settings(tmp_path, settings):
    settings.CATALOG_GNSS_OUTAGE_MIN_VEHICLES = 3
    fleet(tmp_path, low=2, total=3)
    assert day_row()["flagged"] is False
    assert not Scene.objects.filter(gnss_outage=True).exists()


def test_the_threshold_comes_from_settings(tmp_path, settings):
    settings.CATALOG_GNSS_MIN_FIX_RATE = 0.3
    fleet(tmp_path, low=2, total=3)
    assert day_row()["flagged"] is False
    assert not any(flags().values())


def test_a_scene_at_the_threshold_is_not_low(tmp_path):
    ingest(tmp_path, "m", vehicle_day("veh-01", DAY, [0.9, 0.895, None]))
    assert flags() == {
        gnss_record("veh-01", DAY, 0, 0.9)["scene_id"]: [],
        gnss_record("veh-01", DAY, 1, 0.895)["scene_id"]: ["gnss_low"],
        gnss_record("veh-01", DAY, 2, None)["scene_id"]: [],  # unknown is not low
    }


def test_vehicle_means_are_over_scenes_with_a_known_fix_rate(tmp_path):
    ingest(
        tmp_path, "m", vehicle_day("veh-01", DAY, [0.5, None]) + vehicle_day("veh-02", DAY, [None])
    )
    rows = {row["vehicle_id"]: row for row in report("vehicle_day")}
    assert rows["veh-01"]["scenes"] == 2
    assert rows["veh-01"]["fix_rate_mean"] == pytest.approx(0.5)
    assert rows["veh-01"]["low"] is True
    # A vehicle without any fix channel drove, but is not low.
    assert (rows["veh-02"]["fix_rate_mean"], rows["veh-02"]["low"], rows["veh-02"]["flagged"]) == (
        None,
        False,
        False,
    )
    assert day_row()["vehicles"] == 2


def test_days_are_local_days(tmp_path):
    # 23:00 on the 27th and 00:00 on the 28th, Tokyo time, fall on one UTC day (14:00 and
    # 15:00 UTC) but on two local days: two low vehicles on different days are no outage.
    ingest(
        tmp_path,
        "m",
        vehicle_day("veh-01", "2026-11-27", BAD, hour=23)
        + vehicle_day("veh-02", "2026-11-28", BAD, hour=0)
        + vehicle_day("veh-03", "2026-11-28", GOOD, hour=1),
    )
    by_day = {row["day"].isoformat(): row for row in report()}
    assert (by_day["2026-11-27"]["scenes"], by_day["2026-11-28"]["scenes"]) == (3, 6)
    assert not any(row["flagged"] for row in by_day.values())


def test_day_report_counts_scenes_and_means(tmp_path):
    fleet(tmp_path, low=2, total=3)
    row = day_row()
    assert row["scenes"] == 9
    assert row["vehicle_id"] is None
    assert row["fix_rate_mean"] == pytest.approx((2 * sum(BAD) + sum(GOOD)) / 9)


def test_vehicle_day_report_marks_low_vehicles_and_outage_days(tmp_path):
    fleet(tmp_path, low=2, total=3)
    rows = [row for row in report("vehicle_day") if row["day"] == date(2026, 11, 28)]
    assert [row["vehicle_id"] for row in rows] == ["veh-00", "veh-01", "veh-02"]
    assert [(row["low"], row["outage"], row["flagged"]) for row in rows] == [
        (True, True, True), (True, True, True), (False, True, True),
    ]  # fmt: skip
    assert rows[0]["reason"].startswith("gnss_low: mean GNSS fix rate 0.500 below 0.9; gnss_outage")
    assert rows[2]["reason"].startswith("gnss_outage: 2 of 3")
    assert rows[2]["fix_rate_mean"] == pytest.approx(sum(GOOD) / 3)


def test_report_window_defaults_to_the_days_up_to_the_latest(tmp_path):
    ingest(
        tmp_path, "m", vehicle_day("veh-01", "2026-08-01", GOOD) + vehicle_day("veh-01", DAY, GOOD)
    )
    window = quality.report_window(first=None, last=None)
    assert window.last == date(2026, 11, 28)
    assert (window.last - window.first).days + 1 == quality.DEFAULT_REPORT_DAYS
    assert [row["day"] for row in quality.gnss_report(by="day", window=window)] == [
        date(2026, 11, 28)
    ]


def test_report_window_refuses_reversed_and_too_long_windows():
    with pytest.raises(InvalidInput) as reversed_:
        quality.report_window(first=date(2026, 11, 2), last=date(2026, 11, 1))
    with pytest.raises(InvalidInput) as too_long:
        quality.report_window(first=date(2025, 1, 1), last=date(2026, 11, 1))
    assert "start_after" in reversed_.value.errors and "start_after" in too_long.value.errors


def test_report_refuses_an_unknown_grouping():
    with pytest.raises(InvalidInput) as info:
        quality.gnss_report(
            by="week", window=quality.ReportWindow(date(2026, 1, 1), date(2026, 1, 2))
        )
    assert "by" in info.value.errors


def test_scene_flags_in_order():
    assert quality.scene_flags(gnss_fix_rate=0.2, gnss_outage=True) == ["gnss_low", "gnss_outage"]
    assert quality.scene_flags(gnss_fix_rate=0.9, gnss_outage=True) == ["gnss_outage"]
    assert quality.scene_flags(gnss_fix_rate=None, gnss_outage=False) == []


def test_day_span_is_the_local_day():
    start, end = quality.day_span(date(2026, 11, 28))
    assert start.isoformat() == "2026-11-28T00:00:00+09:00"
    assert (end - start).total_seconds() == 86400

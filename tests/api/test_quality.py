"""`quality/gnss/` over HTTP: per-day and per-vehicle-day rows, outage days marked, links
to the scenes, and bad parameters named."""

import json
from urllib.parse import urlsplit

import pytest

from api.quality import GnssReportSerializer, SearchLinks
from catalog import quality
from tests.gnss import ingest, vehicle_day

pytestmark = pytest.mark.django_db

URL = "/api/v1/quality/gnss/"
GOOD, BAD = [0.99, 0.97, 1.0], [0.4, 0.6, 0.5]


@pytest.fixture
def fleet(tmp_path):
    """The 28th is an outage day (two of three vehicles low); on the 27th one vehicle of
    two is low (a bad receiver, no outage); the 26th is clean."""
    ingest(
        tmp_path,
        "fleet",
        vehicle_day("veh-01", "2026-11-28", BAD)
        + vehicle_day("veh-02", "2026-11-28", BAD)
        + vehicle_day("veh-03", "2026-11-28", GOOD)
        + vehicle_day("veh-01", "2026-11-27", BAD)
        + vehicle_day("veh-02", "2026-11-27", GOOD)
        + vehicle_day("veh-03", "2026-11-26", GOOD),
    )


def test_needs_authentication(anon_api):
    assert anon_api.get(URL).status_code == 401


def test_by_day_marks_outage_days(api, fleet):
    body = api.get(URL, {"by": "day"}).json()
    rows = {row["day"]: row for row in body["results"]}
    assert list(rows) == ["2026-11-26", "2026-11-27", "2026-11-28"]
    assert [row["flagged"] for row in rows.values()] == [False, False, True]
    outage = rows["2026-11-28"]
    assert (outage["vehicle_id"], outage["scenes"], outage["vehicles"], outage["low_vehicles"]) == (
        None, 9, 3, 2,
    )  # fmt: skip
    assert outage["fix_rate_mean"] == pytest.approx((2 * sum(BAD) + sum(GOOD)) / 9)
    assert outage["reason"].startswith("gnss_outage: 2 of 3 vehicles")
    assert rows["2026-11-27"]["reason"] is None
    assert (body["by"], body["min_fix_rate"], body["outage_min_vehicles"]) == ("day", 0.9, 2)


def test_by_day_is_the_default(api, fleet):
    assert api.get(URL).json()["by"] == "day"


def test_by_vehicle_day_marks_low_vehicles(api, fleet):
    rows = api.get(URL, {"by": "vehicle_day"}).json()["results"]
    marks = {(r["day"], r["vehicle_id"]): (r["low"], r["outage"], r["flagged"]) for r in rows}
    assert marks == {
        ("2026-11-26", "veh-03"): (False, False, False),
        ("2026-11-27", "veh-01"): (True, False, True),  # low, but alone: no outage
        ("2026-11-27", "veh-02"): (False, False, False),
        ("2026-11-28", "veh-01"): (True, True, True),
        ("2026-11-28", "veh-02"): (True, True, True),
        ("2026-11-28", "veh-03"): (False, True, True),  # fine itself, but on an outage day
    }


def test_each_row_links_to_the_search_for_its_scenes(api, fleet):
    rows = api.get(URL, {"by": "vehicle_day"}).json()["results"]
    row = next(r for r in rows if (r["day"], r["vehicle_id"]) == ("2026-11-27", "veh-01"))
    link = urlsplit(row["url"])
    assert link.path == "/"
    # The search page's URL carries scenes/ filter names: the same query lists the scenes.
    listed = api.get(f"/api/v1/scenes/?{link.query}").json()
    assert listed["count"] == row["scenes"] == 3
    assert {s["vehicle"] for s in listed["results"]} == {"veh-01"}
    day = next(r for r in api.get(URL).json()["results"] if r["day"] == "2026-11-28")
    assert api.get(f"/api/v1/scenes/?{urlsplit(day['url']).query}").json()["count"] == 9


def test_window_by_dates_or_times(api, fleet):
    dates = api.get(URL, {"start_after": "2026-11-27", "start_before": "2026-11-27"}).json()
    assert [row["day"] for row in dates["results"]] == ["2026-11-27"]
    # A time stands for its local day: 15:30 UTC on the 27th is the 28th in Tokyo.
    times = api.get(URL, {"start_after": "2026-11-27T15:30:00Z"}).json()
    assert (times["start"], [row["day"] for row in times["results"]]) == (
        "2026-11-28", ["2026-11-28"],
    )  # fmt: skip


def test_default_window_ends_on_the_latest_day(api, fleet):
    body = api.get(URL).json()
    assert (body["start"], body["end"]) == ("2026-08-31", "2026-11-28")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "week"}, "by"),
        ({"start_after": "yesterday"}, "start_after"),
        ({"start_before": "2026-13-01"}, "start_before"),
        ({"start_after": "2026-11-28T10:00:00"}, "start_after"),  # no UTC offset
        ({"start_after": "2026-11-28", "start_before": "2026-11-01"}, "start_after"),
        ({"start_after": "2025-01-01", "start_before": "2026-11-28"}, "start_after"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_empty_catalog_reports_nothing(api):
    body = api.get(URL).json()
    assert body["results"] == []


@pytest.mark.parametrize("by", ["day", "vehicle_day"])
def test_answer_is_what_the_documented_serializer_gives(api, fleet, by):
    body = api.get(URL, {"by": by}).json()
    window = quality.report_window(first=None, last=None)
    rows = quality.gnss_report(by=by, window=window)
    links = SearchLinks()
    for row in rows:
        row["url"] = links.url(row["day"], row["vehicle_id"])
    documented = GnssReportSerializer(
        {**body, "start": window.first, "end": window.last, "results": rows}
    ).data
    assert body == json.loads(json.dumps(documented))


def test_every_bad_parameter_is_named_at_once(api):
    response = api.get(URL, {"by": "month", "start_after": "x", "start_before": "y"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"by", "start_after", "start_before"}

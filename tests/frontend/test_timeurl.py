"""Times typed into page URLs: RFC 3339, or local time in the catalog's zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from frontend.timeurl import parse_url_time

TOKYO = ZoneInfo("Asia/Tokyo")
INSTANT = datetime(2026, 11, 28, 0, 31, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    ["2026-11-28T09:31:10+09:00", "2026-11-28T00:31:10Z", "2026-11-28T09:31:10 09:00"],
)
def test_a_time_with_an_offset_is_that_instant(raw):
    parsed = parse_url_time(raw, tz=TOKYO)
    assert parsed.value == INSTANT
    assert parsed.assumed_zone is False


@pytest.mark.parametrize(
    "raw", ["2026-11-28T09:31:10", "2026-11-28 09:31:10", " 2026-11-28T09:31:10 "]
)
def test_a_time_without_an_offset_is_local_in_the_catalog_zone(raw):
    parsed = parse_url_time(raw, tz=TOKYO)
    assert parsed.value == INSTANT
    assert parsed.assumed_zone is True


def test_a_local_date_and_minute_is_enough():
    assert parse_url_time("2026-11-28T09:31", tz=TOKYO).value == INSTANT.replace(second=0)


@pytest.mark.parametrize("raw", ["", "noon", "2026-11-31T09:00", "28/11/2026 09:31"])
def test_anything_else_is_refused_with_a_message(raw):
    with pytest.raises(ValueError, match="time"):
        parse_url_time(raw, tz=TOKYO)

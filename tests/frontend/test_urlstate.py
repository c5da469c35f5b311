"""The search page's URL read back into form values (units people type, errors by field)."""

from zoneinfo import ZoneInfo

from django.http import QueryDict

from frontend.urlstate import DEFAULT_LIMIT, parse_search_url

TOKYO = ZoneInfo("Asia/Tokyo")


def parse(query: str):
    return parse_search_url(QueryDict(query), tz=TOKYO)


def test_empty_url_is_an_empty_search():
    state = parse("")
    assert state.is_empty
    assert state.limit == DEFAULT_LIMIT
    assert state.errors == {}


def test_text_and_like_are_kept():
    state = parse("text=pedestrians+crossing&like=veh-07_x")
    assert (state.text, state.like) == ("pedestrians crossing", "veh-07_x")


def test_speeds_are_shown_in_kmh():
    state = parse("max_speed_gte=10&mean_speed_lte=13.8889")
    assert state.values["max_speed_gte"] == "36"
    assert state.values["mean_speed_lte"] == "50"


def test_fix_rate_is_shown_in_percent():
    assert parse("gnss_fix_rate_gte=0.95").values["gnss_fix_rate_gte"] == "95"


def test_times_are_shown_in_the_catalog_zone():
    state = parse("start_after=2026-11-28T00:30:00Z")
    assert state.values["start_after"] == "2026-11-28T09:30"


def test_repeatable_filters_are_lists():
    assert parse("vehicle=veh-01&vehicle=veh-02").values["vehicle"] == ["veh-01", "veh-02"]


def test_place_and_boolean_filters_are_kept():
    state = parse("near=35.58,139.74,500&has_disengagement=true")
    assert state.values["near"] == "35.58,139.74,500"
    assert state.values["has_disengagement"] == "true"


def test_malformed_filter_is_named_and_kept_verbatim():
    state = parse("max_speed_gte=fast&hour_gte=7")
    assert "max_speed_gte" in state.errors
    assert state.values["max_speed_gte"] == "fast"
    assert state.values["hour_gte"] == "7"


def test_reversed_range_is_reported():
    state = parse("max_speed_gte=20&max_speed_lte=10")
    assert "max_speed_gte" in state.errors


def test_limit_out_of_range_is_reported():
    state = parse("limit=5000")
    assert state.limit == DEFAULT_LIMIT
    assert "limit" in state.errors


def test_unknown_parameters_are_ignored():
    assert parse("utm_source=chat").is_empty


def test_an_example_moment_is_kept():
    state = parse("like=veh-07_x&like_camera=rear&like_t=12.5")
    assert (state.like, state.like_camera, state.like_t) == ("veh-07_x", "rear", "12.5")
    assert state.like_moment and state.errors == {}


def test_a_scene_example_is_not_a_moment():
    assert not parse("like=veh-07_x").like_moment


def test_a_malformed_example_time_is_named():
    state = parse("like=veh-07_x&like_camera=rear&like_t=soon")
    assert "like_t" in state.errors
    assert state.like_t == "soon"


def test_an_example_moment_needs_its_scene():
    assert "like" in parse("like_camera=rear&like_t=1").errors


def test_moment_conditions_are_shown_in_the_units_people_type():
    state = parse(
        "speed_mps_gte=10&brake_gte=0.5&steering_abs_deg_gte=30&disengagement_within_s=2.5"
    )
    assert state.values["speed_mps_gte"] == "36"  # km/h
    assert state.values["brake_gte"] == "50"  # percent
    assert state.values["steering_abs_deg_gte"] == "30"
    assert state.values["disengagement_within_s"] == "2.5"
    assert state.errors == {} and not state.is_empty


def test_a_bad_moment_condition_keeps_its_text_and_names_the_field():
    state = parse("brake_gte=lots&speed_mps_gte=20&speed_mps_lte=5")
    assert state.values["brake_gte"] == "lots"
    assert set(state.errors) == {"brake_gte"}
    crossed = parse("speed_mps_gte=20&speed_mps_lte=5")
    assert "speed_mps_gte" in crossed.errors


def test_patterns_are_2_to_12():
    assert parse("text=x&patterns=4").patterns == "4"
    assert "patterns" in parse("text=x&patterns=13").errors

"""SearchRequest.from_json: what a search body may hold, and errors naming the field."""

import pytest

from catalog.errors import InvalidInput, NotFound
from embeddings.search import DEFAULT_LIMIT, LikeFrame, SearchRequest
from embeddings.search import request as request_module
from embeddings.search.request import MAX_CAMERAS
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


def errors_of(body) -> dict:
    with pytest.raises(InvalidInput) as caught:
        SearchRequest.from_json(body)
    return caught.value.errors


def test_text_alone_is_a_search():
    request = SearchRequest.from_json({"text": "  pedestrians at night "})
    assert request.text == "pedestrians at night"
    assert request.limit == DEFAULT_LIMIT and request.filters.is_empty()


@pytest.mark.parametrize("limit", [1, 500])
def test_limit_accepts_its_bounds(limit):
    assert SearchRequest.from_json({"text": "x", "limit": limit}).limit == limit


@pytest.mark.parametrize("limit", [0, 501, -3, 2.5, "10", True])
def test_limit_outside_1_to_500_names_limit(limit):
    assert "limit" in errors_of({"text": "x", "limit": limit})


@pytest.mark.parametrize("body", [{}, {"text": "   "}, {"text": None, "filters": {}}])
def test_a_search_needs_text_an_example_or_filters(body):
    assert "text" in errors_of(body)


def test_filters_alone_are_a_search():
    request = SearchRequest.from_json({"filters": {"has_disengagement": True}})
    assert request.filters.has_disengagement is True and not request.has_vector_query


def test_a_bad_filter_value_names_the_filter():
    assert "filters.max_speed_gte" in errors_of({"filters": {"max_speed_gte": "fast"}})


def test_an_unknown_filter_is_named():
    assert "filters.colour" in errors_of({"text": "x", "filters": {"colour": "red"}})


def test_an_unknown_field_is_named():
    assert "txt" in errors_of({"txt": "night"})


def test_the_body_must_be_an_object():
    assert "non_field_errors" in errors_of(["night"])


def test_text_must_be_a_string():
    assert "text" in errors_of({"text": 42})


def test_an_unknown_camera_is_rejected():
    SceneFactory(cameras={"front_wide": "s3://f/a.mp4"})
    assert "cameras" in errors_of({"text": "x", "cameras": ["moon_cam"]})


def test_known_camera_names_kept_per_process_stay_bounded():
    names = [f"cam-{i:03d}" for i in range(request_module.KNOWN_CAMERAS_MAX + 40)]
    SceneFactory(cameras={name: f"s3://f/{name}.mp4" for name in names})
    for start in range(0, len(names), MAX_CAMERAS):
        chunk = names[start : start + MAX_CAMERAS]
        assert SearchRequest.from_json({"text": "x", "cameras": chunk}).cameras == tuple(chunk)
        assert len(request_module._known_cameras) <= request_module.KNOWN_CAMERAS_MAX
    assert "cameras" in errors_of({"text": "x", "cameras": ["cam-999"]})


def test_a_known_camera_is_accepted():
    SceneFactory(cameras={"front_wide": "s3://f/a.mp4"})
    request = SearchRequest.from_json({"text": "x", "cameras": ["front_wide", "front_wide"]})
    assert request.cameras == ("front_wide",)


def test_an_unknown_like_scene_is_not_found():
    with pytest.raises(NotFound):
        SearchRequest.from_json({"like_scene": "no-such-scene"})


def test_like_frame_of_an_unknown_scene_is_not_found():
    with pytest.raises(NotFound):
        SearchRequest.from_json({"like_frame": {"scene_id": "nope", "camera": "rear", "t_s": 1}})


def test_like_frame_is_parsed():
    scene = SceneFactory()
    body = {"like_frame": {"scene_id": scene.scene_id, "camera": "rear", "t_s": 4}}
    assert SearchRequest.from_json(body).like_frame == LikeFrame(scene.scene_id, "rear", 4.0)


def test_like_frame_needs_scene_camera_and_time():
    assert "like_frame" in errors_of({"like_frame": {"scene_id": "x"}})


def test_like_frame_time_must_not_be_negative():
    body = {"like_frame": {"scene_id": "x", "camera": "rear", "t_s": -1}}
    assert "like_frame.t_s" in errors_of(body)


def test_like_scene_and_like_frame_exclude_each_other():
    scene = SceneFactory()
    body = {
        "like_scene": scene.scene_id,
        "like_frame": {"scene_id": scene.scene_id, "camera": "rear", "t_s": 0},
    }
    assert "like_frame" in errors_of(body)


@pytest.mark.parametrize("min_score", [1.5, -2, "high", True])
def test_min_score_is_a_cosine(min_score):
    assert "min_score" in errors_of({"text": "x", "min_score": min_score})


def test_all_bad_fields_are_reported_together():
    assert {"limit", "min_score"} <= set(errors_of({"text": "x", "limit": 0, "min_score": 9}))

"""Moment search end to end: manifests with known signals are ingested, their real videos
embedded, and `at_moment` conditions find exactly the moments where the car did that."""

import pytest

from catalog.ingest.service import manifest_ingest
from catalog.models import Scene
from embeddings.models import Frame
from embeddings.search import SearchRequest, run_search
from embeddings.services import scene_embed
from tests.embeddings.embed_support import video_file
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db
N = 80  # 8 s at 10 Hz; frames are sampled at t = 0, 2, 4, 6 (0.5 Hz)


def record(name: str, index: int, video_cache, **signals) -> dict:
    base = scene_record(index)
    channels = {
        "hz": 10,
        "speed_mps": [10.0] * N,
        "brake": [0.0] * N,
        "steering_angle_deg": [0.0] * N,
        "throttle": [0.2] * N,
        **signals,
    }
    return {
        **base,
        "scene_id": f"moment-{name}",
        "start_time": f"2026-11-28T10:{index:02d}:00+09:00",
        "duration_s": 8.0,
        "cameras": {
            "front_wide": video_file(video_cache, index * 10, duration_s=8.0).as_uri(),
            "rear": video_file(video_cache, index * 10 + 1, duration_s=8.0).as_uri(),
        },
        "signals": channels,
        "disengagements": [],
    }


@pytest.fixture
def fleet(video_cache, media_dir, tmp_path):
    brake = [0.9 if 55 <= i <= 65 else 0.0 for i in range(N)]
    records = [
        record("accel", 1, video_cache, speed_mps=[2.0 * i / 10 for i in range(N)]),
        record("braker", 2, video_cache, brake=brake),
        record(
            "steer",
            3,
            video_cache,
            steering_angle_deg=[-40.0 if i >= 35 else 0.0 for i in range(N)],
        ),
        {
            **record("diseng", 4, video_cache),
            "disengagements": [{"t_s": 4.0, "kind": "driver_override"}],
        },
    ]
    records += [record(f"cruise{i}", 10 + i, video_cache) for i in range(8)]
    report = manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", records)))
    assert not report.rejected
    for scene in Scene.objects.all():
        assert scene_embed(scene_pk=scene.pk).state == "done"
    return records


def search(**body) -> list[dict]:
    return run_search(SearchRequest.from_json(body)).results


def moments(results) -> list[tuple[str, float]]:
    return [(r["scene_id"], r["frame"]["t_s"]) for r in results]


def test_frames_know_the_state_at_their_time(fleet):
    frame = Frame.objects.get(scene__scene_id="moment-accel", camera="rear", t_s=4.0)
    assert frame.speed_mps == pytest.approx(8.0, abs=1e-3)
    assert frame.accel_mps2 == pytest.approx(2.0, abs=1e-3)


def test_speed_condition_alone_gives_the_earliest_qualifying_moment(fleet):
    results = search(at_moment={"speed_mps_gte": 11})
    assert [r["scene_id"] for r in results] == ["moment-accel"]
    assert results[0]["frame"]["t_s"] == 6.0
    assert results[0]["frame"]["signals"]["speed_mps"] == pytest.approx(12.0, abs=1e-3)


def test_hard_braking_is_found_at_its_moment(fleet):
    results = search(at_moment={"brake_gte": 0.5, "accel_mps2_lte": 0.5})
    assert {(sid, t) for sid, t in moments(results)} == {("moment-braker", 6.0)}


def test_steering_either_way(fleet):
    results = search(at_moment={"steering_abs_deg_gte": 30})
    assert moments(results) == [("moment-steer", 4.0)]


def test_seconds_before_a_disengagement(fleet):
    results = search(at_moment={"disengagement_within_s": 1.0})
    assert moments(results) == [("moment-diseng", 4.0)]
    assert results[0]["frame"]["signals"]["disengagement_dt_s"] == 0.0
    wider = search(at_moment={"disengagement_within_s": 2.0}, limit=10)
    assert {r["scene_id"] for r in wider} == {"moment-diseng"}


@pytest.mark.parametrize("force", ["exact", "hnsw"])
def test_text_with_a_condition_returns_only_qualifying_moments(fleet, force):
    body = {"text": "a road", "at_moment": {"speed_mps_gte": 7}, "limit": 20}
    results = run_search(SearchRequest.from_json(body), force_plan=force).results
    assert results
    for r in results:
        assert r["frame"]["signals"]["speed_mps"] >= 7
    accel = [r for r in results if r["scene_id"] == "moment-accel"]
    assert accel and accel[0]["frame"]["t_s"] in (4.0, 6.0)


def test_like_scene_with_a_condition_keeps_scenes_with_such_a_moment(fleet):
    results = search(like_scene="moment-cruise0", at_moment={"brake_gte": 0.5})
    assert moments(results) == [("moment-braker", 6.0)]


def test_scene_filters_and_moment_conditions_combine(fleet):
    body = {"filters": {"max_speed_lte": 10.5}, "at_moment": {"speed_mps_gte": 7}}
    assert "moment-accel" not in {r["scene_id"] for r in search(**body)}


def test_reingested_signals_move_the_frames_state_before_reembedding(fleet, tmp_path):
    changed = dict(next(r for r in fleet if r["scene_id"] == "moment-braker"))
    changed["signals"] = {**changed["signals"], "brake": [0.0] * N}
    manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "again.jsonl", [changed])))
    from embeddings.moments import refresh_moment_states

    # The ingest hook runs after commit; inside this test's transaction, run it directly.
    refresh_moment_states([Scene.objects.get(scene_id="moment-braker").pk])
    assert search(at_moment={"brake_gte": 0.5}) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"at_moment": {"speed_mps_gte": -1}}, "at_moment.speed_mps_gte"),
        ({"at_moment": {"brake_gte": 2}}, "at_moment.brake_gte"),
        ({"at_moment": {"speed": 3}}, "at_moment.speed"),
        ({"at_moment": {"speed_mps_gte": "fast"}}, "at_moment.speed_mps_gte"),
        ({"at_moment": {"speed_mps_gte": 9, "speed_mps_lte": 3}}, "at_moment.speed_mps_gte"),
        ({"at_moment": [1]}, "at_moment"),
    ],
)
def test_bad_conditions_name_the_condition(body, field):
    from catalog.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        SearchRequest.from_json(body)
    assert field in caught.value.errors

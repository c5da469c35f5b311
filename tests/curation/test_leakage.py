"""Leakage between two versions: known pairs for each reason among distractors."""

import pytest

from catalog.errors import InvalidInput
from curation import leakage, services
from tests.curation.helpers import make_set
from tests.curation.mining_support import at, east_track, look, mining_scene, near
from tests.embeddings.search_support import ensure_model

pytestmark = pytest.mark.django_db


def freeze(user, scenes, name):
    scene_set = make_set(user, scenes, name=name)
    return services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)


@pytest.fixture
def versions(user):
    """Train and val versions with one planted leak per reason, and clean distractors."""
    ensure_model()
    s = {}
    # Same drive: 5 minutes apart (leaks at 600 s), and 20 minutes apart (does not).
    s["drive_a"] = mining_scene(look(1), drive="veh-d_1", start=at(0))
    s["drive_b"] = mining_scene(look(2), drive="veh-d_1", start=at(5))
    s["drive_far"] = mining_scene(look(3), drive="veh-d_1", start=at(25))
    # Near-duplicates: a twin (1.0) and a 0.99 look-alike; a 0.93 look-alike does not leak.
    s["dup_a"] = mining_scene(look(4))
    s["dup_b"] = mining_scene(look(4))
    s["close_a"] = mining_scene(look(5))
    s["close_b"] = mining_scene(near(look(5), 0.99))
    s["alike_b"] = mining_scene(near(look(5), 0.93, seed=2))
    # Same place: tracks 20 m apart leak, 200 m apart do not.
    s["place_a"] = mining_scene(look(6), track=east_track(35.7, 139.5))
    s["place_b"] = mining_scene(look(7), track=east_track(35.7, 139.5, north_m=20))
    s["place_far"] = mining_scene(look(8), track=east_track(35.7, 139.5, north_m=200))
    # In both versions.
    s["shared"] = mining_scene()
    clean_a = [mining_scene(look(100 + i)) for i in range(5)]
    clean_b = [mining_scene(look(200 + i)) for i in range(5)]
    train = freeze(
        user,
        [s[k] for k in ("drive_a", "dup_a", "close_a", "place_a", "shared")] + clean_a,
        "train",
    )
    val_names = (
        "drive_b",
        "drive_far",
        "dup_b",
        "close_b",
        "alike_b",
        "place_b",
        "place_far",
        "shared",
    )
    val = freeze(user, [s[k] for k in val_names] + clean_b, "val")
    return train, val, s


def found(report):
    return {(p["a"], p["b"]): p["reasons"] for p in report.pairs}


def test_each_planted_leak_is_found_with_its_reason(versions):
    train, val, s = versions
    report = leakage.version_leakage(version=train, against=val)
    assert found(report) == {
        (s["drive_a"].scene_id, s["drive_b"].scene_id): ["same_drive"],
        (s["dup_a"].scene_id, s["dup_b"].scene_id): ["near_duplicate"],
        (s["close_a"].scene_id, s["close_b"].scene_id): ["near_duplicate"],
        (s["place_a"].scene_id, s["place_b"].scene_id): ["same_place"],
        (s["shared"].scene_id, s["shared"].scene_id): ["near_duplicate", "same_place"],
    }
    assert report.count == 5 and report.leaking_scenes == 5
    assert report.reasons == {"same_drive": 1, "near_duplicate": 3, "same_place": 2}


def test_within_s_widens_same_drive(versions):
    train, val, s = versions
    report = leakage.version_leakage(version=train, against=val, within_s=1800)
    assert found(report)[(s["drive_a"].scene_id, s["drive_far"].scene_id)] == ["same_drive"]


def test_a_lower_threshold_finds_the_look_alike(versions):
    train, val, s = versions
    report = leakage.version_leakage(version=train, against=val, min_score=0.9)
    assert (s["close_a"].scene_id, s["alike_b"].scene_id) in found(report)


def test_pairs_are_paged_in_order_and_counted(versions):
    train, val, _ = versions
    everything = leakage.version_leakage(version=train, against=val).pairs
    keys = [(p["a"], p["b"]) for p in everything]
    assert keys == sorted(keys)
    page = leakage.version_leakage(version=train, against=val, limit=2, offset=1)
    assert (page.count, page.pairs) == (5, everything[1:3])


def test_the_other_direction_swaps_a_and_b(versions):
    train, val, _ = versions
    forward = {(p["a"], p["b"]) for p in leakage.version_leakage(version=train, against=val).pairs}
    backward = {(p["b"], p["a"]) for p in leakage.version_leakage(version=val, against=train).pairs}
    assert forward == backward


def test_a_version_against_itself_is_refused(versions):
    train, _, _ = versions
    with pytest.raises(InvalidInput) as error:
        leakage.version_leakage(version=train, against=train)
    assert "against" in error.value.errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"min_score": 0.5}, "min_score"), ({"within_s": -1}, "within_s"), ({"limit": 0}, "limit"),
     ({"offset": -1}, "offset")],
)  # fmt: skip
def test_bad_parameters_name_the_field(versions, kwargs, field):
    train, val, _ = versions
    with pytest.raises(InvalidInput) as error:
        leakage.version_leakage(version=train, against=val, **kwargs)
    assert field in error.value.errors


@pytest.mark.parametrize("reference", ["12", "x:1", "999999:1"])
def test_bad_or_missing_against_names_the_field(versions, reference):
    with pytest.raises(InvalidInput) as error:
        leakage.resolve_version(reference)
    assert "against" in error.value.errors


def test_resolve_version_finds_the_version(versions):
    train, _, _ = versions
    assert leakage.resolve_version(f"{train.scene_set_id}:1") == train

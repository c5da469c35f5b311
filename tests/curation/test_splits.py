"""Splits: every item in exactly one part, linked scenes together, sizes near the
fractions, repeatable with a seed, all or nothing."""

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.errors import InvalidInput
from curation import services, splits
from curation.models import SceneSet
from tests.curation.helpers import make_set
from tests.curation.mining_support import at, east_track, look, mining_scene
from tests.embeddings.search_support import ensure_model

pytestmark = pytest.mark.django_db


def split(scene_set, user, **kwargs):
    kwargs.setdefault("parts", {"train": 0.8, "val": 0.2})
    return splits.scene_set_split(scene_set_id=scene_set.pk, actor=user, **kwargs)


def members(result) -> dict[str, set[str]]:
    return {
        part.part: set(
            SceneSet.objects.get(pk=part.id).items.values_list("scene__scene_id", flat=True)
        )
        for part in result.sets
    }


def part_of(result, scene) -> str:
    return next(p for p, ids in members(result).items() if scene.scene_id in ids)


# --- assignment (pure) -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    group=st.lists(st.integers(0, 30), min_size=1, max_size=300),
    weights=st.lists(st.integers(1, 20), min_size=2, max_size=10),
    seed=st.integers(0, 2**32 - 1),
)
def test_assignment_never_separates_a_group_and_places_every_item_once(group, weights, seed):
    _, numbered = np.unique(group, return_inverse=True)
    fractions = [w / sum(weights) for w in weights]
    parts = splits.assign_groups(numbered, fractions, seed=seed)
    assert parts.shape == numbered.shape and parts.min() >= 0 and parts.max() < len(fractions)
    for g in np.unique(numbered):
        assert len(set(parts[numbered == g].tolist())) == 1
    # Greedy by deficit: no part overshoots its target by more than the largest group.
    sizes = np.bincount(parts, minlength=len(fractions))
    targets = np.asarray(fractions) * len(numbered)
    assert np.all(sizes - targets <= np.bincount(numbered).max() + 1e-9)
    assert np.array_equal(splits.assign_groups(numbered, fractions, seed=seed), parts)


def test_singletons_follow_the_fractions_exactly():
    parts = splits.assign_groups(np.arange(1000), [0.7, 0.2, 0.1], seed=3)
    assert np.bincount(parts).tolist() == [700, 200, 100]


def test_components_are_connected_pieces_numbered_by_first_appearance():
    left, right = np.array([5, 3, 2, 4]), np.array([3, 0, 1, 4])
    assert splits.components(7, left, right).tolist() == [0, 1, 1, 0, 2, 0, 3]
    assert splits.components(3, np.array([], int), np.array([], int)).tolist() == [0, 1, 2]


# --- the service -------------------------------------------------------------------------------


@pytest.fixture
def linked(user):
    """A set of 40 scenes: one drive of 5 scenes, twins, two tracks 20 m apart, singles."""
    ensure_model()
    s = {"drive": [mining_scene(look(10 + i), drive="veh-s_1", start=at(60 * i)) for i in range(5)]}
    s["twins"] = [mining_scene(look(1)), mining_scene(look(1))]
    s["place"] = [
        mining_scene(look(2), track=east_track(35.9, 139.9)),
        mining_scene(look(3), track=east_track(35.9, 139.9, north_m=20)),
    ]
    s["single"] = [mining_scene(look(100 + i)) for i in range(31)]
    everyone = [x for group in s.values() for x in group]
    return make_set(user, everyone, name="drives"), s, everyone


def test_every_item_lands_in_exactly_one_part(user, linked):
    scene_set, _, everyone = linked
    result = split(scene_set, user)
    parts = members(result)
    assert sorted(x for ids in parts.values() for x in ids) == sorted(s.scene_id for s in everyone)
    assert [(p.part, p.name, p.count) for p in result.sets] == [
        ("train", "drives / train", len(parts["train"])),
        ("val", "drives / val", len(parts["val"])),
    ]
    assert len(parts["train"]) == 32 and len(parts["val"]) == 8


def test_a_drive_and_twins_land_together(user, linked):
    scene_set, s, _ = linked
    for seed in range(4):
        result = split(scene_set, user, seed=seed, parts={f"a{seed}": 0.5, f"b{seed}": 0.5})
        assert len({part_of(result, x) for x in s["drive"]}) == 1
        assert len({part_of(result, x) for x in s["twins"]}) == 1


def test_by_place_never_puts_tracks_within_30_m_in_two_parts(user, linked):
    scene_set, s, everyone = linked
    apart = 0
    for seed in range(6):
        plain = split(scene_set, user, seed=seed, parts={f"p{seed}": 0.5, f"q{seed}": 0.5})
        apart += part_of(plain, s["place"][0]) != part_of(plain, s["place"][1])
        placed = split(
            scene_set, user, seed=seed, by_place=True, parts={f"x{seed}": 0.5, f"y{seed}": 0.5}
        )
        where = {x: p for p, ids in members(placed).items() for x in ids}
        place = [where.get(x.scene_id) for x in s["place"]]
        assert None in place or place[0] == place[1]
        left_out = placed.as_dict()["left_out"]
        assert left_out["count"] == len(everyone) - len(where)
        assert left_out["count"] == left_out["on_borders"] + left_out["group_elsewhere"]
    assert apart  # without by_place, the two are only linked by chance


def test_the_same_seed_gives_the_same_split(user, linked):
    scene_set, _, _ = linked
    first = members(split(scene_set, user, seed=11, parts={"a": 0.5, "b": 0.5}))
    second = members(split(scene_set, user, seed=11, parts={"c": 0.5, "d": 0.5}))
    other = members(split(scene_set, user, seed=12, parts={"e": 0.5, "f": 0.5}))
    assert (first["a"], first["b"]) == (second["c"], second["d"])
    assert (first["a"], first["b"]) != (other["e"], other["f"])


def test_items_keep_their_labels_notes_and_windows(user, linked):
    scene_set, s, _ = linked
    scene = s["single"][0]
    services.scene_set_item_annotate(
        scene_set_id=scene_set.pk, actor=user, scene_id=scene.scene_id,
        note="look left", label="positive", t_start_s=2.0, t_end_s=5.0,
    )  # fmt: skip
    result = split(scene_set, user)
    target = next(p for p in result.sets if scene.scene_id in members(result)[p.part])
    item = SceneSet.objects.get(pk=target.id).items.get(scene=scene)
    assert (item.note, item.label, item.t_start_s, item.t_end_s) == (
        "look left",
        "positive",
        2.0,
        5.0,
    )
    assert item.added_by == user


def test_parts_are_owned_by_whoever_splits(user, other_user, linked):
    scene_set, _, _ = linked
    result = split(scene_set, other_user)
    assert {SceneSet.objects.get(pk=p.id).owner for p in result.sets} == {other_user}


@pytest.mark.parametrize(
    "parts",
    [
        {"train": 0.8, "val": 0.3},
        {"train": 1.0},
        {f"p{i}": 1 / 11 for i in range(11)},
        {"train": 0.5, "": 0.5},
        {"train": 0.5, "val": -0.5, "test": 1.0},
        {"x" * 65: 0.5, "val": 0.5},
        ["train", "val"],
    ],
)
def test_bad_parts_name_the_field_and_create_nothing(user, linked, parts):
    scene_set, _, _ = linked
    before = SceneSet.objects.count()
    with pytest.raises(InvalidInput) as error:
        split(scene_set, user, parts=parts)
    assert "parts" in error.value.errors and SceneSet.objects.count() == before


def test_a_name_taken_by_a_later_part_creates_no_set(user, linked):
    scene_set, _, _ = linked
    make_set(user, name="drives / val")
    before = SceneSet.objects.count()
    with pytest.raises(InvalidInput) as error:
        split(scene_set, user)
    assert "parts" in error.value.errors and SceneSet.objects.count() == before


def test_an_empty_set_cannot_be_split(user):
    with pytest.raises(InvalidInput) as error:
        split(make_set(user), user)
    assert "items" in error.value.errors


class _Rollback(Exception):
    pass


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=14),
    seed=st.integers(0, 1000),
)
def test_split_property_groups_together_every_item_once(user, plan, seed):
    """Scenes with random drives (0 = none) and footage families (0 = unique): whatever
    the links, a split keeps every linked pair in one part and places every item once."""
    ensure_model()
    try:
        with transaction.atomic():
            scenes = []
            for i, (drive, family) in enumerate(plan):
                vector = look(family) if family else look(1000 + i)
                scenes.append(mining_scene(vector, drive=f"veh-p_{drive}" if drive else None))
            scene_set = make_set(user, scenes, name=f"prop-{seed}")
            result = split(scene_set, user, seed=seed, parts={"a": 0.5, "b": 0.3, "c": 0.2})
            where = {x: p for p, ids in members(result).items() for x in ids}
            assert sorted(where) == sorted(s.scene_id for s in scenes)
            assert sum(p.count for p in result.sets) == len(scenes)
            for (d1, f1), s1 in zip(plan, scenes, strict=True):
                for (d2, f2), s2 in zip(plan, scenes, strict=True):
                    if (d1 and d1 == d2) or (f1 and f1 == f2):
                        assert where[s1.scene_id] == where[s2.scene_id]
            raise _Rollback
    except _Rollback:
        pass

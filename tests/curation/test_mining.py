"""Mining disengagements: positives at their nearest frames, hard negatives from scenes
without disengagements that pass the filters, no scene twice, labelled into a set."""

import pytest

from catalog.errors import InvalidInput, NotFound
from curation import mining
from tests.curation.helpers import make_set
from tests.curation.mining_support import look, mining_scene, near
from tests.embeddings.search_support import ensure_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    """Two scenes with disengagements (one has two), look-alikes without any, ranked by
    how close they are, a look-alike on another vehicle, and unrelated scenes."""
    ensure_model()
    left, right = look(1), look(2)
    s = {
        "pos_left": mining_scene(left, tags=["urban"], disengagements=[(3.1, "driver_override")]),
        "pos_right": mining_scene(
            right, tags=["urban"], disengagements=[(0.4, "planner"), (5.0, "driver_override")]
        ),
        "neg_left_1": mining_scene(near(left, 0.97, seed=1), tags=["urban"]),
        "neg_left_2": mining_scene(near(left, 0.9, seed=2), tags=["urban"]),
        "neg_left_3": mining_scene(near(left, 0.8, seed=3), tags=["urban"]),
        "neg_right_1": mining_scene(near(right, 0.96, seed=4), tags=["urban"]),
        "neg_right_2": mining_scene(near(right, 0.85, seed=5), tags=["urban"]),
        "alike_with_diseng": mining_scene(
            near(left, 0.99, seed=6), tags=["highway"], disengagements=[(1.0, "planner")]
        ),
        "alike_filtered_out": mining_scene(near(left, 0.99, seed=7), tags=["rural"]),
    }
    s["others"] = [mining_scene(look(100 + i), tags=["urban"]) for i in range(6)]
    return s


def mine(user, **kwargs):
    kwargs.setdefault("filters", {"tag": ["urban"]})
    return mining.mine_disengagements(actor=user, **kwargs)


def test_every_disengagement_is_a_positive_at_its_nearest_frame(user, fleet):
    result = mine(user, negatives_per_positive=0)
    positives = [
        (p["scene_id"], p["t_s"], p["kind"], p["frame"]["t_s"]) for p in result["positives"]
    ]
    assert sorted(positives) == sorted(
        [
            (fleet["pos_left"].scene_id, 3.1, "driver_override", 4.0),
            (fleet["pos_right"].scene_id, 0.4, "planner", 0.0),
            (fleet["pos_right"].scene_id, 5.0, "driver_override", 4.0),
        ]
    )
    assert result["negatives"] == []
    assert all(set(p) == {"scene_id", "t_s", "kind", "frame"} for p in result["positives"])


def test_hard_negatives_are_the_closest_scenes_without_disengagements(user, fleet):
    result = mine(user, kinds=["driver_override"], negatives_per_positive=2)
    positives = [p["scene_id"] for p in result["positives"]]
    by_positive = {}
    for n in result["negatives"]:
        assert set(n) == {"scene_id", "t_s", "score", "positive", "frame"}
        by_positive.setdefault(positives[n["positive"]], []).append(n["scene_id"])
    assert by_positive[fleet["pos_left"].scene_id] == [
        fleet["neg_left_1"].scene_id,
        fleet["neg_left_2"].scene_id,
    ]
    assert by_positive[fleet["pos_right"].scene_id] == [
        fleet["neg_right_1"].scene_id,
        fleet["neg_right_2"].scene_id,
    ]
    scores = [n["score"] for n in result["negatives"]]
    assert all(-1 <= s <= 1 for s in scores)


def test_no_scene_is_a_negative_twice(user, fleet):
    """Three positives want 5 each; the 11 urban scenes without disengagements each
    serve once, and then there are no more."""
    result = mine(user, negatives_per_positive=5)
    scene_ids = [n["scene_id"] for n in result["negatives"]]
    assert len(scene_ids) == len(set(scene_ids)) == 11
    unwanted = {
        fleet[k].scene_id
        for k in ("pos_left", "pos_right", "alike_with_diseng", "alike_filtered_out")
    }
    assert not unwanted & set(scene_ids)


def test_kinds_filter_the_positives(user, fleet):
    result = mine(user, kinds=["planner"], negatives_per_positive=0)
    assert [(p["scene_id"], p["kind"]) for p in result["positives"]] == [
        (fleet["pos_right"].scene_id, "planner")
    ]


def test_into_set_adds_labelled_items(user, fleet):
    scene_set = make_set(user)
    result = mine(user, negatives_per_positive=1, into_set=scene_set.pk)
    labels = dict(scene_set.items.values_list("scene__scene_id", "label"))
    assert {k for k, v in labels.items() if v == "positive"} == {
        p["scene_id"] for p in result["positives"]
    }
    assert {k for k, v in labels.items() if v == "negative"} == {
        n["scene_id"] for n in result["negatives"]
    }


def test_into_a_set_of_someone_else_is_refused_before_any_work(user, other_user, fleet):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        mine(user, into_set=make_set(other_user).pk)
    with pytest.raises(NotFound):
        mine(user, into_set=999_999)


def test_too_many_disengagements_ask_to_narrow_the_filters(user, fleet, monkeypatch):
    monkeypatch.setattr(mining, "MAX_MINED_POSITIVES", 2)
    with pytest.raises(InvalidInput) as error:
        mine(user)
    assert "filters" in error.value.errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"negatives_per_positive": 11}, "negatives_per_positive"),
        ({"negatives_per_positive": -1}, "negatives_per_positive"),
        ({"kinds": []}, "kinds"),
        ({"kinds": ["x" * 65]}, "kinds"),
        ({"filters": {"speed": 3}}, "filters.speed"),
        ({"into_set": "x"}, "into_set"),
    ],
)
def test_bad_input_names_the_field(user, kwargs, field):
    with pytest.raises(InvalidInput) as error:
        mine(user, **kwargs)
    assert field in error.value.errors


def test_scenes_without_vectors_are_positives_without_frames(user):
    bare = mining_scene(disengagements=[(2.0, "planner")])
    result = mine(user, filters={}, negatives_per_positive=2)
    assert result == {
        "positives": [{"scene_id": bare.scene_id, "t_s": 2.0, "kind": "planner", "frame": None}],
        "negatives": [],
    }

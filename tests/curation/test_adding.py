"""Adding with options: every scene matching filters, dedup with its report, labels,
and samples (diverse and random) of a search or of filters."""

import pytest

from catalog.errors import InvalidInput
from curation import adding, limits
from curation.models import SceneSetItem
from tests.curation.helpers import make_set
from tests.curation.mining_support import look, mining_scene, near
from tests.embeddings.search_support import ensure_model
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


def add(scene_set, user, **kwargs):
    return adding.scene_set_add_items(scene_set_id=scene_set.pk, actor=user, **kwargs)


def items(scene_set) -> list[str]:
    return list(scene_set.items.order_by("pk").values_list("scene__scene_id", flat=True))


# --- filters -----------------------------------------------------------------------------------


def test_filters_add_every_matching_scene_server_side(user):
    fast = [SceneFactory(max_speed_mps=30.0) for _ in range(25)]
    [SceneFactory(max_speed_mps=5.0) for _ in range(10)]
    scene_set = make_set(user, [fast[0]])
    report = add(scene_set, user, filters={"max_speed_gte": 20})
    assert (report.requested, report.added, report.already_present, report.count) == (25, 24, 1, 25)
    assert set(items(scene_set)) == {s.scene_id for s in fast}
    assert (
        SceneSetItem.objects.filter(scene_set=scene_set)
        .exclude(query={"filters": {"max_speed_gte": 20}})
        .count()
        == 1
    )


def test_filters_add_needs_confirm_over_the_limit(user, settings):
    settings.CATALOG_MAX_UNCONFIRMED_SCENES = 3
    [SceneFactory() for _ in range(4)]
    scene_set = make_set(user)
    with pytest.raises(InvalidInput) as error:
        add(scene_set, user, filters={})
    assert "confirm" in error.value.errors and not scene_set.items.exists()
    assert add(scene_set, user, filters={}, confirm=True).added == 4


def test_bad_filters_name_the_filter(user):
    with pytest.raises(InvalidInput) as error:
        add(make_set(user), user, filters={"max_speed_gte": "fast"})
    assert "filters.max_speed_gte" in error.value.errors


def test_exactly_one_source(user):
    scene = SceneFactory()
    with pytest.raises(InvalidInput) as error:
        add(make_set(user), user, scene_ids=[scene.scene_id], filters={})
    assert "scene_ids" in error.value.errors


# --- labels ------------------------------------------------------------------------------------


def test_label_labels_new_items_and_unlabelled_ones_already_there(user):
    old, labelled, new = SceneFactory(), SceneFactory(), SceneFactory()
    scene_set = make_set(user, [old, labelled])
    scene_set.items.filter(scene=labelled).update(label="keep")
    report = add(
        scene_set, user, scene_ids=[old.scene_id, labelled.scene_id, new.scene_id], label="hard"
    )
    assert (report.added, report.already_present) == (1, 2)
    labels = dict(scene_set.items.values_list("scene__scene_id", "label"))
    assert labels == {old.scene_id: "hard", labelled.scene_id: "keep", new.scene_id: "hard"}


def test_filters_add_with_a_label(user):
    scenes = [SceneFactory(max_speed_mps=30.0) for _ in range(3)]
    scene_set = make_set(user)
    add(scene_set, user, filters={"max_speed_gte": 20}, label="fast")
    assert set(scene_set.items.values_list("label", flat=True)) == {"fast"}
    assert scene_set.items.count() == len(scenes)


# --- dedup -------------------------------------------------------------------------------------


@pytest.fixture
def twins():
    """Scenes a, a2 (a's twin), a3 (0.99 like a), b, b2 (b's twin), c and d (distinct)."""
    ensure_model()
    base_a, base_b = look(1), look(2)
    return {
        "a": mining_scene(base_a),
        "a2": mining_scene(base_a),
        "a3": mining_scene(near(base_a, 0.99)),
        "b": mining_scene(base_b),
        "b2": mining_scene(base_b),
        "c": mining_scene(look(3)),
        "d": mining_scene(look(4)),
    }


def ids(twins, *names):
    return [twins[n].scene_id for n in names]


def test_dedup_skips_duplicates_of_earlier_scenes_in_the_request(user, twins):
    scene_set = make_set(user)
    report = add(scene_set, user, scene_ids=ids(twins, "a", "c", "a2", "a3", "d"), dedup=True)
    assert items(scene_set) == ids(twins, "a", "c", "d")
    assert report.skipped_duplicates == [
        {"scene_id": twins["a2"].scene_id, "duplicate_of": twins["a"].scene_id},
        {"scene_id": twins["a3"].scene_id, "duplicate_of": twins["a"].scene_id},
    ]
    assert (report.added, report.skipped_duplicates_count) == (3, 2)


def test_dedup_skips_duplicates_of_items_already_in_the_set(user, twins):
    scene_set = make_set(user, [twins["b"]])
    report = add(scene_set, user, scene_ids=ids(twins, "b2", "c", "b"), dedup=True)
    assert items(scene_set) == ids(twins, "b", "c")
    assert report.skipped_duplicates == [
        {"scene_id": twins["b2"].scene_id, "duplicate_of": twins["b"].scene_id}
    ]
    assert report.already_present == 1


def test_a_skipped_scene_does_not_skip_others(user, twins):
    """a3 is 0.99 like a; a2 is a's twin. With a in the set, both are skipped for a - not
    for each other."""
    scene_set = make_set(user, [twins["a"]])
    report = add(scene_set, user, scene_ids=ids(twins, "a2", "a3"), dedup=True)
    assert [s["duplicate_of"] for s in report.skipped_duplicates] == ids(twins, "a", "a")


def test_a_stricter_threshold_keeps_close_but_not_identical_scenes(user, twins):
    scene_set = make_set(user)
    add(scene_set, user, scene_ids=ids(twins, "a", "a3", "a2"), dedup=True, dedup_min_score=0.999)
    assert items(scene_set) == ids(twins, "a", "a3")


def test_without_dedup_twins_are_all_added(user, twins):
    scene_set = make_set(user)
    report = add(scene_set, user, scene_ids=ids(twins, "a", "a2"))
    assert (report.added, report.skipped_duplicates) == (2, [])


def test_dedup_of_scenes_without_vectors_adds_them(user, twins):
    bare = [SceneFactory(), SceneFactory()]
    scene_set = make_set(user)
    report = add(scene_set, user, scene_ids=[s.scene_id for s in bare], dedup=True)
    assert report.added == 2


@pytest.mark.parametrize("score", [0.5, 1.5, "high"])
def test_dedup_threshold_outside_its_range_is_refused(user, score):
    with pytest.raises(InvalidInput) as error:
        add(
            make_set(user),
            user,
            scene_ids=[SceneFactory().scene_id],
            dedup=True,
            dedup_min_score=score,
        )
    assert "dedup_min_score" in error.value.errors


def test_reported_skips_are_bounded_but_counted(user, twins, monkeypatch):
    monkeypatch.setattr(adding, "MAX_REPORTED_SKIPS", 1)
    scene_set = make_set(user)
    report = add(scene_set, user, scene_ids=ids(twins, "a", "a2", "a3", "b", "b2"), dedup=True)
    assert (len(report.skipped_duplicates), report.skipped_duplicates_count) == (1, 3)


# --- samples -----------------------------------------------------------------------------------


@pytest.fixture
def pool():
    """Twelve tagged scenes: four footage families of three near-identical scenes each."""
    ensure_model()
    return [mining_scene(look(family), tags=["pool"]) for family in range(4) for _ in range(3)]


def test_diverse_sample_of_filters_takes_one_of_each_family(user, pool):
    scene_set = make_set(user)
    report = add(
        scene_set,
        user,
        filters={"tag": ["pool"]},
        sample={"n": 4, "strategy": "diverse", "seed": 3},
    )
    families = {pk // 3 for pk in [pool.index(s) for s in pool if s.scene_id in items(scene_set)]}
    assert report.added == 4 and families == {0, 1, 2, 3}
    assert report.sample == {
        "strategy": "diverse", "seed": 3, "n": 4, "pool": 12, "without_vector": 0, "picked": 4,
    }  # fmt: skip


def test_diverse_sample_stops_before_a_near_duplicate(user, pool):
    scene_set = make_set(user)
    report = add(
        scene_set, user, filters={"tag": ["pool"]}, sample={"n": 10, "strategy": "diverse"}
    )
    assert (report.requested, report.added) == (10, 4)


def test_diverse_sample_is_repeatable(user, pool):
    first, second = make_set(user, name="one"), make_set(user, name="two")
    for scene_set in (first, second):
        add(
            scene_set,
            user,
            filters={"tag": ["pool"]},
            sample={"n": 3, "strategy": "diverse", "seed": 7},
        )
    assert items(first) == items(second)


def test_random_sample_is_repeatable_and_seeded(user, pool):
    sets = [make_set(user, name=f"r{i}") for i in range(3)]
    for scene_set, seed in zip(sets, [5, 5, 6], strict=True):
        add(
            scene_set,
            user,
            filters={"tag": ["pool"]},
            sample={"n": 6, "strategy": "random", "seed": seed},
        )
    assert items(sets[0]) == items(sets[1]) and len(items(sets[0])) == 6
    assert items(sets[0]) != items(sets[2])


def test_random_sample_with_dedup_walks_on_past_duplicates(user, pool):
    scene_set = make_set(user)
    report = add(
        scene_set, user, filters={"tag": ["pool"]}, dedup=True,
        sample={"n": 4, "strategy": "random", "seed": 1},
    )  # fmt: skip
    assert report.added == 4
    assert {pool.index(s) // 3 for s in pool if s.scene_id in items(scene_set)} == {0, 1, 2, 3}


def test_a_sample_leaves_out_scenes_already_in_the_set(user, pool):
    scene_set = make_set(user, pool[:3])
    report = add(scene_set, user, filters={"tag": ["pool"]}, sample={"n": 20, "strategy": "random"})
    assert (report.already_present, report.added, report.count) == (3, 9, 12)


def test_a_sample_of_a_search_may_ask_for_more_than_500_results(user, pool):
    scene_set = make_set(user)
    body = {"filters": {"tag": ["pool"]}, "limit": 2000}
    report = add(scene_set, user, search=body, sample={"n": 5, "strategy": "random"})
    assert report.sample["pool"] == 12 and report.added == 5


def test_a_plain_search_keeps_the_usual_limit(user, pool):
    with pytest.raises(InvalidInput) as error:
        add(make_set(user), user, search={"filters": {"tag": ["pool"]}, "limit": 2000})
    assert "search.limit" in error.value.errors


@pytest.mark.parametrize(
    ("sample", "field"),
    [
        ({"n": 0}, "sample.n"),
        ({"n": limits.MAX_SAMPLE + 1}, "sample.n"),
        ({"n": 2, "strategy": "best"}, "sample.strategy"),
        ({"n": 2, "seed": -1}, "sample.seed"),
        ({"n": 2, "size": 3}, "sample.size"),
    ],
)
def test_bad_samples_name_the_field(user, pool, sample, field):
    with pytest.raises(InvalidInput) as error:
        add(make_set(user), user, filters={"tag": ["pool"]}, sample=sample)
    assert field in error.value.errors


def test_a_sample_of_scene_ids_is_refused(user, pool):
    with pytest.raises(InvalidInput) as error:
        add(make_set(user), user, scene_ids=[pool[0].scene_id], sample={"n": 1})
    assert "sample" in error.value.errors

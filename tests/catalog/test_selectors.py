"""scene_summaries: the one summary of a scene that results, cards and set items show;
scene_page: a page of the scene list, whichever plan serves it."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict

from catalog import selectors
from catalog.filters import parse_query_params
from catalog.models import Disengagement
from catalog.selectors import scene_list, scene_page, scene_summaries
from tests.factories import SceneFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_summary_names_the_vehicle_drive_and_disengagements_in_time_order():
    scene = SceneFactory(disengagement_count=2, tags=["rain"], max_speed_mps=12.5)
    Disengagement.objects.create(scene=scene, t_s=9.5, kind="brake")
    Disengagement.objects.create(scene=scene, t_s=3.0, kind="driver_override")
    summary = scene_summaries(scene_pks=[scene.pk])[scene.pk]
    assert summary["scene_id"] == scene.scene_id
    assert summary["vehicle_id"] == scene.vehicle.vehicle_id
    assert summary["drive_id"] == (scene.drive.drive_id if scene.drive else None)
    assert (summary["tags"], summary["max_speed_mps"]) == (["rain"], 12.5)
    assert summary["disengagements"] == [
        {"t_s": 3.0, "kind": "driver_override"},
        {"t_s": 9.5, "kind": "brake"},
    ]


def test_only_the_asked_scenes_and_unknown_pks_ignored():
    scenes = SceneFactory.create_batch(3)
    summaries = scene_summaries(scene_pks=[scenes[0].pk, scenes[2].pk, 10**9])
    assert set(summaries) == {scenes[0].pk, scenes[2].pk}
    assert summaries[scenes[0].pk]["disengagements"] == []


@pytest.fixture
def catalog():
    """160 scenes over two days, a third of them in tied seconds; tags "a" and "b" never
    together (a filter for both looks broad to the planner and matches nothing)."""
    rng = random.Random(4)
    vehicle = VehicleFactory()
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for _ in range(160):
        start = base + timedelta(minutes=rng.choice([rng.randrange(2880), 60, 600]))
        SceneFactory(
            vehicle=vehicle, start_time=start, end_time=start + timedelta(seconds=20),
            tags=rng.choice([["a"], ["b"], ["a", "c"], []]), max_speed_mps=rng.uniform(0, 30),
        )  # fmt: skip


def expected_page(query: str, after, backward: bool, offset: int, limit: int) -> list[int]:
    rows = list(scene_list(filters=parse_query_params(QueryDict(query))).values_list(
        "start_time", "pk"))  # fmt: skip
    if backward:
        rows = [r for r in rows if after is None or r > after][::-1]
    else:
        rows = [r for r in rows if after is None or r < after]
    return [pk for _, pk in rows[offset : offset + limit]]


@pytest.mark.parametrize(
    "query",
    ["", "tag=a", "tag=c", "tag=a&tag=b", "max_speed_gte=27", "tag=a&max_speed_lte=5",
     "start_after=2026-11-01T12:00:00Z&start_before=2026-11-02T00:00:00Z&tag=b"],
)  # fmt: skip
@pytest.mark.parametrize(
    "walk",
    # (PAGE_WALK_MIN, PAGE_WALK_MAX, WALK_RISK): the planner's choice; short walks tried
    # always, which the second plan continues where they end; no walk.
    [(1_000, 50_000, 2), (3, 12, 0), (0, 0, 10**9)],
    ids=["as-planned", "short-walks", "no-walk"],
)
def test_a_page_is_the_lists_next_rows_whichever_plan_serves_it(catalog, query, walk, monkeypatch):
    for name, value in zip(("PAGE_WALK_MIN", "PAGE_WALK_MAX", "WALK_RISK"), walk, strict=True):
        monkeypatch.setattr(selectors, name, value)
    filters = parse_query_params(QueryDict(query))
    keys = list(scene_list(filters=filters).values_list("start_time", "pk"))
    rng = random.Random(query)
    for after in [None, *rng.sample(keys, min(6, len(keys)))]:
        for backward, offset, limit in itertools.product((False, True), (0, 5), (1, 7, 51)):
            page = scene_page(
                filters=filters, after=after, backward=backward, offset=offset, limit=limit
            )
            assert page.pks == expected_page(query, after, backward, offset, limit)
            if page.matches is not None or (walk[1] == 0 and after is None):
                assert after is None and page.matches == len(keys)

"""KeysetPagination over `scenes/` and a set's items: cursors that neither repeat nor
skip a row, page numbers within their bound, counts exact up to a cap then estimated."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from api.pagination import (
    MAX_OFFSET,
    KeysetPagination,
    _beyond,
    _order_of,
    _Position,
    bounded_count,
)
from catalog.filters import SceneFilters
from catalog.models import Scene
from catalog.selectors import scene_list
from curation.models import SceneSet, SceneSetItem
from tests.factories import SceneFactory, VehicleFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 28, 3, tzinfo=UTC)


def list_order() -> list[str]:
    return list(Scene.objects.order_by("-start_time", "-id").values_list("scene_id", flat=True))


def follow(api, url: str, key: str = "next") -> tuple[list[str], list[dict]]:
    """Every row id from `url` on, following `key` links; and the pages' bodies."""
    ids, bodies = [], []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        bodies.append(body)
        ids += [row["scene_id"] for row in body["results"]]
        url = body[key]
    return ids, bodies


@pytest.fixture
def scenes():
    # 23 scenes, 9 of them starting in the same second: the order's ties are broken by id.
    vehicle = VehicleFactory()
    same = [
        SceneFactory(vehicle=vehicle, start_time=NOON, end_time=NOON + timedelta(seconds=20))
        for _ in range(9)
    ]
    created = same + SceneFactory.create_batch(14, vehicle=vehicle)
    # Statistics of these rows, not of whatever an earlier test committed and analysed:
    # plans and count estimates depend on them.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_scene")
    return created


def test_following_next_visits_every_scene_once_in_list_order(api, scenes):
    ids, bodies = follow(api, "/api/v1/scenes/?page_size=4")
    assert ids == list_order()
    assert len(bodies) == 6 and bodies[0]["previous"] is None and bodies[-1]["next"] is None


def test_following_previous_walks_back_through_the_same_pages(api, scenes):
    _, forward = follow(api, "/api/v1/scenes/?page_size=4")
    _, backward = follow(api, forward[-1]["previous"], key="previous")
    pages = [[row["scene_id"] for row in body["results"]] for body in forward[:-1]]
    assert [[row["scene_id"] for row in body["results"]] for body in backward] == pages[::-1]


def test_a_scene_ingested_between_two_pages_neither_repeats_nor_shifts_the_next(api, scenes):
    first = api.get("/api/v1/scenes/?page_size=5").json()
    SceneFactory(start_time=datetime(2030, 1, 1, tzinfo=UTC))  # the newest scene of all
    second = api.get(first["next"]).json()
    expected = [s for s in list_order() if s != list_order()[0]][5:10]
    assert [row["scene_id"] for row in second["results"]] == expected


def test_links_keep_the_filters(api, scenes):
    fast = SceneFactory.create_batch(3, max_speed_mps=40)
    body = api.get("/api/v1/scenes/?max_speed_gte=30&page_size=2").json()
    assert "max_speed_gte=30" in body["next"]
    ids, _ = follow(api, body["next"])
    assert {row["scene_id"] for row in body["results"]} | set(ids) == {s.scene_id for s in fast}


def test_page_number_then_next_continues_after_that_page(api, scenes):
    third = api.get("/api/v1/scenes/?page_size=4&page=3").json()
    assert [row["scene_id"] for row in third["results"]] == list_order()[8:12]
    assert "page=" not in third["next"] and "cursor=" in third["next"]
    fourth = api.get(third["next"]).json()
    assert [row["scene_id"] for row in fourth["results"]] == list_order()[12:16]
    back = api.get(third["previous"]).json()
    assert [row["scene_id"] for row in back["results"]] == list_order()[4:8]


def test_page_number_past_the_offset_bound_is_400_saying_to_follow_next(api, scenes):
    page = MAX_OFFSET // 500 + 2  # its first row lies past the bound
    response = api.get(f"/api/v1/scenes/?page_size=500&page={page}")
    assert response.status_code == 400
    [message] = response.json()["errors"]["page"]
    assert "next" in message


def test_deepest_page_number_within_the_bound_is_read(api, scenes):
    page = MAX_OFFSET // 500 + 1  # first row exactly at the bound: read, past the end here
    response = api.get(f"/api/v1/scenes/?page_size=500&page={page}")
    assert response.status_code == 404
    beyond = api.get(f"/api/v1/scenes/?page_size=500&page={page + 1}")
    assert beyond.status_code == 400 and set(beyond.json()["errors"]) == {"page"}


@pytest.mark.parametrize("page", ["0", "-1", "two", "1.5"])
def test_malformed_page_number_is_400_naming_page(api, page):
    response = api.get(f"/api/v1/scenes/?page={page}")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"page"}


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        _b64([1, 2]),  # not an object
        _b64({"k": [5]}),  # a key of the wrong length (a set items cursor)
        _b64({"k": ["2026-11-28T09:30:00", 5]}),  # a time without an offset
        _b64({"k": ["yesterday", 5]}),
        _b64({"k": ["2026-11-28T09:30:00+09:00", "five"]}),
        _b64({"k": [None, 5]}),
        _b64({"k": ["2026-11-28T09:30:00+09:00", {"a": 1}]}),
    ],
)
def test_malformed_cursor_is_400_naming_cursor(api, scenes, cursor):
    response = api.get(f"/api/v1/scenes/?cursor={cursor}")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"cursor"}


def test_page_size_past_the_cap_is_400_naming_it(api):
    response = api.get("/api/v1/scenes/?page_size=100000")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"page_size"}


def test_count_is_exact_under_the_cap(api, scenes):
    body = api.get("/api/v1/scenes/?page_size=2").json()
    assert body["count"] == 23 and body["count_is_estimate"] is False


def test_count_over_the_cap_is_an_estimate_of_at_least_the_cap(api, scenes, monkeypatch):
    monkeypatch.setattr(KeysetPagination, "count_cap", 10)
    body = api.get("/api/v1/scenes/?page_size=2").json()
    assert body["count_is_estimate"] is True and body["count"] > 10


def test_count_far_over_the_cap_is_the_planner_estimate_without_counting(scenes):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_scene")
    count, estimated = bounded_count(scene_list(filters=SceneFilters()), cap=2)
    assert estimated and count == 23  # freshly analysed: the estimate is the row count


def test_count_that_would_take_too_long_is_the_estimate(scenes):
    slow = Scene.objects.filter(  # 23 scenes x 5 ms: over the counting budget
        RawSQL("pg_sleep(0.005) IS NOT NULL", [], output_field=BooleanField())
    ).order_by("-start_time", "-id")
    assert bounded_count(slow, cap=1000)[1] is True  # an estimate
    assert Scene.objects.count() == 23  # the connection is still usable


def test_counting_leaves_the_statement_timeout_as_it_was(scenes):
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '7s'")
        assert bounded_count(scene_list(filters=SceneFilters()), cap=1000) == (23, False)
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "7s"
        cursor.execute("SET statement_timeout = 0")


def test_first_page_holding_the_whole_list_counts_it_exactly(api, scenes, monkeypatch):
    monkeypatch.setattr(KeysetPagination, "count_cap", 1)
    body = api.get("/api/v1/scenes/?page_size=50").json()
    assert body["count"] == 23 and body["count_is_estimate"] is False


def test_filtered_count_is_exact_under_the_cap(api, scenes):
    SceneFactory.create_batch(3, max_speed_mps=40)
    body = api.get("/api/v1/scenes/?max_speed_gte=30").json()
    assert body["count"] == 3 and body["count_is_estimate"] is False


def test_deep_page_is_one_range_of_the_list_index(scenes):
    """A cursor page reads from the key on, in the order index: its cost does not grow
    with the depth (an OFFSET would read every row before the page)."""
    queryset = scene_list(filters=SceneFilters())
    after = _beyond(_order_of(queryset), _Position((NOON, 5), backward=False), "default")
    page = queryset.filter(after)[:51]
    sql, params = page.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using scene_start_id_desc" in plan
    assert "Index Cond: (ROW(start_time, id) < ROW(" in plan
    assert "Sort" not in plan


# --- set items ---------------------------------------------------------------------------


@pytest.fixture
def two_sets(user):
    """Two sets whose items were added in turn: the listing must keep them apart."""
    mine, other = (
        SceneSet.objects.create(name="mine", owner=user),
        SceneSet.objects.create(name="other", owner=user),
    )
    scenes = SceneFactory.create_batch(30)
    for i, scene in enumerate(scenes):
        SceneSetItem.objects.create(scene_set=mine if i % 3 else other, scene=scene)
    return mine, [s.scene_id for i, s in enumerate(scenes) if i % 3]


def test_set_items_pages_follow_the_order_added(api, two_sets):
    scene_set, expected = two_sets
    ids, bodies = follow(api, f"/api/v1/sets/{scene_set.pk}/items/?page_size=6")
    assert ids == expected
    assert bodies[0]["count"] == 20 and bodies[0]["count_is_estimate"] is False


def test_set_items_cursor_is_refused_by_the_scene_list(api, two_sets):
    scene_set, _ = two_sets
    body = api.get(f"/api/v1/sets/{scene_set.pk}/items/?page_size=6").json()
    cursor = body["next"].split("cursor=")[1]
    assert api.get(f"/api/v1/scenes/?cursor={cursor}").status_code == 400

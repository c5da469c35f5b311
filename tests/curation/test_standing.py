"""Standing queries: each watch looks at just the scenes that finished embedding (or
ingest, for a filters-only search), records new hits once, and adds them to its set."""

import pytest

from catalog.models import Scene
from curation import services, standing
from curation.models import Hit, SceneSetItem, StandingQuery, WatchInbox
from embeddings.models import Frame
from tests.curation.helpers import make_set
from tests.curation.standing_support import World
from tests.factories import SceneFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scheduled(monkeypatch):
    """Runs that listeners schedule are recorded, not run (Celery is eager in tests):
    each test runs the standing queries itself, when it chooses."""
    from curation.tasks import run_standing_queries

    sent = []
    monkeypatch.setattr(run_standing_queries, "apply_async", lambda *a, **kw: sent.append(kw))
    return sent


@pytest.fixture
def world():
    return World()


@pytest.fixture
def owner():
    return UserFactory()


def watch(owner, body, **settings):
    saved = services.saved_search_create(
        owner=owner, name=f"watch-{len(body)}-{id(settings)}", search=body, watch=settings
    )
    return saved


def hit_ids(saved) -> set[str]:
    return set(Hit.objects.filter(search=saved).values_list("scene__scene_id", flat=True))


def test_hits_are_recorded_only_for_the_new_scenes(world, owner):
    saved = watch(owner, {"like_scene": "example"}, min_score=0.9)
    near, _far = world.arrive(lookalikes=3, others=5)
    report = standing.standing_queries_run()
    assert hit_ids(saved) == {s.scene_id for s in near}
    assert report.hits == 3
    assert not WatchInbox.objects.exists()


def test_hits_are_added_to_the_watch_set(world, owner):
    into = make_set(owner, world.old_lookalikes[:1], name="lookalikes")
    saved = watch(owner, {"like_scene": "example"}, min_score=0.9, into_set=into.pk)
    near, _ = world.arrive(lookalikes=2, others=3)
    standing.standing_queries_run()
    items = SceneSetItem.objects.filter(scene_set=into)
    assert set(items.values_list("scene__scene_id", flat=True)) == {
        world.old_lookalikes[0].scene_id,
        *(s.scene_id for s in near),
    }
    added = items.exclude(scene=world.old_lookalikes[0]).first()
    assert (added.added_by, added.query) == (owner, saved.search)
    assert added.query_model == world.model.name


def test_a_scene_embedded_again_is_not_reported_twice(world, owner):
    saved = watch(owner, {"like_scene": "example"}, min_score=0.9)
    near, _ = world.arrive(lookalikes=2, others=1)
    standing.standing_queries_run()
    first = dict(Hit.objects.filter(search=saved).values_list("scene_id", "found_at"))
    standing.on_scenes_embedded([s.pk for s in near], world.model.name)  # same content
    assert standing.standing_queries_run().hits == 0
    assert dict(Hit.objects.filter(search=saved).values_list("scene_id", "found_at")) == first


def test_a_scene_that_changed_is_reported_again(world, owner):
    saved = watch(owner, {"like_scene": "example"}, min_score=0.9)
    near, _ = world.arrive(lookalikes=2, others=1)
    standing.standing_queries_run()
    Scene.objects.filter(pk=near[0].pk).update(content_sha256="f" * 64)  # re-ingested
    standing.on_scenes_embedded([near[0].pk], world.model.name)
    report = standing.standing_queries_run()
    assert report.hits == 1
    assert Hit.objects.get(search=saved, scene=near[0]).content_sha256 == "f" * 64


def test_every_watch_runs_once_per_batch(world, owner):
    searches = [
        watch(owner, {"like_scene": "example", "limit": 10 + i}, min_score=0.9) for i in range(3)
    ]
    world.arrive(lookalikes=2, others=2)
    world.arrive(lookalikes=1, others=2)
    report = standing.standing_queries_run()
    assert report.searches == 3
    assert all(len(hit_ids(saved)) == 3 for saved in searches)


def test_a_watch_without_min_score_uses_the_search_limit(world, owner):
    saved = watch(owner, {"like_scene": "example", "limit": 2})
    world.arrive(lookalikes=1, others=4)
    standing.standing_queries_run()
    assert len(hit_ids(saved)) == 2


def test_a_filters_only_watch_runs_when_scenes_land(world, owner):
    saved = watch(owner, {"filters": {"tag": ["rain"]}})
    assert saved.watch.runs_on == StandingQuery.RunsOn.INGESTED
    wet = SceneFactory(tags=["rain"])
    dry = SceneFactory(tags=[])
    standing.on_scenes_changed([wet.pk, dry.pk])
    standing.standing_queries_run()
    assert hit_ids(saved) == {wet.scene_id}
    # The same scenes finishing embedding later are not its business.
    standing.on_scenes_embedded([wet.pk, dry.pk], world.model.name)
    assert standing.standing_queries_run().searches == 0


def test_a_vector_watch_ignores_ingest_and_other_models(world, owner):
    watch(owner, {"like_scene": "example"}, min_score=0.9)
    lookalike = world.scene(world.centre)
    standing.on_scenes_changed([lookalike.pk])
    standing.on_scenes_embedded([lookalike.pk], "another-model/weights")
    assert not WatchInbox.objects.exists()


def test_moment_conditions_need_vectors(world, owner):
    saved = watch(owner, {"at_moment": {"speed_mps_gte": 5}})
    assert saved.watch.runs_on == StandingQuery.RunsOn.EMBEDDED
    _near, far = world.arrive(lookalikes=1, others=1)
    Frame.objects.filter(scene=far[0]).update(speed_mps=9.0)
    standing.standing_queries_run()
    assert hit_ids(saved) == {far[0].scene_id}


def test_nothing_is_noted_without_watches(world):
    world.arrive(lookalikes=1, others=1)
    assert not WatchInbox.objects.exists()


def test_a_broken_watch_does_not_stop_the_others(world, owner):
    broken = watch(owner, {"like_scene": world.old_others[0].scene_id}, min_score=0.9)
    healthy = watch(owner, {"like_scene": "example"}, min_score=0.9)
    world.old_others[0].delete()
    near, _ = world.arrive(lookalikes=1, others=1)
    report = standing.standing_queries_run()
    assert hit_ids(healthy) == {near[0].scene_id}
    assert broken.pk in report.errors
    assert "does not exist" in StandingQuery.objects.get(pk=broken.pk).last_error


def test_a_set_the_owner_may_no_longer_edit_gets_nothing(world, owner):
    colleague = UserFactory()
    shared = make_set(colleague, name="shared")
    owner.is_staff = True  # staff may edit any set when the watch is saved ...
    owner.save()
    saved = watch(owner, {"like_scene": "example"}, min_score=0.9, into_set=shared.pk)
    owner.is_staff = False  # ... and then no longer
    owner.save()
    world.arrive(lookalikes=1, others=0)
    standing.standing_queries_run()
    assert len(hit_ids(saved)) == 1
    assert not SceneSetItem.objects.filter(scene_set=shared).exists()
    assert "may no longer edit" in StandingQuery.objects.get(pk=saved.pk).last_error


def test_turning_the_watch_off_keeps_its_hits(world, owner):
    saved = watch(owner, {"like_scene": "example"}, min_score=0.9)
    world.arrive(lookalikes=1, others=0)
    standing.standing_queries_run()
    services.saved_search_update(saved_search_id=saved.pk, actor=owner, watch=None)
    world.arrive(lookalikes=1, others=0)
    standing.standing_queries_run()
    assert len(hit_ids(saved)) == 1
    assert not StandingQuery.objects.exists()


def test_one_run_is_scheduled_per_debounce_window(world, owner, settings, scheduled):
    watch(owner, {"like_scene": "example"}, min_score=0.9)
    world.arrive(lookalikes=1, others=1)
    world.arrive(lookalikes=1, others=1)
    assert [kw["countdown"] for kw in scheduled] == [settings.CATALOG_WATCH_DEBOUNCE_S]
    standing.standing_queries_run()  # the run clears the schedule ...
    world.arrive(lookalikes=1, others=0)
    assert len(scheduled) == 2  # ... so the next batch schedules the next run

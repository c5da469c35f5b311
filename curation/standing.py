"""Standing queries: every watched saved search looks at each batch of new or changed
scenes, and only at them.

1. The embeddings app reports scenes that finished embedding (`embeddings.hooks`), the
   catalog reports scenes that ingest inserted or changed (`catalog.hooks`); both after
   their transaction committed. The listeners here only note the scenes in the
   `WatchInbox` and schedule one run a few seconds later (CATALOG_WATCH_DEBOUNCE_S), so
   scenes finishing one by one are looked at in batches, and nothing here ever slows
   or fails embedding or ingest.
2. A run (`standing_queries_run`, a Celery task; beat also runs it every minute as a
   safety net) takes a batch of inbox rows, and ranks every watch over those scenes
   with `rank_search(..., scene_pks=...)`: the search API's ranking, exact over just
   their frames, whose vectors are read once per batch for all watches
   (`embeddings.search.within`), so a watch costs O(batch), not a search over the
   catalog. Watches needing vectors look at the embedded scenes; filters-only ones at
   the ingested scenes. Result dicts (summaries, thumbnails) are built only for the new
   hits a webhook reports; the hits endpoint builds them when read.
3. Hits (scene, matched frame, score, match) are upserted on (search, scene): new
   rows, and rows whose scene changed content since, are the new hits. They are added
   to the watch's set and posted to its webhook (a separate Celery task per post that
   retries with backoff). The batch's inbox rows are deleted in the transaction that
   records its hits: a run that dies leaves them for the next run.
"""

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.errors import InvalidInput, NotFound
from curation import webhooks
from curation.access import can_edit
from curation.models import (
    SceneSet,
    SceneSetItem,
    StandingQuery,
    WatchInbox,
    WatchRunSchedule,
)
from embeddings.encoder import EncoderUnavailable, configured_model_name
from embeddings.search import SearchRequest, within
from embeddings.search.results import Found, results
from embeddings.search.run import rank_search

logger = logging.getLogger(__name__)

# Inbox rows taken per transaction: the batch's vectors are held in memory while every
# watch runs over it (1,000 scenes x 70 frames x 512 float32: 140 MB).
BATCH_SCENES = 1000
# A scheduled run that has not started after this long was lost (its message or
# worker): the next batch schedules a new one.
SCHEDULE_STALE = timedelta(minutes=5)
WEBHOOK_MAX_RETRIES = 5
WEBHOOK_BACKOFF_S = 15  # 15, 30, 60, 120, 240 s


# --- 1. listeners --------------------------------------------------------------------------


def on_scenes_embedded(scene_pks: Sequence[int], model_name: str) -> None:
    """embeddings.hooks listener. Searches run with the configured model: scenes
    embedded with another one (a model being tried out) are not looked at."""
    if model_name == configured_model_name():
        _note(scene_pks, WatchInbox.Kind.EMBEDDED, StandingQuery.RunsOn.EMBEDDED)


def on_scenes_changed(scene_pks: Sequence[int]) -> None:
    """catalog.hooks listener: inserted or changed scenes, for filters-only watches."""
    _note(scene_pks, WatchInbox.Kind.INGESTED, StandingQuery.RunsOn.INGESTED)


def _note(scene_pks: Sequence[int], kind: str, runs_on: str) -> None:
    try:
        if not StandingQuery.objects.filter(runs_on=runs_on).exists():
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO curation_watchinbox (scene_id, kind, created_at) "
                "SELECT pk, %s, now() FROM unnest(%s::bigint[]) AS pk "
                "ON CONFLICT (scene_id, kind) DO NOTHING",
                [kind, sorted(set(scene_pks))],
            )
        schedule_run()
    except Exception:
        # Never the caller's problem; beat's periodic run picks up what was noted.
        logger.exception("standing queries: could not note %d scenes", len(scene_pks))


def schedule_run() -> bool:
    """Schedule one run in CATALOG_WATCH_DEBOUNCE_S unless one is pending already
    (True if this call scheduled it)."""
    from curation.tasks import run_standing_queries

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO curation_watchrunschedule (id, scheduled_at) VALUES (1, now()) "
            "ON CONFLICT (id) DO UPDATE SET scheduled_at = now() "
            "WHERE curation_watchrunschedule.scheduled_at IS NULL "
            "OR curation_watchrunschedule.scheduled_at < now() - %s "
            "RETURNING id",
            [SCHEDULE_STALE],
        )
        scheduled = cursor.fetchone() is not None
    if scheduled:
        run_standing_queries.apply_async(countdown=settings.CATALOG_WATCH_DEBOUNCE_S)
    return scheduled


# --- 2. runs -------------------------------------------------------------------------------


@dataclass
class RunReport:
    scenes: int = 0  # inbox rows taken
    searches: int = 0  # watch runs
    hits: int = 0  # new hits recorded
    errors: dict[int, str] = field(default_factory=dict)  # search id -> reason


def standing_queries_run(*, batch_scenes: int = BATCH_SCENES) -> RunReport:
    """Run every watch over the scenes waiting in the inbox, a batch at a time, until
    it is empty. Safe to run at any time from any number of workers (batches are taken
    with SKIP LOCKED)."""
    WatchRunSchedule.objects.filter(pk=1).update(scheduled_at=None)
    report = RunReport()
    # Every watch of a batch reads the batch's vectors from memory: loaded once.
    with within.batch_cache():
        while _run_batch(batch_scenes, report):
            pass
    if report.hits or report.errors:
        logger.info(
            "standing queries: %d scenes, %d runs, %d new hits, %d errors",
            report.scenes,
            report.searches,
            report.hits,
            len(report.errors),
        )
    return report


@transaction.atomic
def _run_batch(batch_scenes: int, report: RunReport) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM curation_watchinbox WHERE id IN (SELECT id FROM curation_watchinbox "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING scene_id, kind",
            [batch_scenes],
        )
        rows = cursor.fetchall()
    if not rows:
        return False
    report.scenes += len(rows)
    batches = {
        StandingQuery.RunsOn.EMBEDDED: sorted({pk for pk, k in rows if k == "embedded"}),
        StandingQuery.RunsOn.INGESTED: sorted({pk for pk, k in rows if k == "ingested"}),
    }
    ran = []
    watches = StandingQuery.objects.select_related("search__owner").order_by("pk")
    for watch in watches:
        scene_pks = batches[watch.runs_on]
        if not scene_pks:
            continue
        report.searches += 1
        try:
            with transaction.atomic():
                report.hits += watch_run(watch, scene_pks)
            ran.append(watch.pk)
        except (InvalidInput, NotFound, EncoderUnavailable) as exc:
            # The search can no longer run (its example scene was deleted, the model's
            # weights are missing): its owner sees why on the watch.
            report.errors[watch.pk] = _record_error(watch, str(exc))
        except Exception as exc:
            logger.exception("standing query %s failed", watch.pk)
            report.errors[watch.pk] = _record_error(watch, f"internal error: {exc}")
    StandingQuery.objects.filter(pk__in=ran).update(last_run_at=timezone.now())
    return True


def _record_error(watch: StandingQuery, error: str) -> str:
    StandingQuery.objects.filter(pk=watch.pk).update(
        last_run_at=timezone.now(), last_error=error[:1000]
    )
    return error


def watch_run(watch: StandingQuery, scene_pks: Sequence[int]) -> int:
    """Run one watch over `scene_pks`, record its new hits, add them to its set and
    queue its webhook post; returns how many hits are new."""
    saved = watch.search
    request = SearchRequest.from_json(saved.search)
    if watch.min_score is not None:
        request = replace(request, min_score=watch.min_score)
    ranking = rank_search(replace(request, patterns=None), scene_pks=scene_pks)
    new = _record_hits(saved.pk, ranking.found)
    error = ""
    if new and watch.into_set_id is not None:
        model = ranking.model.name if ranking.model and request.has_vector_query else ""
        error = _add_to_set(watch, [found.scene_pk for found, _, _ in new], model)
    if new and watch.webhook_url:
        found_at = {scene_id: at for _, scene_id, at in new}
        shown = results([found for found, _, _ in new], cameras=request.cameras)
        hits = [{**r, "found_at": found_at[r["scene_id"]]} for r in shown]
        body = webhooks.payload(search_id=saved.pk, search_name=saved.name, results=hits)
        transaction.on_commit(functools.partial(_send, search_id=saved.pk, body=body))
    if error != watch.last_error:
        StandingQuery.objects.filter(pk=watch.pk).update(last_error=error)
    return len(new)


_UPSERT_HITS = """
    INSERT INTO curation_hit (search_id, scene_id, frame_id, score, match, content_sha256, found_at)
    SELECT %s, s.id, r.frame_id, r.score, r.match, s.content_sha256, statement_timestamp()
    FROM unnest(%s::bigint[], %s::bigint[], %s::float8[], %s::jsonb[])
         AS r(scene_id, frame_id, score, match)
    JOIN catalog_scene s ON s.id = r.scene_id
    ON CONFLICT (search_id, scene_id) DO UPDATE
    SET frame_id = EXCLUDED.frame_id, score = EXCLUDED.score, match = EXCLUDED.match,
        content_sha256 = EXCLUDED.content_sha256, found_at = EXCLUDED.found_at
    WHERE curation_hit.content_sha256 <> EXCLUDED.content_sha256
    RETURNING scene_id, (SELECT scene_id FROM catalog_scene WHERE id = curation_hit.scene_id),
              found_at
"""


def _record_hits(search_id: int, found: list[Found]) -> list[tuple[Found, str, object]]:
    """Upsert what the search found as hits; the rows that are new hits (a new scene, or
    content changed since it was found), in the search's order, each with its scene id
    and found_at."""
    if not found:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_HITS,
            [
                search_id,
                [f.scene_pk for f in found],
                [f.frame_id for f in found],
                [f.score for f in found],
                [json.dumps(f.match) for f in found],
            ],
        )
        new = {pk: (scene_id, at) for pk, scene_id, at in cursor.fetchall()}
    return [(f, *new[f.scene_pk]) for f in found if f.scene_pk in new]


def _add_to_set(watch: StandingQuery, scene_pks: list[int], model: str) -> str:
    """Add the scenes to the watch's set as its owner would; the reason if not allowed."""
    scene_set = (
        SceneSet.objects.select_for_update()
        .filter(pk=watch.into_set_id, deleted_at__isnull=True)
        .first()
    )
    owner = watch.search.owner
    if scene_set is None:
        return f"into_set: scene set {watch.into_set_id} was deleted"
    if not can_edit(owner, scene_set):
        return f"into_set: {owner.get_username()} may no longer edit scene set {scene_set.pk}"
    SceneSetItem.objects.bulk_create(
        [
            SceneSetItem(
                scene_set=scene_set,
                scene_id=pk,
                added_by=owner,
                query=watch.search.search,
                query_model=model,
            )
            for pk in scene_pks
        ],
        ignore_conflicts=True,
    )
    scene_set.save(update_fields=["updated_at"])
    return ""


# --- 3. webhooks ---------------------------------------------------------------------------


def _send(*, search_id: int, body: dict) -> None:
    from curation.tasks import deliver_webhook

    try:
        deliver_webhook.delay(search_id, body)
    except Exception:
        logger.exception("standing query %s: webhook post could not be queued", search_id)


def webhook_deliver(*, search_id: int, body: dict) -> int | None:
    """Post `body` to the search's current webhook: the HTTP status, or None when the
    watch or its webhook is gone (the post is dropped). Raises webhooks.DeliveryFailed."""
    url = (
        StandingQuery.objects.filter(search_id=search_id)
        .values_list("webhook_url", flat=True)
        .first()
    )
    if not url:
        return None
    return webhooks.post(url, body)

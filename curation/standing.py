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
   catalog. Before ranking, the batch is primed for all watches at once: their filters
   in one query, their distances in one matrix product, their words against the tags
   in one query. Hits of all watches are upserted in one statement. Watches needing
   vectors look at the embedded scenes; filters-only ones at the ingested scenes.
   Result dicts (summaries, thumbnails) are built only for the new hits a webhook
   reports; the hits endpoint builds them when read.
3. Hits (scene, matched frame, score, match) are upserted on (search, scene): new
   rows, and rows whose scene changed content since, are the new hits. They are added
   to the watch's set and posted to its webhook (a separate Celery task per post that
   retries with backoff). The batch's inbox rows are deleted in the transaction that
   records its hits: a run that dies leaves them for the next run.
"""

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

import orjson
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
from embeddings.search.run import example_vectors, prime_within, rank_search
from embeddings.selectors import configured_model

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
    watches = [
        watch
        for watch in StandingQuery.objects.select_related("search__owner").order_by("pk")
        if batches[watch.runs_on]
    ]
    if not watches:
        return True
    report.searches += len(watches)
    ranked, errors = _rank_all(watches, batches)
    new_hits = _record_hits({watch.search_id: ranking.found for watch, _, ranking in ranked})
    cleared = []
    for watch, request, ranking in ranked:
        new = new_hits.get(watch.search_id, [])
        report.hits += len(new)
        try:
            has_work = new and (watch.into_set_id is not None or watch.webhook_url)
            error = _deliver(watch, request, ranking, new) if has_work else ""
        except Exception as exc:
            logger.exception("standing query %s failed", watch.pk)
            errors[watch.pk] = f"internal error: {exc}"
            continue
        if error:
            errors[watch.pk] = error
        elif watch.last_error:
            cleared.append(watch.pk)
    now = timezone.now()
    StandingQuery.objects.filter(pk__in=[w.pk for w in watches]).update(last_run_at=now)
    StandingQuery.objects.filter(pk__in=cleared).update(last_error="")
    for pk, error in errors.items():
        StandingQuery.objects.filter(pk=pk).update(last_error=error[:1000])
    report.errors.update(errors)
    return True


def _rank_all(watches, batches) -> tuple[list, dict[int, str]]:
    """Every watch ranked over its batch: [(watch, request, ranking)] and, for the
    watches that could not run, search id -> why (their owners see it on the watch).

    Ranking only reads, so one savepoint serves them all: a statement that fails rolls
    back to it (a failed statement would abort the batch's transaction) and the next
    watch goes on from a fresh one."""
    model = configured_model()
    # Every example scene's vector in one query, not one per watch.
    like = {w.search.search.get("like_scene") for w in watches if isinstance(w.search.search, dict)}
    like = {scene_id for scene_id in like if isinstance(scene_id, str)}
    examples = example_vectors(like, model) if model is not None and like else {}
    requests, errors = {}, {}
    for watch in watches:
        try:
            request = SearchRequest.from_json(watch.search.search, check_references=False)
        except InvalidInput as exc:
            errors[watch.pk] = str(exc)
            continue
        if watch.min_score is not None:
            request = replace(request, min_score=watch.min_score)
        requests[watch.pk] = replace(request, patterns=None)
    ranked = []
    savepoint = transaction.savepoint()
    if model is not None:
        # Every watch's filters over its batch in one query, and its distances in one
        # matrix product, instead of one of each per watch. If that fails, each watch
        # evaluates its own (and says what is wrong with it).
        try:
            for runs_on, scene_pks in batches.items():
                run_here = [
                    requests[w.pk] for w in watches if w.runs_on == runs_on and w.pk in requests
                ]
                if run_here:
                    prime_within(run_here, model, scene_pks, examples)
        except Exception:
            logger.exception("standing queries: could not rank the watches together")
            transaction.savepoint_rollback(savepoint)
            savepoint = transaction.savepoint()
    for watch in watches:
        if watch.pk not in requests:
            continue
        request = requests[watch.pk]
        try:
            ranking = rank_search(
                request,
                scene_pks=batches[watch.runs_on],
                model=model,
                examples=examples,
            )
            ranked.append((watch, request, ranking))
        except (InvalidInput, NotFound, EncoderUnavailable) as exc:
            # The search can no longer run (its example scene was deleted, the model's
            # weights are missing).
            errors[watch.pk] = str(exc)
        except Exception as exc:
            logger.exception("standing query %s failed", watch.pk)
            errors[watch.pk] = f"internal error: {exc}"
            transaction.savepoint_rollback(savepoint)
            savepoint = transaction.savepoint()
    transaction.savepoint_commit(savepoint)
    return ranked, errors


def _deliver(watch: StandingQuery, request: SearchRequest, ranking, new) -> str:
    """Add a watch's new hits to its set and queue its webhook post (in a savepoint of
    its own: one watch's failure leaves the others' work); the reason when the set
    could not take them."""
    saved = watch.search
    error = ""
    with transaction.atomic():
        if watch.into_set_id is not None:
            model = ranking.model.name if ranking.model and request.has_vector_query else ""
            error = _add_to_set(watch, [found.scene_pk for found, _, _ in new], model)
        if watch.webhook_url:
            found_at = {scene_id: at for _, scene_id, at in new}
            shown = results([found for found, _, _ in new], cameras=request.cameras)
            hits = [{**r, "found_at": found_at[r["scene_id"]]} for r in shown]
            body = webhooks.payload(search_id=saved.pk, search_name=saved.name, results=hits)
            transaction.on_commit(functools.partial(_send, search_id=saved.pk, body=body))
    return error


# Upserts every watch's hits at once, from one JSON document (thousands of rows: one
# string to send instead of five arrays rendered element by element); the rows returned
# are the new hits (a new scene, or its content changed since it was found).
_UPSERT_HITS = """
    INSERT INTO curation_hit (search_id, scene_id, frame_id, score, match, content_sha256, found_at)
    SELECT r.search_id, s.id, r.frame_id, r.score, r.match, s.content_sha256, statement_timestamp()
    FROM jsonb_to_recordset(%s::jsonb)
         AS r(search_id bigint, scene_id bigint, frame_id bigint, score float8, match jsonb)
    JOIN catalog_scene s ON s.id = r.scene_id
    ON CONFLICT (search_id, scene_id) DO UPDATE
    SET frame_id = EXCLUDED.frame_id, score = EXCLUDED.score, match = EXCLUDED.match,
        content_sha256 = EXCLUDED.content_sha256, found_at = EXCLUDED.found_at
    WHERE curation_hit.content_sha256 <> EXCLUDED.content_sha256
    RETURNING search_id, scene_id,
              (SELECT scene_id FROM catalog_scene WHERE id = curation_hit.scene_id), found_at
"""


def _record_hits(found_by_search: dict[int, list[Found]]) -> dict[int, list]:
    """Upsert what each search found as hits, in one statement; per search, the new hits
    in the search's order, each as (found, scene id, found_at)."""
    rows = [(sid, f) for sid, found in found_by_search.items() for f in found]
    if not rows:
        return {}
    document = orjson.dumps(
        [
            {
                "search_id": sid,
                "scene_id": f.scene_pk,
                "frame_id": f.frame_id,
                "score": f.score,
                "match": f.match,
            }
            for sid, f in rows
        ],
        option=orjson.OPT_SERIALIZE_NUMPY,
    ).decode()
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_HITS, [document])
        new = {(sid, pk): (scene_id, at) for sid, pk, scene_id, at in cursor.fetchall()}
    out: dict[int, list] = {}
    for sid, f in rows:
        if (sid, f.scene_pk) in new:
            out.setdefault(sid, []).append((f, *new[sid, f.scene_pk]))
    return out


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

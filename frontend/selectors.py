"""Reads only the web UI needs and no API contract covers: vocabularies for the filter
inputs, map orientation dots, and the pipeline counts of the status bar."""

from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from catalog.models import Job, Scene, Vehicle
from embeddings.encoder import get_encoder
from embeddings.selectors import embedding_backlog

# Tag suggestions come from the newest scenes only: a DISTINCT over every scene's tags
# would read the whole table on each page view at 10^6 scenes.
TAG_SAMPLE_SCENES = 5000
MAX_SUGGESTIONS = 200
# The status bar polls; counting 10^6 embedding states costs ~100 ms, so share one
# answer between users for a few seconds.
STATUS_CACHE_S = 10
FAILED_JOBS_WINDOW = timedelta(hours=24)


def vehicle_ids() -> list[str]:
    return list(
        Vehicle.objects.order_by("vehicle_id").values_list("vehicle_id", flat=True)[
            :MAX_SUGGESTIONS
        ]
    )


def recent_tags() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tag FROM (SELECT tags FROM catalog_scene "
            "ORDER BY start_time DESC LIMIT %s) AS recent, unnest(recent.tags) AS tag "
            "ORDER BY tag LIMIT %s",
            [TAG_SAMPLE_SCENES, MAX_SUGGESTIONS],
        )
        return [row[0] for row in cursor.fetchall()]


def recent_start_points(*, limit: int = 1500) -> list[tuple[float, float]]:
    """Where the newest scenes start: orientation dots for maps without tiles."""
    rows = (
        Scene.objects.filter(start_lat__isnull=False, start_lon__isnull=False)
        .order_by("-start_time")
        .values_list("start_lat", "start_lon")[:limit]
    )
    return [(round(lat, 5), round(lon, 5)) for lat, lon in rows]


def _pipeline_status() -> dict:
    backlog = embedding_backlog()
    since = timezone.now() - FAILED_JOBS_WINDOW
    jobs = Job.objects.filter(kind=Job.Kind.INGEST)
    last_error = (
        jobs.filter(state=Job.State.FAILED, updated_at__gte=since)
        .order_by("-updated_at")
        .values_list("error", flat=True)
        .first()
    )
    return {
        "scenes": backlog["total"],
        "ingest": {
            "queued": jobs.filter(state=Job.State.QUEUED).count(),
            "running": jobs.filter(state=Job.State.RUNNING).count(),
            "failed_24h": jobs.filter(state=Job.State.FAILED, updated_at__gte=since).count(),
            "last_error": (last_error or "")[:300],
        },
        "embedding": {
            "model": backlog["model"],
            "pending": backlog["pending"],
            "running": backlog["running"],
            "done": backlog["done"],
            "failed": backlog["failed"],
        },
    }


def pipeline_status() -> dict:
    """Ingestion and embedding backlog and failures, for the status bar."""
    return cache.get_or_set("frontend:pipeline-status", _pipeline_status, STATUS_CACHE_S)


def model_info() -> dict:
    """The configured CLIP model (named without loading it), and whether its similarities
    mean anything: `test-tiny` and any model without weights are random networks."""
    encoder = get_encoder()
    return {"name": encoder.model_name, "untrained": encoder.untrained}

"""Reads only the web UI needs and no API contract covers: vocabularies for the filter
inputs, card attributes and thumbnails by scene id, map orientation dots, and the
pipeline counts of the status bar."""

from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, When
from django.utils import timezone

from catalog.media import media_url
from catalog.models import Job, Scene, Vehicle
from embeddings.encoder import get_encoder
from embeddings.models import Frame
from embeddings.selectors import embedding_backlog

# Tag suggestions come from the newest scenes only: a DISTINCT over every scene's tags
# would read the whole table on each page view at 10^6 scenes.
TAG_SAMPLE_SCENES = 5000
MAX_SUGGESTIONS = 200
MAX_CARDS = 500
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


def scene_cards(*, scene_ids: list[str]) -> dict[str, dict]:
    """What a result card shows, by scene id: attributes and the first sampled frame
    (search results name a scene and its moment; scene lists and set items don't carry
    a thumbnail)."""
    ids = list(dict.fromkeys(scene_ids))[:MAX_CARDS]
    scenes = Scene.objects.filter(scene_id__in=ids).select_related("vehicle")
    cards = {
        scene.pk: {
            "scene_id": scene.scene_id,
            "vehicle": scene.vehicle.vehicle_id,
            "start_time": scene.start_time.isoformat(),
            "duration_s": scene.duration_s,
            "max_speed_mps": scene.max_speed_mps,
            "mean_speed_mps": scene.mean_speed_mps,
            "disengagement_count": scene.disengagement_count,
            "gnss_fix_rate": scene.gnss_fix_rate,
            "tags": scene.tags,
            "start_lat": scene.start_lat,
            "start_lon": scene.start_lon,
            "frame": None,
        }
        for scene in scenes
    }
    # The earliest moment, from a front camera when there is one: what a driver sees.
    first_frames = (
        Frame.objects.filter(scene_id__in=list(cards))
        .exclude(thumbnail_uri="")
        .annotate(
            side=Case(When(camera__startswith="front", then=0), default=1),
            narrow=Case(When(camera__contains="wide", then=0), default=1),
        )
        .order_by("scene_id", "t_s", "side", "narrow", "camera")
        .distinct("scene_id")
        .values("scene_id", "camera", "t_s", "thumbnail_uri")
    )
    for frame in first_frames:
        cards[frame["scene_id"]]["frame"] = {
            "camera": frame["camera"],
            "t_s": frame["t_s"],
            "thumbnail_url": media_url(frame["thumbnail_uri"]),
        }
    return {card["scene_id"]: card for card in cards.values()}


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

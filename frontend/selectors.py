"""Reads only the web UI needs and no API contract covers: vocabularies for the filter
inputs and map orientation dots. (The status bar reads `GET /api/v1/status/`.)"""

from django.db import connection

from catalog.models import Scene, Vehicle
from embeddings.encoder import get_encoder

# Tag suggestions come from the newest scenes only: a DISTINCT over every scene's tags
# would read the whole table on each page view at 10^6 scenes.
TAG_SAMPLE_SCENES = 5000
MAX_SUGGESTIONS = 200


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


def model_info() -> dict:
    """The configured CLIP model (named without loading it), and whether its similarities
    mean anything: `test-tiny` and any model without weights are random networks."""
    encoder = get_encoder()
    return {"name": encoder.model_name, "untrained": encoder.untrained}

"""`scenes/` list with filters and `scenes/<scene_id>/` detail."""

from datetime import datetime, tzinfo

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Fetched, KeysetPagination
from api.serializers import FrameSerializer, QualityFlagsField
from catalog import uris
from catalog.filters import FILTER_SPECS, FilterSpec, parse_query_params
from catalog.media import camera_urls, media_url
from catalog.models import Scene
from catalog.quality import scene_flags
from catalog.selectors import scene_get, scene_list, scene_page
from catalog.signals_data import signals_as_columns
from embeddings.selectors import representative_frames
from frontend.links import scene_page_url


class SceneRowSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    vehicle = serializers.CharField(source="vehicle.vehicle_id")
    drive = serializers.CharField(source="drive.drive_id", allow_null=True, default=None)
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    duration_s = serializers.FloatField()
    local_hour = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    max_speed_mps = serializers.FloatField(allow_null=True)
    mean_speed_mps = serializers.FloatField(allow_null=True)
    max_decel_mps2 = serializers.FloatField(allow_null=True)
    gnss_fix_rate = serializers.FloatField(allow_null=True)
    disengagement_count = serializers.IntegerField()
    start_lat = serializers.FloatField(allow_null=True)
    start_lon = serializers.FloatField(allow_null=True)
    end_lat = serializers.FloatField(allow_null=True)
    end_lon = serializers.FloatField(allow_null=True)
    camera_names = serializers.SerializerMethodField()
    quality_flags = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    frame = serializers.SerializerMethodField()

    def get_camera_names(self, scene) -> list[str]:
        return sorted(scene.cameras)

    @extend_schema_field(QualityFlagsField())
    def get_quality_flags(self, scene) -> list[str]:
        return scene_flags(gnss_fix_rate=scene.gnss_fix_rate, gnss_outage=scene.gnss_outage)

    def get_url(self, scene) -> str:
        return scene_page_url(scene.scene_id)

    @extend_schema_field(FrameSerializer(allow_null=True))
    def get_frame(self, scene) -> dict | None:
        """The moment that stands for the scene (its earliest sampled frame)."""
        return representative_frames(scene_pks=[scene.pk]).get(scene.pk)


class SceneDetailSerializer(SceneRowSerializer):
    cameras = serializers.SerializerMethodField()
    camera_uris = serializers.SerializerMethodField()
    extra = serializers.JSONField()
    track = serializers.SerializerMethodField()
    signals = serializers.SerializerMethodField()
    disengagements = serializers.SerializerMethodField()
    frames = serializers.SerializerMethodField()
    embedding = serializers.SerializerMethodField()
    manifest_uri = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_cameras(self, scene) -> dict[str, str]:
        """Camera name -> URL a browser can play (presigned or signed local link)."""
        return camera_urls(scene)

    def _shown_uri(self, uri: str) -> str | None:
        # Server paths are for staff: to others a local file is null (its video still
        # plays through `cameras`).
        request = self.context.get("request")
        staff = bool(request and request.user.is_staff)
        return uri if staff or not uris.is_local(uri) else None

    def get_manifest_uri(self, scene) -> str | None:
        """Where the scene was ingested from; a server path only for staff (null else)."""
        return self._shown_uri(scene.manifest_uri)

    def get_camera_uris(self, scene) -> dict[str, str | None]:
        """Camera name -> the video's URI (s3://...; a server path only for staff)."""
        return {name: self._shown_uri(uri) for name, uri in sorted(scene.cameras.items())}

    def get_track(self, scene) -> list[list[float]]:
        return [[lat, lon] for lat, lon in zip(scene.track_lat, scene.track_lon, strict=False)]

    def get_signals(self, scene) -> dict | None:
        signals = getattr(scene, "signals", None)
        return signals_as_columns(signals) if signals else None

    def get_disengagements(self, scene) -> list[dict]:
        return [{"t_s": d.t_s, "kind": d.kind} for d in scene.disengagements.all()]

    def get_frames(self, scene) -> list[dict]:
        from embeddings.selectors import scene_frames

        return [
            {
                "camera": f["camera"],
                "t_s": f["t_s"],
                "thumbnail_url": media_url(f["thumbnail_uri"]) if f["thumbnail_uri"] else None,
            }
            for f in scene_frames(scene)
        ]

    def get_embedding(self, scene) -> dict:
        from embeddings.selectors import scene_embedding_state

        return scene_embedding_state(scene)


def _filter_parameter(spec: FilterSpec) -> OpenApiParameter:
    kind = {"number": float, "integer": int, "boolean": bool}.get(spec.schema.get("type"), str)
    if spec.schema.get("format") == "date-time":
        kind = OpenApiTypes.DATETIME
    return OpenApiParameter(spec.name, kind, many=spec.repeatable, description=spec.description)


FILTER_PARAMETERS = [_filter_parameter(spec) for spec in FILTER_SPECS]


@extend_schema(parameters=FILTER_PARAMETERS)
class SceneListView(ListAPIView):
    """Scenes matching every filter, newest first. Pages follow `next` (a cursor) to any
    depth at the cost of the first; `count` is exact while that is cheap (up to 10,000
    matches), otherwise an estimate (`count_is_estimate`)."""

    # SceneRowSerializer documents the rows; `scene_summary` builds them from plain
    # column values, because model instances and per-field serializer calls cost more than
    # the filtered page query itself (~8 ms of a 50-row page). tests/api/test_scenes.py
    # holds the two to the same output.
    serializer_class = SceneRowSerializer
    pagination_class = KeysetPagination

    def get_queryset(self):
        return scene_list(filters=parse_query_params(self.request.query_params))

    def list(self, request, *args, **kwargs):
        filters = parse_query_params(request.query_params)

        def fetch(*, after, backward: bool, offset: int, limit: int) -> Fetched:
            page = scene_page(
                filters=filters, after=after, backward=backward, offset=offset, limit=limit
            )
            rows = {row["id"]: row for row in summary_values(page.pks)}
            return Fetched(
                [rows[pk] for pk in page.pks if pk in rows], page.matches, page.matches_estimate
            )

        page = self.paginator.paginate_queryset(
            scene_list(filters=filters), request, view=self, values=SUMMARY_VALUES, fetch=fetch
        )
        zone = timezone.get_current_timezone()
        frames = representative_frames(scene_pks=[row["id"] for row in page])
        rows = [scene_summary(row, zone, frames.get(row["id"])) for row in page]
        return self.get_paginated_response(rows)


# The columns scene_summary reads.
SUMMARY_VALUES = (
    "id", "scene_id", "vehicle__vehicle_id", "drive__drive_id", "start_time", "end_time",
    "duration_s", "local_hour", "tags", "max_speed_mps", "mean_speed_mps",
    "max_decel_mps2", "gnss_fix_rate", "disengagement_count", "start_lat", "start_lon",
    "end_lat", "end_lon", "cameras", "gnss_outage",
)  # fmt: skip


def summary_values(pks: list[int]) -> list[dict]:
    """The SUMMARY_VALUES of these scenes (in no particular order)."""
    return list(Scene.objects.filter(pk__in=pks).values(*SUMMARY_VALUES))


def scene_summary(row: dict, zone: tzinfo, frame: dict | None) -> dict:
    """What SceneRowSerializer gives for the scene whose SUMMARY_VALUES are `row`,
    with times in `zone` (the request's current time zone, as DRF uses)."""
    return {
        "scene_id": row["scene_id"],
        "vehicle": row["vehicle__vehicle_id"],
        "drive": row["drive__drive_id"],
        "start_time": _iso(row["start_time"], zone),
        "end_time": _iso(row["end_time"], zone),
        "duration_s": row["duration_s"],
        "local_hour": row["local_hour"],
        "tags": row["tags"],
        "max_speed_mps": row["max_speed_mps"],
        "mean_speed_mps": row["mean_speed_mps"],
        "max_decel_mps2": row["max_decel_mps2"],
        "gnss_fix_rate": row["gnss_fix_rate"],
        "disengagement_count": row["disengagement_count"],
        "start_lat": row["start_lat"],
        "start_lon": row["start_lon"],
        "end_lat": row["end_lat"],
        "end_lon": row["end_lon"],
        "camera_names": sorted(row["cameras"]),
        "quality_flags": scene_flags(
            gnss_fix_rate=row["gnss_fix_rate"], gnss_outage=row["gnss_outage"]
        ),
        "url": scene_page_url(row["scene_id"]),
        "frame": frame,
    }


def _iso(value: datetime, zone: tzinfo) -> str:
    """DRF's DateTimeField output: ISO 8601 in `zone`, UTC as "Z"."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class SceneDetailView(APIView):
    @extend_schema(responses=SceneDetailSerializer)
    def get(self, request, scene_id: str):
        scene = scene_get(scene_id=scene_id)
        if scene is None:
            raise Http404(f"no scene {scene_id!r}")
        return Response(SceneDetailSerializer(scene, context={"request": request}).data)

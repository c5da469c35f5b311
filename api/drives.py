"""`drives/<drive_id>/`: a vehicle's trip as one timeline of scenes, the way people share
a moment ("trip + minutes and seconds")."""

import math

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import DisengagementSerializer
from catalog.errors import InvalidInput, NotFound
from catalog.selectors import MAX_DRIVE_SCENES, drive_timeline
from frontend.links import drive_page_url


class DriveSceneSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    offset_s = serializers.FloatField(
        help_text="seconds from the start of the drive's first scene to this scene's start"
    )
    duration_s = serializers.FloatField()
    disengagements = DisengagementSerializer(
        many=True, help_text="t_s counts from this scene's start"
    )


class DriveSerializer(serializers.Serializer):
    drive_id = serializers.CharField()
    vehicle_id = serializers.CharField()
    start_time = serializers.DateTimeField(help_text="start of the drive's first scene")
    end_time = serializers.DateTimeField(help_text="end of the drive's last scene")
    duration_s = serializers.FloatField(help_text="from start_time to end_time, gaps included")
    scene_count = serializers.IntegerField(help_text="scenes in the whole drive")
    camera_names = serializers.ListField(
        child=serializers.CharField(), help_text="cameras any scene of the drive has"
    )
    from_s = serializers.FloatField(help_text="the window's start, as asked")
    truncated = serializers.BooleanField(
        help_text=f"more than {MAX_DRIVE_SCENES} scenes end after from_s: read on with "
        "from_s = the last scene's offset_s + duration_s"
    )
    scenes = DriveSceneSerializer(many=True)
    url = serializers.SerializerMethodField(help_text="the drive in the web UI")

    def get_url(self, timeline) -> str:
        return drive_page_url(timeline["drive_id"])


def _from_s(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise InvalidInput({"from_s": f"expected seconds >= 0, got {raw!r}"})
    return value


class DriveDetailView(APIView):
    @extend_schema(
        summary="A drive's scenes in time order",
        description=(
            "Scenes of the drive in time order, each placed by `offset_s` (seconds from "
            "the start of the drive's first scene). Where the car stopped recording, a "
            "scene's `offset_s + duration_s` falls short of the next scene's `offset_s`. "
            f"At most {MAX_DRIVE_SCENES} scenes per answer (24 hours of 20-second scenes "
            "is 4,320): past that, `truncated` is true and a request with a later "
            "`from_s` reads on. 404 for an unknown drive."
        ),
        parameters=[
            OpenApiParameter(
                "from_s",
                float,
                description="only scenes ending after this many seconds into the drive "
                "(offsets still count from the drive's start); default 0",
            )
        ],
        responses=DriveSerializer,
    )
    def get(self, request, drive_id: str):
        from_s = _from_s(request.query_params.get("from_s"))
        timeline = drive_timeline(drive_id=drive_id, from_s=from_s)
        if timeline is None:
            raise NotFound(f"no drive {drive_id!r}")
        return Response(DriveSerializer(timeline).data)

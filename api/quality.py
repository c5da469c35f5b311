"""`quality/gnss/`: scenes and mean GNSS fix rate per local day (and vehicle), with outage
days and low vehicle-days marked: what the data-quality review reads every morning."""

from datetime import date
from urllib.parse import urlencode

import orjson
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import APIView

from catalog import quality
from catalog.errors import InvalidInput
from catalog.filters import SceneFilters
from frontend.links import search_page_url


class GnssRowSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="local day (CATALOG_TIMEZONE)")
    vehicle_id = serializers.CharField(allow_null=True, help_text="null when by=day")
    scenes = serializers.IntegerField()
    fix_rate_mean = serializers.FloatField(
        allow_null=True, help_text="mean fix rate of the scenes with one (null: none has)"
    )
    flagged = serializers.BooleanField(
        help_text="by=day: an outage day; by=vehicle_day: the vehicle was low that day, or "
        "the day is an outage day"
    )
    reason = serializers.CharField(allow_null=True, help_text="why flagged (null if not)")
    vehicles = serializers.IntegerField(required=False, help_text="by=day: vehicles that drove")
    low_vehicles = serializers.IntegerField(
        required=False, help_text="by=day: vehicles whose mean fix rate was below the threshold"
    )
    low = serializers.BooleanField(
        required=False, help_text="by=vehicle_day: mean fix rate below the threshold"
    )
    outage = serializers.BooleanField(required=False, help_text="by=vehicle_day: an outage day")
    url = serializers.CharField(help_text="the web UI's search for these scenes")


class GnssReportSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=quality.BY_CHOICES)
    start = serializers.DateField(help_text="first day of the window")
    end = serializers.DateField(help_text="last day of the window")
    timezone = serializers.CharField()
    min_fix_rate = serializers.FloatField(help_text="CATALOG_GNSS_MIN_FIX_RATE")
    outage_min_vehicles = serializers.IntegerField(help_text="CATALOG_GNSS_OUTAGE_MIN_VEHICLES")
    results = GnssRowSerializer(many=True)


class SearchLinks:
    """The search page's URL for the scenes of a day, or of one vehicle that day. The
    day's bounds are encoded once per day, not per row: a 90-day window of a large fleet
    has ~10^4 vehicle-days."""

    def __init__(self):
        self.page = search_page_url(SceneFilters())
        self.days: dict[date, str] = {}
        self.vehicles: dict[str, str] = {}

    def url(self, day: date, vehicle_id: str | None) -> str:
        query = self.days.get(day)
        if query is None:
            start_after, start_before = quality.day_filter_bounds(day)
            bounds = SceneFilters(start_after=start_after, start_before=start_before)
            query = self.days[day] = urlencode(bounds.as_query_params())
        if vehicle_id is None:
            return f"{self.page}?{query}"
        vehicle = self.vehicles.get(vehicle_id)
        if vehicle is None:
            vehicle = self.vehicles[vehicle_id] = urlencode({"vehicle": vehicle_id})
        return f"{self.page}?{vehicle}&{query}"


_fallback = encoders.JSONEncoder()  # lazy strings and the like, as DRF renders them


class FastJSONRenderer(JSONRenderer):
    """orjson: ~10^4 vehicle-day rows render in a few milliseconds instead of ~100."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_fallback.default)


class GnssQualityView(APIView):
    """Scenes and mean GNSS fix rate per local day (`by=day`) or per vehicle and local day
    (`by=vehicle_day`), days in order. An outage day is one on which at least
    CATALOG_GNSS_OUTAGE_MIN_VEHICLES vehicles, and at least half of those that drove, had
    a mean fix rate below CATALOG_GNSS_MIN_FIX_RATE; every scene of it is flagged
    `gnss_outage`. The window is `start_after`..`start_before` (dates or RFC 3339 times,
    taken as their local days; at most 366 days); by default the 90 days up to the latest
    day with scenes."""

    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=quality.BY_CHOICES, description="default day"),
            OpenApiParameter("start_after", str, description="first day (YYYY-MM-DD or time)"),
            OpenApiParameter("start_before", str, description="last day (YYYY-MM-DD or time)"),
        ],
        responses=GnssReportSerializer,
    )
    def get(self, request):
        params = request.query_params
        by = params.get("by") or "day"
        errors = {} if by in quality.BY_CHOICES else {"by": quality.BY_ERROR}
        bounds = {}
        for name in ("start_after", "start_before"):
            try:
                bounds[name] = quality.parse_day(name, params.get(name))
            except InvalidInput as exc:
                errors.update(exc.errors)
        if errors:  # every bad parameter named at once
            raise InvalidInput(errors)
        window = quality.report_window(first=bounds["start_after"], last=bounds["start_before"])
        rows = quality.gnss_report(by=by, window=window)
        # GnssReportSerializer documents the answer; rows are built as plain values here,
        # because a serializer call per row costs more than the query (tests/api/
        # test_quality.py holds the two to the same output).
        links = SearchLinks()
        for row in rows:
            row["url"] = links.url(row["day"], row["vehicle_id"])
            row["day"] = row["day"].isoformat()
        report = {
            "by": by,
            "start": window.first.isoformat(),
            "end": window.last.isoformat(),
            "timezone": quality.timezone_name(),
            "min_fix_rate": quality.min_fix_rate(),
            "outage_min_vehicles": quality.outage_min_vehicles(),
            "results": rows,
        }
        return Response(report)

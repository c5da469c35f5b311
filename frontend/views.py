"""Pages of the web UI: thin shells that read the URL, call one selector, and hand the
rest to the page's ES module, which talks to `/api/v1/` with the session."""

import json
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from catalog import quality
from catalog.errors import InvalidInput
from catalog.filters import FILTER_NAMES, REPEATABLE
from catalog.selectors import drive_summary, scene_drive_position, scene_get, vehicle_moment
from curation import selectors as curation_selectors
from curation.access import can_edit
from embeddings.search.moments import CONDITION_NAMES
from embeddings.search.patterns import MAX_PATTERNS, MIN_PATTERNS
from frontend import selectors
from frontend.links import drive_page_url, scene_page_url
from frontend.timeurl import parse_url_time
from frontend.urlstate import DEFAULT_LIMIT, parse_search_url

MAX_SETS_LISTED = 500


def ui_config(request: HttpRequest) -> dict:
    """What every page's scripts need to know, rendered with `json_script`."""
    return {
        "api": "/api/v1/",
        "timezone": settings.CATALOG_TIMEZONE,
        "tileUrl": settings.CATALOG_MAP_TILE_URL,
        "tileAttribution": settings.CATALOG_MAP_TILE_ATTRIBUTION,
        "filterNames": list(FILTER_NAMES),
        "repeatable": list(REPEATABLE),
        "momentNames": list(CONDITION_NAMES),
        "model": selectors.model_info(),
        "user": request.user.get_username(),
    }


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"ui_config": ui_config(request), **context}, status=status)


class LoginView(auth_views.LoginView):
    template_name = "frontend/login.html"
    redirect_authenticated_user = True


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    state = parse_search_url(request.GET, tz=settings.CATALOG_TZ)
    return _page(
        request,
        "frontend/search.html",
        {
            "state": state,
            "default_limit": DEFAULT_LIMIT,
            "pattern_choices": [str(k) for k in range(MIN_PATTERNS, MAX_PATTERNS + 1)],
            "vehicles": selectors.vehicle_ids(),
            "tags": selectors.recent_tags(),
        },
    )


def _seconds(raw: str | None) -> float:
    try:
        value = float(raw or 0)
    except ValueError:
        return 0.0
    return value if value == value and value >= 0 else 0.0  # NaN fails value == value


def _rig_order(camera: str) -> tuple:
    """Front cameras first (wide, narrow, left, right), then sides, then rear: the order
    people scan a vehicle's cameras in, whatever order the manifest gave."""
    name = camera.lower()
    group = next((i for i, part in enumerate(("front", "side", "rear")) if part in name), 3)
    return (group, "wide" not in name, "narrow" not in name, "left" not in name, name)


@login_required
def scene_page(request: HttpRequest, scene_id: str) -> HttpResponse:
    scene = scene_get(scene_id=scene_id)
    if scene is None:
        raise Http404(f"no scene {scene_id!r}")
    t = min(_seconds(request.GET.get("t")), scene.duration_s)
    cameras = sorted(scene.cameras, key=_rig_order)
    camera = request.GET.get("camera", "")
    if camera not in scene.cameras:
        camera = cameras[0] if cameras else ""
    drive = scene_drive_position(scene=scene)
    return _page(
        request,
        "frontend/scene.html",
        {
            "scene": scene,
            "t": t,
            "camera": camera,
            "cameras": cameras,
            "drive": drive,
            "drive_t": drive["offset_s"] + t if drive else None,
            "quality_flags": quality.scene_flags(
                gnss_fix_rate=scene.gnss_fix_rate, gnss_outage=scene.gnss_outage
            ),
            "quality_url": _quality_url_around(quality.local_day(scene.start_time)),
        },
    )


DEFAULT_DRIVE_CAMERA = "front_wide"


@login_required
def drive_page(request: HttpRequest, drive_id: str) -> HttpResponse:
    drive = drive_summary(drive_id=drive_id)
    if drive is None:
        raise Http404(f"no drive {drive_id!r}")
    duration = (drive["end_time"] - drive["start_time"]).total_seconds()
    cameras = sorted(drive["camera_names"], key=_rig_order)
    camera = request.GET.get("camera", "")
    if camera not in cameras:
        camera = DEFAULT_DRIVE_CAMERA if DEFAULT_DRIVE_CAMERA in cameras else cameras[0]
    return _page(
        request,
        "frontend/drive.html",
        {
            "drive": drive,
            "duration": duration,
            "t": min(_seconds(request.GET.get("t")), duration),
            "camera": camera,
            "cameras": cameras,
        },
    )


@login_required
def vehicle_page(request: HttpRequest, vehicle_id: str) -> HttpResponse:
    """`?at=<time>` opens the drive (or scene) recording at that time; a time nothing
    covers gets a 404 page naming the nearest scenes on either side."""
    raw = request.GET.get("at", "")
    try:
        at = parse_url_time(raw, tz=settings.CATALOG_TZ)
    except ValueError as exc:
        context = {"vehicle_id": vehicle_id, "raw_at": raw, "error": str(exc)}
        return _page(request, "frontend/vehicle_moment.html", context, status=400)
    moment = vehicle_moment(vehicle_id=vehicle_id, at=at.value)
    scene = moment["scene"]
    if scene is not None:
        if scene["drive_id"] is not None:
            return redirect(drive_page_url(scene["drive_id"], t_s=scene["drive_t_s"]))
        return redirect(scene_page_url(scene["scene_id"], t_s=scene["t_s"]))
    context = {
        "vehicle_id": vehicle_id,
        "at": at,
        "before": moment["before"],
        "after": moment["after"],
        "before_gap_s": (at.value - moment["before"]["end_time"]).total_seconds()
        if moment["before"]
        else None,
        "after_gap_s": (moment["after"]["start_time"] - at.value).total_seconds()
        if moment["after"]
        else None,
    }
    return _page(request, "frontend/vehicle_moment.html", context, status=404)


@login_required
def sets_page(request: HttpRequest) -> HttpResponse:
    sets = curation_selectors.scene_set_list()[:MAX_SETS_LISTED]
    return _page(request, "frontend/sets.html", {"sets": sets})


@login_required
def set_page(request: HttpRequest, set_id: int) -> HttpResponse:
    scene_set = curation_selectors.scene_set_get(scene_set_id=set_id)
    return _page(
        request,
        "frontend/set_detail.html",
        {"scene_set": scene_set, "can_edit": can_edit(request.user, scene_set)},
    )


@login_required
def watches_page(request: HttpRequest) -> HttpResponse:
    """Standing queries and what they found; the page's script fetches each one's hits
    and marks those found since this browser's last visit."""
    searches = curation_selectors.standing_query_list()[:MAX_SETS_LISTED]
    rows = [
        {
            "saved": saved,
            "watch": saved.watch,
            "can_edit": can_edit(request.user, saved),
            "search_json": json.dumps(saved.search),
        }
        for saved in searches
    ]
    return _page(
        request,
        "frontend/watches.html",
        {"rows": rows, "watch_uri": settings.CATALOG_INGEST_WATCH_URI},
    )


WINDOW_PARAMS = ("start_after", "start_before")
QUALITY_CONTEXT_DAYS = 14  # days either side of a scene's day, linked from its page


def _quality_url_around(day) -> str:
    window = {
        "start_after": (day - timedelta(days=QUALITY_CONTEXT_DAYS)).isoformat(),
        "start_before": (day + timedelta(days=QUALITY_CONTEXT_DAYS)).isoformat(),
    }
    return f"{reverse('frontend:quality')}?{urlencode(window)}"


def _window_input(name: str, raw: str | None) -> tuple[str, str]:
    """A date input's value for a window bound given as a date or a time (its local day),
    with the error when it is neither (the field then shows what was typed)."""
    try:
        day = quality.parse_day(name, raw)
    except InvalidInput as exc:
        return raw or "", " ".join(exc.errors[name])
    return (day.isoformat() if day else ""), ""


@login_required
def quality_page(request: HttpRequest) -> HttpResponse:
    """The GNSS gate as a picture: fix rate per local day and vehicle, outage days marked.
    The window is in the URL (`start_after`, `start_before`, as `GET quality/gnss/`)."""
    fields = {name: _window_input(name, request.GET.get(name)) for name in WINDOW_PARAMS}
    return _page(
        request,
        "frontend/quality.html",
        {
            "window": {name: value for name, (value, _) in fields.items()},
            "window_errors": {name: error for name, (_, error) in fields.items() if error},
            "min_fix_rate": quality.min_fix_rate(),
            "outage_min_vehicles": quality.outage_min_vehicles(),
        },
    )


# Small JSON reads for the UI's own scripts, not part of the API contract.


def json_login_required(view):
    """401 in JSON for scripts, instead of a redirect to the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "not signed in"}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


@json_login_required
def places_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"points": selectors.recent_start_points()})

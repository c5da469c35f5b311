"""The search page's URL, read back into what its form shows.

The URL of `/` is the search, so that a pasted link reproduces it: `text`, `like`, `limit`
and the `GET scenes/` filter names in API units. `like` names an example scene; with
`like_camera` and `like_t` (seconds) the example is that moment of it (the search's
`like_frame`) rather than the whole scene. Validation is the catalog's
(`parse_query_params`), so the page and the API agree on what is malformed; this module
only converts valid values to the units people type (km/h, percent, local time) and keeps
malformed ones verbatim next to their error, so the form can say which field is wrong.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from catalog.errors import InvalidInput
from catalog.filters import FILTER_NAMES, REPEATABLE, parse_query_params
from embeddings.search.moments import CONDITION_NAMES, parse_at_moment
from embeddings.search.patterns import MAX_PATTERNS, MIN_PATTERNS

MPS_TO_KMH = 3.6
DEFAULT_LIMIT = 60
MAX_LIMIT = 500

# Filters shown as km/h and percent in the form; the URL and API stay in m/s and 0..1.
SPEED_PARAMS = (
    "max_speed_gte", "max_speed_lte", "mean_speed_gte", "mean_speed_lte",
    "speed_mps_gte", "speed_mps_lte",
)  # fmt: skip
PERCENT_PARAMS = ("brake_gte",)
FIX_RATE_PARAMS = ("gnss_fix_rate_gte", "gnss_fix_rate_lte", *PERCENT_PARAMS)
TIME_PARAMS = ("start_after", "start_before")


@dataclass
class SearchState:
    text: str = ""
    like: str = ""
    like_camera: str = ""
    like_t: str = ""  # as typed; an error in `errors` when it is not seconds >= 0
    limit: int = DEFAULT_LIMIT
    patterns: str = ""  # 2..12 groups by look, or "" for a plain list
    # Form field values keyed by API parameter name, in display units; repeatable
    # filters are lists.
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.text or self.like or self.values)

    @property
    def like_moment(self) -> bool:
        """The example is one moment of the `like` scene."""
        return bool(self.like and self.like_camera and self.like_t)


def _trim(number: float, digits: int = 2) -> str:
    text = f"{number:.{digits}f}".rstrip("0").rstrip(".")
    return text or "0"


def _display_value(name: str, value: object, tz: ZoneInfo) -> object:
    if name in REPEATABLE:
        return list(value)
    if name in SPEED_PARAMS:
        return _trim(value * MPS_TO_KMH, 1)
    if name in FIX_RATE_PARAMS:
        return _trim(value * 100, 1)
    if name in TIME_PARAMS:
        return _local_input(value, tz)
    if name == "has_disengagement":
        return "true" if value else "false"
    if name in ("near", "bbox"):
        return ",".join(_trim(v, 6) for v in value)
    return str(value)


def _local_input(value: datetime, tz: ZoneInfo) -> str:
    """The value of an `<input type="datetime-local">`, in the catalog's time zone."""
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _limit(raw: str | None, errors: dict[str, list[str]]) -> int:
    if not raw:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [f"expected a whole number 1..{MAX_LIMIT}"]
        return DEFAULT_LIMIT
    return limit


def parse_search_url(params, *, tz: ZoneInfo) -> SearchState:
    """`params` is the page's QueryDict. Each filter is parsed on its own so that one
    malformed field keeps the others' values; a malformed one is shown as typed."""
    values: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for name in FILTER_NAMES:
        items = [v for v in params.getlist(name) if v != ""]
        if not items:
            continue
        try:
            value = getattr(parse_query_params({name: items}), name)
        except InvalidInput as exc:
            errors.update(exc.errors)
            values[name] = items if name in REPEATABLE else items[0]
        else:
            values[name] = _display_value(name, value, tz)
    if not errors:
        try:
            parse_query_params(params)  # the checks across fields (low <= high)
        except InvalidInput as exc:
            errors.update(exc.errors)
    limit = _limit(params.get("limit"), errors)
    like = params.get("like", "").strip()
    like_camera = params.get("like_camera", "").strip()
    like_t = params.get("like_t", "").strip()
    errors.update(_like_moment_errors(like, like_camera, like_t))
    values.update(_moment_values(params, errors))
    patterns = params.get("patterns", "").strip()
    if patterns and patterns not in {str(k) for k in range(MIN_PATTERNS, MAX_PATTERNS + 1)}:
        errors["patterns"] = [f"expected a whole number {MIN_PATTERNS}..{MAX_PATTERNS}"]
    return SearchState(
        text=params.get("text", "").strip(),
        patterns=patterns,
        like=like,
        like_camera=like_camera,
        like_t=like_t,
        limit=limit,
        values=values,
        errors=errors,
    )


def _like_moment_errors(like: str, camera: str, t: str) -> dict[str, list[str]]:
    if not (camera or t):
        return {}
    if not like:
        return {"like": ["like_camera and like_t need the scene (like)"]}
    if not camera:
        return {"like_camera": ["expected the camera of the example moment"]}
    try:
        seconds = float(t)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        return {"like_t": ["expected seconds >= 0 into the example scene"]}
    return {}


def _moment_values(params, errors: dict[str, list[str]]) -> dict[str, object]:
    """The `at_moment` conditions of the URL (same names as in the API), for the form;
    errors under the bare condition name, as the form's fields are named."""
    raw = {name: params.get(name, "").strip() for name in CONDITION_NAMES}
    raw = {name: value for name, value in raw.items() if value}
    values: dict[str, object] = {}
    for name, text in raw.items():
        try:
            number = float(text)
            parse_at_moment("at_moment", {name: number})
        except (ValueError, InvalidInput) as exc:
            message = exc.errors[f"at_moment.{name}"] if isinstance(exc, InvalidInput) else None
            errors[name] = message or ["expected a number"]
            values[name] = text
            continue
        scaled = name in SPEED_PARAMS or name in PERCENT_PARAMS
        values[name] = _display_value(name, number, ZoneInfo("UTC")) if scaled else _trim(number)
    if values and not any(name in errors for name in raw):
        try:
            parse_at_moment("at_moment", {name: float(text) for name, text in raw.items()})
        except InvalidInput as exc:
            errors.update({k.removeprefix("at_moment."): v for k, v in exc.errors.items()})
    return values

"""Scene attribute filters: parsing from query strings or JSON, with errors that name the
parameter at fault. The same `SceneFilters` serves `GET scenes/`, search and the web UI,
so every entry point accepts exactly the same names and values.

`FILTER_SPECS` is the one definition of each filter: its parser, the OpenAPI schema of
its value and its description. Validation and the API documentation both come from it.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from catalog.errors import InvalidInput
from catalog.limits import (
    BBOX_MAX_SPAN_DEG,
    FILTER_VALUES_MAX,
    NEAR_RADIUS_MAX_M,
    SCENE_ID_MAX,
    SPEED_MAX_MPS,
    TIME_MAX_YEAR,
    TIME_MIN_YEAR,
)
from catalog.quality import QUALITY_CHOICES


@dataclass(frozen=True)
class SceneFilters:
    vehicle: tuple[str, ...] = ()
    drive: str | None = None
    tag: tuple[str, ...] = ()
    start_after: datetime | None = None
    start_before: datetime | None = None
    max_speed_gte: float | None = None
    max_speed_lte: float | None = None
    mean_speed_gte: float | None = None
    mean_speed_lte: float | None = None
    has_disengagement: bool | None = None
    gnss_fix_rate_gte: float | None = None
    gnss_fix_rate_lte: float | None = None
    near: tuple[float, float, float] | None = None  # lat, lon, radius_m
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    hour_gte: int | None = None
    hour_lte: int | None = None
    quality: str | None = None  # "ok" or "flagged" (catalog.quality)

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, ()) for f in fields(self))

    def as_query_params(self) -> dict[str, Any]:
        """The filters as the query parameters that would produce them (for URLs)."""
        params: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, ()):
                continue
            if f.name in REPEATABLE:
                params[f.name] = list(value)
            elif f.name in ("near", "bbox"):
                params[f.name] = ",".join(_fmt(v) for v in value)
            elif isinstance(value, datetime):
                params[f.name] = value.isoformat()
            elif isinstance(value, bool):
                params[f.name] = "true" if value else "false"
            elif isinstance(value, str):
                params[f.name] = value
            else:
                params[f.name] = _fmt(value)
        return params


def _fmt(value: float | int) -> str:
    return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))


def _number(name: str, raw: Any, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(raw, bool):
        raise InvalidInput({name: "expected a number"})
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput({name: f"expected a number, got {str(raw)[:50]!r}"}) from None
    if not math.isfinite(value):
        raise InvalidInput({name: "expected a finite number"})
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidInput({name: f"must be between {low} and {high}"})
    return value


def _hour(name: str, raw: Any) -> int:
    value = _number(name, raw, low=0, high=23)
    if not value.is_integer():
        raise InvalidInput({name: "expected a whole hour 0..23"})
    return int(value)


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    lowered = str(raw).strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidInput({name: f"expected true or false, got {raw!r}"})


def _time(name: str, raw: Any) -> datetime:
    text = str(raw).strip()
    if "T" in text and " " in text:
        # An unescaped "+09:00" in a query string arrives as " 09:00".
        text = text.replace(" ", "+")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput({name: f"expected an RFC 3339 time, got {raw!r}"}) from None
    if value.tzinfo is None:
        raise InvalidInput({name: "time needs a UTC offset, e.g. 2026-11-28T09:30:00+09:00"})
    if not TIME_MIN_YEAR <= value.year <= TIME_MAX_YEAR:
        raise InvalidInput({name: f"the year must be within {TIME_MIN_YEAR}..{TIME_MAX_YEAR}"})
    return value


def _floats(name: str, raw: Any, count: int, shape: str) -> tuple[float, ...]:
    parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    if len(parts) != count:
        raise InvalidInput({name: f"expected {shape}"})
    return tuple(_number(name, p) for p in parts)


def _strings(name: str, raw: Any) -> tuple[str, ...]:
    values = raw if isinstance(raw, list | tuple) else [raw]
    if len(values) > FILTER_VALUES_MAX:
        raise InvalidInput({name: f"at most {FILTER_VALUES_MAX} values"})
    out = []
    for value in values:
        if not isinstance(value, str) or not value.strip() or len(value) > SCENE_ID_MAX:
            raise InvalidInput({name: f"expected non-empty strings, got {value!r}"})
        out.append(value.strip())
    return tuple(dict.fromkeys(out))


def _near(raw: Any) -> tuple[float, float, float]:
    lat, lon, radius = _floats("near", raw, 3, "lat,lon,radius_m")
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise InvalidInput({"near": "lat must be within -90..90 and lon within -180..180"})
    if not 0 < radius <= NEAR_RADIUS_MAX_M:
        raise InvalidInput({"near": f"radius_m must be > 0 and <= {NEAR_RADIUS_MAX_M:.0f}"})
    return lat, lon, radius


def _bbox(raw: Any) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = _floats("bbox", raw, 4, "min_lon,min_lat,max_lon,max_lat")
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(
            {
                "bbox": "expected min_lon <= max_lon within -180..180 and "
                "min_lat <= max_lat within -90..90"
            }
        )
    if max_lon - min_lon > BBOX_MAX_SPAN_DEG or max_lat - min_lat > BBOX_MAX_SPAN_DEG:
        raise InvalidInput(
            {"bbox": f"the box may span at most {BBOX_MAX_SPAN_DEG:g} degrees each way"}
        )
    return min_lon, min_lat, max_lon, max_lat


@dataclass(frozen=True)
class FilterSpec:
    name: str
    parse: Callable[[str, Any], Any]
    schema: dict  # OpenAPI schema of one value (JSON body; query strings carry it as text)
    description: str
    repeatable: bool = False


_STRING = {"type": "string", "minLength": 1, "maxLength": SCENE_ID_MAX}
_SPEED = {"type": "number", "minimum": 0, "maximum": SPEED_MAX_MPS}
_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_HOUR = {"type": "integer", "minimum": 0, "maximum": 23}
_TIME = {"type": "string", "format": "date-time"}
_TIME_RANGE = f"years {TIME_MIN_YEAR}..{TIME_MAX_YEAR}"


def _speed(name: str, raw: Any) -> float:
    return _number(name, raw, low=0, high=SPEED_MAX_MPS)


def _rate(name: str, raw: Any) -> float:
    return _number(name, raw, low=0, high=1)


def _quality(name: str, raw: Any) -> str:
    value = raw.strip().lower() if isinstance(raw, str) else raw
    if value not in QUALITY_CHOICES:
        raise InvalidInput({name: f"expected one of {', '.join(QUALITY_CHOICES)}, got {raw!r}"})
    return value


def _drive(name: str, raw: Any) -> str:
    return _strings(name, raw if isinstance(raw, str) else [raw])[0]


FILTER_SPECS: tuple[FilterSpec, ...] = (
    FilterSpec("vehicle", _strings, _STRING, "vehicle id (repeatable: any of them)", True),
    FilterSpec("drive", _drive, _STRING, "drive (trip) id"),
    FilterSpec("tag", _strings, _STRING, "tag (repeatable: all must match)", True),
    FilterSpec(
        "start_after", _time, _TIME, f"scenes starting at or after (RFC 3339, {_TIME_RANGE})"
    ),
    FilterSpec(
        "start_before", _time, _TIME, f"scenes starting at or before (RFC 3339, {_TIME_RANGE})"
    ),
    FilterSpec("max_speed_gte", _speed, _SPEED, "highest speed in the scene >= (m/s)"),
    FilterSpec("max_speed_lte", _speed, _SPEED, "highest speed in the scene <= (m/s)"),
    FilterSpec("mean_speed_gte", _speed, _SPEED, "mean speed >= (m/s)"),
    FilterSpec("mean_speed_lte", _speed, _SPEED, "mean speed <= (m/s)"),
    FilterSpec("has_disengagement", _bool, {"type": "boolean"}, "any disengagement"),
    FilterSpec("gnss_fix_rate_gte", _rate, _RATE, "share of samples with a GNSS fix >= (0..1)"),
    FilterSpec("gnss_fix_rate_lte", _rate, _RATE, "share of samples with a GNSS fix <= (0..1)"),
    FilterSpec(
        "near",
        lambda _n, r: _near(r),
        {"type": "string", "pattern": r"^-?[\d.]+,-?[\d.]+,[\d.]+$"},
        f"lat,lon,radius_m: the track passes within radius_m (<= {NEAR_RADIUS_MAX_M:.0f})",
    ),
    FilterSpec(
        "bbox",
        lambda _n, r: _bbox(r),
        {"type": "string"},
        "min_lon,min_lat,max_lon,max_lat: the track enters the box "
        f"(at most {BBOX_MAX_SPAN_DEG:g} degrees each way)",
    ),
    FilterSpec("hour_gte", _hour, _HOUR, "local hour of the start >= (0..23)"),
    FilterSpec("hour_lte", _hour, _HOUR, "local hour of the start <= (0..23)"),
    FilterSpec(
        "quality",
        _quality,
        {"type": "string", "enum": list(QUALITY_CHOICES)},
        "GNSS gate: `ok` (no quality flag) or `flagged` (gnss_low: fix rate below "
        "CATALOG_GNSS_MIN_FIX_RATE, or gnss_outage: on a fleet-wide outage day)",
    ),
)
_SPECS = {spec.name: spec for spec in FILTER_SPECS}
assert tuple(_SPECS) == tuple(f.name for f in fields(SceneFilters)), "specs match fields"
FILTER_NAMES = tuple(_SPECS)
REPEATABLE = tuple(spec.name for spec in FILTER_SPECS if spec.repeatable)


def filters_json_schema() -> dict:
    """The OpenAPI schema of a JSON `filters` object (repeatable filters: lists)."""
    properties = {}
    for spec in FILTER_SPECS:
        schema = {**spec.schema, "description": spec.description}
        if spec.repeatable:
            schema = {
                "type": "array",
                "items": spec.schema,
                "maxItems": FILTER_VALUES_MAX,
                "description": spec.description,
            }
        properties[spec.name] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _parse(values: dict[str, Any]) -> SceneFilters:
    parsed: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, raw in values.items():
        if raw in (None, "", []):
            continue
        try:
            parsed[name] = _SPECS[name].parse(name, raw)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    result = SceneFilters(**parsed)
    _check_ranges(result)
    return result


def _check_ranges(f: SceneFilters) -> None:
    pairs = [
        ("start_after", "start_before"),
        ("max_speed_gte", "max_speed_lte"),
        ("mean_speed_gte", "mean_speed_lte"),
        ("gnss_fix_rate_gte", "gnss_fix_rate_lte"),
    ]
    for low, high in pairs:
        lo, hi = getattr(f, low), getattr(f, high)
        if lo is not None and hi is not None and lo > hi:
            raise InvalidInput({low: f"must not be greater than {high}"})


def parse_query_params(params) -> SceneFilters:
    """From a QueryDict (or a plain dict of lists/strings); unknown names are ignored so
    pages can carry their own parameters (text, page, ...) in the same query string."""
    values: dict[str, Any] = {}
    for name in FILTER_NAMES:
        if hasattr(params, "getlist"):
            items = [v for v in params.getlist(name) if v != ""]
        else:
            raw = params.get(name)
            items = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
        if not items:
            continue
        if name in REPEATABLE:
            values[name] = items
        elif len(items) > 1:
            raise InvalidInput({name: "given more than once"})
        else:
            values[name] = items[0]
    return _parse(values)


def parse_json_filters(data: Any) -> SceneFilters:
    """From a JSON object: repeatable filters are lists, the rest scalar JSON values."""
    if data is None:
        return SceneFilters()
    if not isinstance(data, dict):
        raise InvalidInput({"filters": "expected an object"})
    unknown = sorted(set(data) - set(FILTER_NAMES))
    if unknown:
        raise InvalidInput({f"filters.{name}": "unknown filter" for name in unknown})
    try:
        for name in REPEATABLE:
            if name in data and not isinstance(data[name], list | str):
                raise InvalidInput({name: "expected a list of strings"})
        return _parse(dict(data))
    except InvalidInput as exc:
        raise InvalidInput({f"filters.{k}": v for k, v in exc.errors.items()}) from None

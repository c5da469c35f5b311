"""What a search body may hold: one table of fields, from which both validation
(`SearchRequest.from_json`) and the OpenAPI schema (`request_schema`) come.

A body is JSON: `text`, `like_scene`, `like_frame`, `filters` (the names of `GET
scenes/`), `at_moment` (conditions on the moment), `cameras`, `limit`, `min_score`,
`patterns`. Errors name the field at fault
(`InvalidInput`); an example scene that does not exist is `NotFound`.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.errors import InvalidInput, NotFound
from catalog.filters import SceneFilters, filters_json_schema, parse_json_filters
from catalog.limits import CAMERA_NAME_MAX, SCENE_ID_MAX
from catalog.models import Scene
from embeddings.search.moments import MomentConditions, at_moment_schema, parse_at_moment
from embeddings.search.patterns import MAX_PATTERNS, MIN_PATTERNS

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_TEXT_CHARS = 1000
MAX_CAMERAS = 32


@dataclass(frozen=True)
class LikeFrame:
    scene_id: str
    camera: str
    t_s: float


@dataclass(frozen=True)
class SearchRequest:
    text: str | None = None
    like_scene: str | None = None
    like_frame: LikeFrame | None = None
    filters: SceneFilters = field(default_factory=SceneFilters)
    cameras: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    min_score: float | None = None
    patterns: int | None = None
    at_moment: MomentConditions | None = None

    @property
    def has_vector_query(self) -> bool:
        return bool(self.text or self.like_scene or self.like_frame)

    @classmethod
    def from_json(cls, body: Any, *, check_references: bool = True) -> "SearchRequest":
        """The request `body` describes, validated; InvalidInput names every bad field.
        `check_references`: a missing example scene or an unknown camera is an error
        now (a request being made) rather than when it runs (a stored one)."""
        if not isinstance(body, dict):
            raise InvalidInput({"non_field_errors": "expected a JSON object"})
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise InvalidInput({name: "unknown field" for name in unknown})
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name, spec in _FIELDS.items():
            try:
                values[name] = spec.parse(name, body.get(name))
            except InvalidInput as exc:
                errors.update(exc.errors)
        if errors:
            raise InvalidInput(errors)
        if values["like_scene"] and values["like_frame"]:
            raise InvalidInput({"like_frame": "give like_scene or like_frame, not both"})
        request = cls(**{k: v for k, v in values.items() if v is not None})
        if not (
            request.has_vector_query
            or not request.filters.is_empty()
            or request.cameras
            or request.at_moment
        ):
            raise InvalidInput(
                {"text": "give text, like_scene, like_frame, filters or at_moment (none given)"}
            )
        if check_references:
            _check_references(request)
        return request


# --- fields --------------------------------------------------------------------------------


def _text(name: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput({name: "expected a string"})
    if len(raw) > MAX_TEXT_CHARS:
        raise InvalidInput({name: f"at most {MAX_TEXT_CHARS} characters"})
    return raw.strip() or None


def _scene_id(name: str, raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > SCENE_ID_MAX:
        raise InvalidInput({name: "expected a scene id"})
    return raw.strip()


def _like_frame(name: str, raw: Any) -> LikeFrame | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"scene_id", "camera", "t_s"}:
        raise InvalidInput({name: 'expected {"scene_id": str, "camera": str, "t_s": number}'})
    scene_id = _scene_id(f"{name}.scene_id", raw["scene_id"])
    if not scene_id:
        raise InvalidInput({f"{name}.scene_id": "expected a scene id"})
    camera = raw["camera"]
    if not isinstance(camera, str) or not camera.strip() or len(camera) > CAMERA_NAME_MAX:
        raise InvalidInput({f"{name}.camera": "expected a camera name"})
    t_s = raw["t_s"]
    if isinstance(t_s, bool) or not isinstance(t_s, int | float) or not 0 <= t_s < math.inf:
        raise InvalidInput({f"{name}.t_s": "expected a number of seconds >= 0"})
    return LikeFrame(scene_id, camera.strip(), float(t_s))


def _filters(name: str, raw: Any) -> SceneFilters:
    return parse_json_filters(raw)


def _cameras(name: str, raw: Any) -> tuple[str, ...] | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_CAMERAS:
        raise InvalidInput({name: f"expected a list of at most {MAX_CAMERAS} camera names"})
    if any(not isinstance(c, str) or not c.strip() or len(c) > CAMERA_NAME_MAX for c in raw):
        raise InvalidInput({name: "expected camera names (non-empty strings)"})
    return tuple(dict.fromkeys(c.strip() for c in raw))


def _limit(name: str, raw: Any) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    whole = isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())
    if isinstance(raw, bool) or not whole:
        raise InvalidInput({name: f"expected a whole number 1..{MAX_LIMIT}"})
    if not 1 <= raw <= MAX_LIMIT:
        raise InvalidInput({name: f"must be between 1 and {MAX_LIMIT}"})
    return int(raw)


def _min_score(name: str, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not -1 <= raw <= 1:
        raise InvalidInput({name: "expected a cosine similarity between -1 and 1"})
    return float(raw)


def _patterns(name: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not MIN_PATTERNS <= raw <= MAX_PATTERNS:
        raise InvalidInput({name: f"expected a whole number {MIN_PATTERNS}..{MAX_PATTERNS}"})
    return raw


@dataclass(frozen=True)
class _Field:
    parse: Callable[[str, Any], Any]
    schema: Callable[[], dict]  # called when the API schema is built, not at import


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


_SCENE_ID_SCHEMA = {"type": "string", "maxLength": SCENE_ID_MAX}
_FIELDS: dict[str, _Field] = {
    "text": _Field(
        _text,
        lambda: _nullable(
            {
                "type": "string",
                "maxLength": MAX_TEXT_CHARS,
                "description": "free text, matched by CLIP against frames and against tags",
            }
        ),
    ),
    "like_scene": _Field(
        _scene_id,
        lambda: _nullable({**_SCENE_ID_SCHEMA, "description": "rank scenes like this scene"}),
    ),
    "like_frame": _Field(
        _like_frame,
        lambda: _nullable(
            {
                "type": "object",
                "description": "rank scenes by one moment: the sampled frame nearest t_s",
                "properties": {
                    "scene_id": _SCENE_ID_SCHEMA,
                    "camera": {"type": "string", "maxLength": CAMERA_NAME_MAX},
                    "t_s": {"type": "number", "minimum": 0},
                },
                "required": ["scene_id", "camera", "t_s"],
                "additionalProperties": False,
            }
        ),
    ),
    "filters": _Field(
        _filters,
        lambda: {
            **filters_json_schema(),
            "description": "the filters of GET scenes/ (repeatable ones as lists)",
        },
    ),
    "cameras": _Field(
        _cameras,
        lambda: _nullable(
            {
                "type": "array",
                "items": {"type": "string", "maxLength": CAMERA_NAME_MAX},
                "maxItems": MAX_CAMERAS,
                "description": "only frames of these cameras",
            }
        ),
    ),
    "limit": _Field(
        _limit,
        lambda: {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    "min_score": _Field(
        _min_score,
        lambda: _nullable(
            {
                "type": "number",
                "minimum": -1,
                "maximum": 1,
                "description": "drop results whose matched frame scores lower (cosine)",
            }
        ),
    ),
    "at_moment": _Field(parse_at_moment, at_moment_schema),
    "patterns": _Field(
        _patterns,
        lambda: _nullable(
            {
                "type": "integer",
                "minimum": MIN_PATTERNS,
                "maximum": MAX_PATTERNS,
                "description": "group the results into this many patterns by what they look like",
            }
        ),
    ),
}


def request_schema() -> dict:
    """The OpenAPI schema of a search body."""
    return {
        "type": "object",
        "properties": {name: spec.schema() for name, spec in _FIELDS.items()},
        "additionalProperties": False,
    }


# --- references ----------------------------------------------------------------------------

# Camera names known to exist, remembered per process so that checking them costs a
# query only for new names. A fleet has a handful, but the names come from manifests:
# a catalog whose scenes each name their own cameras must not grow a process without
# limit, so past the bound the set starts over (re-learning a name is one query).
KNOWN_CAMERAS_MAX = 256
_known_cameras: set[str] = set()


def _check_references(request: SearchRequest) -> None:
    for scene_id in filter(
        None, [request.like_scene, getattr(request.like_frame, "scene_id", None)]
    ):
        if not Scene.objects.filter(scene_id=scene_id).exists():
            raise NotFound(f"scene {scene_id!r} does not exist")
    # Camera names are whatever the fleet records; a name no scene has is a typo. Known
    # names are remembered per process (a handful per fleet): the check costs a query
    # only for new names.
    for camera in request.cameras or ():
        if camera not in _known_cameras:
            if not Scene.objects.filter(cameras__has_key=camera).exists():
                raise InvalidInput({"cameras": f"unknown camera {camera!r}"})
            if len(_known_cameras) >= KNOWN_CAMERAS_MAX:
                _known_cameras.clear()
            _known_cameras.add(camera)

"""`at_moment` conditions: what the car did at the moment a result shows.

Each condition is tested on the frame's own state (`Frame`, kept by
`embeddings.moments`), so a result's moment satisfies every condition at its `t_s`.
Conditions are ANDed; each is optional.
"""

from dataclasses import dataclass, fields
from typing import Any

from catalog.errors import InvalidInput

# name: (column expression over the vector row `alias`, operator, low, high, description)
_CONDITIONS: dict[str, tuple[str, str, float, float, str]] = {
    "speed_mps_gte": ("{a}.speed_mps", ">=", 0, 150, "speed at the moment >= (m/s)"),
    "speed_mps_lte": ("{a}.speed_mps", "<=", 0, 150, "speed at the moment <= (m/s)"),
    "accel_mps2_gte": ("{a}.accel_mps2", ">=", -50, 50, "acceleration >= (m/s², braking < 0)"),
    "accel_mps2_lte": ("{a}.accel_mps2", "<=", -50, 50, "acceleration <= (m/s², braking < 0)"),
    "brake_gte": ("{a}.brake", ">=", 0, 1, "brake pedal >= (0..1)"),
    "steering_abs_deg_gte": (
        "abs({a}.steering_angle_deg)", ">=", 0, 1080, "steering angle either way >= (degrees)"
    ),
    "disengagement_within_s": (
        "{a}.disengagement_dt_s", "<=", 0, 3600, "a disengagement of the scene within (s)"
    ),
}  # fmt: skip


CONDITION_NAMES = tuple(_CONDITIONS)


@dataclass(frozen=True)
class MomentConditions:
    speed_mps_gte: float | None = None
    speed_mps_lte: float | None = None
    accel_mps2_gte: float | None = None
    accel_mps2_lte: float | None = None
    brake_gte: float | None = None
    steering_abs_deg_gte: float | None = None
    disengagement_within_s: float | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def as_dict(self) -> dict[str, float]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def sql(self, alias: str) -> tuple[str, list]:
        """The conditions as SQL over the vector row `alias` ("TRUE" when none)."""
        clauses, params = [], []
        for name, value in self.as_dict().items():
            column, op, *_ = _CONDITIONS[name]
            clauses.append(f"{column.format(a=alias)} {op} %s")
            params.append(value)
        return (" AND ".join(clauses) or "TRUE"), params


def parse_at_moment(name: str, raw: Any) -> MomentConditions | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput({name: "expected an object of moment conditions"})
    errors: dict[str, str] = {}
    values: dict[str, float] = {}
    for key, value in raw.items():
        field = f"{name}.{key}"
        if key not in _CONDITIONS:
            errors[field] = f"unknown condition (known: {', '.join(_CONDITIONS)})"
            continue
        if value is None:
            continue
        _, _, low, high, _ = _CONDITIONS[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            errors[field] = f"expected a number between {low:g} and {high:g}"
            continue
        values[key] = float(value)
    if errors:
        raise InvalidInput(errors)
    for low, high in (("speed_mps_gte", "speed_mps_lte"), ("accel_mps2_gte", "accel_mps2_lte")):
        if low in values and high in values and values[low] > values[high]:
            raise InvalidInput({f"{name}.{low}": f"must not be greater than {high}"})
    conditions = MomentConditions(**values)
    return None if conditions.is_empty() else conditions


def at_moment_schema() -> dict:
    return {
        "type": "object",
        "nullable": True,
        "description": "conditions every result's moment satisfies at its t_s",
        "properties": {
            name: {"type": "number", "minimum": low, "maximum": high, "description": text}
            for name, (_, _, low, high, text) in _CONDITIONS.items()
        },
        "additionalProperties": False,
    }


def earliest_qualifying(scope, limit: int) -> list[tuple[int, int]]:
    """Without text or an example: `(scene_pk, frame_id)` of the earliest qualifying moment
    of each scene in `scope` (a VectorScope with moment conditions), newest scenes first."""
    from django.db import connection

    from embeddings.search.plan import FE

    counted = scope.scene_level()
    cameras, camera_params = "", []
    if scope.cameras:
        cameras, camera_params = " AND fe.camera = ANY(%s)", [list(scope.cameras)]
    with connection.cursor() as cur:
        cur.execute(
            f"WITH picked AS (SELECT s.id, s.start_time FROM catalog_scene s "
            f"WHERE {counted.filter_sql} ORDER BY s.start_time DESC, s.id DESC LIMIT %s) "
            "SELECT DISTINCT ON (p.start_time, p.id) p.id, fe.frame_id FROM picked p "
            f"JOIN {FE} fe ON fe.scene_id = p.id AND fe.model_id = {int(scope.model_id)} "
            "JOIN embeddings_frame mf ON mf.id = fe.frame_id "
            f"WHERE {scope.frame_sql}{cameras} "
            "ORDER BY p.start_time DESC, p.id DESC, mf.t_s, "
            "(fe.camera NOT LIKE 'front%%'), (fe.camera NOT LIKE '%%wide%%'), fe.camera",
            [*counted.filter_params, limit, *scope.frame_params, *camera_params],
        )
        return [(int(pk), int(frame_id)) for pk, frame_id in cur.fetchall()]

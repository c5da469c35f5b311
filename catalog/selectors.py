"""Reads over scenes. Filters compile to one SQL boolean expression so that `GET
scenes/`, vector search (raw SQL over frames joined to scenes) and exports share a single
definition of what each filter means."""

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from catalog.filters import SceneFilters
from catalog.models import Job, Scene

EARTH_RADIUS_M = 6_371_008.8
METERS_PER_DEG_LAT = 111_320.0


def scene_filter_sql(filters: SceneFilters, alias: str) -> tuple[str, list]:
    """`filters` as a SQL boolean over `catalog_scene AS alias`, with %s params."""
    a = alias
    clauses: list[str] = []
    params: list = []

    def add(sql: str, *values) -> None:
        clauses.append(sql)
        params.extend(values)

    if filters.vehicle:
        add(
            f"{a}.vehicle_id IN (SELECT id FROM catalog_vehicle WHERE vehicle_id = ANY(%s))",
            list(filters.vehicle),
        )
    if filters.drive:
        add(f"{a}.drive_id = (SELECT id FROM catalog_drive WHERE drive_id = %s)", filters.drive)
    if filters.tag:
        add(f"{a}.tags @> %s::varchar(64)[]", list(filters.tag))
    if filters.start_after:
        add(f"{a}.start_time >= %s", filters.start_after)
    if filters.start_before:
        add(f"{a}.start_time <= %s", filters.start_before)
    for name, column, op in (
        ("max_speed_gte", "max_speed_mps", ">="),
        ("max_speed_lte", "max_speed_mps", "<="),
        ("mean_speed_gte", "mean_speed_mps", ">="),
        ("mean_speed_lte", "mean_speed_mps", "<="),
        ("gnss_fix_rate_gte", "gnss_fix_rate", ">="),
        ("gnss_fix_rate_lte", "gnss_fix_rate", "<="),
        ("hour_gte", "local_hour", ">="),
        ("hour_lte", "local_hour", "<="),
    ):
        value = getattr(filters, name)
        if value is not None:
            add(f"{a}.{column} {op} %s", value)
    if filters.has_disengagement is True:
        add(f"{a}.disengagement_count > 0")
    elif filters.has_disengagement is False:
        add(f"{a}.disengagement_count = 0")
    if filters.bbox:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        # Some point of the track lies in the box; the box overlap uses the GiST index.
        add(
            f"{_track_box(a)} && box(point(%s, %s), point(%s, %s)) AND EXISTS ("
            f"SELECT 1 FROM unnest({a}.track_lat, {a}.track_lon) AS p(lat, lon) "
            "WHERE p.lon BETWEEN %s AND %s AND p.lat BETWEEN %s AND %s)",
            min_lon,
            min_lat,
            max_lon,
            max_lat,
            min_lon,
            max_lon,
            min_lat,
            max_lat,
        )
    if filters.near:
        lat, lon, radius = filters.near
        dlat, dlon = _degrees_around(lat, radius)
        # Prefilter by the track's box against the circle's box (GiST), then the exact
        # haversine distance of the 1 Hz track points.
        add(
            f"{_track_box(a)} && box(point(%s, %s), point(%s, %s)) AND EXISTS ("
            f"SELECT 1 FROM unnest({a}.track_lat, {a}.track_lon) AS p(lat, lon) "
            "WHERE 2 * %s * asin(sqrt(power(sin(radians(p.lat - %s) / 2), 2) + "
            "cos(radians(%s)) * cos(radians(p.lat)) * power(sin(radians(p.lon - %s) / 2), 2)))"
            " <= %s)",
            lon - dlon,
            lat - dlat,
            lon + dlon,
            lat + dlat,
            EARTH_RADIUS_M,
            lat,
            lat,
            lon,
            radius,
        )
    if not clauses:
        return "TRUE", []
    return " AND ".join(f"({c})" for c in clauses), params


def _track_box(alias: str) -> str:
    # Must match the expression of the index scene_track_box_gist (catalog 0002).
    return f"box(point({alias}.min_lon, {alias}.min_lat), point({alias}.max_lon, {alias}.max_lat))"


def _degrees_around(lat: float, radius_m: float) -> tuple[float, float]:
    import math

    dlat = radius_m / METERS_PER_DEG_LAT
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    return dlat, min(180.0, dlat / cos_lat)


def scene_list(*, filters: SceneFilters) -> QuerySet[Scene]:
    """Scenes matching every filter, newest first."""
    queryset = Scene.objects.select_related("vehicle", "drive")
    if not filters.is_empty():
        sql, params = scene_filter_sql(filters, "catalog_scene")
        queryset = queryset.filter(RawSQL(sql, params, output_field=BooleanField()))
    return queryset.order_by("-start_time")


def scene_get(*, scene_id: str) -> Scene | None:
    return (
        Scene.objects.select_related("vehicle", "drive", "signals")
        .prefetch_related("disengagements")
        .filter(scene_id=scene_id)
        .first()
    )


def job_get(*, job_id: int) -> Job | None:
    return Job.objects.filter(pk=job_id).first()

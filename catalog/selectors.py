"""Reads over scenes. Filters compile to one SQL boolean expression so that `GET
scenes/`, vector search (raw SQL over frames joined to scenes) and exports share a single
definition of what each filter means."""

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from catalog import geo
from catalog.filters import SceneFilters
from catalog.models import Job, Scene


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
        sql, values = _near_sql(a, *filters.near)
        add(sql, *values)
    if not clauses:
        return "TRUE", []
    return " AND ".join(f"({c})" for c in clauses), params


def _track_box(alias: str) -> str:
    # Must match the expression of the index scene_track_box_gist (catalog 0002).
    return f"box(point({alias}.min_lon, {alias}.min_lat), point({alias}.max_lon, {alias}.max_lat))"


def _near_sql(a: str, lat: float, lon: float, radius_m: float) -> tuple[str, list]:
    """Some point of the 1 Hz track is within `radius_m` (haversine) of (lat, lon)."""
    exact, exact_params = _track_point_within_sql(a, lat, lon, radius_m)
    cover = geo.near_cover(lat, lon, radius_m)
    if cover is not None and _cover_pays(*cover):
        # GIN on the track's cells: a cell wholly inside the circle decides alone, the
        # haversine runs only for tracks in the cells the circle's edge crosses.
        inner, boundary = cover
        return (
            f"{a}.track_cells && %s::bigint[] OR ({a}.track_cells && %s::bigint[] AND {exact})",
            [inner, boundary, *exact_params],
        )
    box = geo.cap_box(lat, lon, radius_m)
    if box is None:  # the circle holds a pole or crosses the antimeridian
        return exact, exact_params
    south, west, north, east = box
    # Tiny or huge circle: the track's bounding box against the circle's (GiST) prefilters.
    return (
        f"{_track_box(a)} && box(point(%s, %s), point(%s, %s)) AND {exact}",
        [west, south, east, north, *exact_params],
    )


def _cover_pays(inner: list[int], boundary: list[int]) -> bool:
    # Below this (circles under ~250 m) most candidates sit in boundary cells and need the
    # haversine anyway, and the track boxes find fewer candidates (measured at 100,000).
    return 2 * len(inner) >= len(boundary)


def _track_point_within_sql(a: str, lat: float, lon: float, radius_m: float) -> tuple[str, list]:
    return (
        f"EXISTS (SELECT 1 FROM unnest({a}.track_lat, {a}.track_lon) AS p(lat, lon) "
        "WHERE 2 * %s * asin(sqrt(power(sin(radians(p.lat - %s) / 2), 2) + "
        "cos(radians(%s)) * cos(radians(p.lat)) * power(sin(radians(p.lon - %s) / 2), 2)))"
        " <= %s)",
        [geo.EARTH_RADIUS_M, lat, lat, lon, radius_m],
    )


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

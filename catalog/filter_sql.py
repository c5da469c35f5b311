"""Scene filters as one SQL boolean expression over `catalog_scene AS <alias>`, so that
`GET scenes/`, vector search (raw SQL over frames joined to scenes) and exports share a
single definition of what each filter means."""

import math

from catalog import geo, quality
from catalog.filters import SceneFilters


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
        sql, values = _bbox_sql(a, *filters.bbox)
        add(sql, *values)
    if filters.near:
        sql, values = _near_sql(a, *filters.near)
        add(sql, *values)
    if filters.quality:
        sql, values = quality.quality_filter_sql(filters.quality, a)
        add(sql, *values)
    if not clauses:
        return "TRUE", []
    return " AND ".join(f"({c})" for c in clauses), params


def place_bounds_sql(filters: SceneFilters, alias: str) -> tuple[str, list]:
    """A necessary condition of the place filters (`near`, `bbox`) in four comparisons
    of the track's bounds: a scene with a track point in the place has its bounding box
    overlapping the place's. For row-by-row evaluation (a walk of the list's order), in
    front of `scene_filter_sql`: it rejects the scenes elsewhere before their cell arrays
    are compared with the covering's (~5 us a row). Not for index plans: the planner
    would count the place's selectivity twice."""
    boxes = []
    if filters.near:
        box = geo.cap_box(*filters.near)
        if box is not None:
            boxes.append(box)
    if filters.bbox:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        boxes.append((min_lat, min_lon, max_lat, max_lon))
    if not boxes:
        return "TRUE", []
    a, clauses, params = alias, [], []
    for south, west, north, east in boxes:
        clauses.append(
            f"{a}.max_lat >= %s AND {a}.min_lat <= %s AND {a}.max_lon >= %s AND {a}.min_lon <= %s"
        )
        params.extend([south, north, west, east])
    return " AND ".join(clauses), params


def _track_box(alias: str) -> str:
    # Must match the expression of the index scene_track_box_gist (catalog 0002).
    return f"box(point({alias}.min_lon, {alias}.min_lat), point({alias}.max_lon, {alias}.max_lat))"


def _bbox_sql(
    a: str, min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> tuple[str, list]:
    """Some point of the 1 Hz track lies in the box."""
    exact = (
        f"EXISTS (SELECT 1 FROM {_track_points(a)} WHERE p.lon BETWEEN %s AND %s "
        "AND p.lat BETWEEN %s AND %s)"
    )
    exact_params = [min_lon, max_lon, min_lat, max_lat]
    cover = geo.box_cover(min_lon, min_lat, max_lon, max_lat)
    if cover is not None:
        # As for `near`: GIN on the track's cells, a cell inside the box decides alone.
        # Beside the index, the planner estimates this from the cells' statistics; the
        # box overlap below is always estimated at 0.5% of the scenes, which for a box
        # holding a fifth of them made it sort every match instead of walking the list's
        # order (200 ms at 10^5 scenes).
        inner, boundary = cover
        return (
            f"{a}.track_cells && %s::bigint[] OR ({a}.track_cells && %s::bigint[] AND {exact})",
            [inner, boundary, *exact_params],
        )
    # A box too large to cover with cells (about a degree): the track's bounding box
    # overlap uses the GiST index.
    return (
        f"{_track_box(a)} && box(point(%s, %s), point(%s, %s)) AND {exact}",
        [min_lon, min_lat, max_lon, max_lat, *exact_params],
    )


def _near_sql(a: str, lat: float, lon: float, radius_m: float) -> tuple[str, list]:
    """Some point of the 1 Hz track is within `radius_m` (haversine) of (lat, lon)."""
    exact, exact_params = _track_point_within_sql(a, lat, lon, radius_m)
    cover = geo.near_cover(lat, lon, radius_m)
    if cover is not None and _cover_pays(*cover):
        # GIN on the track's cells: a cell wholly inside the circle decides alone; only
        # tracks in the cells the circle's edge crosses need a closer look, and most of
        # those are decided by their bounding box or end points before any unnest.
        inner, boundary = cover
        box_near, box_params = _track_box_within_sql(a, lat, lon, radius_m)
        first, first_params = _within_sql(
            f"{a}.track_lat[1]", f"{a}.track_lon[1]", lat, lon, radius_m
        )
        last_index = f"cardinality({a}.track_lat)"
        last, last_params = _within_sql(
            f"{a}.track_lat[{last_index}]", f"{a}.track_lon[{last_index}]", lat, lon, radius_m
        )
        return (
            f"{a}.track_cells && %s::bigint[] OR ({a}.track_cells && %s::bigint[] "
            f"AND {box_near} AND ({first} OR {last} OR {exact}))",
            [inner, boundary, *box_params, *first_params, *last_params, *exact_params],
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


def _within_sql(
    lat_sql: str,
    lon_sql: str,
    lat: float,
    lon: float,
    radius_m: float,
    *,
    lat_params: tuple = (),
    lon_params: tuple = (),
) -> tuple[str, list]:
    """The point (lat_sql, lon_sql) is within `radius_m` (haversine) of (lat, lon); the
    centre's cosine is computed here rather than once per row. `lat_params` and
    `lon_params` fill placeholders inside the two expressions."""
    return (
        # least(1, ...): rounding can push the term a hair above 1 near the antipode,
        # where asin would raise.
        f"2 * %s * asin(least(1, sqrt(power(sin(radians({lat_sql} - %s) / 2), 2) + "
        f"%s * cos(radians({lat_sql})) * power(sin(radians({lon_sql} - %s) / 2), 2)))) <= %s",
        [
            geo.EARTH_RADIUS_M, *lat_params, lat, math.cos(math.radians(lat)),
            *lat_params, *lon_params, lon, radius_m,
        ],
    )  # fmt: skip


def _track_point_within_sql(a: str, lat: float, lon: float, radius_m: float) -> tuple[str, list]:
    within, params = _within_sql("p.lat", "p.lon", lat, lon, radius_m)
    return f"EXISTS (SELECT 1 FROM {_track_points(a)} WHERE {within})", params


def _track_points(a: str) -> str:
    """The track's points as rows p(lat, lon). unnest in a select list (a ProjectSet),
    not in FROM: a function scan in FROM fills a tuplestore for every scene tested, which
    made the per-point tests cost twice as much."""
    return f"(SELECT unnest({a}.track_lat) AS lat, unnest({a}.track_lon) AS lon) AS p"


def _track_box_within_sql(a: str, lat: float, lon: float, radius_m: float) -> tuple[str, list]:
    """The track's bounding box comes within about `radius_m` of (lat, lon): a cheap test
    that only ever rejects tracks whose every point is farther.

    The box's point nearest the centre is taken at the clamped latitude and longitude. On
    the sphere the true nearest point sits a little poleward of that: for the circles the
    cell covering serves (up to ~1.5 km with the default cell limit) it is closer by under
    1e-5 of the margin."""
    margin_m = 1.0 + 0.01 * radius_m
    return _within_sql(
        f"greatest({a}.min_lat, least({a}.max_lat, %s))",
        f"greatest({a}.min_lon, least({a}.max_lon, %s))",
        lat, lon, radius_m + margin_m, lat_params=(lat,), lon_params=(lon,),
    )  # fmt: skip

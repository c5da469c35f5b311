"""Great-circle helpers for the `near` tests, independent of the code under test."""

import math

from catalog.geo import EARTH_RADIUS_M, FINE_CELLS_PER_DEGREE, LAT_SHIFT, LEVEL_SCALES, LEVEL_SHIFT


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The formula of the SQL filter (catalog.selectors), in Python floats."""
    h = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1))
        * math.cos(math.radians(lat2))
        * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def destination(lat: float, lon: float, bearing_deg: float, distance_m: float):
    """The point `distance_m` from (lat, lon) along the great circle at `bearing_deg`."""
    phi, theta = math.radians(lat), math.radians(bearing_deg)
    delta = distance_m / EARTH_RADIUS_M
    phi2 = math.asin(
        math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    )
    lam = math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), lon + math.degrees(lam)


def reference_track_cells(lat: list[float], lon: list[float]) -> list[int]:
    """The cells of catalog.geo's grid that hold the points, point by point in Python
    floats: each in-range point's finest cell, and that cell divided down at every level."""
    ids = set()
    for la, lo in zip(lat, lon, strict=True):
        if not (-90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0):  # False for NaN
            continue
        i = math.floor((la + 90.0) * FINE_CELLS_PER_DEGREE)
        j = math.floor((lo + 180.0) * FINE_CELLS_PER_DEGREE)
        for level, scale in enumerate(LEVEL_SCALES):
            ids.add(level << LEVEL_SHIFT | (i // scale) << LAT_SHIFT | (j // scale))
    return sorted(ids)

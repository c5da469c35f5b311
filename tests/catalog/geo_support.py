"""Great-circle helpers for the `near` tests, independent of the code under test."""

import math

from catalog.geo import EARTH_RADIUS_M


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

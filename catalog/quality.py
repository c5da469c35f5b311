"""The GNSS gate: which scenes have bad positioning, and on which days the whole fleet did.

- A scene is `gnss_low` when its GNSS fix rate is below CATALOG_GNSS_MIN_FIX_RATE. A scene
  whose fix rate is unknown (no fix channel) is not.
- A vehicle is low on a local day (CATALOG_TIMEZONE) when the mean fix rate of its scenes
  that day (those with a known rate) is below the same threshold.
- A local day on which at least CATALOG_GNSS_OUTAGE_MIN_VEHICLES vehicles, and at least
  half of the vehicles that drove that day, were low is an outage day: a SIM or RTK
  correction outage at the carrier hits the whole fleet at once, while one low vehicle
  is a receiver or a route (tunnels) and says nothing about the others. Every scene of
  an outage day is `gnss_outage`.

A scene with either flag is "flagged": the scene filter `quality=ok|flagged` selects by
that, and freezing a set version leaves flagged scenes out unless asked not to.

The per-vehicle, per-day figures are `GnssVehicleDay` rows and `gnss_outage` is a scene
column, both kept right by ingest (catalog.quality_upkeep); `gnss_low` is read from the
scene's fix rate. This module holds the rules and the reads.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection

from catalog.errors import InvalidInput

GNSS_LOW = "gnss_low"
GNSS_OUTAGE = "gnss_outage"
FLAGS = (GNSS_LOW, GNSS_OUTAGE)
QUALITY_CHOICES = ("ok", "flagged")
BY_CHOICES = ("day", "vehicle_day")
BY_ERROR = f"expected one of {', '.join(BY_CHOICES)}"
# Longest window of one report; the default window when none is given.
MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 90
# Means are sums divided by counts kept up incrementally: a mean that is exactly the
# threshold must not fall below it by a rounding error.
MEAN_TOLERANCE = 1e-9


def min_fix_rate() -> float:
    return settings.CATALOG_GNSS_MIN_FIX_RATE


def outage_min_vehicles() -> int:
    return settings.CATALOG_GNSS_OUTAGE_MIN_VEHICLES


def timezone_name() -> str:
    return settings.CATALOG_TIMEZONE


def is_low(gnss_fix_rate: float | None) -> bool:
    return gnss_fix_rate is not None and gnss_fix_rate < min_fix_rate()


def scene_flags(*, gnss_fix_rate: float | None, gnss_outage: bool) -> list[str]:
    """A scene's `quality_flags` as the API and the UI show them, from its columns."""
    return [
        flag for flag, on in ((GNSS_LOW, is_low(gnss_fix_rate)), (GNSS_OUTAGE, gnss_outage)) if on
    ]


# `gnss_low` is not stored: it is the scene's fix rate against the threshold of the moment,
# read through the index on gnss_fix_rate. Only `gnss_outage`, which depends on other
# scenes, is a column. Each function below returns SQL over `catalog_scene AS alias`
# with its %s parameters.


def flagged_sql(alias: str) -> tuple[str, list]:
    """The scene has a quality flag."""
    return f"({alias}.gnss_fix_rate < %s OR {alias}.gnss_outage)", [min_fix_rate()]


def unflagged_sql(alias: str) -> tuple[str, list]:
    """The scene has no quality flag (an unknown fix rate is not low)."""
    return (
        f"(({alias}.gnss_fix_rate >= %s OR {alias}.gnss_fix_rate IS NULL) "
        f"AND NOT {alias}.gnss_outage)",
        [min_fix_rate()],
    )


def flags_array_sql(alias: str) -> tuple[str, list]:
    """The scene's flags as a text[] (in FLAGS order), for rows that record them."""
    return (
        f"array_remove(ARRAY[CASE WHEN {alias}.gnss_fix_rate < %s THEN '{GNSS_LOW}' END, "
        f"CASE WHEN {alias}.gnss_outage THEN '{GNSS_OUTAGE}' END]::text[], NULL)",
        [min_fix_rate()],
    )


def quality_filter_sql(quality: str, alias: str) -> tuple[str, list]:
    """The scene filter `quality=ok|flagged`."""
    return flagged_sql(alias) if quality == "flagged" else unflagged_sql(alias)


# --- local days --------------------------------------------------------------------------


def local_day(moment: datetime) -> date:
    return moment.astimezone(settings.CATALOG_TZ).date()


def day_span(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day as aware times (23 or 25 hours across a DST change)."""
    tz = settings.CATALOG_TZ
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start, end


def day_filter_bounds(day: date) -> tuple[datetime, datetime]:
    """`start_after` and `start_before` (both inclusive) selecting the scenes of a day."""
    start, end = day_span(day)
    return start, end - timedelta(microseconds=1)


def parse_day(name: str, raw: str | None) -> date | None:
    """A report bound from a query string: a local date (YYYY-MM-DD), or an RFC 3339 time
    standing for its local day. None when absent; InvalidInput naming `name` else."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if "T" in text and " " in text:  # an unescaped "+09:00" arrives as " 09:00"
        text = text.replace(" ", "+")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            {name: f"expected a date (YYYY-MM-DD) or an RFC 3339 time, got {raw!r}"}
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput({name: "time needs a UTC offset, e.g. 2026-11-28T09:30:00+09:00"})
    return local_day(moment)


def local_day_sql(column: str) -> tuple[str, list]:
    """The local day of a timestamptz column (with its %s parameter)."""
    return f"({column} AT TIME ZONE %s)::date", [settings.CATALOG_TIMEZONE]


# --- the outage rule over GnssVehicleDay rows ------------------------------------------------

# A GnssVehicleDay row `g` is a low vehicle-day (%(t)s: the threshold).
_LOW_SQL = "(g.fix_rate_known > 0 AND g.fix_rate_sum / g.fix_rate_known < %(t)s - %(tol)s)"
# Per day: vehicles that drove, how many were low, scenes, and the fix-rate sums. The
# outage rule is this query's `outage` column and nowhere else; %(min)s is the fewest low
# vehicles, {where} the rows' day condition.
_DAY_STATES = f"""
    WITH vd AS (
        SELECT day, vehicle_id, scenes, fix_rate_sum, fix_rate_known, {_LOW_SQL} AS low
        FROM catalog_gnssvehicleday g WHERE {{where}}
    ), d AS (
        SELECT day, count(*) AS vehicles, count(*) FILTER (WHERE low) AS low_vehicles,
               sum(scenes) AS scenes, sum(fix_rate_sum) AS fix_rate_sum,
               sum(fix_rate_known) AS fix_rate_known
        FROM vd GROUP BY day
    )
    SELECT d.*, low_vehicles >= %(min)s AND 2 * low_vehicles >= vehicles AS outage FROM d
"""


def _rule_params() -> dict:
    return {"t": min_fix_rate(), "tol": MEAN_TOLERANCE, "min": outage_min_vehicles()}


def outage_days(cursor, days: list[date]) -> set[date]:
    """Which of `days` are outage days, from the GnssVehicleDay rows as `cursor` sees them."""
    if not days:
        return set()
    cursor.execute(
        f"SELECT day FROM ({_DAY_STATES.format(where='day = ANY(%(days)s::date[])')}) s "
        "WHERE outage",
        {**_rule_params(), "days": list(days)},
    )
    return {row[0] for row in cursor.fetchall()}


def all_outage_days(cursor) -> list[date]:
    cursor.execute(
        f"SELECT day FROM ({_DAY_STATES.format(where='TRUE')}) s WHERE outage ORDER BY day",
        _rule_params(),
    )
    return [row[0] for row in cursor.fetchall()]


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportWindow:
    first: date
    last: date


def report_window(*, first: date | None, last: date | None) -> ReportWindow:
    """The days a report covers: as given, or ending on the latest day with scenes (today
    when there are none) and DEFAULT_REPORT_DAYS long. InvalidInput names the parameter
    (`start_after` for the first day, `start_before` for the last)."""
    if last is None:
        if first is not None:
            last = first + timedelta(days=DEFAULT_REPORT_DAYS - 1)
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT max(day) FROM catalog_gnssvehicleday")
                last = cursor.fetchone()[0] or local_day(datetime.now(settings.CATALOG_TZ))
    if first is None:
        first = last - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if first > last:
        raise InvalidInput({"start_after": "must not be after start_before"})
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput({"start_after": f"at most {MAX_REPORT_DAYS} days per report"})
    return ReportWindow(first, last)


def _mean(total: float, known: int) -> float | None:
    return total / known if known else None


def _outage_reason(low: int, vehicles: int, threshold: float) -> str:
    return (
        f"{GNSS_OUTAGE}: {low} of {vehicles} vehicles had a mean GNSS fix rate below {threshold:g}"
    )


def gnss_report(*, by: str, window: ReportWindow) -> list[dict]:
    """Scenes and mean GNSS fix rate per local day (`by="day"`) or per vehicle and local
    day (`by="vehicle_day"`) in the window, days in order (vehicles by id, in byte order,
    within a day).

    Every row: `day`, `vehicle_id` (None by day), `scenes`, `fix_rate_mean` (over scenes
    with a known rate; None without any), `flagged` and `reason` (None unless flagged).
    By day a row is flagged on an outage day and adds `vehicles` and `low_vehicles`; by
    vehicle-day a row is flagged when the vehicle was low or the day is an outage day,
    and adds `low` and `outage`.
    """
    if by not in BY_CHOICES:
        raise InvalidInput({"by": BY_ERROR})
    threshold = min_fix_rate()
    params = {**_rule_params(), "first": window.first, "last": window.last}
    days_sql = _DAY_STATES.format(where="day BETWEEN %(first)s AND %(last)s")
    with connection.cursor() as cursor:
        if by == "day":
            cursor.execute(f"{days_sql} ORDER BY day", params)
            return [
                {
                    "day": day,
                    "vehicle_id": None,
                    "scenes": scenes,
                    "fix_rate_mean": _mean(total, known),
                    "flagged": outage,
                    "reason": _outage_reason(low, vehicles, threshold) if outage else None,
                    "vehicles": vehicles,
                    "low_vehicles": low,
                }
                for day, vehicles, low, scenes, total, known, outage in cursor.fetchall()
            ]
        cursor.execute(
            f"WITH days AS ({days_sql}) "
            "SELECT g.day, v.vehicle_id, g.scenes, g.fix_rate_sum, g.fix_rate_known, "
            f"{_LOW_SQL}, d.outage, d.vehicles, d.low_vehicles "
            "FROM catalog_gnssvehicleday g JOIN days d ON d.day = g.day "
            "JOIN catalog_vehicle v ON v.id = g.vehicle_id "
            "WHERE g.day BETWEEN %(first)s AND %(last)s "
            # Byte order: as fast to sort as ids get, and the same on every server.
            'ORDER BY g.day, v.vehicle_id COLLATE "C"',
            params,
        )
        rows = []
        for (
            day,
            vehicle_id,
            scenes,
            total,
            known,
            low,
            outage,
            vehicles,
            low_count,
        ) in cursor.fetchall():
            mean = total / known if known else None
            reason = None
            if low or outage:
                reasons = []
                if low:
                    reasons.append(f"{GNSS_LOW}: mean GNSS fix rate {mean:.3f} below {threshold:g}")
                if outage:
                    reasons.append(_outage_reason(low_count, vehicles, threshold))
                reason = "; ".join(reasons)
            rows.append(
                {
                    "day": day,
                    "vehicle_id": vehicle_id,
                    "scenes": scenes,
                    "fix_rate_mean": mean,
                    "flagged": low or outage,
                    "reason": reason,
                    "low": low,
                    "outage": outage,
                }
            )
        return rows

"""Keeping the GNSS gate's figures and flags right as scenes are written.

Ingest calls two functions inside each batch's transaction (catalog.ingest.writer):

- `previous_contributions(cursor, pks)` before it rewrites changed scenes: what those
  scenes counted for so far, read under the row lock the rewrite takes anyway, so a
  concurrent re-ingest of the same scene cannot slip in between;
- `scenes_written(cursor, previous=..., pks=...)` after the writes: moves each scene's
  contribution from its old (day, vehicle) to its new one in `GnssVehicleDay`, decides
  again whether each touched day is an outage day, and sets `gnss_outage` on every scene
  of those days whose flag is now wrong.

A batch thus costs two grouped reads of its own scenes, an upsert of a few aggregate rows
and a sweep of its days that usually writes nothing, never a scan of the catalog; no
scene row is written twice unless its day's outage state changed. (`gnss_low` is not
stored, so needs no upkeep.) A late manifest for an earlier day, or a re-ingest that
moves a scene to another day or vehicle, touches those days and so puts them right.

Concurrency: batches touching the same day take that day's advisory lock (in day order,
so never in a cycle) before reading or writing its rows, and so see each other's
committed rows. The outage sweep skips rows another transaction holds (SKIP LOCKED):
only an ingest batch locks scene rows, and it will sweep those rows' days itself once it
gets their locks, so waiting here could only deadlock. `refresh_all` rebuilds everything
(after changing a threshold or the time zone, or scenes written outside ingest).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from catalog import quality

# pg_advisory_xact_lock(key, day ordinal): "gnss" in ASCII, a namespace no other lock uses.
DAY_LOCK_KEY = 0x676E7373

Key = tuple[date, int]  # (local day, vehicle pk)


@dataclass
class Contributions:
    """Per (local day, vehicle pk): scenes, sum of known fix rates, scenes with one."""

    rows: dict[Key, list] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0, 0]))

    def add(self, other: "Contributions", sign: int = 1) -> None:
        for key, (scenes, total, known) in other.rows.items():
            row = self.rows[key]
            row[0] += sign * scenes
            row[1] += sign * total
            row[2] += sign * known


def _contributions(cursor, source_sql: str, params: list) -> Contributions:
    day_sql, day_params = quality.local_day_sql("start_time")
    cursor.execute(
        f"SELECT {day_sql}, vehicle_id, count(*), coalesce(sum(gnss_fix_rate), 0), "
        f"count(gnss_fix_rate) FROM ({source_sql}) AS x GROUP BY 1, 2",
        [*day_params, *params],
    )
    result = Contributions()
    for day, vehicle, scenes, total, known in cursor.fetchall():
        result.rows[(day, vehicle)] = [scenes, total, known]
    return result


def previous_contributions(cursor, pks: list[int]) -> Contributions:
    """What the scenes `pks` count for now, their rows locked until the transaction ends
    (the lock an UPDATE of them takes, taken in id order)."""
    if not pks:
        return Contributions()
    return _contributions(
        cursor,
        "SELECT start_time, vehicle_id, gnss_fix_rate FROM catalog_scene "
        "WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
        [pks],
    )


def scenes_written(cursor, *, previous: Contributions, pks: list[int]) -> None:
    """After the scenes `pks` were inserted or rewritten (`previous`: what the rewritten
    ones counted for before): update the aggregates, the outage days they touch, and the
    flags. Call inside the transaction that wrote them."""
    if not pks:
        return
    delta = _contributions(
        cursor,
        "SELECT start_time, vehicle_id, gnss_fix_rate FROM catalog_scene WHERE id = ANY(%s)",
        [pks],
    )
    delta.add(previous, sign=-1)
    days = sorted({day for day, _ in delta.rows})
    _lock_days(cursor, days)
    _apply(cursor, delta, days)
    _sweep(cursor, days, quality.outage_days(cursor, days))


def _lock_days(cursor, days: list[date]) -> None:
    # A function scan over the array runs in array order: the locks are taken sorted.
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, d) FROM unnest(%s::int[]) AS d",
        [DAY_LOCK_KEY, [day.toordinal() for day in days]],
    )


def _apply(cursor, delta: Contributions, days: list[date]) -> None:
    # Sorted, so concurrent upserts of rows lock them in one order.
    keys = sorted(key for key, row in delta.rows.items() if any(row))
    if keys:
        rows = [delta.rows[key] for key in keys]
        cursor.execute(
            "INSERT INTO catalog_gnssvehicleday AS g "
            "(day, vehicle_id, scenes, fix_rate_sum, fix_rate_known) "
            "SELECT * FROM unnest(%s::date[], %s::bigint[], %s::int[], %s::float8[], %s::int[]) "
            "ON CONFLICT (day, vehicle_id) DO UPDATE SET "
            "scenes = g.scenes + excluded.scenes, "
            # No known rate left: the sum is exactly 0, not the residue of float sums.
            "fix_rate_sum = CASE WHEN g.fix_rate_known + excluded.fix_rate_known = 0 THEN 0 "
            "ELSE g.fix_rate_sum + excluded.fix_rate_sum END, "
            "fix_rate_known = g.fix_rate_known + excluded.fix_rate_known",
            [
                [day for day, _ in keys],
                [vehicle for _, vehicle in keys],
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
            ],
        )
    cursor.execute(
        "DELETE FROM catalog_gnssvehicleday WHERE day = ANY(%s::date[]) AND scenes <= 0", [days]
    )


def _sweep(cursor, days: list[date], outage: set[date]) -> None:
    """Every scene of `days` whose outage flag is now wrong, the batch's own included
    (new ones arrive unflagged, changed ones keep the flag of where they were). An outage
    day reads all its scenes; any other day reads only those flagged (index
    scene_outage_start_id), which usually means none: most batches write nothing here."""
    for wanted, chosen in ((True, sorted(outage)), (False, [d for d in days if d not in outage])):
        if not chosen:
            continue
        spans = [quality.day_span(day) for day in chosen]
        wrong = "NOT s.gnss_outage" if wanted else "s.gnss_outage"
        cursor.execute(
            "WITH targets AS ("
            "SELECT s.id FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS d(lo, hi) "
            "JOIN catalog_scene s ON s.start_time >= d.lo AND s.start_time < d.hi "
            f"WHERE {wrong} FOR NO KEY UPDATE OF s SKIP LOCKED) "
            "UPDATE catalog_scene s SET gnss_outage = %s FROM targets t WHERE s.id = t.id",
            [[lo for lo, _ in spans], [hi for _, hi in spans], wanted],
        )


def refresh_all(cursor) -> dict:
    """Rebuild every GnssVehicleDay row and every scene's outage flag from the scenes, with the
    current settings. Blocks scene writes until the transaction ends (SHARE ROW EXCLUSIVE
    lets readers on), so nothing is counted twice or missed. Returns counts."""
    cursor.execute("LOCK TABLE catalog_scene IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute("DELETE FROM catalog_gnssvehicleday")
    day_sql, day_params = quality.local_day_sql("start_time")
    cursor.execute(
        "INSERT INTO catalog_gnssvehicleday "
        "(day, vehicle_id, scenes, fix_rate_sum, fix_rate_known) "
        f"SELECT {day_sql}, vehicle_id, count(*), coalesce(sum(gnss_fix_rate), 0), "
        "count(gnss_fix_rate) FROM catalog_scene GROUP BY 1, 2",
        day_params,
    )
    rows = cursor.rowcount
    outage = quality.all_outage_days(cursor)
    flag = f"({day_sql} = ANY(%s::date[]))"
    cursor.execute(
        f"UPDATE catalog_scene SET gnss_outage = {flag} WHERE gnss_outage <> {flag}",
        [*day_params, outage] * 2,
    )
    return {"vehicle_days": rows, "outage_days": len(outage), "scenes_changed": cursor.rowcount}


@transaction.atomic
def quality_refresh() -> dict:
    """`refresh_all` in its own transaction (`manage.py quality_refresh`)."""
    with connection.cursor() as cursor:
        return refresh_all(cursor)

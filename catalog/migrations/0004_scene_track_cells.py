import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models, transaction

from catalog.geo import track_cells

BATCH = 5000


def backfill_track_cells(apps, schema_editor) -> None:
    """Fill `track_cells` of every scene that has a track but no cells, in batches that
    commit one at a time (rerunning picks up where a failed run stopped)."""
    connection = schema_editor.connection
    last_id = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, track_lat, track_lon FROM catalog_scene "
                "WHERE id > %s AND cardinality(track_lat) > 0 AND cardinality(track_cells) = 0 "
                "ORDER BY id LIMIT %s",
                [last_id, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            ids = [row[0] for row in rows]
            cells = [_cells_literal(lat, lon) for _, lat, lon in rows]
            cursor.execute(
                "UPDATE catalog_scene AS s SET track_cells = v.cells::bigint[] "
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, cells) WHERE s.id = v.id",
                [ids, cells],
            )
            last_id = ids[-1]


def _cells_literal(lat: list, lon: list) -> str:
    # unnest() pairs the arrays up to the longer one with NULLs, which the SQL haversine
    # never counts as near; the same points are left out here.
    points = [
        (la, lo) for la, lo in zip(lat, lon, strict=False) if la is not None and lo is not None
    ]
    cells = track_cells([p[0] for p in points], [p[1] for p in points])
    return "{" + ",".join(map(str, cells)) + "}"


class Migration(migrations.Migration):
    """Grid cells of each track for the `near` filter (catalog.geo), backfilled from the
    stored tracks. The index is built after the backfill: one bulk build instead of every
    update going through the GIN pending list."""

    atomic = False

    dependencies = [("catalog", "0003_signals_storage_external")]

    operations = [
        migrations.AddField(
            model_name="scene",
            name="track_cells",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(),
                blank=True,
                db_default=[],
                default=list,
                size=None,
            ),
        ),
        migrations.RunPython(backfill_track_cells, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="scene",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["track_cells"], name="scene_track_cells_gin"
            ),
        ),
        # Planner statistics for the new column now rather than at the next autovacuum.
        migrations.RunSQL("ANALYZE catalog_scene", migrations.RunSQL.noop),
    ]

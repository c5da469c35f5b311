"""The GNSS gate: per-vehicle, per-day fix-rate aggregates and the scenes' quality flags.

Scenes ingested before this migration get their aggregates and outage flags here, in
three set-based statements (one pass over catalog_scene to aggregate, one over the
aggregates for the outage days, one UPDATE of the scenes of those days), with the
settings of the moment. The SQL is a frozen copy of the rules in catalog.quality, so later changes
there do not change what this migration did.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AGGREGATE = """
    INSERT INTO catalog_gnssvehicleday (day, vehicle_id, scenes, fix_rate_sum, fix_rate_known)
    SELECT (start_time AT TIME ZONE %(tz)s)::date, vehicle_id, count(*),
           coalesce(sum(gnss_fix_rate), 0), count(gnss_fix_rate)
    FROM catalog_scene GROUP BY 1, 2
"""

OUTAGE_DAYS = """
    SELECT day FROM (
        SELECT day, count(*) AS vehicles,
               count(*) FILTER (WHERE fix_rate_known > 0
                                AND fix_rate_sum / fix_rate_known < %(t)s - 1e-9) AS low
        FROM catalog_gnssvehicleday GROUP BY day
    ) d
    WHERE low >= %(min)s AND 2 * low >= vehicles
"""

# Only scenes of outage days are written; the column's default (false) is right for the rest.
FLAG = """
    UPDATE catalog_scene SET gnss_outage = true
    WHERE (start_time AT TIME ZONE %(tz)s)::date = ANY(%(days)s::date[])
"""


def fill(apps, schema_editor):
    params = {
        "tz": settings.CATALOG_TIMEZONE,
        "t": settings.CATALOG_GNSS_MIN_FIX_RATE,
        "min": settings.CATALOG_GNSS_OUTAGE_MIN_VEHICLES,
    }
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(AGGREGATE, params)
        cursor.execute(OUTAGE_DAYS, params)
        days = [row[0] for row in cursor.fetchall()]
        if days:
            cursor.execute(FLAG, {**params, "days": days})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_ingested_manifest")]

    operations = [
        migrations.CreateModel(
            name="GnssVehicleDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("scenes", models.IntegerField()),
                ("fix_rate_sum", models.FloatField()),
                ("fix_rate_known", models.IntegerField()),
                (
                    "vehicle",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.vehicle",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "vehicle"),
                        include=("scenes", "fix_rate_sum", "fix_rate_known"),
                        name="gnssvehicleday_unique",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="scene",
            name="gnss_outage",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="scene",
            index=models.Index(
                models.OrderBy(models.F("start_time"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("gnss_outage", True)),
                name="scene_outage_start_id",
            ),
        ),
        migrations.RunSQL(
            "ANALYZE catalog_scene; ANALYZE catalog_gnssvehicleday", migrations.RunSQL.noop
        ),
    ]

from django.db import migrations, models


def _swap(columns: str) -> list[str]:
    # Built CONCURRENTLY under a temporary name before the old one goes: the catalog stays
    # readable and writable, and vehicle lookups always have an index.
    return [
        "DROP INDEX CONCURRENTLY IF EXISTS scene_vehicle_start_new",
        f"CREATE INDEX CONCURRENTLY scene_vehicle_start_new ON catalog_scene ({columns})",
        "DROP INDEX CONCURRENTLY scene_vehicle_start",
        "ALTER INDEX scene_vehicle_start_new RENAME TO scene_vehicle_start",
    ]


class Migration(migrations.Migration):
    """The vehicle index carries the scene id: a vehicle filter's scene ids (what a
    search's plan counts and a scene scan joins to the scene vectors) are read from the
    index alone instead of one random heap row each (10^4 scenes of a vehicle at 10^6:
    ~2 ms instead of ~20)."""

    atomic = False  # concurrent index builds cannot run in a transaction
    dependencies = [("catalog", "0011_gnss_gate")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="scene", name="scene_vehicle_start"),
                migrations.AddIndex(
                    model_name="scene",
                    index=models.Index(
                        fields=["vehicle", "start_time", "id"], name="scene_vehicle_start"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    _swap("vehicle_id, start_time, id"), _swap("vehicle_id, start_time")
                ),
            ],
        ),
    ]

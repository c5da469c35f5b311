import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Less work per ingested scene.

    - Drop indexes that duplicate others: Django's own index on the drive foreign key
      already equals scene_drive, and scene_vehicle_start (vehicle, start_time) serves
      every lookup by vehicle.
    - Keep a scene's signals (6.4 KB for 20 s at 10 Hz) inline in its heap row instead of
      in four TOAST chunks: one page per plot read, and no TOAST index to maintain on
      ingest. Longer scenes still go out of line.
    """

    dependencies = [("catalog", "0004_scene_track_cells")]

    operations = [
        migrations.RemoveIndex(model_name="scene", name="scene_drive"),
        migrations.AlterField(
            model_name="scene",
            name="vehicle",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scenes",
                to="catalog.vehicle",
            ),
        ),
        migrations.RunSQL(
            "ALTER TABLE catalog_scenesignals SET (toast_tuple_target = 8160)",
            "ALTER TABLE catalog_scenesignals RESET (toast_tuple_target)",
        ),
    ]

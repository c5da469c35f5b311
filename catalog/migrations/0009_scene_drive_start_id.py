import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """Drives are read as timelines: a drive's scenes in (start_time, id) order, its first
    start, a scene's previous and next. One index on (drive, start_time, id) serves all of
    them and every lookup by drive, so it replaces the foreign key's own index. Built
    CONCURRENTLY before the old one goes: the catalog stays readable and writable."""

    atomic = False  # concurrent index builds cannot run in a transaction
    dependencies = [("catalog", "0008_job_ingest_manifest_permission")]

    operations = [
        AddIndexConcurrently(
            model_name="scene",
            index=models.Index(fields=["drive", "start_time", "id"], name="scene_drive_start_id"),
        ),
        migrations.AlterField(
            model_name="scene",
            name="drive",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scenes",
                to="catalog.drive",
            ),
        ),
    ]

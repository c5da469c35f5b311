from django.db import migrations


class Migration(migrations.Migration):
    """float32 samples barely compress: store them out of line uncompressed, which saves
    the server the compression work on bulk ingest (pgvector does the same for vectors)."""

    dependencies = [("catalog", "0002_scene_track_box")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE catalog_scenesignals ALTER COLUMN data SET STORAGE EXTERNAL",
            "ALTER TABLE catalog_scenesignals ALTER COLUMN data SET STORAGE EXTENDED",
        )
    ]

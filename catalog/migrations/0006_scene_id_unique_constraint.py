from django.db import migrations, models

NEW = "scene_scene_id_unique"


class Migration(migrations.Migration):
    """scene_id stays unique, now through a named constraint, and loses the
    varchar_pattern_ops index that `unique=True` brings along for LIKE queries: nothing
    queries scene ids by pattern, and every ingested scene paid for the second index.

    The new unique index is built CONCURRENTLY (scenes stay readable and writable while it
    builds), becomes the constraint, and only then do the old constraint and index go, so
    uniqueness never lapses.
    """

    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("catalog", "0005_scene_index_trim")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="scene",
                    constraint=models.UniqueConstraint(fields=("scene_id",), name=NEW),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"CREATE UNIQUE INDEX CONCURRENTLY {NEW} ON catalog_scene (scene_id)",
                    f"DROP INDEX IF EXISTS {NEW}",
                ),
                migrations.RunSQL(
                    f"ALTER TABLE catalog_scene ADD CONSTRAINT {NEW} UNIQUE USING INDEX {NEW}",
                    f"ALTER TABLE catalog_scene DROP CONSTRAINT {NEW}",
                ),
            ],
        ),
        # Drops the old unique constraint and its LIKE index, found by introspection.
        migrations.AlterField(
            model_name="scene",
            name="scene_id",
            field=models.CharField(max_length=200),
        ),
    ]

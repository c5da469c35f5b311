from django.db import migrations, models


class Migration(migrations.Migration):
    """scene_id stays unique, now through a named constraint, and loses the
    varchar_pattern_ops index that `unique=True` brings along for LIKE queries: nothing
    queries scene ids by pattern, and every ingested scene paid for the second index.
    The new constraint is built before the old one goes, so uniqueness never lapses."""

    dependencies = [("catalog", "0005_scene_index_trim")]

    operations = [
        migrations.AddConstraint(
            model_name="scene",
            constraint=models.UniqueConstraint(fields=("scene_id",), name="scene_scene_id_unique"),
        ),
        migrations.AlterField(
            model_name="scene",
            name="scene_id",
            field=models.CharField(max_length=200),
        ),
    ]

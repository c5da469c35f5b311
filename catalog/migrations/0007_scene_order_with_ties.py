from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from django.db.models import F, Q


class Migration(migrations.Migration):
    """The scene list orders by (start_time, id) so that scenes starting in the same
    second keep one order from page to page; its two start-time indexes gain the id. Built
    CONCURRENTLY before the old ones go: the catalog stays readable and writable."""

    atomic = False  # concurrent index builds cannot run in a transaction
    dependencies = [("catalog", "0006_scene_id_unique_constraint")]

    operations = [
        AddIndexConcurrently(
            model_name="scene",
            index=models.Index(F("start_time").desc(), F("id").desc(), name="scene_start_id_desc"),
        ),
        AddIndexConcurrently(
            model_name="scene",
            index=models.Index(
                fields=["start_time", "id"],
                name="scene_with_diseng_start_id",
                condition=Q(disengagement_count__gt=0),
            ),
        ),
        RemoveIndexConcurrently(model_name="scene", name="scene_start_desc"),
        RemoveIndexConcurrently(model_name="scene", name="scene_with_diseng"),
    ]

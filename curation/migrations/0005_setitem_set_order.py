from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """A set's items in the order added: pages of a large set are one range of this
    index, and a set's item count an index-only scan of its part. Built CONCURRENTLY:
    sets stay writable while it builds."""

    atomic = False  # concurrent index builds cannot run in a transaction
    dependencies = [("curation", "0004_item_label")]

    operations = [
        AddIndexConcurrently(
            model_name="scenesetitem",
            index=models.Index(fields=["scene_set", "id"], name="setitem_set_order"),
        ),
    ]
